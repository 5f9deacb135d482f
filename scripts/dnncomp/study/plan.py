"""How long a run will take, said before it starts: the jobs of Snakemake's dry run, each job's cost
from an earlier run's benchmark files (or the shipped medians of the default study for a first run),
and a simulation of the local scheduler at N cores along the DAG.

Each job's cost is, first choice first: its own benchmark file from an earlier run (the same output
path, so a rerun with one more sparsity level is priced job by job); the median of the earlier run's
jobs of the same rule, dataset and model; the shipped median of the same (docs/results/job_costs.csv,
written from a default study by `--write-costs`); the shipped median of the rule. The plan says how
many jobs each source priced.

The simulation is a list scheduler: a job is ready when the jobs that make its inputs are done; among
ready jobs the higher Snakemake priority starts first, then the longer remaining path to the end of
the DAG (critical-path first); a job takes min(threads, cores) cores. Each job may add `dispatch_s` of
Snakemake's own time between a job's end and the next start (0 here: see DISPATCH_S). A SLURM run
is priced on paper the same way with K nodes of C cores and a queue wait per job, and says so."""

from __future__ import annotations

import argparse
import csv
import heapq
import re
import statistics
import sys
from dataclasses import dataclass, field, replace
from pathlib import Path

from .chain import STEP_KINDS, parse_step

# Benchmark and record file names that are not step tokens.
NAMED_FILES = {
    "teacher_logits": "teacher_logits",
    "sensitivity": "sensitivity",
    "bench_cpu": "bench_family",
    "bench_gpu": "bench_gpu",
    "summarize": "summarize",
    "figures": "figures",
    "tables": "tables",
    "cost_account": "cost_account",
    "html_report": "html_report",
}
SHIPPED_COSTS = Path(__file__).resolve().parents[3] / "docs" / "results" / "job_costs.csv"
# Seconds between one job's end and the next job's start (scheduling rounds, start-up outside the
# benchmarked script). None measurable here: the default study of 6 December 2026 (399 jobs, 2 cores)
# took 70.6 min in Snakemake, and its own benchmark files scheduled this way give 70.4 min at 0 s
# (72.3 at 0.5 s, 74.2 at 1 s).
DISPATCH_S = 0.0
# Where `make plan` records its prediction for the report (relative to the workflow's directory).
PREDICTION = Path("results/plan.json")
ANY = "*"


@dataclass(frozen=True)
class Job:
    jobid: int
    rule: str
    inputs: tuple
    outputs: tuple
    benchmark: str | None = None
    threads: int = 1
    priority: int = 0

    @property
    def kind(self) -> str:
        """The rule a cost is looked up by: post-training batches (tflite_batch2) under their step."""
        return re.sub(r"_batch\d+$", "", self.rule)

    @property
    def pair(self) -> tuple[str, str]:
        return pair_of(self.benchmark)


def pair_of(benchmark: str | Path | None) -> tuple[str, str]:
    """(dataset, model) from a benchmark path results/benchmarks/{dataset}/{model}/..., else (*, *)."""
    parts = Path(benchmark).parts if benchmark else ()
    if len(parts) >= 5 and parts[0] == "results" and parts[1] == "benchmarks" and parts[2] != "data":
        return parts[2], parts[3]
    return ANY, ANY


@dataclass(frozen=True)
class Cost:
    wall_s: float
    cpu_s: float
    source: str  # measured | run median | shipped | shipped rule | none


@dataclass
class Plan:
    cores: int
    jobs: int
    wall_s: float
    cpu_s: float
    critical_path_s: float
    critical_path: list = field(default_factory=list)  # rule names along it
    sources: dict = field(default_factory=dict)  # cost source -> job count


# ----------------------------------------------------------------------------- the dry run


def rule_of(path) -> str:
    """The rule that wrote a benchmark file or record, from its name: results/benchmarks/.../prune-s0.90-block.tsv,
    results/data/... -> prepare_data, .../baseline/tflite.tsv (a post-training batch) -> tflite."""
    path = Path(path)
    if path.parent.name == "data" and path.suffix == ".tsv":
        return "prepare_data"
    name = path.stem
    if name in NAMED_FILES:
        return NAMED_FILES[name]
    if name in STEP_KINDS:
        return name
    try:
        return parse_step(name).kind
    except ValueError:
        return "unknown"


