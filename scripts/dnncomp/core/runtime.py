"""TensorFlow start-up done once, in the right order, by every job that trains or converts.

TFMOT needs Keras 2: TF_USE_LEGACY_KERAS must be set and tensorflow_model_optimization imported
before tf.keras is touched. TF ignores Snakemake's `threads:` unless told before the first op.
"""

from __future__ import annotations

import contextlib
import os
import platform
import re
import resource
import sys
import tempfile
import time

# What TensorFlow's C++ libraries print at every start on a machine without a GPU. They print it
# before absl logging is initialised, so TF_CPP_MIN_LOG_LEVEL cannot silence it (and the cuInit line
# is error-level, the first thing a user reading a failed job's log would meet). The job log says
# instead, in one line, which device runs the job; any other line printed at start-up is kept.
STARTUP_NOISE = re.compile(
    "|".join(
        map(
            re.escape,
            (
                "All log messages before absl::InitializeLog() is called are written to STDERR",
                "oneDNN custom operations are on.",
                "Could not find cuda drivers on your machine, GPU will not be used.",
                "failed call to cuInit:",
                "This TensorFlow binary is optimized to use available CPU instructions",
                "To enable the following instructions:",
            ),
        )
    )
)


def needs_op_determinism(threads: int) -> bool:
    """On one thread TensorFlow's CPU kernels already give bit-identical results for a fixed seed
    (tested by rerunning every training rule); enable_op_determinism() would make LeNet-5 training
    about 1.5x slower for nothing. With more threads, reductions may be split differently."""
    return int(threads) > 1


def hide_keras_3() -> None:
    """Make `import keras` fail at once in this process, unless something has imported it already.

    Keras 3 is installed as TensorFlow's dependency, but every model here is a tf_keras model. TFMOT's
    pruning registry and the TFLite converter each import Keras 3 only to find that out (both fall back
    on ImportError to the path they take for tf_keras models anyway). Skipping it saves a median 0.55
    CPU-s (0.33-0.77, timed interleaved) in every job that imports TFMOT or converts a model."""
    sys.modules.setdefault("keras", None)


def keras_3():
    """Keras 3 itself, for the one job that reads a file Keras 3 saved (it was hidden by hide_keras_3)."""
    if sys.modules.get("keras", 0) is None:
        del sys.modules["keras"]
    import keras

    return keras


def init_tf(threads: int = 1, seed: int | None = None, deterministic: bool | None = None, with_tfmot: bool = True):
    """Import TensorFlow for this job; return (tf, keras, tfmot), tfmot None unless with_tfmot.

    deterministic=None turns op determinism on only where it is needed (more than one thread).
    Importing TFMOT adds about 0.4 CPU-s to a job (1.1 s before Keras 3 was hidden); conversion,
    evaluation and benchmark jobs skip it."""
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "1")
    hide_keras_3()
    threads = max(1, int(threads))
    with native_stderr_without(STARTUP_NOISE):
        tfmot = None
        if with_tfmot:
            import tensorflow_model_optimization as tfmot
        import tensorflow as tf
        import tf_keras as keras

        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
        if seed is not None:
            keras.utils.set_random_seed(int(seed))
        if needs_op_determinism(threads) if deterministic is None else deterministic:
            tf.config.experimental.enable_op_determinism()
        gpus = tf.config.list_physical_devices("GPU")  # CUDA's start-up (cuInit) happens here, not at the first op
    device = f"GPU ({', '.join(gpu.name for gpu in gpus)})" if gpus else "CPU (no GPU visible)"
    print(f"TensorFlow {tf.__version__} on {device}, {threads} thread(s)", flush=True)
    return tf, keras, tfmot


@contextlib.contextmanager
def native_stderr_without(noise: re.Pattern):
    """Capture what is written to file descriptor 2 (C++ libraries included) inside the block, then
    write it back without the lines that match `noise`. A failure inside the block keeps the rest."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            lines = capture.read().decode(errors="replace").splitlines(keepends=True)
            os.write(2, "".join(line for line in lines if not noise.search(line)).encode())


def versions() -> dict:
    """Versions of everything that can change a number in a record."""
    out = {"python": platform.python_version()}
    for name, module in (
        ("numpy", "numpy"),
        ("tensorflow", "tensorflow"),
        ("tf_keras", "tf_keras"),
        ("tfmot", "tensorflow_model_optimization"),
        ("ai_edge_litert", "ai_edge_litert"),
    ):
        mod = sys.modules.get(module)
        if mod is None:
            continue
        out[name] = getattr(mod, "__version__", None) or _dist_version(module)
    return out


def _dist_version(module: str) -> str | None:
    from importlib import metadata

    try:
        return metadata.version(module.replace("_", "-"))
    except metadata.PackageNotFoundError:
        return None


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def host_info() -> dict:
    return {"host": platform.node(), "cpu": cpu_model(), "cpu_count": os.cpu_count(), "platform": platform.platform()}


# ----------------------------------------------------------------------------- job cost


def _process_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _process_wall_s() -> float:
    """Seconds since this process started (interpreter start-up included)."""
    import psutil

    return time.time() - psutil.Process().create_time()


JOB_COST_PREFIX = "job_cost: "


class JobClock:
    """Where a job's time goes: everything before the last `ready()` (interpreter, imports, TensorFlow
    start-up, data and model loading) is start-up; the rest is the job's real work. A job that never
    calls ready() (no TensorFlow, no model) starts its work when its rule script's main() begins."""

    def __init__(self):
        self.startup = None
        self.entry = None

    @staticmethod
    def _now() -> dict:
        return {"cpu_s": _process_cpu_s(), "wall_s": _process_wall_s()}

    def enter(self) -> None:
        self.entry = self._now()

    def ready(self) -> None:
        """Mark the end of start-up; a later mark (e.g. after loading the parent model) moves it."""
        self.startup = self._now()

    def report(self) -> dict:
        total = self._now()
        startup = self.startup or self.entry or total
        return {
            "startup_cpu_s": round(startup["cpu_s"], 3),
            "startup_wall_s": round(startup["wall_s"], 3),
            "cpu_s": round(total["cpu_s"], 3),
            "wall_s": round(total["wall_s"], 3),
        }


CLOCK = JobClock()
