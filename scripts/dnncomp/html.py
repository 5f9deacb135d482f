"""The final report: one self-contained HTML page (figures embedded as base64), readable offline.
Every number on it comes from results/summary.csv or a record in results/."""
from __future__ import annotations

import base64
import html as _html
from pathlib import Path

import pandas as pd
import yaml

from .io import atomic_path

COST_SECTION = "Cost of the study"
SECTIONS = [
    ("Quantization", ["ptq_modes", "bits"]),
    ("Pruning", ["pruning", "prune_quantize"]),
    ("Distillation", ["distill_temperature", "distill_sizes"]),
    ("Benchmarks", ["speedups"]),
    ("Overview: Pareto fronts", ["pareto"]),
    (COST_SECTION, []),
]
COST_NOTE = ("CPU-seconds, wall seconds and peak RSS per stage and per rule, from Snakemake's benchmark file of "
             "every job; start-up share: CPU spent before a job's real work (interpreter, imports, TensorFlow, "
             "data and model loading), measured inside the jobs. The scheduler row is Snakemake's own process.")

SUMMARY_COLUMNS = ["dataset", "model", "seed", "chain", "format", "accuracy", "accuracy_vs_baseline_pt", "params",
                   "nonzero_params", "size_bytes", "gzip_bytes", "gzip_compression_vs_fp32_gzip",
                   "latency_b1_t1_us", "speedup_b1_t1_vs_fp32_tflite", "flagged"]

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


def table(frame: pd.DataFrame, left=("dataset", "model", "chain", "claim", "source", "measured here", "artefact",
                                    "stage", "rule")) -> str:
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


def best_within(frame: pd.DataFrame, mask, tolerance_pt: float, ratio: str = "gzip_compression_vs_fp32_gzip"):
    """The artefact with the highest `ratio` among those within tolerance of their baseline."""
    pool = frame[mask & (frame["accuracy_vs_baseline_pt"] >= -tolerance_pt) & frame[ratio].notna()]
    return None if pool.empty else pool.loc[pool[ratio].idxmax()]


def describe(row, ratio: str) -> str:
    if row is None:
        return "no artefact in this run meets the accuracy tolerance"
    return (f"{row[ratio]:.1f}x ({row['chain']}), accuracy {row['accuracy'] * 100:.2f} % "
            f"({row['accuracy_vs_baseline_pt']:+.2f} pt)")


def int8_row(group: pd.DataFrame) -> str | None:
    t = group["technique"]
    int8 = group[(t == "tflite") & (group["mode"] == "int8")]
    fp32 = group[(t == "tflite") & (group["mode"] == "fp32")]
    if not (len(int8) and len(fp32)):
        return None
    i, f = int8.iloc[0], fp32.iloc[0]
    speed, xnnpack = i.get("speedup_b1_t1_vs_fp32_tflite"), i.get("speedup_b1_t1_vs_fp32_tflite_auto")
    return (f"{f['size_bytes'] / i['size_bytes']:.2f}x smaller, {(i['accuracy'] - f['accuracy']) * 100:+.2f} pt vs fp32 .tflite"
            + (f", {speed:.2f}x batch-1 speed" if pd.notna(speed) else "")
            + (f" ({xnnpack:.2f}x with XNNPACK)" if pd.notna(xnnpack) else ""))


def distill_speed_row(group: pd.DataFrame) -> str | None:
    column = "speedup_b1_t1_vs_fp32_tflite"
    if column not in group:
        return None
    dq = group[(group["technique"] == "distill>tflite") & group[column].notna()]
    if dq.empty:
        return None
    best = dq.loc[dq[column].idxmax()]
    return (f"{best[column]:.1f}x vs the teacher's fp32 .tflite ({best['chain']}), "
            f"accuracy {best['accuracy'] * 100:.2f} %")


