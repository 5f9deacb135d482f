# Aggregation: one table of every artefact, the figures, and the self-contained HTML report.

from dnncomp.report.layout import FIGURES  # noqa: E402  (figure name -> report category)
from dnncomp.study.plan import PREDICTION  # noqa: E402  (where make plan records its prediction)


rule summarize:
    input:
        metrics=lambda wc: metrics_targets(),
        benches=lambda wc: bench_targets(),
        gpu_benches=lambda wc: bench_targets("bench_gpu.json"),
    output:
        summary=report(
            "results/summary.csv",
            caption="../report/summary.rst",
            category="Overview",
            labels={"table": "summary of every artefact"},
        ),
        over_seeds=report(
            "results/summary_over_seeds.csv",
            caption="../report/summary_over_seeds.rst",
            category="Overview",
            labels={"table": "every configuration over seeds"},
        ),
    log:
        "results/logs/summarize.log",
    benchmark:
        "results/benchmarks/summarize.tsv"
    conda:
        "../envs/study.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        energy=config.get("energy"),
    script:
        "../scripts/summarize.py"


rule figures:
    input:
        summary="results/summary.csv",
    output:
        **{
            name: report(
                f"results/figures/{name}.png",
                caption=f"../report/figures/{name}.rst",
                category=category,
                labels={"figure": name.replace("_", " ")},
            )
            for name, category in FIGURES.items()
        },
    log:
        "results/logs/figures.log",
    benchmark:
        "results/benchmarks/figures.tsv"
    conda:
        "../envs/study.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/figures.py"


rule tables:
    input:
        summary="results/summary.csv",
    output:
        ptq=report(
            "results/tables/ptq_modes.csv",
            caption="../report/tables/ptq_modes.rst",
            category="Quantization",
            labels={"table": "post-training modes"},
        ),
        prune=report(
            "results/tables/prune_quantize_modes.csv",
            caption="../report/tables/prune_quantize_modes.rst",
            category="Pruning",
            labels={"table": "prune -> quantize modes"},
        ),
    log:
        "results/logs/tables.log",
    benchmark:
        "results/benchmarks/tables.tsv"
    conda:
        "../envs/study.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    script:
        "../scripts/tables.py"


rule cost_account:
    input:
        # Everything else the study runs comes first, so that every job's benchmark file exists.
        metrics=lambda wc: metrics_targets(),
        benches=lambda wc: bench_targets(),
        summary="results/summary.csv",
        gpu=lambda wc: bench_targets("bench_gpu.json"),
        figures=expand("results/figures/{name}.png", name=FIGURES),
        tables=["results/tables/ptq_modes.csv", "results/tables/prune_quantize_modes.csv"],
    output:
        rules=report(
            "results/tables/cost_by_rule.csv",
            caption="../report/tables/cost.rst",
            category="Cost",
            labels={"table": "cost by rule"},
        ),
        stages=report(
            "results/tables/cost_by_stage.csv",
            caption="../report/tables/cost.rst",
            category="Cost",
            labels={"table": "cost by stage"},
        ),
    log:
        "results/logs/cost_account.log",
    benchmark:
        "results/benchmarks/cost_account.tsv"
    conda:
        "../envs/study.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        benchmarks="results/benchmarks",
        logs="results/logs",
    script:
        "../scripts/cost_account.py"


rule html_report:
    input:
        unpack(
            lambda wc: {
                "summary": "results/summary.csv",
                "gpu": bench_targets("bench_gpu.json"),
                "anchors": "report/anchors.yaml",
                "template": "report/report.html.j2",
                "ptq_table": "results/tables/ptq_modes.csv",
                "prune_table": "results/tables/prune_quantize_modes.csv",
                "cost_rules": "results/tables/cost_by_rule.csv",
                "cost_stages": "results/tables/cost_by_stage.csv",
                **{f"fig_{n}": f"results/figures/{n}.png" for n in FIGURES},
                "sensitivity": sensitivity_targets(),
                "sensitivity_figures": [p.replace(".json", ".png") for p in sensitivity_targets()],
                "baselines": [p.replace("sensitivity.json", "metrics.json") for p in sensitivity_targets()],
                # `make plan`'s prediction of this run, when one was made: set beside the actual.
                "prediction": [str(PREDICTION)] if PREDICTION.is_file() else [],
            }
        ),
    output:
        html="results/report.html",
    log:
        "results/logs/html_report.log",
    benchmark:
        "results/benchmarks/html_report.tsv"
    conda:
        "../envs/study.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    params:
        config=config,
        figures=FIGURES,
        budgets=lambda wc: technique("prune")["sparsities"],
    script:
        "../scripts/html_report.py"


# Aggregation is light and reads every record: run it where the workflow runs, not as cluster jobs.
localrules:
    summarize,
    figures,
    tables,
    cost_account,
    html_report,
