"""Size accounting: parameters, non-zeros, bytes on disk and after entropy coding, packed n-bit sizes."""

from __future__ import annotations

import gzip
import lzma
import math

import numpy as np


def compressed_sizes(blob: bytes) -> dict:
    """Bytes of an artefact as stored, gzipped (level 9) and xz-compressed: what a user would ship."""
    return {
        "size_bytes": len(blob),
        "gzip_bytes": len(gzip.compress(blob, compresslevel=9, mtime=0)),
        "xz_bytes": len(lzma.compress(blob, preset=9 | lzma.PRESET_EXTREME)),
    }


def weight_arrays(model) -> list:
    """(layer name, kernel, bias) for every layer with a kernel, in model order."""
    out = []
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        bias = getattr(layer, "bias", None)
        out.append((layer.name, np.asarray(kernel), None if bias is None else np.asarray(bias)))
    return out


def zero_fraction(kernel) -> float:
    return 1.0 - np.count_nonzero(kernel) / kernel.size


def kernel_sparsity(model) -> dict:
    """Each layer's fraction of zero kernel weights."""
    return {name: zero_fraction(kernel) for name, kernel, _ in weight_arrays(model)}


def parameter_counts(model) -> dict:
    """Total and non-zero trainable parameters, and each layer's kernel sparsity (rounded)."""
    total = nonzero = 0
    layers = {}
    for name, kernel, bias in weight_arrays(model):
        arrays = [kernel] + ([bias] if bias is not None else [])
        total += sum(a.size for a in arrays)
        nonzero += sum(int(np.count_nonzero(a)) for a in arrays)
        layers[name] = round(zero_fraction(kernel), 4)
    return {"params": int(total), "nonzero_params": int(nonzero), "layer_sparsity": layers}


def packed_bits_size(num_weights: int, bits: int, num_scales: int, num_float_params: int) -> int:
    """Bytes for n-bit weights packed densely, float32 scales, and the float32 parameters left (biases)."""
    if bits < 1:
        raise ValueError(f"bit-width must be at least 1, got {bits}")
    return math.ceil(num_weights * bits / 8) + 4 * num_scales + 4 * num_float_params


def quantize_symmetric(kernel: np.ndarray, bits: int, per_channel: bool = True) -> tuple:
    """Symmetric uniform n-bit quantization of a kernel, per output channel (last axis) or per tensor.

    Returns the dequantized kernel and the scales. Levels are -q..q with q = 2**(bits-1) - 1, so zero
    stays exactly zero (pruned weights stay pruned) and 2 bits gives the ternary {-s, 0, s}.
    """
    if bits < 2:
        raise ValueError(f"symmetric quantization needs at least 2 bits, got {bits}")
    qmax = 2 ** (bits - 1) - 1
    axes = tuple(range(kernel.ndim - 1)) if per_channel else None
    max_abs = np.max(np.abs(kernel), axis=axes, keepdims=per_channel)
    scale = np.where(max_abs > 0, max_abs / qmax, 1.0).astype(np.float32)
    q = np.clip(np.round(kernel / scale), -qmax, qmax)
    return (q * scale).astype(kernel.dtype), np.atleast_1d(scale).reshape(-1)


def layer_macs(layer) -> int:
    """Multiply-accumulates of one layer at batch 1, from its kernel and output shapes (0 for layers
    without a kernel)."""
    out = layer.output_shape
    spatial = int(np.prod(out[1:-1])) if len(out) > 2 else 1
    name = type(layer).__name__
    if name == "SeparableConv2D":
        depthwise, pointwise = layer.depthwise_kernel.shape, layer.pointwise_kernel.shape
        return spatial * (int(np.prod(depthwise)) + int(np.prod(pointwise)))
    if name == "DepthwiseConv2D":
        return spatial * int(np.prod(layer.depthwise_kernel.shape))
    kernel = getattr(layer, "kernel", None)
    if kernel is None:
        return 0
    shape = kernel.shape  # Dense [in, out]; Conv2D [kh, kw, in / groups, filters]
    return spatial * int(np.prod(shape))


def layer_table(model) -> list:
    """Each layer of a Keras model: name, type, output shape, parameters, MACs at batch 1."""
    return [
        {
            "layer": layer.name,
            "type": type(layer).__name__,
            "output_shape": str(tuple(layer.output_shape[1:])) if not isinstance(layer.output_shape, list) else "",
            "params": int(layer.count_params()),
            "macs": layer_macs(layer) if not isinstance(layer.output_shape, list) else 0,
        }
        for layer in model.layers
    ]
