# Pruning: gradual magnitude pruning with retraining, structured pruning (whole channels removed), and
# the Deep Compression clustering step.


rule prune:
    input:
        unpack(parent_inputs),
        sensitivity=sensitivity_input,
    output:
        model="results/{chain}/prune-s{sparsity}-{structure}{recovery}/model.keras",
        metrics="results/{chain}/prune-s{sparsity}-{structure}{recovery}/metrics.json",
    log:
        "results/logs/{chain}/prune-s{sparsity}-{structure}{recovery}.log",
    benchmark:
        "results/benchmarks/{chain}/prune-s{sparsity}-{structure}{recovery}.tsv"
    priority: PRIORITY["prune"]
    conda:
        "../envs/study.yaml"
    threads: threads_for_training()
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        evaluation=evaluation_params(),
        hparams=finetune_hparams("prune"),
        pruning=pruning_params(),
    script:
        "../scripts/prune.py"


rule cluster:
    input:
        unpack(parent_inputs),
    output:
        model="results/{chain}/cluster-c{clusters}/model.keras",
        metrics="results/{chain}/cluster-c{clusters}/metrics.json",
    log:
        "results/logs/{chain}/cluster-c{clusters}.log",
    benchmark:
        "results/benchmarks/{chain}/cluster-c{clusters}.tsv"
    priority: PRIORITY["cluster"]
    conda:
        "../envs/study.yaml"
    threads: threads_for_training()
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        evaluation=evaluation_params(),
        hparams=finetune_hparams("cluster"),
    script:
        "../scripts/cluster.py"


rule sensitivity:
    input:
        unpack(parent_inputs),
    output:
        analysis="results/{chain}/sensitivity.json",
        figure=report(
            "results/{chain}/sensitivity.png",
            caption="../report/sensitivity.rst",
            category="Pruning",
            labels={"model": "{chain}", "figure": "per-layer sensitivity"},
        ),
    log:
        "results/logs/{chain}/sensitivity.log",
    benchmark:
        "results/benchmarks/{chain}/sensitivity.tsv"
    conda:
        "../envs/study.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        sparsities=lambda wc: technique("prune")["sensitivity"],
    script:
        "../scripts/sensitivity.py"


rule structured:
    input:
        unpack(parent_inputs),
    output:
        model="results/{chain}/prune-{target}{kept}-{criterion}{rounds}/model.keras",
        metrics="results/{chain}/prune-{target}{kept}-{criterion}{rounds}/metrics.json",
    log:
        "results/logs/{chain}/prune-{target}{kept}-{criterion}{rounds}.log",
    benchmark:
        "results/benchmarks/{chain}/prune-{target}{kept}-{criterion}{rounds}.tsv"
    priority: PRIORITY["prune"]
    conda:
        "../envs/study.yaml"
    threads: threads_for_training()
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        evaluation=evaluation_params(),
        hparams=finetune_hparams("structured"),
        structured=structured_params,
    script:
        "../scripts/structured.py"
