"""Rule qat: quantization-aware fine-tuning at n-bit weights, converted to .tflite. After pruning or
clustering, 8-bit QAT keeps the zeros and shared values (TFMOT's PQAT, CQAT, PCQAT)."""

from dnncomp.job import Job, run
from dnncomp.sizes import parameter_counts
from dnncomp.techniques.quantize import convert_qat, qat_model


def main(smk):
    job = Job(smk)
    bits = int(smk.wildcards.bits)
    parent = job.load_parent()
    counts = parameter_counts(parent)
    pruned, clustered = (job.chain.find(kind) is not None for kind in ("prune", "cluster"))
    model, scheme = qat_model(job.tfmot, job.keras, parent, bits, pruned=pruned, clustered=clustered)
    history = job.fine_tune(model)
    blob = convert_qat(job.tf, model, sparse=pruned)
    job.finish_tflite(blob, counts, extra={"bits": bits, "scheme": scheme, "history": history})


run(main, snakemake)  # noqa: F821
