"""A user's Keras model from a file (`architectures.NAME: {type: keras, path: ...}`), brought into tf_keras.

Accepted: a `.keras` file saved by Keras 3 or by tf_keras, and a legacy `.h5` file. The file's config
is read as JSON (config.json inside the .keras zip, the model_config attribute of the .h5) and
checked against the supported layers before any Keras deserialization, since a Keras file can carry
Python code. Only then, in the job that imports it, is it loaded, in Keras's safe mode, to copy its
weights into the tf_keras model built from the same graph and to compare the two models' outputs
on real images."""

from __future__ import annotations

import functools
import json
import zipfile
from pathlib import Path

import numpy as np

from ..core import graph as layer_graph
from ..core.errors import UserError
from ..core.runtime import keras_3

SUFFIXES = (".keras", ".h5", ".hdf5")
# Largest difference allowed between the file's outputs and the imported model's (probabilities or logits).
TOLERANCE = 1e-5
CHECK_IMAGES = 256


def read_config(path: Path, where: str) -> tuple[dict, str]:
    """(the model config, which Keras saved it), read without deserializing anything."""
    if not path.is_file():
        raise UserError(
            f"{where}: file {path} does not exist" if not path.exists() else f"{where}: {path} is not a file"
        )
    if path.suffix not in SUFFIXES:
        raise UserError(f"{where}: {path} is not a Keras file ({', '.join(SUFFIXES)})")
    try:
        if path.suffix == ".keras":
            with zipfile.ZipFile(path) as archive:
                config = json.loads(archive.read("config.json"))
                version = json.loads(archive.read("metadata.json")).get("keras_version", "")
        else:
            import h5py

            with h5py.File(path, "r") as handle:
                raw = handle.attrs.get("model_config")
                if raw is None:
                    raise UserError(f"{where}: {path} holds weights only (no model_config); save the whole model")
                config = json.loads(raw.decode() if isinstance(raw, bytes) else raw)
                version = handle.attrs.get("keras_version", "")
                version = version.decode() if isinstance(version, bytes) else str(version)
    except PermissionError:
        raise UserError(f"{where}: file {path} is not readable (permission denied)") from None
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as err:
        raise UserError(f"{where}: {path} is not a readable Keras file ({err})") from None
    origin = f"keras {version}" if version.startswith("3") else f"tf_keras {version or '2'}"
    return config, origin


def read_graph(path, where: str) -> layer_graph.Graph:
    """The file's layer graph, checked against the supported set (UnsupportedModel names the layer)."""
    config, origin = read_config(Path(path), where)
    graph = layer_graph.from_config(config, origin, where)
    layer_graph.check(graph, where)
    return graph


def input_transform(input_range) -> tuple:
    """(scale, offset) that map raw 0..255 pixels to the range the model expects, or (None, None):
    `[0, 255]` (the default), `[low, high]`, or `{mean: [...], std: [...]}` on the 0..1 scale per channel."""
    if input_range is None or list(input_range) == [0, 255]:
        return None, None
    if isinstance(input_range, dict):
        mean, std = np.asarray(input_range["mean"], float), np.asarray(input_range["std"], float)
        return (1.0 / (255.0 * std)).tolist(), (-mean / std).tolist()
    low, high = (float(v) for v in input_range)
    return (high - low) / 255.0, low


def trainable_graph(spec: dict, where: str) -> tuple[layer_graph.Graph, bool]:
    """The file's graph in tf_keras's layers and ending in logits, and whether a softmax was taken off."""
    graph = layer_graph.normalized(read_graph(spec["path"], where))
    return layer_graph.final_softmax(graph)


@functools.cache
def ends_in_softmax(path: str) -> bool:
    """Whether the file's model outputs probabilities: its deployable files then end in a softmax too."""
    return trainable_graph({"path": path}, path)[1]


