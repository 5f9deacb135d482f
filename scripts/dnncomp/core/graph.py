"""A Keras model as a graph of layers, read from its saved config (JSON) without running any of it.

Keras 3 and tf_keras save the same layers with different configs (`batch_shape` against
`batch_input_shape`, dtype policies, extra keys, and another format of each layer's inputs), and
TFMOT needs tf_keras. So a saved config, of either, is read into this graph: nodes in the saved
order, each with its class, its own config and the layers it takes its inputs from. The graph is
checked against the layers the study supports before anything is deserialized, and a tf_keras model
is built from it (build). Pure Python until build(): start-up reads it to leave out a model it
cannot take."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field, replace

from .errors import UserError

# The layers a model may contain, by Keras class name.
SUPPORTED = (
    "Activation",
    "Add",
    "AveragePooling2D",
    "BatchNormalization",
    "Concatenate",
    "Conv2D",
    "Cropping2D",
    "Dense",
    "DepthwiseConv2D",
    "Dropout",
    "Flatten",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "InputLayer",
    "LeakyReLU",
    "MaxPooling2D",
    "Normalization",
    "ReLU",
    "Rescaling",
    "Reshape",
    "SeparableConv2D",
    "Softmax",
    "ZeroPadding2D",
)
# Activation names tf_keras knows as they are; those it lacks become layers of their own.
ACTIVATIONS = ("linear", "relu", "sigmoid", "softmax", "tanh", "elu", "selu", "swish", "silu", "gelu", "hard_sigmoid")
ACTIVATION_LAYERS = {"relu6": ("ReLU", {"max_value": 6.0}), "leaky_relu": ("LeakyReLU", {"alpha": 0.2})}
# Keras 3 names of config keys that tf_keras spells otherwise.
RENAMED = {"LeakyReLU": {"negative_slope": "alpha"}}
BUILTIN_MODULES = ("keras", "tf_keras")


class UnsupportedModel(UserError):
    """A model the study cannot take; the message names the layer, its class and why."""


@dataclass(frozen=True)
class Node:
    name: str
    kind: str  # the Keras class name
    config: dict  # the layer's own config, as saved
    inputs: tuple = ()  # names of the nodes whose outputs it takes, in order


@dataclass
class Graph:
    name: str
    input_shape: tuple  # without the batch dimension
    nodes: list = field(default_factory=list)  # in the saved (topological) order
    outputs: tuple = ()
    origin: str = ""  # which Keras saved it, e.g. "keras 3.15.1"

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def consumers(self, name: str) -> list:
        return [n for n in self.nodes if name in n.inputs]


# ----------------------------------------------------------------------------- reading a saved config


def from_config(model: dict, origin: str, where: str) -> Graph:
    """The graph of a saved model config ({"class_name": "Functional" | "Sequential" | "Model", "config": ...})."""
    kind, config = model.get("class_name"), model.get("config") or {}
    check_builtin(model, where, what="model")
    if kind in ("Functional", "Model"):
        return functional(config, origin, where)
    if kind == "Sequential":
        return sequential(config, origin, where)
    raise UnsupportedModel(f"{where}: a '{kind}' model; a Sequential or functional model is needed")


def functional(config: dict, origin: str, where: str) -> Graph:
    nodes = []
    for entry in config.get("layers", []):
        check_builtin(entry, where)
        inbound = entry.get("inbound_nodes") or []
        if len(inbound) > 1:
            raise UnsupportedModel(f"{where}: layer '{entry['name']}' is called {len(inbound)} times (shared layers)")
        inputs = tuple(history[0] for history in inbound_histories(inbound[0])) if inbound else ()
        nodes.append(Node(entry["name"], entry["class_name"], entry.get("config") or {}, inputs))
    entries = {n.name: n for n in nodes}
    inputs, outputs = tensor_names(config.get("input_layers")), tensor_names(config.get("output_layers"))
    if len(inputs) != 1 or len(outputs) != 1:
        raise UnsupportedModel(f"{where}: {len(inputs)} inputs and {len(outputs)} outputs; one of each is needed")
    first = entries[inputs[0]]
    return Graph(config.get("name", "model"), input_shape_of(first.config, where), nodes, tuple(outputs), origin)


def sequential(config: dict, origin: str, where: str) -> Graph:
    entries = config.get("layers", [])
    nodes, previous, shape = [], None, None
    for entry in entries:
        check_builtin(entry, where)
        layer = entry.get("config") or {}
        if entry["class_name"] == "InputLayer":
            shape, previous = input_shape_of(layer, where), layer["name"]
            nodes.append(Node(layer["name"], "InputLayer", layer))
            continue
        if previous is None:  # no InputLayer: the first layer carries the shape
            shape = input_shape_of(layer, where, config.get("build_input_shape"))
            nodes.append(Node("input", "InputLayer", {"name": "input"}))
            previous = "input"
        nodes.append(Node(layer["name"], entry["class_name"], layer, (previous,)))
        previous = layer["name"]
    if shape is None:
        raise UnsupportedModel(f"{where}: the Sequential model has no layers")
    return Graph(config.get("name", "sequential"), shape, nodes, (previous,), origin)


def inbound_histories(node) -> list:
    """[layer, node index, tensor index] of every tensor a saved inbound node takes, in order."""
    if isinstance(node, dict) and "args" in node:  # Keras 3: {"args": [...], "kwargs": {...}}
        found = []

        def walk(value):
            if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
                found.append(value["config"]["keras_history"])
            elif isinstance(value, (list, tuple)):
                for item in value:
                    walk(item)

        walk(node["args"])
        return found
    return [item[:3] for item in node]  # tf_keras: [[layer, node index, tensor index, kwargs], ...]


def tensor_names(spec) -> list:
    """Layer names from a saved input_layers / output_layers entry: one [name, 0, 0] or a list of them."""
    if not spec:
        return []
    return [spec[0]] if isinstance(spec[0], str) else [item[0] for item in spec]


def input_shape_of(config: dict, where: str, fallback=None) -> tuple:
    shape = config.get("batch_shape") or config.get("batch_input_shape") or fallback
    if not shape or any(d is None for d in shape[1:]):
        raise UnsupportedModel(
            f"{where}: the input shape {shape} is not fixed; save the model with a fixed input shape"
        )
    return tuple(int(d) for d in shape[1:])


def check_builtin(entry: dict, where: str, what: str = "layer") -> None:
    """A Lambda layer holds Python code; a custom object needs code that is not in the file. Neither is
    deserialized here."""
    name = entry.get("name") or (entry.get("config") or {}).get("name")
    if entry.get("class_name") == "Lambda":
        raise UnsupportedModel(
            f"{where}: layer '{name}' is a Lambda layer, refused: it holds Python code that would run when the "
            "file is loaded (CVE-2024-3660). Rewrite it with built-in layers."
        )
    module, registered = entry.get("module"), entry.get("registered_name")
    custom = (module and module.split(".")[0] not in BUILTIN_MODULES) or (
        registered and registered != entry.get("class_name")
    )
    if custom:
        raise UnsupportedModel(
            f"{where}: {what} '{name}' is a custom object ('{registered or module}'), refused: its code is not in the "
            "file and would have to be imported and trusted. Use built-in layers."
        )


# ----------------------------------------------------------------------------- the supported set


def check(graph: Graph, where: str) -> None:
    """Every layer is supported, with channels-last data, float32 weights and a known activation."""
    for node in graph.nodes:
        if node.kind not in SUPPORTED:
            raise UnsupportedModel(
                f"{where}: layer '{node.name}' is a {node.kind}, which is not supported "
                f"(supported: {', '.join(SUPPORTED)})"
            )
        config = node.config
        if config.get("data_format", "channels_last") != "channels_last":
            raise UnsupportedModel(f"{where}: layer '{node.name}' has data_format {config['data_format']}")
        dtype = dtype_name(config.get("dtype", "float32"))
        if dtype not in ("float32", None):
            raise UnsupportedModel(f"{where}: layer '{node.name}' computes in {dtype}; a float32 model is needed")
        activation = config.get("activation")
        if activation is not None and activation_name(activation) not in (*ACTIVATIONS, *ACTIVATION_LAYERS):
            raise UnsupportedModel(
                f"{where}: layer '{node.name}' has activation {activation!r} "
                f"(supported: {', '.join((*ACTIVATIONS, *ACTIVATION_LAYERS))})"
            )


def dtype_name(dtype) -> str | None:
    if isinstance(dtype, dict):  # a Keras 3 DTypePolicy
        return (dtype.get("config") or {}).get("name")
    return dtype


def activation_name(activation):
    return activation if isinstance(activation, str) else None


# ----------------------------------------------------------------------------- normalizing


def normalized(graph: Graph) -> Graph:
    """The same function in the layers tf_keras has: relu6 and leaky_relu activations become layers."""
    nodes, renamed = [], {}
    for node in graph.nodes:
        node = replace(node, inputs=tuple(renamed.get(i, i) for i in node.inputs))
        activation = activation_name(node.config.get("activation"))
        if activation in ACTIVATION_LAYERS:
            kind, config = ACTIVATION_LAYERS[activation]
            if node.kind == "Activation":
                nodes.append(Node(node.name, kind, {"name": node.name, **config}, node.inputs))
                continue
            nodes.append(replace(node, config={**node.config, "activation": "linear"}))
            split = f"{node.name}_{activation}"
            nodes.append(Node(split, kind, {"name": split, **config}, (node.name,)))
            renamed[node.name] = split
            continue
        nodes.append(node)
    outputs = tuple(renamed.get(o, o) for o in graph.outputs)
    return replace(graph, nodes=nodes, outputs=outputs)


def final_softmax(graph: Graph) -> tuple[Graph, bool]:
    """The graph ending in logits, and whether a softmax was taken off its output (training and
    distillation work on logits; the deployable files put it back)."""
    out = graph.node(graph.outputs[0])
    is_layer = out.kind == "Softmax" or (out.kind == "Activation" and out.config.get("activation") == "softmax")
    if is_layer:
        nodes = [n for n in graph.nodes if n.name != out.name]
        return replace(graph, nodes=nodes, outputs=out.inputs), True
    if out.config.get("activation") == "softmax":
        linear = replace(out, config={**out.config, "activation": "linear"})
        return replace(graph, nodes=[linear if n.name == out.name else n for n in graph.nodes]), True
    return graph, False


# ----------------------------------------------------------------------------- building with tf_keras


def build(keras, graph: Graph, input_shape: tuple, scale: list | None = None, offset: list | None = None, name=None):
    """A tf_keras functional model computing the graph on inputs of `input_shape` (the dataset's images:
    raw 0..255 pixels). `scale` and `offset` map them to the range the model expects; a Reshape takes
    them to the model's own input shape where it differs (same number of values). Fresh weights."""
    import numpy as np

    pixels = keras.Input(shape=tuple(input_shape), dtype="float32", name="pixels")
    x = pixels
    if scale is not None:
        x = keras.layers.Rescaling(scale, offset if offset is not None else 0.0, name="input_range")(x)
    if tuple(input_shape) != tuple(graph.input_shape):
        if int(np.prod(input_shape)) != int(np.prod(graph.input_shape)):
            raise UnsupportedModel(
                f"the model takes inputs of shape {tuple(graph.input_shape)}, the dataset's images have shape "
                f"{tuple(input_shape)}"
            )
        x = keras.layers.Reshape(graph.input_shape, name="input_reshape")(x)
    tensors = {}
    for node in graph.nodes:
        if node.kind == "InputLayer":
            tensors[node.name] = x
            continue
        layer = make_layer(keras, node)
        args = [tensors[i] for i in node.inputs]
        tensors[node.name] = layer(args if node.kind in ("Add", "Concatenate") else args[0])
    return keras.Model(pixels, tensors[graph.outputs[0]], name=name or graph.name)


