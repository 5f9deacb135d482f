"""Rule tflite: post-training conversion of a Keras parent (fp32, fp16, dynamic-range or full int8)."""
from dnncomp import data
from dnncomp.job import run
from dnncomp.quantize import convert
from dnncomp.sizes import parameter_counts
from dnncomp.steps import Job


def main(smk):
    job = Job(smk)
    mode = smk.wildcards.mode
    model = job.load_parent()
    sample = data.representative_sample(job.dataset, job.params["representative_samples"], job.chain.seed)
    dense_per_channel = job.params["dense_per_channel"]
    blob = convert(job.tf, model, mode, representative=sample, dense_per_channel=dense_per_channel)
    job.finish_tflite(blob, parameter_counts(model), extra={"mode": mode, "dense_per_channel": dense_per_channel})


run(main, snakemake)  # noqa: F821
