"""Structured pruning: remove whole Dense neurons, Conv2D filters and depthwise channels, and rebuild a
smaller dense model with real smaller layers (TFMOT has none, tensorflow/model-optimization#732).

The model is read as a graph of layers (dnncomp.core.graph). Every channel of every tensor is traced
to the channel of the layer that made it (a Dense unit, a Conv2D or SeparableConv2D filter):

- layers that compute each channel from the same channel alone (BatchNormalization, activations,
  pooling, padding, a DepthwiseConv2D with depth_multiplier 1) pass the channels through;
- an Add ties channel i of each of its inputs into one channel: removed together or kept together;
- a Concatenate lays its inputs' channels side by side; a Flatten after a convolution repeats each
  channel at every position (its index map);
- a layer that mixes channels in another way (Softmax, Reshape, a depthwise multiplier > 1, a grouped
  convolution) and the model's output fix the channels it touches: they stay whole, and the record
  says why.

A channel removed from its producer is removed from every layer that reads it, so the rebuilt model
computes exactly the original with those channels zeroed where they are read (after their
BatchNormalization and activation). The logits are never pruned, and the model's input shape stays:
an MLP loses input pixels through a Cropping2D before its Flatten (the empty borders of MNIST).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace

import numpy as np

from ..core import graph as layer_graph
from ..core.errors import UserError
from ..core.stepkind import Param, StepKind

CRITERIA = ("l1", "l2", "bn", "slim")
# c: keep this fraction of every prunable layer's channels; m: keep this fraction of the model's MACs,
# allocated over the layers by a global ranking of the channels.
TARGETS = ("c", "m")

STEP_KINDS = {
    "structured": StepKind(
        "prune-{target}{kept}-{criterion}{rounds}",
        {
            "target": Param("|".join(TARGETS), sweep="targets"),
            "kept": Param(r"0\.\d+", float, sweep="kept", fmt="{:.2f}"),
            "criterion": Param("|".join(CRITERIA), sweep="criteria"),
            # Gradual: cut, fine-tune, repeat, within the same epoch budget: "-r3" in the path.
            "rounds": Param(r"[1-9]", int, sweep="rounds", default=1, prefix="-r"),
        },
        rules="rules/prune.smk",
    ),
}

PRODUCERS = ("Dense", "Conv2D", "SeparableConv2D")
# Channel c of the output depends on channel c of the input alone.
PER_CHANNEL = (
    "BatchNormalization",
    "Activation",
    "ReLU",
    "LeakyReLU",
    "Dropout",
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "ZeroPadding2D",
    "Cropping2D",
    "DepthwiseConv2D",  # with depth_multiplier 1 (checked)
)


class StructuredPruningError(UserError):
    """A structured pruning request that cannot be met; the message names the key or the layer."""


# ----------------------------------------------------------------------------- tracing channels


class Channels:
    """Union-find over channel atoms (producer, index): atoms tied by an Add are one channel."""

    def __init__(self):
        self.parent: dict = {}
        self.fixed: dict = {}  # root -> why the channel cannot be removed

    def add(self, atom) -> None:
        self.parent.setdefault(atom, atom)

    def root(self, atom):
        while self.parent[atom] != atom:
            self.parent[atom] = self.parent[self.parent[atom]]
            atom = self.parent[atom]
        return atom

    def tie(self, a, b) -> None:
        ra, rb = self.root(a), self.root(b)
        if ra != rb:
            self.parent[rb] = ra
            if rb in self.fixed:
                self.fixed.setdefault(ra, self.fixed.pop(rb))

    def fix(self, atoms, why: str) -> None:
        for atom in atoms:
            self.fixed.setdefault(self.root(atom), why)

    def why_fixed(self, atom):
        return self.fixed.get(self.root(atom))


@dataclass
class Trace:
    """The channel atoms along the last axis of every layer's output."""

    graph: layer_graph.Graph
    channels: Channels
    features: dict = field(default_factory=dict)  # layer -> [atom, ...] along its output's last axis


