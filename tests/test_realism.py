"""Tests of validation/realism.py: its simulated worlds and methods exist and do what they say."""

from __future__ import annotations

from pathlib import Path

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
