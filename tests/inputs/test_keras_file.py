"""A user's Keras file brought into tf_keras (dnncomp.inputs.keras_file, dnncomp.core.graph): the
models are built here with Keras 3 and with tf_keras, saved in every accepted format, and imported
with the check that their outputs match the file's."""

import numpy as np
import pytest

from dnncomp.core import graph
from dnncomp.core.errors import UserError
from dnncomp.core.runtime import keras_3
from dnncomp.inputs import keras_file, models

SHAPE = (16, 16, 3)


def residual_convnet(k):
    """Conv2D + BatchNormalization, a residual Add, max pooling, a Concatenate branch, softmax output."""
    i = k.Input(SHAPE)
    x = k.layers.Conv2D(8, 3, padding="same", use_bias=False)(i)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.ReLU()(x)
    y = k.layers.Conv2D(8, 3, padding="same", activation="relu")(x)
    x = k.layers.Add()([x, y])
    x = k.layers.MaxPooling2D()(x)
    z = k.layers.AveragePooling2D(1)(x)
    x = k.layers.Concatenate()([x, z])
    x = k.layers.Flatten()(x)
    x = k.layers.Dropout(0.2)(x)
    return k.Model(i, k.layers.Dense(5, activation="softmax")(x), name="residual")


def mobilenet_block(k):
    """A depthwise-separable block with ReLU6, zero padding, a SeparableConv2D and global average pooling."""
    i = k.Input(SHAPE)
    x = k.layers.Rescaling(1 / 127.5, -1.0)(i)
    x = k.layers.ZeroPadding2D(1)(x)
    x = k.layers.Conv2D(8, 3, strides=2)(x)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.ReLU(6.0)(x)
    x = k.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    x = k.layers.Conv2D(12, 1)(x)
    x = k.layers.SeparableConv2D(12, 3, padding="same")(x)
    x = k.layers.Activation("relu6")(x)
    x = k.layers.GlobalAveragePooling2D()(x)
    return k.Model(i, k.layers.Dense(5)(x), name="mobile")


def sequential_net(k):
    """Sequential, with LeakyReLU, GlobalMaxPooling2D, Reshape, Normalization and a Softmax layer."""
    return k.Sequential(
        [
            k.Input(SHAPE),
            k.layers.Normalization(mean=[0.5, 0.4, 0.3], variance=[0.1, 0.2, 0.3]),
            k.layers.Conv2D(6, 3),
            k.layers.LeakyReLU(),
            k.layers.GlobalMaxPooling2D(),
            k.layers.Reshape((6,)),
            k.layers.Dense(5),
            k.layers.Softmax(),
        ],
        name="seq",
    )


BUILDERS = [residual_convnet, mobilenet_block, sequential_net]


def save(k, builder, path, seed=0):
    k.utils.set_random_seed(seed)
    model = builder(k)
    model.save(path)
    return model


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(1).integers(0, 256, (40, *SHAPE)).astype(np.uint8)


@pytest.mark.parametrize("builder", BUILDERS, ids=lambda b: b.__name__)
@pytest.mark.parametrize(
    "saver, suffix", [("keras3", ".keras"), ("keras3", ".h5"), ("tf_keras", ".keras"), ("tf_keras", ".h5")]
)
def test_every_format_imports_with_the_same_outputs(tf_modules, tmp_path, images, builder, saver, suffix):
    keras = tf_modules[1]
    k = keras_3() if saver == "keras3" else keras
    path = tmp_path / f"model{suffix}"
    save(k, builder, path)
    spec = {"path": str(path), "input_range": [0, 255]}
    imported, record = keras_file.import_trained(keras, "mine", spec, images, 5)
    assert record["check"]["passed"] and record["check"]["max_abs_diff"] <= 1e-5, record["check"]
    assert record["saved_by"].startswith("keras 3" if saver == "keras3" else "tf_keras")
    ends_in_softmax = builder is not mobilenet_block
    assert record["softmax_removed"] is ends_in_softmax
    assert record["check"]["compared"] == ("probabilities" if ends_in_softmax else "outputs")
    assert keras_file.ends_in_softmax(str(path)) is ends_in_softmax


