"""Rule bench_gpu: Keras models on the GPU (float32, and float16 compute), batch 1 and a large batch,
timed side by side in interleaved rounds. Without a visible GPU it records that fact: never an
invented number."""

from dnncomp import bench, data, models
from dnncomp.io import read_json, write_json
from dnncomp.job import run
from dnncomp.runtime import CLOCK, host_info, init_tf, versions

PRECISIONS = ("float32", "float16")


def gpu_name(tf, gpu) -> str:
    details = tf.config.experimental.get_device_details(gpu)
    return details.get("device_name", gpu.name)


def load_at(keras, path, precision):
    """The model with its layers computing in `precision` (float16: rebuilt under the mixed policy)."""
    model = models.load(keras, path)
    if precision == "float32":
        return model
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    return clone


def measure(tf, keras, model_paths, metrics_paths, cfg):
    cases, records, test_sets = [], {}, {}
    for path, metrics in zip(model_paths, metrics_paths, strict=True):
        record = records[path] = read_json(metrics)
        if record["dataset"] not in test_sets:
            test_sets[record["dataset"]] = data.load(f"results/data/{record['dataset']}.npz").split("test")[0]
        for precision in PRECISIONS:
            model = load_at(keras, path, precision)
            for batch in cfg["gpu_batch_sizes"]:
                cases.append(
                    bench.keras_case(
                        (path, precision, batch), tf, model, test_sets[record["dataset"]], batch, device="/GPU:0"
                    )
                )
    bench.run_rounds(cases, cfg)
    out = {}
    for case in cases:
        path, precision, batch = case.key
        record = records[path]
        entry = out.setdefault(
            path,
            {
                "artefact": path,
                "chain": record["chain"],
                "dataset": record["dataset"],
                "model": record["model"],
                "architecture": record["architecture"],
                "seed": record["seed"],
                "results": [],
            },
        )
        stats = bench.case_stats(case, batch)
        stats["precision"] = precision
        entry["results"].append(stats)
        print(f"{record['chain']} {precision} batch {batch}: median {stats['median_us']:.1f} us")
    return list(out.values())


def main(smk):
    cfg = smk.params.benchmark
    tf, keras, _ = init_tf(smk.threads, seed=0, deterministic=False, with_tfmot=False)
    gpus = tf.config.list_physical_devices("GPU")
    CLOCK.ready()
    out = {"provenance": {"versions": versions(), **host_info()}, "engine": "tf.function"}
    if not cfg["gpu"]:
        out.update(gpu=None, status="GPU benchmark disabled in config (benchmark.gpu: false)", models=[])
    elif not gpus:
        out.update(gpu=None, status="no GPU on the machine that ran this", models=[])
    else:
        out.update(
            gpu=gpu_name(tf, gpus[0]),
            status="measured",
            models=measure(tf, keras, smk.input.models, smk.input.metrics, cfg),
        )
    print(out["status"], out.get("gpu"))
    write_json(out, smk.output.bench)


run(main, snakemake)  # noqa: F821
