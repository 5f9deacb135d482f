"""The report's structured-pruning tables and figure, and the answer's guard against a baseline at chance."""

import numpy as np
import pandas as pd

from dnncomp.report import columns as col
from dnncomp.report import figures, html, structured
from helpers import ROOT


def pruned_summary(base=(0.98, 0.981, 0.979)):
    """Three seeds of a baseline, its float32 file, a structured file and an unstructured file."""
    rows = []
    for seed, accuracy in enumerate(base):
        root = {"dataset": "mnist", "model": "lenet300_100", "seed": seed, "distill_seed": np.nan, "format": "tflite"}
        for chain, technique, change, speed_x, speed_b, macs in (
            ("baseline", "baseline", 0.0, np.nan, np.nan, np.nan),
            ("baseline/tflite-fp32", "tflite", 0.0, 1.0, 1.0, 266200),
            (
                "baseline/prune-c0.50-l1/tflite-fp32",
                "structured>tflite",
                -0.1 - 0.05 * seed,
                4.6 + 0.1 * seed,
                1.4,
                90500,
            ),
            ("baseline/prune-s0.90-block/tflite-int8-sparse", "prune>tflite", -0.3, 0.9, 1.3, 266200),
        ):
            rows.append(
                {
                    **root,
                    "chain": chain,
                    "path": f"results/mnist/lenet300_100/seed{seed}/{chain}",
                    "technique": technique,
                    "format": "keras" if chain == "baseline" else "tflite",
                    "accuracy": accuracy + change / 100,
                    col.ACCURACY_CHANGE: change,
                    col.SPEEDUP_XNNPACK: speed_x,
                    col.SPEEDUP: speed_b,
                    col.MACS: macs,
                    "params": 90710 if "prune-c" in chain else 266610,
                    "size_bytes": 365900 if "prune-c" in chain else 1068908,
                    "flagged": False,
                }
            )
    return pd.DataFrame(rows)


def test_speed_table_sets_structured_beside_unstructured_with_intervals():
    table = structured.speed_table(pruned_summary())
    assert list(table["pruning"]) == ["none (float32)", "structured", "unstructured"]
    row = table[table["pruning"] == "structured"].iloc[0]
    assert row["n"] == 3
    assert row["MACs"] == "90,500"
    assert row["x faster, XNNPACK [95 % CI]"].startswith("4.70 [")
    assert row["accuracy change (pt) [95 % CI]"].startswith("-0.15 [")


def test_speed_table_is_empty_without_structured_pruning():
    frame = pruned_summary()
    assert structured.speed_table(frame[~frame["technique"].str.contains("structured")]).empty


def test_kept_channels_table_names_each_layer_and_why_one_stayed_whole():
    record = {
        "dataset": "mnist",
        "model": "lenet300_100",
        "chain": "baseline/prune-c0.50-l1",
        "extra": {
            "structured": {
                "rounds": [
                    {
                        "groups": [
                            {"layers": ["fc1"], "channels": 300, "kept": 150},
                            {"layers": ["logits"], "channels": 10, "kept": 10, "whole": "reaches the output"},
                        ],
                        "layers": {"fc1": [550, 150], "logits": [150, 10]},
                    }
                ],
                "crop": {"layer": "flatten", "cropping": [[2, 1], [3, 3]], "kept_pixels": 0.7015},
            },
            "layers_before": [
                {"layer": "fc1", "type": "Dense", "output_shape": "(300,)", "params": 235500, "macs": 235200},
                {"layer": "logits", "type": "Dense", "output_shape": "(10,)", "params": 1010, "macs": 1000},
            ],
            "layers": [
                {"layer": "fc1", "type": "Dense", "output_shape": "(150,)", "params": 82650, "macs": 82500},
                {"layer": "logits", "type": "Dense", "output_shape": "(10,)", "params": 1510, "macs": 1500},
            ],
        },
    }
    table = structured.kept_channels_table({"p": record})
    fc1 = table[table["layer"] == "fc1"].iloc[0]
    assert (fc1["inputs kept"], fc1["outputs kept"], fc1["MACs after"]) == (550, 150, "82,500")
    assert table[table["layer"] == "logits"].iloc[0]["left whole because"] == "reaches the output"
    assert "70.2% of the pixels" in set(table["inputs kept"].astype(str))


def test_structured_figure_draws_both_resolvers(tmp_path):
    out = tmp_path / "structured.png"
    figures.structured(pruned_summary(), out)
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_baseline_near_chance_is_left_out_of_the_answer_with_a_note():
    config = {"datasets": {"mnist": {"num_classes": 10}}}
    frame = pruned_summary(base=(0.11, 0.10, 0.12))
    notes = html.near_chance(frame, config)
    assert "near chance (10% for 10 classes)" in notes[("mnist", "lenet300_100")]
    assert html.what_to_ship(frame, config).empty
    assert not html.near_chance(pruned_summary(), config)


def test_the_pruning_speed_claim_is_judged_for_structured_and_unstructured_side_by_side():
    anchors = html.load_anchors(ROOT / "report" / "anchors.yaml")
    table = structured.speed_claims(pruned_summary(), anchors, {"lenet300_100": "lenet300_100"})
    rows = table.set_index("pruning")
    assert rows.loc["structured", "survey"] == "2-4x"
    assert rows.loc["structured", "verdict"] == "beaten: faster"  # 4.7x, within 3 pt on the interval
    assert (
        "prune-c0.50-l1/tflite-fp32, n = 3" in rows.loc["structured", "fastest within the tolerance, XNNPACK [95 % CI]"]
    )
    assert rows.loc["unstructured", "verdict"] == "does not hold"  # 0.9x
    assert rows.loc["structured", "same file, builtin kernels"].startswith("1.40")
    # A network with no published speed claim is not judged.
    assert structured.speed_claims(pruned_summary(), anchors, {"lenet300_100": None}).empty
