import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

# A real MNIST subset shipped with the tests (tests/data/README.md); the full copies only where named
# by DNNCOMP_FULL_DATA_DIR (the Makefile passes its DATA_DIR).
TEST_DATA = ROOT / "tests" / "data"
FULL_DATA = os.environ.get("DNNCOMP_FULL_DATA_DIR")


@pytest.fixture(scope="session")
def tf_modules():
    from dnncomp.core.runtime import init_tf

    return init_tf(threads=1, seed=0)


@pytest.fixture(scope="session")
def data_dir():
    """The committed MNIST subset, in the layout data_dir expects (mnist.npz)."""
    return TEST_DATA


@pytest.fixture(scope="session")
def full_data_dir():
    path = Path(FULL_DATA).resolve() if FULL_DATA else None
    if path is None or not (path / "mnist.npz").is_file():
        pytest.skip(
            "needs the full MNIST copy: set DNNCOMP_FULL_DATA_DIR to a folder holding mnist.npz "
            "(make test DATA_DIR=/path does)"
        )
    return path


@pytest.fixture
def tiny_dataset():
    """A small synthetic dataset in the cached form: two easily separable classes of 8x8 images."""
    import numpy as np

    from dnncomp.inputs.data import Dataset

    rng = np.random.default_rng(0)

    def make(n):
        y = rng.integers(0, 2, n).astype(np.uint8)
        x = rng.integers(0, 60, (n, 8, 8, 1)).astype(np.uint8)
        x[y == 1, :4] += 150
        return x, y

    (xt, yt), (xv, yv), (xs, ys) = make(512), make(128), make(256)
    return Dataset(xt, yt, xv, yv, xs, ys, num_classes=2)


@pytest.fixture(scope="session")
def study(tmp_path_factory, data_dir):
    """The whole workflow run once on the tiny config; shared by the end-to-end and browser tests."""
    from helpers import TINY, copy_workflow, snakemake

    workdir = copy_workflow(tmp_path_factory.mktemp("study"))
    args = ["--cores", "2", "--configfile", str(TINY), "--config", f"data_dir={data_dir}"]
    snakemake(workdir, *args)
    return workdir, args


@pytest.fixture
def trained(tf_modules, tiny_dataset):
    """The toy MLP trained on the tiny dataset (a few seconds)."""
    from dnncomp.inputs import models
    from dnncomp.jobs.train import fit
    from helpers import HP, MLP

    _, keras, _ = tf_modules
    keras.utils.set_random_seed(0)
    model = models.build(keras, "toy", MLP, tiny_dataset.input_shape, 2)
    fit(keras, model, tiny_dataset.split("train"), tiny_dataset.split("val"), HP)
    return model
