"""The final report: one self-contained HTML page (figures embedded as base64), readable offline.
Every number on it comes from results/summary.csv or a record in results/."""

from __future__ import annotations

import base64
import html as _html
from pathlib import Path

import pandas as pd
import yaml

from . import columns as col
from . import stats
from .io import atomic_path
from .stats import stat_column

COST_SECTION = "Cost of the study"
SECTIONS = [
    ("Quantization", ["ptq_modes", "bits"]),
    ("Pruning", ["pruning", "prune_quantize"]),
    ("Distillation", ["distill_temperature", "distill_sizes"]),
    ("Benchmarks", ["speedups"]),
    ("Overview: Pareto fronts", ["pareto"]),
    (COST_SECTION, []),
]
COST_NOTE = (
    "CPU-seconds, wall seconds and peak RSS per stage and per rule, from Snakemake's benchmark file of "
    "every job; start-up share: CPU spent before a job's real work (interpreter, imports, TensorFlow, "
    "data and model loading), measured inside the jobs. The scheduler row is Snakemake's own process."
)

SUMMARY_COLUMNS = [
    "dataset",
    "model",
    "seed",
    "chain",
    "format",
    "accuracy",
    col.ACCURACY_CHANGE,
    "params",
    "nonzero_params",
    "size_bytes",
    "gzip_bytes",
    col.GZIP_RATIO,
    col.LATENCY,
    col.SPEEDUP,
    "flagged",
]

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;padding:0 1em}
h1,h2{border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;font-size:12px;margin:1em 0}
th,td{border:1px solid #ccc;padding:3px 6px;text-align:right}
th{background:#f3f3f3}
td.l,th.l{text-align:left}
img{max-width:100%;border:1px solid #eee}
.flag{color:#b00}
.note{color:#555;font-size:13px}
details{margin:1em 0}
pre{background:#f7f7f7;padding:1em;overflow:auto;font-size:12px}
"""


def embed_png(path) -> str:
    data = base64.b64encode(Path(path).read_bytes()).decode()
    return f'<img alt="{_html.escape(Path(path).stem)}" src="data:image/png;base64,{data}">'


def fmt(value, digits=4) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return _html.escape(str(value))


def table(
    frame: pd.DataFrame,
    left=(
        "dataset",
        "model",
        "chain",
        "claim",
        "source",
        "measured here",
        "artefact",
        "stage",
        "rule",
        "configuration",
    ),
) -> str:
    head = "".join(f'<th class="{"l" if c in left else ""}">{_html.escape(str(c))}</th>' for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = "".join(f'<td class="{"l" if c in left else ""}">{fmt(row[c])}</td>' for c in frame.columns)
        rows.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


# ----------------------------------------------------------------------------- anchors


def load_anchors(path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def references(config: dict) -> dict:
    """Configured architecture name -> the published network it reproduces (None if it is none)."""
    return {name: spec.get("reference") for name, spec in config["architectures"].items()}


RATIO = col.GZIP_RATIO
VERDICT = {True: "holds", False: "does not hold", None: "not judged (n = 1)"}


def stat_text(row, metric: str, scale: float = 1.0, digits: int = 2, unit: str = "") -> str:
    """'mean [95 % interval] (n = k)' of a metric of an over-seeds row; no interval for one seed."""
    n, mean = int(row[stat_column(metric, "n")]), row[stat_column(metric, "mean")] * scale
    low, high = row[stat_column(metric, "ci_low")], row[stat_column(metric, "ci_high")]
    if pd.isna(low):
        return f"{mean:.{digits}f}{unit} (n = {n})"
    low, high = sorted((low * scale, high * scale))
    return f"{mean:.{digits}f}{unit} [{low:.{digits}f}, {high:.{digits}f}] (n = {n})"


def best_within(table: pd.DataFrame, mask, tolerance_pt: float):
    """(best, verdict): the highest mean ratio among the configurations whose paired loss interval is
    within tolerance (verdict True); else among those with one seed whose loss is (None: not judged);
    else among those whose mean loss is within but whose interval is not (False); else (None, False)."""
    ratio = stat_column(RATIO, "mean")
    pool = table[mask & table[ratio].notna()]
    if pool.empty:
        return None, False
    verdicts = pool.apply(lambda row: stats.within(row, tolerance_pt), axis=1)
    for verdict in (True, None, False):
        candidates = pool[verdicts.map(lambda v, want=verdict: v is want)]
        if verdict is not True:  # judged on the mean only, and said so
            candidates = candidates[candidates[stat_column(col.ACCURACY_CHANGE, "mean")] >= -tolerance_pt]
        if len(candidates):
            return candidates.loc[candidates[ratio].idxmax()], verdict
    return None, False


def describe(best, verdict, tolerance_pt: float, target: float | None = None) -> str:
    if best is None:
        return f"no configuration is within {tolerance_pt:g} pt of its baseline: does not hold"
    meets_target = target is None or best[stat_column(RATIO, "mean")] >= target
    holds = verdict if verdict is None else bool(verdict and meets_target)
    return (
        f"{stat_text(best, RATIO, digits=1, unit='x')} ({best['configuration']}), accuracy change "
        f"{stat_text(best, col.ACCURACY_CHANGE, unit=' pt')}: {VERDICT[holds]}"
    )


def config_row(table: pd.DataFrame, configuration: str):
    rows = table[table["configuration"] == configuration]
    return None if rows.empty else rows.iloc[0]


def int8_row(table: pd.DataFrame, tolerance_pt: float) -> str | None:
    int8 = config_row(table, "baseline/tflite-int8")
    if int8 is None:
        return None
    low, high = int8[stat_column(col.PARENT_CHANGE, "ci_low")], int8[stat_column(col.PARENT_CHANGE, "ci_high")]
    holds = None if pd.isna(low) else bool(max(abs(low), abs(high)) <= tolerance_pt)
    text = (
        f"{stat_text(int8, col.FILE_RATIO, unit='x')} smaller; accuracy change vs the Keras model "
        f"{stat_text(int8, col.PARENT_CHANGE, unit=' pt')}: within +/-{tolerance_pt:g} pt {VERDICT[holds]}"
    )
    for column, label in ((col.SPEEDUP, "batch-1 speed"), (col.SPEEDUP_XNNPACK, "with XNNPACK")):
        if pd.notna(int8.get(stat_column(column, "mean"))):
            text += f"; {label} {stat_text(int8, column, unit='x')}"
    return text


def distill_speed_row(table: pd.DataFrame) -> str | None:
    mean = stat_column(col.SPEEDUP, "mean")
    if mean not in table:
        return None
    dq = table[(table["technique"] == "distill>tflite") & table[mean].notna()]
    if dq.empty:
        return None
    best = dq.loc[dq[mean].idxmax()]
    return (
        f"{stat_text(best, col.SPEEDUP, digits=1, unit='x')} vs the teacher's fp32 .tflite ({best['configuration']}), "
        f"accuracy {stat_text(best, 'accuracy', scale=100, unit=' %')}"
    )


def pair_anchors(dataset: str, model: str, reference: str, table: pd.DataFrame, anchors: dict) -> list:
    """(claim, source, measured here) for one dataset x architecture reproducing a published network,
    from its over-seeds table: every number with its interval, every claim judged on it."""
    claims = anchors["claims"]
    t = table["technique"]
    rows = [(claims["int8"]["text"], claims["int8"]["source"], int8_row(table, claims["int8"]["tolerance_pt"]))]
    pruning = claims["pruning"]
    tolerance = pruning["tolerance_pt"][dataset]
    rows.append(
        (
            f"pruning {pruning['ratio'][reference]}x smaller within {tolerance:g} pt (MNIST figure)",
            pruning["source"],
            describe(*best_within(table, t == "prune>tflite", tolerance), tolerance, pruning["ratio"][reference]),
        )
    )
    target, tolerance = claims["prune_quantize"]["target"][dataset][reference]
    combined = t.str.contains("prune") & (t.str.endswith("tflite") | t.str.endswith("qat"))
    rows.append(
        (
            f"prune -> quantize {target}x smaller (best within {tolerance:g} pt)",
            claims["prune_quantize"]["source"],
            describe(*best_within(table, combined, tolerance), tolerance, target),
        )
    )
    deep = claims["deep_compression"]
    if reference in deep["text"].get(dataset, {}):
        tolerance = deep["tolerance_pt"]
        rows.append(
            (
                f"Deep Compression {deep['text'][dataset][reference]}",
                deep["source"],
                describe(
                    *best_within(table, t == "prune>cluster>tflite", tolerance), tolerance, deep["ratio"][reference]
                ),
            )
        )
    rows.append((claims["distill_quantize"]["text"], claims["distill_quantize"]["source"], distill_speed_row(table)))
    return [
        {"dataset": dataset, "model": model, "claim": claim, "source": source, "measured here": measured}
        for claim, source, measured in rows
        if measured is not None
    ]


def anchors_table(frame: pd.DataFrame, anchors: dict, refs: dict) -> pd.DataFrame:
    """Our numbers beside the survey's conclusions and the published anchors (report/anchors.yaml)."""
    rows = []
    for (dataset, model), group in frame.groupby(["dataset", "model"]):
        if refs.get(model):
            rows.extend(pair_anchors(dataset, model, refs[model], stats.over_seeds(group), anchors))
    rows.extend(distillation_rows(frame, anchors["claims"]["distillation"]))
    return pd.DataFrame(rows, columns=["dataset", "model", "claim", "source", "measured here"])


def distillation_rows(frame: pd.DataFrame, claim: dict) -> list:
    """The best distilled student (by mean over student seeds) against its from-scratch control,
    paired by seed: a paired t-test, its p-value and effect size, and a verdict on the interval."""
    rows = []
    distilled = frame[(frame["technique"] == "distill") & (frame["student"] != "self")]
    for (dataset, teacher, student), group in distilled.groupby(["dataset", "model", "student"]):
        settings = group.groupby(["temperature", "alpha"])["accuracy"].mean()
        temperature, alpha = settings.idxmax()
        best = group[(group["temperature"] == temperature) & (group["alpha"] == alpha)].set_index("distill_seed")
        controls = frame[
            (frame["dataset"] == dataset) & (frame["model"] == student) & (frame["technique"] == "baseline")
        ].set_index("seed")["accuracy"]
        seeds = sorted(set(best.index) & set(controls.index))
        if not seeds:
            continue
        test = stats.paired_test(best.loc[seeds, "accuracy"] * 100, controls.loc[seeds] * 100)
        verdict = (
            VERDICT[None]
            if pd.isna(test["ci_low"])
            else "beats its control"
            if test["ci_low"] > 0
            else "does not beat its control"
        )
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
                "measured here": f"{student} at T={temperature:g}, alpha={alpha:g} (best of {len(settings)} by mean): "
                f"{best.loc[seeds, 'accuracy'].mean() * 100:.2f} % vs {controls.loc[seeds].mean() * 100:.2f} % "
                f"from scratch; paired gain {test['mean_diff']:+.2f} pt{interval} (n = {test['n']}){test_text}: "
                f"{verdict}",
            }
        )
    return rows


SEED_COLUMNS = ["dataset", "model", "configuration", "n"] + [
    stat_column(metric, stat)
    for metric in (col.ACCURACY_CHANGE, RATIO, col.SPEEDUP)
    for stat in ("mean", "ci_low", "ci_high")
]


def seeds_section(table: pd.DataFrame) -> str:
    """The configurations run with several seeds (mean and 95 % interval); the rest counted as n = 1."""
    repeated = table[table["n"] >= 2]
    single = table[table["n"] < 2]
    note = (
        f"<p class='note'>{len(repeated)} configurations ran with several seeds: n, mean and 95 % Student-t "
        f"interval of the accuracy change against the same seed's baseline (paired), the gzip compression "
        f"and the batch-1 speedup. {len(single)} configurations ran with one seed (n = 1): their numbers have "
        "no interval and no claim is judged on them. Every configuration: results/summary_over_seeds.csv.</p>"
    )
    return note + (table_of(repeated[[c for c in SEED_COLUMNS if c in repeated]]) if len(repeated) else "")


SHORT_NAMES = {
    RATIO: "gzip_ratio",
    col.SPEEDUP: "speedup_b1",
    col.ACCURACY_CHANGE: "change_pt",
}


def table_of(frame: pd.DataFrame) -> str:
    """A table with the long metric names of the over-seeds columns shortened for the page."""

    def short(column: str) -> str:
        for long, name in SHORT_NAMES.items():
            column = column.replace(long, name)
        return column

    return table(frame.rename(columns=short))


def bullets(items, css: str = "") -> str:
    """(term, text) pairs as a list."""
    lis = "".join(f"<li><b>{_html.escape(str(k))}:</b> {_html.escape(str(v))}</li>" for k, v in items)
    return f"<ul class='{css}'>{lis}</ul>"


def glossary() -> str:
    """What each computed column of results/summary.csv means."""
    summary = "<summary>computed columns of summary.csv</summary>"
    return f"<details class='note'>{summary}{bullets(col.DECLARED.items())}</details>"


def sources_list(anchors: dict) -> str:
    return "<p class='note'>Sources:</p>" + bullets(anchors["sources"].items(), "note")


# ----------------------------------------------------------------------------- page


def provenance(frame: pd.DataFrame, gpu: dict, config: dict) -> str:
    hosts = ", ".join(sorted(set(frame["host"].dropna().astype(str)))) if "host" in frame else ""
    versions = gpu.get("provenance", {}).get("versions", {})
    cpu = gpu.get("provenance", {}).get("cpu", "")
    gpu_line = gpu.get("gpu") or gpu.get("status", "no GPU on the machine that ran this")
    items = [
        ("hosts that produced the records", hosts),
        ("CPU (benchmark host)", cpu),
        ("GPU", gpu_line),
        ("versions", ", ".join(f"{k} {v}" for k, v in versions.items())),
    ]
    config_text = _html.escape(yaml.safe_dump(config, sort_keys=False))
    return f"{bullets(items)}<details><summary>configuration</summary><pre>{config_text}</pre></details>"


def gpu_section(gpu: dict) -> str:
    if not gpu.get("gpu"):
        status = _html.escape(gpu.get("status", "no GPU on the machine that ran this"))
        return f"<p><b>{status}.</b> No GPU numbers are shown.</p>"
    rows = []
    for model in gpu["models"]:
        for r in model["results"]:
            rows.append(
                {
                    "dataset": model["dataset"],
                    "model": model["architecture"],
                    "chain": model["chain"],
                    "precision": r["precision"],
                    "batch": r["batch"],
                    "median_us": r["median_us"],
                    "p10_us": r["p10_us"],
                    "p90_us": r["p90_us"],
                    "throughput_sps": r["throughput_sps"],
                }
            )
    return f"<p>GPU: <b>{_html.escape(gpu['gpu'])}</b> (Keras models through tf.function).</p>" + table(
        pd.DataFrame(rows)
    )


def render(
    frame: pd.DataFrame, figures: dict, gpu: dict, config: dict, anchors: dict, tables: dict | None = None
) -> str:
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'><title>DNN compression study</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>DNN compression study: pruning, quantization, distillation</h1>",
        f"<p class='note'>{len(frame)} artefacts; each evaluated as the artefact itself (.tflite through LiteRT). "
        "Sizes in bytes; 'gzip' is what a user ships compressed. Full table: results/summary.csv.</p>",
        "<h2>Our numbers beside the survey and the published anchors</h2>",
        table(anchors_table(frame, anchors, references(config))),
        sources_list(anchors),
        "<h2>Configurations over seeds</h2>",
        seeds_section(stats.over_seeds(frame)),
    ]
    flagged = frame[frame["flagged"].astype(bool)]
    parts.append("<h2>Flagged artefacts</h2>")
    parts.append(
        table(flagged[["dataset", "model", "chain", "accuracy", "flag_reason"]])
        if len(flagged)
        else "<p>None: no artefact fell more than the configured margin below its parent.</p>"
    )
    for title, names in SECTIONS:
        parts.append(f"<h2>{_html.escape(title)}</h2>")
        parts.extend(f"<figure>{embed_png(figures[n])}</figure>" for n in names if n in figures)
        if title == COST_SECTION:
            parts.append(f"<p class='note'>{_html.escape(COST_NOTE)}</p>")
        parts.extend(table(frame_) for frame_ in (tables or {}).get(title, []))
        if title == "Benchmarks":
            parts.append("<h3>GPU</h3>" + gpu_section(gpu))
    columns = [c for c in SUMMARY_COLUMNS if c in frame]
    parts.append("<h2>Summary of every artefact</h2>" + table(frame[columns]) + glossary())
    parts.append("<h2>Provenance</h2>" + provenance(frame, gpu, config))
    parts.append("</body></html>")
    return "\n".join(parts)


def write(page: str, path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(page)
