"""The survey's conclusions, judged one by one: one row per conclusion (per dataset and network where
the conclusion is per pair), each with the survey's figure, ours with its 95 % interval and n, and a
verdict. The conclusions and their figures are report/anchors.yaml's `conclusions`; each `kind` is a
function of this module (JUDGES).

Speed is judged under LiteRT's default runtime (RUNTIME: builtin kernels with the XNNPACK delegate,
what a deployed app gets), accuracy under the same runtime, with the builtin kernels' figure beside.
Verdicts: a ratio holds when the low end of its interval reaches the claimed figure (a range's low
end; `point_factor` of a point figure), fails when the high end stays below it, and is undecided in
between; one seed is not judged. Flagged files (the runtimes disagree on their accuracy, or they fell
far below their parent) are left out, and the row says how many."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..study.chain import FP32_REFERENCE, STEP_COLUMNS, step_column
from . import columns as col
from . import stats

RUNTIME = "auto"  # the resolver name of LiteRT's default op resolver (builtin ops + XNNPACK)
RUNTIME_NAME = {RUNTIME: "XNNPACK (LiteRT's default)", None: "builtin kernels"}
HOLDS, FAILS, UNDECIDED, SINGLE = (
    "holds",
    "does not hold",
    "undecided (the interval straddles it)",
    "not judged (n = 1)",
)
NO_FIGURE = "not judged: no published figure"
TFLITE_MODE = step_column("tflite", "mode")
COLUMNS = ["section", "claim", "source", "dataset", "model", "survey", "measured here", "verdict"]


# ----------------------------------------------------------------------------- numbers and verdicts


def fmt(summary: dict, unit: str = "x", digits: int = 2) -> str:
    """'mean [low, high] (n = k)' of a stats.interval; no interval for one value."""
    if not summary or summary["n"] == 0 or pd.isna(summary["mean"]):
        return "not measured"
    text = f"{summary['mean']:.{digits}f}{unit}"
    if not pd.isna(summary["ci_low"]):
        text += f" [{summary['ci_low']:.{digits}f}, {summary['ci_high']:.{digits}f}]"
    return text + f" (n = {summary['n']})"


def at_least(summary: dict, target: float) -> str:
    """The verdict on 'at least `target`' from an interval."""
    if not summary or summary["n"] == 0 or pd.isna(summary["mean"]):
        return "not measured here"
    if summary["n"] < 2:
        return SINGLE
    if summary["ci_low"] >= target:
        return HOLDS
    return FAILS if summary["ci_high"] < target else UNDECIDED


def in_band(summary: dict, low: float, high: float) -> str:
    """The verdict on 'between low and high' (a size that should be 'about' a figure)."""
    verdict = at_least(summary, low)
    if verdict == HOLDS and summary["ci_high"] > high:
        return FAILS if summary["ci_low"] > high else UNDECIDED
    return verdict


def within_pt(summary: dict, tolerance: float) -> str:
    """The verdict on 'an accuracy change within +/- tolerance points'."""
    if not summary or summary["n"] == 0 or pd.isna(summary["mean"]):
        return "not measured here"
    if summary["n"] < 2:
        return SINGLE
    if max(abs(summary["ci_low"]), abs(summary["ci_high"])) <= tolerance:
        return HOLDS
    return FAILS if summary["ci_low"] > tolerance or summary["ci_high"] < -tolerance else UNDECIDED


def combine(verdicts) -> str:
    """All of several verdicts: holds only if each holds; fails if any fails."""
    verdicts = list(verdicts)
    if not verdicts:
        return "not measured here"
    for verdict in (FAILS, UNDECIDED, SINGLE, "not measured here"):
        if verdict in verdicts:
            return verdict
    return HOLDS


def interval(values) -> dict:
    return stats.interval(pd.Series(values, dtype=float))


# ----------------------------------------------------------------------------- the study's table


class Study:
    """The summary table prepared for judging: configurations, the default runtime's accuracy changes,
    flagged files left out, and each dataset x model's network reference."""

    def __init__(self, frame: pd.DataFrame, refs: dict, runtime: str = RUNTIME):
        frame = stats.with_configuration(frame)
        for column in STEP_COLUMNS:  # a summary of chains without some step kind lacks its columns
            if column not in frame:
                frame[column] = np.nan
        self.runtime = runtime if col.speedup(resolver=runtime) in frame else None
        accuracy = col.resolver_accuracy(runtime) if self.runtime else "accuracy"
        accuracy = frame[accuracy].fillna(frame["accuracy"]) if accuracy in frame else frame["accuracy"]
        frame["change"] = (accuracy - frame[col.BASELINE_ACCURACY]) * 100 if col.BASELINE_ACCURACY in frame else np.nan
        parent = frame["parent_accuracy"] if "parent_accuracy" in frame else np.nan
        frame["parent_change"] = (accuracy - parent) * 100
        # A configuration flagged in any seed is left out whole: its runtime cannot be trusted on it.
        marked = frame["flagged"].fillna(False).astype(bool) if "flagged" in frame else frame["chain"].isna()
        keys = ["dataset", "model", "configuration"]
        bad = set(map(tuple, frame.loc[marked, keys].to_numpy()))
        flagged = pd.Series([tuple(k) in bad for k in frame[keys].to_numpy()], index=frame.index, dtype=bool)
        self.flagged = frame[flagged]
        self.frame = frame[~flagged]
        self.refs = refs

    def speed_column(self, builtin: bool = False, network: str | None = None) -> str:
        resolver = None if builtin or self.runtime is None else self.runtime
        return col.speedup_vs_network(network, resolver) if network else col.speedup(resolver=resolver)

    def pairs(self):
        """(dataset, model, reference, rows) of the networks the survey measured (LeNet-300-100, LeNet-5)."""
        for (dataset, model), rows in self.frame.groupby(["dataset", "model"], sort=True):
            reference = self.refs.get(model)
            if reference in ("lenet300_100", "lenet5"):
                yield dataset, model, reference, rows

    def per_configuration(self, rows: pd.DataFrame, metric: str) -> pd.DataFrame:
        """One row per configuration: n, mean and interval of `metric` and of the accuracy change."""
        out = []
        for name, group in rows.groupby("configuration"):
            row = {"configuration": name, "technique": group["technique"].iloc[0]}
            for key, column in (("value", metric), ("change", "change"), ("builtin", col.SPEEDUP)):
                values = group[column] if column in group else pd.Series(dtype=float)
                row.update({f"{key}_{k}": v for k, v in interval(values).items()})
            out.append(row)
        return pd.DataFrame(out)

    def speed_note(self, rows: pd.DataFrame) -> str:
        return f"under {RUNTIME_NAME[self.runtime]}" + (
            "; sparse tensors run on the builtin kernels (XNNPACK declines them)"
            if self.runtime and rows["configuration"].str.contains("-sparse").any()
            else ""
        )


