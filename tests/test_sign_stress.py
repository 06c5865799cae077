"""Tests of validation/sign_stress.py: its regimes and that it measures the default's signs."""

from __future__ import annotations

import pytest
from conftest import validation_script

from grn_mnn import grnbench, pipeline, pp, readout, simcases


@pytest.fixture(scope="module")
def st():
    return validation_script("sign_stress")


def test_default_row_is_the_default_networks_sign_accuracy(st):
    case = simcases.make_case("ffl_incoherent", 0)
    acc = st.case_accuracy(case.adata, case.sources, 0)
    assert set(acc) == set(st.SOURCES) and st.SOURCES[0] == readout.DEFAULT_SIGNS
    prep = case.adata.copy()
    pp.prepare(prep, "time", min(pipeline.RUN_N_PCS, prep.n_vars - 1), seed=0)
    for signs in ("expression+within", "latent+within"):
        net = readout.network(prep, sources=case.sources, signs=signs, key_added=None)
        scored = grnbench.score_edges(net, case.truth, case.genes, case.sources)
        assert acc[signs] == pytest.approx(scored["sign_accuracy"])


def test_regimes_change_the_simulation_and_leave_the_registry(st):
    before = dict(simcases.CASES)
    mult, sim = st.REGIMES["all three"]
    specs = validation_script("sign_ceiling").more_cells(mult, **sim)
    assert simcases.CASES == before
    spec = specs["ffl_coherent"]
    assert spec.sim["cells_per_time"] == round(before["ffl_coherent"].sim["cells_per_time"] / 2)
    assert (spec.sim["nb_theta"], spec.sim["dropout"]) == (2.0, 0.3)
    assert st.REGIMES["benchmark"] == (1.0, {})
    with pytest.raises(SystemExit):
        st.main(["--regimes", "nope"])
