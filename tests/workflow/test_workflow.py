"""End to end on the tiny config (a real MNIST subset, one epoch): every rule runs for real."""

import json
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest

from dnncomp.report import columns as col
from dnncomp.report.layout import FIGURES
from helpers import ROOT, SNAKEMAKE, TINY, copy_workflow, snakemake

pytestmark = pytest.mark.slow


def test_every_record_is_summarized(study):
    workdir, _ = study
    summary = pd.read_csv(workdir / "results" / "summary.csv")
    records = list((workdir / "results").rglob("metrics.json"))
    assert len(summary) == len(records)
    chains = set(summary["chain"])
    for expected in [
        "baseline",
        "baseline/tflite-fp32",
        "baseline/tflite-int8",
        "baseline/wq-b4-channel",
        "baseline/qat-b4",
        "baseline/prune-s0.90-block",
        "baseline/prune-s0.90-block/cluster-c8",
        "baseline/prune-s0.90-block/cluster-c8/tflite-int8-sparse",
        "baseline/distill-mlp32-T4-a0.1-seed1/tflite-int8",
        "baseline/prune-s0.90-block/distill-self-T4-a0.1-seed0",
    ]:
        assert expected in chains
    # From-scratch controls of the distilled student, one per student seed.
    assert len(summary[(summary["model"] == "mlp32") & (summary["chain"] == "baseline")]) == 2


def test_configurations_are_summarized_over_seeds(study):
    workdir, _ = study
    over = pd.read_csv(workdir / "results" / "summary_over_seeds.csv").set_index(["model", "configuration"])
    # The two student seeds are repetitions of one configuration; the teacher ran one seed.
    student = over.loc[("lenet5", "baseline/distill-mlp32-T4-a0.1/tflite-int8")]
    assert student["n"] == 2 and student["accuracy_ci_low"] <= student["accuracy_mean"] <= student["accuracy_ci_high"]
    teacher = over.loc[("lenet5", "baseline")]
    assert teacher["n"] == 1 and pd.isna(teacher["accuracy_ci_low"])
    page = (workdir / "results" / "report.html").read_text()
    assert "configurations over seeds" in page and "(n = 2)" in page


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


def test_frontier_steps_keep_their_structure(study):
    """The layerwise allocation is what the pruned layers got; PCQAT's int8 file keeps the zeros and
    the shared values; 2:4 leaves 2 of every 4 inputs, less where a kernel's input count is not a
    multiple of 4 (TFMOT pads the group)."""
    from dnncomp.core.evaluate import make_interpreter

    workdir, _ = study
    root = workdir / "results/mnist/lenet300_100/seed0/baseline/prune-s0.50-layerwise"
    layerwise = json.loads((root / "metrics.json").read_text())
    targets = layerwise["extra"]["allocation"]["targets"]
    assert set(targets) == set(layerwise["layer_sparsity"]) and max(targets.values()) > min(targets.values())
    for name, target in targets.items():
        assert layerwise["layer_sparsity"][name] == pytest.approx(target, abs=0.02), name
    distilled = json.loads((root / "distill-self-T4-a0.1-seed0/metrics.json").read_text())
    for name, sparsity in layerwise["layer_sparsity"].items():
        assert distilled["layer_sparsity"][name] == pytest.approx(sparsity, abs=1e-3), f"self-distilled {name}"
    pcqat = json.loads((root / "cluster-c8/qat-b8/metrics.json").read_text())
    assert pcqat["extra"]["scheme"] == "8bit-sparsity-cluster-preserving"
    interpreter = make_interpreter((root / "cluster-c8/qat-b8/model.tflite").read_bytes())
    details = interpreter.get_tensor_details()  # a sparse kernel also has a Densify_output of its shape
    (kernel,) = [t for t in details if tuple(t["shape"]) == (300, 784) and not t["name"].startswith("Densify")]
    stored = interpreter.get_tensor(kernel["index"])  # a sparse-encoded tensor gives its stored values
    nonzero = stored[stored != 0]
    assert stored.dtype.name == "int8" and len(set(nonzero.tolist())) <= 8, "8 shared values"
    assert 1 - nonzero.size / (300 * 784) == pytest.approx(targets["fc1"], abs=0.02), "the zeros are kept"
    two_by_four = json.loads(
        (workdir / "results/mnist/lenet5/seed0/baseline/prune-s0.50-2by4/metrics.json").read_text()
    )
    sparsity = two_by_four["layer_sparsity"]
    assert sparsity["conv1"] == 0.0, "one input channel: every group is padded, nothing pruned"
    assert sparsity["conv2"] == pytest.approx(1 / 3, abs=1e-3), "6 input channels: 2 of them pruned"
    assert all(sparsity[name] == 0.5 for name in sparsity if not name.startswith("conv"))