def part(row: pd.Series, key: str) -> dict:
    return {k: row[f"{key}_{k}"] for k in ("n", "mean", "sd", "ci_low", "ci_high")}


def best_within(table: pd.DataFrame, tolerance_pt: float) -> pd.Series | None:
    """The configuration with the highest mean value whose loss interval is within `tolerance_pt`
    (the upper end of the loss at most the tolerance); None if none is."""
    judged = table[table["value_mean"].notna() & table["change_ci_low"].notna()]
    judged = judged[-judged["change_ci_low"] <= tolerance_pt]
    return None if judged.empty else judged.loc[judged["value_mean"].idxmax()]


def nearest(table: pd.DataFrame, tolerance_pt: float) -> pd.Series | None:
    """When no interval is within the tolerance: the highest value among the configurations whose mean
    loss is (one seed, or an interval that reaches past the tolerance)."""
    close = table[table["value_mean"].notna() & (-table["change_mean"] <= tolerance_pt)]
    return None if close.empty else close.loc[close["value_mean"].idxmax()]


def near_miss(c: dict, dataset: str, model: str, survey: str, table: pd.DataFrame, tolerance: float, unit: str):
    """The row of a claim no file meets within the tolerance on its interval: the nearest file, if any."""
    close = nearest(table, tolerance) if len(table) else None
    if close is None:
        return row(c, dataset, model, survey, f"no file within {tolerance:g} pt", FAILS)
    measured = (
        f"none within {tolerance:g} pt on its interval; nearest {close['configuration']} "
        f"{fmt(part(close, 'value'), digits=1)}{unit}, accuracy {fmt(part(close, 'change'), ' pt')}"
    )
    return row(c, dataset, model, survey, measured, SINGLE if close["change_n"] < 2 else UNDECIDED)