def trace(graph: layer_graph.Graph, shapes: dict) -> Trace:
    """Follow the channels through the graph. `shapes` holds every layer's output shape without the
    batch dimension (from the built model)."""
    channels = Channels()
    features = {}
    for node in graph.nodes:
        features[node.name] = _output_atoms(node, graph, shapes, features, channels)
    for out in graph.outputs:
        channels.fix(features[out], f"reaches the model's output '{out}' (the logits are never pruned)")
    return Trace(graph, channels, features)


def _new_atoms(name: str, count: int, channels: Channels) -> list:
    atoms = [(name, i) for i in range(count)]
    for atom in atoms:
        channels.add(atom)
    return atoms


def _output_atoms(node, graph, shapes, features, channels) -> list:
    kind, config, inputs = node.kind, node.config, [features[i] for i in node.inputs]
    shape = shapes[node.name]
    if kind == "InputLayer":
        atoms = _new_atoms(node.name, shape[-1], channels)
        channels.fix(atoms, "the model's input channels")
        return atoms
    if kind in PRODUCERS:
        if config.get("groups", 1) != 1:
            channels.fix(inputs[0], f"read by the grouped convolution '{node.name}'")
            atoms = _new_atoms(node.name, shape[-1], channels)
            channels.fix(atoms, f"made by the grouped convolution '{node.name}'")
            return atoms
        return _new_atoms(node.name, shape[-1], channels)
    if kind == "DepthwiseConv2D" and config.get("depth_multiplier", 1) != 1:
        channels.fix(inputs[0], f"read by '{node.name}', a depthwise convolution with depth_multiplier > 1")
        atoms = _new_atoms(node.name, shape[-1], channels)
        channels.fix(atoms, f"made by '{node.name}', a depthwise convolution with depth_multiplier > 1")
        return atoms
    if kind == "Softmax" or (kind == "Activation" and config.get("activation") == "softmax"):
        channels.fix(inputs[0], f"read by the softmax '{node.name}', which mixes channels")
        return inputs[0]
    if kind in PER_CHANNEL or (kind == "Rescaling" and _scalar(config)):
        if kind == "BatchNormalization" and _bn_axis(config) != -1:
            channels.fix(inputs[0], f"read by '{node.name}', a BatchNormalization over axis {config.get('axis')}")
        return inputs[0]
    if kind == "Add":
        for others in inputs[1:]:
            for a, b in zip(inputs[0], others, strict=True):
                channels.tie(a, b)
        return inputs[0]
    if kind == "Concatenate" and config.get("axis", -1) in (-1, len(shape)):
        return [atom for atoms in inputs for atom in atoms]
    if kind == "Flatten":
        positions = int(np.prod(shapes[node.inputs[0]][:-1])) if len(shapes[node.inputs[0]]) > 1 else 1
        return list(inputs[0]) * positions  # channels last: index p * C + c
    # Reshape, a Concatenate on another axis, Rescaling or Normalization with per-channel values:
    # the channels it reads and makes stay whole.
    for atoms in inputs:
        channels.fix(atoms, f"read by '{node.name}' ({kind}), which does not keep channels apart")
    atoms = _new_atoms(node.name, shape[-1], channels)
    channels.fix(atoms, f"made by '{node.name}' ({kind})")
    return atoms


def _scalar(config: dict) -> bool:
    """A Rescaling by one scale and offset for every channel."""
    return all(np.ndim(config.get(key, 0.0)) == 0 for key in ("scale", "offset"))


def _bn_axis(config: dict) -> int:
    axis = config.get("axis", -1)
    axis = axis[0] if isinstance(axis, list) and len(axis) == 1 else axis
    return -1 if axis in (-1, 3) else axis


# ----------------------------------------------------------------------------- the groups to prune


@dataclass
class Group:
    """The channels one producer makes, or several producers tied by Add: pruned as one layer."""

    producers: tuple
    roots: list  # one root atom per channel, in the first producer's order
    fixed: str | None = None  # why the group stays whole

    @property
    def name(self) -> str:
        return "+".join(self.producers)


