"""Rule summarize: join every metrics and benchmark record into results/summary.csv."""
from dnncomp import summary
from dnncomp.job import run


def main(smk):
    records = summary.load_records(smk.input.metrics)
    tflite_benches, keras_benches = summary.bench_rows(smk.input.benches)
    frame = summary.summarize(records, tflite_benches, keras_benches)
    summary.write_csv(frame, smk.output.summary)
    print(f"{len(frame)} artefacts, {int(frame['flagged'].sum())} flagged")


run(main, snakemake)  # noqa: F821
