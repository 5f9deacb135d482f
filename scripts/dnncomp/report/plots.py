"""Figures, drawn with matplotlib (Agg: no display needed on a cluster node)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from ..core.io import atomic_path  # noqa: E402


def save(fig, path) -> None:
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)


def learning_curve(history: dict, path, title: str) -> None:
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.4))
    epochs = range(1, len(history["loss"]) + 1)
    for key, style in (("loss", "-"), ("val_loss", "--")):
        ax_loss.plot(epochs, history[key], style, label=key.replace("_", " "))
    for key, style in (("accuracy", "-"), ("val_accuracy", "--")):
        ax_acc.plot(epochs, history[key], style, label=key.replace("_", " "))
    ax_loss.set(xlabel="epoch", ylabel="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    save(fig, path)


def no_training(path, title: str) -> None:
    """The learning-curve slot of a baseline that was imported, not trained here."""
    fig, ax = plt.subplots(figsize=(9, 1.6))
    ax.axis("off")
    ax.text(0.5, 0.5, "no learning curve: the baseline's trained weights come from the file", ha="center", va="center")
    fig.suptitle(title)
    save(fig, path)


def sensitivity_curves(analysis: dict, path, title: str) -> None:
    """Validation accuracy lost when one layer at a time is pruned one-shot, per layer."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for name, curve in analysis["layers"].items():
        losses = [100 * d for d in curve["drop"]]
        ax.plot(curve["sparsities"], losses, "o-", ms=3, label=f"{name} ({curve['params']:,} weights)")
    ax.set(xlabel="sparsity of the one layer pruned", ylabel="validation accuracy lost (pt)")
    ax.set_yscale("symlog", linthresh=1)
    ax.grid(alpha=0.3)
    # A user's model may have dozens of layers: then the legend goes beside the axes, in columns.
    many = len(analysis["layers"]) > 8
    ax.legend(
        fontsize=7 if many else 8,
        ncol=1 + len(analysis["layers"]) // 16,
        loc="upper left" if many else None,
        bbox_to_anchor=(1.01, 1.0) if many else None,
    )
    ax.set_title(title)
    save(fig, path)