def groups(tr: Trace) -> list:
    """The producer groups of the model, in graph order."""
    by_root: dict = {}
    for node in tr.graph.nodes:
        if node.kind not in PRODUCERS:
            continue
        for atom in tr.features[node.name]:
            by_root.setdefault(tr.channels.root(atom), []).append(node.name)
    found, seen = [], set()
    for node in tr.graph.nodes:
        if node.kind not in PRODUCERS or node.name in seen:
            continue
        roots = list(dict.fromkeys(tr.channels.root(a) for a in tr.features[node.name]))
        producers = tuple(dict.fromkeys(p for r in roots for p in by_root[r]))
        seen.update(producers)
        whys = [tr.channels.fixed[r] for r in roots if r in tr.channels.fixed]
        found.append(Group(producers, roots, whys[0] if whys else None))
    return found


# ----------------------------------------------------------------------------- importance


def filter_scores(node, weights: list, criterion: str) -> np.ndarray:
    """One score per output channel of a producer: the L1 or L2 norm of its filter."""
    kernel = weights[1] if node.kind == "SeparableConv2D" else weights[0]  # the pointwise kernel
    flat = np.abs(kernel.reshape(-1, kernel.shape[-1]))
    return np.sqrt((flat**2).sum(axis=0)) if criterion == "l2" else flat.sum(axis=0)


def following_bn(graph: layer_graph.Graph, name: str):
    """The BatchNormalization that alone reads a producer's output, if any."""
    consumers = graph.consumers(name)
    if len(consumers) == 1 and consumers[0].kind == "BatchNormalization":
        return consumers[0]
    return None


def channel_scores(tr: Trace, weights: dict, criterion: str) -> tuple[dict, list]:
    """({root atom: importance}, notes). Each producer's scores are divided by their mean, so that the
    producers of a group and the groups of a global ranking compare; a channel tied across producers
    adds its members' scores. `bn` and `slim` read the |gamma| of the BatchNormalization after the
    producer, and fall back to the L1 norm (noted) where there is none."""
    scores, notes = {}, []
    for node in tr.graph.nodes:
        if node.kind not in PRODUCERS:
            continue
        own = None
        if criterion in ("bn", "slim"):
            bn = following_bn(tr.graph, node.name)
            if bn is not None and bn.config.get("scale", True):
                own = np.abs(weights[bn.name][0])
            else:
                notes.append(f"'{node.name}': no BatchNormalization reads it alone; its filters' L1 norm is used")
        if own is None:
            own = filter_scores(node, weights[node.name], "l2" if criterion == "l2" else "l1")
        own = own / max(float(own.mean()), 1e-12)
        for atom, score in zip(tr.features[node.name], own, strict=True):
            root = tr.channels.root(atom)
            scores[root] = scores.get(root, 0.0) + float(score)
    return scores, notes


# ----------------------------------------------------------------------------- choosing what to keep


def keep_count(total: int, fraction: float, min_channels: int) -> int:
    return min(total, max(min_channels, int(np.ceil(fraction * total))))


def uniform_plan(group_list: list, scores: dict, kept: float, min_channels: int) -> set:
    """The removed root atoms: the lowest-scored (1 - kept) of each group's channels."""
    removed = set()
    for group in group_list:
        if group.fixed:
            continue
        keep = keep_count(len(group.roots), kept, min_channels)
        ranked = sorted(group.roots, key=lambda r: scores[r], reverse=True)
        removed.update(ranked[keep:])
    return removed