def make_layer(keras, node: Node):
    cls = getattr(keras.layers, node.kind)
    renames = RENAMED.get(node.kind, {})
    config = {renames.get(key, key): value for key, value in node.config.items()}
    accepted = set(inspect.signature(cls.__init__).parameters) | {"name", "trainable", "dtype"}
    kwargs = {}
    for key, value in config.items():
        if key not in accepted:
            continue
        if key == "dtype":
            value = dtype_name(value)
        elif isinstance(value, dict) and "class_name" in value:
            value = make_object(keras, key, value)
        kwargs[key] = value
    return cls(**kwargs)


def make_object(keras, key: str, spec: dict):
    """An initializer, regularizer or constraint from its saved spec, with the arguments tf_keras takes."""
    family = {"initializer": keras.initializers, "regularizer": keras.regularizers, "constraint": keras.constraints}
    module = next((m for suffix, m in family.items() if key.endswith(suffix)), None)
    if module is None:
        raise UnsupportedModel(f"config key '{key}' holds an object ({spec.get('class_name')}) of no known kind")
    cls = type(module.get(spec["class_name"]))  # get() returns a default instance
    accepted = set(inspect.signature(cls.__init__).parameters)
    return cls(**{k: v for k, v in (spec.get("config") or {}).items() if k in accepted})
