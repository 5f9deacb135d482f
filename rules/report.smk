# Aggregation: one table of every artefact, the figures, and the self-contained HTML report.

FIGURES = {
    "ptq_modes": "Quantization",
    "bits": "Quantization",
    "pruning": "Pruning",
    "prune_quantize": "Pruning",
    "distill_temperature": "Distillation",
    "distill_sizes": "Distillation",
    "pareto": "Overview",
    "speedups": "Benchmarks",
}


rule summarize:
    input:
        metrics=lambda wc: metrics_targets(),
        benches=lambda wc: bench_targets(),
    output:
        summary=report("results/summary.csv", caption="../report/summary.rst", category="Overview",
                       labels={"table": "summary of every artefact"}),
    log:
        "results/logs/summarize.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/summarize.py"


rule figures:
    input:
        summary="results/summary.csv",
    output:
        **{
            name: report(f"results/figures/{name}.png", caption=f"../report/figures/{name}.rst", category=category,
                         labels={"figure": name.replace("_", " ")})
            for name, category in FIGURES.items()
        },
    log:
        "results/logs/figures.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/figures.py"


rule tables:
    input:
        summary="results/summary.csv",
    output:
        ptq=report("results/tables/ptq_modes.csv", caption="../report/tables/ptq_modes.rst", category="Quantization",
                   labels={"table": "post-training modes"}),
        prune=report("results/tables/prune_quantize_modes.csv", caption="../report/tables/prune_quantize_modes.rst",
                     category="Pruning", labels={"table": "prune -> quantize modes"}),
    log:
        "results/logs/tables.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/tables.py"


rule html_report:
    input:
        unpack(lambda wc: {"summary": "results/summary.csv", "gpu": "results/bench_gpu.json",
                           "ptq_table": "results/tables/ptq_modes.csv",
                           "prune_table": "results/tables/prune_quantize_modes.csv",
                           **{f"fig_{n}": f"results/figures/{n}.png" for n in FIGURES}}),
    output:
        html="results/report.html",
    params:
        config=config,
        figures=FIGURES,
    log:
        "results/logs/html_report.log",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../envs/study.yaml"
    script:
        "../scripts/html_report.py"


# Aggregation is light and reads every record: run it where the workflow runs, not as cluster jobs.
localrules:
    summarize,
    figures,
    tables,
    html_report,
