"""The README's results block (dnncomp.report.readme): generated from a run, never typed by hand."""

import pandas as pd
import pytest

from dnncomp.report import columns as col
from dnncomp.report import readme
from dnncomp.report.stats import stat_column
from helpers import ROOT


def test_the_readme_block_is_the_recorded_headline_rendered():
    """A number typed into the block, or a headline regenerated without `make readme`, fails here."""
    text = (ROOT / "README.md").read_text()
    assert readme.block_of(text) == readme.render(readme.read_headline(ROOT / readme.HEADLINE))
    if (ROOT / readme.HEADLINE).is_file():
        assert (ROOT / readme.FIGURE).is_file(), "the block's figure is committed beside its numbers"


def test_the_recorded_headline_is_the_last_runs():
    results = ROOT / "results"
    if not (results / "summary_over_seeds.csv").is_file():
        pytest.skip("no run's results in results/: the README shows the run recorded in docs/results/headline.csv")
    recorded = readme.read_headline(ROOT / readme.HEADLINE)
    fresh = readme.from_results(results)
    assert fresh.to_dict("records") == recorded.to_dict("records"), (
        "results/ holds another run than the README's: run `make readme` to regenerate its results block"
    )


def row(configuration, change, low, size=None, speed=None, n=3, accuracy=0.98):
    return {
        "dataset": "mnist",
        "model": "lenet5",
        "configuration": configuration,
        "n": n,
        stat_column("accuracy", "mean"): accuracy,
        stat_column(col.ACCURACY_CHANGE, "mean"): change,
        stat_column(col.ACCURACY_CHANGE, "ci_low"): low,
        stat_column(col.ACCURACY_CHANGE, "ci_high"): change + (change - low),
        stat_column(readme.SIZE, "mean"): size,
        stat_column(readme.SPEEDUP, "mean"): speed,
        stat_column(col.SPEEDUP, "mean"): speed,  # the primary resolver's: the file was benchmarked
    }


def test_the_headline_takes_the_best_file_within_the_tolerance_on_the_interval():
    over_seeds = pd.DataFrame(
        [
            row("baseline", 0.0, 0.0),
            row("baseline/tflite-fp32", 0.0, -0.01, size=1.0, speed=1.0),
            row("baseline/tflite-int8", -0.2, -0.5, size=3.5, speed=4.0),
            row("baseline/prune-s0.95-unstructured/tflite-int8", -0.8, -1.6, size=30.0, speed=4.5),  # not within 1
            row("baseline/prune-s0.90-block/tflite-dynamic-sparse", -0.1, -0.3, size=12.0, speed=9.0),  # flagged
            row("baseline/prune-s0.90-block/tflite-int8-sparse", -0.3, -0.9, size=11.0, speed=2.0),
            row("baseline/prune-s0.90-block", -0.3, -0.9),  # a Keras model: no benchmark, not a file
            row("baseline/lq-dynamic_wi4_afp32", -0.4, -0.8, size=6.5, speed=1.5),
            row("baseline/lq-weight_only_wi4_afp32", -0.9, -1.5, size=6.6, speed=1.2),  # int4, not within 1
        ]
    )
    flagged = {("mnist", "lenet5", "baseline/prune-s0.90-block/tflite-dynamic-sparse")}
    table = readme.headline(over_seeds, flagged)
    best = dict(zip(table["goal"], table["configuration"], strict=True))
    assert best == {
        "smallest": "baseline/prune-s0.90-block/tflite-int8-sparse",
        "fastest": "baseline/tflite-int8",
        "both": "baseline/prune-s0.90-block/tflite-int8-sparse",  # 11 x 2 beats int8's 3.5 x 4
        "int4": "baseline/lq-dynamic_wi4_afp32",
    }
    text = readme.render(table)
    assert "**11.0× smaller, 2.0× faster**: prune-s0.90-block → tflite-int8-sparse" in text
    assert "| MNIST / LeNet-5 | 98.00 % | **11.0× smaller**: prune-s0.90-block → tflite-int8-sparse, -0.30 pt" in text
    assert "**4.0× faster**: tflite-int8, -0.20 pt [-0.50, +0.10], n = 3 |" in text
    assert "| **6.5× smaller**: lq-dynamic_wi4_afp32, -0.40 pt [-0.80, +0.00], n = 3 |" in text


def test_no_run_yet_says_so_and_the_block_is_replaced_in_place():
    assert readme.render(readme.headline(pd.DataFrame([row("baseline", 0.0, 0.0)]), set())).startswith("No run's")
    text = f"intro\n{readme.BEGIN}\nold numbers\n{readme.END}\nrest\n"
    assert readme.replace_block(text, "new") == f"intro\n{readme.BEGIN}\nnew\n{readme.END}\nrest\n"
    with pytest.raises(ValueError, match="README has no results block"):
        readme.replace_block("no markers here", "new")


def test_without_xnnpack_timings_the_headline_has_no_fastest_file():
    """A config whose resolvers leave out 'auto': sizes still rank, speed under XNNPACK is not claimed."""
    frame = pd.DataFrame([row("baseline", 0.0, 0.0), row("baseline/tflite-int8", -0.2, -0.5, size=3.5, speed=4.0)])
    table = readme.headline(frame.drop(columns=[stat_column(readme.SPEEDUP, "mean")]), set())
    assert list(table["goal"]) == ["smallest"]
