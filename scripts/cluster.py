"""Rule cluster: sparsity-preserving weight clustering with fine-tuning (the Deep Compression step)."""

from dnncomp.jobs.job import Job, run
from dnncomp.techniques import prune


def main(smk):
    job = Job(smk)
    clusters = int(smk.wildcards.clusters)
    model, skipped = prune.cluster_wrap(job.tfmot, job.keras, job.load_parent(), clusters)
    for layer, why in skipped.items():
        print(f"layer '{layer}' left unclustered: {why}")
    history = job.fine_tune(model)
    model = prune.strip_clusters(job.tfmot, model)
    job.finish_keras(model, extra={"clusters": clusters, "history": history, "unclustered_layers": skipped})


run(main, snakemake)  # noqa: F821
