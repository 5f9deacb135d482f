"""Rule html_report: the self-contained HTML report (figures embedded, readable offline)."""

from pathlib import Path

from dnncomp.core.io import read_json
from dnncomp.jobs.job import run
from dnncomp.report import cost, html, structured, summary
from dnncomp.report.layout import MODELS_SECTION


def main(smk):
    frame = summary.read_summary(smk.input.summary)
    figures = {name: smk.input[f"fig_{name}"] for name in smk.params.figures}
    anchors = html.load_anchors(smk.input.anchors)
    tables = {
        "Quantization": [summary.read_summary(smk.input.ptq_table)],
        "Pruning": [summary.read_summary(smk.input.prune_table)],
        html.COST_SECTION: [summary.read_summary(smk.input.cost_stages), summary.read_summary(smk.input.cost_rules)],
    }
    if smk.input.prediction:
        actual = cost.prediction_vs_actual(read_json(smk.input.prediction[0]), "results/benchmarks")
        tables[html.COST_SECTION].insert(0, actual)
    analyses = {Path(p).parent.parent.relative_to("results").as_posix(): read_json(p) for p in smk.input.sensitivity}
    tables["Pruning"].append(html.allocation_table(analyses, smk.params.budgets))
    tables[MODELS_SECTION] = [html.layer_tables({p: read_json(p) for p in smk.input.baselines})]
    speed = structured.speed_table(frame)
    if len(speed):
        kept = structured.kept_channels_table(
            structured.first_seed_records(frame, lambda p: read_json(Path(p) / "metrics.json"))
        )
        claims = structured.speed_claims(frame, anchors, html.references(smk.params.config))
        tables["Pruning"] += [claims, speed, kept]
    mixed = {p: read_json(Path(p) / "metrics.json") for p in frame.loc[frame["technique"] == "lqmix", "path"]}
    if mixed:
        tables["Quantization"].append(html.mixed_precision_table(mixed))
    energy = html.energy_table(frame)
    tables["Energy"] = [energy] if len(energy) else []
    extra = {
        "Pruning": [
            (f"sensitivity {path}", png) for path, png in zip(analyses, smk.input.sensitivity_figures, strict=True)
        ]
    }
    gpu = [read_json(p) for p in smk.input.gpu]
    page = html.render(frame, figures, gpu, smk.params.config, anchors, smk.input.template, tables, extra)
    html.write(page, smk.output.html)


run(main, snakemake)  # noqa: F821
