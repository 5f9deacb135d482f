"""The report's figures, one function per figure, each drawn from results/summary.csv alone."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from matplotlib.ticker import NullFormatter

from ..study.chain import STEP_KINDS
from . import columns as col
from .plots import plt, save
from .stats import configuration, interval

DEFAULT_RECOVERY = STEP_KINDS["prune"].params["recovery"].default

KB = 1024.0


def pairs(frame: pd.DataFrame) -> list:
    return sorted({(d, m) for d, m in zip(frame["dataset"], frame["model"], strict=True)})


def grid(n_panels: int, ncols: int = 4, size=(4.2, 3.2)):
    ncols = max(1, min(ncols, n_panels))
    nrows = int(np.ceil(n_panels / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False)
    for ax in axes.flat[n_panels:]:
        ax.set_visible(False)
    return fig, list(axes.flat)


def empty(path, message: str) -> None:
    """A figure that says why it has no data, so a narrowed config still yields every report entry."""
    fig, ax = plt.subplots(figsize=(6, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    save(fig, path)


def finish(fig, axes, path, title: str) -> None:
    for ax in axes:
        if ax.get_visible():
            ax.grid(alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    save(fig, path)


SPREAD = "mean over seeds; error bars: 95 % t-interval where n >= 2"


def seed_stats(group: pd.DataFrame, x: str, y: str) -> pd.DataFrame:
    """Per value of x: the mean of y over seeds and the two half-widths of its 95 % interval (0 for one seed)."""
    rows = []
    for value, sub in group.groupby(x):
        ci = interval(sub[y])
        rows.append((value, ci["mean"], ci["mean"] - ci["ci_low"], ci["ci_high"] - ci["mean"], ci["n"]))
    out = pd.DataFrame(rows, columns=[x, "mean", "below", "above", "n"])
    return out.fillna({"below": 0.0, "above": 0.0}).sort_values(x)


def plot_mean(ax, group: pd.DataFrame, x: str, y: str, scale: float = 1.0, fmt: str = "o-", label=None):
    points = seed_stats(group, x, y)
    ax.errorbar(
        points[x],
        points["mean"] * scale,
        yerr=[points["below"] * scale, points["above"] * scale],
        fmt=fmt,
        capsize=3,
        label=label,
    )


# ----------------------------------------------------------------------------- quantization


def ptq_modes(frame, path):
    ptq = frame[frame["technique"] == "tflite"]
    if ptq.empty:
        return empty(path, "No post-training quantization in this config (chain 'baseline > tflite').")
    fig, axes = grid(2, ncols=2, size=(6.5, 3.4))
    keys = ["dataset", "model", "mode"]
    table = pd.DataFrame(
        [{**dict(zip(keys, key, strict=True)), **interval(group["accuracy"] * 100)} for key, group in ptq.groupby(keys)]
    )
    table["half_width"] = ((table["ci_high"] - table["ci_low"]) / 2).fillna(0.0)
    sizes = ptq.groupby(keys)["size_bytes"].median().unstack("mode") / KB
    sizes.plot.bar(ax=axes[0], logy=True, rot=20)
    axes[0].set(ylabel="file size (KiB, log)", xlabel="")
    means = table.pivot_table(index=["dataset", "model"], columns="mode", values="mean")
    errors = table.pivot_table(index=["dataset", "model"], columns="mode", values="half_width")
    means.plot.bar(ax=axes[1], rot=20, yerr=errors, capsize=2)
    axes[1].set(ylabel="test accuracy (%)", xlabel="")
    axes[1].set_ylim(max(0, table["mean"].min() - 5), 100)
    finish(fig, axes, path, f"Post-training quantization: size and accuracy of each .tflite mode; accuracy {SPREAD}")


BIT_SERIES = {
    "wq": ("post-training, size computed", "s--"),
    "qat": ("QAT file", "o-"),
    "lq": ("post-training file", "^:"),
}


def bits(frame, path):
    """Accuracy and size against weight bits: the n-bit sweep's computed sizes (wq) marked apart from
    real files, QAT's and litert-quantizer's (lq recipes, at the bits of their weights)."""
    sweep = frame[frame["technique"].isin(["wq", "qat", "lq"])].copy()
    lq_rows = sweep["technique"] == "lq"
    if lq_rows.any():
        recipes = sweep.loc[lq_rows, "recipe"].astype(str)
        sweep.loc[lq_rows, "bits"] = recipes.map(weight_bits)
        sweep = sweep[~lq_rows | sweep["recipe"].astype(str).str.startswith("dynamic")]  # one real series per width
    if sweep.empty:
        return empty(path, "No bit-width sweep, QAT or litert-quantizer file in this config.")
    fig, axes = grid(2, ncols=2, size=(6.5, 3.6))
    for (dataset, model, technique), group in sweep.groupby(["dataset", "model", "technique"]):
        name, style = BIT_SERIES[technique]
        plot_mean(axes[0], group, "bits", "accuracy", 100, style, f"{dataset}/{model} {name}")
        plot_mean(axes[1], group, "bits", "size_bytes", 1 / KB, style, f"{dataset}/{model} {name}")
    axes[0].set(xlabel="weight bits", ylabel="test accuracy (%)")
    axes[1].set(xlabel="weight bits", ylabel="size (KiB, log)", yscale="log")
    finish(
        fig,
        axes,
        path,
        "Accuracy and size vs weight bit-width: the post-training sweep's sizes are computed; QAT and "
        f"litert-quantizer (dynamic recipes) sizes are real .tflite files; {SPREAD}",
    )


def weight_bits(recipe: str) -> float:
    """The weight width a litert-quantizer recipe names: 'dynamic_wi4_afp32' -> 4."""
    return float(re.search(r"wi(\d+)", recipe).group(1))


# ----------------------------------------------------------------------------- pruning


# One pruning curve per structure and recovery budget: a longer budget is another treatment.
PRUNE_SERIES = ["dataset", "model", "structure", "recovery"]


def budget_label(structure, recovery) -> str:
    """A pruned series' name: its structure, and its recovery budget where it is not the default."""
    if pd.isna(recovery) or recovery == DEFAULT_RECOVERY:
        return str(structure)
    return f"{structure} x{recovery:g} recovery"


