import subprocess
import sys
from pathlib import Path

import pytest

from helpers import ROOT, snakemake

BIN = Path(sys.executable).parent


def test_snakemake_lint_is_clean():
    result = snakemake(ROOT, "--lint", check=False, timeout=300)
    output = result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in output, output[-5000:]


@pytest.mark.parametrize(
    "command",
    [
        ["ruff", "check", "scripts", "tests"],
        ["ruff", "format", "--check", "scripts", "tests"],
        ["snakefmt", "--check", "Snakefile", "rules"],
    ],
    ids=["ruff-check", "ruff-format", "snakefmt"],
)
def test_code_style_is_clean(command):
    """The settings live in pyproject.toml; `make lint` runs the same commands."""
    result = subprocess.run(
        [str(BIN / command[0]), *command[1:]], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (result.stdout + result.stderr)[-5000:]
