"""Rules wq_batchN: simulate n-bit symmetric weight quantization of one Keras parent at each bit-width
and granularity the config asks of it; the size is computed, not a file. One record each."""

from dnncomp.core.evaluate import accuracy, keras_logits
from dnncomp.core.io import write_json
from dnncomp.core.sizes import parameter_counts
from dnncomp.jobs.job import Job, run
from dnncomp.techniques.quantize import quantize_weights


def main(smk):
    job = Job(smk)
    model = job.load_parent()
    counts, original = parameter_counts(model), model.get_weights()
    x, y = job.dataset.split("test")
    for step, chain, (out_metrics,) in job.batch((smk.output.metrics,)):
        bits, granularity = step.params["bits"], step.params["granularity"]
        model.set_weights(original)  # quantize_weights works in place: each artefact starts from the parent
        size = quantize_weights(model, bits, per_channel=granularity == "channel")
        acc = accuracy(keras_logits(model, x), y)
        sizes = {"size_bytes": size["computed_bytes"], "gzip_bytes": None, "xz_bytes": None, "size_kind": "computed"}
        record = job.record(
            chain=chain,
            artefact=None,
            fmt="computed",
            accuracy=acc,
            sizes=sizes,
            counts=counts,
            runtime={"engine": "tensorflow (simulated n-bit weights)", "threads": job.threads},
            extra={
                "bits": bits,
                "granularity": granularity,
                **size,
                "note": "size computed as packed n-bit weights + float32 scales and biases; no file",
            },
        )
        write_json(record, out_metrics)
        print(f"{chain.label}: accuracy {acc:.4f}, computed size {size['computed_bytes']} bytes")


run(main, snakemake)  # noqa: F821