def flagged_note(study: Study, dataset: str, model: str, mask) -> str:
    """'; N file(s) ... left out' for the flagged configurations among the candidates, or ''."""
    flagged = study.flagged[(study.flagged["dataset"] == dataset) & (study.flagged["model"] == model)]
    count = int(mask(flagged).sum()) if len(flagged) else 0
    if not count:
        return ""
    why = "runtimes disagree on them, or they fell far below their parent"
    return f"; {count} file(s) of flagged configurations left out ({why})"


def no_figure(conclusion: dict, dataset: str, model: str) -> dict:
    """The row of a per-pair conclusion the survey gave no figure for on this dataset or network."""
    return row(conclusion, dataset, model, "", f"the survey published no figure for {dataset} / {model}", NO_FIGURE)


def row(conclusion: dict, dataset: str, model: str, survey: str, measured: str, verdict: str) -> dict:
    return {
        "section": conclusion["section"],
        "claim": conclusion["text"],
        "source": conclusion["source"],
        "dataset": dataset,
        "model": model,
        "survey": survey,
        "measured here": measured,
        "verdict": verdict,
    }


# ----------------------------------------------------------------------------- quantization


def int8_files(study: Study, rows: pd.DataFrame) -> pd.DataFrame:
    return rows[rows["configuration"] == "baseline/tflite-int8"]


def int8_size(study: Study, c: dict, anchors: dict):
    low, high = c["range"]
    for dataset, model, _, rows in study.pairs():
        summary = interval(int8_files(study, rows)[col.FILE_RATIO])
        yield row(
            c, dataset, model, f"about 4x ({low:g}-{high:g}x)", f"{fmt(summary)} smaller", in_band(summary, low, high)
        )


def int8_accuracy(study: Study, c: dict, anchors: dict):
    tolerance = c["tolerance_pt"]
    for dataset, model, _, rows in study.pairs():
        files = int8_files(study, rows)
        summary = interval(files["parent_change"])
        measured = f"{fmt(summary, ' pt')} vs the Keras model, {RUNTIME_NAME[study.runtime]}"
        yield row(c, dataset, model, f"within +/-{tolerance:g} pt", measured, within_pt(summary, tolerance))


def int8_speed(study: Study, c: dict, anchors: dict):
    low, high = c["range"]
    for dataset, model, _, rows in study.pairs():
        files = int8_files(study, rows)
        summary = interval(files[study.speed_column()]) if study.speed_column() in files else interval([])
        builtin = interval(files[col.SPEEDUP]) if col.SPEEDUP in files else interval([])
        measured = f"{fmt(summary)} {study.speed_note(files)}; builtin kernels {fmt(builtin)}"
        yield row(c, dataset, model, f"{low:g}-{high:g}x", measured, at_least(summary, low))


# ----------------------------------------------------------------------------- distillation


def students(study: Study, dataset: str, mode: str) -> pd.DataFrame:
    """The distilled students' .tflite files of one mode (baseline > distill > tflite-MODE)."""
    f = study.frame
    return f[
        (f["dataset"] == dataset)
        & (f["technique"] == "distill>tflite")
        & f["configuration"].str.endswith(f"/tflite-{mode}")
        & f["student"].notna()
        & (f["student"] != "self")
    ]


def one_setting(files: pd.DataFrame) -> pd.DataFrame:
    """The student's files of the configuration with the most seeds (its speed does not depend on the
    temperature: one setting is timed, not all of them pooled as if they were seeds)."""
    if files.empty:
        return files
    counts = files["configuration"].value_counts()
    return files[files["configuration"] == counts.index[0]]


def student_files(study: Study, dataset: str, student: str, mode: str = "fp32") -> pd.DataFrame:
    """One student's files of one mode, at one distillation setting (one_setting)."""
    files = students(study, dataset, mode)
    return one_setting(files[files["student"] == student])


def networks(study: Study, dataset: str) -> dict:
    """{model: reference} of the surveyed networks in the study on `dataset`."""
    return {m: r for d, m, r, _ in study.pairs() if d == dataset}


