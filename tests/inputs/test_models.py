import numpy as np
import pytest

from dnncomp.core.sizes import parameter_counts
from dnncomp.inputs import models

LENET300 = {"type": "mlp", "hidden": [300, 100]}
LENET5 = {"type": "cnn", "conv": [6, 16], "kernel": 5, "dense": [120, 84]}


def test_lenet300_100_has_the_classic_parameter_count(tf_modules):
    _, keras, _ = tf_modules
    model = models.build(keras, "lenet300_100", LENET300, (28, 28, 1), 10)
    assert parameter_counts(model)["params"] == 784 * 300 + 300 + 300 * 100 + 100 + 100 * 10 + 10


def test_lenet5_shapes_for_mnist_and_cifar(tf_modules):
    _, keras, _ = tf_modules
    mnist = models.build(keras, "lenet5", LENET5, (28, 28, 1), 10)
    cifar = models.build(keras, "lenet5", LENET5, (32, 32, 3), 10)
    assert mnist.get_layer("flatten").output_shape[-1] == 16 * 5 * 5
    assert cifar.get_layer("flatten").output_shape[-1] == 16 * 6 * 6
    assert parameter_counts(mnist)["params"] == 61706


def test_model_takes_raw_pixels_and_rescales_inside(tf_modules):
    _, keras, _ = tf_modules
    model = models.build(keras, "m", {"type": "mlp", "hidden": [4]}, (2, 2, 1), 3)
    assert model.layers[1].name == "rescale"
    out = model(np.full((1, 2, 2, 1), 255, np.float32))
    assert out.shape == (1, 3)


def test_unknown_type_and_cnn_on_flat_input_are_clear_errors(tf_modules):
    _, keras, _ = tf_modules
    with pytest.raises(models.ModelSpecError, match="unknown type 'rnn'"):
        models.build(keras, "x", {"type": "rnn"}, (28, 28, 1), 10)
    with pytest.raises(models.ModelSpecError, match=r"needs \(H, W, C\) images"):
        models.build(keras, "x", LENET5, (784,), 10)
