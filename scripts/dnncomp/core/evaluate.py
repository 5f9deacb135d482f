"""Accuracy of an artefact evaluated as that artefact: Keras models in TF, .tflite files in LiteRT."""

from __future__ import annotations

import numpy as np

RESOLVERS = ("auto", "builtin", "builtin_ref", "builtin_without_default_delegates")


def keras_logits(model, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    return np.concatenate(
        [np.asarray(model(x[i : i + batch_size], training=False)) for i in range(0, len(x), batch_size)]
    )


def accuracy(logits: np.ndarray, y: np.ndarray) -> float:
    return float(np.mean(np.argmax(logits, axis=-1) == y))


def make_interpreter(blob: bytes, threads: int = 1, resolver: str = "builtin_without_default_delegates"):
    """A LiteRT interpreter. The resolver decides whether XNNPACK is applied by default, which changes
    both speed and, for some sparse or dynamic-range models, the outputs: XNNPACK computes wrong outputs
    for dynamic-range block-sparse models in this LiteRT release, so every resolver is evaluated."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if resolver not in RESOLVERS:
        raise ValueError(f"interpreter.resolver: unknown '{resolver}' (known: {', '.join(RESOLVERS)})")
    interpreter = Interpreter(
        model_content=blob,
        num_threads=int(threads),
        experimental_op_resolver_type=getattr(OpResolverType, resolver.upper()),
    )
    interpreter.allocate_tensors()
    return interpreter


def quantize_input(x: np.ndarray, detail: dict) -> np.ndarray:
    """Raw pixels to the interpreter's input type (int8 models carry a scale and zero point)."""
    dtype = detail["dtype"]
    scale, zero_point = detail["quantization"]
    if np.issubdtype(dtype, np.integer) and scale:
        info = np.iinfo(dtype)
        return np.clip(np.round(x / scale + zero_point), info.min, info.max).astype(dtype)
    return x.astype(dtype)


def dequantize_output(out: np.ndarray, detail: dict) -> np.ndarray:
    scale, zero_point = detail["quantization"]
    if np.issubdtype(out.dtype, np.integer) and scale:
        return (out.astype(np.float32) - zero_point) * scale
    return out.astype(np.float32)


def set_batch(interpreter, batch: int) -> int:
    """Resize the input to `batch`; fall back to batch 1 for models whose kernels cannot resize."""
    detail = interpreter.get_input_details()[0]
    if detail["shape"][0] == batch:
        return batch
    try:
        interpreter.resize_tensor_input(detail["index"], [batch, *detail["shape"][1:]])
        interpreter.allocate_tensors()
        return batch
    except (RuntimeError, ValueError):
        interpreter.resize_tensor_input(detail["index"], [1, *detail["shape"][1:]])
        interpreter.allocate_tensors()
        return 1


def tflite_logits(interpreter, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    batch = set_batch(interpreter, min(batch_size, len(x)))
    inp, out = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    results = []
    for i in range(0, len(x), batch):
        chunk = x[i : i + batch]
        if len(chunk) < batch:
            chunk = np.concatenate([chunk, np.zeros((batch - len(chunk), *chunk.shape[1:]), chunk.dtype)])
        interpreter.set_tensor(inp["index"], quantize_input(chunk, inp))
        interpreter.invoke()
        results.append(dequantize_output(interpreter.get_tensor(out["index"]), out))
    return np.concatenate(results)[: len(x)]
