"""Rule sensitivity: each prunable layer of a model pruned alone, one-shot, over a sparsity grid; the
validation accuracy each loses, and its figure. The layerwise prune structure allocates from it."""

from dnncomp.core.io import write_json
from dnncomp.jobs.job import Job, run
from dnncomp.measure import sensitivity
from dnncomp.report import plots
from dnncomp.techniques import prune


def main(smk):
    job = Job(smk)
    model = job.load_parent()
    layers = [layer.name for layer in model.layers if prune.prunable(job.keras, layer)]
    x_val, y_val = job.dataset.split("val")
    analysis = sensitivity.layer_curves(model, layers, smk.params.sparsities, x_val, y_val)
    chain = job.chain
    write_json({"path": chain.path, "chain": chain.label, "split": "val", **analysis}, smk.output.analysis)
    plots.sensitivity_curves(
        analysis, smk.output.figure, f"{chain.dataset} / {chain.model} seed {chain.seed}: {chain.label}"
    )
    for name, curve in analysis["layers"].items():
        print(
            name, " ".join(f"{s:.2f}:{100 * d:+.2f}pt" for s, d in zip(curve["sparsities"], curve["drop"], strict=True))
        )


run(main, snakemake)  # noqa: F821
