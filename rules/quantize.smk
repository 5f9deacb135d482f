# Quantization steps. Each applies to any Keras parent in the DAG (baseline, pruned, clustered or
# distilled), so prune -> quantize and distill -> quantize need no code of their own.


rule tflite:
    input:
        unpack(parent_inputs),
    output:
        model="results/{chain}/tflite-{mode}/model.tflite",
        metrics="results/{chain}/tflite-{mode}/metrics.json",
    params:
        evaluation=TFLITE_EVALUATION,
        representative_samples=config["evaluation"]["representative_samples"],
        dense_per_channel=technique("tflite")["dense_per_channel"],
    log:
        "results/logs/{chain}/tflite-{mode}.log",
    benchmark:
        "results/benchmarks/{chain}/tflite-{mode}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/tflite.py"


rule wq:
    input:
        unpack(parent_inputs),
    output:
        metrics="results/{chain}/wq-b{bits}-{granularity}/metrics.json",
    params:
        evaluation=evaluation_params(),
    log:
        "results/logs/{chain}/wq-b{bits}-{granularity}.log",
    benchmark:
        "results/benchmarks/{chain}/wq-b{bits}-{granularity}.tsv"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/wq.py"


rule qat:
    input:
        unpack(parent_inputs),
    output:
        model="results/{chain}/qat-b{bits}/model.tflite",
        metrics="results/{chain}/qat-b{bits}/metrics.json",
    params:
        evaluation=TFLITE_EVALUATION,
        hparams=finetune_hparams("qat"),
    log:
        "results/logs/{chain}/qat-b{bits}.log",
    benchmark:
        "results/benchmarks/{chain}/qat-b{bits}.tsv"
    threads: threads_for_training()
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/qat.py"
