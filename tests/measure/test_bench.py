"""Side-by-side benchmarking and the cost account, on hand-made timings."""

import json

import numpy as np
import pandas as pd
import pytest

from dnncomp.measure import bench, family
from dnncomp.report import cost


def test_each_round_times_every_case_once_in_a_new_order():
    order = []

    def case(name):
        def prepare():
            order.append(name)
            return lambda: None

        return bench.Case((name,), prepare)

    cases = [case(n) for n in "abcdef"]
    bench.run_rounds(cases, {"rounds": 4, "placements": 1, "warmup": 1, "min_repeats": 2, "min_seconds": 0.0}, seed=3)
    rounds = [order[i : i + 6] for i in range(0, 24, 6)]
    assert all(sorted(r) == list("abcdef") for r in rounds)
    assert len({tuple(r) for r in rounds}) > 1, "the order must be shuffled between rounds"
    assert all(len(c.round_medians) == 4 and len(c.times) == 4 for c in cases)


def test_a_round_keeps_the_fastest_of_its_builds(monkeypatch):
    # Builds alternate between a slow and a fast memory placement (hand-made timings, nothing timed).
    levels = iter([[84.0, 85.0], [58.0, 59.0], [84.0, 86.0]] * 2)
    monkeypatch.setattr(bench, "time_calls", lambda *args: np.array(next(levels)))
    builds = []
    case = bench.Case(("fp32",), lambda: builds.append(1))
    bench.run_rounds([case], {"rounds": 2, "placements": 3, "warmup": 0, "min_repeats": 1, "min_seconds": 0.0})
    assert len(builds) == 6, "each round builds the case `placements` times"
    assert case.round_medians == [58.5, 58.5]
    assert [list(t) for t in case.times] == [[58.0, 59.0]] * 2, "the kept timings are the fastest build's"


def test_speedup_is_the_spread_of_per_round_ratios():
    reference, faster = bench.Case(("fp32",), None), bench.Case(("int8",), None)
    reference.round_medians = [2.0, 4.0, 6.0, 8.0]  # the host slowed down over the rounds...
    faster.round_medians = [1.0, 2.0, 3.0, 4.0]  # ...and both artefacts with it
    stats = bench.ratio_stats(reference, faster)
    assert stats == {"median": 2.0, "p10": 2.0, "p90": 2.0}
    # Dividing medians of separate runs would mix host drift into the ratio; per-round ratios do not.
    assert np.median(reference.round_medians[:2]) / np.median(faster.round_medians[2:]) != 2.0


def test_result_rows_compare_like_with_like():
    def case(key, medians, batch):
        c = bench.Case(key, None)
        c.round_medians, c.times, c.actual_batch = medians, [np.array(medians)], batch
        return c

    fp32 = case((family.FP32_REFERENCE, "auto", 1, 1), [4.0, 4.0], 1)
    int8 = case(("baseline/tflite-int8", "auto", 1, 1), [1.0, 2.0], 1)
    keras = case(("baseline", family.KERAS, 2, 1), [8.0, 8.0], 1)
    other_resolver = case((family.FP32_REFERENCE, "builtin", 1, 1), [100.0, 100.0], 1)
    by_key = {c.key: c for c in (fp32, int8, keras, other_resolver)}
    row = family.result_row(int8, by_key, job_threads=3)  # Keras timed on all threads but one: 2
    assert row["speedup_vs_fp32_tflite"]["median"] == pytest.approx(3.0)  # ratios 4 and 2
    assert row["speedup_vs_keras"]["median"] == pytest.approx(6.0)
    assert "speedup_vs_fp32_tflite" not in family.result_row(keras, by_key, job_threads=3)


def test_thread_counts_expand_zero_to_all_but_one_of_the_job_threads():
    assert family.thread_counts([1, 0], 4) == [1, 3]
    assert family.thread_counts([1, 0], 2) == [1]
    assert family.thread_counts([0], 1) == [1]


@pytest.mark.parametrize(
    "path, rule",
    [
        ("results/benchmarks/mnist/lenet5/seed0/baseline.tsv", "baseline"),
        ("results/benchmarks/mnist/lenet5/seed0/baseline/prune-s0.90-block.tsv", "prune"),
        ("results/benchmarks/mnist/lenet5/seed0/baseline/tflite.tsv", "tflite"),
        ("results/benchmarks/mnist/lenet5/seed0/baseline/prune-s0.90-block/wq.tsv", "wq"),
        ("results/benchmarks/mnist/lenet5/seed0/bench_cpu.tsv", "bench_family"),
        ("results/benchmarks/data/mnist.tsv", "prepare_data"),
        ("results/benchmarks/summarize.tsv", "summarize"),
        ("results/benchmarks/something_else.tsv", "unknown"),
    ],
)
def test_rule_of_a_benchmark_file(path, rule):
    assert cost.rule_of(path) == rule


