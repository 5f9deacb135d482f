"""One environment, two ways in: the conda file of every rule is generated from requirements.txt."""

import re
from pathlib import Path

from dnncomp.envfile import conda_env, pins

ROOT = Path(__file__).resolve().parents[1]


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
