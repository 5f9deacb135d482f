"""Rule cluster: sparsity-preserving weight clustering with fine-tuning (the Deep Compression step)."""

from dnncomp import prune
from dnncomp.job import Job, run
from dnncomp.train import fit


def main(smk):
    job = Job(smk)
    clusters = int(smk.wildcards.clusters)
    model = prune.cluster_wrap(job.tfmot, job.keras, job.load_parent(), clusters)
    history = fit(
        job.keras,
        model,
        job.dataset.split("train"),
        job.dataset.split("val"),
        job.params["hparams"],
        early_stopping=False,
    )
    model = prune.strip_clusters(job.tfmot, model)
    job.finish_keras(model, extra={"clusters": clusters, "history": history})


run(main, snakemake)  # noqa: F821
