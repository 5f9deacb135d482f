"""Architectures by name, built with tf_keras from their config spec.

    mlp: {type: mlp, hidden: [300, 100]}                          -> LeNet-300-100
    cnn: {type: cnn, conv: [6, 16], kernel: 5, dense: [120, 84]}  -> LeNet-5
    keras: {type: keras, path: FILE}                              -> the file's architecture (keras_file)

Inputs are raw pixels (float tensors holding 0..255; the data stays uint8 in memory) and a
Rescaling layer inside the model divides by 255, so every artefact takes the same input. Outputs
are logits: the distillation loss needs them and argmax does not care.
"""

from __future__ import annotations

from ..core.errors import UserError
from . import keras_file


class ModelSpecError(UserError):
    """An architecture spec that cannot be built; the message names its config key."""


def build(keras, name: str, spec: dict, input_shape: tuple, num_classes: int):
    """A fresh model (weights from its initializers) on raw-pixel inputs, ending in logits."""
    kind = spec.get("type")
    if kind == "keras":
        return keras_file.build(keras, name, spec, input_shape, num_classes)
    inputs = keras.Input(shape=tuple(input_shape), dtype="float32", name="pixels")
    x = keras.layers.Rescaling(1.0 / 255.0, name="rescale")(inputs)
    if kind == "mlp":
        x = keras.layers.Flatten(name="flatten")(x)
        for i, units in enumerate(spec["hidden"], start=1):
            x = keras.layers.Dense(units, activation="relu", name=f"fc{i}")(x)
    elif kind == "cnn":
        if len(input_shape) != 3:
            raise ModelSpecError(f"model '{name}' is a CNN and needs (H, W, C) images, got shape {input_shape}")
        kernel = spec.get("kernel", 5)
        for i, filters in enumerate(spec["conv"], start=1):
            # The first convolution keeps the image size (LeNet-5 pads 28x28 MNIST to 32x32 for this).
            padding = "same" if i == 1 else "valid"
            x = keras.layers.Conv2D(filters, kernel, padding=padding, activation="relu", name=f"conv{i}")(x)
            x = keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
        x = keras.layers.Flatten(name="flatten")(x)
        for i, units in enumerate(spec.get("dense", []), start=1):
            x = keras.layers.Dense(units, activation="relu", name=f"fc{i}")(x)
    else:
        raise ModelSpecError(f"architectures.{name}.type: unknown type '{kind}' (mlp, cnn, keras)")
    outputs = keras.layers.Dense(num_classes, name="logits")(x)
    return keras.Model(inputs, outputs, name=name)


def load(keras, path):
    return keras.models.load_model(path, compile=False)
