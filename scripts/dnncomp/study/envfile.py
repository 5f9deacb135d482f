"""The conda environment of every rule, generated from the pinned requirements.txt so that the conda
path (snakemake --sdm conda) and the virtual environment (make setup) install the same versions.

    python -m dnncomp.study.envfile requirements.txt > envs/study.yaml      (run by `make lock`)
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADER = """# Environment of every rule (snakemake --sdm conda). Generated from requirements.txt by
# `make envs/study.yaml`; do not edit by hand (tests/test_environment.py checks the two agree).
channels:
  - conda-forge
  - nodefaults
dependencies:
  - python=3.11
  - pip
  - pip:
"""


def pins(requirements: str) -> list:
    """The `name==version` lines of a pip freeze, without comments or blank lines."""
    lines = [line.split("#", 1)[0].strip() for line in requirements.splitlines()]
    return [line for line in lines if line]


def conda_env(requirements: str) -> str:
    return HEADER + "".join(f"      - {pin}\n" for pin in pins(requirements))


if __name__ == "__main__":
    sys.stdout.write(conda_env(Path(sys.argv[1]).read_text()))
