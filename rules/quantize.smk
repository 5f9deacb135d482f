# Quantization steps. Each applies to any Keras parent in the DAG (baseline, pruned, clustered or
# distilled), so prune -> quantize and distill -> quantize need no code of their own.


# Post-training steps run one job per parent model (see post_training_batches): rules tflite_batchN
# and wq_batchN, one per distinct set of artefacts the config asks of a parent.
for index, (tokens, parents) in enumerate(post_training_batches("tflite")):

    rule:
        name:
            f"tflite_batch{index}"
        input:
            unpack(parent_inputs),
        output:
            models=batch_outputs(tokens, "model.tflite"),
            metrics=batch_outputs(tokens, "metrics.json"),
        log:
            "results/logs/{chain}/tflite.log",
        benchmark:
            "results/benchmarks/{chain}/tflite.tsv"
        wildcard_constraints:
            chain=one_of(parents),
        conda:
            "../envs/study.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        params:
            steps=list(tokens),
            evaluation=TFLITE_EVALUATION,
            representative_samples=config["evaluation"]["representative_samples"],
            dense_per_channel=technique("tflite")["dense_per_channel"],
            output_softmax=output_softmax,
        script:
            "../scripts/tflite.py"


# litert-quantizer on each parent's float32 file: one job per parent for each kind (lq recipes, lqmix budgets).
for kind in ("lq", "lqmix"):
    for index, (tokens, parents) in enumerate(post_training_batches(kind)):

        rule:
            name:
                f"{kind}_batch{index}"
            input:
                unpack(parent_inputs),
            output:
                models=batch_outputs(tokens, "model.tflite"),
                metrics=batch_outputs(tokens, "metrics.json"),
                recipes=batch_outputs(tokens, "recipe.json"),
            log:
                f"results/logs/{{chain}}/{kind}.log",
            benchmark:
                f"results/benchmarks/{{chain}}/{kind}.tsv"
            wildcard_constraints:
                chain=one_of(parents),
            conda:
                "../envs/study.yaml"
            threads: 1
            resources:
                mem_mb=2000,
                runtime=30,
            params:
                steps=list(tokens),
                evaluation=TFLITE_EVALUATION,
                representative_samples=config["evaluation"]["representative_samples"],
                output_softmax=output_softmax,
            script:
                "../scripts/lq.py"


for index, (tokens, parents) in enumerate(post_training_batches("wq")):

    rule:
        name:
            f"wq_batch{index}"
        input:
            unpack(parent_inputs),
        output:
            metrics=batch_outputs(tokens, "metrics.json"),
        log:
            "results/logs/{chain}/wq.log",
        benchmark:
            "results/benchmarks/{chain}/wq.tsv"
        wildcard_constraints:
            chain=one_of(parents),
        conda:
            "../envs/study.yaml"
        threads: 1
        resources:
            mem_mb=2000,
            runtime=20,
        params:
            steps=list(tokens),
            evaluation=evaluation_params(),
        script:
            "../scripts/wq.py"


rule qat:
    input:
        unpack(parent_inputs),
    output:
        model="results/{chain}/qat-b{bits}/model.tflite",
        metrics="results/{chain}/qat-b{bits}/metrics.json",
        weights=f"results/{{chain}}/qat-b{{bits}}/{QAT_WEIGHTS}",
    log:
        "results/logs/{chain}/qat-b{bits}.log",
    benchmark:
        "results/benchmarks/{chain}/qat-b{bits}.tsv"
    conda:
        "../envs/study.yaml"
    threads: threads_for_training()
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        evaluation=TFLITE_EVALUATION,
        hparams=finetune_hparams("qat"),
    script:
        "../scripts/qat.py"
