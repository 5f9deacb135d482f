"""Rule cost_account: CPU-seconds, wall seconds, peak RSS, job count and start-up share per rule and stage."""

from dnncomp.jobs.job import run
from dnncomp.report import cost, summary


def main(smk):
    jobs = cost.job_benchmarks(smk.params.benchmarks, smk.params.logs)
    table = cost.account(jobs, cost.scheduler_cpu_s())
    summary.write_csv(table, smk.output.rules)
    summary.write_csv(cost.by_stage(table), smk.output.stages)
    print(cost.by_stage(table).to_string(index=False))


run(main, snakemake)  # noqa: F821
