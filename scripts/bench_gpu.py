"""Rule bench_gpu: Keras models on the GPU (float32, and float16 compute), batch 1 and a large batch.
Without a visible GPU it records that fact: never an invented number."""
from dnncomp import bench, data, models
from dnncomp.io import read_json, write_json
from dnncomp.job import run
from dnncomp.runtime import host_info, init_tf, versions


def gpu_name(tf, gpu) -> str:
    details = tf.config.experimental.get_device_details(gpu)
    return details.get("device_name", gpu.name)


def bench_model(tf, keras, model_path, metrics_path, data_cache, cfg):
    record = read_json(metrics_path)
    dataset = record["dataset"]
    if dataset not in data_cache:
        data_cache[dataset] = data.load(f"results/data/{dataset}.npz").split("test")[0]
    x_test = data_cache[dataset]
    timing = {k: cfg[k] for k in ("warmup", "min_repeats", "min_seconds")}
    results = []
    for precision in ("float32", "float16"):
        keras.mixed_precision.set_global_policy("mixed_float16" if precision == "float16" else "float32")
        model = models.load(keras, model_path)
        if precision == "float16":
            # Rebuild under the mixed policy so the layers compute in float16.
            model = keras.models.clone_model(model)
            model.set_weights(models.load(keras, model_path).get_weights())
        for batch in cfg["gpu_batch_sizes"]:
            stats = bench.bench_keras(tf, model, x_test, batch, timing, device="/GPU:0")
            stats["precision"] = precision
            results.append(stats)
            print(f"{record['chain']} {precision} batch {batch}: median {stats['median_us']:.1f} us")
    keras.mixed_precision.set_global_policy("float32")
    return {"artefact": model_path, "chain": record["chain"], "dataset": dataset, "model": record["model"],
            "architecture": record["architecture"], "seed": record["seed"], "results": results}


def main(smk):
    cfg = smk.params.benchmark
    tf, keras, _ = init_tf(smk.threads, seed=0, deterministic=False, with_tfmot=False)
    gpus = tf.config.list_physical_devices("GPU")
    out = {"provenance": {"versions": versions(), **host_info()}, "engine": "tf.function"}
    if not cfg.get("gpu", True):
        out.update(gpu=None, status="GPU benchmark disabled in config (benchmark.gpu: false)", models=[])
    elif not gpus:
        out.update(gpu=None, status="no GPU on the machine that ran this", models=[])
    else:
        cache = {}
        out.update(gpu=gpu_name(tf, gpus[0]), status="measured",
                   models=[bench_model(tf, keras, m, r, cache, cfg) for m, r in zip(smk.input.models, smk.input.metrics)])
    print(out["status"], out.get("gpu"))
    write_json(out, smk.output.bench)


run(main, snakemake)  # noqa: F821
