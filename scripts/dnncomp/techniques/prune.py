"""Magnitude pruning (TFMOT, gradual polynomial schedule) and sparsity-preserving weight clustering."""

from __future__ import annotations

import numpy as np

from ..core.sizes import kernel_sparsity
from ..core.stepkind import Param, StepKind

# n:m patterns (TFMOT's sparsity_m_by_n): n zeros in every m consecutive inputs of an output unit,
# the pattern recent GPUs' sparse tensor cores run; the pattern fixes the sparsity.
M_BY_N = {"2by4": (2, 4)}
# Per-layer targets allocated from the parent's sensitivity analysis (dnncomp.measure.sensitivity).
LAYERWISE = "layerwise"
STRUCTURES = ("unstructured", "block", LAYERWISE, *M_BY_N)


def pattern_sparsity(structure: str) -> float:
    zeros, group = M_BY_N[structure]
    return zeros / group


def check_sweep(section: dict) -> None:
    """A chain crosses its structures with its sparsities: an n:m structure only goes with its own."""
    for structure in set(section.get("structures", [])) & set(M_BY_N):
        fixed = pattern_sparsity(structure)
        other = sorted(float(s) for s in section.get("sparsities", []) if float(s) != fixed)
        if other:
            raise ValueError(
                f"structure '{structure}' fixes the sparsity at {fixed:.2f}, but the sweep also has sparsities "
                f"{other}: give '{structure}' a chain entry with sparsities [{fixed}]"
            )


STEP_KINDS = {
    "prune": StepKind(
        "prune-s{sparsity}-{structure}{recovery}",
        {
            "sparsity": Param(r"0\.\d+", float, sweep="sparsities", fmt="{:.2f}"),
            "structure": Param("|".join(STRUCTURES), sweep="structures"),
            # The recovery budget in multiples of `epochs` (the ramp stretches with it): "-x5" in the path.
            "recovery": Param(r"[1-9]\d*", int, sweep="recovery", default=1, prefix="-x"),
        },
        rules="rules/prune.smk",
        check=check_sweep,
    ),
    "cluster": StepKind(
        "cluster-c{clusters}", {"clusters": Param(r"\d+", int, sweep="clusters")}, rules="rules/prune.smk"
    ),
}


def layer_sparsity(name: str, target: float, caps: dict) -> float:
    """Per-layer target: the sweep's sparsity, capped for layers the config keeps denser."""
    return min(float(target), float(caps.get(name, 1.0)))


def allocated(layer_targets: dict, layer) -> float:
    if layer.name not in layer_targets:
        raise ValueError(f"the sensitivity allocation has no target for layer '{layer.name}'")
    return float(layer_targets[layer.name])


