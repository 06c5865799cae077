"""Tests of validation/grn_variants.py: the bootstrap and change-window readings of session 8."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import validation_script

from grn_mnn import pipeline, pp, readout, simcases


@pytest.fixture(scope="module")
def gv():
    return validation_script("grn_variants")


@pytest.fixture(scope="module")
def case():
    return simcases.make_case("ffl_coherent", 0)


def _default(case) -> np.ndarray:
    """The session-8 default (no clipping, the pair time prior), which the session-8 variants
    vary."""
    ad = case.adata.copy()
    pp.prepare(ad, "time", min(pipeline.RUN_N_PCS, ad.n_vars - 1), seed=0)
    return readout.network(
        ad, sources=case.sources, winsorize=1.0, time_prior="pair", key_added=None
    )


def _weights(table, ref):
    key = table.set_index(["source", "target"])["weight"]
    return key.reindex(list(zip(ref["source"], ref["target"], strict=True))).to_numpy()


def test_change_window_spanning_every_time_point_is_the_default(gv, case):
    ref = _default(case)
    whole = gv.change_window(case.adata, case.sources, 0, half=100)
    np.testing.assert_allclose(_weights(whole, ref), ref["weight"].to_numpy(), atol=1e-12)
    narrow = gv.change_window(case.adata, case.sources, 0, half=1)
    assert not np.allclose(_weights(narrow, ref), ref["weight"].to_numpy())


def test_bagged_is_reproducible_and_close_to_the_default(gv, case):
    ref = _default(case)
    a = gv.bagged(case.adata, case.sources, 0, n_boot=8)
    b = gv.bagged(case.adata, case.sources, 0, n_boot=8)
    np.testing.assert_array_equal(a["weight"].to_numpy(), b["weight"].to_numpy())
    w = _weights(a, ref)
    assert np.corrcoef(w, ref["weight"].to_numpy())[0, 1] > 0.9
    assert not np.allclose(w, ref["weight"].to_numpy())  # the bootstraps do move it


def test_every_variant_is_documented(gv):
    for name, method in gv.METHODS.items():
        assert callable(method) and method.__doc__, name


def test_session8_variant_is_the_unclipped_default(gv, case):
    ref = _default(case)
    old = gv.METHODS["grn_mnn_session8"](case.adata, case.sources, 0)
    np.testing.assert_allclose(_weights(old, ref), ref["weight"].to_numpy(), atol=1e-12)
    new = gv.METHODS["lagged_winsorize_0.99"](case.adata, case.sources, 0)
    assert not np.allclose(_weights(new, ref), ref["weight"].to_numpy())


def test_within_time_magnitudes_keep_the_default_signs_and_timing(gv, case):
    ad = case.adata.copy()
    pp.prepare(ad, "time", min(pipeline.RUN_N_PCS, ad.n_vars - 1), seed=0)
    # the session-11 default, which these session-11 variants vary
    ref = readout.network(ad, sources=case.sources, time_prior="pair", key_added=None)
    base = ref["weight"].to_numpy()
    within = _weights(gv.within_magnitude(case.adata, case.sources, 0), ref)
    blend = _weights(gv.within_blend(case.adata, case.sources, 0), ref)
    live = base != 0
    np.testing.assert_array_equal(np.sign(within[live]), np.sign(base[live]))
    np.testing.assert_array_equal(np.sign(blend[live]), np.sign(base[live]))
    # sqrt(|r_w| |r|) P squared is |r_w| P times |r| P: the blend is the geometric mean
    np.testing.assert_allclose(blend**2, np.abs(within * base), rtol=1e-9, atol=1e-15)
    assert not np.allclose(np.abs(within), np.abs(base))  # another magnitude


def test_session11_variant_is_the_pair_time_prior(gv, case):
    ad = case.adata.copy()
    pp.prepare(ad, "time", min(pipeline.RUN_N_PCS, ad.n_vars - 1), seed=0)
    pair = readout.network(ad, sources=case.sources, time_prior="pair", key_added=None)
    old = gv.METHODS["grn_mnn_session11"](case.adata, case.sources, 0)
    np.testing.assert_allclose(_weights(old, pair), pair["weight"].to_numpy(), atol=1e-12)
    default = readout.network(ad, sources=case.sources, key_added=None)
    assert not np.allclose(_weights(default, pair), pair["weight"].to_numpy())


def test_no_time_order_is_the_default_magnitude_without_precedence(gv, case):
    ad = case.adata.copy()
    pp.prepare(ad, "time", min(pipeline.RUN_N_PCS, ad.n_vars - 1), seed=0)
    ref = readout.network(ad, sources=case.sources, key_added=None)
    flat = _weights(gv.METHODS["lagged_no_time_order"](case.adata, case.sources, 0), ref)
    genes = list(ad.uns["grn_mnn"]["genes"])
    xr = readout.ranking_expression(pp.get_expression(ad), ad.uns["grn_mnn"]["transform"])
    t = ad.obs[pp.TIME_COL].to_numpy().astype(float)
    src = (
        np.arange(len(genes))
        if case.sources is None
        else np.array([genes.index(g) for g in case.sources])
    )
    half = gv.magnitude_variants(xr, t, src)["no precedence"] / 2  # P = 1/2 everywhere
    want = readout.matrix_table(half, genes, src).set_index(["source", "target"])["weight"]
    got = want.reindex(list(zip(ref["source"], ref["target"], strict=True))).to_numpy()
    np.testing.assert_allclose(flat, got, rtol=1e-9, atol=1e-15)