def pair_anchors(dataset: str, model: str, reference: str, group: pd.DataFrame, anchors: dict) -> list:
    """(claim, source, measured here) for one dataset x architecture reproducing a published network."""
    claims = anchors["claims"]
    t = group["technique"]
    ratio = "gzip_compression_vs_fp32_gzip"
    rows = [(claims["int8"]["text"], claims["int8"]["source"], int8_row(group))]
    pruning = claims["pruning"]
    tolerance = pruning["tolerance_pt"][dataset]
    rows.append((f"pruning {pruning['ratio'][reference]}x smaller within {tolerance:g} pt (MNIST figure)",
                 pruning["source"], describe(best_within(group, t == "prune>tflite", tolerance), ratio)))
    target, tolerance = claims["prune_quantize"]["target"][dataset][reference]
    combined = t.str.contains("prune") & (t.str.endswith("tflite") | t.str.endswith("qat"))
    rows.append((f"prune -> quantize {target}x smaller (best within {tolerance:g} pt)", claims["prune_quantize"]["source"],
                 describe(best_within(group, combined, tolerance), ratio)))
    deep = claims["deep_compression"]
    if reference in deep["text"].get(dataset, {}):
        best = best_within(group, t == "prune>cluster>tflite", deep["tolerance_pt"])
        rows.append((f"Deep Compression {deep['text'][dataset][reference]}", deep["source"],
                     f"{describe(best, ratio)} (within {deep['tolerance_pt']:g} pt)"))
    rows.append((claims["distill_quantize"]["text"], claims["distill_quantize"]["source"], distill_speed_row(group)))
    return [{"dataset": dataset, "model": model, "claim": claim, "source": source, "measured here": measured}
            for claim, source, measured in rows if measured is not None]


def anchors_table(frame: pd.DataFrame, anchors: dict, refs: dict) -> pd.DataFrame:
    """Our numbers beside the survey's conclusions and the published anchors (report/anchors.yaml)."""
    rows = []
    for (dataset, model), group in frame.groupby(["dataset", "model"]):
        if refs.get(model):
            rows.extend(pair_anchors(dataset, model, refs[model], group, anchors))
    rows.extend(distillation_rows(frame, anchors["claims"]["distillation"]))
    return pd.DataFrame(rows, columns=["dataset", "model", "claim", "source", "measured here"])


def distillation_rows(frame: pd.DataFrame, claim: dict) -> list:
    """Best distilled student (mean over seeds) against its from-scratch control."""
    rows = []
    distilled = frame[(frame["technique"] == "distill") & (frame["student"] != "self")]
    for (dataset, teacher, student), group in distilled.groupby(["dataset", "model", "student"]):
        stats = group.groupby(["temperature", "alpha"])["accuracy"].agg(["mean", "std", "count"])
        best = stats["mean"].idxmax()
        control = frame[(frame["dataset"] == dataset) & (frame["model"] == student) & (frame["technique"] == "baseline")]["accuracy"]
        if control.empty:
            continue
        gain = (stats.loc[best, "mean"] - control.mean()) * 100
        n_student, n_control = int(stats.loc[best, "count"]), len(control)
        if min(n_student, n_control) < 2:
            spread_text, verdict = "one seed: no spread to judge by", "run more seeds (techniques.distill.seeds) to judge"
        else:
            spread = max(stats.loc[best, "std"], control.std()) * 100
            spread_text = f"seed spread {spread:.2f} pt"
            verdict = ("beats" if gain > spread else "does not beat") + " the control by more than the spread"
        rows.append({"dataset": dataset, "model": teacher, "claim": claim["text"], "source": claim["source"],
                     "measured here": f"{student} at T={best[0]:g}, alpha={best[1]:g}: {stats.loc[best, 'mean'] * 100:.2f} % "
                     f"vs {control.mean() * 100:.2f} % from scratch ({gain:+.2f} pt, {spread_text}, "
                     f"n={n_student}/{n_control}): {verdict}"})
    return rows


