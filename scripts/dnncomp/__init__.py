"""The study's logic; the rule scripts in scripts/ are thin wrappers around it.

Subpackages, from the bottom up (a module imports only from its own subpackage or from one below,
tests/test_layout.py checks it):

    core/        what every layer uses: atomic files and JSON, TensorFlow start-up and provenance,
                 sizes and parameter counts, accuracy of a Keras model or a .tflite file, operation
                 counts and the energy model, user-facing errors, how a step kind is declared
    inputs/      what the study compresses: datasets and networks
    techniques/  one module per technique family (pruning, quantization, distillation), each
                 declaring its step kinds beside the code that does the work
    study/       the study's grammar and configuration: the path grammar and step registry, config
                 checks and hyperparameters, the Snakemake scheduler fix, the conda environment file
    jobs/        what runs inside one Snakemake job: the rule-script wrapper (log, errors, cost line),
                 training, saving and evaluating an artefact, its metrics record
    measure/     measurements beyond accuracy: latency benchmarks, energy meters, the GPU benchmark,
                 per-layer sensitivity
    report/      from records to the reader: the summary table, statistics over seeds, figures, the
                 HTML report and the study's cost account
"""