def parse_dry_run(text: str) -> list[Job]:
    """The jobs Snakemake's dry run (`snakemake -n`) lists, with their inputs, outputs, benchmark
    file, threads and priority."""
    jobs, current = [], None
    for line in text.splitlines():
        head = re.match(r"^(?:local)?rule (\S+):$", line.strip()) if not line.startswith("    ") else None
        if head:
            if current:
                jobs.append(_job(current))
            current = {"rule": head.group(1)}
            continue
        field_match = re.match(r"^    (\w+): (.*)$", line)
        if current is not None and field_match:
            current[field_match.group(1)] = field_match.group(2)
        elif current is not None and line and not line.startswith(" "):
            jobs.append(_job(current))
            current = None
    if current:
        jobs.append(_job(current))
    return jobs


def _paths(value: str | None) -> tuple:
    return tuple(p.strip() for p in value.split(",")) if value else ()


def _job(fields: dict) -> Job:
    return Job(
        jobid=int(fields.get("jobid", -1)),
        rule=fields["rule"],
        inputs=_paths(fields.get("input")),
        outputs=_paths(fields.get("output")),
        benchmark=fields.get("benchmark"),
        threads=int(fields.get("threads", 1)),
        priority=int(fields.get("priority", 0)),
    )


def dependencies(jobs: list[Job]) -> dict[int, set[int]]:
    """jobid -> the jobids that make its inputs (inputs no job of the run makes already exist)."""
    maker = {path: job.jobid for job in jobs for path in job.outputs}
    return {job.jobid: {maker[p] for p in job.inputs if p in maker and maker[p] != job.jobid} for job in jobs}


# ----------------------------------------------------------------------------- costs


def read_benchmark(path: Path) -> tuple[float, float] | None:
    """(wall seconds, CPU seconds) from a Snakemake benchmark file, the mean over its repeats."""
    try:
        rows = list(csv.DictReader(path.read_text().splitlines(), delimiter="\t"))
    except OSError:
        return None
    if not rows:
        return None
    wall = statistics.fmean(float(r["s"]) for r in rows)
    cpu = statistics.fmean(float(r.get("cpu_time") or 0.0) for r in rows)
    return wall, cpu


class CostModel:
    """Job costs from an earlier run's benchmark files (`workdir`, where results/benchmarks/ lives) and
    the shipped medians."""

    def __init__(self, workdir: Path | None = None, shipped: Path | None = SHIPPED_COSTS):
        self.workdir = Path(workdir) if workdir else None
        self.run_medians: dict = {}
        self.shipped: dict = {}
        if self.workdir is not None:
            self.run_medians = medians(earlier_jobs(self.workdir))
        if shipped is not None and Path(shipped).is_file():
            with open(shipped) as f:
                for row in csv.DictReader(f):
                    key = (row["rule"], row["dataset"], row["model"])
                    self.shipped[key] = (float(row["wall_s"]), float(row["cpu_s"]))

    def cost(self, job: Job) -> Cost:
        if job.benchmark is None:
            return Cost(0.0, 0.0, "none")
        if self.workdir is not None:
            own = read_benchmark(self.workdir / job.benchmark)
            if own is not None:
                return Cost(*own, "measured")
        dataset, model = job.pair
        for table, label in ((self.run_medians, "run median"), (self.shipped, "shipped")):
            if (job.kind, dataset, model) in table:
                return Cost(*table[job.kind, dataset, model], label)
            if (job.kind, ANY, ANY) in table:
                return Cost(*table[job.kind, ANY, ANY], f"{label} rule")
        return Cost(0.0, 0.0, "none")


def earlier_jobs(workdir: Path) -> list[tuple]:
    """(rule, dataset, model, wall, cpu) of every benchmark file under workdir/results/benchmarks."""
    found = []
    root = Path(workdir) / "results" / "benchmarks"
    for path in sorted(root.rglob("*.tsv")) if root.is_dir() else []:
        measured = read_benchmark(path)
        if measured is not None:
            relative = path.relative_to(workdir)
            found.append((rule_of(relative), *pair_of(relative), *measured))
    return found