def test_input_range_maps_raw_pixels_to_what_the_model_expects(tf_modules, tmp_path, images):
    keras = tf_modules[1]
    path = tmp_path / "m.keras"
    save(keras_3(), residual_convnet, path)
    for input_range in ([0, 1], [-1, 1], {"mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}):
        _, record = keras_file.import_trained(keras, "mine", {"path": str(path), "input_range": input_range}, images, 5)
        assert record["check"]["passed"], (input_range, record["check"])
    assert keras_file.input_transform([0, 1]) == (1 / 255, 0.0)
    scale, offset = keras_file.input_transform({"mean": [0.5], "std": [0.25]})
    assert scale == pytest.approx([1 / (255 * 0.25)]) and offset == pytest.approx([-2.0])


def test_untrained_use_builds_the_architecture_with_fresh_weights(tf_modules, tmp_path):
    """trained: false (and a file student): the file's architecture on the dataset's images, in logits."""
    keras = tf_modules[1]
    path = tmp_path / "m.keras"
    original = save(keras_3(), mobilenet_block, path)
    spec = {"type": "keras", "path": str(path)}
    fresh = models.build(keras, "mine", spec, SHAPE, 5)
    assert fresh.count_params() == original.count_params()
    assert not np.allclose(fresh.layers[-1].get_weights()[0], original.layers[-1].get_weights()[0])
    with pytest.raises(UserError, match=r"the model has 5 outputs, the dataset 10 classes"):
        models.build(keras, "mine", spec, SHAPE, 10)
    with pytest.raises(
        UserError, match=r"the model takes inputs of shape \(16, 16, 3\), the dataset's images have shape \(28, 28, 1\)"
    ):
        models.build(keras, "mine", spec, (28, 28, 1), 5)
    flat = models.build(keras, "mine", spec, (16, 48, 1), 5)  # the same number of values: reshaped inside
    assert flat.input_shape == (None, 16, 48, 1)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_a_lambda_layer_is_refused_before_its_code_can_run(tmp_path, suffix):
    """The Lambda's function would leave a mark on disk if it ran: reading the file must not run it."""
    k = keras_3()
    mark = tmp_path / "ran.txt"

    def leave_mark(t, mark=str(mark)):
        open(mark, "w").write("the file's code ran")
        return t

    i = k.Input((4,))
    k.Model(i, k.layers.Dense(2)(k.layers.Lambda(leave_mark, name="marker")(i))).save(tmp_path / f"lambda{suffix}")
    mark.unlink()  # building the model above called it
    with pytest.raises(graph.UnsupportedModel, match=r"layer .marker. is a Lambda layer, refused: it holds Python"):
        keras_file.read_graph(tmp_path / f"lambda{suffix}", "architectures.mine")
    assert not mark.exists()


def test_a_custom_layer_and_an_unsupported_layer_are_named(tmp_path):
    k = keras_3()

    @k.saving.register_keras_serializable(package="acme")
    class Twice(k.layers.Layer):
        def call(self, t):
            return 2 * t

    i = k.Input((8, 8, 1))
    k.Model(i, Twice()(i)).save(tmp_path / "custom.keras")
    with pytest.raises(graph.UnsupportedModel, match=r"is a custom object \('acme>Twice'\), refused"):
        keras_file.read_graph(tmp_path / "custom.keras", "architectures.mine")
    k.Model(i, k.layers.UpSampling2D()(i)).save(tmp_path / "upsample.keras")
    with pytest.raises(
        graph.UnsupportedModel, match=r"is a UpSampling2D, which is not supported \(supported: Activation"
    ):
        keras_file.read_graph(tmp_path / "upsample.keras", "architectures.mine")


def test_files_that_are_not_models_are_named(tmp_path):
    with pytest.raises(UserError, match=r"architectures.mine: file .*nope.keras does not exist"):
        keras_file.read_graph(tmp_path / "nope.keras", "architectures.mine")
    (tmp_path / "bad.keras").write_bytes(b"not a zip")
    with pytest.raises(UserError, match=r"bad.keras is not a readable Keras file"):
        keras_file.read_graph(tmp_path / "bad.keras", "architectures.mine")
    (tmp_path / "m.onnx").write_bytes(b"")
    with pytest.raises(UserError, match=r"is not a Keras file \(.keras, .h5, .hdf5\)"):
        keras_file.read_graph(tmp_path / "m.onnx", "architectures.mine")
