"""The run's time predicted before it starts: the dry run read into jobs and their DAG, costs from an
earlier run's benchmark files, and a list schedule whose critical path and wall time are known by hand."""

import pytest

from dnncomp.study import plan

DRY_RUN = """\
Building DAG of jobs...
Job stats:
job      count
-----  -------
total        3

[Sat Dec  5 23:08:19 2026]
rule prepare_data:
    output: results/data/mnist.npz
    log: results/logs/data/mnist.log
    jobid: 3
    benchmark: results/benchmarks/data/mnist.tsv
    wildcards: dataset=mnist
    resources: tmpdir=/tmp, runtime=30
Shell command: None

[Sat Dec  5 23:08:19 2026]
rule baseline:
    input: results/data/mnist.npz
    output: results/mnist/lenet5/seed0/baseline/model.keras, results/mnist/lenet5/seed0/baseline/metrics.json
    log: results/logs/mnist/lenet5/seed0/baseline.log
    jobid: 22
    benchmark: results/benchmarks/mnist/lenet5/seed0/baseline.tsv
    priority: 30
Shell command: None

[Sat Dec  5 23:08:19 2026]
rule tflite_batch0:
    input: results/data/mnist.npz, results/mnist/lenet5/seed0/baseline/model.keras
    output: results/mnist/lenet5/seed0/baseline/tflite-int8/model.tflite
    jobid: 7
    benchmark: results/benchmarks/mnist/lenet5/seed0/baseline/tflite.tsv
    threads: 2
Shell command: None

[Sat Dec  5 23:08:19 2026]
localrule all:
    input: results/mnist/lenet5/seed0/baseline/tflite-int8/model.tflite
    jobid: 0
    reason: Input files updated by another job
Shell command: None
Would run 4 jobs.
"""


def job(jobid, rule, inputs=(), outputs=(), threads=1, priority=0):
    return plan.Job(jobid, rule, tuple(inputs), tuple(outputs), f"results/benchmarks/{rule}.tsv", threads, priority)


def test_the_dry_run_is_read_into_jobs_and_their_dependencies():
    jobs = plan.parse_dry_run(DRY_RUN)
    assert [(j.jobid, j.rule, j.threads, j.priority) for j in jobs] == [
        (3, "prepare_data", 1, 0),
        (22, "baseline", 1, 30),
        (7, "tflite_batch0", 2, 0),
        (0, "all", 1, 0),
    ]
    assert jobs[2].kind == "tflite" and jobs[2].pair == ("mnist", "lenet5") and jobs[0].pair == ("*", "*")
    assert jobs[3].benchmark is None
    assert plan.dependencies(jobs) == {3: set(), 22: {3}, 7: {3, 22}, 0: {7}}


def diamond():
    """a (10 s) feeds b (30 s) and c (5 s); d (20 s) needs both; e (40 s) stands alone."""
    return [
        job(1, "a", outputs=["A"]),
        job(2, "b", inputs=["A"], outputs=["B"]),
        job(3, "c", inputs=["A"], outputs=["C"]),
        job(4, "d", inputs=["B", "C"], outputs=["D"]),
        job(5, "e", outputs=["E"]),
    ]


COSTS = {1: 10.0, 2: 30.0, 3: 5.0, 4: 20.0, 5: 40.0}


def costs_of(seconds):
    return {jobid: plan.Cost(s, s, "measured") for jobid, s in seconds.items()}


def test_a_known_dag_gives_its_critical_path_and_wall_time():
    jobs = diamond()
    one = plan.simulate(jobs, costs_of(COSTS), cores=1, dispatch_s=0.0)
    assert one.wall_s == pytest.approx(105.0) and one.cpu_s == pytest.approx(105.0)
    assert one.critical_path == ["a", "b", "d"] and one.critical_path_s == pytest.approx(60.0)
    # Two cores: a and e start; b (the longer path) takes the core a frees, so c waits for e to end at
    # 40 s and d ends at 65 s. A list schedule, not the optimum (60 s, with e started after c).
    two = plan.simulate(jobs, costs_of(COSTS), cores=2, dispatch_s=0.0)
    assert two.wall_s == pytest.approx(65.0)
    many = plan.simulate(jobs, costs_of(COSTS), cores=8, dispatch_s=0.0)
    assert many.wall_s == pytest.approx(60.0)
    assert plan.simulate(jobs, costs_of(COSTS), cores=1, dispatch_s=1.0).wall_s == pytest.approx(110.0)


def test_a_job_takes_its_threads_and_priority_goes_first():
    wide = [job(1, "bench", threads=2, outputs=["X"]), job(2, "train", priority=30), job(3, "train2", priority=30)]
    run = plan.simulate(wide, costs_of({1: 10.0, 2: 10.0, 3: 10.0}), cores=2, dispatch_s=0.0)
    assert run.wall_s == pytest.approx(20.0)  # the two trainings side by side, then the benchmark alone