def sources_list(anchors: dict) -> str:
    items = "".join(f"<li><b>{_html.escape(key)}</b>: {_html.escape(text)}</li>" for key, text in anchors["sources"].items())
    return f"<p class='note'>Sources:</p><ul class='note'>{items}</ul>"


# ----------------------------------------------------------------------------- page

def provenance(frame: pd.DataFrame, gpu: dict, config: dict) -> str:
    hosts = ", ".join(sorted(set(frame["host"].dropna().astype(str)))) if "host" in frame else ""
    versions = gpu.get("provenance", {}).get("versions", {})
    cpu = gpu.get("provenance", {}).get("cpu", "")
    gpu_line = gpu.get("gpu") or gpu.get("status", "no GPU on the machine that ran this")
    items = [("hosts that produced the records", hosts), ("CPU (benchmark host)", cpu), ("GPU", gpu_line),
             ("versions", ", ".join(f"{k} {v}" for k, v in versions.items()))]
    lis = "".join(f"<li><b>{_html.escape(k)}:</b> {_html.escape(str(v))}</li>" for k, v in items)
    return f"<ul>{lis}</ul><details><summary>configuration</summary><pre>{_html.escape(yaml.safe_dump(config, sort_keys=False))}</pre></details>"


def gpu_section(gpu: dict) -> str:
    if not gpu.get("gpu"):
        return f"<p><b>{_html.escape(gpu.get('status', 'no GPU on the machine that ran this'))}.</b> No GPU numbers are shown.</p>"
    rows = []
    for model in gpu["models"]:
        for r in model["results"]:
            rows.append({"dataset": model["dataset"], "model": model["architecture"], "chain": model["chain"],
                         "precision": r["precision"], "batch": r["batch"], "median_us": r["median_us"],
                         "p10_us": r["p10_us"], "p90_us": r["p90_us"], "throughput_sps": r["throughput_sps"]})
    return f"<p>GPU: <b>{_html.escape(gpu['gpu'])}</b> (Keras models through tf.function).</p>" + table(pd.DataFrame(rows))


def render(frame: pd.DataFrame, figures: dict, gpu: dict, config: dict, anchors: dict, tables: dict | None = None) -> str:
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>DNN compression study</title><style>{CSS}</style></head><body>",
             "<h1>DNN compression study: pruning, quantization, distillation</h1>",
             f"<p class='note'>{len(frame)} artefacts; each evaluated as the artefact itself (.tflite through LiteRT). "
             "Sizes in bytes; 'gzip' is what a user ships compressed. Full table: results/summary.csv.</p>",
             "<h2>Our numbers beside the survey and the published anchors</h2>",
             table(anchors_table(frame, anchors, references(config))), sources_list(anchors)]
    flagged = frame[frame["flagged"].astype(bool)]
    parts.append("<h2>Flagged artefacts</h2>")
    parts.append(table(flagged[["dataset", "model", "chain", "accuracy", "flag_reason"]]) if len(flagged)
                 else "<p>None: no artefact fell more than the configured margin below its parent.</p>")
    for title, names in SECTIONS:
        parts.append(f"<h2>{_html.escape(title)}</h2>")
        parts.extend(f"<figure>{embed_png(figures[n])}</figure>" for n in names if n in figures)
        if title == COST_SECTION:
            parts.append(f"<p class='note'>{_html.escape(COST_NOTE)}</p>")
        parts.extend(table(frame_) for frame_ in (tables or {}).get(title, []))
        if title == "Benchmarks":
            parts.append("<h3>GPU</h3>" + gpu_section(gpu))
    columns = [c for c in SUMMARY_COLUMNS if c in frame]
    parts.append("<h2>Summary of every artefact</h2>" + table(frame[columns]))
    parts.append("<h2>Provenance</h2>" + provenance(frame, gpu, config))
    parts.append("</body></html>")
    return "\n".join(parts)


def write(page: str, path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(page)
