"""End to end on the tiny config (a real MNIST subset, one epoch): every rule runs for real."""
import json
import os
import re
import shutil
import signal
import subprocess
import time

import pandas as pd

from helpers import SNAKEMAKE, TINY, copy_workflow, snakemake


def test_every_record_is_summarized(study):
    workdir, _ = study
    summary = pd.read_csv(workdir / "results" / "summary.csv")
    records = list((workdir / "results").rglob("metrics.json"))
    assert len(summary) == len(records)
    chains = set(summary["chain"])
    for expected in ["baseline", "baseline/tflite-fp32", "baseline/tflite-int8", "baseline/wq-b4-channel",
                     "baseline/qat-b4", "baseline/prune-s0.90-block", "baseline/prune-s0.90-block/cluster-c8",
                     "baseline/prune-s0.90-block/cluster-c8/tflite-int8-sparse",
                     "baseline/distill-mlp32-T4-a0.1-seed1/tflite-int8",
                     "baseline/prune-s0.90-block/distill-self-T4-a0.1-seed0"]:
        assert expected in chains
    # From-scratch controls of the distilled student, one per student seed.
    assert len(summary[(summary["model"] == "mlp32") & (summary["chain"] == "baseline")]) == 2


def test_records_describe_real_artefacts(study):
    workdir, _ = study
    for path in (workdir / "results").rglob("metrics.json"):
        record = json.loads(path.read_text())
        assert 0.0 <= record["accuracy"] <= 1.0
        if record["format"] == "computed":
            assert record["artefact"] is None and record["size_kind"] == "computed"
            continue
        artefact = workdir / record["artefact"]
        assert artefact.stat().st_size == record["size_bytes"]
        assert record["provenance"]["versions"]["tensorflow"]


def test_int8_is_smaller_and_evaluated_as_tflite(study):
    workdir, _ = study
    summary = pd.read_csv(workdir / "results" / "summary.csv").set_index(["model", "chain"])
    fp32 = summary.loc[("lenet300_100", "baseline/tflite-fp32")]
    int8 = summary.loc[("lenet300_100", "baseline/tflite-int8")]
    assert fp32["size_bytes"] / int8["size_bytes"] > 3.5
    assert int8["engine"] == "litert"
    assert abs(int8["accuracy"] - fp32["accuracy"]) < 0.02


def test_benchmarks_and_speedups_present(study):
    workdir, _ = study
    summary = pd.read_csv(workdir / "results" / "summary.csv")
    tflite = summary[summary["format"] == "tflite"]
    assert tflite["latency_b1_t1_us"].notna().all()
    assert (tflite["latency_b1_t1_p10_us"] <= tflite["latency_b1_t1_p90_us"]).all()
    fp32 = tflite[tflite["chain"] == "baseline/tflite-fp32"]
    assert (fp32["speedup_b1_t1_vs_fp32_tflite"] == 1.0).all()
    assert summary[summary["chain"] == "baseline/tflite-fp32"]["speedup_b1_vs_keras"].notna().all()


def test_gpu_record_says_what_happened(study):
    workdir, _ = study
    gpu = json.loads((workdir / "results" / "bench_gpu.json").read_text())
    if gpu["gpu"] is None:
        assert gpu["status"] == "no GPU on the machine that ran this" and gpu["models"] == []
    else:
        assert gpu["models"] and all(r["median_us"] > 0 for m in gpu["models"] for r in m["results"])


def test_html_report_is_self_contained(study):
    workdir, _ = study
    page = (workdir / "results" / "report.html").read_text()
    assert page.count("data:image/png;base64,") == 8
    assert not re.search(r'src="(?!data:)', page), "every image must be embedded"
    assert "Our numbers beside the survey" in page and "Provenance" in page
    assert "tflite-int8" in page or "int8" in page


def test_second_run_has_nothing_to_do(study):
    workdir, args = study
    result = snakemake(workdir, "-n", *args)
    assert "Nothing to be done" in result.stdout + result.stderr


def test_adding_a_sweep_point_schedules_only_new_jobs(study, tmp_path):
    """A new sparsity level and a new GPU batch size rerun only what they change: every other job's
    params must stay the same (Snakemake reruns a job whose params change)."""
    workdir, args = study
    overlay = tmp_path / "more.yaml"
    overlay.write_text("techniques: {prune: {sparsities: [0.9, 0.95]}}\nbenchmark: {gpu_batch_sizes: [1, 128]}\n")
    # The last --configfile given wins: the tiny config again, with the overlay on top.
    result = snakemake(workdir, "-n", *args, "--configfile", str(TINY), str(overlay))
    outputs = re.findall(r"^\s+output: (.+)$", result.stdout, flags=re.M)
    scheduled = {path.strip() for line in outputs for path in line.split(",")}
    aggregates = {"results/summary.csv", "results/report.html", "results/bench_gpu.json"}
    unexpected = sorted(p for p in scheduled if "prune-s0.95-" not in p and p not in aggregates
                        and not p.startswith(("results/figures/", "results/tables/")))
    assert any("prune-s0.95-block/cluster-c8/tflite-int8-sparse" in p for p in scheduled)
    assert "results/bench_gpu.json" in scheduled
    assert not unexpected, f"jobs rerun without cause: {unexpected}"


def test_rebuilt_baseline_reproduces_accuracy_exactly(study):
    workdir, args = study
    target = workdir / "results/mnist/lenet300_100/seed0/baseline"
    before = json.loads((target / "metrics.json").read_text())["accuracy"]
    rebuilt = workdir / "rebuilt"
    shutil.copytree(workdir, rebuilt, ignore=shutil.ignore_patterns("results", ".snakemake"))
    shutil.copytree(workdir / "results" / "data", rebuilt / "results" / "data")
    snakemake(rebuilt, "results/mnist/lenet300_100/seed0/baseline/metrics.json", *args)
    after = json.loads((rebuilt / "results/mnist/lenet300_100/seed0/baseline/metrics.json").read_text())["accuracy"]
    assert after == before


def test_snakemake_report_builds(study):
    workdir, args = study
    snakemake(workdir, "--report", "report.html", *args)
    assert (workdir / "report.html").stat().st_size > 10000


def test_interrupted_run_keeps_finished_outputs(tmp_path, data_dir):
    workdir = copy_workflow(tmp_path / "interrupt")
    args = ["--cores", "1", "--configfile", str(TINY), "--config", f"data_dir={data_dir}"]
    targets = ["results/mnist/lenet5/seed0/baseline/tflite-fp32/metrics.json",
               "results/mnist/lenet300_100/seed0/baseline/tflite-fp32/metrics.json"]
    process = subprocess.Popen([SNAKEMAKE, *targets, *args],
                               cwd=workdir, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    first = None
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and first is None:
        done = [p for p in (workdir / "results/mnist").rglob("baseline/metrics.json")]
        first = done[0] if done else None
        time.sleep(0.5)
    assert first is not None, "no baseline finished in time"
    time.sleep(1.0)
    os.killpg(process.pid, signal.SIGINT)
    process.wait(timeout=120)
    finished = sorted(str(p.relative_to(workdir)) for p in (workdir / "results/mnist").rglob("metrics.json"))
    dry = snakemake(workdir, *targets, "-n", *args)
    planned = {out.strip() for line in dry.stdout.splitlines() if line.strip().startswith("output:")
               for out in line.strip()[len("output:"):].split(",")}
    assert planned, "the interrupted run must have left work to do"
    for path in finished:
        assert path not in planned, f"{path} would be recomputed"
    snakemake(workdir, *targets, *args)
