"""Operation counts of a deployable .tflite as LiteRT's builtin kernels execute it, and an energy
estimate from them with a per-operation energy table (config `energy`).

Counted from the interpreter's own op list, so the count follows what runs, not what the paper says:
- a multiply-accumulate (MAC) takes the width of the weights as the kernel sees them: int8 weights
  (full-int8, dynamic-range and QAT files) run int8 x int8 MACs into int32 accumulators; float16
  weights are dequantized once and run float32 MACs;
- zero weights are skipped only where the runtime has a sparse kernel: a FULLY_CONNECTED op whose
  weight tensor is sparse-encoded and read directly (block sparsity). Sparse-encoded weights behind a
  DENSIFY op (unstructured sparsity, convolutions) run dense; `macs_nonzero` gives the count a
  zero-skipping kernel would need, for comparison;
- memory traffic: every weight and bias a compute op reads once per inference (sparse: the stored
  values and their index arrays), and every activation it reads and writes.

The estimate is an estimate: it prices these counts with a published table (e.g. Horowitz, ISSCC
2014, 45 nm) and says nothing of caches, clocks or the host; measured energy is separate (meters)."""

from __future__ import annotations

import numpy as np

from .errors import ConfigError

MAC_OPS = {"FULLY_CONNECTED", "CONV_2D", "DEPTHWISE_CONV_2D"}
# One operation per output element: arithmetic, and activations that are not fused into a MAC op
# (after an Add, or a user's standalone ReLU6 / LeakyReLU / sigmoid layer).
ELEMENTWISE_OPS = {
    *("ADD", "MUL", "SUB", "MAXIMUM", "MINIMUM"),
    *("RELU", "RELU6", "RELU_N1_TO_1", "LEAKY_RELU", "PRELU", "LOGISTIC", "TANH", "HARD_SWISH", "ELU", "GELU"),
}
# Input - output elements: exact for non-overlapping windows and for global pooling (MEAN, REDUCE_MAX).
POOL_OPS = {"MAX_POOL_2D", "AVERAGE_POOL_2D", "MEAN", "SUM", "REDUCE_MAX"}
# Ops whose output the runtime computes once for constant weights (kept in the arena, then read).
WEIGHT_DECODE_OPS = {"DENSIFY", "DEQUANTIZE"}
# Ops that move or rescale data without arithmetic worth pricing against the MACs.
NOT_PRICED = {
    *("RESHAPE", "QUANTIZE", "DEQUANTIZE", "DENSIFY", "SOFTMAX", "PAD", "CONCATENATION"),
    *("STRIDED_SLICE", "SLICE"),  # a Cropping2D: a copy of the pixels it keeps
}

# TFLite's integer kernels accumulate int8 (and int4, unpacked to int8) products in int32.
ACCUMULATOR = {"int8": "int32", "int16": "int64", "float32": "float32", "float16": "float16"}
BITS_PER_WORD = 32  # the table's memory energies are per 32-bit access


