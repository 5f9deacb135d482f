"""The study's cost account: where every CPU-second went, per rule and per stage.

Sources: Snakemake's benchmark file of every job (wall seconds, CPU seconds, peak RSS), the start-up
share measured inside each job (the last line of its log: interpreter, imports, TensorFlow, data and
model loading before the real work), and the CPU time of Snakemake's own process where it can be
read (a local run: it is an ancestor of the job that writes the account). Every rule's log path
mirrors its benchmark path: results/logs/X.log beside results/benchmarks/X.tsv."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..core.runtime import JOB_COST_PREFIX
from ..study.chain import STEP_KINDS
from ..study.plan import rule_of  # noqa: F401  (the rule that wrote a benchmark file)

# rule -> stage. Step kinds are rules of the same name (prune, ...), staged by the step registry; the
# post-training batches (tflite_batchN, wq_batchN) are accounted under their step kind.
STAGES = {
    "prepare_data": "data",
    **{kind: spec.stage for kind, spec in STEP_KINDS.items()},
    "teacher_logits": "conversion",
    "sensitivity": "analysis",
    "bench_family": "benchmark",
    "bench_gpu": "benchmark",
    "summarize": "aggregation",
    "figures": "aggregation",
    "tables": "aggregation",
    "cost_account": "aggregation",
    "html_report": "aggregation",
}
COLUMNS = ["stage", "rule", "jobs", "cpu_s", "wall_s", "max_rss_mb", "startup_cpu_s", "startup_share"]


def job_cost_from_log(path) -> dict | None:
    """The cost line a rule script writes last into its log (None if the job wrote none)."""
    try:
        lines = Path(path).read_text(errors="replace").splitlines()
    except FileNotFoundError:
        return None
    for line in reversed(lines):
        if line.startswith(JOB_COST_PREFIX):
            return json.loads(line[len(JOB_COST_PREFIX) :])
    return None


def job_benchmarks(benchmarks, logs) -> pd.DataFrame:
    """One row per job: Snakemake's benchmark file under `benchmarks`, and the start-up and total CPU
    measured inside the job, from its log under `logs`.

    A job's CPU time is the larger of the two lower bounds: Snakemake samples the job's processes
    every 30 s (twice a second in its first 15 s), so the last stretch of a job is missing from its
    benchmark file (measured: 12 of 84 CPU-s for a LeNet-5 baseline), while the job's own getrusage
    at its end misses only the interpreter's exit and Snakemake's shell wrapper."""
    rows = []
    for path in sorted(Path(benchmarks).rglob("*.tsv")):
        table = pd.read_csv(path, sep="\t")
        if table.empty:
            continue
        last = table.iloc[-1]
        inner = job_cost_from_log(Path(logs) / path.relative_to(benchmarks).with_suffix(".log")) or {}
        rows.append(
            {
                "rule": rule_of(path),
                "wall_s": float(last["s"]),
                "cpu_s": max(float(last["cpu_time"]), inner.get("cpu_s") or 0.0),
                "max_rss_mb": float(last["max_rss"]),
                "startup_cpu_s": inner.get("startup_cpu_s"),
                "inner_cpu_s": inner.get("cpu_s"),
            }
        )
    return pd.DataFrame(rows, columns=["rule", "wall_s", "cpu_s", "max_rss_mb", "startup_cpu_s", "inner_cpu_s"])


def measured_sum(values: pd.Series) -> float:
    """A sum that stays empty (NaN) when nothing was measured, rather than 0."""
    return values.sum(min_count=1)


def account(jobs: pd.DataFrame, scheduler_cpu_s: float | None) -> pd.DataFrame:
    """Per-rule totals, with each rule's start-up share (start-up CPU over the CPU measured inside the
    same jobs), a row for Snakemake's own process, and a total."""
    per_rule = jobs.groupby("rule").agg(
        jobs=("cpu_s", "size"),
        cpu_s=("cpu_s", "sum"),
        wall_s=("wall_s", "sum"),
        max_rss_mb=("max_rss_mb", "max"),
        startup_cpu_s=("startup_cpu_s", measured_sum),
        inner_cpu_s=("inner_cpu_s", measured_sum),
    )
    per_rule["startup_share"] = per_rule["startup_cpu_s"] / per_rule["inner_cpu_s"]
    # Scale the measured share to the rule's whole CPU time (the job's shell and Python start count too).
    per_rule["startup_cpu_s"] = per_rule["startup_share"] * per_rule["cpu_s"]
    per_rule = per_rule.drop(columns="inner_cpu_s").reset_index()
    per_rule.insert(0, "stage", per_rule["rule"].map(STAGES).fillna("other"))
    rows = [per_rule.sort_values(["stage", "cpu_s"], ascending=[True, False])]
    if scheduler_cpu_s is not None:
        rows.append(
            pd.DataFrame(
                [{"stage": "snakemake", "rule": "snakemake (scheduler process)", "jobs": 0, "cpu_s": scheduler_cpu_s}]
            )
        )
    table = pd.concat(rows, ignore_index=True)
    total = {
        "stage": "total",
        "rule": "all",
        "jobs": int(table["jobs"].sum()),
        "cpu_s": table["cpu_s"].sum(),
        "wall_s": table["wall_s"].sum(),
        "max_rss_mb": table["max_rss_mb"].max(),
        "startup_cpu_s": table["startup_cpu_s"].sum(),
    }
    total["startup_share"] = total["startup_cpu_s"] / total["cpu_s"]
    return pd.concat([table, pd.DataFrame([total])], ignore_index=True)[COLUMNS]