def layer_fractions(tr: Trace, group_list: list, requested: dict) -> tuple[dict, list]:
    """({group name: kept fraction}, notes) from `techniques.structured.layers` ({layer: fraction}).
    One config serves every model of the study, so a name that is not a layer of this model is noted and
    not applied; a layer that cannot lose channels, or the logits, is an error naming it."""
    fractions, notes = {}, []
    by_producer = {p: g for g in group_list for p in g.producers}
    for name, fraction in (requested or {}).items():
        key = f"techniques.structured.layers.{name}"
        if not 0 < fraction <= 1:
            raise StructuredPruningError(f"{key}: {fraction} must lie in (0, 1] (1 keeps the layer whole)")
        if name not in {n.name for n in tr.graph.nodes}:
            notes.append(f"{key}: model '{tr.graph.name}' has no layer '{name}'; not applied to it")
            continue
        node = tr.graph.node(name)
        if name in tr.graph.outputs and fraction < 1:
            raise StructuredPruningError(
                f"{key}: '{name}' makes the model's output (its units are the classes): it is never pruned"
            )
        if node.kind not in PRODUCERS:
            raise StructuredPruningError(
                f"{key}: '{name}' is a {node.kind}; only {', '.join(PRODUCERS)} layers lose channels "
                "(a BatchNormalization or DepthwiseConv2D follows the layer that makes its channels)"
            )
        group = by_producer[name]
        if group.fixed and fraction < 1:
            raise StructuredPruningError(f"{key}: '{name}' cannot lose channels: its outputs are {group.fixed}")
        # Producers tied by an Add lose the same channels: the group keeps the most any of them asks.
        fractions[group.name] = max(fraction, fractions.get(group.name, 0.0))
    return fractions, notes


def held_plan(group_list: list, scores: dict, fractions: dict, min_channels: int) -> set:
    """The removed root atoms of the groups whose kept fraction the config sets layer by layer."""
    removed = set()
    for group in group_list:
        if group.name in fractions and not group.fixed:
            removed |= uniform_plan([group], scores, fractions[group.name], min_channels)
    return removed


def macs_plan(
    tr: Trace, group_list: list, scores: dict, macs: dict, kept: float, min_channels: int, crop=None, held=None
):
    """The removed root atoms that bring the model's MACs to `kept` of the original: channels ranked
    over the whole model by their normalized score per MAC they cost, removed lowest first (each group
    keeps at least `min_channels`), as few as needed. Per MAC, so that a cheap channel (of a layer
    with few inputs) is not given up for little saving. `held` ({group: fraction}) sets some groups'
    share beforehand; the ranking allocates the rest."""
    held = held or {}
    base = model_macs(tr, macs, set(), crop)
    target = kept * base
    pre = held_plan(group_list, scores, held, min_channels)
    floor = {g.name: keep_count(len(g.roots), 0.0, min_channels) for g in group_list}
    candidates = []
    for group in group_list:
        if group.fixed or group.name in held:
            continue
        cost = base - model_macs(tr, macs, {group.roots[0]}, crop)  # every channel of a group costs the same
        ranked = sorted(group.roots, key=lambda r: scores[r])
        candidates.extend((scores[r] / max(cost, 1.0), r) for r in ranked[: len(ranked) - floor[group.name]])
    mean_cost = np.mean([c[0] for c in candidates]) if candidates else 1.0
    candidates = [(key / mean_cost, root) for key, root in candidates]
    candidates.sort(key=lambda c: c[0])
    order = [root for _, root in candidates]

    def macs_after(n):
        return model_macs(tr, macs, pre | set(order[:n]), crop)

    if macs_after(len(order)) > target:
        least = macs_after(len(order)) / base
        raise StructuredPruningError(
            f"a MAC target of {kept:.0%} cannot be met: with every prunable layer at its floor "
            f"({min_channels} channels) the model keeps {least:.1%} of its MACs (the logits, the input layer, "
            "the channels that stay whole and the layers set in techniques.structured.layers are not pruned further)"
        )
    lo, hi = 0, len(order)  # the fewest removals that meet the target (MACs fall as removals grow)
    while lo < hi:
        mid = (lo + hi) // 2
        if macs_after(mid) <= target:
            hi = mid
        else:
            lo = mid + 1
    return pre | set(order[:lo])


def kept_positions(atoms: list, channels: Channels, removed: set) -> list:
    return [i for i, atom in enumerate(atoms) if channels.root(atom) not in removed]


