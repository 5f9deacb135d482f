"""Per-layer sensitivity and the allocation of a global sparsity, on hand-made curves."""

import numpy as np
import pytest

from dnncomp.measure import sensitivity
from dnncomp.report import html

CURVES = {
    "robust": {"params": 300, "sparsities": [0.5, 0.8, 0.9, 0.99], "drop": [-0.001, 0.0, 0.002, 0.03]},
    "sensitive": {"params": 100, "sparsities": [0.5, 0.8, 0.9, 0.99], "drop": [0.004, 0.02, 0.05, 0.4]},
}


def test_one_shot_mask_zeros_the_smallest_magnitudes():
    kernel = np.array([[0.1, -3.0], [2.0, -0.2]])
    assert sensitivity.one_shot_mask(kernel, 0.5).tolist() == [[False, True], [True, False]]
    assert sensitivity.one_shot_mask(kernel, 0.75).sum() == 1


def test_sparsity_within_a_tolerance_follows_the_monotone_curve():
    curve = CURVES["robust"]
    # A gain counts as no loss, so 0.8 is within any tolerance; halfway to 0.9's loss is halfway there.
    assert sensitivity.sparsity_within(curve, 1e-6) == pytest.approx(0.8, abs=1e-3)
    assert sensitivity.sparsity_within(curve, 0.001) == pytest.approx(0.85, abs=1e-3)
    assert sensitivity.sparsity_within(curve, 1.0) == pytest.approx(0.99)
    bumpy = {"params": 1, "sparsities": [0.5, 0.8], "drop": [0.01, 0.005]}  # noise: a later point lost less
    assert sensitivity.sparsity_within(bumpy, 0.006) < 0.5, "a loss once seen is not undone"


def test_allocation_meets_the_budget_with_one_common_tolerance():
    allocation = sensitivity.allocate(CURVES, 0.8)
    targets = allocation["targets"]
    overall = (300 * targets["robust"] + 100 * targets["sensitive"]) / 400
    assert overall == pytest.approx(0.8, abs=1e-6)
    assert targets["robust"] > 0.8 > targets["sensitive"], "the robust layer takes more of the budget"
    for name, curve in CURVES.items():  # each layer sits where its loss meets the common tolerance
        assert sensitivity.sparsity_within(curve, allocation["tolerance"]) == pytest.approx(targets[name])


def test_a_budget_beyond_the_grid_names_the_setting():
    with pytest.raises(ValueError, match="beyond the sensitivity grid.*techniques.prune.sensitivity"):
        sensitivity.allocate(CURVES, 0.995)
    top = sensitivity.allocate(CURVES, 0.99)
    assert top["targets"] == pytest.approx({"robust": 0.99, "sensitive": 0.99})


def test_the_report_tables_each_models_allocation_per_budget():
    table = html.allocation_table({"mnist/toy/seed0": {"layers": CURVES}}, [0.8, 0.999])
    assert list(table["layer"]) == ["robust", "sensitive"] and list(table["weights"]) == [300, 100]
    expected = sensitivity.allocate(CURVES, 0.8)["targets"]
    assert list(table["at 0.80"]) == [expected["robust"], expected["sensitive"]]
    assert list(table["at 1.00"]) == ["", ""], "a budget beyond the grid is left blank"
