"""The job runtime (dnncomp.jobs.job): saving artefacts, and what a user sees when a job fails."""


def test_saved_keras_model_keeps_weights_but_not_the_optimizer(tf_modules, trained, tmp_path):
    import zipfile

    import h5py

    from dnncomp.jobs.job import save_keras, weights_sha256

    _, keras, _ = tf_modules
    path = tmp_path / "model.keras"
    save_keras(trained, path)
    assert trained.optimizer is not None  # the trained model stays compiled
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as handle, h5py.File(handle) as weights:
        stored = []
        weights.visit(stored.append)
    assert stored and not [name for name in stored if "optimizer" in name]
    assert weights_sha256(keras.models.load_model(path, compile=False)) == weights_sha256(trained)


def run_job(tmp_path, body: str):
    """A rule script's main() run through dnncomp.jobs.job.run in its own process (run() sends the
    process's output to the log), with a stand-in for Snakemake's object."""
    import subprocess
    import sys
    import textwrap

    from helpers import ROOT

    log = tmp_path / "rule.log"
    code = textwrap.dedent(f"""
        from types import SimpleNamespace
        from dnncomp.core.errors import ConfigError
        from dnncomp.jobs.job import run

        def main(smk):
        {textwrap.indent(textwrap.dedent(body), "    ")}
        run(main, SimpleNamespace(log=[{str(log)!r}], rule="toy"))
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT / "scripts", capture_output=True, timeout=60)
    return result.returncode, log.read_text()


def test_bad_input_ends_the_job_with_one_line_and_no_traceback(tmp_path):
    code, log = run_job(tmp_path, "print('working'); raise ConfigError('energy.pj_per_op.add has no entry for int4')")
    assert code == 1
    assert log.splitlines() == ["working", "ERROR in rule toy: energy.pj_per_op.add has no entry for int4"]


def test_a_bug_keeps_its_traceback(tmp_path):
    code, log = run_job(tmp_path, "{}['missing']")
    assert code == 1
    assert "Traceback (most recent call last)" in log and "KeyError: 'missing'" in log


def test_a_finished_job_ends_its_log_with_its_cost(tmp_path):
    code, log = run_job(tmp_path, "print('done')")
    assert code == 0
    assert log.splitlines()[0] == "done" and log.splitlines()[-1].startswith("job_cost: {")
