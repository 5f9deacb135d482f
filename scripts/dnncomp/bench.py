"""Latency measurement: warm-up, then timed calls until both a count and a time floor are met;
reported as the median with the 10th and 90th percentiles (timings here are noisy)."""
from __future__ import annotations

import time

import numpy as np


def time_calls(call, warmup: int = 20, min_repeats: int = 30, min_seconds: float = 0.3, max_repeats: int = 100000) -> np.ndarray:
    for _ in range(warmup):
        call()
    times = []
    start = time.perf_counter()
    while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() - start < min_seconds):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return np.asarray(times)


def summarize(times: np.ndarray, batch: int) -> dict:
    """Per-call statistics in microseconds, and throughput in samples per second from the median."""
    us = np.asarray(times) * 1e6
    median = float(np.median(us))
    return {
        "batch": int(batch),
        "median_us": median,
        "p10_us": float(np.percentile(us, 10)),
        "p90_us": float(np.percentile(us, 90)),
        "mean_us": float(us.mean()),
        "repeats": int(len(us)),
        "throughput_sps": float(batch / (median * 1e-6)) if median > 0 else None,
    }


def sample_batch(x: np.ndarray, batch: int, seed: int = 0) -> np.ndarray:
    """Real test images (not zeros: sparse activations can change the speed)."""
    rng = np.random.default_rng(seed)
    return x[rng.integers(0, len(x), size=batch)].astype(np.float32)


def bench_tflite(blob: bytes, x: np.ndarray, batch: int, threads: int, resolver: str, timing: dict) -> dict:
    from .evaluate import make_interpreter, quantize_input, set_batch

    interpreter = make_interpreter(blob, threads=threads, resolver=resolver)
    actual = set_batch(interpreter, batch)
    inp = interpreter.get_input_details()[0]
    interpreter.set_tensor(inp["index"], quantize_input(sample_batch(x, actual), inp))
    stats = summarize(time_calls(interpreter.invoke, **timing), actual)
    stats.update(threads=threads, requested_batch=batch, resolver=resolver)
    return stats


def bench_keras(tf, model, x: np.ndarray, batch: int, timing: dict, device: str = "/CPU:0", dtype=None) -> dict:
    """A compiled tf.function call (not predict(), whose per-call overhead would inflate speedups)."""
    with tf.device(device):
        inputs = tf.constant(sample_batch(x, batch))
        fn = tf.function(lambda t: model(t, training=False))
        fn(inputs)  # trace once before timing

        def call():
            fn(inputs).numpy()  # .numpy() waits for the device to finish

        return summarize(time_calls(call, **timing), batch)
