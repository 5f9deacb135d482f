"""Bad configs fail at start-up, before any job is planned, with a message that names the key."""

import re

import numpy as np
import pytest
import yaml

from dnncomp.study import config as study_config
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
        ({"trainig": {}}, ["config: unknown key(s) ['trainig'] (allowed: ", "training"]),
        (
            {"training": {"defaults": {"patiense": 2}}},
            ["training.defaults: unknown key(s) ['patiense'] (allowed: batch_size, epochs, learning_rate, patience"],
        ),
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
        (
            {"datasets": {"mnist": {"source": "npz", "path": "/no/such/mnist.npz"}}},
            ["datasets.mnist.path: file /no/such/mnist.npz does not exist"],
        ),
        (
            {"datasets": {"mnist": {"source": "idx", "path": "/no/such/folder"}}},
            ["datasets.mnist.path: folder /no/such/folder does not exist"],
        ),
        ({"benchmark": {"rounds": 0}}, ["0 is less than the minimum of 1", "rounds"]),
        (
            {"chains": [{"chain": "baseline > lq", "sweep": {"lq": {"recipes": ["int3"]}}}]},
            [
                "chains[0].sweep.lq: recipes: unknown recipe(s) ['int3']",
                "litert-quantizer recipes: weight_only_wi4_afp32",
            ],
        ),
        (
            {"chains": [{"chain": "baseline > structured", "sweep": {"structured": {"kept": [1.0]}}}]},
            ["techniques.structured.kept[0]: 1.0 is greater than or equal to the maximum of 1"],
        ),
        (
            {"techniques": {"structured": {"kept": [0]}}},
            ["techniques.structured.kept", "less than or equal to the minimum of 0"],
        ),
        (
            {"techniques": {"structured": {"criteria": ["taylor"]}}},
            ["techniques.structured.criteria", "'taylor' is not one of ['l1', 'l2', 'bn', 'slim']"],
        ),
        (
            {"techniques": {"structured": {"layers": {"conv1": 1.5}}}},
            ["techniques.structured.layers.conv1: 1.5 is greater than the maximum of 1"],
        ),
        (
            {"techniques": {"prune": {"overrides": {"mnist": {"lr_decay": "step"}}}}},
            ["'step' is not one of ['none', 'cosine']", "lr_decay"],
        ),
    ],
)
def test_bad_config_names_the_problem(workdir, overlay, expected):
    result = dry_run(workdir, overlay)
    assert_one_line_error(result, expected)


def assert_one_line_error(result, expected):
    output = result.stdout + result.stderr
    assert result.returncode != 0
    for text in expected:
        assert text in output, f"{text!r} not in:\n{output[-3000:]}"
    assert "Building DAG of jobs" not in output, "a bad config must fail while the config is read, before any job"
    assert "Traceback" not in output and 'File "' not in output, f"a user's mistake prints no traceback:\n{output}"
    assert len([line for line in output.splitlines() if line.startswith("Error in the config: ")]) == 1


def test_dataset_files_are_checked_at_start_up(workdir, tmp_path):
    """A dataset file in the wrong layout fails while the config is read, naming the key and the file."""
    corrupt = tmp_path / "corrupt.npz"
    corrupt.write_bytes(b"not a zip archive")
    partial = tmp_path / "partial.npz"
    np.savez(partial, x_train=np.zeros((2, 4, 4), np.uint8), y_train=np.zeros(2, np.uint8))
    idx = tmp_path / "idx"
    idx.mkdir()
    empty_data_dir = tmp_path / "empty"
    empty_data_dir.mkdir()
    for overlay, expected in [
        ({"datasets": {"mnist": {"source": "npz", "path": str(corrupt)}}}, [f"datasets.mnist.path: {corrupt} is not"]),
        ({"datasets": {"mnist": {"source": "npz", "path": str(partial)}}}, ["lacks arrays ['x_test', 'y_test']"]),
        ({"datasets": {"mnist": {"source": "idx", "path": str(idx)}}}, [f"IDX dataset folder {idx} lacks"]),
        ({"data_dir": str(empty_data_dir)}, [f"data_dir {empty_data_dir} holds no copy of mnist"]),
    ]:
        assert_one_line_error(dry_run(workdir, overlay), expected)