def student_speed_vs(study: Study, files: pd.DataFrame, network: str, builtin: bool = False) -> dict:
    """A student's speed against a network's float32 .tflite: its own family's ratio when the network
    is its teacher, else the ratio the network's family timed side by side."""
    teacher = files["model"] == network
    column = study.speed_column(builtin=builtin, network=None if teacher.all() else network)
    return interval(files[column]) if column in files else interval([])


def student_speed(study: Study, c: dict, anchors: dict):
    for dataset in sorted(set(study.frame["dataset"])):
        claimed = c["speedup"].get(dataset, {})
        for student, reference in sorted(study.refs.items()):
            files = student_files(study, dataset, student)
            for network, net_ref in networks(study, dataset).items():
                figure = claimed.get(reference, {}).get(net_ref)
                if figure is None or files.empty:
                    continue
                summary = student_speed_vs(study, files, network)
                builtin = student_speed_vs(study, files, network, builtin=True)
                measured = (
                    f"{student} vs {network}: {fmt(summary)} {study.speed_note(files)}; builtin kernels {fmt(builtin)}"
                )
                verdict = at_least(summary, anchors["point_factor"] * figure)
                yield row(c, dataset, network, f"{figure:g}x ({reference.replace('_', ' ')})", measured, verdict)


def student_always_faster(study: Study, c: dict, anchors: dict):
    for dataset in sorted(set(study.frame["dataset"])):
        parts, verdicts = [], []
        for student in sorted(set(students(study, dataset, "fp32")["student"])):
            files = student_files(study, dataset, student)
            for network in networks(study, dataset):
                summary = student_speed_vs(study, files, network)
                size = network_fp32_bytes(study, dataset, network) / files["size_bytes"].mean()
                verdicts.append(at_least(summary, 1.0))
                parts.append(f"{student} vs {network}: {fmt(summary)} faster, {size:.1f}x smaller")
        if parts:
            measured = "; ".join(parts) + f" ({RUNTIME_NAME[study.runtime]})"
            yield row(c, dataset, "every network", "every student faster", measured, combine(verdicts))


def network_fp32_bytes(study: Study, dataset: str, network: str) -> float:
    f = study.frame
    files = f[(f["dataset"] == dataset) & (f["model"] == network) & (f["configuration"] == FP32_REFERENCE)]
    return float(files["size_bytes"].mean()) if len(files) else np.nan


def student_pairs(study: Study, dataset: str) -> list:
    """Per student: (student, its float32 files, its int8 files), paired by chain."""
    out = []
    fp32, int8 = students(study, dataset, "fp32"), students(study, dataset, "int8")
    for student in sorted(set(fp32["student"]) & set(int8["student"])):
        out.append((student, fp32[fp32["student"] == student], int8[int8["student"] == student]))
    return out


def student_int8_size(study: Study, c: dict, anchors: dict):
    low, high = c["range"]
    for dataset in sorted(set(study.frame["dataset"])):
        for student, fp32, int8 in student_pairs(study, dataset):
            size = fp32.set_index(fp32["chain"].str.rsplit("/", n=1).str[0])["size_bytes"]
            quantized = int8.set_index(int8["chain"].str.rsplit("/", n=1).str[0])["size_bytes"]
            shared = size.index.intersection(quantized.index)
            summary = interval((size[shared] / quantized[shared]).to_numpy())
            yield row(c, dataset, student, f"{low:g}-{high:g}x", f"{fmt(summary)} smaller", in_band(summary, low, high))


def student_size(study: Study, c: dict, anchors: dict):
    for dataset in sorted(set(study.frame["dataset"])):
        claimed = c["ratio"].get(dataset, {})
        for student, fp32, _ in student_pairs(study, dataset):
            for network, reference in networks(study, dataset).items():
                if reference not in claimed:
                    continue
                summary = interval(network_fp32_bytes(study, dataset, network) / fp32["size_bytes"])
                verdict = at_least(summary, anchors["point_factor"] * claimed[reference])
                yield row(
                    c, dataset, network, f"{claimed[reference]:g}x", f"{student}: {fmt(summary, digits=1)}", verdict
                )


def student_int8_accuracy(study: Study, c: dict, anchors: dict):
    tolerance = c["tolerance_pt"]
    for dataset in sorted(set(study.frame["dataset"])):
        for student, _, int8 in student_pairs(study, dataset):
            summary = interval(int8["parent_change"])
            measured = f"{fmt(summary, ' pt')} vs the float32 student ({RUNTIME_NAME[study.runtime]})"
            yield row(c, dataset, student, f"within +/-{tolerance:g} pt", measured, within_pt(summary, tolerance))


