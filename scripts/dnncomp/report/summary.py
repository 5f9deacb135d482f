"""Aggregation: metrics records and benchmark records joined into one table, one row per artefact,
with compression ratios and speedups against the chain's own float32 references."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import energy
from ..core.io import read_json
from ..study.chain import REFERENCE_STEP, STEP_COLUMNS, STEP_KINDS, step_column
from ..techniques.quantize import TFLITE_MODES
from . import columns as col

PJ_PER_UJ = 1e6


def operation_columns(operations: dict | None, table: dict | None) -> dict:
    """A .tflite's operation counts, and its energy estimate where an energy table is given."""
    if not operations:
        return {}
    row = {
        col.MACS: operations["macs"],
        col.MACS_DENSE: operations["macs_dense"],
        col.MACS_NONZERO: operations["macs_nonzero"],
        col.WEIGHT_TRAFFIC: operations["weight_bytes"],
        col.ACTIVATION_TRAFFIC: operations["activation_bytes"],
    }
    if table:
        pj = energy.estimate(operations, table)
        row[col.ENERGY_EST] = pj["total_pj"] / PJ_PER_UJ
        row[col.ENERGY_EST_COMPUTE] = pj["compute_pj"] / PJ_PER_UJ
        row[col.ENERGY_EST_MEMORY] = pj["memory_pj"] / PJ_PER_UJ
    return row


def record_row(record: dict, energy_table: dict | None = None) -> dict:
    row = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
    row.update(operation_columns(record.get("operations"), energy_table))
    row["resolver"] = record.get("runtime", {}).get("resolver")
    row["engine"] = record.get("runtime", {}).get("engine")
    for step in record["steps"]:
        for key, value in step["params"].items():
            row[step_column(step["kind"], key)] = value
    refused = record.get("runtime", {}).get("refused") or {}
    row["refused_resolvers"] = ",".join(sorted(refused)) or None
    for resolver, acc in record.get("extra", {}).get("accuracy_by_resolver", {}).items():
        row[col.resolver_accuracy(resolver)] = acc
    row["host"] = record.get("provenance", {}).get("host")
    return row


def load_records(paths, energy_table: dict | None = None) -> pd.DataFrame:
    frame = pd.DataFrame([record_row(read_json(p), energy_table) for p in paths])
    for column in STEP_COLUMNS + ("size_kind", "flag_reason", "refused_resolvers"):
        if column not in frame:
            frame[column] = None
    frame["size_kind"] = frame["size_kind"].fillna("file")
    return frame


def latency_columns(results: pd.DataFrame, resolver: str | None = None) -> dict:
    """Batch-1 latency and speedups (one thread and all threads), and the throughput at the largest batch.
    Speedups are medians of per-round ratios measured side by side, with their 10th and 90th percentiles.
    resolver names the columns of a resolver other than the primary one."""
    row = {}
    one = results[results["batch"] == 1]
    for label, threads in zip(col.THREAD_LABELS, (one["threads"].min(), one["threads"].max()), strict=True):
        subset = one[one["threads"] == threads]
        if not len(subset):
            continue
        first = subset.iloc[0]
        for stat, key in col.STATISTICS.items():
            row[col.latency(label, stat, resolver)] = first[f"{key}_us"]
            speedup = first.get("speedup_vs_fp32_tflite")
            if isinstance(speedup, dict):
                row[col.speedup(label, stat, resolver)] = speedup[key]
        measured = first.get("energy")
        if label == "t1" and not resolver and isinstance(measured, dict):
            row[col.ENERGY_CPU] = measured["joules_per_image"]["median"] * 1e6
        keras = first.get("speedup_vs_keras")
        if label == "tall" and not resolver and isinstance(keras, dict):
            row[col.KERAS_SPEEDUP] = keras["median"]
    big = results[results["batch"] == results["batch"].max()]
    row[col.THROUGHPUT + (f"_{resolver}" if resolver else "")] = float(big[col.THROUGHPUT].max())
    return row


def bench_rows(paths) -> tuple:
    """(.tflite rows, Keras rows) from the family benchmark records, one row per artefact. Columns
    without a suffix are for the primary resolver (the one its accuracy is reported with); other
    resolvers' columns end in _<resolver>."""
    rows = {"litert": [], "tf.function": []}
    for path in paths:
        family = read_json(path)
        for entry in family["artefacts"]:
            if entry.get("guest"):  # another family's student: guest_rows
                continue
            results = pd.DataFrame(entry["results"])
            row = {
                "path": os.path.dirname(entry["artefact"]),
                col.BENCH_ENGINE: entry["engine"],
                col.THREADS_ALL: int(results["threads"].max()),
                col.THROUGHPUT_BATCH: int(results["batch"].max()),
            }
            resolvers = entry.get("resolvers") or [None]
            for i, resolver in enumerate(resolvers):
                subset = results if resolver is None else results[results["resolver"] == resolver]
                row.update(latency_columns(subset, None if i == 0 else resolver))
            rows[entry["engine"]].append(row)
    return pd.DataFrame(rows["litert"]), pd.DataFrame(rows["tf.function"])


