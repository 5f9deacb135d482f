"""Structured pruning: the rebuilt smaller model computes exactly the original with the removed channels
zeroed where they are read, and bad requests get one message that names the key or the layer."""

import numpy as np
import pytest

from dnncomp.core.sizes import layer_table
from dnncomp.techniques import structured

SETTINGS = {"min_channels": 1, "crop_tolerance": 0.0}


def _randomize(model, seed=0):
    """Weights and BatchNormalization statistics far from their initial values, so that a wrong slice
    shows in the outputs."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if not weights:
            continue
        if type(layer).__name__ == "BatchNormalization":
            weights = [rng.uniform(0.5, 1.5, w.shape).astype("float32") for w in weights]
        else:
            weights = [rng.normal(0, 0.3, w.shape).astype("float32") for w in weights]
        layer.set_weights(weights)
    return model


def mlp(keras):
    i = keras.Input((12, 12, 1), name="pixels")
    x = keras.layers.Rescaling(1 / 255.0, name="rescale")(i)
    x = keras.layers.Flatten(name="flatten")(x)
    x = keras.layers.Dense(24, activation="relu", name="fc1")(x)
    x = keras.layers.Dense(16, activation="relu", name="fc2")(x)
    return _randomize(keras.Model(i, keras.layers.Dense(5, name="logits")(x)))


def cnn_bn(keras):
    i = keras.Input((12, 12, 3), name="pixels")
    x = keras.layers.Conv2D(8, 3, padding="same", use_bias=False, name="conv1")(i)
    x = keras.layers.BatchNormalization(name="bn1")(x)
    x = keras.layers.ReLU(name="relu1")(x)
    x = keras.layers.MaxPooling2D(name="pool1")(x)
    x = keras.layers.Conv2D(6, 3, name="conv2")(x)
    x = keras.layers.BatchNormalization(name="bn2")(x)
    x = keras.layers.Activation("relu", name="act2")(x)
    x = keras.layers.Flatten(name="flatten")(x)  # 4 x 4 positions x 6 channels: the index map
    x = keras.layers.Dense(10, activation="relu", name="fc1")(x)
    return _randomize(keras.Model(i, keras.layers.Dense(4, name="logits")(x)))


def residual(keras):
    i = keras.Input((10, 10, 3), name="pixels")
    h = keras.layers.Conv2D(8, 3, padding="same", name="stem")(i)
    h = keras.layers.BatchNormalization(name="stem_bn")(h)
    h = keras.layers.ReLU(name="stem_relu")(h)
    r = keras.layers.Conv2D(8, 3, padding="same", name="res_conv")(h)
    r = keras.layers.BatchNormalization(name="res_bn")(r)
    h = keras.layers.Add(name="add")([h, r])  # stem and res_conv lose the same channels
    h = keras.layers.ReLU(name="add_relu")(h)
    b = keras.layers.Conv2D(4, 1, name="branch")(h)
    h = keras.layers.Concatenate(name="concat")([h, b])
    h = keras.layers.Conv2D(6, 3, name="head_conv")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    return _randomize(keras.Model(i, keras.layers.Dense(3, name="logits")(h)))


def depthwise(keras):
    i = keras.Input((10, 10, 3), name="pixels")
    h = keras.layers.Conv2D(8, 3, padding="same", name="conv1")(i)
    h = keras.layers.BatchNormalization(name="bn1")(h)
    h = keras.layers.ReLU(6.0, name="relu6_1")(h)
    h = keras.layers.DepthwiseConv2D(3, padding="same", name="dw")(h)  # tied to conv1's channels
    h = keras.layers.BatchNormalization(name="dw_bn")(h)
    h = keras.layers.ReLU(6.0, name="relu6_2")(h)
    h = keras.layers.Conv2D(12, 1, name="pw")(h)
    h = keras.layers.SeparableConv2D(10, 3, padding="same", name="sep")(h)
    h = keras.layers.GlobalAveragePooling2D(name="gap")(h)
    return _randomize(keras.Model(i, keras.layers.Dense(3, name="logits")(h)))


MODELS = {"mlp": mlp, "cnn_bn": cnn_bn, "residual": residual, "depthwise": depthwise}
READERS = ("Dense", "Conv2D", "SeparableConv2D")


def zeroed_reference(keras, model, kept_inputs: dict):
    """The original with every channel a weight layer does not keep zeroed at that layer's input: its
    kernel rows for those channels set to zero (the channel's value after its BN and activation)."""
    reference = keras.models.clone_model(model)
    reference.set_weights(model.get_weights())
    for name, rows in kept_inputs.items():
        layer = reference.get_layer(name)
        weights = layer.get_weights()
        kind = type(layer).__name__
        if kind not in READERS:
            continue
        kernel = weights[0]
        axis = 0 if kind == "Dense" else 2
        mask = np.zeros(kernel.shape[axis], bool)
        mask[rows] = True
        index = [slice(None)] * kernel.ndim
        index[axis] = ~mask
        kernel[tuple(index)] = 0
        layer.set_weights([kernel, *weights[1:]])
    return reference


def _inputs(model, n=16, seed=1):
    shape = (n, *model.input_shape[1:])
    return (
        np.random.default_rng(seed)
        .uniform(0, 255 if "rescale" in [layer.name for layer in model.layers] else 1, shape)
        .astype("float32")
    )


@pytest.mark.parametrize("name", list(MODELS))
@pytest.mark.parametrize("criterion", ["l1", "bn"])
def test_rebuilt_model_equals_the_original_with_removed_channels_zeroed(tf_modules, name, criterion):
    _, keras, _ = tf_modules
    model = MODELS[name](keras)
    result = structured.cut(keras, model, "c", 0.5, criterion, SETTINGS)
    smaller = result.model
    # Real smaller layers, not masks: fewer parameters, and every prunable producer halved.
    assert smaller.count_params() < model.count_params()
    for group in result.plan["groups"]:
        if "whole" not in group:
            assert group["kept"] == -(-group["channels"] // 2), group
    assert smaller.input_shape == model.input_shape
    assert smaller.output_shape == model.output_shape
    reference = zeroed_reference(keras, model, result.kept_rows)
    x = _inputs(model)
    expected, got = reference.predict(x, verbose=0), smaller.predict(x, verbose=0)
    assert np.max(np.abs(expected - got)) <= 1e-5
    # And something was removed: the reference differs from the unpruned original.
    assert np.max(np.abs(model.predict(x, verbose=0) - expected)) > 1e-3


def test_residual_channels_are_tied_and_the_logits_kept(tf_modules):
    _, keras, _ = tf_modules
    result = structured.cut(keras, residual(keras), "c", 0.5, "l1", SETTINGS)
    groups = {tuple(g["layers"]): g for g in result.plan["groups"]}
    assert groups[("stem", "res_conv")]["kept"] == 4  # tied by the Add: one group, pruned together
    assert "logits" in groups[("logits",)]["whole"]
    layers = result.plan["layers"]
    # head_conv reads 4 kept channels of the Add and 2 of the branch's 4 through the Concatenate.
    assert layers["head_conv"] == [6, 3]


def test_depthwise_channels_follow_their_producer(tf_modules):
    _, keras, _ = tf_modules
    result = structured.cut(keras, depthwise(keras), "c", 0.5, "l1", SETTINGS)
    assert result.plan["layers"]["dw"] == [4, 4]
    assert result.model.get_layer("dw").depthwise_kernel.shape[2] == 4


def test_mac_target_is_met_with_a_global_ranking(tf_modules):
    _, keras, _ = tf_modules
    model = cnn_bn(keras)
    result = structured.cut(keras, model, "m", 0.4, "l2", SETTINGS)
    before = sum(row["macs"] for row in layer_table(model))
    after = sum(row["macs"] for row in layer_table(result.model))
    assert after <= 0.4 * before
    assert after == result.plan["macs_after"]
    assert result.plan["macs_before"] == before


def test_mlp_drops_empty_border_pixels_by_cropping(tf_modules):
    _, keras, _ = tf_modules
    model = mlp(keras)
    # Pixels outside the central 8 x 8 are always zero: they cost nothing and go.
    activity = np.zeros((12, 12, 1), "float32")
    activity[2:10, 2:10] = 1.0
    result = structured.cut(keras, model, "c", 0.5, "l1", {**SETTINGS, "crop_tolerance": 0.001}, activity)
    assert result.plan["crop"]["cropping"] == [[2, 2], [2, 2]]
    smaller = result.model
    assert smaller.input_shape == model.input_shape
    assert smaller.get_layer("fc1").kernel.shape[0] == 64
    x = _inputs(model)
    x[:, :2], x[:, -2:], x[:, :, :2], x[:, :, -2:] = 0, 0, 0, 0
    reference = zeroed_reference(keras, model, result.kept_rows)
    assert np.max(np.abs(reference.predict(x, verbose=0) - smaller.predict(x, verbose=0))) <= 1e-5


def test_gradual_rounds_keep_the_same_share_each_round():
    assert structured.round_fraction(0.25, 2) == pytest.approx(0.5)
    assert structured.round_fraction(0.5, 1) == 0.5


@pytest.mark.parametrize("kept", [0.0, 1.0, -0.2, 1.5])
def test_kept_fraction_outside_zero_one_is_refused(tf_modules, kept):
    _, keras, _ = tf_modules
    with pytest.raises(structured.StructuredPruningError, match="kept"):
        structured.cut(keras, mlp(keras), "c", kept, "l1", SETTINGS)


def test_unreachable_mac_target_says_what_the_floor_is(tf_modules):
    _, keras, _ = tf_modules
    with pytest.raises(structured.StructuredPruningError, match=r"MAC target of 1% cannot be met.*keeps"):
        structured.cut(keras, cnn_bn(keras), "m", 0.01, "l1", {**SETTINGS, "min_channels": 2})


def test_a_model_with_nothing_to_prune_names_its_layers(tf_modules):
    _, keras, _ = tf_modules
    i = keras.Input((8,), name="pixels")
    model = keras.Model(i, keras.layers.Dense(3, name="logits")(i))
    with pytest.raises(structured.StructuredPruningError, match=r"no layer can lose channels.*'logits'.*logits"):
        structured.cut(keras, model, "c", 0.5, "l1", SETTINGS)


def test_a_layer_that_mixes_channels_leaves_its_producer_whole(tf_modules):
    _, keras, _ = tf_modules
    i = keras.Input((6, 6, 2), name="pixels")
    h = keras.layers.Conv2D(4, 3, name="conv")(i)
    h = keras.layers.Reshape((4, 16), name="reshape")(h)
    h = keras.layers.Flatten(name="flatten")(h)
    h = keras.layers.Dense(8, name="fc")(h)
    model = keras.Model(i, keras.layers.Dense(2, name="logits")(h))
    result = structured.cut(keras, model, "c", 0.5, "l1", SETTINGS)
    groups = {tuple(g["layers"]): g for g in result.plan["groups"]}
    assert "reshape" in groups[("conv",)]["whole"]
    assert groups[("fc",)]["kept"] == 4


def test_slimming_needs_batch_normalization(tf_modules):
    _, keras, _ = tf_modules
    with pytest.raises(structured.StructuredPruningError, match="needs BatchNormalization"):
        structured.gamma_penalty(keras, mlp(keras), 1e-4)


def test_named_layers_keep_their_own_share_and_unknown_names_are_noted(tf_modules):
    _, keras, _ = tf_modules
    settings = {**SETTINGS, "layers": {"conv1": 0.75, "conv9": 0.5}}
    result = structured.cut(keras, cnn_bn(keras), "c", 0.5, "l1", settings)
    groups = {tuple(g["layers"]): g for g in result.plan["groups"]}
    assert groups[("conv1",)]["kept"] == 6 and groups[("conv2",)]["kept"] == 3 and groups[("fc1",)]["kept"] == 5
    assert any("no layer 'conv9'" in note for note in result.plan["notes"])
    # conv1 holds most of the MACs: whole, it sets the floor of a MAC target, and the rest is allocated.
    held = structured.cut(keras, cnn_bn(keras), "m", 0.9, "l1", {**SETTINGS, "layers": {"conv1": 1.0}})
    assert {tuple(g["layers"]): g["kept"] for g in held.plan["groups"]}[("conv1",)] == 8
    assert held.plan["macs_after"] <= 0.9 * held.plan["macs_before"]
    with pytest.raises(structured.StructuredPruningError, match="layers set in techniques.structured.layers"):
        structured.cut(keras, cnn_bn(keras), "m", 0.5, "l1", {**SETTINGS, "layers": {"conv1": 1.0}})


@pytest.mark.parametrize(
    ("layers", "message"),
    [
        ({"logits": 0.5}, r"layers\.logits: 'logits' makes the model's output .* never pruned"),
        ({"bn1": 0.5}, r"layers\.bn1: 'bn1' is a BatchNormalization; only Dense, Conv2D"),
        ({"conv1": 0.0}, r"layers\.conv1: 0\.0 must lie in \(0, 1\]"),
    ],
)
def test_a_layer_that_cannot_be_pruned_is_named_when_asked_for(tf_modules, layers, message):
    _, keras, _ = tf_modules
    with pytest.raises(structured.StructuredPruningError, match=message):
        structured.cut(keras, cnn_bn(keras), "c", 0.5, "l1", {**SETTINGS, "layers": layers})