def width(dtype) -> str:
    """The arithmetic a kernel does on a tensor of this dtype: 8-bit and narrower integers run as int8."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        return "int8" if dtype.itemsize == 1 else f"int{dtype.itemsize * 8}"
    return f"float{dtype.itemsize * 8}"


def _elements(shape) -> int:
    return int(np.prod(np.asarray(shape, dtype=np.int64)))


def _sparse_bytes(tensor: dict, values: np.ndarray) -> int:
    """Stored values plus the index arrays of a sparse-encoded tensor."""
    index = sum(
        np.asarray(dim.get(key, ())).nbytes
        for dim in tensor["sparsity_parameters"].get("dim_metadata", [])
        for key in ("array_segments", "array_indices")
    )
    return int(values.nbytes + index)


class _Graph:
    def __init__(self, interpreter):
        self.interpreter = interpreter
        self.tensors = {t["index"]: t for t in interpreter.get_tensor_details()}
        self.ops = interpreter._get_ops_details()  # the executed op list (no public equivalent in LiteRT)
        self.producer = {out: op for op in self.ops for out in op["outputs"]}
        self.inputs = {d["index"] for d in interpreter.get_input_details()}

    def is_constant(self, index: int) -> bool:
        """A weight: not a graph input and made by no op, or decoded from weights once (DENSIFY, DEQUANTIZE)."""
        op = self.producer.get(index)
        if op is None:
            return index not in self.inputs
        return op["op_name"] in WEIGHT_DECODE_OPS and all(self.is_constant(i) for i in op["inputs"] if i >= 0)

    def stored(self, index: int) -> np.ndarray:
        """The values stored in the file behind a weight tensor (before densifying or dequantizing)."""
        op = self.producer.get(index)
        if op is not None and op["op_name"] in WEIGHT_DECODE_OPS:
            return self.stored(op["inputs"][0])
        return self.interpreter.get_tensor(index)

    def nbytes(self, index: int) -> int:
        tensor = self.tensors[index]
        return _elements(tensor["shape"]) * np.dtype(tensor["dtype"]).itemsize


def _mac_op(graph: _Graph, op: dict) -> dict:
    activation, weights = op["inputs"][0], op["inputs"][1]
    w = graph.tensors[weights]
    shape = [int(n) for n in w["shape"]]
    out_channels = shape[-1] if op["op_name"] == "DEPTHWISE_CONV_2D" else shape[0]
    per_output = _elements(shape) // out_channels  # MACs per output element, dense
    outputs = _elements(graph.tensors[op["outputs"][0]]["shape"])
    dense = outputs * per_output
    stored = graph.stored(weights)
    sparse_kernel = bool(w["sparsity_parameters"])  # read directly by the op: the sparse kernel runs
    executed = dense * int(stored.size) // _elements(shape) if sparse_kernel else dense
    nonzero = dense * int(np.count_nonzero(stored)) // _elements(shape)
    weight_bytes = _sparse_bytes(w, stored) if sparse_kernel else graph.nbytes(weights)
    weight_bytes += sum(graph.nbytes(i) for i in op["inputs"][2:] if i >= 0)  # bias
    return {
        "width": width(w["dtype"]),
        "macs": executed,
        "macs_dense": dense,
        "macs_nonzero": nonzero,
        "weight_bytes": weight_bytes,
        "activation_bytes": graph.nbytes(activation) + graph.nbytes(op["outputs"][0]),
    }


def operation_counts(interpreter) -> dict:
    """What one batch-1 inference of an allocated interpreter executes (builtin kernels, no delegate)."""
    graph = _Graph(interpreter)
    macs, other, uncounted = {}, {}, set()
    totals = {"macs": 0, "macs_dense": 0, "macs_nonzero": 0, "weight_bytes": 0, "activation_bytes": 0}
    for op in graph.ops:
        name = op["op_name"]
        if name in MAC_OPS:
            counted = _mac_op(graph, op)
            macs[counted["width"]] = macs.get(counted["width"], 0) + counted["macs"]
            for key in totals:
                totals[key] += counted[key]
            continue
        out = graph.tensors[op["outputs"][0]]
        if name in ELEMENTWISE_OPS or name in POOL_OPS:
            activations = [i for i in op["inputs"] if i >= 0 and not graph.is_constant(i)]
            count = _elements(out["shape"])
            if name in POOL_OPS:
                count = _elements(graph.tensors[activations[0]]["shape"]) - count
            other[width(out["dtype"])] = other.get(width(out["dtype"]), 0) + count
            totals["activation_bytes"] += sum(graph.nbytes(i) for i in activations) + graph.nbytes(op["outputs"][0])
        elif name not in NOT_PRICED:
            uncounted.add(name)
    return {**totals, "macs_by_width": macs, "adds_by_width": other, "uncounted_ops": sorted(uncounted)}


def _price(table: dict, kind: str, key: str) -> float:
    try:
        return float(table[kind][key])
    except KeyError:
        raise ConfigError(f"energy.pj_per_op.{kind} has no entry for {key}: add it to config.yaml") from None


def estimate(counts: dict, table: dict) -> dict:
    """Picojoules per batch-1 inference: compute (MACs: multiply at the weight width plus an add at the
    accumulator width; other arithmetic: one add each) and memory (weights from `weights_from`,
    activations from `activations_from`, per 32-bit access). `table` is config `energy`."""
    ops = table["pj_per_op"]
    macs = counts["macs_by_width"]
    compute = sum(n * (_price(ops, "multiply", w) + _price(ops, "add", ACCUMULATOR[w])) for w, n in macs.items())
    compute += sum(n * _price(ops, "add", w) for w, n in counts["adds_by_width"].items())
    access = table["pj_per_access"]
    words = 8 / BITS_PER_WORD  # 32-bit accesses per byte
    memory = counts["weight_bytes"] * words * float(access[table["weights_from"]])
    memory += counts["activation_bytes"] * words * float(access[table["activations_from"]])
    return {"compute_pj": compute, "memory_pj": memory, "total_pj": compute + memory}
