"""The tiny workflow submitted to a real one-node SLURM cluster with profiles/slurm."""
import json
import os
import re
import subprocess

import pytest

from helpers import TINY, copy_workflow, snakemake
from slurm_cluster import SlurmUnavailable, local_cluster

SLURM_OVERLAY = TINY.with_name("slurm_config.yaml")
PROFILE_ARGS = ["--profile", "profiles/slurm", "--slurm-status-command", "squeue", "--slurm-no-account",
                "--slurm-init-seconds-before-status-checks", "2", "--slurm-keep-successful-logs", "--jobs", "4",
                "--latency-wait", "10", "--retries", "0"]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("the SLURM test starts daemons and needs root (CI runs as root)")
    try:
        with local_cluster(tmp_path_factory.mktemp("slurm")) as info:
            yield info
    except SlurmUnavailable as err:
        pytest.skip(str(err))


def records(workdir):
    out = {}
    for path in (workdir / "results").rglob("metrics.json"):
        record = json.loads(path.read_text())
        out[record["path"]] = (record["accuracy"], record["size_bytes"])
    return out


def test_workflow_runs_through_slurm_and_matches_a_local_run(cluster, tmp_path, data_dir):
    config_args = ["--configfile", str(TINY), str(SLURM_OVERLAY), "--config", f"data_dir={data_dir}"]
    remote = copy_workflow(tmp_path / "slurm")
    snakemake(remote, *PROFILE_ARGS, *config_args, timeout=900)
    local = copy_workflow(tmp_path / "local")
    snakemake(local, "--cores", "2", *config_args, timeout=900)

    assert records(remote) == records(local), "SLURM and local runs must give the same artefacts"
    ctld = cluster["ctld_log"].read_text()
    completed = set(re.findall(r"_job_complete: JobId=(\d+) WEXITSTATUS 0", ctld))
    # baseline, 2 tflite, 2 bench_cpu, bench_keras, bench_gpu: submitted; data and report rules are local.
    assert len(completed) == 7, ctld[-3000:]
    jobs = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True).stdout.splitlines()
    gpu_jobs = [line for line in jobs if "Comment=rule_bench_gpu" in line]
    assert gpu_jobs and all("gpu" in line.split("TresPerJob=")[-1].split()[0] for line in gpu_jobs), \
        "the GPU benchmark must request a GPU (--gpus=1):\n" + "\n".join(jobs)
    cpu_jobs = [line for line in jobs if "Comment=rule_baseline" in line]
    assert cpu_jobs and not any("gres/gpu" in line for line in cpu_jobs), "CPU rules must not take the GPU"
    log_root = remote / ".snakemake" / "slurm_logs"
    assert {p.relative_to(log_root).parts[0] for p in log_root.rglob("*.log")} >= {"rule_baseline", "rule_bench_gpu"}
    assert (remote / "results" / "report.html").exists()


def test_failed_slurm_job_names_its_log_and_rerun_resubmits_only_what_is_missing(cluster, tmp_path, data_dir):
    workdir = copy_workflow(tmp_path / "fail")
    config_args = ["--configfile", str(TINY), str(SLURM_OVERLAY), "--config", f"data_dir={data_dir}"]
    target = "results/mnist/lenet300_100/seed0/baseline/tflite-int8/metrics.json"
    # Break only the int8 conversion: a representative sample of zero images is rejected by the schema,
    # so corrupt the script instead, after the baseline exists.
    snakemake(workdir, "results/mnist/lenet300_100/seed0/baseline/metrics.json", *PROFILE_ARGS, *config_args, timeout=600)
    script = workdir / "scripts" / "tflite.py"
    original = script.read_text()
    script.write_text(original.replace("def main(smk):", "def main(smk):\n    raise ValueError('injected failure')"))
    failed = snakemake(workdir, target, *PROFILE_ARGS, *config_args, check=False, timeout=600)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    assert "results/logs/mnist/lenet300_100/seed0/baseline/tflite-int8.log" in output
    assert "injected failure" in (workdir / "results/logs/mnist/lenet300_100/seed0/baseline/tflite-int8.log").read_text()
    script.write_text(original)
    dry = snakemake(workdir, target, "-n", *PROFILE_ARGS, *config_args)
    assert "baseline/tflite-int8" in dry.stdout
    assert "rule baseline:" not in dry.stdout, "the finished baseline must not be resubmitted"
    snakemake(workdir, target, *PROFILE_ARGS, *config_args, timeout=600)
