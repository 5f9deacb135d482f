"""Aggregation, statistics and the report's comparison table, on hand-made records."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from dnncomp.core.io import write_json
from dnncomp.jobs.records import make_record
from dnncomp.measure import bench
from dnncomp.report import claims, figures, html, summary
from dnncomp.report import columns as col
from dnncomp.study.chain import parse_chain
from helpers import ROOT

ENERGY = yaml.safe_load((ROOT / "config.yaml").read_text())["energy"]


def operations(macs, width, weight_bytes):
    """Operation counts as dnncomp.core.energy.operation_counts gives them."""
    return {
        "macs": macs,
        "macs_dense": macs,
        "macs_nonzero": macs,
        "weight_bytes": weight_bytes,
        "activation_bytes": 100,
        "macs_by_width": {width: macs},
        "adds_by_width": {},
        "uncounted_ops": [],
    }


def record(path, accuracy, size, parent=None, fmt="tflite", extra=None):
    chain = parse_chain(path)
    rec = make_record(
        chain,
        artefact=f"{path}/model.{fmt}",
        fmt=fmt,
        accuracy=accuracy,
        sizes={"size_bytes": size, "gzip_bytes": size // 2, "xz_bytes": size // 3},
        counts={"params": 100, "nonzero_params": 100, "layer_sparsity": {}},
        runtime={"engine": "litert", "resolver": "builtin", "resolvers": ["builtin"]},
        parent=parent,
        flag_margin=0.05,
        params={},
        extra=extra,
    )
    return rec


@pytest.fixture
def records(tmp_path):
    root = "results/mnist/lenet5/seed0/baseline"
    base = record(root, 0.99, 3000, fmt="keras")
    recs = [
        base,
        record(f"{root}/tflite-fp32", 0.99, 1000, base),
        record(f"{root}/tflite-int8", 0.985, 250, base),
        record(f"{root}/tflite-dynamic", 0.50, 260, base),
    ]
    recs[1]["operations"] = operations(1000, "float32", 4000)
    recs[2]["operations"] = operations(1000, "int8", 1000)
    paths = []
    for i, rec in enumerate(recs):
        paths.append(tmp_path / f"{i}.json")
        write_json(rec, paths[-1])
    # One family record, as bench_family writes it: int8 twice as fast as fp32 in every round.
    entries = []
    for latency, rec in ((40.0, recs[1]), (20.0, recs[2])):
        results = [
            {
                "batch": b,
                "threads": t,
                "median_us": latency * b / t,
                "p10_us": latency * 0.9,
                "p90_us": latency * 1.2,
                "throughput_sps": 1e6 / latency,
                "resolver": "builtin",
                "speedup_vs_fp32_tflite": {
                    "median": 40.0 / latency,
                    "p10": 40.0 / latency - 0.1,
                    "p90": 40.0 / latency + 0.1,
                },
                "speedup_vs_keras": {"median": 100.0 / latency, "p10": 1.0, "p90": 9.0},
            }
            for b in (1, 8)
            for t in (1, 2)
        ]
        entries.append(
            {
                "artefact": rec["artefact"],
                "chain": rec["chain"],
                "engine": "litert",
                "resolvers": ["builtin"],
                "results": results,
            }
        )
    entries[0]["results"][0]["energy"] = {"joules_per_image": {"median": 2e-5, "p10": 1e-5, "p90": 3e-5}}
    family = tmp_path / "bench_cpu.json"
    write_json({"family": "results/mnist/lenet5/seed0", "artefacts": entries}, family)
    return paths, [family]


@pytest.fixture
def gpu_record(tmp_path):
    """A GPU family record with the baseline Keras model timed, and its energy measured at batch 64."""
    results = [
        {
            "precision": precision,
            "xla": xla,
            "batch": batch,
            "median_us": 50.0 * batch / (2 if precision == "float16" else 1),
            "p10_us": 1.0,
            "p90_us": 2.0,
            "throughput_sps": 1.0,
            **({"energy": {"joules_per_image": {"median": 3e-6}}} if not xla and batch == 64 else {}),
        }
        for precision in ("float32", "float16")
        for xla in (False, True)
        for batch in (1, 64)
    ]
    model = {"artefact": "results/mnist/lenet5/seed0/baseline/model.keras", "chain": "baseline", "results": results}
    path = tmp_path / "bench_gpu.json"
    write_json({"family": "results/mnist/lenet5/seed0", "gpu": {"name": "H200"}, "models": [model]}, path)
    return path


def test_energy_estimate_and_measurements_join_the_summary(records, gpu_record):
    paths, benches = records
    frame = summary.summarize(
        summary.load_records(paths, ENERGY), *summary.bench_rows(benches), summary.gpu_rows([gpu_record])
    ).set_index("chain")
    fp32, int8 = frame.loc["baseline/tflite-fp32"], frame.loc["baseline/tflite-int8"]
    # 1000 float32 MACs (3.7 + 0.9 pJ), 4000 weight bytes from DRAM (640 pJ per 4 bytes), 100 from SRAM (5 pJ).
    assert fp32[col.ENERGY_EST_COMPUTE] == pytest.approx(1000 * 4.6e-6)
    assert fp32[col.ENERGY_EST_MEMORY] == pytest.approx((1000 * 640 + 25 * 5) * 1e-6)
    assert int8[col.ENERGY_EST_COMPUTE] == pytest.approx(1000 * (0.2 + 0.1) * 1e-6)  # int8 x int8 into int32
    assert int8[col.ENERGY_EST_RATIO] == pytest.approx(fp32[col.ENERGY_EST] / int8[col.ENERGY_EST])
    assert fp32[col.ENERGY_CPU] == pytest.approx(20.0) and pd.isna(int8[col.ENERGY_CPU])
    baseline = frame.loc["baseline"]
    assert baseline[col.GPU_LATENCY] == pytest.approx(50.0) and baseline[col.GPU_ENERGY] == pytest.approx(3.0)
    assert pd.isna(baseline[col.ENERGY_EST])  # a Keras model is not a deployable file: no estimate


def test_flags_an_artefact_far_below_its_parent(records):
    paths, _ = records
    frame = summary.load_records(paths)
    flagged = frame.set_index("chain")["flagged"]
    assert bool(flagged["baseline/tflite-dynamic"]) and not bool(flagged["baseline/tflite-int8"])


def test_summary_ratios_against_the_fp32_tflite(records):
    paths, benches = records
    tflite_rows, keras_rows = summary.bench_rows(benches)
    frame = summary.summarize(summary.load_records(paths), tflite_rows, keras_rows)
    int8 = frame.set_index("chain").loc["baseline/tflite-int8"]
    assert int8["compression_vs_fp32"] == pytest.approx(4.0)
    assert int8["gzip_compression_vs_fp32_gzip"] == pytest.approx(500 / 125)
    assert int8["speedup_b1_t1_vs_fp32_tflite"] == pytest.approx(2.0)
    assert int8["speedup_b1_t1_vs_fp32_tflite_p10"] == pytest.approx(1.9)
    assert int8["speedup_b1_vs_keras"] == pytest.approx(5.0)
    assert int8["latency_b1_tall_us"] == pytest.approx(10.0)
    assert int8["accuracy_vs_baseline_pt"] == pytest.approx(-0.5)


def test_a_student_timed_in_another_family_gets_that_network_s_ratio(records, tmp_path):
    """A guest entry (another family's distilled student) adds a column named after the host network
    and never a second row for the artefact."""
    paths, benches = records
    family = json.loads(benches[0].read_text())
    guest = json.loads(json.dumps(family["artefacts"][1]))  # the int8 file, as LeNet-300-100's guest
    guest.update(chain="mnist/lenet5/seed0/baseline/tflite-int8", guest=True, resolvers=["builtin", "auto"])
    guest["results"] += [dict(r, resolver="auto", speedup_vs_fp32_tflite={"median": 7.0}) for r in guest["results"]]
    host = tmp_path / "host.json"
    write_json({"family": "results/mnist/lenet300_100/seed0", "artefacts": [guest]}, host)
    tflite_rows, keras_rows = summary.bench_rows([*benches, host])
    frame = summary.summarize(summary.load_records(paths), tflite_rows, keras_rows, None, summary.guest_rows([host]))
    assert len(frame) == len(paths)
    int8 = frame.set_index("chain").loc["baseline/tflite-int8"]
    assert int8[col.speedup_vs_network("lenet300_100")] == pytest.approx(2.0)  # builtin, one thread, batch 1
    assert int8[col.speedup_vs_network("lenet300_100", "auto")] == pytest.approx(7.0)
    assert int8[col.SPEEDUP] == pytest.approx(2.0)  # its own family's ratio is untouched


def test_every_column_the_aggregation_adds_is_declared(records, gpu_record):
    paths, benches = records
    loaded = summary.load_records(paths)
    frame = summary.summarize(
        summary.load_records(paths, ENERGY), *summary.bench_rows(benches), summary.gpu_rows([gpu_record])
    )
    added = set(frame.columns) - set(loaded.columns) - {"path"}
    assert added, "the aggregation added no column"
    undeclared = added - set(col.DECLARED) - col.timing_columns()
    assert not undeclared, f"summary columns not declared in dnncomp.report.columns: {sorted(undeclared)}"
    assert col.timing_columns() <= added


def test_report_page_lays_out_every_section_from_the_template(records):
    from dnncomp.report.layout import SECTIONS

    paths, benches = records
    frame = summary.summarize(summary.load_records(paths), *summary.bench_rows(benches))
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    anchors = html.load_anchors(ROOT / "report" / "anchors.yaml")
    gpu = [{"gpu": None, "status": "no GPU <here>", "reason": "no driver"}]
    page = html.render(frame, {}, gpu, config, anchors, ROOT / "report" / "report.html.j2")
    assert all(f"<h2>{title}</h2>" in page for title, _ in SECTIONS)
    assert "<b>no GPU &lt;here&gt; (no driver).</b> No GPU numbers are shown." in page  # escaped
    assert '<td class="l">baseline/tflite-int8</td>' in page and "<td>0.985</td>" in page
    assert page.count("<li><b>") >= len(anchors["sources"]) + len(col.DECLARED)


def test_bench_statistics():
    times = np.array([1.0, 2.0, 3.0, 4.0, 100.0]) * 1e-6
    stats = bench.summarize(times, batch=4)
    assert stats["median_us"] == pytest.approx(3.0)
    assert stats["p10_us"] <= stats["median_us"] <= stats["p90_us"]
    assert stats["throughput_sps"] == pytest.approx(4 / 3e-6)


def test_time_calls_meets_count_and_time_floors():
    calls = []
    times = bench.time_calls(lambda: calls.append(1), warmup=3, min_repeats=10, min_seconds=0.0)
    assert len(times) == 10 and len(calls) == 13


def test_pareto_front_keeps_only_undominated_points():
    points = pd.DataFrame({"gzip_bytes": [10, 20, 30, 40], "accuracy": [0.90, 0.95, 0.93, 0.99]})
    front = figures.pareto_front(points, "gzip_bytes")
    assert list(front["gzip_bytes"]) == [10, 20, 40]


def test_figures_render_even_without_data(tmp_path, records):
    paths, benches = records
    frame = summary.summarize(summary.load_records(paths), *summary.bench_rows(benches))
    for name in (
        "ptq_modes",
        "bits",
        "pruning",
        "prune_quantize",
        "distill_temperature",
        "distill_sizes",
        "pareto",
        "speedups",
        "structured",
    ):
        out = tmp_path / f"{name}.png"
        getattr(figures, name)(frame, out)
        assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_longer_recovery_budget_is_its_own_pruning_curve(tmp_path, monkeypatch):
    """0.975 pruned with 5x the epochs must not join the default budget's curve: another treatment."""
    rows = [
        {"technique": "prune", "sparsity": s, "structure": "unstructured", "recovery": r, "seed": 0}
        for s, r in ((0.5, 1), (0.9, 1), (0.975, 5))
    ]
    frame = pd.DataFrame(rows).assign(dataset="mnist", model="lenet5", accuracy=0.98, nonzero_params=100, mode=None)
    drawn = []
    monkeypatch.setattr(figures, "plot_mean", lambda ax, group, *a, label=None, **k: drawn.append((label, len(group))))
    figures.pruning(frame, tmp_path / "pruning.png")
    assert sorted(set(drawn)) == [("mnist/lenet5 unstructured", 2), ("mnist/lenet5 unstructured x5 recovery", 1)]


def test_prune_quantize_draws_each_cluster_count_and_budget_apart(tmp_path, monkeypatch):
    rows = [
        {"technique": "prune>cluster>tflite", "sparsity": s, "recovery": r, "clusters": c, "seed": seed}
        for s, r, c in ((0.9, 1, 16), (0.95, 1, 16), (0.975, 5, 16), (0.975, 5, 8))
        for seed in (0, 1)
    ]
    frame = pd.DataFrame(rows).assign(dataset="mnist", model="lenet5", structure="unstructured", mode="int8")
    frame[col.GZIP_RATIO] = 40.0
    drawn = []
    monkeypatch.setattr(figures, "plot_mean", lambda ax, group, *a, label=None, **k: drawn.append((label, len(group))))
    figures.prune_quantize(frame, tmp_path / "prune_quantize.png")
    assert sorted(drawn) == [
        ("prune>cluster>tflite int8 c16 unstructured", 4),
        ("prune>cluster>tflite int8 c16 unstructured x5 recovery", 2),
        ("prune>cluster>tflite int8 c8 unstructured x5 recovery", 2),
    ]


def test_mode_tables_order_modes_and_keep_baselines_apart_from_pruned_parents():
    rows = [("tflite", None, None, mode) for mode in ("int8", "fp32", "dynamic", "fp16")]
    rows += [("prune>tflite", s, "block", mode) for s in (0.9, 0.5) for mode in ("int8-sparse", "int8", "fp32-sparse")]
    frame = pd.DataFrame(
        [
            {
                "dataset": "mnist",
                "model": "lenet5",
                "seed": 0,
                "technique": t,
                "sparsity": s,
                "structure": st,
                "mode": m,
                "accuracy": 0.9,
                "size_bytes": 1,
            }
            for t, s, st, m in rows
        ]
    )
    baseline = summary.mode_table(frame, "tflite")
    assert list(baseline["mode"]) == ["fp32", "fp16", "dynamic", "int8"]
    assert "sparsity" not in baseline
    pruned = summary.mode_table(frame, "prune>tflite")
    assert list(zip(pruned["sparsity"], pruned["mode"], strict=True)) == [
        (0.5, "fp32-sparse"),
        (0.5, "int8"),
        (0.5, "int8-sparse"),
        (0.9, "fp32-sparse"),
        (0.9, "int8"),
        (0.9, "int8-sparse"),
    ]


ANCHORS = ROOT / "report" / "anchors.yaml"


def test_claims_follow_the_reference_not_the_name(records):
    """Rename an architecture and its claims follow through `reference`."""
    paths, benches = records
    frame = summary.summarize(summary.load_records(paths), *summary.bench_rows(benches))
    frame["model"] = "my_cnn"
    table = claims.claims_table(frame, html.load_anchors(ANCHORS), {"my_cnn": "lenet5"})
    assert (table["model"] == "my_cnn").any()
    row = table[table["claim"].str.startswith("8 bits about 4x") & (table["model"] == "my_cnn")].iloc[0]
    assert row["measured here"] == "4.00x (n = 1) smaller" and row["verdict"] == "not judged (n = 1)"


def test_every_configured_model_has_the_anchors_the_report_expects():
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    claims = html.load_anchors(ANCHORS)["claims"]
    refs = html.references(config)
    for model in config["study"]["models"]:
        reference = refs.get(model)
        assert reference, f"study model '{model}' names no `reference` network: the report would show no anchors"
        assert reference in claims["pruning"]["ratio"], f"no pruning anchor for {reference}"
        for dataset in config["study"]["datasets"]:
            assert reference in claims["prune_quantize"]["target"][dataset], (
                f"no prune->quantize anchor: {dataset}/{reference}"
            )
            assert dataset in claims["pruning"]["tolerance_pt"]


def seeded(rows):
    """Summary rows for seeds 0..k-1 of a baseline, its int8 file and a pruned int8 file."""
    out = []
    for seed, (base, int8, pruned) in enumerate(rows):
        root = {"dataset": "mnist", "model": "lenet5", "seed": seed, "distill_seed": np.nan, "student": None}
        out += [
            {**root, "chain": "baseline", "technique": "baseline", "accuracy": base, "parent_accuracy": np.nan},
            {
                **root,
                "chain": "baseline/tflite-int8",
                "technique": "tflite",
                "accuracy": int8,
                "parent_accuracy": base,
                "compression_vs_fp32": 4.0,
            },
            {
                **root,
                "chain": "baseline/prune-s0.95-unstructured/tflite-int8-sparse",
                "technique": "prune>tflite",
                "accuracy": pruned,
                "parent_accuracy": pruned + 0.001,
                "gzip_compression_vs_fp32_gzip": 36.0 + seed,
            },
        ]
    frame = pd.DataFrame(out)
    frame["baseline_accuracy"] = frame.groupby("seed")["accuracy"].transform("first")
    frame["accuracy_vs_baseline_pt"] = (frame["accuracy"] - frame["baseline_accuracy"]) * 100
    return frame


def test_claims_are_judged_on_the_paired_interval():
    anchors = html.load_anchors(ANCHORS)

    def judged(frame, claim):
        table = claims.claims_table(frame, anchors, {"lenet5": "lenet5"})
        return table[table["claim"].str.startswith(claim)].iloc[0]

    # pruned losses 0.8, 0.9, 1.0 pt: interval [0.65, 1.15] is not within 1 pt, though the mean is
    frame = seeded([(0.990, 0.989, 0.982), (0.980, 0.979, 0.971), (0.985, 0.984, 0.975)])
    combined = judged(frame, "prune -> quantize 40x")
    assert combined["verdict"] == claims.UNDECIDED and "none within 1 pt on its interval" in combined["measured here"]
    int8 = judged(frame, "8 bits within")
    assert int8["measured here"].startswith("-0.10 pt [-0.10, -0.10] (n = 3)") and int8["verdict"] == claims.HOLDS
    # losses 0.2, 0.3, 0.25: the whole interval is within 1 pt; 36, 37, 38x: the ratio's interval
    # [34.5, 39.5] straddles the claimed 35x
    frame = seeded([(0.990, 0.989, 0.988), (0.980, 0.979, 0.977), (0.985, 0.984, 0.9825)])
    combined = judged(frame, "prune -> quantize 40x")
    assert combined["verdict"] == claims.UNDECIDED and "37.0x [34.5, 39.5] (n = 3)" in combined["measured here"]
    frame["gzip_compression_vs_fp32_gzip"] = frame["gzip_compression_vs_fp32_gzip"] - frame["seed"] * 0.9
    assert judged(frame, "prune -> quantize 40x")["verdict"] == claims.HOLDS  # 36, 36.1, 36.2x


def test_a_near_miss_over_seeds_is_shown_before_a_single_seed_candidate():
    table = pd.DataFrame(
        {
            "configuration": ["three seeds", "one seed", "too lossy"],
            "value_mean": [16.3, 7.3, 30.0],
            "change_mean": [-1.7, -1.2, -2.5],
            "change_ci_low": [-3.0, np.nan, -2.9],
        }
    )
    assert claims.best_within(table, 2.0) is None
    assert claims.nearest(table, 2.0)["configuration"] == "three seeds"
    assert claims.nearest(table.iloc[1:], 2.0)["configuration"] == "one seed"


def test_distillation_verdict_is_a_paired_test_over_seeds():
    rows = []
    for seed, (student, control) in enumerate([(0.970, 0.965), (0.972, 0.966), (0.969, 0.965)]):
        rows.append(
            {
                "dataset": "mnist",
                "model": "lenet5",
                "technique": "distill",
                "student": "mlp32",
                "temperature": 4.0,
                "alpha": 0.1,
                "distill_seed": seed,
                "seed": 0,
                "accuracy": student,
            }
        )
        rows.append(
            {
                "dataset": "mnist",
                "model": "mlp32",
                "technique": "baseline",
                "student": None,
                "temperature": np.nan,
                "alpha": np.nan,
                "distill_seed": np.nan,
                "seed": seed,
                "accuracy": control,
            }
        )
    text = claims.distillation_rows(pd.DataFrame(rows), {"text": "t", "source": "hinton2015"})[0]["measured here"]
    # gains 0.5, 0.6, 0.4 pt: mean 0.5, sd 0.1, d_z 5; t = 8.66 with 2 df, p = 0.013
    assert "paired gain +0.50 pt" in text and "(n = 3)" in text and "d_z = 5.00" in text
    assert "p = 0.0131" in text and text.endswith(": holds")


def test_students_of_several_teacher_seeds_pair_by_student_seed():
    """Three teacher seeds, one student seed (a user's config): one pair, not judged; no error."""
    base = {"dataset": "parts", "model": "lenet5", "technique": "distill", "student": "cnn_small"}
    rows = [
        {**base, "temperature": 4.0, "alpha": 0.1, "distill_seed": 0, "seed": teacher, "accuracy": acc}
        for teacher, acc in enumerate([0.80, 0.82, 0.84])
    ]
    rows.append(
        {
            "dataset": "parts",
            "model": "cnn_small",
            "technique": "baseline",
            "student": None,
            "temperature": np.nan,
            "alpha": np.nan,
            "distill_seed": np.nan,
            "seed": 0,
            "accuracy": 0.79,
        }
    )
    text = claims.distillation_rows(pd.DataFrame(rows), {"text": "t", "source": "hinton2015"})[0]["measured here"]
    assert "each student seed over 3 teacher seeds" in text and "82.00 % vs 79.00 %" in text
    assert "(n = 1)" in text and text.endswith("not judged (n = 1)")


def test_report_renders_for_a_dataset_and_a_model_with_no_published_anchors(records):
    """A user's dataset (added by config) with a network that reproduces LeNet-5, and a user's own
    network with no reference: claims with no figure for the dataset say so; the rest renders."""
    paths, benches = records
    frame = summary.summarize(summary.load_records(paths), *summary.bench_rows(benches))
    frame["dataset"] = "parts"
    mine = frame.copy()
    mine["model"] = "my_net"
    frame = pd.concat([frame, mine], ignore_index=True)
    config = yaml.safe_load((ROOT / "config.yaml").read_text())
    config["datasets"]["parts"] = {"source": "npz", "path": "parts.npz"}
    config["architectures"]["my_net"] = {"type": "keras", "path": "my_net.keras"}
    config["study"] = {"datasets": ["parts"], "models": ["lenet5", "my_net"], "seeds": [0]}
    anchors = html.load_anchors(ANCHORS)
    table = claims.claims_table(frame, anchors, html.references(config))
    lenet = table[table["model"] == "lenet5"]
    assert "the survey published no figure for parts / lenet5" in set(lenet["measured here"])
    assert lenet["claim"].str.startswith("8 bits").any()  # a claim that needs no per-dataset figure is judged
    assert not (table["model"] == "my_net").any()  # no reference network: no claims, and no error
    page = html.render(frame, {}, [], config, anchors, ROOT / "report" / "report.html.j2")
    assert "the survey published no figure for parts / lenet5" in page and "my_net" in page
    assert "<b>my_net</b> is the trained model of my_net.keras: every seed's" in page


def test_the_mixed_precision_choice_is_tabled_op_by_op():
    mixed = {
        "choices": {"m/fc1/MatMul;m/fc1/Relu": 4, "logits/MatMul": None},
        "weights": {"m/fc1/MatMul;m/fc1/Relu": 235200, "logits/MatMul": 1000},
        "sensitivity_int4": {"m/fc1/MatMul;m/fc1/Relu": 0.001, "logits/MatMul": 0.02},
        "reference_val_accuracy": 0.98,
        "val_accuracy": 0.975,
    }
    record = {"dataset": "mnist", "model": "lenet300_100", "chain": "baseline/lqmix-a0.50", "extra": {"mixed": mixed}}
    table = html.mixed_precision_table({"results/x": record})
    assert list(table["op (output tensor)"]) == ["m/fc1/MatMul", "logits/MatMul"]
    assert list(table["bits"]) == [4, "float"]
    assert table["int4 alone: val. loss (pt)"].tolist() == pytest.approx([0.1, 2.0])
    assert table["file: val. loss (pt)"].tolist() == pytest.approx([0.5, 0.5])
