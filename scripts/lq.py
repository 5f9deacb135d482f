"""Rules lq_batchN and lqmix_batchN: litert-quantizer on one Keras parent's float32 file: each recipe
the config asks of it (lq-{recipe}), or a per-op int4 / int8 / float choice under a validation-accuracy
budget (lqmix-a{budget}). One file, record and recipe.json each."""

from dnncomp.core.evaluate import accuracy, make_interpreter, tflite_logits
from dnncomp.core.io import write_json
from dnncomp.core.sizes import parameter_counts
from dnncomp.inputs import data
from dnncomp.jobs.job import Job, run
from dnncomp.techniques import lq
from dnncomp.techniques.quantize import convert, with_softmax


def main(smk):
    job = Job(smk)
    model = job.load_parent()
    counts = parameter_counts(model)
    if job.params["output_softmax"]:  # the user's model gave probabilities: so does the file they ship
        model = with_softmax(job.keras, model)
    fp32 = convert(job.tf, model, "fp32", dense_per_channel=True)
    sample = data.representative_sample(job.dataset, job.params["representative_samples"], job.chain.seed)
    x_val, y_val = job.dataset.split("val")

    def val_accuracy(blob):
        return accuracy(tflite_logits(make_interpreter(blob, resolver=job.resolvers[0]), x_val), y_val)

    outputs = (smk.output.models, smk.output.metrics, smk.output.recipes)
    for step, chain, (out_model, out_metrics, out_recipe) in job.batch(outputs):
        if step.kind == "lq":
            recipe = step.params["recipe"]
            blob, extra = lq.quantize(fp32, recipe, calibration=sample), {"recipe": recipe}
            write_json(lq.recipe_json(fp32, recipe), out_recipe)
        else:
            mixed = lq.mixed_precision(fp32, val_accuracy, step.params["budget"])
            blob = mixed.pop("blob")
            extra = {"budget_pt": step.params["budget"], "mixed": mixed}
            write_json(lq.recipe_json(fp32, choices=mixed["choices"]), out_recipe)
        extra.update(
            weight_types=lq.op_weight_types(blob), output="probabilities" if job.params["output_softmax"] else "logits"
        )
        print(f"{chain.label}: weights by op {extra['weight_types']}")
        job.finish_tflite(blob, counts, extra=extra, chain=chain, out_model=out_model, out_metrics=out_metrics)


run(main, snakemake)  # noqa: F821
