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