def test_slurm_on_paper_adds_the_queue_wait_and_spreads_over_nodes():
    jobs = diamond()
    paper = plan.slurm_on_paper(jobs, costs_of(COSTS), nodes=2, cores_per_node=4, queue_s=30.0)
    assert paper.wall_s == pytest.approx(60.0 + 3 * 30.0)


def write_benchmark(path, wall, cpu):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"s\th:m:s\tmax_rss\tcpu_time\n{wall}\t0:00:01\t100\t{cpu}\n")


def test_costs_come_from_the_same_job_then_the_rule_and_pair_then_the_shipped_table(tmp_path):
    bench = tmp_path / "results" / "benchmarks"
    write_benchmark(bench / "mnist/lenet5/seed0/baseline.tsv", 100.0, 90.0)
    write_benchmark(bench / "mnist/lenet5/seed1/baseline.tsv", 120.0, 110.0)
    write_benchmark(bench / "cifar10/lenet5/seed0/baseline.tsv", 300.0, 280.0)
    shipped = tmp_path / "costs.csv"
    shipped.write_text("rule,dataset,model,wall_s,cpu_s\ncluster,*,*,7.0,6.0\n")
    model = plan.CostModel(tmp_path, shipped=shipped)

    def at(path, rule="baseline"):
        return model.cost(plan.Job(1, rule, (), (), path))

    assert at("results/benchmarks/mnist/lenet5/seed0/baseline.tsv") == plan.Cost(100.0, 90.0, "measured")
    assert at("results/benchmarks/mnist/lenet5/seed2/baseline.tsv") == plan.Cost(110.0, 100.0, "run median")
    assert at("results/benchmarks/mnist/lenet300_100/seed0/baseline.tsv").source == "run median rule"
    assert at("results/benchmarks/mnist/lenet5/seed0/baseline/cluster-c8.tsv", "cluster").source == "shipped rule"
    assert at("results/benchmarks/mnist/lenet5/seed0/baseline/qat-b8.tsv", "qat").source == "none"
    out = tmp_path / "written.csv"
    assert plan.write_costs(tmp_path, out) == 3  # two pairs and the rule over both
    assert "baseline,mnist,lenet5,110.00,100.00" in out.read_text()


def test_the_command_prints_the_prediction(tmp_path, capsys):
    (tmp_path / "dry.txt").write_text(DRY_RUN)
    assert plan.main([str(tmp_path / "dry.txt"), "--cores", "2", "--workdir", str(tmp_path), "--slurm-nodes", "2"]) == 0
    out = capsys.readouterr().out
    assert "Local run: 3 jobs, predicted wall" in out and "SLURM on paper (2 x 8 cores" in out
    (tmp_path / "empty.txt").write_text(
        "Building DAG of jobs...\nNothing to be done (all requested files are present).\n"
    )
    assert plan.main([str(tmp_path / "empty.txt"), "--cores", "2"]) == 0
    assert "Nothing to do" in capsys.readouterr().out


def test_the_recorded_prediction_is_set_beside_the_run_that_followed(tmp_path):
    """The report's cost section: jobs that finished after the prediction, their span and CPU time."""
    import json
    import os

    from dnncomp.report import cost

    (tmp_path / "dry.txt").write_text(DRY_RUN)
    record = tmp_path / "results" / "plan.json"
    assert (
        plan.main([str(tmp_path / "dry.txt"), "--cores", "2", "--workdir", str(tmp_path), "--record", str(record)]) == 0
    )
    prediction = json.loads(record.read_text())
    assert prediction["cores"] == 2 and prediction["jobs"] == 3 and prediction["wall_s"] > 0
    benchmarks = tmp_path / "results" / "benchmarks"
    benchmarks.mkdir(parents=True)
    t0 = prediction["predicted_at"]
    # an earlier run's job (before the prediction) and two of this run: 0-60 s and 30-100 s after it
    for name, end, wall, cpu in (("old", t0 - 500, 10.0, 9.0), ("a", t0 + 60, 60.0, 50.0), ("b", t0 + 100, 70.0, 65.0)):
        path = benchmarks / f"{name}.tsv"
        path.write_text(f"s\th:m:s\tmax_rss\tcpu_time\n{wall}\t0:00:00\t100\t{cpu}\n")
        os.utime(path, (end, end))
    table = cost.prediction_vs_actual(prediction, benchmarks).set_index("quantity")
    assert table.loc["jobs", "actual"] == 2
    assert table.loc["wall time (min)", "actual"] == pytest.approx(100 / 60)
    assert table.loc["CPU time (min)", "actual"] == pytest.approx(115 / 60)
    assert table.loc["wall time (min)", "error"].endswith("%")
    assert cost.prediction_vs_actual({**prediction, "predicted_at": t0 + 1000}, benchmarks).empty
