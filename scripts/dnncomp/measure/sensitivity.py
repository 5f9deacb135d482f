"""Per-layer pruning sensitivity and the allocation of a global sparsity budget across layers.

The analysis prunes one layer at a time, one-shot by magnitude and without fine-tuning (as Han et al.
2015 did by hand), over a grid of sparsities, and records the validation accuracy lost; the test split
is never used, so an allocation drawn from it does not peek at the numbers it is judged on.

The allocation gives every layer the same tolerated loss: each layer gets the largest sparsity whose
loss stays within a common tolerance, and the tolerance is chosen so that the layers together reach
the global sparsity (zeros among all prunable weights). Robust layers end sparser than sensitive ones,
and large layers, where the zeros are, decide the budget."""

from __future__ import annotations

import numpy as np

from ..core.evaluate import accuracy, keras_logits


def one_shot_mask(kernel: np.ndarray, sparsity: float) -> np.ndarray:
    """True for the weights kept when the smallest-magnitude `sparsity` share is zeroed."""
    drop = int(round(kernel.size * float(sparsity)))
    keep = np.ones(kernel.size, dtype=bool)
    keep[np.argsort(np.abs(kernel), axis=None, kind="stable")[:drop]] = False
    return keep.reshape(kernel.shape)


def layer_curves(model, layer_names, sparsities, x_val, y_val) -> dict:
    """{layer: {"params", "sparsities", "accuracy", "drop"}} plus the unpruned accuracy: each layer
    pruned alone, its kernel restored before the next."""
    reference = accuracy(keras_logits(model, x_val), y_val)
    layers = {}
    for name in layer_names:
        kernel_var = model.get_layer(name).kernel
        kernel = np.asarray(kernel_var)
        accs = []
        for sparsity in sparsities:
            kernel_var.assign(np.where(one_shot_mask(kernel, sparsity), kernel, 0).astype(kernel.dtype))
            accs.append(accuracy(keras_logits(model, x_val), y_val))
        kernel_var.assign(kernel)
        layers[name] = {
            "params": int(kernel.size),
            "sparsities": [float(s) for s in sparsities],
            "accuracy": accs,
            "drop": [reference - a for a in accs],
        }
    return {"reference_accuracy": reference, "layers": layers}


def envelope(curve: dict) -> tuple:
    """(loss, sparsity) points from sparsity 0 on: the loss made monotone (a loss once seen is not
    undone by a higher sparsity; a gain counts as none) and strictly increasing by a negligible slope,
    so the sparsity within a tolerance is a continuous, increasing function of it."""
    grid = np.concatenate([[0.0], curve["sparsities"]])
    loss = np.maximum.accumulate(np.maximum(np.concatenate([[0.0], curve["drop"]]), 0.0))
    return loss + 1e-9 * np.arange(len(grid)), grid


def sparsity_within(curve: dict, tolerance: float) -> float:
    """The largest sparsity whose loss stays within `tolerance`, linear between grid points."""
    loss, grid = envelope(curve)
    return float(np.interp(tolerance, loss, grid))


def overall_sparsity(curves: dict, tolerance: float) -> float:
    """Zeros among all the layers' weights when each is pruned to its sparsity within `tolerance`."""
    params = np.array([c["params"] for c in curves.values()], dtype=float)
    sparsity = np.array([sparsity_within(c, tolerance) for c in curves.values()])
    return float(params @ sparsity / params.sum())


def allocate(curves: dict, budget: float) -> dict:
    """Per-layer sparsities with a common tolerated loss that together zero `budget` of the weights."""
    highest = max(envelope(curve)[0][-1] for curve in curves.values())
    reachable = overall_sparsity(curves, highest)
    if budget > reachable + 1e-6:
        raise ValueError(
            f"a global sparsity of {budget:.2f} is beyond the sensitivity grid: every layer at the grid's "
            f"highest sparsity gives {reachable:.3f}; extend techniques.prune.sensitivity"
        )
    if budget >= reachable:
        tolerance = highest
    else:
        # Imported here: every prune job imports this module, and only a layerwise one solves (0.3 s).
        from scipy.optimize import brentq

        tolerance = brentq(lambda t: overall_sparsity(curves, t) - budget, 0.0, highest, xtol=1e-9)
    targets = {name: sparsity_within(curve, tolerance) for name, curve in curves.items()}
    return {"budget": float(budget), "tolerance": float(tolerance), "targets": targets}