def by_stage(table: pd.DataFrame) -> pd.DataFrame:
    """The account summed per stage (the total row kept last)."""
    body = table[table["stage"] != "total"]
    stages = body.groupby("stage").agg(
        jobs=("jobs", "sum"),
        cpu_s=("cpu_s", "sum"),
        wall_s=("wall_s", measured_sum),
        max_rss_mb=("max_rss_mb", "max"),
        startup_cpu_s=("startup_cpu_s", measured_sum),
    )
    stages["startup_share"] = stages["startup_cpu_s"] / stages["cpu_s"]
    stages["cpu_share"] = stages["cpu_s"] / body["cpu_s"].sum()
    return stages.sort_values("cpu_s", ascending=False).reset_index()


def scheduler_cpu_s(max_depth: int = 6) -> float | None:
    """CPU seconds (user + system) of the Snakemake process that started this job, if it is an ancestor
    on this host (a local run); None on a cluster node."""
    import psutil

    process = psutil.Process(os.getpid())
    for _ in range(max_depth):
        process = process.parent()
        if process is None:
            return None
        try:
            cmdline = " ".join(process.cmdline())
        except psutil.Error:
            return None
        if "snakemake" in cmdline and "/.snakemake/scripts/" not in cmdline:
            times = process.cpu_times()
            return float(times.user + times.system)
    return None


def prediction_vs_actual(prediction: dict, benchmarks) -> pd.DataFrame:
    """The run `make plan` predicted (its record) beside what it took: the jobs whose benchmark file
    was written after the prediction, their span from the first job's start (its file's time less
    its wall time) to the last job's end, and their CPU time. Empty if no job ran after it."""
    rows = []
    for path in Path(benchmarks).rglob("*.tsv"):
        end = path.stat().st_mtime
        if end < prediction["predicted_at"]:
            continue
        table = pd.read_csv(path, sep="\t")
        if table.empty:
            continue
        wall, cpu = float(table.iloc[-1]["s"]), float(table.iloc[-1]["cpu_time"])
        rows.append({"start": end - wall, "end": end, "cpu_s": cpu})
    if not rows:
        return pd.DataFrame()
    jobs = pd.DataFrame(rows)
    actual_wall = jobs["end"].max() - max(jobs["start"].min(), prediction["predicted_at"])
    out = [
        ("jobs", prediction["jobs"], len(jobs)),
        ("wall time (min)", prediction["wall_s"] / 60, actual_wall / 60),
        ("CPU time (min)", prediction["cpu_s"] / 60, jobs["cpu_s"].sum() / 60),
    ]
    return pd.DataFrame(
        [
            {
                "quantity": name,
                f"predicted at {prediction['cores']} core(s)": predicted,
                "actual": actual,
                "error": f"{(predicted - actual) / actual:+.1%}" if actual else "",
            }
            for name, predicted, actual in out
        ]
    )
