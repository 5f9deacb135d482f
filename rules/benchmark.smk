# Benchmarks. CPU rules take every core (threads: workflow.cores), so no other job runs beside them
# while they measure. The GPU rule asks for gpu=1 so a cluster sends it to a GPU node.


rule bench_cpu:
    input:
        model="results/{chain}/{leaf}/model.tflite",
        metrics="results/{chain}/{leaf}/metrics.json",
        data=dataset_npz,
    output:
        bench="results/{chain}/{leaf}/bench_cpu.json",
    wildcard_constraints:
        leaf=r"(?:tflite|qat)-[^/]+",
    params:
        benchmark=benchmark_params("batch_sizes", "threads"),
    log:
        "results/logs/{chain}/{leaf}.bench_cpu.log",
    threads: workflow.cores
    resources:
        mem_mb=1500,
        runtime=20,
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/bench_cpu.py"


rule bench_keras:
    input:
        model="results/{chain}/model.keras",
        metrics="results/{chain}/metrics.json",
        data=dataset_npz,
    output:
        bench="results/{chain}/bench_keras.json",
    params:
        benchmark=benchmark_params("batch_sizes"),
    log:
        "results/logs/{chain}/bench_keras.log",
    threads: workflow.cores
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/bench_keras.py"


rule bench_gpu:
    input:
        models=lambda wc: baseline_keras_targets(),
        metrics=lambda wc: [p.replace("model.keras", "metrics.json") for p in baseline_keras_targets()],
        data=expand("results/data/{dataset}.npz", dataset=config["study"]["datasets"]),
    output:
        bench="results/bench_gpu.json",
    params:
        benchmark=benchmark_params("gpu", "gpu_batch_sizes"),
    log:
        "results/logs/bench_gpu.log",
    threads: workflow.cores
    resources:
        mem_mb=4000,
        runtime=30,
        gpu=1,
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/bench_gpu.py"
