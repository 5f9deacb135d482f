"""One environment, two ways in: the conda file of every rule is generated from requirements.txt; and
what a job imports from it."""

import os
import re

from dnncomp.study.envfile import conda_env, pins
from helpers import ROOT


def test_conda_environment_matches_the_pinned_requirements():
    expected = conda_env((ROOT / "requirements.txt").read_text())
    assert (ROOT / "envs" / "study.yaml").read_text() == expected, (
        "run `make envs/study.yaml` after changing requirements.txt"
    )


def test_every_requirement_is_pinned():
    for pin in pins((ROOT / "requirements.txt").read_text()):
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[^=\s]+", pin), pin


def test_committed_test_data_matches_its_documented_checksum():
    import hashlib

    readme = (ROOT / "tests" / "data" / "README.md").read_text()
    documented = re.search(r"sha256\*\*: `([0-9a-f]{64})`", readme).group(1)
    assert hashlib.sha256((ROOT / "tests" / "data" / "mnist.npz").read_bytes()).hexdigest() == documented


# A job's TensorFlow start-up, with Keras 3 hidden or not: prune a model a little, convert it, report
# the bytes of the .tflite file and whether Keras 3 was imported.
JOB_STARTUP = """
import hashlib, sys
import numpy as np
from dnncomp.core import runtime
if sys.argv[1] == "shown":
    runtime.hide_keras_3 = lambda: None
tf, keras, tfmot = runtime.init_tf(threads=1, seed=0)
from dnncomp.inputs import models
from dnncomp.techniques import prune
from dnncomp.techniques.quantize import convert
spec = {"type": "mlp", "hidden": [16]}
model = models.build(keras, "mlp", spec, (8, 8, 1), 10)
cfg = {"ramp_fraction": 0.5, "frequency": 1, "block_size": [1, 1]}
model, _ = prune.prune_wrap(tfmot, keras, model, 0.5, "unstructured", 4, cfg)
model.compile(optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
rng = np.random.default_rng(0)
model.fit(rng.random((64, 8, 8, 1), dtype=np.float32), rng.integers(0, 10, 64), batch_size=16, epochs=1,
          verbose=0, callbacks=prune.pruning_callbacks(tfmot))
flat = convert(tf, prune.strip(tfmot, model), "fp32", dense_per_channel=False)
print(hashlib.sha256(flat).hexdigest(), sys.modules.get("keras") is not None)
"""


def test_jobs_skip_keras_3_and_get_the_same_artefacts():
    """Keras 3 comes with TensorFlow; TFMOT and the TFLite converter import it only to find a tf_keras
    model. Hidden, it is never imported, and a pruned model converts to the same bytes as with it."""
    import subprocess
    import sys

    def job(keras_3: str) -> list:
        out = subprocess.run(
            [sys.executable, "-c", JOB_STARTUP, keras_3],
            cwd=ROOT / "scripts",
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
        )
        return out.stdout.split()[-2:]

    hidden, shown = job("hidden"), job("shown")
    assert shown[1] == "True", "the converter no longer imports Keras 3: runtime.hide_keras_3 can go"
    assert hidden == [shown[0], "False"]


def test_litert_quantizer_uses_the_pinned_litert_and_no_second_copy():
    """litert-quantizer pins ai-edge-litert exactly; it must be the version every job runs with."""
    from importlib import metadata

    pinned = [pin for pin in pins((ROOT / "requirements.txt").read_text()) if pin.startswith("ai-edge-litert==")]
    wanted = [r.replace(" ", "") for r in metadata.requires("litert-quantizer") if r.startswith("ai-edge-litert")]
    assert pinned == wanted == [f"ai-edge-litert=={metadata.version('ai-edge-litert')}"]