def series_label(dataset, model, structure, recovery) -> str:
    return f"{dataset}/{model} {budget_label(structure, recovery)}"


def pruning(frame, path):
    pruned = frame[frame["technique"] == "prune"]
    if pruned.empty:
        return empty(path, "No pruning in this config (chain 'baseline > prune').")
    sparse = frame[(frame["technique"] == "prune>tflite") & (frame["mode"] == "fp32-sparse")]
    sparse_files = dict(list(sparse.groupby(PRUNE_SERIES)))
    fig, axes = grid(3, ncols=3, size=(4.6, 3.4))
    for key, group in pruned.groupby(PRUNE_SERIES):
        label = series_label(*key)
        plot_mean(axes[0], group, "sparsity", "accuracy", 100, label=label)
        plot_mean(axes[2], group, "sparsity", "nonzero_params", label=label)
        files = sparse_files.get(key)
        if files is not None:
            plot_mean(axes[1], files, "sparsity", "size_bytes", 1 / KB, label=label)
    axes[0].set(xlabel="target sparsity", ylabel="test accuracy (%)")
    axes[1].set(xlabel="target sparsity", ylabel="fp32 sparse .tflite (KiB, log)", yscale="log")
    axes[2].set(xlabel="target sparsity", ylabel="non-zero parameters (log)", yscale="log")
    finish(fig, axes, path, f"Pruning: accuracy, sparse-encoded size and parameters vs sparsity; {SPREAD}")


def prune_quantize(frame, path):
    chains = frame[frame["technique"].isin(["prune>tflite", "prune>cluster>tflite", "prune>qat"])]
    if chains.empty:
        return empty(path, "No prune -> quantize chain in this config.")
    keys = pairs(chains)
    fig, axes = grid(len(keys))
    for ax, (dataset, model) in zip(axes, keys, strict=False):
        group = chains[(chains["dataset"] == dataset) & (chains["model"] == model)]
        series = ["technique", "mode", "structure", "recovery", "clusters"]
        for (technique, mode, structure, recovery, clusters), line in group.groupby(series, dropna=False):
            shared = "" if pd.isna(clusters) else f" c{clusters:g}"
            label = f"{technique} {mode}{shared} {budget_label(structure, recovery)}"
            plot_mean(ax, line, "sparsity", col.GZIP_RATIO, label=label)
        ax.set(title=f"{dataset} / {model}", xlabel="target sparsity", ylabel="x smaller (gzip vs fp32 gzip)")
    finish(
        fig, axes, path, f"Prune -> quantize: compression of the shipped bytes (gzip) vs the float32 .tflite; {SPREAD}"
    )


