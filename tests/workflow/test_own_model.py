"""A user's own Keras 3 model and a folder of their own images, through the workflow: every technique
on the file model (trained: true), the same file trained from scratch (trained: false), a model with a
Lambda layer left out while the rest runs, and a folder dataset at another input size."""

import json

import numpy as np
import pytest
import yaml
from PIL import Image

from helpers import TINY, copy_workflow, snakemake

pytestmark = pytest.mark.slow


def keras3_model(path):
    """Conv2D + BatchNormalization, a DepthwiseConv2D with ReLU6 on a residual branch, softmax output."""
    from dnncomp.core.runtime import keras_3

    k = keras_3()
    k.utils.set_random_seed(0)
    i = k.Input((28, 28, 1))
    x = k.layers.Rescaling(1 / 255.0)(i)
    x = k.layers.Conv2D(8, 3, padding="same", use_bias=False)(x)
    x = k.layers.BatchNormalization()(x)
    x = k.layers.ReLU()(x)
    x = k.layers.MaxPooling2D()(x)
    r = k.layers.DepthwiseConv2D(3, padding="same", activation="relu6")(x)
    r = k.layers.Conv2D(8, 1)(r)
    x = k.layers.Add()([x, r])
    x = k.layers.Flatten()(x)
    model = k.Model(i, k.layers.Dense(10, activation="softmax")(x), name="users_net")
    data = np.load(TINY.parent / "data" / "mnist.npz")
    model.compile("adam", "sparse_categorical_crossentropy")
    model.fit(data["x_train"][..., None].astype("float32"), data["y_train"], epochs=1, verbose=0)
    model.save(path)
    lam = k.Model(i, k.layers.Dense(10)(k.layers.Flatten()(k.layers.Lambda(lambda t: t, name="code")(i))))
    lam.save(path.with_name("lambda.keras"))


def image_folder(root):
    """Three MNIST classes exported as 20x20 PNGs, read back at 24x24."""
    data = np.load(TINY.parent / "data" / "mnist.npz")
    for split, count in (("train", 60), ("test", 20)):
        x, y = data[f"x_{split}"], data[f"y_{split}"]
        for digit in (0, 1, 7):
            folder = root / split / f"digit{digit}"
            folder.mkdir(parents=True)
            for i in np.flatnonzero(y == digit)[:count]:
                Image.fromarray(x[i]).resize((20, 20)).save(folder / f"{i}.png")