def test_later_steps_chain_on_a_structurally_pruned_model(study):
    """Structured pruning yields an ordinary smaller model: unstructured pruning and self-distillation
    run on it as on any parent and keep its smaller layers."""
    workdir, _ = study
    root = workdir / "results/mnist"

    def record(path):
        return json.loads((root / path / "metrics.json").read_text())

    cut = record("lenet300_100/seed0/baseline/prune-c0.50-l1")
    pruned = record("lenet300_100/seed0/baseline/prune-c0.50-l1/prune-s0.50-unstructured")
    assert pruned["params"] == cut["params"] < record("lenet300_100/seed0/baseline")["params"]
    assert all(s == pytest.approx(0.5, abs=0.02) for s in pruned["layer_sparsity"].values() if s > 0)
    assert record("lenet300_100/seed0/baseline/prune-c0.50-l1/prune-s0.50-unstructured/tflite-int8")["accuracy"] > 0.5
    student = record("lenet5/seed0/baseline/prune-c0.50-l1/distill-self-T4-a0.1-seed0")
    assert student["params"] == record("lenet5/seed0/baseline/prune-c0.50-l1")["params"]


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


def test_gpu_records_say_what_happened(study):
    """One GPU record per family, listing every Keras model of it (QAT models from their weights) where a
    GPU ran them."""
    workdir, _ = study
    qat_dirs = [p.parent for p in (workdir / "results").rglob("metrics.json") if p.parent.name.startswith("qat-")]
    assert qat_dirs and all((d / "qat.weights.h5").is_file() for d in qat_dirs)
    records = sorted((workdir / "results").glob("*/*/seed*/bench_gpu.json"))
    assert len(records) == len(list((workdir / "results").glob("*/*/seed*/bench_cpu.json")))
    for path in records:
        gpu = json.loads(path.read_text())
        assert "dense GPU kernels" in gpu["note"] and "fake-quant" in gpu["note"]
        if gpu["gpu"] is None:
            assert gpu["status"] == "no GPU on the machine that ran this" and gpu["models"] == [], gpu
            assert gpu["reason"]
        else:
            keras = {p.parent for pattern in ("model.keras", "qat.weights.h5") for p in path.parent.rglob(pattern)}
            assert {Path(m["artefact"]).parent for m in gpu["models"]} == keras
            assert all(r["median_us"] > 0 for m in gpu["models"] for r in m["results"])