def student_int8_speed(study: Study, c: dict, anchors: dict):
    low, high = c["range"]
    for dataset in sorted(set(study.frame["dataset"])):
        for student, _, int8 in student_pairs(study, dataset):
            files = one_setting(int8)
            for network in networks(study, dataset):
                summary = student_speed_vs(study, files, network)
                builtin = student_speed_vs(study, files, network, builtin=True)
                measured = (
                    f"{student} int8 vs {network} float32: {fmt(summary)} {study.speed_note(files)}; "
                    f"builtin kernels {fmt(builtin)}"
                )
                yield row(c, dataset, network, f"{low:g}-{high:g}x", measured, at_least(summary, low))


def distill_gain(study: Study, c: dict, anchors: dict):
    for item in distillation_rows(study.frame, c):
        text, verdict = item["measured here"].rsplit(": ", 1)
        yield row(c, item["dataset"], item["model"], "146 -> 74 test errors (MNIST)", text, verdict)


def distillation_rows(frame: pd.DataFrame, claim: dict) -> list:
    """The best distilled student (by mean over student seeds) against its from-scratch control,
    paired by seed: a paired t-test, its p-value and effect size, and a verdict on the interval."""
    rows = []
    distilled = frame[(frame["technique"] == "distill") & (frame["student"] != "self")]
    for (dataset, teacher, student), group in distilled.groupby(["dataset", "model", "student"]):
        settings = group.groupby(["temperature", "alpha"])["accuracy"].mean()
        temperature, alpha = settings.idxmax()
        chosen = group[(group["temperature"] == temperature) & (group["alpha"] == alpha)]
        # The pairs are student seeds (one from-scratch control each); a student seed distilled from
        # several teacher seeds counts once, at its mean over them.
        best = chosen.groupby("distill_seed")["accuracy"].mean()
        teachers = chosen["seed"].nunique()
        controls = frame[
            (frame["dataset"] == dataset) & (frame["model"] == student) & (frame["technique"] == "baseline")
        ].set_index("seed")["accuracy"]
        seeds = sorted(set(best.index) & set(controls.index))
        if not seeds:
            continue
        test = stats.paired_test(best.loc[seeds] * 100, controls.loc[seeds] * 100)
        if pd.isna(test["ci_low"]):
            verdict = SINGLE
        else:  # a gain shown, a loss shown, or neither
            verdict = HOLDS if test["ci_low"] > 0 else FAILS if test["ci_high"] < 0 else UNDECIDED
        interval = "" if pd.isna(test["ci_low"]) else f" [{test['ci_low']:+.2f}, {test['ci_high']:+.2f}]"
        test_text = (
            "" if pd.isna(test["p_value"]) else f", p = {test['p_value']:.3g}, d_z = {test['effect_size_dz']:.2f}"
        )
        rows.append(
            {
                "dataset": dataset,
                "model": teacher,
                "claim": claim["text"],
                "source": claim["source"],
                "measured here": f"{student} at T={temperature:g}, alpha={alpha:g} (best of {len(settings)} by mean"
                f"{f', each student seed over {teachers} teacher seeds' if teachers > 1 else ''}): "
                f"{best.loc[seeds].mean() * 100:.2f} % vs {controls.loc[seeds].mean() * 100:.2f} % "
                f"from scratch; paired gain {test['mean_diff']:+.2f} pt{interval} (n = {test['n']}){test_text}: "
                f"{verdict}",
            }
        )
    return rows


# ----------------------------------------------------------------------------- pruning


def is_pruned_file(technique: str) -> bool:
    kinds = technique.split(">")
    return bool({"prune", "structured"} & set(kinds)) and kinds[-1] in ("tflite", "lq") and "distill" not in kinds


def pruning_speed(study: Study, c: dict, anchors: dict):
    speed = anchors["claims"]["pruning_speed"]["speedup"]
    tolerance = anchors["claims"]["pruning"]["tolerance_pt"]
    for dataset, model, reference, rows in study.pairs():
        if reference not in speed or dataset not in tolerance:
            yield no_figure(c, dataset, model)
            continue
        low, high = speed[reference]
        files = rows[rows["technique"].isin(["prune>tflite", "structured>tflite"])]
        yield speed_row(study, c, dataset, model, files, (low, high), tolerance[dataset])


