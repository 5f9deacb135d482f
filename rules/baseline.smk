# Baselines: one training job per dataset x architecture x seed.


rule baseline:
    input:
        data="results/data/{dataset}.npz",
        model_file=model_file,
    output:
        model="results/{dataset}/{model}/seed{seed}/baseline/model.keras",
        metrics="results/{dataset}/{model}/seed{seed}/baseline/metrics.json",
        history="results/{dataset}/{model}/seed{seed}/baseline/history.csv",
        curve=report(
            "results/{dataset}/{model}/seed{seed}/baseline/learning_curve.png",
            caption="../report/learning_curve.rst",
            category="Baselines",
            subcategory="{dataset}",
            labels={"dataset": "{dataset}", "model": "{model}", "seed": "{seed}", "figure": "learning curve"},
        ),
    log:
        "results/logs/{dataset}/{model}/seed{seed}/baseline.log",
    benchmark:
        "results/benchmarks/{dataset}/{model}/seed{seed}/baseline.tsv"
    priority: PRIORITY["baseline"]
    conda:
        "../envs/study.yaml"
    threads: threads_for_training()
    resources:
        mem_mb=2000,
        runtime=60,
    params:
        architecture=lambda wc: architecture_spec(wc.model),
        hparams=lambda wc: hparams(wc.dataset, wc.model),
    script:
        "../scripts/baseline.py"