def test_every_tflite_has_an_energy_estimate(study):
    """Operation counts of every deployable file, priced into an estimate; LeNet-300-100's dense layers
    are 266,200 MACs per image, and a pruned unstructured file (densified by LiteRT) executes them all;
    a structurally pruned one is a smaller network."""
    workdir, _ = study
    summary = pd.read_csv(workdir / "results" / "summary.csv")
    tflite = summary[summary["format"] == "tflite"]
    assert tflite[[col.MACS, col.ENERGY_EST, col.ENERGY_EST_RATIO]].notna().all().all()
    assert (tflite[col.MACS_NONZERO] <= tflite[col.MACS_DENSE]).all()
    assert (tflite[col.MACS] <= tflite[col.MACS_DENSE]).all()
    mlp = tflite[tflite["model"] == "lenet300_100"]
    # Structured pruning removes whole neurons (and input pixels): a smaller network, fewer dense MACs.
    shrunk = mlp["chain"].str.contains(r"/prune-[cm]0\.\d+")
    assert shrunk.any() and (~shrunk).any()
    assert (mlp.loc[~shrunk, col.MACS_DENSE] == 266_200).all()
    assert (mlp.loc[shrunk, col.MACS_DENSE] < 266_200 * 0.6).all(), "half of each layer's neurons kept"
    fp32 = tflite[tflite["chain"] == "baseline/tflite-fp32"]
    assert (fp32[col.ENERGY_EST_RATIO] == 1.0).all()
    int8 = tflite[tflite["chain"] == "baseline/tflite-int8"]
    assert (int8[col.ENERGY_EST_RATIO] > 3).all(), "int8 reads a quarter of float32's weight bytes"
    page = (workdir / "results" / "report.html").read_text()
    assert "An ESTIMATE, not a measurement" in page


def test_html_report_is_self_contained(study):
    workdir, _ = study
    page = (workdir / "results" / "report.html").read_text()
    # The study's figures, and one per-layer sensitivity figure per model (with its allocation table).
    assert page.count("data:image/png;base64,") == len(FIGURES) + 2
    assert "layerwise prune structure would allocate" in page and "at 0.90" in page
    assert not re.search(r'src="(?!data:)', page), "every image must be embedded"
    assert "Does the survey hold?" in page and "The survey's conclusions, one by one" in page
    assert page.index("What to ship") < page.index("Does the survey hold?") < page.index("Provenance")
    assert "tflite-int8" in page or "int8" in page


def test_second_run_has_nothing_to_do(study):
    workdir, args = study
    result = snakemake(workdir, "-n", *args)
    assert "Nothing to be done" in result.stdout + result.stderr


def scheduled_outputs(result) -> set:
    outputs = re.findall(r"^\s+output: (.+)$", result.stdout, flags=re.M)
    return {path.strip() for line in outputs for path in line.split(",")}


def scheduled_rules(result) -> set:
    """Rule names, the post-training batches (tflite_batchN, wq_batchN) under their step kind."""
    names = re.findall(r"^(?:local)?rule (\w+):$", result.stdout, flags=re.M)
    return {re.sub(r"_batch\d+$", "", name) for name in names}


AGGREGATES = {"summarize", "figures", "tables", "cost_account", "html_report", "all"}


def dry_run_with(study, tmp_path, overlay_text):
    workdir, args = study
    overlay = tmp_path / "more.yaml"
    overlay.write_text(overlay_text)
    # The last --configfile given wins: the tiny config again, with the overlay on top.
    return snakemake(workdir, "-n", *args, "--configfile", str(TINY), str(overlay))


def test_adding_a_sweep_point_schedules_only_new_jobs(study, tmp_path):
    """A new sparsity level and a new GPU batch size rerun only what they change: every other job's
    params must stay the same (Snakemake reruns a job whose params change). The family benchmark of
    the pruned model reruns: it times the new artefacts side by side with the others."""
    result = dry_run_with(
        study, tmp_path, "techniques: {prune: {sparsities: [0.9, 0.95]}}\nbenchmark: {gpu_batch_sizes: [1, 128]}\n"
    )
    scheduled = scheduled_outputs(result)
    aggregates = {
        "results/summary.csv",
        "results/summary_over_seeds.csv",
        "results/report.html",
        "results/mnist/lenet300_100/seed0/bench_cpu.json",
    }
    unexpected = sorted(
        p
        for p in scheduled
        if "prune-s0.95-" not in p
        and p not in aggregates
        and not p.endswith("/bench_gpu.json")
        and not p.startswith(("results/figures/", "results/tables/"))
    )
    assert any("prune-s0.95-block/cluster-c8/tflite-int8-sparse" in p for p in scheduled)
    assert any(p.endswith("/bench_gpu.json") for p in scheduled), "a new GPU batch size reruns the GPU benchmarks"
    assert not unexpected, f"jobs rerun without cause: {unexpected}"


