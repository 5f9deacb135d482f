"""Latency measurement, side by side: every artefact of a family is timed in one process, in
interleaved rounds (each round times every case once, in shuffled order, after its own warm-up),
so a speedup is a ratio of timings taken together on one host, and its spread is that of the
per-round ratios.

Within a round each case is built `placements` times (a fresh interpreter each) and the fastest
build's median is kept. LiteRT's float kernels without XNNPACK run up to 1.5x slower when the
interpreter's arena lands at some offsets within a 4 KiB page relative to the weights (measured on
CIFAR-10 LeNet-300-100: 58 vs 84 us, by the input tensor's address mod 4096). A process cannot
choose where its arena lands, and the share of slow builds drifts with the heap's history, so a
median over single builds flips between the two levels from run to run; the best of a few builds
is the kernel's speed at a favourable placement, and repeats."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

TIMING_KEYS = ("rounds", "placements", "warmup", "min_repeats", "min_seconds")


def time_calls(call, warmup: int, min_repeats: int, min_seconds: float, max_repeats: int = 100000) -> np.ndarray:
    """Seconds per call, after `warmup` untimed calls, until both a count and a time floor are met."""
    for _ in range(warmup):
        call()
    times = []
    start = time.perf_counter()
    while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() - start < min_seconds):
        t0 = time.perf_counter()
        call()
        times.append(time.perf_counter() - t0)
    return np.asarray(times)


def spread(values) -> dict:
    """Median with the 10th and 90th percentiles."""
    values = np.asarray(values, dtype=float)
    return {
        "median": float(np.median(values)),
        "p10": float(np.percentile(values, 10)),
        "p90": float(np.percentile(values, 90)),
    }


def summarize(times: np.ndarray, batch: int) -> dict:
    """Per-call statistics in microseconds, and throughput in samples per second from the median."""
    us = np.asarray(times) * 1e6
    stats = spread(us)
    return {
        "batch": int(batch),
        "median_us": stats["median"],
        "p10_us": stats["p10"],
        "p90_us": stats["p90"],
        "mean_us": float(us.mean()),
        "repeats": int(len(us)),
        "throughput_sps": float(batch / (stats["median"] * 1e-6)) if stats["median"] > 0 else None,
    }


def sample_batch(x: np.ndarray, batch: int, seed: int = 0) -> np.ndarray:
    """Real test images (not zeros: sparse activations can change the speed)."""
    rng = np.random.default_rng(seed)
    return x[rng.integers(0, len(x), size=batch)].astype(np.float32)


@dataclass
class Case:
    """One thing to time: `prepare()` returns the call to time (building it is not timed)."""

    key: tuple
    prepare: Callable[[], Callable[[], None]]
    actual_batch: int = 1  # the batch the runtime accepted (some .tflite kernels cannot resize)
    rebuilds: bool = True  # whether a new build can land elsewhere in memory (see `placements`)
    round_medians: list = field(default_factory=list)
    times: list = field(default_factory=list)


def run_rounds(cases: list, timing: dict, seed: int = 0) -> None:
    """Time every case once per round, in a new shuffled order each round, each after its own warm-up;
    a round keeps the fastest of `placements` fresh builds of the case (see the module's docstring)."""
    rng = np.random.default_rng(seed)
    for _ in range(timing["rounds"]):
        for index in rng.permutation(len(cases)):
            case = cases[index]
            builds = [
                time_calls(case.prepare(), timing["warmup"], timing["min_repeats"], timing["min_seconds"])
                for _ in range(timing["placements"] if case.rebuilds else 1)
            ]
            fastest = min(builds, key=np.median)
            case.round_medians.append(float(np.median(fastest)))
            case.times.append(fastest)


def case_stats(case: Case, batch: int) -> dict:
    stats = summarize(np.concatenate(case.times), batch)
    stats["round_medians_us"] = [t * 1e6 for t in case.round_medians]
    return stats


def ratio_stats(reference: Case, case: Case) -> dict:
    """reference / case for each round: how many times faster the case ran in that round."""
    ratios = np.asarray(reference.round_medians) / np.asarray(case.round_medians)
    return spread(ratios)


def tflite_case(key: tuple, blob: bytes, x: np.ndarray, batch: int, threads: int, resolver: str) -> Case:
    """A .tflite under one resolver, thread count and batch; a fresh interpreter each round."""
    from ..core.evaluate import make_interpreter, quantize_input, set_batch

    def prepare():
        interpreter = make_interpreter(blob, threads=threads, resolver=resolver)
        actual = set_batch(interpreter, batch)
        inp = interpreter.get_input_details()[0]
        interpreter.set_tensor(inp["index"], quantize_input(sample_batch(x, actual), inp))
        case.actual_batch = actual
        return interpreter.invoke

    case = Case(key, prepare, actual_batch=batch)
    return case


def keras_case(
    key: tuple, tf, model, x: np.ndarray, batch: int, device: str = "/CPU:0", jit_compile: bool = False
) -> Case:
    """A compiled tf.function call (not predict(), whose per-call overhead would inflate speedups);
    jit_compile: through XLA."""
    with tf.device(device):
        inputs = tf.constant(sample_batch(x, batch))
    fn = tf.function(lambda t: model(t, training=False), jit_compile=jit_compile)
    with tf.device(device):
        fn(inputs)  # trace once, outside every round

    def prepare():
        def call():
            with tf.device(device):
                fn(inputs).numpy()  # .numpy() waits for the device to finish

        return call

    return Case(key, prepare, actual_batch=batch, rebuilds=False)  # one traced function, built once
