"""Rule bench_cpu: LiteRT latency and throughput of one .tflite artefact, with the resolver used for its accuracy."""
from pathlib import Path

from dnncomp import bench, data
from dnncomp.io import read_json, write_json
from dnncomp.job import run
from dnncomp.runtime import host_info, versions


def main(smk):
    cfg = smk.params.benchmark
    record = read_json(smk.input.metrics)
    resolvers = record["runtime"]["resolvers"]
    blob = Path(smk.input.model).read_bytes()
    x_test, _ = data.load(smk.input.data).split("test")
    timing = {k: cfg[k] for k in ("warmup", "min_repeats", "min_seconds")}
    results = []
    for resolver in resolvers:
        for threads in sorted({t or smk.threads for t in cfg["threads"]}):
            for batch in cfg["batch_sizes"]:
                stats = bench.bench_tflite(blob, x_test, batch, threads, resolver, timing)
                results.append(stats)
                print(f"{resolver} threads {threads} batch {batch}: median {stats['median_us']:.1f} us "
                      f"(p10 {stats['p10_us']:.1f}, p90 {stats['p90_us']:.1f})")
    write_json({"artefact": smk.input.model, "chain": record["chain"], "device": "cpu", "engine": "litert",
                "resolvers": resolvers, "results": results, "provenance": {"versions": versions(), **host_info()}},
               smk.output.bench)


run(main, snakemake)  # noqa: F821
