"""Rule html_report: the self-contained HTML report (figures embedded, readable offline)."""

from dnncomp import html, summary
from dnncomp.io import read_json
from dnncomp.job import run


def main(smk):
    frame = summary.read_summary(smk.input.summary)
    figures = {name: smk.input[f"fig_{name}"] for name in smk.params.figures}
    tables = {
        "Quantization": [summary.read_summary(smk.input.ptq_table)],
        "Pruning": [summary.read_summary(smk.input.prune_table)],
        html.COST_SECTION: [summary.read_summary(smk.input.cost_stages), summary.read_summary(smk.input.cost_rules)],
    }
    anchors = html.load_anchors(smk.input.anchors)
    page = html.render(frame, figures, read_json(smk.input.gpu), smk.params.config, anchors, smk.input.template, tables)
    html.write(page, smk.output.html)


run(main, snakemake)  # noqa: F821
