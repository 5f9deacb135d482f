"""The package's layout: every module lives in a subpackage, and imports run one way, down the layers
that dnncomp/__init__.py describes. A module may import its own subpackage or a lower layer; two
subpackages of the same layer stay independent."""

import ast
from pathlib import Path

from helpers import ROOT

PACKAGE = ROOT / "scripts" / "dnncomp"
# Bottom to top; subpackages on one layer do not import each other.
LAYERS = {"core": 0, "inputs": 1, "techniques": 1, "study": 2, "jobs": 3, "measure": 3, "report": 4}
THIN_SCRIPT_LINES = 80


def subpackage(module: str) -> str | None:
    """'dnncomp.report.html' -> 'report'; 'dnncomp' -> None."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def imported_modules(path: Path, package_root: Path) -> list[tuple[int, str]]:
    """(line, absolute dotted module) for every import of dnncomp in a module, lazy imports included."""
    package = list(path.relative_to(package_root.parent).parts[:-1])  # e.g. ['dnncomp', 'report']
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module.split(".")[0] != package_root.name:
                continue
            if module == package_root.name:  # from dnncomp import chain / from .. import techniques
                found.extend((node.lineno, f"{module}.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, a.name) for a in node.names if a.name.split(".")[0] == package_root.name)
    return found


def violations(package_root: Path, layers: dict) -> list[str]:
    problems = []
    for path in sorted(package_root.rglob("*.py")):
        rel = path.relative_to(package_root)
        if len(rel.parts) == 1:
            if rel.name != "__init__.py":
                problems.append(f"{rel}: a module outside every subpackage")
            continue
        own = rel.parts[0]
        if own not in layers:
            problems.append(f"{rel}: subpackage '{own}' has no layer in LAYERS")
            continue
        for line, module in imported_modules(path, package_root):
            target = subpackage(module)
            if target is None or target == own:
                continue
            if target not in layers:
                problems.append(f"{rel}:{line}: imports {module}, which is in no layer")
            elif layers[target] >= layers[own]:
                problems.append(f"{rel}:{line}: {own} (layer {layers[own]}) imports {module} (layer {layers[target]})")
    return problems


def test_imports_run_down_the_layers():
    assert violations(PACKAGE, LAYERS) == []


def test_the_layers_are_the_package_s_subpackages():
    subpackages = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert subpackages == set(LAYERS)
    described = (PACKAGE / "__init__.py").read_text()
    assert all(f"{name}/" in described for name in LAYERS), "dnncomp/__init__.py describes every subpackage"


def test_the_check_finds_an_upward_and_a_sideways_import(tmp_path):
    root = tmp_path / "dnncomp"
    for sub, body in {
        "core": "from ..report import html\n",  # upward
        "inputs": "from ..techniques import prune\n",  # sideways, same layer
        "report": "from ..core import io\nfrom dnncomp.inputs import data\n",  # fine
        "techniques": "",
    }.items():
        (root / sub).mkdir(parents=True)
        (root / sub / "__init__.py").write_text("")
        (root / sub / "mod.py").write_text(body)
    (root / "__init__.py").write_text("")
    (root / "flat.py").write_text("")
    problems = violations(root, {"core": 0, "inputs": 1, "techniques": 1, "report": 2})
    assert problems == [
        "core/mod.py:1: core (layer 0) imports dnncomp.report (layer 2)",
        "flat.py: a module outside every subpackage",
        "inputs/mod.py:1: inputs (layer 1) imports dnncomp.techniques (layer 1)",
    ]


def test_tests_mirror_the_package():
    """Each subpackage's unit tests sit in a tests folder of the same name."""
    for name in LAYERS:
        assert list((ROOT / "tests" / name).glob("test_*.py")), f"tests/{name}/ has no tests"


def test_rule_scripts_stay_thin():
    """A rule script reads Snakemake's inputs and calls the package; the logic lives in dnncomp."""
    long = {
        p.name: n for p in (ROOT / "scripts").glob("*.py") if (n := len(p.read_text().splitlines())) > THIN_SCRIPT_LINES
    }
    assert long == {}, f"rule scripts over {THIN_SCRIPT_LINES} lines: {long}"
