"""Tests of validation/winsorize.py: it scores the default network at each clipping quantile,
and its decision rule picks the quantile with the best relative AUPRC ratio."""

from __future__ import annotations

import pytest
from conftest import validation_script

from grn_mnn import grnbench, pipeline, pp, readout, simcases


@pytest.fixture(scope="module")
def wz():
    return validation_script("winsorize")


def test_each_quantile_is_the_session9_default_network_clipped_there(wz):
    case = simcases.make_case("ffl_incoherent", 0)
    rows = {r["quantile"]: r for r in wz.case_scores(case, 0)}
    assert set(rows) == set(wz.QUANTILES) and 1.0 in rows
    assert readout.DEFAULT_WINSORIZE in rows
    prep = case.adata.copy()
    pp.prepare(prep, "time", min(pipeline.RUN_N_PCS, prep.n_vars - 1), seed=0)
    for q in (1.0, readout.DEFAULT_WINSORIZE):
        net = readout.network(  # the session-9 default's time order (pair), as decided then
            prep, sources=case.sources, winsorize=q, time_prior="pair", key_added=None
        )
        scored = grnbench.score_edges(net, case.truth, case.genes, case.sources)
        assert rows[q]["auprc_ratio"] == pytest.approx(scored["auprc_ratio"])
        assert rows[q]["sign_accuracy"] == pytest.approx(scored["sign_accuracy"])


def _units(values):
    """Fake units: {(regime, seed, quantile): auprc_ratio} over two cases each."""
    return [
        {
            "regime": r,
            "seed": s,
            "quantile": q,
            "case": c,
            "auprc_ratio": v + d,
            "sign_accuracy": 0.8,
        }
        for (r, s, q), v in values.items()
        for c, d in (("a", -0.5), ("b", 0.5))
    ]


def test_decision_rule_weighs_each_regime_by_its_ratio_to_no_clipping(wz, monkeypatch):
    monkeypatch.setattr(wz, "QUANTILES", (1.0, 0.98, 0.9))
    # 0.9 gains most in absolute terms on the large benchmark ratios, 0.98 relatively more
    vals = {}
    for s in (0, 1):
        vals |= {("big", s, 1.0): 20.0, ("big", s, 0.98): 20.0, ("big", s, 0.9): 23.0}
        vals |= {("small", s, 1.0): 2.0, ("small", s, 0.98): 4.0, ("small", s, 0.9): 2.0}
    units = _units(vals)
    assert wz.relative_auprc(units, [0, 1], "small", 0.98) == pytest.approx(2.0)
    out = wz.summarise(units, [0, 1], ["big", "small"])
    assert out["q=0.98: mean relative AUPRC ratio"] == pytest.approx(1.5)
    assert out["q=0.9: mean relative AUPRC ratio"] == pytest.approx(1.075)
    assert out["chosen quantile"] == 0.98
    assert out["big: q=0.9: auprc_ratio"]["mean"] == pytest.approx(23.0)


def test_regimes_and_bad_regimes(wz):
    assert wz.REGIMES["benchmark"] == (1.0, {})
    assert wz.REGIMES["NB theta 0.5"] == (1.0, {"nb_theta": 0.5})
    with pytest.raises(SystemExit):
        wz.main(["--regimes", "nope"])
