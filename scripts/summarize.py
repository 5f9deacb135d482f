"""Rule summarize: join every metrics and benchmark record into results/summary.csv."""
from dnncomp import summary
from dnncomp.job import run


def main(smk):
    records = summary.load_records(smk.input.metrics)
    tflite_benches = [p for p in smk.input.benches if p.endswith("bench_cpu.json")]
    keras_benches = [p for p in smk.input.benches if p.endswith("bench_keras.json")]
    frame = summary.summarize(records, summary.bench_rows(tflite_benches), summary.bench_rows(keras_benches))
    summary.write_csv(frame, smk.output.summary)
    print(f"{len(frame)} artefacts, {int(frame['flagged'].sum())} flagged")


run(main, snakemake)  # noqa: F821