def medians(rows: list[tuple]) -> dict:
    """{(rule, dataset, model): (median wall, median CPU)}, and (rule, *, *) over every pair."""
    groups: dict = {}
    for rule, dataset, model, wall, cpu in rows:
        groups.setdefault((rule, dataset, model), []).append((wall, cpu))
        if dataset != ANY:
            groups.setdefault((rule, ANY, ANY), []).append((wall, cpu))
    return {
        key: (statistics.median(w for w, _ in values), statistics.median(c for _, c in values))
        for key, values in groups.items()
    }


def write_costs(workdir: Path, out: Path) -> int:
    """Write the medians of an earlier run's jobs as the shipped costs; returns the row count."""
    table = medians(earlier_jobs(workdir))
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["rule", "dataset", "model", "wall_s", "cpu_s"])
        for (rule, dataset, model), (wall, cpu) in sorted(table.items()):
            writer.writerow([rule, dataset, model, f"{wall:.2f}", f"{cpu:.2f}"])
    return len(table)


# ----------------------------------------------------------------------------- the schedule


def children_of(jobs: list[Job], deps: dict) -> dict[int, list[int]]:
    """jobid -> the jobids that read its outputs (the dependencies turned around)."""
    children: dict = {job.jobid: [] for job in jobs}
    for jobid, parents in deps.items():
        for parent in parents:
            children[parent].append(jobid)
    return children


def critical_path(jobs: list[Job], deps: dict, wall: dict) -> tuple[dict, list]:
    """({jobid: longest wall time from its start to the end of the DAG}, the jobids of the longest path)."""
    children = children_of(jobs, deps)
    remaining: dict = {}

    def tail(jobid: int) -> float:  # memoised, iteratively deep enough for a few thousand jobs
        stack = [jobid]
        while stack:
            top = stack[-1]
            pending = [c for c in children[top] if c not in remaining]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            remaining[top] = wall[top] + max((remaining[c] for c in children[top]), default=0.0)
        return remaining[jobid]

    for job in jobs:
        tail(job.jobid)
    start = max((j.jobid for j in jobs if not deps[j.jobid]), key=lambda j: remaining[j], default=None)
    path = []
    while start is not None:
        path.append(start)
        start = max(children[start], key=lambda c: remaining[c], default=None)
    return remaining, path


def simulate(jobs: list[Job], costs: dict, cores: int, dispatch_s: float = DISPATCH_S) -> Plan:
    """The wall time of running `jobs` on `cores` cores with a critical-path-first list scheduler."""
    if cores < 1:
        raise ValueError(f"cores must be at least 1, got {cores}")
    deps = dependencies(jobs)
    by_id = {job.jobid: job for job in jobs}
    wall = {job.jobid: costs[job.jobid].wall_s + (dispatch_s if job.benchmark else 0.0) for job in jobs}
    remaining, path = critical_path(jobs, deps, wall)
    children = children_of(jobs, deps)
    waiting = {jobid: set(parents) for jobid, parents in deps.items()}
    ready = [_rank(by_id[j], remaining) for j, parents in waiting.items() if not parents]
    heapq.heapify(ready)
    running: list = []  # (end time, jobid, cores)
    now, free = 0.0, cores
    while ready or running:
        held = []
        while ready:
            item = heapq.heappop(ready)
            need = min(by_id[item[-1]].threads, cores)
            if need <= free:
                free -= need
                heapq.heappush(running, (now + wall[item[-1]], item[-1], need))
            else:
                held.append(item)
        for item in held:
            heapq.heappush(ready, item)
        now, done, need = heapq.heappop(running)
        free += need
        for child in children[done]:
            waiting[child].discard(done)
            if not waiting[child]:
                heapq.heappush(ready, _rank(by_id[child], remaining))
    sources: dict = {}
    for job in jobs:
        if job.benchmark:
            sources[costs[job.jobid].source] = sources.get(costs[job.jobid].source, 0) + 1
    return Plan(
        cores=cores,
        jobs=sum(1 for j in jobs if j.benchmark),
        wall_s=now if jobs else 0.0,
        cpu_s=sum(c.cpu_s for c in costs.values()),
        critical_path_s=remaining[path[0]] if path else 0.0,
        critical_path=[by_id[j].rule for j in path],
        sources=sources,
    )


