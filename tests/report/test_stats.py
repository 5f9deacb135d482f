"""Statistics over seeds, checked on hand-made numbers (t quantiles from a printed t-table)."""

import math

import pandas as pd
import pytest

from dnncomp.report import stats


def test_interval_of_three_values():
    out = stats.interval([1.0, 2.0, 3.0])
    # mean 2, sd 1; t(0.975, df=2) = 4.303 from the table; half-width 4.303 / sqrt(3) = 2.484
    assert out["n"] == 3 and out["mean"] == pytest.approx(2.0) and out["sd"] == pytest.approx(1.0)
    assert out["ci_low"] == pytest.approx(2.0 - 2.484, abs=1e-3)
    assert out["ci_high"] == pytest.approx(2.0 + 2.484, abs=1e-3)


def test_one_value_has_no_spread_and_no_interval():
    out = stats.interval([0.98])
    assert out["n"] == 1 and out["mean"] == pytest.approx(0.98)
    assert math.isnan(out["sd"]) and math.isnan(out["ci_low"]) and math.isnan(out["ci_high"])


def test_identical_values_give_a_zero_width_interval():
    out = stats.interval([5.0, 5.0, 5.0])
    assert out["sd"] == 0 and out["ci_low"] == out["ci_high"] == 5.0


def test_missing_values_are_not_counted():
    assert stats.interval([1.0, None, 3.0])["n"] == 2


def test_paired_test_on_hand_made_pairs():
    # differences 1, 0, 2, 1: mean 1, sd 0.8165, t = 1 / (0.8165 / 2) = 2.449 with 3 df,
    # two-sided p between 0.05 (t = 3.182) and 0.10 (t = 2.353) in the table.
    out = stats.paired_test([1, 2, 3, 4], [0, 2, 1, 3])
    assert out["n"] == 4 and out["mean_diff"] == pytest.approx(1.0)
    assert out["effect_size_dz"] == pytest.approx(1 / 0.8165, rel=1e-3)
    assert 0.05 < out["p_value"] < 0.10
    assert out["p_value"] == pytest.approx(0.0917, abs=1e-3)
    # the interval of the mean difference: 1 +/- 3.182 * 0.8165 / 2
    assert out["ci_low"] == pytest.approx(1 - 1.299, abs=1e-3)


def test_paired_test_refuses_unmatched_samples():
    with pytest.raises(ValueError, match="matched"):
        stats.paired_test([1, 2, 3], [1, 2])


def test_configuration_drops_only_the_student_seed():
    assert (
        stats.configuration("baseline/distill-mlp32-T4-a0.1-seed2/tflite-int8")
        == "baseline/distill-mlp32-T4-a0.1/tflite-int8"
    )
    assert stats.configuration("baseline/prune-s0.90-block") == "baseline/prune-s0.90-block"


def frame():
    rows = []
    for seed, base, pruned in [(0, 0.98, 0.975), (1, 0.99, 0.984), (2, 0.97, 0.966)]:
        rows.append(
            {
                "dataset": "mnist",
                "model": "m",
                "seed": seed,
                "chain": "baseline",
                "technique": "baseline",
                "accuracy": base,
                "accuracy_vs_baseline_pt": 0.0,
                "parent_accuracy": None,
            }
        )
        rows.append(
            {
                "dataset": "mnist",
                "model": "m",
                "seed": seed,
                "chain": "baseline/prune-s0.90-block",
                "technique": "prune",
                "accuracy": pruned,
                "accuracy_vs_baseline_pt": (pruned - base) * 100,
                "parent_accuracy": base,
            }
        )
    return pd.DataFrame(rows)


def test_over_seeds_pairs_each_seed_with_its_own_baseline():
    table = stats.over_seeds(frame()).set_index("configuration")
    pruned = table.loc["baseline/prune-s0.90-block"]
    assert pruned["n"] == 3
    # paired losses 0.5, 0.6, 0.4 pt: mean -0.5, sd 0.1; unpaired accuracies spread over 1.8 pt
    assert pruned["accuracy_vs_baseline_pt_mean"] == pytest.approx(-0.5)
    assert pruned["accuracy_vs_baseline_pt_sd"] == pytest.approx(0.1)
    assert pruned["accuracy_vs_parent_pt_mean"] == pytest.approx(-0.5)
    assert pruned["accuracy_sd"] > 0.8 / 100


def test_within_is_judged_on_the_upper_end_of_the_loss_interval():
    pruned = stats.over_seeds(frame()).set_index("configuration").loc["baseline/prune-s0.90-block"]
    # loss interval 0.5 +/- 4.303 * 0.1 / sqrt(3) = [0.25, 0.75]
    assert stats.within(pruned, 0.8) is True
    assert stats.within(pruned, 0.6) is False  # the mean (0.5) is within, the interval is not
    one_seed = (
        stats.over_seeds(frame()[frame()["seed"] == 0]).set_index("configuration").loc["baseline/prune-s0.90-block"]
    )
    assert stats.within(one_seed, 0.8) is None
