"""What runs inside one Snakemake job: run() and Job (job), the training loop (train), the metrics record (records)."""
