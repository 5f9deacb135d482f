"""Rule prepare_data: read a dataset from its configured source, validate, split and cache it."""

from pathlib import Path

from dnncomp.inputs import data
from dnncomp.jobs.job import run


def main(smk):
    spec, name = smk.params.spec, smk.wildcards.dataset
    arrays = data.prepare(name, spec, smk.params.data_dir, Path(smk.params.download_dir), smk.params.seed)
    data.save(arrays, smk.output.data, spec["num_classes"])
    for split in data.SPLITS:
        print(f"{name} {split}: x {arrays[f'x_{split}'].shape}, y {arrays[f'y_{split}'].shape}")
    if "class_names" in arrays:
        print(f"{name} classes (label order): {', '.join(arrays['class_names'])}")


run(main, snakemake)  # noqa: F821  (injected by Snakemake)