@pytest.fixture(scope="module")
def own_study(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("own")
    keras3_model(root / "users_net.keras")
    image_folder(root / "digits")
    overlay = {
        "datasets": {
            "digits": {"source": "folder", "path": str(root / "digits"), "image_size": [24, 24], "channels": 1}
        },
        "architectures": {
            "users_net": {"type": "keras", "path": str(root / "users_net.keras")},
            "users_arch": {"type": "keras", "path": str(root / "users_net.keras"), "trained": False},
            "coded": {"type": "keras", "path": str(root / "lambda.keras")},
        },
        "study": {"datasets": ["mnist"], "models": ["users_net", "coded"], "seeds": [0]},
        "chains": [
            {"chain": "baseline > tflite", "sweep": {"tflite": {"modes": ["fp32", "int8", "dynamic"]}}},
            {"chain": "baseline > wq"},
            {"chain": "baseline > qat"},
            {"chain": "baseline > prune > cluster > tflite", "sweep": {"tflite": {"modes": ["int8-sparse"]}}},
            {
                "chain": "baseline > prune > cluster > qat",
                "sweep": {"prune": {"sparsities": [0.5], "structures": ["layerwise"]}, "qat": {"bits": [8]}},
            },
            {"chain": "baseline > prune", "sweep": {"prune": {"sparsities": [0.5], "structures": ["2by4"]}}},
            {"chain": "baseline > distill > tflite", "sweep": {"tflite": {"modes": ["int8"]}}},
            {"chain": "baseline > prune > distill", "sweep": {"distill": {"students": ["self"], "seeds": [0]}}},
            {"chain": "baseline > lq", "sweep": {"lq": {"recipes": ["dynamic_wi4_afp32"]}}},
            {  # whole channels out of the residual, depthwise model: BN gamma ranks them
                "chain": "baseline > structured > tflite",
                "sweep": {"structured": {"criteria": ["bn"]}, "tflite": {"modes": ["int8"]}},
            },
            {"chain": "baseline > tflite", "models": ["users_arch"], "sweep": {"tflite": {"modes": ["fp32"]}}},
            {
                "chain": "baseline > tflite",
                "datasets": ["digits"],
                "models": ["lenet300_100"],
                "sweep": {"tflite": {"modes": ["int8"]}},
            },
        ],
    }
    (root / "own.yaml").write_text(yaml.safe_dump(overlay))
    workdir = copy_workflow(root / "workflow")
    result = snakemake(
        workdir, "--cores", "2", "--configfile", str(TINY), str(root / "own.yaml"), "--config", f"data_dir={data_dir}"
    )
    return workdir, result.stdout + result.stderr


def record(workdir, chain):
    return json.loads((workdir / "results" / chain / "metrics.json").read_text())


def test_the_file_model_is_imported_with_its_outputs_checked(own_study):
    workdir, _ = own_study
    baseline = record(workdir, "mnist/users_net/seed0/baseline")
    imported = baseline["extra"]["imported"]
    assert imported["saved_by"].startswith("keras 3") and imported["softmax_removed"]
    assert imported["check"]["passed"] and imported["check"]["max_abs_diff"] <= 1e-5
    assert "imported" not in record(workdir, "mnist/users_arch/seed0/baseline")["extra"]  # trained: false trains
    log = (workdir / "results/logs/mnist/users_net/seed0/baseline.log").read_text()
    assert log.startswith("TensorFlow ") and "users_net: imported from" in log


def test_every_technique_runs_on_it(own_study):
    workdir, _ = own_study
    root = "mnist/users_net/seed0/baseline"
    for chain in [
        "tflite-fp32",
        "tflite-int8",
        "tflite-dynamic",
        "wq-b4-channel",
        "qat-b4",
        "prune-s0.90-block/cluster-c8/tflite-int8-sparse",
        "prune-s0.50-layerwise/cluster-c8/qat-b8",
        "prune-s0.50-2by4",
        "distill-mlp32-T4-a0.1-seed0/tflite-int8",
        "prune-s0.90-block/distill-self-T4-a0.1-seed0",
        "lq-dynamic_wi4_afp32",
        "prune-c0.50-bn/tflite-int8",
    ]:
        assert record(workdir, f"{root}/{chain}")["accuracy"] >= 0.0, chain
    assert (workdir / f"results/{root}/sensitivity.json").is_file()
    bench = json.loads((workdir / "results/mnist/users_net/seed0/bench_cpu.json").read_text())
    assert len(bench["artefacts"]) >= 7  # every .tflite of the family, timed side by side
    summary = (workdir / "results/summary.csv").read_text()
    assert "users_net" in summary and "users_net" in (workdir / "results/report.html").read_text()


def test_structured_pruning_shrinks_the_residual_depthwise_model(own_study):
    """The stem convolution and the 1x1 convolution after the depthwise layer feed one Add: they lose
    the same channels, and the depthwise layer between follows the stem."""
    workdir, _ = own_study
    root = "mnist/users_net/seed0/baseline"
    pruned, parent = record(workdir, f"{root}/prune-c0.50-bn"), record(workdir, root)
    assert pruned["params"] < parent["params"]
    rounds = pruned["extra"]["structured"]["rounds"]
    tied = [g for g in rounds[0]["groups"] if len(g["layers"]) == 2]
    assert len(tied) == 1 and tied[0]["kept"] == tied[0]["channels"] // 2, rounds[0]["groups"]
    kept = rounds[0]["layers"]
    depthwise = [name for name in kept if "depthwise" in name]
    assert depthwise and kept[depthwise[0]] == [tied[0]["kept"]] * 2


def test_the_shipped_files_give_probabilities_like_the_users_model(own_study):
    from dnncomp.core.evaluate import make_interpreter, tflite_logits

    workdir, _ = own_study
    root = workdir / "results/mnist/users_net/seed0/baseline"
    assert record(workdir, "mnist/users_net/seed0/baseline/tflite-fp32")["extra"]["output"] == "probabilities"
    interpreter = make_interpreter((root / "tflite-fp32/model.tflite").read_bytes())
    x = np.load(workdir / "results/data/mnist.npz")["x_test"][:8]
    out = tflite_logits(interpreter, x)
    assert np.allclose(out.sum(axis=1), 1.0, atol=1e-5) and (out >= 0).all()
    assert record(workdir, "digits/lenet300_100/seed0/baseline/tflite-int8")["extra"]["output"] == "logits"


def test_a_model_the_study_cannot_take_is_left_out_and_the_rest_runs(own_study):
    workdir, output = own_study
    assert "Left out of the study: architectures.coded: layer 'code' is a Lambda layer, refused" in output
    assert not (workdir / "results/mnist/coded").exists()


def test_a_folder_dataset_runs_at_its_own_input_size(own_study):
    workdir, _ = own_study
    baseline = record(workdir, "digits/lenet300_100/seed0/baseline")
    assert baseline["extra"]["class_names"] == ["digit0", "digit1", "digit7"]
    assert record(workdir, "digits/lenet300_100/seed0/baseline/tflite-int8")["accuracy"] > 0.6
    assert np.load(workdir / "results/data/digits.npz")["x_train"].shape[1:] == (24, 24, 1)