def structured(frame, path):
    """Accuracy change against batch-1 speed (XNNPACK filled, builtin kernels hollow) of every pruned
    file: structured pruning beside unstructured, per pair."""
    kinds = frame["technique"].str.split(">")
    files = frame[(kinds.str[-1] == "tflite") & kinds.map(lambda k: "structured" in k or "prune" in k)]
    if not kinds.map(lambda k: "structured" in k).any() or col.SPEEDUP not in files:
        return empty(path, "No structured pruning in this config (chain 'baseline > structured > tflite').")
    keys = pairs(files)
    fig, axes = grid(len(keys), size=(4.6, 3.6))
    files = files.assign(configuration=files["chain"].map(configuration))
    for ax, (dataset, model) in zip(axes, keys, strict=False):
        group = files[(files["dataset"] == dataset) & (files["model"] == model)]
        for label, marker in (("structured", "o"), ("unstructured", "s")):
            part = group[group["technique"].str.contains("structured") == (label == "structured")]
            if part.empty:
                continue
            means = part.groupby("configuration")[[col.ACCURACY_CHANGE, col.SPEEDUP, *_xnnpack(part)]].mean()
            if col.SPEEDUP_XNNPACK in means:
                ax.scatter(
                    means[col.SPEEDUP_XNNPACK], means[col.ACCURACY_CHANGE], marker=marker, label=f"{label}, XNNPACK"
                )
            ax.scatter(
                means[col.SPEEDUP],
                means[col.ACCURACY_CHANGE],
                marker=marker,
                facecolors="none",
                edgecolors="gray",
                label=f"{label}, builtin kernels",
            )
        ax.axvline(1.0, color="black", lw=0.6)
        ax.set(
            title=f"{dataset} / {model}",
            xlabel="x faster than float32 .tflite (batch 1, log)",
            ylabel="accuracy change (pt)",
            xscale="log",
        )
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.xaxis.set_major_formatter(lambda value, _: f"{value:g}x")
    finish(fig, axes, path, "Pruned files: accuracy change vs batch-1 speed; means over seeds")


def _xnnpack(frame) -> list:
    return [col.SPEEDUP_XNNPACK] if col.SPEEDUP_XNNPACK in frame else []


# ----------------------------------------------------------------------------- distillation


def distill_temperature(frame, path):
    distilled = frame[(frame["technique"] == "distill") & (frame["student"] != "self")]
    if distilled.empty:
        return empty(path, "No distillation in this config (chain 'baseline > distill').")
    keys = sorted({(d, s) for d, s in zip(distilled["dataset"], distilled["student"], strict=True)})
    fig, axes = grid(len(keys), ncols=3, size=(4.6, 3.4))
    for ax, (dataset, student) in zip(axes, keys, strict=False):
        group = distilled[(distilled["dataset"] == dataset) & (distilled["student"] == student)]
        for (teacher, alpha), line in group.groupby(["model", "alpha"]):
            plot_mean(ax, line, "temperature", "accuracy", 100, label=f"distilled from {teacher}, alpha {alpha:g}")
        control = frame[
            (frame["dataset"] == dataset) & (frame["model"] == student) & (frame["technique"] == "baseline")
        ]
        if not control.empty:
            ci = interval(control["accuracy"] * 100)
            ax.axhline(ci["mean"], color="k", lw=1, label=f"from scratch (n={ci['n']})")
            if ci["n"] >= 2:
                ax.axhspan(ci["ci_low"], ci["ci_high"], color="k", alpha=0.12)
        ax.set(title=f"{dataset}: student {student}", xlabel="temperature T", ylabel="test accuracy (%)", xscale="log")
    finish(
        fig,
        axes,
        path,
        f"Distillation: student accuracy vs temperature ({SPREAD}); from-scratch control and its interval in grey",
    )


def distill_sizes(frame, path):
    baselines = frame[frame["technique"] == "baseline"]
    students = set(frame.loc[frame["technique"].str.startswith("distill"), "student"].dropna()) - {"self"}
    if not students:
        return empty(path, "No distilled students in this config.")
    archs = baselines.groupby("architecture").agg(params=("params", "first"), keras_bytes=("size_bytes", "median"))
    tfl = frame[(frame["technique"].isin(["tflite", "distill>tflite"])) & (frame["mode"].isin(["fp32", "int8"]))]
    fig, axes = grid(2, ncols=2, size=(6, 3.4))
    archs["params"].sort_values().plot.barh(ax=axes[0], logx=True)
    axes[0].set(xlabel="parameters (log)", ylabel="")
    if not tfl.empty:
        sizes = tfl.groupby(["architecture", "mode"])["size_bytes"].median().unstack("mode") / KB
        sizes.plot.barh(ax=axes[1], logx=True)
    axes[1].set(xlabel=".tflite size (KiB, log)", ylabel="")
    finish(fig, axes, path, "Teachers and students: parameters and .tflite sizes")


# ----------------------------------------------------------------------------- overview


def pareto_front(points: pd.DataFrame, x: str) -> pd.DataFrame:
    """Points no other point beats on both axes (smaller x, higher accuracy)."""
    points = points.sort_values([x, "accuracy"], ascending=[True, False])
    best, keep = -np.inf, []
    for idx, acc in zip(points.index, points["accuracy"], strict=True):
        if acc > best:
            keep.append(idx)
            best = acc
    return points.loc[keep]