def speed_row(study: Study, c: dict, dataset: str, model: str, files: pd.DataFrame, band: tuple, tolerance: float):
    """The fastest file within the tolerance against a claimed speed band, and which files fall in it."""
    low, high = band
    survey = f"{low:g}-{high:g}x" if low != high else f"about {low:g}x"
    table = study.per_configuration(files, study.speed_column()) if len(files) else pd.DataFrame()
    best = best_within(table, tolerance) if len(table) else None
    flagged = flagged_note(study, dataset, model, lambda f: f["technique"].isin(set(files["technique"])))
    if best is None:
        item = near_miss(c, dataset, model, survey, table, tolerance, " faster")
        item["measured here"] += flagged
        return item
    judged = table[table["change_ci_low"].notna() & (-table["change_ci_low"] <= tolerance)]
    inside = judged[(judged["value_mean"] >= low) & (judged["value_mean"] <= high)]["configuration"]
    measured = (
        f"fastest within {tolerance:g} pt: {best['configuration']} {fmt(part(best, 'value'))} "
        f"{study.speed_note(files[files['configuration'] == best['configuration']])}, accuracy "
        f"{fmt(part(best, 'change'), ' pt')}; builtin kernels {fmt(part(best, 'builtin'))}; in the band: "
        f"{', '.join(inside) if len(inside) else 'none'}{flagged}"
    )
    return row(c, dataset, model, survey, measured, at_least(part(best, "value"), low))


def pruning_flattens(study: Study, c: dict, anchors: dict):
    """Per pair: the speed the last sparsity step still buys, per seed, on the unstructured (and block)
    files of one mode; 'flattens' holds when it stays below `flat_gain`."""
    for dataset, model, _, rows in study.pairs():
        pruned = rows[(rows["technique"] == "prune>tflite") & rows[step_column("prune", "sparsity")].notna()]
        series = []
        for (structure, mode), group in pruned.groupby([step_column("prune", "structure"), TFLITE_MODE]):
            speed = group.pivot_table(
                index="seed", columns=step_column("prune", "sparsity"), values=study.speed_column()
            )
            levels = sorted(speed.columns)
            if len(levels) < 2:
                continue
            gains = (speed[levels[-1]] / speed[levels[-2]]).dropna()
            steps = ", ".join(f"{s:.0%}: {speed[s].mean():.2f}x" for s in levels)
            series.append((structure, mode, interval(gains), steps, group))
        if not series:
            yield row(
                c,
                dataset,
                model,
                "flattens",
                "one sparsity level per file type in this run (the curve: frontier.yaml)",
                "not measured here",
            )
            continue
        parts = [
            f"{structure} {mode}: {steps}; last step {fmt(gain)} {study.speed_note(group)}"
            for structure, mode, gain, steps, group in series
        ]
        verdicts = [flat(gain, c["flat_gain"]) for _, _, gain, _, _ in series]
        yield row(c, dataset, model, "flattens", "; ".join(parts), combine(verdicts))


def flat(gain: dict, limit: float) -> str:
    """'The last step buys less than `limit`x' from the interval of the per-seed gains."""
    if gain["n"] < 2:
        return SINGLE
    if gain["ci_high"] < limit:
        return HOLDS
    return FAILS if gain["ci_low"] >= limit else UNDECIDED


def size_row(study: Study, c: dict, dataset: str, model: str, files: pd.DataFrame, target: float, tolerance: float):
    table = study.per_configuration(files, col.GZIP_RATIO) if len(files) else pd.DataFrame()
    best = best_within(table, tolerance) if len(table) else None
    survey = f"{target:g}x within {tolerance:g} pt"
    if best is None:
        return near_miss(c, dataset, model, survey, table, tolerance, " smaller")
    measured = (
        f"{best['configuration']}: {fmt(part(best, 'value'), digits=1)} smaller (gzip), accuracy "
        f"{fmt(part(best, 'change'), ' pt')}"
    )
    return row(c, dataset, model, survey, measured, at_least(part(best, "value"), target))