def model_macs(tr: Trace, macs: dict, removed: set, crop=None) -> float:
    """Batch-1 MACs of the model after removing `removed` (and cropping the input), from each layer's
    original MACs scaled by the fraction of its input and output channels that stay."""
    total = 0.0
    for node in tr.graph.nodes:
        original = macs.get(node.name, 0)
        if not original:
            continue
        atoms_in = tr.features[node.inputs[0]]
        in_frac = len(kept_positions(atoms_in, tr.channels, removed)) / len(atoms_in)
        if crop is not None and node.name == crop.dense:
            in_frac *= crop.kept_fraction
        out_atoms = tr.features[node.name]
        out_frac = len(kept_positions(out_atoms, tr.channels, removed)) / len(out_atoms)
        if node.kind == "DepthwiseConv2D":
            total += original * in_frac
        elif node.kind == "SeparableConv2D":
            depthwise = original["depthwise"] if isinstance(original, dict) else 0
            total += depthwise * in_frac + (original["pointwise"] * in_frac * out_frac)
        else:
            total += original * in_frac * out_frac
    return total


# ----------------------------------------------------------------------------- cropping the input


@dataclass(frozen=True)
class Crop:
    """Input pixels an MLP drops: ((top, bottom), (left, right)) before its Flatten."""

    flatten: str
    dense: str
    cropping: tuple
    image: tuple  # (H, W, C) of the tensor the Flatten reads

    @property
    def kept_fraction(self) -> float:
        (top, bottom), (left, right) = self.cropping
        h, w, _ = self.image
        return (h - top - bottom) * (w - left - right) / (h * w)

    def rows(self) -> np.ndarray:
        """The rows of the Dense kernel that stay, in the cropped Flatten's order."""
        (top, bottom), (left, right) = self.cropping
        h, w, c = self.image
        index = np.arange(h * w * c).reshape(h, w, c)
        return index[top : h - bottom, left : w - right, :].reshape(-1)


def crop_site(graph: layer_graph.Graph, shapes: dict):
    """(Flatten, Dense) where a Dense reads the flattened image itself (an MLP's first layer), else None."""
    for node in graph.nodes:
        if node.kind != "Flatten" or len(shapes[node.inputs[0]]) != 3:
            continue
        source = node.inputs[0]
        while graph.node(source).kind in ("Rescaling", "Normalization", "Dropout"):
            source = graph.node(source).inputs[0]
        consumers = graph.consumers(node.name)
        if graph.node(source).kind == "InputLayer" and len(consumers) == 1 and consumers[0].kind == "Dense":
            return node, consumers[0]
    return None


def choose_crop(graph, shapes, weights: dict, mean_abs_input: np.ndarray, tolerance: float):
    """The border rows and columns to drop: the least important line of the current box goes first, while
    the importance dropped stays within `tolerance` of the whole. A pixel's importance is its mean
    absolute value on the training images times the L2 norm of its weights in the first layer, so a
    pixel that is always zero (MNIST's borders) costs nothing."""
    site = crop_site(graph, shapes)
    if site is None or tolerance <= 0:
        return None
    flatten, dense = site
    h, w, c = shapes[flatten.inputs[0]]
    rows = np.sqrt((weights[dense.name][0] ** 2).sum(axis=1)).reshape(h, w, c)
    pixel = (rows * mean_abs_input.reshape(h, w, c)).sum(axis=2)
    total, dropped = float(pixel.sum()), 0.0
    top, bottom, left, right = 0, 0, 0, 0
    while h - top - bottom > 2 and w - left - right > 2:
        box = pixel[top : h - bottom, left : w - right]
        lines = {"top": box[0].sum(), "bottom": box[-1].sum(), "left": box[:, 0].sum(), "right": box[:, -1].sum()}
        side = min(lines, key=lines.get)
        if dropped + lines[side] > tolerance * total:
            break
        dropped += float(lines[side])
        top, bottom = top + (side == "top"), bottom + (side == "bottom")
        left, right = left + (side == "left"), right + (side == "right")
    if top == bottom == left == right == 0:
        return None
    return Crop(flatten.name, dense.name, ((top, bottom), (left, right)), (h, w, c))


# ----------------------------------------------------------------------------- rebuilding


def model_graph(model) -> layer_graph.Graph:
    """The layer graph of a live tf_keras model."""
    return layer_graph.from_config(json.loads(model.to_json()), "tf_keras", model.name)


