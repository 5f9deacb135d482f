"""Rule baseline: train one architecture on one dataset with one seed."""

from dnncomp.inputs import models
from dnncomp.jobs.job import Job, run, write_history
from dnncomp.jobs.train import fit
from dnncomp.report import plots


def main(smk):
    job = Job(smk)
    hp = job.params["hparams"]
    ds = job.dataset
    model = models.build(job.keras, job.chain.model, job.params["architecture"], ds.input_shape, ds.num_classes)
    history = fit(job.keras, model, ds.split("train"), ds.split("val"), hp)
    write_history(history, smk.output.history)
    plots.learning_curve(
        history, smk.output.curve, title=f"{job.chain.model} on {job.chain.dataset}, seed {job.chain.seed}"
    )
    job.finish_keras(
        model,
        extra={"epochs_run": len(history["loss"]), "best_val_accuracy": max(history["val_accuracy"]), "hparams": hp},
    )


run(main, snakemake)  # noqa: F821
