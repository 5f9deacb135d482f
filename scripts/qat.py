"""Rule qat: quantization-aware fine-tuning at n-bit weights, converted to .tflite."""

from dnncomp.job import Job, run
from dnncomp.sizes import parameter_counts
from dnncomp.techniques.quantize import convert_qat, qat_model


def main(smk):
    job = Job(smk)
    bits = int(smk.wildcards.bits)
    parent = job.load_parent()
    counts = parameter_counts(parent)
    pruned = job.chain.find("prune") is not None
    model, scheme = qat_model(job.tfmot, job.keras, parent, bits, prune_preserving=pruned)
    history = job.fine_tune(model)
    blob = convert_qat(job.tf, model, sparse=pruned)
    job.finish_tflite(blob, counts, extra={"bits": bits, "scheme": scheme, "history": history})


run(main, snakemake)  # noqa: F821
