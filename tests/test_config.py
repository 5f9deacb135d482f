"""Bad configs fail at start-up, before any job is planned, with a message that names the key."""

import re

import pytest
import yaml

from dnncomp import study_config
from helpers import ROOT, TINY, copy_workflow, snakemake


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return copy_workflow(tmp_path_factory.mktemp("config"))


def dry_run(workdir, overlay: dict):
    path = workdir / "overlay.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return snakemake(workdir, "-n", "--cores", "1", "--configfile", str(TINY), str(path), check=False, timeout=300)


def test_default_and_tiny_configs_are_valid(workdir):
    result = dry_run(workdir, {})
    assert result.returncode == 0, result.stderr[-3000:]


@pytest.mark.parametrize(
    "overlay, expected",
    [
        ({"training": {"defaults": {"epochs": "ten"}}}, ["'ten' is not of type 'integer'", "epochs"]),
        ({"training": {"defaults": {"epochs": -1}}}, ["-1 is less than the minimum of 1", "epochs"]),
        ({"trainig": {}}, ["'trainig' was unexpected"]),
        ({"techniques": {"prune": {"sparsities": []}}}, ["should be non-empty", "sparsities"]),
        ({"study": {"models": ["resnet50"]}}, ["study.models", "resnet50"]),
        ({"chains": [{"chain": "baseline > sharpen"}]}, ["chains[0].chain", "unknown step 'sharpen'"]),
        ({"chains": [{"chain": "baseline > tflite > prune"}]}, ["chains[0].chain", "makes no Keras model"]),
        (
            {"chains": [{"chain": "baseline > prune", "sweep": {"prune": {"levels": [0.5]}}}]},
            ["chains[0].sweep.prune.levels", "not a sweep of 'prune'"],
        ),
        (
            {"chains": [{"chain": "baseline > prune", "sweep": {"prune": {"sparsities": [1.5]}}}]},
            ["1.5 is greater than the maximum"],
        ),
        ({"techniques": {"distill": {"students": ["giant"]}}}, ["techniques.distill.students", "giant"]),
        ({"training": {"overrides": {"imagenet": {"epochs": 3}}}}, ["training.overrides.imagenet"]),
        ({"datasets": {"mnist": {"source": "npz"}}}, ["'path' is a required property"]),
        ({"data_dir": "/no/such/folder"}, ["data_dir: folder '/no/such/folder' does not exist"]),
        ({"benchmark": {"rounds": 0}}, ["0 is less than the minimum of 1", "rounds"]),
        (
            {"techniques": {"prune": {"overrides": {"mnist": {"lr_decay": "step"}}}}},
            ["'step' is not one of ['none', 'cosine']", "lr_decay"],
        ),
    ],
)
def test_bad_config_names_the_problem(workdir, overlay, expected):
    result = dry_run(workdir, overlay)
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output[-3000:]}"
    assert "Building DAG of jobs" not in output, "a bad config must fail while the config is read, before any job"


def test_the_readme_frontier_entries_extend_the_default_study(workdir):
    """The chain entries the README gives for the compression frontier, appended to the default
    config's chains as it says, with its clustering override under `techniques.cluster`, plan their
    longer-recovery, layerwise and self-distilled steps on five and eight seeds."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"append them to\s+`chains`\s+to run them.*?```yaml\n(.*?)```", readme, flags=re.S).group(1)
    cluster = re.search(r"under\s+`techniques.cluster`.*?```yaml\n(.*?)```", readme, flags=re.S).group(1)
    entries = yaml.safe_load(block)
    default = yaml.safe_load((ROOT / "config.yaml").read_text())
    overlay = workdir / "frontier.yaml"
    techniques = {"cluster": yaml.safe_load(cluster)}  # an overlay's mappings merge into config.yaml's
    overlay.write_text(yaml.safe_dump({"chains": default["chains"] + entries, "techniques": techniques}))
    cluster_section = {**default["techniques"]["cluster"], **techniques["cluster"]}
    merged = {**default, "techniques": {**default["techniques"], "cluster": cluster_section}}
    assert study_config.finetune_hparams(merged, "cluster", "cifar10", "lenet5")["epochs"] == 1
    untouched = default["techniques"]["cluster"]["epochs"]
    assert study_config.finetune_hparams(merged, "cluster", "mnist", "lenet5")["epochs"] == untouched
    result = snakemake(workdir, "-n", "--cores", "1", "--configfile", "config.yaml", str(overlay), timeout=300)
    planned = result.stdout
    root = "results/mnist/lenet300_100/seed4/baseline/prune-s0.975-unstructured-x5"
    assert f"{root}/distill-self-T4-a0.5-seed0/cluster-c16/tflite-int8/model.tflite" in planned
    assert f"{root}/cluster-c8/tflite-int8/model.tflite" in planned
    assert "results/mnist/lenet5/seed3/baseline/prune-s0.975-unstructured-x6/cluster-c8/tflite-int8" in planned
    layerwise = "results/cifar10/lenet5/seed7/baseline/prune-s0.90-layerwise-x2"
    assert f"{layerwise}/distill-self-T4-a0.5-seed0/cluster-c16/tflite-int8/model.tflite" in planned
    assert f"{layerwise}/cluster-c16/tflite-int8/model.tflite" in planned