def guest_rows(paths) -> pd.DataFrame:
    """Per distilled student's .tflite: its batch-1, one-thread speed against the float32 .tflite of
    each other network that timed it side by side (col.speedup_vs_network), under each resolver."""
    rows: dict = {}
    for path in paths:
        family = read_json(path)
        network = Path(family["family"]).parts[-2]  # results/DATASET/MODEL/seedN
        for entry in family["artefacts"]:
            if not entry.get("guest"):
                continue
            row = rows.setdefault(os.path.dirname(entry["artefact"]), {})
            resolvers = entry.get("resolvers") or []
            one = [r for r in entry["results"] if r["batch"] == 1 and "speedup_vs_fp32_tflite" in r]
            for r in one:
                if r["threads"] != min(x["threads"] for x in one):
                    continue
                primary = r["resolver"] == resolvers[0]
                name = col.speedup_vs_network(network, None if primary else r["resolver"])
                row[name] = r["speedup_vs_fp32_tflite"]["median"]
    return pd.DataFrame([{"path": path, **row} for path, row in rows.items()])


def gpu_rows(paths) -> pd.DataFrame:
    """Per Keras model file: its GPU batch-1 latency and measured energy per image (float32, XLA off).
    QAT models (timed from their weights) stay in the GPU table: their summary row is the .tflite."""
    rows = []
    for path in paths:
        for entry in read_json(path)["models"]:
            if not entry["artefact"].endswith("model.keras"):
                continue
            plain = [r for r in entry["results"] if r["precision"] == "float32" and not r["xla"]]
            row = {"path": os.path.dirname(entry["artefact"])}
            for r in plain:
                if r["batch"] == 1:
                    row[col.GPU_LATENCY] = r["median_us"]
            largest = max(plain, key=lambda r: r["batch"], default={})
            if "energy" in largest:
                row[col.GPU_ENERGY] = largest["energy"]["joules_per_image"]["median"] * 1e6
            rows.append(row)
    return pd.DataFrame(rows)


def root_path(path: str) -> str:
    return path.split("/baseline")[0] + "/baseline"


def summarize(
    records: pd.DataFrame,
    benches: pd.DataFrame,
    keras_benches: pd.DataFrame,
    gpu: pd.DataFrame | None = None,
    guests: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Join and add size ratios against the root baseline's float32 .tflite, and the Keras latency."""
    frame = records.copy()
    for joined in (benches, gpu, guests):
        if joined is not None and len(joined):
            frame = frame.merge(joined, on="path", how="left")
    frame["root"] = frame["path"].map(root_path)
    roots = frame.set_index("path")
    reference = f"/{REFERENCE_STEP.token}"
    fp32 = {p: roots.loc[p] for p in roots.index if p.endswith(f"/baseline{reference}")}
    ref = frame["root"] + reference

    def from_ref(column):
        return ref.map(lambda p: fp32[p][column] if p in fp32 and column in fp32[p] else np.nan)

    frame[col.BASELINE_ACCURACY] = frame["root"].map(lambda p: roots.loc[p, "accuracy"] if p in roots.index else np.nan)
    frame[col.ACCURACY_CHANGE] = (frame["accuracy"] - frame[col.BASELINE_ACCURACY]) * 100
    frame[col.FP32_BYTES] = from_ref("size_bytes")
    frame[col.FP32_GZIP_BYTES] = from_ref("gzip_bytes")
    frame[col.FILE_RATIO] = frame[col.FP32_BYTES] / frame["size_bytes"]
    frame[col.GZIP_FILE_RATIO] = frame[col.FP32_BYTES] / frame["gzip_bytes"]
    frame[col.GZIP_RATIO] = frame[col.FP32_GZIP_BYTES] / frame["gzip_bytes"]
    if col.ENERGY_EST in frame:
        frame[col.ENERGY_EST_RATIO] = from_ref(col.ENERGY_EST) / frame[col.ENERGY_EST]
    if len(keras_benches):
        keras = keras_benches.set_index("path")
        frame[col.KERAS_LATENCY] = frame["root"].map(
            lambda p: keras.loc[p, col.latency("tall")] if p in keras.index else np.nan
        )
    return frame.drop(columns=["root"]).sort_values(["dataset", "model", "seed", "chain"]).reset_index(drop=True)


def write_csv(frame: pd.DataFrame, path) -> None:
    from ..core.io import atomic_path

    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False)


def read_summary(path) -> pd.DataFrame:
    if not Path(path).is_file():
        raise FileNotFoundError(f"summary {path} is missing; run the summarize rule")
    return pd.read_csv(path)


MODE_ORDER = {mode: rank for rank, mode in enumerate(TFLITE_MODES)}


def mode_table(frame: pd.DataFrame, technique: str = "tflite") -> pd.DataFrame:
    """The post-training modes side by side: size, gzip, accuracy under each resolver, latency.

    technique 'tflite' gives the modes of each baseline; 'prune>tflite' the modes of each pruned
    parent, keyed by its sparsity, structure and recovery budget."""
    rows = frame[frame["technique"] == technique]
    pruned_by = [step_column("prune", param) for param in STEP_KINDS["prune"].params]
    keys = ["dataset", "model", "seed"] + (pruned_by if technique.startswith("prune") else [])
    keys = [key for key in keys if key in rows]
    columns = [
        c
        for c in (
            *keys,
            "mode",
            "size_bytes",
            "gzip_bytes",
            col.FILE_RATIO,
            col.GZIP_RATIO,
            "accuracy",
            col.resolver_accuracy("auto"),
            col.LATENCY,
            col.latency(resolver="auto"),
            col.SPEEDUP,
            col.SPEEDUP_XNNPACK,
            "flagged",
        )
        if c in rows
    ]
    # fp32, fp32-sparse, fp16, fp16-sparse, ...: each mode beside its sparse-encoded variant.
    order = rows["mode"].map(lambda m: MODE_ORDER.get(m.split("-")[0], 9) * 2 + m.endswith("-sparse"))
    return rows.assign(_order=order).sort_values([*keys, "_order"])[columns].reset_index(drop=True)
