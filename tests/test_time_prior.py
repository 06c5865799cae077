"""Tests of validation/time_prior.py: the time-order factors of session 12 and their decision."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import validation_script

from grn_mnn import grnbench, pipeline, pp, readout, simcases


@pytest.fixture(scope="module")
def tp():
    return validation_script("time_prior")


def _logit(p):
    return np.log(p / (1 - p))


def test_the_pair_factor_is_the_regulator_half_plus_the_target_half(tp):
    tau = np.array([0.2, 1.5, 0.9, 3.0, 2.2])
    src = np.array([0, 1, 2])
    f = tp.factors(tau, src, span=3.0)
    assert set(f) == set(tp.PRIORS)
    np.testing.assert_allclose(f["pair"], readout.precedence(tau, 3.0)[:, src])
    np.testing.assert_allclose(f["regulator"], readout.time_factor(tau, src, 3.0))
    halves = _logit(f["regulator"]) + _logit(f["target"])
    np.testing.assert_allclose(_logit(f["pair"]), halves, atol=1e-12)
    assert (f["target"][3] > f["target"][0]).all()  # a late target is favoured by its half
    np.testing.assert_array_equal(f["none"], 0.5)
    late = f["regulator"] < 0.5  # sources changing after the regulators' mean change time
    np.testing.assert_array_equal(f["early only"][late], 0.5)
    np.testing.assert_array_equal(f["early only"][~late], f["regulator"][~late])


def test_relative_to_is_the_mean_over_regimes_of_per_seed_ratios(tp):
    units = [
        {"regime": r, "seed": s, "prior": p, "case": c, "auprc_ratio": v}
        for (r, s, p, v) in [
            ("a", 0, "pair", 2.0), ("a", 0, "regulator", 3.0),
            ("a", 1, "pair", 4.0), ("a", 1, "regulator", 4.0),
            ("b", 0, "pair", 5.0), ("b", 0, "regulator", 4.0),
        ]
        for c in ("x", "y")
    ]  # fmt: skip
    rel = tp.relative_to(units, "regulator")
    assert rel["a"] == pytest.approx((1.5 + 1.0) / 2) and rel["b"] == pytest.approx(0.8)
    assert rel["mean relative"] == pytest.approx((1.25 + 0.8) / 2)
    assert tp.relative_to(units, "pair")["mean relative"] == pytest.approx(1.0)


def test_the_regulator_row_scores_the_network_run_writes(tp):
    case = simcases.make_case("ffl_coherent", 0)
    rows = {r["prior"]: r for r in tp.case_scores(case, 0)}
    prep = case.adata.copy()
    pp.prepare(prep, "time", min(pipeline.RUN_N_PCS, prep.n_vars - 1), seed=0)
    for prior in ("regulator", "pair"):
        net = readout.network(prep, sources=case.sources, time_prior=prior, key_added=None)
        scored = grnbench.score_edges(net, case.truth, case.genes, case.sources)
        assert rows[prior]["auprc_ratio"] == pytest.approx(scored["auprc_ratio"])
        assert rows[prior]["sign_accuracy"] == pytest.approx(scored["sign_accuracy"])
