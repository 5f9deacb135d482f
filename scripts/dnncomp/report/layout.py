"""The report's sections and the figures in each, declared once: the HTML report lays its page out
from them, and the Snakemake report files each figure under its section's first word."""

COST_SECTION = "Cost of the study"
MODELS_SECTION = "Models, layer by layer"
SECTIONS = (
    ("Quantization", ("ptq_modes", "bits")),
    ("Pruning", ("pruning", "prune_quantize", "structured")),
    ("Distillation", ("distill_temperature", "distill_sizes")),
    ("Benchmarks", ("speedups",)),
    ("Energy", ("energy",)),
    ("Overview: Pareto fronts", ("pareto",)),
    (MODELS_SECTION, ()),
    (COST_SECTION, ()),
)

# Figure name -> category in `snakemake --report` (each name is also a function of dnncomp.report.figures).
FIGURES = {name: title.split(":")[0] for title, names in SECTIONS for name in names}
