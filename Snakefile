# Compression study: pruning, quantization and knowledge distillation on LeNet-300-100 and LeNet-5.
# See README.md; the configuration is config.yaml, validated against schemas/config.schema.yaml.

from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"


# The step rules: one file per group of step kinds, as the step registry (scripts/dnncomp/techniques) names them.
for rule_file in chain_grammar.RULE_FILES:

    include: rule_file


include: "rules/benchmark.smk"
include: "rules/report.smk"


rule all:
    default_target: True
    input:
        "results/summary.csv",
        "results/report.html",
