"""Rule distill: train a student on the teacher's precomputed logits (Hinton et al., 2015).

The student is a fresh architecture from config, or 'self': the parent itself (e.g. a pruned
model) fine-tuned by distillation from the chain's baseline, keeping its sparsity."""

import numpy as np

from dnncomp.inputs import models
from dnncomp.jobs.job import Job, run
from dnncomp.jobs.train import fit, steps_per_epoch
from dnncomp.techniques import distill, prune


def main(smk):
    job = Job(smk, seed=int(smk.wildcards.student_seed))
    student_name = smk.wildcards.student
    temperature, alpha = float(smk.wildcards.temperature), float(smk.wildcards.alpha)
    hp, ds = job.params["hparams"], job.dataset
    with np.load(smk.input.logits) as logits:
        train = (ds.x_train, distill.pack_targets(ds.y_train, logits["train"]))
        val = (ds.x_val, distill.pack_targets(ds.y_val, logits["val"]))
    callbacks, extra = [], {"temperature": temperature, "alpha": alpha, "student": student_name}
    if student_name == "self":
        student = job.load_parent()
        prune_step = job.chain.find("prune")
        if prune_step is not None:
            total = steps_per_epoch(len(ds.x_train), hp["batch_size"]) * hp["epochs"]
            student, extra["plan"] = prune.hold_wrap(
                job.tfmot,
                job.keras,
                student,
                prune_step.params["sparsity"],
                prune_step.params["structure"],
                total,
                job.params["pruning"],
            )
            callbacks = prune.pruning_callbacks(job.tfmot)
    else:
        student = models.build(job.keras, student_name, job.params["architecture"], ds.input_shape, ds.num_classes)
    loss = distill.distillation_loss(job.tf, job.keras, temperature, alpha)
    history = fit(
        job.keras,
        student,
        train,
        val,
        hp,
        loss=loss,
        metrics=[distill.packed_accuracy(job.keras)],
        callbacks=callbacks,
        early_stopping=not callbacks,
    )
    if callbacks:
        student = prune.strip(job.tfmot, student)
    extra.update(history=history, epochs_run=len(history["loss"]), hparams=hp)
    job.finish_keras(student, extra=extra)


run(main, snakemake)  # noqa: F821
