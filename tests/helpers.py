"""Running the workflow from tests: a copy of the workflow in a temporary folder, and snakemake."""

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW_FILES = (
    "Snakefile",
    "rules",
    "scripts",
    "schemas",
    "report",
    "envs",
    "config.yaml",
    "frontier.yaml",
    "profiles",
)
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
TINY = ROOT / "tests" / "tiny_config.yaml"


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for name in WORKFLOW_FILES:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(src, dest / name)
    return dest


def snakemake(workdir: Path, *args, timeout=1800, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run([SNAKEMAKE, *args], cwd=workdir, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(
            f"snakemake {' '.join(args)} failed ({result.returncode}):\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


# The toy network and training settings of the unit tests (the `trained` fixture).
HP = {"epochs": 3, "batch_size": 32, "learning_rate": 0.003, "patience": 0}
MLP = {"type": "mlp", "hidden": [32, 16]}
