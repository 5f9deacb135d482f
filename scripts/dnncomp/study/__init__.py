"""The study's grammar (chain: paths, step registry) and configuration (config: checks, hyperparameters).
Pure Python: the Snakefile imports it when it builds the DAG, so nothing here imports TensorFlow."""
