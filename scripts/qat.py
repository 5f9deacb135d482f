"""Rule qat: quantization-aware fine-tuning at n-bit weights, converted to .tflite. After pruning or
clustering, 8-bit QAT keeps the zeros and shared values (TFMOT's PQAT, CQAT, PCQAT)."""

from dnncomp.core.sizes import parameter_counts
from dnncomp.jobs.job import Job, run, save_weights
from dnncomp.techniques.quantize import convert_qat, preserved, qat_model


def main(smk):
    job = Job(smk)
    bits = int(smk.wildcards.bits)
    parent = job.load_parent()
    counts = parameter_counts(parent)
    keep = preserved(job.chain)
    model, scheme = qat_model(job.tfmot, job.keras, parent, bits, **keep)
    history = job.fine_tune(model)
    save_weights(model, smk.output.weights)  # the GPU benchmark rebuilds the QAT model from its parent
    blob = convert_qat(job.tf, model, sparse=keep["pruned"])
    job.finish_tflite(blob, counts, extra={"bits": bits, "scheme": scheme, "history": history})


run(main, snakemake)  # noqa: F821
