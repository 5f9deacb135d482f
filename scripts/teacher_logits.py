"""Rule teacher_logits: the teacher's logits on the train and validation splits, computed once."""

import numpy as np

from dnncomp.core.evaluate import keras_logits
from dnncomp.core.io import atomic_path
from dnncomp.jobs.job import Job, run


def main(smk):
    job = Job(smk)
    teacher = job.load_parent()
    logits = {split: keras_logits(teacher, job.dataset.split(split)[0]) for split in ("train", "val")}
    with atomic_path(smk.output.logits) as tmp:
        with open(tmp, "wb") as handle:
            np.savez(handle, **logits)
    for split, values in logits.items():
        print(f"{split}: logits {values.shape}")


run(main, snakemake)  # noqa: F821