def pruning_size(study: Study, c: dict, anchors: dict):
    claim = anchors["claims"]["pruning"]
    for dataset, model, reference, rows in study.pairs():
        if dataset not in claim["tolerance_pt"] or reference not in claim["ratio"]:
            yield no_figure(c, dataset, model)
            continue
        files = rows[rows["technique"] == "prune>tflite"]
        yield size_row(study, c, dataset, model, files, claim["ratio"][reference], claim["tolerance_pt"][dataset])


def orthogonal(study: Study, c: dict, anchors: dict):
    """The int8 step's own loss (against its parent) on pruned parents against the unpruned parent."""
    tolerance = c["tolerance_pt"]
    for dataset, model, _, rows in study.pairs():
        unpruned = interval(int8_files(study, rows)["parent_change"])
        pruned = rows[(rows["technique"] == "prune>tflite") & rows[TFLITE_MODE].astype(str).str.startswith("int8")]
        parts, verdicts = [], []
        for sparsity, group in pruned.groupby(step_column("prune", "sparsity")):
            summary = interval(group["parent_change"])
            parts.append(f"{sparsity:.0%}: {fmt(summary, ' pt')}")
            verdicts.append(at_least(summary, unpruned["mean"] - tolerance))
        if not parts or pd.isna(unpruned["mean"]):
            yield row(c, dataset, model, "no growth", "no int8 file of a pruned model in this run", "not measured here")
            continue
        measured = f"int8 step's change vs its parent, unpruned {fmt(unpruned, ' pt')}; pruned " + "; ".join(parts)
        yield row(c, dataset, model, f"no growth beyond {tolerance:g} pt", measured, combine(verdicts))


def prune_quantize_speed(study: Study, c: dict, anchors: dict):
    tolerance = anchors["claims"]["prune_quantize"]["target"]
    for dataset, model, reference, rows in study.pairs():
        band = c["range"].get(dataset, {}).get(reference)
        target = tolerance.get(dataset, {}).get(reference)
        if band is None or target is None:
            yield no_figure(c, dataset, model)
            continue
        files = rows[rows["technique"].map(is_pruned_file) & ~rows["configuration"].str.contains("tflite-fp(?:32|16)")]
        yield speed_row(study, c, dataset, model, files, tuple(band), target[1])


def prune_quantize_size(study: Study, c: dict, anchors: dict):
    targets = anchors["claims"]["prune_quantize"]["target"]
    for dataset, model, reference, rows in study.pairs():
        if reference not in targets.get(dataset, {}):
            yield no_figure(c, dataset, model)
            continue
        target, tolerance = targets[dataset][reference]
        files = rows[rows["technique"].map(is_pruned_file)]
        yield size_row(study, c, dataset, model, files, target, tolerance)


def deep_compression(study: Study, c: dict, anchors: dict):
    deep = anchors["claims"]["deep_compression"]
    for dataset, model, reference, rows in study.pairs():
        text = deep["text"].get(dataset, {}).get(reference)
        if text is None:
            continue
        files = rows[rows["technique"] == "prune>cluster>tflite"]
        item = size_row(study, c, dataset, model, files, deep["ratio"][reference], deep["tolerance_pt"])
        item["survey"] = f"{text} (within {deep['tolerance_pt']:g} pt)"
        yield item


def final(study: Study, c: dict, anchors: dict):
    tolerance = c["tolerance_pt"]
    for dataset, model, _, rows in study.pairs():
        files = rows[rows["configuration"] != FP32_REFERENCE]
        speed = best_within(study.per_configuration(files, study.speed_column()), tolerance)
        size = best_within(study.per_configuration(files, col.GZIP_RATIO), tolerance)
        if speed is None or size is None:
            yield row(c, dataset, model, "2-12x, 4-40x", f"no file within {tolerance:g} pt", FAILS)
            continue
        measured = (
            f"fastest {speed['configuration']} {fmt(part(speed, 'value'))} ({RUNTIME_NAME[study.runtime]}); "
            f"smallest {size['configuration']} {fmt(part(size, 'value'), digits=1)}"
        )
        verdict = combine([at_least(part(speed, "value"), c["speed"][0]), at_least(part(size, "value"), c["size"][0])])
        yield row(
            c,
            dataset,
            model,
            f"{c['speed'][0]:g}-{c['speed'][1]:g}x, {c['size'][0]:g}-{c['size'][1]:g}x",
            measured,
            verdict,
        )