def output_shapes(model) -> dict:
    """Each layer's output shape without the batch dimension (an InputLayer gives a list of one)."""
    shapes = {}
    for layer in model.layers:
        shape = layer.output_shape[0] if isinstance(layer.output_shape, list) else layer.output_shape
        shapes[layer.name] = tuple(int(d) for d in shape[1:])
    return shapes


def layer_macs(model) -> dict:
    """Batch-1 MACs of each layer with weights (a SeparableConv2D split into its two parts)."""
    from ..core.sizes import layer_macs as macs_of

    found = {}
    for layer in model.layers:
        if type(layer).__name__ == "SeparableConv2D":
            spatial = int(np.prod(layer.output_shape[1:-1]))
            found[layer.name] = {
                "depthwise": spatial * int(np.prod(layer.depthwise_kernel.shape)),
                "pointwise": spatial * int(np.prod(layer.pointwise_kernel.shape)),
            }
        elif macs_of(layer):
            found[layer.name] = macs_of(layer)
    return found


def sliced_weights(node, weights: list, rows, cols) -> list:
    """A layer's weights with only the input channels `rows` and the output channels `cols`."""
    kind = node.kind
    if kind == "Dense":
        out = [weights[0][rows][:, cols]]
        return out + [w[cols] for w in weights[1:]]
    if kind == "Conv2D":
        return [weights[0][:, :, rows][..., cols]] + [w[cols] for w in weights[1:]]
    if kind == "SeparableConv2D":
        multiplier = weights[0].shape[-1]
        pointwise_rows = [c * multiplier + j for c in rows for j in range(multiplier)]
        return [weights[0][:, :, rows], weights[1][:, :, pointwise_rows][..., cols]] + [w[cols] for w in weights[2:]]
    if kind == "DepthwiseConv2D":
        return [weights[0][:, :, rows]] + [w[rows] for w in weights[1:]]
    if kind == "BatchNormalization":
        return [w[rows] for w in weights]
    return weights


WIDTH_KEYS = {"Dense": "units", "Conv2D": "filters", "SeparableConv2D": "filters"}


def rebuild(keras, model, tr: Trace, removed: set, crop: Crop | None = None):
    """The smaller model: each producer keeps its channels not in `removed`, each reader the rows of the
    channels that stay; the weights are copied over. Returns (model, {layer: [kept inputs, kept outputs]},
    {reader: the indices of its input channels it keeps})."""
    graph, channels = tr.graph, tr.channels
    weights = {layer.name: layer.get_weights() for layer in model.layers}
    nodes, slices = [], {}
    for node in graph.nodes:
        if node.kind == "InputLayer":
            nodes.append(node)
            continue
        atoms_in = tr.features[node.inputs[0]]
        rows = kept_positions(atoms_in, channels, removed)
        cols = kept_positions(tr.features[node.name], channels, removed)
        if crop is not None and node.name == crop.dense:
            inside = set(rows)
            rows = [int(r) for r in crop.rows() if r in inside]
        if node.kind in WIDTH_KEYS:
            node = replace(node, config={**node.config, WIDTH_KEYS[node.kind]: len(cols)})
        if crop is not None and node.name == crop.flatten:
            cropping = "input_crop"
            config = {"name": cropping, "cropping": crop.cropping}
            nodes.append(layer_graph.Node(cropping, "Cropping2D", config, node.inputs))
            node = replace(node, inputs=(cropping,))
        nodes.append(node)
        slices[node.name] = (rows, cols)
    smaller = layer_graph.build(keras, replace(graph, nodes=nodes), graph.input_shape, name=model.name)
    kept, kept_rows = {}, {}
    for node in nodes:
        if node.name not in weights or not weights[node.name]:
            continue
        rows, cols = slices[node.name]
        smaller.get_layer(node.name).set_weights(sliced_weights(node, weights[node.name], rows, cols))
        if node.kind in (*PRODUCERS, "DepthwiseConv2D"):
            kept[node.name] = [len(rows), len(cols)]
            kept_rows[node.name] = rows
    return smaller, kept, kept_rows


# ----------------------------------------------------------------------------- one cut


@dataclass
class Cut:
    model: object
    plan: dict  # what was removed, per group, and why some stayed whole
    kept_rows: dict  # reader layer -> indices of the input channels it keeps


