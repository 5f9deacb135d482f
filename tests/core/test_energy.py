"""Operation counts of real converted files against hand counts, and the energy estimate priced from
them. MACs per image of the dense layers:
- LeNet-300-100: 784*300 + 300*100 + 100*10 = 266,200.
- LeNet-5 (conv 5x5 'same' then 'valid', 2x2 pooling, 120-84-10) on 28x28x1: conv1 28*28*6*(5*5*1) =
  117,600; conv2 10*10*16*(5*5*6) = 240,000; fc 400*120 + 120*84 + 84*10 = 58,920; total 416,520.
- The same on 32x32x3: conv1 32*32*6*75 = 460,800; conv2 12*12*16*150 = 345,600; fc 576*120 + 10,080 +
  840 = 79,080; total 886,440."""

import numpy as np
import pytest
import yaml

from dnncomp.core import energy
from dnncomp.core.errors import ConfigError
from dnncomp.core.evaluate import make_interpreter
from dnncomp.inputs import models
from dnncomp.techniques.quantize import convert
from helpers import ROOT

CONFIG = yaml.safe_load((ROOT / "config.yaml").read_text())
ARCH = CONFIG["architectures"]
TABLE = CONFIG["energy"]


def counts_of(tf, model, mode, representative=None):
    blob = convert(tf, model, mode, dense_per_channel=False, representative=representative)
    return energy.operation_counts(make_interpreter(blob))


def spec(name):
    return {k: v for k, v in ARCH[name].items() if k != "reference"}


@pytest.mark.parametrize(
    "name, shape, macs",
    [("lenet300_100", (28, 28, 1), 266_200), ("lenet5", (28, 28, 1), 416_520), ("lenet5", (32, 32, 3), 886_440)],
)
def test_macs_match_a_hand_count(tf_modules, name, shape, macs):
    tf, keras, _ = tf_modules
    model = models.build(keras, name, spec(name), shape, 10)
    counts = counts_of(tf, model, "fp32")
    assert counts["macs"] == counts["macs_dense"] == macs
    assert counts["macs_by_width"] == {"float32": macs}
    assert counts["uncounted_ops"] == []


def zero_blocks(layer, keep_every=10):
    """Zero all but every `keep_every`-th 16x1 block of a Dense kernel ([in, out]: 16 inputs of one
    output), so TFLite's block-sparse FullyConnected kernel can run it."""
    kernel, bias = layer.get_weights()
    blocks = kernel.reshape(kernel.shape[0] // 16, 16, kernel.shape[1])
    mask = np.zeros((blocks.shape[0], 1, blocks.shape[2]), bool)
    mask[::keep_every] = True
    layer.set_weights([(blocks * mask).reshape(kernel.shape), bias])


def test_zeros_are_skipped_only_where_a_sparse_kernel_runs(tf_modules):
    """Block zeros in an int8 sparse-encoded file run on the sparse kernel (fewer MACs, fewer weight
    bytes); the same zeros in a dense int8 file, or scattered zeros, are multiplied all the same."""
    tf, keras, _ = tf_modules
    model = models.build(keras, "lenet300_100", spec("lenet300_100"), (28, 28, 1), 10)
    zero_blocks(model.get_layer("fc1"))  # 784 x 300: 235,200 of the 266,200 MACs
    sample = np.random.default_rng(0).integers(0, 255, (16, 28, 28, 1)).astype(np.float32)
    dense = counts_of(tf, model, "int8", sample)
    sparse = counts_of(tf, model, "int8-sparse", sample)
    assert dense["macs"] == 266_200 and dense["macs_nonzero"] < 266_200 * 0.25
    assert sparse["macs_dense"] == 266_200 and sparse["macs"] < 266_200 * 0.25
    assert sparse["macs"] >= sparse["macs_nonzero"]
    assert sparse["weight_bytes"] < dense["weight_bytes"] / 3
    assert energy.estimate(sparse, TABLE)["total_pj"] < energy.estimate(dense, TABLE)["total_pj"] / 3


def test_weight_width_sets_the_arithmetic(tf_modules):
    """float16 weights are dequantized once and run float32 MACs; dynamic-range int8 weights run int8
    MACs (LiteRT's hybrid kernels quantize the activations), except layers too small to quantize."""
    tf, keras, _ = tf_modules
    model = models.build(keras, "lenet300_100", spec("lenet300_100"), (28, 28, 1), 10)
    fp32, fp16, dynamic = (counts_of(tf, model, mode) for mode in ("fp32", "fp16", "dynamic"))
    assert fp16["macs_by_width"] == {"float32": 266_200}
    assert fp16["weight_bytes"] == fp32["weight_bytes"]  # the kernels read the dequantized weights
    assert dynamic["macs_by_width"]["int8"] == 784 * 300 + 300 * 100
    priced = energy.estimate(fp32, TABLE)
    assert priced["compute_pj"] == pytest.approx(266_200 * (3.7 + 0.9) + 784 * 0.9)
    assert priced["memory_pj"] == pytest.approx(fp32["weight_bytes"] / 4 * 640 + fp32["activation_bytes"] / 4 * 5)


def test_a_missing_table_entry_names_the_key():
    counts = {"macs_by_width": {"int16": 10}, "adds_by_width": {}, "weight_bytes": 0, "activation_bytes": 0}
    with pytest.raises(ConfigError, match="energy.pj_per_op.multiply has no entry for int16"):
        energy.estimate(counts, TABLE)


def test_width_of_dtypes():
    assert [energy.width(t) for t in (np.int8, np.uint8, np.int16, np.float16, np.float32)] == [
        "int8",
        "int8",
        "int16",
        "float16",
        "float32",
    ]
