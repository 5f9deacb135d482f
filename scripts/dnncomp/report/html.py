"""The final report: one self-contained HTML page (figures embedded as base64), readable offline,
rendered from report/report.html.j2. Every number on it comes from results/summary.csv or a record
in results/; this module turns them into the tables and verdicts the template lays out."""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2
import pandas as pd
import yaml

from ..core.io import atomic_path
from ..measure.sensitivity import allocate
from ..study.chain import FP32_REFERENCE
from . import claims, readme, stats
from . import columns as col
from .layout import COST_SECTION, SECTIONS
from .stats import stat_column

COST_NOTE = (
    "When `make plan` recorded a prediction before the run (results/plan.json), the first table sets it "
    "beside the run that followed: the jobs finished after it, their span and CPU time. Then "
    "CPU-seconds, wall seconds and peak RSS per stage and per rule, from Snakemake's benchmark file of "
    "every job; start-up share: CPU spent before a job's real work (interpreter, imports, TensorFlow, "
    "data and model loading), measured inside the jobs. The scheduler row is Snakemake's own process."
)
SENSITIVITY_NOTE = (
    "Per-layer sensitivity of each study model (first seed): each layer pruned alone, one-shot by magnitude, "
    "on the validation split. The last table is the per-layer sparsity the layerwise prune structure would "
    "allocate for each global budget (one common tolerated loss); blank where a budget is beyond the grid. "
    "Structured pruning (prune-c/prune-m steps) removes whole neurons, filters and channels and rebuilds a "
    "smaller dense model: its table sets each file's parameters, MACs, bytes, batch-1 speed against the "
    "float32 .tflite under XNNPACK (LiteRT's default, what a deployed app gets) and the builtin kernels, "
    "and the energy estimate beside the unstructured files with an interval; the last table gives the "
    "channels each layer kept (first seed), and why a layer was left whole."
)
ENERGY_NOTE = (
    "Estimated energy per batch-1 inference of each .tflite configuration on its accuracy-energy Pareto "
    "front, with the chain's float32 .tflite for reference: operation counts as LiteRT's builtin kernels run "
    "them (zeros skipped only by a sparse kernel: macs vs macs_nonzero), priced with the per-operation "
    "table of config energy. An ESTIMATE, not a measurement. Measured energy appears beside it where the "
    "host exposes a counter: RAPL on the CPU benchmark host (energy_cpu_uj), NVML on a GPU (the GPU table)."
)
SECTION_NOTES = {COST_SECTION: COST_NOTE, "Pruning": SENSITIVITY_NOTE, "Energy": ENERGY_NOTE}

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

# Text columns, left-aligned on the page.
LEFT = {"dataset", "model", "chain", "claim", "source", "measured here", "artefact", "stage", "rule", "configuration"}


def png_base64(path) -> str:
    return base64.b64encode(Path(path).read_bytes()).decode()


def cell(value, digits=4) -> str:
    """A table cell: blank for a missing value, floats to `digits` significant digits."""
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


# ----------------------------------------------------------------------------- anchors


def load_anchors(path) -> dict:
    return yaml.safe_load(Path(path).read_text())


def references(config: dict) -> dict:
    """Configured architecture name -> the published network it reproduces (None if it is none)."""
    return {name: spec.get("reference") for name, spec in config["architectures"].items()}


RATIO = col.GZIP_RATIO


SEED_COLUMNS = ["dataset", "model", "configuration", "n"] + [
    stat_column(metric, stat)
    for metric in (col.ACCURACY_CHANGE, RATIO, col.SPEEDUP)
    for stat in ("mean", "ci_low", "ci_high")
]


def seeds_tables(table: pd.DataFrame) -> dict:
    """The configurations run with several seeds (mean and 95 % interval), and how many ran with one."""
    repeated = table[table["n"] >= 2]
    repeated = shorten(repeated[[c for c in SEED_COLUMNS if c in repeated]])
    return {"repeated": repeated, "single": int((table["n"] < 2).sum())}


SHORT_NAMES = {
    RATIO: "gzip_ratio",
    col.SPEEDUP: "speedup_b1",
    col.ACCURACY_CHANGE: "change_pt",
}


def shorten(frame: pd.DataFrame) -> pd.DataFrame:
    """The long metric names of the over-seeds columns shortened for the page."""

    def short(column: str) -> str:
        for long, name in SHORT_NAMES.items():
            column = column.replace(long, name)
        return column

    return frame.rename(columns=short)


# ----------------------------------------------------------------------------- page


def provenance(frame: pd.DataFrame, gpu: list) -> list:
    hosts = ", ".join(sorted(set(frame["host"].dropna().astype(str)))) if "host" in frame else ""
    first = gpu[0] if gpu else {}
    versions = first.get("provenance", {}).get("versions", {})
    return [
        ("hosts that produced the records", hosts),
        ("GPU", gpu_results(gpu).get("name") or gpu_results(gpu)["status"]),
        ("versions (GPU job)", ", ".join(f"{k} {v}" for k, v in versions.items())),
    ]


