"""The report's structured-pruning tables: what the smaller model buys (parameters, MACs, bytes,
batch-1 speed under both resolvers, the energy estimate, accuracy over seeds) beside unstructured
pruning, and the channels each layer kept."""

from __future__ import annotations

import pandas as pd

from . import columns as col
from . import stats

FP32 = "baseline/tflite-fp32"


def _pm(row, metric: str, digits: int = 2, scale: str = "") -> str:
    mean = row.get(stats.stat_column(metric, "mean"))
    low, high = row.get(stats.stat_column(metric, "ci_low")), row.get(stats.stat_column(metric, "ci_high"))
    if mean is None or pd.isna(mean):
        return ""
    text = f"{mean:.{digits}f}{scale}"
    if low is not None and not pd.isna(low):
        text += f" [{low:.{digits}f}, {high:.{digits}f}]"
    return text


def _count(value) -> str:
    return "" if value is None or pd.isna(value) else f"{int(value):,}"


def is_pruned_tflite(technique: str) -> bool:
    """A deployable file whose chain prunes (structured or unstructured)."""
    kinds = technique.split(">")
    return kinds[-1] == "tflite" and ("structured" in kinds or "prune" in kinds)


def speed_table(frame: pd.DataFrame) -> pd.DataFrame:
    """Per pair and pruned configuration (and the float32 reference): parameters, MACs and bytes of
    the file (first seed), accuracy change, batch-1 speed under XNNPACK and the builtin kernels, and
    the energy estimate, each over seeds."""
    over = stats.over_seeds(frame)
    pruned = over["technique"].map(is_pruned_tflite)
    # Unstructured files with an interval (the every-seed chains) set beside the structured ones.
    structured = over["technique"].str.split(">").map(lambda kinds: "structured" in kinds)
    over = over[(over["configuration"] == FP32) | (pruned & (structured | (over["n"] > 1)))]
    first = stats.with_configuration(frame).sort_values("seed").drop_duplicates(["dataset", "model", "configuration"])
    first = first.set_index(["dataset", "model", "configuration"])
    if not structured.any():
        return pd.DataFrame()
    rows = []
    for _, row in over.iterrows():
        key = (row["dataset"], row["model"], row["configuration"])
        if key not in first.index:
            continue
        one = first.loc[key]
        if row["configuration"] == FP32:
            kind = "none (float32)"
        else:
            kind = "structured" if "structured" in row["technique"].split(">") else "unstructured"
        rows.append(
            {
                "dataset / model": f"{row['dataset']} / {row['model']}",
                "pruning": kind,
                "configuration": row["configuration"],
                "n": int(row["n"]),
                "params": _count(one.get("params")),
                "MACs": _count(one.get(col.MACS)),
                "bytes": _count(one["size_bytes"]),
                "accuracy change (pt) [95 % CI]": _pm(row, col.ACCURACY_CHANGE),
                "x faster, XNNPACK [95 % CI]": _pm(row, col.SPEEDUP_XNNPACK),
                "x faster, builtin kernels": _pm(row, col.SPEEDUP),
                "x less energy (estimate)": _pm(row, col.ENERGY_EST_RATIO, 1),
            }
        )
    table = pd.DataFrame(rows)
    if len(table):
        order = {"none (float32)": 0, "structured": 1, "unstructured": 2}
        table = table.assign(_order=table["pruning"].map(order))
        table = table.sort_values(["dataset / model", "_order", "configuration"]).drop(columns="_order")
    return table.reset_index(drop=True)


