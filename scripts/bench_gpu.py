"""Rule bench_gpu: every Keras model of one family on the GPU (float32 and float16, XLA off and on,
each GPU batch size), timed side by side, with NVML energy where the driver reports it. Without a
visible GPU it records that fact, and why: never an invented number."""

from pathlib import Path

from dnncomp.core.io import read_json, write_json
from dnncomp.core.runtime import CLOCK, host_info, init_tf, versions
from dnncomp.inputs import data
from dnncomp.jobs.job import run
from dnncomp.measure import gpu
from dnncomp.measure.bench import TIMING_KEYS
from dnncomp.measure.meters import nvml_meter, nvml_versions


def entries(smk) -> list:
    """The family's Keras models, then its QAT models (rebuilt from their parents in the job)."""
    out = []
    for path, metrics in zip(smk.input.models, smk.input.metrics, strict=True):
        out.append({"artefact": path, "path": path, "chain": read_json(metrics)["chain"]})
    for path, metrics in zip(smk.input.qat_weights, smk.input.qat_metrics, strict=True):
        out.append(gpu.qat_entry(path, read_json(metrics)))
    return out


def measure(smk, cfg) -> dict:
    """The GPU's record, or why there is none (TensorFlow is imported only where a driver is loaded)."""
    if not gpu.driver_visible():
        return {"gpu": None, "status": gpu.NO_DRIVER, "reason": "no NVIDIA driver loaded", "models": []}
    tf, keras, tfmot = init_tf(smk.threads, seed=0, deterministic=False, with_tfmot=bool(smk.input.qat_weights))
    gpus = tf.config.list_physical_devices("GPU")
    if not gpus:
        return {"gpu": None, "status": gpu.NO_DRIVER, "reason": "TensorFlow sees no GPU", "models": []}
    meter, energy = nvml_meter(0)
    x_test = data.load(smk.input.data).split("test")[0]
    CLOCK.ready()
    load = gpu.loader(keras, tfmot)
    models = gpu.measure_family(tf, keras, entries(smk), x_test, cfg, "/GPU:0", meter, load)
    for model in models:
        for r in model["results"]:
            joules = r.get("energy", {}).get("joules_per_1000_images", {}).get("median")
            print(
                f"{model['chain']} {r['precision']} xla={r['xla']} batch {r['batch']}: median {r['median_us']:.1f} us"
                + (f", {joules:.3f} J per 1000 images" if joules is not None else "")
            )
    return {
        "gpu": {**gpu.device_info(tf, gpus[0]), **nvml_versions()},
        "status": "measured",
        "energy": {"meter": meter.name if meter else None, "status": energy},
        "models": models,
    }


def main(smk):
    cfg = smk.params.benchmark
    if cfg["gpu"]:
        out = measure(smk, cfg)
    else:
        out = {"gpu": None, "status": "GPU benchmark disabled in config (benchmark.gpu: false)", "models": []}
    print(out["status"], out.get("reason", ""))
    out.update(
        family=str(Path(smk.output.bench).parent),
        device="gpu",
        timing={k: cfg[k] for k in TIMING_KEYS},
        note=gpu.DENSE_NOTE,
        provenance={"versions": versions(), **host_info()},
    )
    write_json(out, smk.output.bench)


run(main, snakemake)  # noqa: F821
