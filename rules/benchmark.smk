# Benchmarks. One CPU job per family (dataset x model x seed) times all of that family's artefacts
# side by side in interleaved rounds, so every speedup is a ratio of timings taken together. Its
# thread count comes from config (benchmark.cores); the local profile raises it to every core (capped
# at --cores) so that nothing runs beside it, and the SLURM profile gives it a whole node.
# The GPU rule times each family's Keras models on a GPU, also one job per family; it asks for gpu=1
# so a cluster sends it to a GPU node. A machine without an NVIDIA driver gets a "no GPU" record at
# once (no TensorFlow start-up).


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
        benchmark=benchmark_params("batch_sizes", "threads", "energy"),
    script:
        "../scripts/bench_family.py"


rule bench_gpu:
    input:
        unpack(gpu_family_inputs),
    output:
        bench="results/{dataset}/{model}/seed{seed}/bench_gpu.json",
    log:
        "results/logs/{dataset}/{model}/seed{seed}/bench_gpu.log",
    benchmark:
        "results/benchmarks/{dataset}/{model}/seed{seed}/bench_gpu.tsv"
    conda:
        "../envs/study.yaml"
    threads: config["benchmark"]["cores"]
    resources:
        mem_mb=4000,
        runtime=60,
        gpu=1,
    params:
        benchmark=benchmark_params("gpu", "gpu_batch_sizes", "energy"),
    script:
        "../scripts/bench_gpu.py"
