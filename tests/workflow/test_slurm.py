"""The tiny workflow submitted to a real one-node SLURM cluster with the README's command, verbatim."""

import json
import re
import shlex
import subprocess

import pytest
import yaml
from slurm_cluster import SlurmUnavailable, local_cluster

from helpers import ROOT, SNAKEMAKE, TINY, copy_workflow, snakemake

pytestmark = pytest.mark.slow

SLURM_OVERLAY = TINY.with_name("slurm_config.yaml")
# Site options the README documents for a cluster without an accounting database or accounts.
SITE_OPTIONS = ["--slurm-status-command", "squeue", "--slurm-no-account"]


def readme_slurm_command() -> list:
    """The SLURM command exactly as the README shows it."""
    readme = (ROOT / "README.md").read_text()
    line = re.search(r"^(\.venv/bin/snakemake --workflow-profile profiles/slurm[^\n]*)$", readme, flags=re.M).group(1)
    return [SNAKEMAKE, *shlex.split(line)[1:]]


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    try:
        with local_cluster(tmp_path_factory.mktemp("slurm")) as info:
            yield info
    except SlurmUnavailable as err:
        pytest.skip(str(err))


def records(workdir):
    out = {}
    for path in (workdir / "results").rglob("metrics.json"):
        record = json.loads(path.read_text())
        out[record["path"]] = (record["accuracy"], record["size_bytes"], record["content_sha256"])
    return out


def submitted_jobs() -> dict:
    """rule -> list of `scontrol show job` records (key=value dicts)."""
    lines = subprocess.run(["scontrol", "show", "job", "-o"], capture_output=True, text=True).stdout.splitlines()
    jobs = {}
    for line in lines:
        fields = dict(item.split("=", 1) for item in line.split() if "=" in item)
        rule = fields.get("Comment", "").removeprefix("rule_").split("_wildcards_")[0]
        rule = re.sub(r"_batch\d+$", "", rule)  # post-training batches (tflite_batchN) under their step kind
        jobs.setdefault(rule, []).append(fields)
    return jobs


def run_readme_command(workdir, *extra, check=True, timeout=900):
    command = [*readme_slurm_command(), *SITE_OPTIONS, *extra]
    result = subprocess.run(command, cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"{shlex.join(command)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def test_readme_command_runs_through_slurm_with_the_slurm_settings(cluster, tmp_path, data_dir):
    config_args = ["--configfile", str(TINY), str(SLURM_OVERLAY), "--config", f"data_dir={data_dir}"]
    remote = copy_workflow(tmp_path / "slurm")
    result = run_readme_command(remote, *config_args)
    output = result.stdout + result.stderr
    # Snakemake's log: the SLURM profile alone; its job limit, not the submitting host's cores.
    assert "Using workflow specific profile profiles/slurm" in output, output[-3000:]
    assert "profiles/default" not in output, "the local profile must not reach a cluster run"
    slurm_profile = yaml.safe_load((ROOT / "profiles/slurm/config.yaml").read_text())
    assert f"Provided remote nodes: {slurm_profile['jobs']}" in output
    assert "Provided cores" not in output

    local = copy_workflow(tmp_path / "local")
    snakemake(local, "--cores", "2", *config_args, timeout=900)
    assert records(remote) == records(local), "SLURM and local runs must give the same artefacts"

    jobs = submitted_jobs()
    cores = yaml.safe_load(SLURM_OVERLAY.read_text())["benchmark"]["cores"]
    assert {"baseline", "tflite", "bench_family", "bench_gpu"} <= set(jobs), sorted(jobs)
    for rule, entries in jobs.items():
        for job in entries:
            wants_gpu = "gpu" in job.get("TresPerJob", "") or "gpu" in job.get("TresPerNode", "")
            assert wants_gpu == (rule == "bench_gpu"), f"{rule}: GPU request {job.get('TresPerJob')}"
            expected = cores if rule in ("bench_family", "bench_gpu") else 1
            assert int(job["NumCPUs"]) >= expected and int(job.get("CPUs/Task", expected)) == expected, (
                f"{rule}: asked for {job.get('CPUs/Task')} CPUs per task, config says {expected}"
            )
            exclusive = job.get("OverSubscribe") == "NO"
            assert exclusive == (rule in ("bench_family", "bench_gpu")), (
                f"{rule}: OverSubscribe={job.get('OverSubscribe')}"
            )
    assert (remote / "results" / "report.html").exists()


def test_failed_slurm_job_names_its_log_and_rerun_resubmits_only_what_is_missing(cluster, tmp_path, data_dir):
    workdir = copy_workflow(tmp_path / "fail")
    config_args = ["--configfile", str(TINY), str(SLURM_OVERLAY), "--config", f"data_dir={data_dir}", "--retries", "0"]
    target = "results/mnist/lenet300_100/seed0/baseline/tflite-int8/metrics.json"
    run_readme_command(workdir, "results/mnist/lenet300_100/seed0/baseline/metrics.json", *config_args, timeout=600)
    script = workdir / "scripts" / "tflite.py"
    original = script.read_text()
    script.write_text(original.replace("def main(smk):", "def main(smk):\n    raise ValueError('injected failure')"))
    failed = run_readme_command(workdir, target, *config_args, check=False, timeout=600)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0
    log = "results/logs/mnist/lenet300_100/seed0/baseline/tflite.log"  # the parent's conversion job
    assert log in output
    assert "injected failure" in (workdir / log).read_text()
    script.write_text(original)
    dry = run_readme_command(workdir, target, "-n", *config_args)
    assert "baseline/tflite-int8" in dry.stdout
    assert "rule baseline:" not in dry.stdout, "the finished baseline must not be resubmitted"
    run_readme_command(workdir, target, *config_args, timeout=600)
