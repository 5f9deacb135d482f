"""Rule tables: the tables the report shows beside its figures."""

from dnncomp.jobs.job import run
from dnncomp.report import summary


def main(smk):
    frame = summary.read_summary(smk.input.summary)
    summary.write_csv(summary.mode_table(frame, "tflite"), smk.output.ptq)
    summary.write_csv(summary.mode_table(frame, "prune>tflite"), smk.output.prune)


run(main, snakemake)  # noqa: F821