GPU_KEYS = ("precision", "xla", "batch", "median_us", "p10_us", "p90_us", "throughput_sps")
GPU_RATIOS = ("speedup_vs_float32", "speedup_vs_no_xla", "speedup_vs_baseline")


def gpu_results(gpu: list) -> dict:
    """The GPU family records as one table (energy in joules per 1000 images), or why there is none."""
    measured = [record for record in gpu if record.get("gpu")]
    if not measured:
        reasons = sorted({record.get("reason", "") for record in gpu} - {""})
        status = gpu[0]["status"] if gpu else "no GPU benchmark ran"
        return {"frame": None, "status": status + (f" ({'; '.join(reasons)})" if reasons else "")}
    rows = []
    for record in measured:
        for model in record["models"]:
            for r in model["results"]:
                row = {"family": record["family"].removeprefix("results/"), "chain": model["chain"]}
                row.update({k: r[k] for k in GPU_KEYS})
                row.update({k: r[k]["median"] for k in GPU_RATIOS if k in r})
                joules = r.get("energy", {}).get("joules_per_1000_images")
                if joules:
                    row.update({"J per 1000 images": joules["median"], "J p10": joules["p10"], "J p90": joules["p90"]})
                rows.append(row)
    gpu_info = measured[0]["gpu"]
    name = ", ".join(f"{k} {v}" for k, v in gpu_info.items() if v) if isinstance(gpu_info, dict) else str(gpu_info)
    return {"frame": pd.DataFrame(rows), "name": name, "note": measured[0].get("note", "")}


def energy_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per dataset x model: the float32 .tflite and the configurations on the accuracy-vs-estimated-energy
    front, as means over seeds, with measured CPU energy where RAPL gave it."""
    from .figures import configuration_means, pareto_front

    if col.ENERGY_EST not in frame or frame[col.ENERGY_EST].notna().sum() == 0:
        return pd.DataFrame()
    files = frame[frame[col.ENERGY_EST].notna()]
    shown = (col.MACS, col.MACS_NONZERO, col.ENERGY_EST_MEMORY, col.ENERGY_EST_RATIO, col.ENERGY_CPU)
    extra = [c for c in shown if c in files]
    rows = []
    for (dataset, model), group in files.groupby(["dataset", "model"], sort=True):
        points = configuration_means(group, col.ENERGY_EST)
        keep = set(pareto_front(points, col.ENERGY_EST)["configuration"]) | {FP32_REFERENCE}
        configs = group.assign(configuration=group["chain"].map(stats.configuration))
        for name, sub in configs[configs["configuration"].isin(keep)].groupby("configuration"):
            row = {"dataset": dataset, "model": model, "configuration": name, "n": len(sub)}
            row[col.ACCURACY_CHANGE] = sub[col.ACCURACY_CHANGE].mean()
            row[col.ENERGY_EST] = sub[col.ENERGY_EST].mean()
            row.update({c: sub[c].mean() for c in extra})
            rows.append(row)
    return pd.DataFrame(rows).sort_values(["dataset", "model", col.ENERGY_EST], ascending=[True, True, False])


def allocation_table(analyses: dict, budgets) -> pd.DataFrame:
    """The per-layer sparsity the layerwise structure would give each model (its per-layer sensitivity)
    for each global budget; '' where a budget is beyond the sensitivity grid."""
    rows = []
    for model, analysis in analyses.items():
        allocations = {}
        for budget in budgets:
            try:
                allocations[f"at {budget:.2f}"] = allocate(analysis["layers"], budget)["targets"]
            except ValueError:
                allocations[f"at {budget:.2f}"] = {}
        for layer, curve in analysis["layers"].items():
            row = {"model": model, "layer": layer, "weights": curve["params"]}
            row.update({name: targets.get(layer, "") for name, targets in allocations.items()})
            rows.append(row)
    return pd.DataFrame(rows)


# A baseline below this many times chance (1 / classes) has learned too little for a loss "within
# 1 pt" of it to mean anything: its pair is left out of the answer, with a note.
CHANCE_FACTOR = 1.5


def near_chance(frame: pd.DataFrame, config: dict) -> dict:
    """{(dataset, model): note} for the pairs whose baseline's mean accuracy is near chance level."""
    baselines = frame[frame["chain"] == "baseline"].groupby(["dataset", "model"])["accuracy"].mean()
    notes = {}
    for (dataset, model), accuracy in baselines.items():
        classes = (config.get("datasets", {}).get(dataset) or {}).get("num_classes")
        if classes and accuracy < CHANCE_FACTOR / classes:
            notes[(dataset, model)] = (
                f"{model} on {dataset}: its baseline's accuracy ({accuracy:.1%}) is near chance ({1 / classes:.0%} "
                f"for {classes} classes), so no compressed file is judged against it: train it longer "
                "(training.overrides) or give a trained file (trained: true)"
            )
    return notes


