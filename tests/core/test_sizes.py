import gzip

import numpy as np
import pytest

from dnncomp.core.sizes import compressed_sizes, packed_bits_size, quantize_symmetric


def test_packed_size_counts_bits_scales_and_float_params():
    # 1000 4-bit weights = 500 bytes, 10 float32 scales = 40, 10 float32 biases = 40.
    assert packed_bits_size(1000, 4, 10, 10) == 580
    # Bits that do not fill a byte round up once for the whole tensor, not per weight.
    assert packed_bits_size(3, 3, 0, 0) == 2


def test_packed_size_rejects_zero_bits():
    with pytest.raises(ValueError):
        packed_bits_size(10, 0, 0, 0)


def test_per_channel_scales_follow_each_output_channel():
    kernel = np.array([[1.0, -0.5], [0.25, 0.1]], dtype=np.float32)  # [in, out]
    quantized, scales = quantize_symmetric(kernel, bits=8, per_channel=True)
    np.testing.assert_allclose(scales, [1.0 / 127, 0.5 / 127], rtol=1e-6)
    assert np.max(np.abs(quantized - kernel)) <= scales.max() / 2 + 1e-7


def test_per_tensor_uses_one_scale():
    kernel = np.random.default_rng(0).normal(size=(5, 4)).astype(np.float32)
    _, scales = quantize_symmetric(kernel, bits=4, per_channel=False)
    assert scales.shape == (1,)


@pytest.mark.parametrize("bits", [2, 3, 4, 8])
def test_levels_and_zeros(bits):
    kernel = np.random.default_rng(1).normal(size=(50, 3)).astype(np.float32)
    kernel[::2] = 0.0
    quantized, scales = quantize_symmetric(kernel, bits)
    for channel in range(3):
        levels = np.unique(np.round(quantized[:, channel] / scales[channel]))
        assert len(levels) <= 2**bits - 1
    assert np.all(quantized[::2] == 0.0), "pruned weights must stay exactly zero"


def test_compressed_sizes_match_gzip():
    blob = bytes(1000) + bytes(range(256))
    sizes = compressed_sizes(blob)
    assert sizes["size_bytes"] == 1256
    assert sizes["gzip_bytes"] == len(gzip.compress(blob, compresslevel=9, mtime=0))
    assert sizes["xz_bytes"] < sizes["size_bytes"]


def test_per_layer_macs_add_up_to_what_the_converted_file_executes(tf_modules):
    """The report's layer table against the operation counts of the float32 .tflite (dnncomp.core.energy)."""
    from dnncomp.core.energy import operation_counts
    from dnncomp.core.evaluate import make_interpreter
    from dnncomp.core.sizes import layer_table
    from dnncomp.inputs import models
    from dnncomp.techniques.quantize import convert

    tf, keras, _ = tf_modules
    lenet5 = models.build(
        keras, "lenet5", {"type": "cnn", "conv": [6, 16], "kernel": 5, "dense": [120, 84]}, (28, 28, 1), 10
    )
    i = keras.Input((16, 16, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, padding="same")(i)
    x = keras.layers.DepthwiseConv2D(3, padding="same", depth_multiplier=2)(x)
    x = keras.layers.SeparableConv2D(12, 3)(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    separable = keras.Model(i, keras.layers.Dense(5)(x))
    for model in (lenet5, separable):
        table = layer_table(model)
        assert sum(row["params"] for row in table) == model.count_params()
        blob = convert(tf, model, "fp32", dense_per_channel=True)
        assert sum(row["macs"] for row in table) == operation_counts(make_interpreter(blob))["macs"]
    conv = next(row for row in layer_table(lenet5) if row["layer"] == "conv1")
    assert conv["output_shape"] == "(28, 28, 6)" and conv["macs"] == 28 * 28 * 6 * 5 * 5
