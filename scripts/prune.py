"""Rule prune: gradual magnitude pruning with retraining, then strip the pruning wrappers.

The record also says what a user would actually ship: the dense float32 .tflite is no smaller, so
its size is set beside the sparse-encoded one (EXPERIMENTAL_SPARSITY) and both gzipped."""

from dnncomp.core.io import read_json
from dnncomp.core.sizes import compressed_sizes
from dnncomp.jobs.job import Job, run
from dnncomp.jobs.train import steps_per_epoch
from dnncomp.measure.sensitivity import allocate
from dnncomp.techniques import prune
from dnncomp.techniques.quantize import convert


def main(smk):
    job = Job(smk)
    sparsity, structure = float(smk.wildcards.sparsity), smk.wildcards.structure
    hp, cfg = job.params["hparams"], job.params["pruning"]
    x_train, _ = job.dataset.split("train")
    total_steps = steps_per_epoch(len(x_train), hp["batch_size"]) * hp["epochs"]
    allocation = None
    if structure == prune.LAYERWISE:
        allocation = allocate(read_json(smk.input.sensitivity)["layers"], sparsity)
        print(f"allocation for {sparsity:.2f} overall:", allocation)
    model, plan = prune.prune_wrap(
        job.tfmot,
        job.keras,
        job.load_parent(),
        sparsity,
        structure,
        total_steps,
        cfg,
        layer_targets=allocation and allocation["targets"],
    )
    for layer, entry in plan.items():
        if "left_dense" in entry:
            print(f"layer '{layer}' left dense: {entry['left_dense']}")
    history = job.fine_tune(model, callbacks=prune.pruning_callbacks(job.tfmot))
    model = prune.strip(job.tfmot, model)
    tflite_sizes = {
        mode: compressed_sizes(convert(job.tf, model, mode, dense_per_channel=False))
        for mode in ("fp32", "fp32-sparse")
    }
    extra = {"plan": plan, "history": history, "tflite_sizes": tflite_sizes, "allocation": allocation}
    job.finish_keras(model, extra=extra)


run(main, snakemake)  # noqa: F821