def test_the_frontier_study_adds_its_chains_to_the_default_ones(workdir):
    """frontier.yaml passes the start-up checks, keeps every default chain and adds its own: the
    longer-recovery, layerwise and self-distilled steps on five and eight seeds, and the curves; the
    documented clustering override applies to its pair alone."""
    readme = (ROOT / "docs" / "design.md").read_text()
    cluster = re.search(r"under\s+`techniques.cluster`.*?```yaml\n(.*?)```", readme, flags=re.S).group(1)
    default = yaml.safe_load((ROOT / "config.yaml").read_text())
    techniques = {"cluster": yaml.safe_load(cluster)}  # an overlay's mappings merge into config.yaml's
    cluster_section = {**default["techniques"]["cluster"], **techniques["cluster"]}
    merged = {**default, "techniques": {**default["techniques"], "cluster": cluster_section}}
    assert study_config.finetune_hparams(merged, "cluster", "cifar10", "lenet5")["epochs"] == 1
    untouched = default["techniques"]["cluster"]["epochs"]
    assert study_config.finetune_hparams(merged, "cluster", "mnist", "lenet5")["epochs"] == untouched
    result = snakemake(workdir, "-n", "--cores", "1", "--configfile", "config.yaml", "frontier.yaml", timeout=300)
    planned = result.stdout
    root = "results/mnist/lenet300_100/seed4/baseline/prune-s0.975-unstructured-x5"
    assert f"{root}/distill-self-T4-a0.5-seed0/cluster-c16/tflite-int8/model.tflite" in planned
    assert f"{root}/cluster-c8/tflite-int8/model.tflite" in planned
    assert "results/mnist/lenet5/seed3/baseline/prune-s0.975-unstructured-x6/cluster-c8/tflite-int8" in planned
    layerwise = "results/cifar10/lenet5/seed7/baseline/prune-s0.90-layerwise-x2"
    assert f"{layerwise}/distill-self-T4-a0.5-seed0/cluster-c16/tflite-int8/model.tflite" in planned
    assert f"{layerwise}/cluster-c16/tflite-int8/model.tflite" in planned
    assert "results/mnist/lenet300_100/seed4/baseline/prune-c0.25-l1/tflite-int8/model.tflite" in planned
    assert "results/mnist/lenet5/seed0/baseline/prune-s0.50-block/tflite-int8-sparse/model.tflite" in planned
    # ...and every default chain stays: the default study's own dry run plans a subset of it.
    default_plan = snakemake(workdir, "-n", "--cores", "1", timeout=300).stdout
    outputs = planned_outputs(default_plan)
    assert len(outputs) > 500 and outputs < planned_outputs(planned)


def planned_outputs(dry_run: str) -> set:
    """Every output file a dry run plans (a post-training batch lists several per job, batched
    differently when a chain adds modes to the same parent)."""
    return {path for line in re.findall(r"^    output: (.*)$", dry_run, flags=re.M) for path in line.split(", ")}


def test_a_job_that_meets_bad_input_shows_one_line_and_no_traceback(workdir, tmp_path):
    """Image shapes are known only once the arrays are read (in prepare_data, before any training):
    the console and the job log show the one line that names the dataset and the shape."""
    flat = tmp_path / "flat.npz"
    images, labels = np.zeros((20, 784), np.uint8), np.arange(20, dtype=np.uint8) % 10
    np.savez(flat, x_train=images, y_train=labels, x_test=images, y_test=labels)
    overlay = workdir / "flat.yaml"
    overlay.write_text(yaml.safe_dump({"datasets": {"mnist": {"source": "npz", "path": str(flat)}}}))
    result = snakemake(
        workdir, "--cores", "1", "results/data/mnist.npz", "--configfile", str(TINY), str(overlay), check=False
    )
    output = result.stdout + result.stderr
    message = "ERROR in rule prepare_data: mnist: x_train has shape (20, 784), expected (N, H, W) or (N, H, W, C)"
    assert result.returncode != 0 and message in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    assert (workdir / "results/logs/data/mnist.log").read_text().strip() == message


def test_model_files_are_read_at_start_up(workdir, tmp_path):
    """A missing model file stops the run; a model the study cannot take (here a Lambda layer) is left
    out with its reason while the rest of the study is planned; asking for its output fails with it."""
    from dnncomp.core.runtime import keras_3

    k = keras_3()
    i = k.Input((28, 28, 1))
    k.Model(i, k.layers.Dense(10)(k.layers.Flatten()(k.layers.Lambda(lambda t: t, name="code")(i)))).save(
        tmp_path / "lambda.keras"
    )
    missing = {"architectures": {"mine": {"type": "keras", "path": str(tmp_path / "nope.keras")}}}
    assert_one_line_error(
        dry_run(workdir, {**missing, "study": {"models": ["mine"]}}),
        [f"Error in the config: architectures.mine: file {tmp_path}/nope.keras does not exist"],
    )
    overlay = {
        "architectures": {"mine": {"type": "keras", "path": str(tmp_path / "lambda.keras")}},
        "study": {"models": ["lenet5", "mine"]},
    }
    planned = dry_run(workdir, overlay)
    why = "architectures.mine: layer 'code' is a Lambda layer, refused: it holds Python code"
    assert planned.returncode == 0, planned.stderr[-3000:]
    assert f"Left out of the study: {why}" in planned.stderr
    assert "results/mnist/lenet5/seed0/baseline/model.keras" in planned.stdout
    assert "/mine/" not in planned.stdout
    path = workdir / "overlay.yaml"
    asked = snakemake(
        workdir,
        "-n",
        "results/mnist/mine/seed0/baseline/metrics.json",
        "--configfile",
        str(TINY),
        str(path),
        check=False,
        timeout=300,
    )
    output = asked.stdout + asked.stderr
    assert asked.returncode != 0 and f"Error: {why}" in output and "Traceback" not in output, output[-3000:]
