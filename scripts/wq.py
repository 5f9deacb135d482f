"""Rule wq: simulate n-bit symmetric weight quantization; the size is computed, not a file."""
from dnncomp.evaluate import accuracy, keras_logits
from dnncomp.io import write_json
from dnncomp.job import run
from dnncomp.quantize import quantize_weights
from dnncomp.sizes import parameter_counts
from dnncomp.steps import Job


def main(smk):
    job = Job(smk)
    bits, granularity = int(smk.wildcards.bits), smk.wildcards.granularity
    model = job.load_parent()
    counts = parameter_counts(model)
    size = quantize_weights(model, bits, per_channel=granularity == "channel")
    x, y = job.dataset.split("test")
    acc = accuracy(keras_logits(model, x), y)
    sizes = {"size_bytes": size["computed_bytes"], "gzip_bytes": None, "xz_bytes": None, "size_kind": "computed"}
    record = job.record(artefact=None, fmt="computed", accuracy=acc, sizes=sizes, counts=counts,
                        runtime={"engine": "tensorflow (simulated n-bit weights)", "threads": job.threads},
                        extra={"bits": bits, "granularity": granularity, **size,
                               "note": "size computed as packed n-bit weights + float32 scales and biases; no file"})
    write_json(record, smk.output.metrics)
    print(f"{job.chain.label}: accuracy {acc:.4f}, computed size {size['computed_bytes']} bytes")


run(main, snakemake)  # noqa: F821