def check_request(target: str, kept: float) -> None:
    if target not in TARGETS:
        raise StructuredPruningError(f"structured pruning target '{target}': not one of {TARGETS}")
    if not 0 < kept < 1:
        raise StructuredPruningError(f"techniques.structured.kept: {kept} must lie strictly between 0 and 1")


def cut(keras, model, target: str, kept: float, criterion: str, settings: dict, mean_abs_input=None) -> Cut:
    """Remove channels from `model`: `kept` of each layer's channels (target 'c') or of the model's MACs
    (target 'm'), ranked by `criterion`; crop the input of an MLP within `settings['crop_tolerance']`.
    `settings['layers']` ({layer: fraction}) sets some layers' kept share in place of `kept`."""
    check_request(target, kept)
    graph = model_graph(model)
    shapes = output_shapes(model)
    tr = trace(graph, shapes)
    weights = {layer.name: layer.get_weights() for layer in model.layers}
    group_list = groups(tr)
    prunable = [g for g in group_list if not g.fixed]
    if not prunable:
        raise StructuredPruningError(
            f"model '{model.name}': no layer can lose channels ("
            + "; ".join(f"'{g.name}' {g.fixed}" for g in group_list)
            + ")"
        )
    scores, notes = channel_scores(tr, weights, criterion)
    min_channels = int(settings.get("min_channels", 1))
    crop = None
    if mean_abs_input is not None:
        crop = choose_crop(graph, shapes, weights, mean_abs_input, float(settings.get("crop_tolerance", 0.0)))
    held, held_notes = layer_fractions(tr, group_list, settings.get("layers"))
    notes += held_notes
    macs = layer_macs(model)
    if target == "c":
        free = [g for g in group_list if g.name not in held]
        removed = uniform_plan(free, scores, kept, min_channels) | held_plan(group_list, scores, held, min_channels)
    else:
        removed = macs_plan(tr, group_list, scores, macs, kept, min_channels, crop, held)
    smaller, per_layer, kept_rows = rebuild(keras, model, tr, removed, crop)
    plan = {
        "groups": [
            {
                "layers": list(g.producers),
                "channels": len(g.roots),
                "kept": len([r for r in g.roots if r not in removed]),
                **({"whole": g.fixed} if g.fixed else {}),
            }
            for g in group_list
        ],
        "layers": per_layer,
        "crop": crop
        and {
            "layer": crop.flatten,
            "cropping": [list(c) for c in crop.cropping],
            "kept_pixels": round(crop.kept_fraction, 4),
        },
        "macs_before": int(model_macs(tr, macs, set())),
        "macs_after": int(model_macs(tr, macs, removed, crop)),
        "notes": notes,
    }
    return Cut(smaller, plan, kept_rows)


def round_fraction(kept: float, rounds: int) -> float:
    """What each round of a gradual schedule keeps of the model it starts from: the same share every
    round, `kept` after the last."""
    return kept ** (1.0 / rounds)


def input_activity(keras, model, x: np.ndarray) -> np.ndarray | None:
    """Mean absolute value of each input the MLP's Flatten reads, over `x` (None for a model with no
    Dense on the flattened image)."""
    site = crop_site(model_graph(model), output_shapes(model))
    if site is None:
        return None
    flatten, _ = site
    probe = keras.Model(model.inputs, model.get_layer(flatten.inputs[0]).output)
    return np.abs(probe.predict(x, batch_size=512, verbose=0)).mean(axis=0)


def gamma_penalty(keras, model, strength: float) -> None:
    """Network slimming (Liu et al. 2017): an L1 penalty on every BatchNormalization's gamma, so that
    training pushes the channels it can spare towards zero before they are cut."""
    import tensorflow as tf

    gammas = [
        layer.gamma for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization) and layer.scale
    ]
    if not gammas:
        raise StructuredPruningError(
            f"criterion 'slim' needs BatchNormalization layers, and model '{model.name}' has none: use l1, l2 or bn"
        )
    model.add_loss(lambda: strength * tf.add_n([tf.reduce_sum(tf.abs(g)) for g in gammas]))
