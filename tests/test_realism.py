"""Tests of validation/realism.py: its simulated worlds and methods exist and do what they say."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from conftest import validation_script

from grn_mnn import simcases


@pytest.fixture(scope="module")
def rm():
    return validation_script("realism")


def test_regimes_reach_the_simulator_and_leave_the_registry(rm):
    before = dict(simcases.CASES)
    for regime, (mult, sim) in rm.REGIMES.items():
        specs = validation_script("sign_ceiling").more_cells(mult, **sim)
        spec = specs["ffl_coherent"]
        for key, value in sim.items():
            assert spec.sim[key] == value, regime
    assert simcases.CASES == before
    try:
        mult, sim = rm.REGIMES["AND-gate kinetics"]
        simcases.CASES.update(validation_script("sign_ceiling").more_cells(mult, **sim))
        case = simcases.make_case("ffl_incoherent", 0)
    finally:
        simcases.CASES.update(before)
    assert case.adata.uns["simulation"]["logic"] == "and"
    assert simcases.make_case("ffl_incoherent", 0).adata.uns["simulation"]["logic"] == "additive"


def test_methods_are_registered_and_bad_regimes_refused(rm):
    variants = str(Path(rm.__file__).parent / "grn_variants.py") + ":METHODS"
    reg = rm.registry([variants])
    assert set(rm.METHODS) <= set(reg)
    with pytest.raises(SystemExit):
        rm.main(["--regimes", "martian cells"])


def _two_genes(within_sign: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two genes that both rise over 4 time points and co-vary within them with ``within_sign``."""
    rng = np.random.default_rng(0)
    t = np.repeat(np.arange(4.0), 300)
    u = rng.normal(size=t.size)
    lin = np.column_stack([5 + t + 0.5 * u, 5 + t + within_sign * 0.5 * u])
    lin += rng.normal(scale=0.05, size=lin.shape)
    return np.log1p(lin), t, np.array([0])


def test_agreement_reads_whether_within_time_covariation_follows_the_time_course(rm):
    assert rm.within_between_agreement(*_two_genes(+1.0)) == 1.0  # spread along the course
    assert rm.within_between_agreement(*_two_genes(-1.0)) == 0.0  # against it


def test_between_share_separates_moving_from_flat_genes(rm):
    rng = np.random.default_rng(1)
    t = np.repeat(np.arange(5.0), 200)
    lin = np.column_stack([10 + 5 * t, np.full(t.size, 10.0)]) + rng.normal(size=(t.size, 2))
    share = rm.between_share(np.log1p(lin), t)
    assert share[0] > 0.95 and share[1] < 0.02