def configuration_means(points: pd.DataFrame, x: str) -> pd.DataFrame:
    """One point per configuration: mean x and mean accuracy over seeds, with the accuracy interval."""
    rows = []
    for name, sub in points.groupby(points["chain"].map(configuration)):
        ci = interval(sub["accuracy"])
        rows.append(
            {
                "configuration": name,
                "technique": sub["technique"].iloc[0],
                x: sub[x].mean(),
                "accuracy": ci["mean"],
                "below": ci["mean"] - ci["ci_low"],
                "above": ci["ci_high"] - ci["mean"],
            }
        )
    return pd.DataFrame(rows, columns=["configuration", "technique", x, "accuracy", "below", "above"]).fillna(
        {"below": 0.0, "above": 0.0}
    )


def front_panels(files: pd.DataFrame, axes_spec: list, path, title: str) -> None:
    """One panel per dataset x model x (column, label) in axes_spec: configuration means of accuracy
    against that column (log), with their intervals and the Pareto front."""
    keys = pairs(files)
    fig, axes = grid(len(keys) * len(axes_spec), ncols=4)
    panels = iter(axes)
    for dataset, model in keys:
        group = files[(files["dataset"] == dataset) & (files["model"] == model)]
        for x, label in axes_spec:
            ax = next(panels)
            points = configuration_means(group[group[x].notna()], x)
            for technique, sub in points.groupby("technique"):
                ax.errorbar(
                    sub[x],
                    sub["accuracy"] * 100,
                    yerr=[sub["below"] * 100, sub["above"] * 100],
                    fmt="o",
                    ms=3.5,
                    capsize=2,
                    label=technique,
                )
            front = pareto_front(points, x)
            ax.plot(front[x], front["accuracy"] * 100, "k-", lw=1)
            low = np.percentile(points["accuracy"], 10) * 100 if len(points) else 0
            ax.set(
                title=f"{dataset} / {model}",
                xlabel=label,
                ylabel="test accuracy (%)",
                xscale="log",
                ylim=(max(0, low - 2), None),
            )
            ax.xaxis.set_minor_formatter(NullFormatter())  # minor labels collide on a short log axis
    finish(fig, axes, path, title)


def pareto(frame, path):
    files = frame[(frame["format"] == "tflite") & frame["gzip_bytes"].notna()]
    if files.empty:
        return empty(path, "No .tflite artefacts yet.")
    spec = [("gzip_bytes", "gzip size (bytes, log)")]
    if col.LATENCY in files and files[col.LATENCY].notna().any():
        spec.append((col.LATENCY, "batch-1 latency, 1 thread (us, log)"))
    front_panels(
        files,
        spec,
        path,
        f"Pareto fronts across all chains, from configuration means: accuracy vs shipped size and vs latency; {SPREAD}",
    )


def energy(frame, path):
    if col.ENERGY_EST not in frame or frame[col.ENERGY_EST].notna().sum() == 0:
        return empty(path, "No energy estimates in the summary (config has no energy table).")
    files = frame[frame[col.ENERGY_EST].notna()]
    front_panels(
        files,
        [(col.ENERGY_EST, "ESTIMATED energy per inference (uJ, log)")],
        path,
        "Accuracy vs estimated energy per batch-1 inference (operation counts as LiteRT runs them, priced "
        f"with the config's per-operation table: an estimate, not a measurement); {SPREAD}",
    )


def speedups(frame, path):
    column = col.SPEEDUP
    if column not in frame or frame[column].notna().sum() == 0:
        return empty(path, "No CPU benchmarks in the summary.")
    data = frame[frame[column].notna()]
    keys = pairs(data)
    bars = max(len(data[(data["dataset"] == d) & (data["model"] == m)]) for d, m in keys)
    fig, axes = grid(len(keys), ncols=2, size=(6.5, 1.0 + 0.16 * bars))
    for ax, (dataset, model) in zip(axes, keys, strict=False):
        group = data[(data["dataset"] == dataset) & (data["model"] == model)].copy()
        group["label"] = group["chain"].str.replace("baseline/", "", regex=False)
        group = group.sort_values(column)
        spread = None
        p10, p90 = col.speedup(stat="_p10"), col.speedup(stat="_p90")
        if p10 in group and p90 in group:
            spread = np.vstack([group[column] - group[p10], group[p90] - group[column]])
            spread = np.clip(np.nan_to_num(spread), 0, None)
        ax.barh(group["label"], group[column], xerr=spread, error_kw={"lw": 0.8, "capsize": 1.5})
        ax.axvline(1.0, color="k", lw=1)
        ax.set(title=f"{dataset} / {model}", xlabel="batch-1 speedup vs fp32 .tflite (1 thread)")
        ax.tick_params(axis="y", labelsize=6)
    finish(
        fig,
        axes,
        path,
        "CPU speedups (LiteRT, batch 1, one thread): median of per-round ratios measured side by side, "
        "whiskers 10th-90th percentile",
    )
