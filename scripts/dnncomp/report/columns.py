"""The columns the aggregation adds to results/summary.csv, each declared once with its meaning.

A record's own fields (accuracy, size_bytes, ...) and the step columns (chain.STEP_COLUMNS) come from
the records; everything computed from them is declared here, and every module that computes, sums
up over seeds, plots or renders one takes its name from here."""

from __future__ import annotations

BASELINE_ACCURACY = "baseline_accuracy"
ACCURACY_CHANGE = "accuracy_vs_baseline_pt"
PARENT_CHANGE = "accuracy_vs_parent_pt"
FP32_BYTES = "fp32_tflite_bytes"
FP32_GZIP_BYTES = "fp32_tflite_gzip_bytes"
FILE_RATIO = "compression_vs_fp32"
GZIP_FILE_RATIO = "gzip_compression_vs_fp32"
GZIP_RATIO = "gzip_compression_vs_fp32_gzip"
THROUGHPUT = "throughput_sps"
THROUGHPUT_BATCH = "throughput_batch"
THREADS_ALL = "threads_all"
BENCH_ENGINE = "bench_engine"
KERAS_LATENCY = "keras_latency_b1_us"
KERAS_SPEEDUP = "speedup_b1_vs_keras"

# Operation counts of a .tflite (dnncomp.core.energy) and the energy estimate priced from them.
MACS = "macs"
MACS_DENSE = "macs_dense"
MACS_NONZERO = "macs_nonzero"
WEIGHT_TRAFFIC = "weight_bytes_read"
ACTIVATION_TRAFFIC = "activation_bytes"
ENERGY_EST = "energy_est_uj"
ENERGY_EST_COMPUTE = "energy_est_compute_uj"
ENERGY_EST_MEMORY = "energy_est_memory_uj"
ENERGY_EST_RATIO = "energy_est_vs_fp32"
# Measured with the CPU's RAPL counter where the host lets the benchmark read it (batch 1, one thread).
ENERGY_CPU = "energy_cpu_uj"
# GPU family benchmark (Keras models, float32, XLA off): batch-1 latency, and energy at the largest batch.
GPU_LATENCY = "gpu_latency_b1_us"
GPU_ENERGY = "energy_gpu_uj"

# Batch-1 timings: one thread ("t1") and all threads but one ("tall"); the median and its spread.
THREAD_LABELS = ("t1", "tall")
STATISTICS = {"": "median", "_p10": "p10", "_p90": "p90"}  # column suffix -> benchmark record key


def latency(threads: str = "t1", stat: str = "", resolver: str | None = None) -> str:
    """Batch-1 latency in microseconds; columns of a resolver other than the primary end in _<resolver>."""
    return f"latency_b1_{threads}{stat}_us" + (f"_{resolver}" if resolver else "")


def speedup(threads: str = "t1", stat: str = "", resolver: str | None = None) -> str:
    """Batch-1 speed against the chain's float32 .tflite, from per-round ratios timed side by side."""
    return f"speedup_b1_{threads}_vs_fp32_tflite{stat}" + (f"_{resolver}" if resolver else "")


def speedup_vs_network(network: str, resolver: str | None = None) -> str:
    """Batch-1, one-thread speed of a distilled student against another network's float32 .tflite,
    timed side by side in that network's family (the student's own family gives col.speedup)."""
    return f"speedup_b1_t1_vs_{network}_fp32_tflite" + (f"_{resolver}" if resolver else "")


def timing_columns(resolver: str | None = None) -> set:
    """Every timing column the family benchmark gives an artefact under one resolver."""
    names = {THROUGHPUT + (f"_{resolver}" if resolver else "")}
    for label in THREAD_LABELS:
        names |= {name(label, stat, resolver) for stat in STATISTICS for name in (latency, speedup)}
    return names


def resolver_accuracy(resolver: str) -> str:
    """Accuracy of a .tflite evaluated under one op resolver."""
    return f"accuracy_{resolver}"


LATENCY = latency()
SPEEDUP = speedup()
# The second resolver of the default config (TFLite's default delegates: XNNPACK).
SPEEDUP_XNNPACK = speedup(resolver="auto")

DECLARED = {
    BASELINE_ACCURACY: "test accuracy of the same seed's baseline Keras model",
    ACCURACY_CHANGE: "accuracy minus the same seed's baseline, in points (paired)",
    PARENT_CHANGE: "accuracy minus the same seed's parent model, in points (paired)",
    FP32_BYTES: "bytes of the chain's float32 .tflite (the size reference)",
    FP32_GZIP_BYTES: "gzip bytes of that float32 .tflite",
    FILE_RATIO: "float32 .tflite bytes / artefact bytes",
    GZIP_FILE_RATIO: "float32 .tflite bytes / artefact gzip bytes",
    GZIP_RATIO: "float32 .tflite gzip bytes / artefact gzip bytes: what shipping compressed saves",
    THROUGHPUT: "samples per second at the largest benchmarked batch",
    THROUGHPUT_BATCH: "that batch size",
    THREADS_ALL: "the thread count of the all-threads timings",
    BENCH_ENGINE: "what ran the timed artefact: litert or tf.function",
    KERAS_LATENCY: "batch-1 latency of the chain's Keras baseline (tf.function, all threads)",
    KERAS_SPEEDUP: "batch-1 speed against the Keras baseline, timed side by side",
    LATENCY: "batch-1 latency, one thread, median (_p10, _p90: its spread; _<resolver>: other resolvers)",
    SPEEDUP: "batch-1 speed vs float32 .tflite, one thread, median of per-round ratios (_p10, _p90)",
    speedup_vs_network("NETWORK"): "a distilled student's batch-1 speed vs another network's float32 .tflite, "
    "timed side by side in that network's family (_<resolver>: other resolvers)",
    MACS: "multiply-accumulates one batch-1 inference executes on LiteRT's builtin kernels",
    MACS_DENSE: "the same layers' MACs with every weight computed (the dense count)",
    MACS_NONZERO: "MACs with a nonzero weight: what a kernel that skips every zero would execute",
    WEIGHT_TRAFFIC: "weight and bias bytes the kernels read per inference (sparse kernels: values and indices)",
    ACTIVATION_TRAFFIC: "activation bytes the kernels read and write per inference",
    ENERGY_EST: "ESTIMATED energy per batch-1 inference, microjoules: counts priced with config energy",
    ENERGY_EST_COMPUTE: "the arithmetic part of that estimate",
    ENERGY_EST_MEMORY: "the memory-traffic part of that estimate",
    ENERGY_EST_RATIO: "estimate of the chain's float32 .tflite / the artefact's: how many times less",
    GPU_LATENCY: "GPU batch-1 latency of a Keras model, float32, XLA off, median (tf.function, synchronised)",
    GPU_ENERGY: "MEASURED GPU energy per image at the largest GPU batch, float32, XLA off (NVML, idle subtracted), uJ",
    ENERGY_CPU: "MEASURED CPU package energy per batch-1 inference (RAPL, idle power subtracted), microjoules",
}