JUDGES = {
    f.__name__: f
    for f in (
        int8_size,
        int8_accuracy,
        int8_speed,
        distill_gain,
        student_always_faster,
        student_speed,
        pruning_flattens,
        pruning_speed,
        pruning_size,
        orthogonal,
        prune_quantize_speed,
        prune_quantize_size,
        deep_compression,
        student_int8_size,
        student_size,
        student_int8_accuracy,
        student_int8_speed,
        final,
    )
}


def claims_table(frame: pd.DataFrame, anchors: dict, refs: dict) -> pd.DataFrame:
    """Every conclusion of anchors.yaml judged on the study: one row per conclusion and pair (or
    student), in the order of the file; a conclusion this study has no file for gets one row that
    says so."""
    return judge(Study(frame, refs), anchors)


def judge(study: Study, anchors: dict) -> pd.DataFrame:
    """claims_table on a prepared study (the report prepares it once for every table)."""
    rows = []
    for conclusion in anchors["conclusions"]:
        judged = list(JUDGES[conclusion["kind"]](study, conclusion, anchors))
        rows.extend(judged or [row(conclusion, "", "", "", "no file of this kind in this run", "not measured here")])
    return pd.DataFrame(rows, columns=COLUMNS)


def verdict_counts(table: pd.DataFrame) -> dict:
    """How many rows hold, do not hold, and are not decided or not measured."""
    counts = table["verdict"].value_counts()
    return {
        "holds": int(counts.get(HOLDS, 0)),
        "fails": int(counts.get(FAILS, 0)),
        "open": int(len(table) - counts.get(HOLDS, 0) - counts.get(FAILS, 0)),
    }


def verdicts_by_claim(table: pd.DataFrame) -> dict:
    """{'confirmed' | 'contradicted' | 'mixed' | 'open': [sentence]}: each conclusion's rows summed
    up, in the table's order: confirmed when every row holds, contradicted when every row does not,
    open when no row is decided (undecided, one seed, not measured here), mixed otherwise."""
    out = {"confirmed": [], "contradicted": [], "mixed": [], "open": []}
    for claim, rows in table.groupby("claim", sort=False):
        holds = int((rows["verdict"] == HOLDS).sum())
        fails = int((rows["verdict"] == FAILS).sum())
        other = len(rows) - holds - fails
        tail = f" ({holds} of {len(rows)} rows hold, {fails} do not" + (f", {other} open)" if other else ")")
        if holds + fails == 0:
            key = "open"
        elif other == 0 and (holds == 0 or fails == 0):
            key = "confirmed" if fails == 0 else "contradicted"
        else:
            key = "mixed"
        out[key].append(claim + tail)
    return out


def frontier_table(frame: pd.DataFrame, anchors: dict, refs: dict) -> pd.DataFrame:
    """The compression frontier per pair: the smallest file within the target's tolerance on its
    interval, its loss, n, the target and the verdict (anchors.yaml `frontier`)."""
    return frontier(Study(frame, refs), anchors)


def frontier(study: Study, anchors: dict) -> pd.DataFrame:
    """frontier_table on a prepared study."""
    rows = []
    for dataset, model, reference, files in study.pairs():
        target = anchors["frontier"].get(dataset, {}).get(reference)
        if target is None:
            continue
        ratio, tolerance = target
        table = study.per_configuration(files[files["configuration"] != FP32_REFERENCE], col.GZIP_RATIO)
        best = best_within(table, tolerance)
        close = best if best is not None else nearest(table, tolerance)
        item = {"dataset": dataset, "model": model, "target": f"{ratio:g}x within {tolerance:g} pt"}
        if close is None:
            rows.append({**item, "best file": "", "x smaller (gzip)": "", "accuracy change": "", "verdict": FAILS})
            continue
        verdict = (
            at_least(part(close, "value"), ratio)
            if best is not None
            else SINGLE
            if close["change_n"] < 2
            else UNDECIDED
        )
        rows.append(
            {
                **item,
                "best file": close["configuration"],
                "x smaller (gzip)": fmt(part(close, "value"), digits=1),
                "accuracy change": fmt(part(close, "change"), " pt"),
                "verdict": verdict,
            }
        )
    return pd.DataFrame(rows)