def kept_channels_table(records: dict) -> pd.DataFrame:
    """The channels each layer kept, from the first seed's record of every structured step
    ({path: record}): inputs and outputs before and after, the group it was pruned with, and why a
    group stayed whole."""
    rows = []
    for record in records.values():
        info = record["extra"]["structured"]
        before = {layer["layer"]: layer for layer in record["extra"]["layers_before"]}
        after = {layer["layer"]: layer for layer in record["extra"]["layers"]}
        whole = {}
        for plan in info["rounds"]:
            for group in plan["groups"]:
                for layer in group["layers"]:
                    if "whole" in group:
                        whole[layer] = group["whole"]
        final = info["rounds"][-1]["layers"]
        for name, (kept_in, kept_out) in final.items():
            rows.append(
                {
                    "dataset / model": f"{record['dataset']} / {record['model']}",
                    "step": record["chain"].split("/")[-1],
                    "layer": name,
                    "type": after.get(name, {}).get("type", ""),
                    "output shape before": before.get(name, {}).get("output_shape", ""),
                    "output shape after": after.get(name, {}).get("output_shape", ""),
                    "inputs kept": kept_in,
                    "outputs kept": kept_out,
                    "MACs before": f"{before.get(name, {}).get('macs', 0):,}",
                    "MACs after": f"{after.get(name, {}).get('macs', 0):,}",
                    "left whole because": whole.get(name, ""),
                }
            )
        if info.get("crop"):
            crop = info["crop"]
            rows.append(
                {
                    "dataset / model": f"{record['dataset']} / {record['model']}",
                    "step": record["chain"].split("/")[-1],
                    "layer": "input_crop",
                    "type": "Cropping2D",
                    "output shape before": "",
                    "output shape after": f"crop (top, bottom), (left, right) = {crop['cropping']}",
                    "inputs kept": f"{crop['kept_pixels']:.1%} of the pixels",
                    "outputs kept": "",
                    "MACs before": "",
                    "MACs after": "",
                    "left whole because": "",
                }
            )
    return pd.DataFrame(rows)


def first_seed_records(frame: pd.DataFrame, read) -> dict:
    """{path: record} of the first seed's structured Keras steps (their records hold the per-layer plan)."""
    last_kind = frame["technique"].str.split(">").str[-1]
    rows = frame[(last_kind == "structured") & (frame["format"] == "keras")]
    rows = stats.with_configuration(rows).sort_values("seed").drop_duplicates(["dataset", "model", "configuration"])
    return {path: read(path) for path in rows["path"]}


def _best(over: pd.DataFrame, kind: str, tolerance_pt: float):
    """The fastest file (XNNPACK, mean over seeds) of one pruning kind within the tolerance on the
    interval, or None."""
    kinds = over["technique"].str.split(">")
    mask = over["technique"].map(is_pruned_tflite) & (kinds.map(lambda k: "structured" in k) == (kind == "structured"))
    files = over[mask & over[stats.stat_column(col.SPEEDUP_XNNPACK, "mean")].notna()]
    files = files[[stats.within(row, tolerance_pt) is True for _, row in files.iterrows()]]
    if files.empty:
        return None
    return files.loc[files[stats.stat_column(col.SPEEDUP_XNNPACK, "mean")].idxmax()]


def speed_claims(frame: pd.DataFrame, anchors: dict, refs: dict) -> pd.DataFrame:
    """The survey's pruning-speed claim per pair, judged for structured and unstructured pruning side by
    side: the fastest file within the pruning claim's accuracy tolerance (on the 95 % interval) under
    XNNPACK, LiteRT's default runtime (what a deployed app gets), with the builtin-kernel figure beside it."""
    claims = anchors["claims"]
    speed, tolerance = claims["pruning_speed"]["speedup"], claims["pruning"]["tolerance_pt"]
    over = stats.over_seeds(frame)
    if stats.stat_column(col.SPEEDUP_XNNPACK, "mean") not in over:
        return pd.DataFrame()
    rows = []
    for (dataset, model), pair in over.groupby(["dataset", "model"], sort=True):
        reference = refs.get(model)
        if reference not in speed or dataset not in tolerance:
            continue
        low, high = speed[reference]
        claim = f"{low:g}-{high:g}x" if low != high else f"about {low:g}x"
        for kind in ("structured", "unstructured"):
            best = _best(pair, kind, tolerance[dataset])
            if best is None:
                verdict, ours, builtin = f"no {kind} file within {tolerance[dataset]:g} pt on an interval", "", ""
            else:
                mean = best[stats.stat_column(col.SPEEDUP_XNNPACK, "mean")]
                verdict = (
                    "holds" if low <= mean <= high * 1.05 else ("beaten: faster" if mean > high else "does not hold")
                )
                ours = f"{_pm(best, col.SPEEDUP_XNNPACK)} ({best['configuration']}, n = {int(best['n'])})"
                builtin = _pm(best, col.SPEEDUP)
            rows.append(
                {
                    "dataset / model": f"{dataset} / {model}",
                    "pruning": kind,
                    "survey": claim,
                    "fastest within the tolerance, XNNPACK [95 % CI]": ours,
                    "same file, builtin kernels": builtin,
                    "accuracy tolerance (pt)": tolerance[dataset],
                    "verdict": verdict,
                }
            )
    return pd.DataFrame(rows)
