"""Aggregation: metrics records and benchmark records joined into one table, one row per artefact,
with compression ratios and speedups against the chain's own float32 references."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd

from .chain import STEP_COLUMNS, TFLITE_MODES, step_column
from .io import read_json


def record_row(record: dict) -> dict:
    row = {k: v for k, v in record.items() if not isinstance(v, (dict, list))}
    row["resolver"] = record.get("runtime", {}).get("resolver")
    row["engine"] = record.get("runtime", {}).get("engine")
    for step in record["steps"]:
        for key, value in step["params"].items():
            row[step_column(step["kind"], key)] = value
    refused = record.get("runtime", {}).get("refused") or {}
    row["refused_resolvers"] = ",".join(sorted(refused)) or None
    for resolver, acc in record.get("extra", {}).get("accuracy_by_resolver", {}).items():
        row[f"accuracy_{resolver}"] = acc
    row["host"] = record.get("provenance", {}).get("host")
    return row


def load_records(paths) -> pd.DataFrame:
    frame = pd.DataFrame([record_row(read_json(p)) for p in paths])
    for column in STEP_COLUMNS + ("size_kind", "flag_reason", "refused_resolvers"):
        if column not in frame:
            frame[column] = None
    frame["size_kind"] = frame["size_kind"].fillna("file")
    return frame


STATS = (("", "median"), ("_p10", "p10"), ("_p90", "p90"))


def latency_columns(results: pd.DataFrame, suffix: str = "") -> dict:
    """Batch-1 latency and speedups (one thread and all threads), and the throughput at the largest batch.
    Speedups are medians of per-round ratios measured side by side, with their 10th and 90th percentiles."""
    row = {}
    one = results[results["batch"] == 1]
    for label, threads in (("t1", one["threads"].min()), ("tall", one["threads"].max())):
        subset = one[one["threads"] == threads]
        if not len(subset):
            continue
        first = subset.iloc[0]
        for stat, key in STATS:
            row[f"latency_b1_{label}{stat}_us{suffix}"] = first[f"{key}_us"]
            speedup = first.get("speedup_vs_fp32_tflite")
            if isinstance(speedup, dict):
                row[f"speedup_b1_{label}_vs_fp32_tflite{stat}{suffix}"] = speedup[key]
        keras = first.get("speedup_vs_keras")
        if label == "tall" and not suffix and isinstance(keras, dict):
            row["speedup_b1_vs_keras"] = keras["median"]
    big = results[results["batch"] == results["batch"].max()]
    row[f"throughput_sps{suffix}"] = float(big["throughput_sps"].max())
    return row


def bench_rows(paths) -> tuple:
    """(.tflite rows, Keras rows) from the family benchmark records, one row per artefact. Columns
    without a suffix are for the primary resolver (the one its accuracy is reported with); other
    resolvers' columns end in _<resolver>."""
    rows = {"litert": [], "tf.function": []}
    for path in paths:
        family = read_json(path)
        for entry in family["artefacts"]:
            results = pd.DataFrame(entry["results"])
            row = {
                "path": os.path.dirname(entry["artefact"]),
                "bench_engine": entry["engine"],
                "threads_all": int(results["threads"].max()),
                "throughput_batch": int(results["batch"].max()),
            }
            resolvers = entry.get("resolvers") or [None]
            for i, resolver in enumerate(resolvers):
                subset = results if resolver is None else results[results["resolver"] == resolver]
                row.update(latency_columns(subset, "" if i == 0 else f"_{resolver}"))
            rows[entry["engine"]].append(row)
    return pd.DataFrame(rows["litert"]), pd.DataFrame(rows["tf.function"])


def root_path(path: str) -> str:
    return path.split("/baseline")[0] + "/baseline"


def summarize(records: pd.DataFrame, benches: pd.DataFrame, keras_benches: pd.DataFrame) -> pd.DataFrame:
    """Join and add size ratios against the root baseline's float32 .tflite, and the Keras latency."""
    frame = records.copy()
    if len(benches):
        frame = frame.merge(benches, on="path", how="left")
    frame["root"] = frame["path"].map(root_path)
    roots = frame.set_index("path")
    fp32 = {p: roots.loc[p] for p in roots.index if p.endswith("/baseline/tflite-fp32")}
    ref = frame["root"] + "/tflite-fp32"

    def from_ref(column):
        return ref.map(lambda p: fp32[p][column] if p in fp32 and column in fp32[p] else np.nan)

    frame["baseline_accuracy"] = frame["root"].map(lambda p: roots.loc[p, "accuracy"] if p in roots.index else np.nan)
    frame["accuracy_vs_baseline_pt"] = (frame["accuracy"] - frame["baseline_accuracy"]) * 100
    frame["fp32_tflite_bytes"] = from_ref("size_bytes")
    frame["fp32_tflite_gzip_bytes"] = from_ref("gzip_bytes")
    frame["compression_vs_fp32"] = frame["fp32_tflite_bytes"] / frame["size_bytes"]
    frame["gzip_compression_vs_fp32"] = frame["fp32_tflite_bytes"] / frame["gzip_bytes"]
    frame["gzip_compression_vs_fp32_gzip"] = frame["fp32_tflite_gzip_bytes"] / frame["gzip_bytes"]
    if len(keras_benches):
        keras = keras_benches.set_index("path")
        frame["keras_latency_b1_us"] = frame["root"].map(
            lambda p: keras.loc[p, "latency_b1_tall_us"] if p in keras.index else np.nan
        )
    return frame.drop(columns=["root"]).sort_values(["dataset", "model", "seed", "chain"]).reset_index(drop=True)


def write_csv(frame: pd.DataFrame, path) -> None:
    from .io import atomic_path

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
    parent, keyed by its sparsity and structure."""
    rows = frame[frame["technique"] == technique]
    keys = ["dataset", "model", "seed"] + (["sparsity", "structure"] if technique.startswith("prune") else [])
    columns = [
        c
        for c in (
            *keys,
            "mode",
            "size_bytes",
            "gzip_bytes",
            "compression_vs_fp32",
            "gzip_compression_vs_fp32_gzip",
            "accuracy",
            "accuracy_auto",
            "latency_b1_t1_us",
            "latency_b1_t1_us_auto",
            "speedup_b1_t1_vs_fp32_tflite",
            "speedup_b1_t1_vs_fp32_tflite_auto",
            "flagged",
        )
        if c in rows
    ]
    # fp32, fp32-sparse, fp16, fp16-sparse, ...: each mode beside its sparse-encoded variant.
    order = rows["mode"].map(lambda m: MODE_ORDER.get(m.split("-")[0], 9) * 2 + m.endswith("-sparse"))
    return rows.assign(_order=order).sort_values([*keys, "_order"])[columns].reset_index(drop=True)
