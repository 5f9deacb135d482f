"""Rule figures: the survey's plots for each technique, the Pareto fronts and the speedups."""

from dnncomp.jobs.job import run
from dnncomp.report import figures, summary


def main(smk):
    frame = summary.read_summary(smk.input.summary)
    for name, path in smk.output.items():
        getattr(figures, name)(frame, path)


run(main, snakemake)  # noqa: F821