def test_a_longer_recovery_budget_is_a_new_treatment_beside_the_default(study, tmp_path):
    """recovery [1, 3] adds "-x3" prune steps (and what follows them); the default budget's paths and
    params stay as they were, so nothing already run reruns."""
    result = dry_run_with(study, tmp_path, "techniques: {prune: {recovery: [1, 3]}}\n")
    scheduled = scheduled_outputs(result)
    longer = "results/mnist/lenet300_100/seed0/baseline/prune-s0.90-block-x3"
    assert f"{longer}/cluster-c8/tflite-int8-sparse/model.tflite" in scheduled
    models = [p for p in scheduled if "/baseline/" in p]
    assert models and all("-x3/" in p for p in models), [p for p in models if "-x3/" not in p]
    rules = scheduled_rules(result) - AGGREGATES
    assert rules <= {"prune", "cluster", "tflite", "lq", "qat", "distill", "bench_family", "bench_gpu"}, rules


def test_a_chain_on_a_new_seed_brings_its_size_reference(study, tmp_path):
    """Compression ratios are against the root's float32 .tflite: a chain on a seed that no
    'baseline > tflite' entry covers still gets that file, so its ratios are not missing."""
    overlay = "chains:\n  - {chain: baseline > prune, models: [lenet300_100], seeds: [1]}\n"
    scheduled = scheduled_outputs(dry_run_with(study, tmp_path, overlay))
    assert "results/mnist/lenet300_100/seed1/baseline/tflite-fp32/model.tflite" in scheduled


def test_adding_a_resolver_reruns_only_tflite_evaluations_and_benchmarks(study, tmp_path):
    """The jobs that evaluate a .tflite rerun, and the benchmarks of what they remake: the QAT job
    evaluates its .tflite, and the GPU benchmark times the QAT model from the weights it rewrites."""
    result = dry_run_with(
        study, tmp_path, "evaluation: {resolvers: [builtin_without_default_delegates, auto, builtin]}\n"
    )
    rules = scheduled_rules(result)
    assert "tflite" in rules and "bench_family" in rules
    reruns = {"tflite", "lq", "lqmix", "qat", "bench_family", "bench_gpu"} | AGGREGATES  # every .tflite evaluation
    assert rules <= reruns, f"rerun without cause: {rules - reruns}"


def test_adding_a_mode_reruns_only_its_parents_conversion_jobs(study, tmp_path):
    """A parent's .tflite files come from one job: a new mode reruns that job (and the benchmarks), no training."""
    result = dry_run_with(study, tmp_path, "techniques: {tflite: {modes: [fp32, int8, fp16]}}\n")
    scheduled = scheduled_outputs(result)
    assert "results/mnist/lenet5/seed0/baseline/tflite-fp16/model.tflite" in scheduled
    assert scheduled_rules(result) <= {"tflite", "bench_family"} | AGGREGATES


TRAINING_TARGETS = {
    "baseline": "results/mnist/lenet300_100/seed0/baseline",
    "prune": "results/mnist/lenet300_100/seed0/baseline/prune-s0.90-block",
    "cluster": "results/mnist/lenet300_100/seed0/baseline/prune-s0.90-block/cluster-c8",
    "qat": "results/mnist/lenet300_100/seed0/baseline/qat-b4",
    "distill": "results/mnist/lenet5/seed0/baseline/distill-mlp32-T4-a0.1-seed1",
    "distill (self, pruned)": "results/mnist/lenet300_100/seed0/baseline/prune-s0.90-block/distill-self-T4-a0.1-seed0",
    "prune (layerwise)": "results/mnist/lenet300_100/seed0/baseline/prune-s0.50-layerwise",
    "distill (self, layerwise)": (
        "results/mnist/lenet300_100/seed0/baseline/prune-s0.50-layerwise/distill-self-T4-a0.1-seed0"
    ),
    "qat (PCQAT)": "results/mnist/lenet300_100/seed0/baseline/prune-s0.50-layerwise/cluster-c8/qat-b8",
    "prune (2:4)": "results/mnist/lenet5/seed0/baseline/prune-s0.50-2by4",
}