def block_for(keras, layer, structure: str, block_size: tuple, is_output: bool = False) -> tuple:
    """Block shape for a layer. TFLite's sparse FullyConnected kernels need blocks along the input
    dimension of a Dense kernel ([in, out] in Keras). Convolutions stay unstructured; so does the output
    layer, where whole blocks can take every input of a class away and that class is never predicted
    again (seen on LeNet-5: 84x10 logits in 16x1 blocks lost one class at 50 % sparsity); and so do
    kernels that would pool to a single block row or column, which TFMOT's block pruning cannot handle."""
    if structure != "block" or is_output or not isinstance(layer, keras.layers.Dense):
        return (1, 1)
    rows, cols = layer.kernel.shape
    if -(-rows // block_size[0]) < 2 or -(-cols // block_size[1]) < 2:
        return (1, 1)
    return tuple(block_size)


def prunable(keras, layer) -> bool:
    return isinstance(layer, (keras.layers.Dense, keras.layers.Conv2D))


# Why a depthwise or separable convolution keeps its weights (a user's MobileNet-style model has them).
NOT_PRUNED = (
    "depthwise kernels are not pruned: each holds one small filter per channel, and LiteRT has no sparse "
    "kernel for them; remove whole channels instead"
)


def unpruned_kernel(layer) -> bool:
    """A layer with a convolution kernel that prunable() leaves alone (DepthwiseConv2D, SeparableConv2D)."""
    return hasattr(layer, "depthwise_kernel")


def prune_wrap(tfmot, keras, model, sparsity: float, structure: str, total_steps: int, cfg: dict, layer_targets=None):
    """Wrap each Dense/Conv2D layer with prune_low_magnitude.

    Sparsity rises from 0 to its target along a polynomial decay over the first `ramp_fraction` of the
    fine-tuning steps, masks updated every `frequency` steps: many small prune-retrain cycles, which is
    how the gradual schedule covers the survey's iterative pruning. The remaining steps retrain at the
    final sparsity. Returns the wrapped model and the plan of each layer.

    The layerwise structure takes each layer's target from `layer_targets` (the allocation of the
    global sparsity by sensitivity), in place of the common target and its caps.

    An n:m structure applies its whole pattern at every mask update over the same steps (TFMOT 0.8 has
    no gradual n:m schedule). Its groups run along a kernel's input axis (a convolution's input
    channels); TFMOT pads a short group with zeros, so a layer whose input count is not a multiple of
    m ends less sparse (a one-channel first convolution keeps every weight): the record's per-layer
    sparsity says what each layer got.
    """
    sk = tfmot.sparsity.keras
    if structure in M_BY_N:
        check_sweep({"structures": [structure], "sparsities": [sparsity]})
    if (structure == LAYERWISE) != (layer_targets is not None):
        raise ValueError(f"per-layer targets go with the '{LAYERWISE}' structure alone (structure '{structure}')")
    end_step = max(1, int(total_steps * cfg["ramp_fraction"]))
    frequency = max(1, min(int(cfg["frequency"]), end_step))
    caps = cfg.get("max_layer_sparsity") or {}
    output_name = model.layers[-1].name
    plan = {}

    def wrap(layer):
        if not prunable(keras, layer):
            if unpruned_kernel(layer):
                plan[layer.name] = {"target_sparsity": 0.0, "left_dense": NOT_PRUNED}
            return layer
        target = (
            layer_sparsity(layer.name, sparsity, caps) if layer_targets is None else allocated(layer_targets, layer)
        )
        if target <= 0:
            plan[layer.name] = {"target_sparsity": 0.0}
            return layer
        if structure in M_BY_N:
            if target < sparsity:  # a cap below the pattern's sparsity keeps the layer dense
                plan[layer.name] = {"target_sparsity": 0.0, "m_by_n": None}
                return layer
            plan[layer.name] = {"target_sparsity": target, "m_by_n": list(M_BY_N[structure])}
            # The pattern sets the sparsity; the schedule only says when the masks are recomputed.
            schedule = sk.ConstantSparsity(target, begin_step=0, end_step=end_step, frequency=frequency)
            return sk.prune_low_magnitude(layer, pruning_schedule=schedule, sparsity_m_by_n=M_BY_N[structure])
        block = block_for(keras, layer, structure, tuple(cfg["block_size"]), layer.name == output_name)
        plan[layer.name] = {"target_sparsity": target, "block_size": list(block)}
        schedule = sk.PolynomialDecay(
            initial_sparsity=0.0, final_sparsity=target, begin_step=0, end_step=end_step, frequency=frequency
        )
        return sk.prune_low_magnitude(layer, pruning_schedule=schedule, block_size=block)

    wrapped = keras.models.clone_model(model, clone_function=wrap)
    return wrapped, plan


def hold_wrap(tfmot, keras, model, sparsity: float, structure: str, total_steps: int, cfg: dict):
    """Wrap a model pruned by a step (`sparsity`, `structure`) so that further training (self-distillation)
    keeps its zeros: masks at the step's sparsity from the first step. A layerwise model's layers each
    hold their own sparsity, read from its kernels: the allocation it was pruned to."""
    targets = kernel_sparsity(model) if structure == LAYERWISE else None
    held = dict(cfg, ramp_fraction=0.0)
    return prune_wrap(tfmot, keras, model, sparsity, structure, total_steps, held, layer_targets=targets)


def strip(tfmot, model):
    return tfmot.sparsity.keras.strip_pruning(model)


def pruning_callbacks(tfmot):
    return [tfmot.sparsity.keras.UpdatePruningStep()]


def mask_steps(model) -> int:
    """The last fine-tuning step at which a pruning schedule of `model` still changes its masks
    (0 without pruning wrappers): a decaying learning rate holds until then. TFMOT exports no wrapper
    class to test against; each wrapper carries its schedule."""
    schedules = (getattr(layer, "pruning_schedule", None) for layer in model.layers)
    return max((schedule.end_step for schedule in schedules if schedule is not None), default=0)


def cluster_wrap(tfmot, keras, model, clusters: int) -> tuple:
    """(the model with each Dense/Conv2D kernel clustered into `clusters` shared values, pruned zeros
    kept at zero; {layer: why} for the layers left as they are).

    TFMOT splits the non-zero centroids between negative and positive weights in proportion and cannot
    place more centroids than a side has weights: a small or very sparse kernel (a user's 1x1
    convolution pruned to 90 %) is refused when its wrapper is built, and stays unclustered."""
    import tensorflow as tf
    from tensorflow_model_optimization.python.core.clustering.keras.experimental import cluster as cluster_api

    ck = tfmot.clustering.keras
    skipped = {}

    def wrap(layer):
        if not prunable(keras, layer):
            return layer
        wrapper = cluster_api.cluster_weights(
            layer,
            number_of_clusters=int(clusters),
            cluster_centroids_init=ck.CentroidInitialization.KMEANS_PLUS_PLUS,
            preserve_sparsity=True,
        )
        try:
            wrapper.build(layer.input_shape)  # the centroids are initialized here
        except tf.errors.InvalidArgumentError:
            nonzero = int(np.count_nonzero(np.asarray(layer.kernel)))
            skipped[layer.name] = f"{nonzero} non-zero weights: too few of one sign for {clusters} clusters"
            return layer
        return wrapper

    return keras.models.clone_model(model, clone_function=wrap), skipped


def strip_clusters(tfmot, model):
    return tfmot.clustering.keras.strip_clustering(model)
