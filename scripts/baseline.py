"""Rule baseline: train one architecture on one dataset with one seed, or import a trained Keras file."""

from dnncomp.core.sizes import layer_table
from dnncomp.inputs import keras_file, models
from dnncomp.jobs.job import Job, run, write_history
from dnncomp.jobs.train import fit
from dnncomp.report import plots


def main(smk):
    job = Job(smk)
    spec, ds, name = job.params["architecture"], job.dataset, job.chain.model
    classes = {"class_names": ds.class_names} if ds.class_names else {}  # a folder dataset's class folders
    if spec["type"] == "keras" and spec.get("trained", True):
        model, imported = keras_file.import_trained(job.keras, name, spec, ds.split("test")[0], ds.num_classes)
        print(f"{name}: imported from {spec['path']}, max difference {imported['check']['max_abs_diff']:.2g}")
        write_history({}, smk.output.history)
        plots.no_training(smk.output.curve, title=f"{name}: trained weights imported from {spec['path']}")
        job.finish_keras(model, extra={"imported": imported, "layers": layer_table(model), **classes})
        return
    hp = job.params["hparams"]
    model = models.build(job.keras, name, spec, ds.input_shape, ds.num_classes)
    history = fit(job.keras, model, ds.split("train"), ds.split("val"), hp)
    write_history(history, smk.output.history)
    plots.learning_curve(history, smk.output.curve, title=f"{name} on {job.chain.dataset}, seed {job.chain.seed}")
    job.finish_keras(
        model,
        extra={
            "epochs_run": len(history["loss"]),
            "best_val_accuracy": max(history["val_accuracy"]),
            "hparams": hp,
            "layers": layer_table(model),
            **classes,
        },
    )


run(main, snakemake)  # noqa: F821
