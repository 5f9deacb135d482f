"""Adding a technique is five files: its package module (with its step declaration), its rule file,
its thin script, its schema section and its config section. This test adds one, low-rank
factorization of Dense kernels, to a copy of the workflow, checks that nothing else changed, that the
default study schedules it, and runs it for real."""

import json
import textwrap

import numpy as np
import pytest
import yaml

from helpers import ROOT, TINY, WORKFLOW_FILES, copy_workflow, snakemake

MODULE = '''
"""Low-rank factorization: each Dense kernel replaced by its best rank-r approximation (truncated SVD)."""

import numpy as np

from ..core.stepkind import Param, StepKind

STEP_KINDS = {
    "lowrank": StepKind("lowrank-r{rank}", {"rank": Param(r"\\d+", int, sweep="ranks")}, rules="rules/lowrank.smk"),
}


def truncate(keras, model, rank: int):
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            kernel, *rest = layer.get_weights()
            u, s, vt = np.linalg.svd(kernel, full_matrices=False)
            layer.set_weights([(u[:, :rank] * s[:rank]) @ vt[:rank], *rest])
    return model
'''

RULES = """
rule lowrank:
    input:
        unpack(parent_inputs),
    output:
        model="results/{chain}/lowrank-r{rank}/model.keras",
        metrics="results/{chain}/lowrank-r{rank}/metrics.json",
    log:
        "results/logs/{chain}/lowrank-r{rank}.log",
    benchmark:
        "results/benchmarks/{chain}/lowrank-r{rank}.tsv"
    conda:
        "../envs/study.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    params:
        evaluation=evaluation_params(),
    script:
        "../scripts/lowrank.py"
"""

SCRIPT = '''
"""Rule lowrank: the parent with every Dense kernel at rank r."""

from dnncomp.jobs.job import Job, run
from dnncomp.techniques import lowrank


def main(smk):
    job = Job(smk)
    rank = int(smk.wildcards.rank)
    job.finish_keras(lowrank.truncate(job.keras, job.load_parent(), rank), extra={"rank": rank})


run(main, snakemake)  # noqa: F821
'''


def add_lowrank(workdir):
    (workdir / "scripts/dnncomp/techniques/lowrank.py").write_text(textwrap.dedent(MODULE).lstrip())
    (workdir / "rules/lowrank.smk").write_text(textwrap.dedent(RULES).lstrip())
    (workdir / "scripts/lowrank.py").write_text(textwrap.dedent(SCRIPT).lstrip())
    schema_path = workdir / "schemas/config.schema.yaml"
    schema = yaml.safe_load(schema_path.read_text())
    schema["properties"]["techniques"]["properties"]["lowrank"] = {
        "type": "object",
        "additionalProperties": False,
        "properties": {"ranks": {"type": "array", "minItems": 1, "items": {"type": "integer", "minimum": 1}}},
    }
    schema["properties"]["chains"]["items"]["properties"]["sweep"]["propertyNames"]["enum"].append("lowrank")
    schema_path.write_text(yaml.safe_dump(schema, sort_keys=False))
    config_path = workdir / "config.yaml"
    config = yaml.safe_load(config_path.read_text())
    config["techniques"]["lowrank"] = {"ranks": [8, 32]}
    config["chains"].append({"chain": "baseline > lowrank", "seeds": [0]})
    config_path.write_text(yaml.safe_dump(config, sort_keys=False))


def changed_files(workdir) -> set:
    def tree(root):
        files = {}
        for name in WORKFLOW_FILES:
            paths = [root / name] if (root / name).is_file() else (root / name).rglob("*")
            paths = [p for p in paths if p.is_file() and "__pycache__" not in p.parts]
            files.update({p.relative_to(root): p.read_bytes() for p in paths})
        return files

    before, after = tree(ROOT), tree(workdir)
    return {str(path) for path in before.keys() | after.keys() if before.get(path) != after.get(path)}


@pytest.mark.slow
def test_a_new_technique_is_five_files(tmp_path, data_dir, tf_modules):
    workdir = copy_workflow(tmp_path / "wf")
    add_lowrank(workdir)
    assert changed_files(workdir) == {
        "scripts/dnncomp/techniques/lowrank.py",
        "rules/lowrank.smk",
        "scripts/lowrank.py",
        "schemas/config.schema.yaml",
        "config.yaml",
    }
    # The default study now schedules it: 2 ranks x 2 datasets x 2 models, one seed.
    plan = snakemake(workdir, "-n").stdout  # plans without data: a data_dir would have to hold both datasets
    assert any(line.split() == ["lowrank", "8"] for line in plan.splitlines()), plan[-3000:]
    # ...and it runs: on the tiny config, through the parent baseline.
    out = "results/mnist/lenet300_100/seed0/baseline/lowrank-r32"
    tiny = ["--configfile", str(TINY), "--config", f"data_dir={data_dir}"]
    snakemake(workdir, f"{out}/metrics.json", "--cores", "2", *tiny)  # targets before --config's values
    record = json.loads((workdir / out / "metrics.json").read_text())
    assert record["chain"] == "baseline/lowrank-r32" and record["technique"] == "lowrank"
    assert record["steps"][-1] == {"kind": "lowrank", "params": {"rank": 32}}
    # Evaluated on the test split like every other artefact (untuned truncation of a one-epoch model
    # loses much of its accuracy: the number is real, not a property this test asserts).
    assert 0.0 <= record["accuracy"] <= 1.0 and record["parent_accuracy"] > 0.5
    _, keras, _ = tf_modules
    model = keras.models.load_model(workdir / out / "model.keras", compile=False)
    kernels = [layer.get_weights()[0] for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert kernels and all(np.linalg.matrix_rank(kernel) <= 32 for kernel in kernels)