def test_every_training_rule_reproduces_its_weights_exactly(study):
    """Same seed and config on CPU: every training rule, rerun, gives bit-identical weights (.tflite
    bytes for QAT). This is what lets the jobs run without TensorFlow's op determinism."""
    workdir, args = study
    rebuilt = workdir.parent / "rebuilt"
    shutil.copytree(workdir, rebuilt, ignore=shutil.ignore_patterns(".snakemake", "report.html"))
    targets = [f"{path}/metrics.json" for path in TRAINING_TARGETS.values()]
    snakemake(rebuilt, "--force", *targets, *args)
    for rule, path in TRAINING_TARGETS.items():
        before = json.loads((workdir / path / "metrics.json").read_text())
        after = json.loads((rebuilt / path / "metrics.json").read_text())
        assert after["provenance"]["time"] != before["provenance"]["time"], f"{rule} was not rerun"
        assert after["content_sha256"] == before["content_sha256"], f"{rule}: rerun changed the weights"
        assert after["accuracy"] == before["accuracy"]


def test_family_benchmark_times_every_artefact_side_by_side(study):
    workdir, _ = study
    family = json.loads((workdir / "results/mnist/lenet300_100/seed0/bench_cpu.json").read_text())
    benchmarked = {entry["chain"] for entry in family["artefacts"] if not entry["guest"]}
    artefacts = {
        str(p.parent.relative_to(workdir / "results/mnist/lenet300_100/seed0"))
        for p in (workdir / "results/mnist/lenet300_100/seed0").rglob("model.tflite")
    }
    assert benchmarked == artefacts | {"baseline"}
    # LeNet-5's distilled students are timed beside LeNet-300-100 too, and the summary carries the ratio.
    guests = {entry["chain"] for entry in family["artefacts"] if entry["guest"]}
    students = {
        str(p.parent.relative_to(workdir / "results"))
        for p in (workdir / "results/mnist/lenet5/seed0/baseline").glob("distill-mlp32-*/tflite-*/model.tflite")
    }
    assert students and guests == students
    summary = pd.read_csv(workdir / "results" / "summary.csv")
    timed = summary[summary["technique"] == "distill>tflite"]
    assert timed[col.speedup_vs_network("lenet300_100")].notna().all()
    assert timed[col.speedup_vs_network("lenet300_100", "auto")].notna().all()
    rounds = family["timing"]["rounds"]
    for entry in family["artefacts"]:
        for result in entry["results"]:
            assert len(result["round_medians_us"]) == rounds
            if entry["engine"] == "litert":
                speedup = result["speedup_vs_fp32_tflite"]
                assert speedup["p10"] <= speedup["median"] <= speedup["p90"]


def test_cost_account_covers_every_rule(study):
    workdir, _ = study
    rules = pd.read_csv(workdir / "results/tables/cost_by_rule.csv")
    stages = pd.read_csv(workdir / "results/tables/cost_by_stage.csv")
    assert {
        "baseline",
        "prune",
        "cluster",
        "qat",
        "distill",
        "tflite",
        "wq",
        "bench_family",
        "teacher_logits",
        "sensitivity",
        "prepare_data",
        "summarize",
    } <= set(rules["rule"])
    total = rules[rules["stage"] == "total"].iloc[0]
    assert total["cpu_s"] > 0 and 0 < total["startup_share"] < 1
    assert abs(stages["cpu_s"].sum() - total["cpu_s"]) < 1e-6 * max(1.0, total["cpu_s"])
    training = rules[rules["rule"] == "baseline"].iloc[0]
    assert 0 < training["startup_share"] < 1 and training["jobs"] == 4


def test_snakemake_report_builds(study):
    workdir, args = study
    snakemake(workdir, "--report", "report.html", *args)
    assert (workdir / "report.html").stat().st_size > 10000