def write_job(root, rel, wall, cpu, rss, startup=None, inner=None):
    tsv = root / "benchmarks" / f"{rel}.tsv"
    tsv.parent.mkdir(parents=True, exist_ok=True)
    tsv.write_text(
        "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
        f"{wall}\t0:00:01\t{rss}\t0\t0\t0\t0\t0\t0\t{cpu}\n"
    )
    if startup is not None:
        log = root / "logs" / f"{rel}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(
            "Epoch 1/1\n"
            + "job_cost: "
            + json.dumps({"startup_cpu_s": startup, "startup_wall_s": startup, "cpu_s": inner, "wall_s": inner})
            + "\n"
        )


def test_cost_account_sums_jobs_and_scales_the_measured_startup_share(tmp_path):
    write_job(tmp_path, "mnist/m/seed0/baseline", wall=20, cpu=22, rss=900, startup=5, inner=20)
    write_job(tmp_path, "mnist/m/seed1/baseline", wall=30, cpu=33, rss=1000, startup=5, inner=30)
    write_job(tmp_path, "mnist/m/seed0/baseline/tflite", wall=8, cpu=8, rss=500, startup=6, inner=8)
    write_job(tmp_path, "summarize", wall=1, cpu=1, rss=80)
    jobs = cost.job_benchmarks(tmp_path / "benchmarks", tmp_path / "logs")
    table = cost.account(jobs, scheduler_cpu_s=4.0).set_index("rule")
    assert table.loc["baseline", "jobs"] == 2 and table.loc["baseline", "cpu_s"] == 55
    assert table.loc["baseline", "max_rss_mb"] == 1000
    assert table.loc["baseline", "startup_share"] == pytest.approx(10 / 50)
    assert table.loc["baseline", "startup_cpu_s"] == pytest.approx(55 * 10 / 50)
    assert table.loc["tflite", "startup_share"] == pytest.approx(6 / 8)
    assert pd.isna(table.loc["summarize", "startup_share"])
    total = table.loc["all"]
    assert total["cpu_s"] == pytest.approx(55 + 8 + 1 + 4) and total["jobs"] == 4
    assert total["startup_share"] == pytest.approx((11 + 6) / 68)
    stages = cost.by_stage(cost.account(jobs, 4.0)).set_index("stage")
    assert stages.loc["training", "cpu_s"] == 55 and stages.loc["snakemake", "cpu_s"] == 4
    assert pd.isna(stages.loc["snakemake", "startup_share"]), "unmeasured must read as empty, not 0"
    assert stages["cpu_share"].sum() == pytest.approx(1.0)


def test_a_job_cpu_time_is_the_larger_of_its_sampled_and_its_own_measure(tmp_path):
    write_job(tmp_path, "mnist/m/seed0/baseline", wall=90, cpu=72, rss=900, startup=3, inner=84)
    write_job(tmp_path, "mnist/m/seed1/baseline", wall=90, cpu=86, rss=900, startup=3, inner=84)
    jobs = cost.job_benchmarks(tmp_path / "benchmarks", tmp_path / "logs")
    assert sorted(jobs["cpu_s"]) == [84, 86]


def test_log_without_a_cost_line_counts_no_startup(tmp_path):
    log = tmp_path / "x.log"
    log.write_text("Traceback ...\nERROR in rule x\n")
    assert cost.job_cost_from_log(log) is None
    assert cost.job_cost_from_log(tmp_path / "missing.log") is None


def family_record(speedups):
    entries = [
        {
            "chain": family.FP32_REFERENCE,
            "results": [{"resolver": "builtin", "threads": 1, "batch": 1, "speedup_vs_fp32_tflite": {"median": 1.0}}],
        }
    ]
    for chain, value in speedups.items():
        entries.append(
            {
                "chain": chain,
                "results": [
                    {"resolver": "builtin", "threads": 1, "batch": 1, "speedup_vs_fp32_tflite": {"median": value}}
                ],
            }
        )
    return {"artefacts": entries}


def test_agreement_of_two_benchmark_runs():
    first = family_record({"a": 2.0, "b": 4.0, "c": 1.0, "d": 5.0})
    second = family_record({"a": 2.1, "b": 4.0, "c": 1.2, "e": 3.0})  # +5 %, 0 %, +20 %; d and e unmatched
    out = family.agreement(first, second)
    assert out["cases"] == 3
    assert out["median_rel_diff"] == pytest.approx(0.05)
    assert out["max_rel_diff"] == pytest.approx(0.20)
    assert out["share_within_10pct"] == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="share no"):
        family.agreement(first, family_record({"z": 1.0}))