def _rank(job: Job, remaining: dict) -> tuple:
    """Heap order: higher priority first, then the longer remaining path, then the job id."""
    return (-job.priority, -remaining[job.jobid], job.jobid)


def slurm_on_paper(jobs: list[Job], costs: dict, nodes: int, cores_per_node: int, queue_s: float) -> Plan:
    """A SLURM run priced on paper: the same schedule over nodes x cores with a queue wait per job
    (no job spans nodes, and each job's wall time is as measured here: stated as an estimate)."""
    single = [replace(j, threads=min(j.threads, cores_per_node)) for j in jobs]
    return simulate(single, costs, nodes * cores_per_node, dispatch_s=queue_s)


def record_prediction(plan: Plan, path: Path, now: float | None = None) -> None:
    """The prediction as JSON, stamped with the time it was made: the jobs that finish after it are
    the run it predicts (dnncomp.report.cost.prediction_vs_actual)."""
    import json
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    record = {
        "predicted_at": time.time() if now is None else now,
        "cores": plan.cores,
        "jobs": plan.jobs,
        "wall_s": plan.wall_s,
        "cpu_s": plan.cpu_s,
        "critical_path_s": plan.critical_path_s,
        "sources": plan.sources,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2))
    tmp.replace(path)


# ----------------------------------------------------------------------------- the command


def describe(plan: Plan, label: str) -> str:
    sources = ", ".join(f"{count} {source}" for source, count in sorted(plan.sources.items()))
    return (
        f"{label}: {plan.jobs} jobs, predicted wall {plan.wall_s / 60:.1f} min at {plan.cores} core(s), "
        f"{plan.cpu_s / 60:.1f} CPU-min; critical path {plan.critical_path_s / 60:.1f} min "
        f"({' > '.join(dict.fromkeys(plan.critical_path))}); costs: {sources or 'none'}"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dnncomp.study.plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("dry_run", help="the output of `snakemake -n` (- for standard input)")
    parser.add_argument("--cores", type=int, required=True)
    parser.add_argument("--workdir", type=Path, default=Path("."), help="where an earlier run's results/ is")
    parser.add_argument("--slurm-nodes", type=int, default=0)
    parser.add_argument("--cores-per-node", type=int, default=8)
    parser.add_argument("--queue-wait", type=float, default=30.0, help="seconds a SLURM job waits to start")
    parser.add_argument("--write-costs", type=Path, help="write the earlier run's medians here and stop")
    parser.add_argument(
        "--record",
        type=Path,
        nargs="?",
        const=PREDICTION,
        help=f"also write the local prediction (default {PREDICTION}); the report sets the run's actual beside it",
    )
    args = parser.parse_args(argv)
    if args.write_costs:
        print(f"{write_costs(args.workdir, args.write_costs)} cost rows written to {args.write_costs}")
        return 0
    text = sys.stdin.read() if args.dry_run == "-" else Path(args.dry_run).read_text()
    jobs = parse_dry_run(text)
    if not jobs:
        print("Nothing to do: every output is up to date.")
        return 0
    model = CostModel(args.workdir)
    costs = {job.jobid: model.cost(job) for job in jobs}
    local = simulate(jobs, costs, args.cores)
    print(describe(local, "Local run"))
    if args.record:
        record_prediction(local, args.record)
    if args.slurm_nodes:
        paper = slurm_on_paper(jobs, costs, args.slurm_nodes, args.cores_per_node, args.queue_wait)
        print(
            describe(
                paper,
                f"SLURM on paper ({args.slurm_nodes} x {args.cores_per_node} cores, "
                f"{args.queue_wait:.0f} s queue wait per job)",
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
