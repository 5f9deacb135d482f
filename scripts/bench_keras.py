"""Rule bench_keras: the float32 Keras model through a compiled tf.function on the CPU."""
from dnncomp import bench, data, models
from dnncomp.io import read_json, write_json
from dnncomp.job import run
from dnncomp.runtime import host_info, init_tf, versions


def main(smk):
    cfg = smk.params.benchmark
    tf, keras, _ = init_tf(smk.threads, seed=0, deterministic=False, with_tfmot=False)
    record = read_json(smk.input.metrics)
    model = models.load(keras, smk.input.model)
    x_test, _ = data.load(smk.input.data).split("test")
    timing = {k: cfg[k] for k in ("warmup", "min_repeats", "min_seconds")}
    results = []
    for batch in cfg["batch_sizes"]:
        stats = bench.bench_keras(tf, model, x_test, batch, timing)
        stats["threads"] = smk.threads
        results.append(stats)
        print(f"batch {batch}: median {stats['median_us']:.1f} us")
    write_json({"artefact": smk.input.model, "chain": record["chain"], "device": "cpu", "engine": "tf.function",
                "results": results, "provenance": {"versions": versions(), **host_info()}}, smk.output.bench)


run(main, snakemake)  # noqa: F821
