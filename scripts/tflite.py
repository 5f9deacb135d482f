"""Rules tflite_batchN: post-training conversion of one Keras parent to each .tflite mode the config
asks of it (fp32, fp16, dynamic-range or full int8, each optionally sparse): one file and record each."""

from dnncomp.core.sizes import parameter_counts
from dnncomp.inputs import data
from dnncomp.jobs.job import Job, run
from dnncomp.techniques.quantize import convert, with_softmax


def main(smk):
    job = Job(smk)
    model = job.load_parent()
    counts = parameter_counts(model)
    output = "probabilities" if job.params["output_softmax"] else "logits"
    if job.params["output_softmax"]:  # the user's model gave probabilities: so does the file they ship
        model = with_softmax(job.keras, model)
    sample = data.representative_sample(job.dataset, job.params["representative_samples"], job.chain.seed)
    dense_per_channel = job.params["dense_per_channel"]
    for step, chain, (out_model, out_metrics) in job.batch((smk.output.models, smk.output.metrics)):
        mode = step.params["mode"]
        blob = convert(job.tf, model, mode, representative=sample, dense_per_channel=dense_per_channel)
        job.finish_tflite(
            blob,
            counts,
            extra={"mode": mode, "dense_per_channel": dense_per_channel, "output": output},
            chain=chain,
            out_model=out_model,
            out_metrics=out_metrics,
        )


run(main, snakemake)  # noqa: F821
