"""Statistics over seeds: every configuration's numbers as n, mean, standard deviation and a 95 %
Student-t interval, accuracy changes paired with the same seed's parent, and claims judged on the
interval rather than on a single run (Blalock et al., "What is the state of neural network
pruning?", MLSys 2020, ask for exactly this)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats as sps

from . import columns as col

CONFIDENCE = 0.95

# Columns of summary.csv summarized over seeds. The accuracy changes are paired differences: each
# seed's artefact minus the same seed's baseline (or parent).
METRICS = (
    "accuracy",
    col.ACCURACY_CHANGE,
    col.PARENT_CHANGE,
    "gzip_bytes",
    col.FILE_RATIO,
    col.GZIP_RATIO,
    col.LATENCY,
    col.SPEEDUP,
    col.SPEEDUP_XNNPACK,
    col.ENERGY_EST,
    col.ENERGY_EST_RATIO,
)
SUFFIXES = ("n", "mean", "sd", "ci_low", "ci_high")


def stat_column(metric: str, statistic: str) -> str:
    """The over-seeds column of one statistic of a metric, e.g. accuracy_vs_baseline_pt_ci_low."""
    return f"{metric}_{statistic}"


KEYS = ("dataset", "model", "configuration")

_STUDENT_SEED = re.compile(r"(distill-[^/]+)-seed\d+")


def configuration(chain: str) -> str:
    """A chain label without its distilled student's seed: the configuration that seeds repeat."""
    return _STUDENT_SEED.sub(r"\1", chain)


def interval(values, confidence: float = CONFIDENCE) -> dict:
    """n, mean, sample standard deviation and the Student-t interval of the mean. With fewer than
    two values there is no spread: sd and the interval are NaN, never a made-up zero."""
    x = np.asarray(pd.Series(values, dtype=float).dropna())
    n = len(x)
    out = {"n": n, "mean": float(np.mean(x)) if n else np.nan, "sd": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if n < 2:
        return out
    out["sd"] = float(np.std(x, ddof=1))
    if out["sd"] == 0:  # identical values: a zero-width interval (scipy would return NaN)
        out["ci_low"] = out["ci_high"] = out["mean"]
    else:
        low, high = sps.t.interval(confidence, n - 1, loc=out["mean"], scale=sps.sem(x))
        out["ci_low"], out["ci_high"] = float(low), float(high)
    return out


def with_configuration(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame.assign(configuration=frame["chain"].map(configuration))
    if "parent_accuracy" in out:
        out[col.PARENT_CHANGE] = (out["accuracy"] - out["parent_accuracy"]) * 100
    return out


def over_seeds(frame: pd.DataFrame) -> pd.DataFrame:
    """One row per dataset x model x configuration: for each metric its n, mean, sd and interval."""
    frame = with_configuration(frame)
    metrics = [m for m in METRICS if m in frame]
    rows = []
    for key, group in frame.groupby(list(KEYS), sort=True):
        row = dict(zip(KEYS, key, strict=True))
        row["technique"], row["n"] = group["technique"].iloc[0], len(group)
        for metric in metrics:
            row.update({stat_column(metric, k): v for k, v in interval(group[metric]).items()})
        rows.append(row)
    return pd.DataFrame(rows)


def within(row, tolerance_pt: float, column: str = col.ACCURACY_CHANGE) -> bool | None:
    """'Within X pt' holds when the upper end of the 95 % interval of the loss (minus the paired
    change) is at most X. None when there is no interval (one seed): not judged."""
    low = row.get(stat_column(column, "ci_low"))
    return None if low is None or pd.isna(low) else bool(-low <= tolerance_pt)


def paired_test(treated, control) -> dict:
    """Paired t-test of treated minus control over matched seeds: mean difference, its interval,
    the p-value (two-sided) and the effect size d_z (mean difference / sd of the differences)."""
    a, b = np.asarray(treated, dtype=float), np.asarray(control, dtype=float)
    if a.shape != b.shape:
        raise ValueError(f"paired test needs matched samples, got {a.shape} and {b.shape}")
    diff = interval(a - b)
    out = {
        "n": diff["n"],
        "mean_diff": diff["mean"],
        "ci_low": diff["ci_low"],
        "ci_high": diff["ci_high"],
        "p_value": np.nan,
        "effect_size_dz": np.nan,
    }
    if diff["n"] >= 2 and diff["sd"] > 0:
        out["p_value"] = float(sps.ttest_rel(a, b).pvalue)
        out["effect_size_dz"] = diff["mean"] / diff["sd"]
    return out
