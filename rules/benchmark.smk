# Benchmarks. One CPU job per family (dataset x model x seed) times all of that family's artefacts
# side by side in interleaved rounds, so every speedup is a ratio of timings taken together. Its
# thread count comes from config (benchmark.cores); the local profile raises it to every core (capped
# at --cores) so that nothing runs beside it, and the SLURM profile gives it a whole node.
# The GPU rule asks for gpu=1 so a cluster sends it to a GPU node.


rule bench_family:
    input:
        unpack(family_inputs),
    output:
        bench="results/{dataset}/{model}/seed{seed}/bench_cpu.json",
    log:
        "results/logs/{dataset}/{model}/seed{seed}/bench_cpu.log",
    benchmark:
        "results/benchmarks/{dataset}/{model}/seed{seed}/bench_cpu.tsv"
    conda:
        "../envs/study.yaml"
    threads: config["benchmark"]["cores"]
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        benchmark=benchmark_params("batch_sizes", "threads"),
    script:
        "../scripts/bench_family.py"


rule bench_gpu:
    input:
        models=lambda wc: baseline_keras_targets(),
        metrics=lambda wc: [p.replace("model.keras", "metrics.json") for p in baseline_keras_targets()],
        data=expand("results/data/{dataset}.npz", dataset=config["study"]["datasets"]),
    output:
        bench="results/bench_gpu.json",
    log:
        "results/logs/bench_gpu.log",
    benchmark:
        "results/benchmarks/bench_gpu.tsv"
    conda:
        "../envs/study.yaml"
    threads: config["benchmark"]["cores"]
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=1,
    params:
        benchmark=benchmark_params("gpu", "gpu_batch_sizes"),
    script:
        "../scripts/bench_gpu.py"