def what_to_ship(frame: pd.DataFrame, config: dict | None = None) -> pd.DataFrame:
    """Per network: the smallest, the fastest, the smaller-and-faster and the smallest real-int4 file
    within the tolerance (the README's results block, from the same function). Pairs whose baseline is near chance are
    left out (near_chance)."""
    untrained = near_chance(frame, config or {})
    table = readme.headline(stats.over_seeds(frame), readme.flagged_configurations(frame))
    keep = pd.Series(
        [(d, m) not in untrained for d, m in zip(table["dataset"], table["model"], strict=True)], dtype=bool
    )
    table = table[keep.to_numpy()]
    return pd.DataFrame(
        {
            "dataset": table["dataset"],
            "model": table["model"],
            "goal": table["goal"].map(
                {
                    "smallest": "size: smallest file",
                    "fastest": "speed: fastest file",
                    "both": "both: smaller and faster",
                    "int4": "smallest int4 file",
                }
            ),
            "configuration": table["configuration"],
            "x vs float32": [readme.gain(row).replace("×", "x") for _, row in table.iterrows()],
            "accuracy change (pt) [95 % CI]": [
                f"{c:+.2f} [{lo:+.2f}, {hi:+.2f}]"
                for c, lo, hi in zip(table["change"], table["low"], table["high"], strict=True)
            ],
            "n": table["n"],
        }
    )


def imported_models(config: dict, frame: pd.DataFrame) -> dict:
    """{model: file} of the study's models whose baseline is a trained file (trained: true)."""
    archs = config.get("architectures", {})
    return {
        name: archs[name]["path"]
        for name in sorted(set(frame["model"]))
        if archs.get(name, {}).get("type") == "keras" and archs[name].get("trained", True)
    }


def mixed_precision_table(records: dict) -> pd.DataFrame:
    """The per-op choice of each mixed-precision file ({path: record} of lqmix artefacts): the bits of
    each op's weights (float: left unquantized), its validation loss alone at int4, and the file's."""
    rows = []
    for record in records.values():
        mixed = record["extra"]["mixed"]
        for op, bits in mixed["choices"].items():
            rows.append(
                {
                    "dataset / model": f"{record['dataset']} / {record['model']}",
                    "file": record["chain"],
                    "op (output tensor)": op.split(";")[0],
                    "weights": mixed["weights"][op],
                    "bits": "float" if bits is None else bits,
                    "int4 alone: val. loss (pt)": 100 * mixed["sensitivity_int4"][op],
                    "file: val. loss (pt)": 100 * (mixed["reference_val_accuracy"] - mixed["val_accuracy"]),
                }
            )
    return pd.DataFrame(rows)


def layer_tables(baselines: dict) -> pd.DataFrame:
    """The layers of each study model, from its first seed's baseline record ({chain: record})."""
    rows = [
        {"dataset / model": f"{record['dataset']} / {record['model']}", **layer}
        for record in baselines.values()
        for layer in (record.get("extra") or {}).get("layers", [])
    ]
    return pd.DataFrame(rows, columns=["dataset / model", "layer", "type", "output_shape", "params", "macs"])


def sections(figures: dict, tables: dict, extra_figures: dict | None = None) -> list:
    """The report's sections, each with its declared figures, then any `extra_figures[title]` as
    (name, path) pairs, and its tables."""
    extra_figures = extra_figures or {}
    return [
        {
            "title": title,
            "figures": [{"name": n, "png": png_base64(figures[n])} for n in names if n in figures]
            + [{"name": n, "png": png_base64(path)} for n, path in extra_figures.get(title, [])],
            "note": SECTION_NOTES.get(title, ""),
            "tables": tables.get(title, []),
            "gpu": title == "Benchmarks",
        }
        for title, names in SECTIONS
    ]


def render(
    frame: pd.DataFrame,
    figures: dict,
    gpu: dict,
    config: dict,
    anchors: dict,
    template,
    tables: dict | None = None,
    extra_figures: dict | None = None,
) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(template).parent), autoescape=True, undefined=jinja2.StrictUndefined
    )
    env.filters["cell"] = cell
    flagged = frame[frame["flagged"].astype(bool)]
    study = claims.Study(frame, references(config))  # prepared once for every judged table
    claim_rows = claims.judge(study, anchors)
    return env.get_template(Path(template).name).render(
        left=LEFT,
        n_artefacts=len(frame),
        anchors=claim_rows,
        verdicts=claims.verdicts_by_claim(claim_rows),
        point_factor=anchors["point_factor"],
        frontier=claims.frontier(study, anchors),
        counts=claims.verdict_counts(claim_rows),
        pareto=png_base64(figures["pareto"]) if "pareto" in figures else None,
        runtime=claims.RUNTIME_NAME[study.runtime],
        sources=anchors["sources"],
        seeds=seeds_tables(stats.over_seeds(frame)),
        flagged=flagged[["dataset", "model", "chain", "accuracy", "flag_reason"]],
        sections=sections(figures, tables or {}, extra_figures),
        gpu=gpu_results(gpu),
        summary=frame[[c for c in SUMMARY_COLUMNS if c in frame]],
        glossary=col.DECLARED,
        provenance=provenance(frame, gpu),
        config_text=yaml.safe_dump(config, sort_keys=False),
        imported=imported_models(config, frame),
        answer=what_to_ship(frame, config),
        near_chance=list(near_chance(frame, config).values()),
        tolerance=readme.TOLERANCE_PT,
    )


def write(page: str, path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(page)