def build(keras, name: str, spec: dict, input_shape: tuple, num_classes: int):
    """The file's architecture as a fresh tf_keras model on raw pixels, ending in logits (weights
    from its initializers under the job's seed): what `trained: false` trains, and a file student."""
    where = f"architectures.{name}"
    graph, _ = trainable_graph(spec, where)
    scale, offset = input_transform(spec.get("input_range"))
    try:
        model = layer_graph.build(keras, graph, input_shape, scale, offset, name=name)
    except layer_graph.UnsupportedModel as err:
        raise layer_graph.UnsupportedModel(f"{where}: {err}") from None
    classes = model.output_shape[-1]
    if classes != num_classes:
        raise UserError(f"{where}: the model has {classes} outputs, the dataset {num_classes} classes")
    return model


def load_original(path: Path, origin: str):
    """The file loaded by the Keras that saved it, in safe mode (its config has passed read_graph)."""
    if origin.startswith("keras 3"):
        return keras_3().saving.load_model(path, compile=False, safe_mode=True)
    import tf_keras

    return tf_keras.models.load_model(path, compile=False, safe_mode=True)


def import_trained(keras, name: str, spec: dict, x: np.ndarray, num_classes: int) -> tuple:
    """(the tf_keras model with the file's weights, the import record): built from the file's graph,
    given its weights, and its outputs compared with the file's own on `x` (raw images)."""
    where = f"architectures.{name}"
    path = Path(spec["path"])
    graph, softmax_removed = trainable_graph(spec, where)
    model = build(keras, name, spec, x.shape[1:], num_classes)
    original = load_original(path, graph.origin)
    copy_weights(original, model, graph, where)
    check = compare(original, model, x[:CHECK_IMAGES], spec, softmax_removed)
    if not check["passed"]:
        raise UserError(
            f"{where}: the imported model's outputs differ from the file's by up to {check['max_abs_diff']:.3g} "
            f"(tolerance {TOLERANCE:g}) on {check['images']} test images"
        )
    record = {
        "path": str(path),
        "format": path.suffix.lstrip("."),
        "saved_by": graph.origin,
        "layers": len(graph.nodes),
        "output": "probabilities (softmax taken off for training; the .tflite files put it back)"
        if softmax_removed
        else "logits",
        "softmax_removed": softmax_removed,
        "check": check,
    }
    return model, record


def copy_weights(original, model, graph, where: str) -> None:
    for node in graph.nodes:
        if node.kind == "InputLayer":
            continue
        try:
            source = original.get_layer(node.name)
        except ValueError:
            continue  # an activation layer split off a Conv2D or Dense: no weights
        weights = source.get_weights()
        target = model.get_layer(node.name)
        if len(weights) != len(target.get_weights()):
            raise UserError(
                f"{where}: layer '{node.name}' has {len(weights)} weight arrays in the file, "
                f"{len(target.get_weights())} in tf_keras"
            )
        target.set_weights(weights)


def compare(original, model, x: np.ndarray, spec: dict, softmax_removed: bool) -> dict:
    """The largest absolute difference between the file's outputs and the imported model's."""
    scale, offset = input_transform(spec.get("input_range"))
    shape = tuple(original.input_shape[1:])
    inputs = x.astype(np.float32)
    if scale is not None:
        inputs = inputs * np.asarray(scale, np.float32) + np.asarray(offset, np.float32)
    expected = np.asarray(original(inputs.reshape((len(x), *shape)), training=False))
    got = np.asarray(model(x.astype(np.float32), training=False))
    if softmax_removed:
        got = np.exp(got - got.max(axis=1, keepdims=True))
        got = got / got.sum(axis=1, keepdims=True)
    diff = float(np.max(np.abs(expected - got)))
    return {
        "images": len(x),
        "compared": "probabilities" if softmax_removed else "outputs",
        "max_abs_diff": diff,
        "tolerance": TOLERANCE,
        "passed": diff <= TOLERANCE,
    }