def test_corrupt_dataset_fails_fast_naming_the_file(tmp_path):
    workdir = copy_workflow(tmp_path / "corrupt")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "mnist.npz").write_bytes((ROOT / "tests/data/mnist.npz").read_bytes()[:5000])
    result = snakemake(
        workdir,
        "results/data/mnist.npz",
        "--cores",
        "1",
        "--configfile",
        str(TINY),
        "--config",
        f"data_dir={data_dir}",
        check=False,
        timeout=300,
    )
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert f"Error in the config: {data_dir / 'mnist.npz'} is not a valid .npz archive" in output  # at start-up
    assert "Traceback" not in output and not (workdir / "results/logs/data/mnist.log").exists()
    assert not (workdir / "results/data/mnist.npz").exists()
    assert not list((workdir / "results/data").glob(".mnist.npz.*")), "no temporary file may be left"


# ----------------------------------------------------------------------------- interruption

BASELINES = [
    "results/mnist/lenet300_100/seed0/baseline/metrics.json",
    "results/mnist/lenet5/seed0/baseline/metrics.json",
]


def start_until_second_job_runs(workdir, args):
    """Start two baseline jobs one at a time; return once the first has finished and the second is
    known to be running (its log exists: a job opens its log before importing TensorFlow, which alone
    takes seconds, so it is still running when the signal arrives)."""
    # A shell that starts a command in the background (as a CI runner may) makes it ignore SIGINT, and
    # the ignore is inherited: give Snakemake the default disposition so that it sees the interrupt.
    process = subprocess.Popen(
        [SNAKEMAKE, *BASELINES, *args],
        cwd=workdir,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    logs = {
        target: workdir / target.replace("results/", "results/logs/").replace("/baseline/metrics.json", "/baseline.log")
        for target in BASELINES
    }
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        done = [t for t in BASELINES if (workdir / t).exists()]
        if len(done) == 1:
            running = next(t for t in BASELINES if t not in done)
            if logs[running].exists():
                return process, done[0], running
        assert process.poll() is None, "snakemake ended before the second job started"
        time.sleep(0.1)
    raise AssertionError("the first baseline did not finish in time")


def planned_after(workdir, args) -> set:
    return scheduled_outputs(snakemake(workdir, *BASELINES, "-n", *args))


def check_resume(workdir, args, finished, interrupted):
    planned = planned_after(workdir, args)
    assert interrupted in planned, "the interrupted job must be redone"
    assert finished not in planned, f"{finished} would be recomputed"
    snakemake(workdir, *BASELINES, *args)
    for target in BASELINES:
        record = json.loads((workdir / target).read_text())
        assert 0 < record["accuracy"] <= 1 and len(record["content_sha256"]) == 64
    leftovers = [p for p in (workdir / "results").rglob(".*") if p.is_file()]
    assert not leftovers, f"temporary files left behind: {leftovers}"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGKILL], ids=["SIGINT", "kill -9"])
def test_stopped_run_keeps_finished_outputs(tmp_path, data_dir, stop):
    """SIGINT lets Snakemake clean up; kill -9 of Snakemake and its job does not. Either way nothing
    half-written is taken for done, and the same command resumes where the run stopped."""
    workdir = copy_workflow(tmp_path / "stopped")
    args = ["--cores", "1", "--configfile", str(TINY), "--config", f"data_dir={data_dir}"]
    process, finished, running = start_until_second_job_runs(workdir, args)
    os.killpg(process.pid, stop)
    process.wait(timeout=120)
    assert not (workdir / running).exists()
    if stop == signal.SIGKILL:
        # Snakemake's lock outlives a kill -9: the next run refuses and says how to recover.
        refused = snakemake(workdir, *BASELINES, *args, check=False)
        assert refused.returncode != 0 and "--unlock" in refused.stdout + refused.stderr
        snakemake(workdir, *BASELINES, "--unlock", *args)
    check_resume(workdir, args, finished, running)
