"""Rule summarize: join every metrics and benchmark record into results/summary.csv (one row per
artefact and seed), and group it over seeds into results/summary_over_seeds.csv."""

from dnncomp.jobs.job import run
from dnncomp.report import stats, summary


def main(smk):
    records = summary.load_records(smk.input.metrics, smk.params.energy)
    tflite_benches, keras_benches = summary.bench_rows(smk.input.benches)
    gpu, guests = summary.gpu_rows(smk.input.gpu_benches), summary.guest_rows(smk.input.benches)
    frame = summary.summarize(records, tflite_benches, keras_benches, gpu, guests)
    summary.write_csv(frame, smk.output.summary)
    summary.write_csv(stats.over_seeds(frame), smk.output.over_seeds)
    print(f"{len(frame)} artefacts, {int(frame['flagged'].sum())} flagged")


run(main, snakemake)  # noqa: F821
