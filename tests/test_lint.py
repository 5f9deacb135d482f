from helpers import ROOT, snakemake


def test_snakemake_lint_is_clean():
    result = snakemake(ROOT, "--lint", check=False, timeout=300)
    output = result.stdout + result.stderr
    assert "Congratulations, your workflow is in a good condition!" in output, output[-5000:]
