"""Tests of validation/sign_sources.py: its size factors and that it measures the default."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import validation_script

from grn_mnn import grnbench, pipeline, pp, readout, simcases


@pytest.fixture(scope="module")
def ss():
    return validation_script("sign_sources")


def test_size_factors_are_the_packages_median_ratio_and_the_capture_oracle(ss):
    rng = np.random.default_rng(0)
    counts = rng.poisson(20.0, size=(40, 30)).astype(float)
    counts[1, 0] = 5000.0
    np.testing.assert_array_equal(
        ss.size_factors(counts, "poscounts"), readout.median_ratio_factors(counts)
    )
    assert ss.size_factors(counts, "total")[1] > 5 * np.median(ss.size_factors(counts, "total"))
    case = simcases.make_case("ffl_coherent", 0)
    cap = ss.size_factors(counts[:0], "capture", case.adata)
    np.testing.assert_allclose(
        cap * np.median(case.adata.obs["capture"]), case.adata.obs["capture"]
    )
    with pytest.raises(ValueError):
        ss.size_factors(counts, "tmm")


def test_default_row_is_the_default_networks_sign_accuracy(ss):
    case = simcases.make_case("ffl_coherent", 0)
    mats, ad = ss.sign_matrices(case.adata, case.sources, 0)
    pairs = ss._true_pairs(ad, case.sources)
    assert len(pairs) == len(case.truth)  # every true edge of the motif, no self-loop

    def acc(key):
        m = mats[key]
        return np.mean(np.sign(m[pairs[:, 0], pairs[:, 1]]) == pairs[:, 2])

    prep = case.adata.copy()
    pp.prepare(prep, "time", min(pipeline.RUN_N_PCS, prep.n_vars - 1), seed=0)
    for key, signs in (
        ("expression+within (default)", "expression+within"),
        ("latent+within (sessions 6-7 default)", "latent+within"),
        ("latent_d10 (stop 16 default)", "latent"),
    ):
        net = readout.network(prep, sources=case.sources, signs=signs, key_added=None)
        scored = grnbench.score_edges(net, case.truth, case.genes, case.sources)
        assert acc(key) == pytest.approx(scored["sign_accuracy"])
    default = grnbench.score_edges(
        readout.network(prep, sources=case.sources, key_added=None),
        case.truth,
        case.genes,
        case.sources,
    )
    same = ss.normalised_default(case.adata, case.sources, 0, "median-ratio")
    assert same["auprc_ratio"] == pytest.approx(default["auprc_ratio"])
    assert same["sign_accuracy"] == pytest.approx(default["sign_accuracy"])
    # the noise-free within-time correlation signs every edge of the motif right
    assert acc("ORACLE: noise-free concentrations, within-time") == 1.0


def test_session7_rows_gate_like_the_default_and_the_ode_reads_a_known_system(ss):
    case = simcases.make_case("ffl_coherent", 0)
    mats, ad = ss.sign_matrices(case.adata, case.sources, 0)
    prep_x = readout.ranking_expression(pp.get_expression(ad), ad.uns["grn_mnn"]["transform"])
    t = ad.obs[pp.TIME_COL].to_numpy().astype(float)
    src = np.arange(prep_x.shape[1])
    rec = readout.latent_reconstruction(ad)
    want = readout.sign_score(prep_x, t, src, "latent+within", sign_expression=rec, within_z=2.5)
    np.testing.assert_array_equal(mats["latent+within, z > 2.5"], want)
    # d(target)/dt = +1 * source - 0.5 * target, d(other)/dt = -1 * source: means on a grid
    times = np.linspace(0.0, 3.0, 13)
    s = 1.0 + times
    target, other = np.zeros_like(times), np.full_like(times, 10.0)
    for k in range(1, len(times)):
        dt = times[k] - times[k - 1]
        target[k] = target[k - 1] + dt * (s[k - 1] - 0.5 * target[k - 1])
        other[k] = other[k - 1] - dt * s[k - 1]
    lin = np.column_stack([s, target, other])
    ode = ss._bivariate_ode(lin, times, np.array([0]))
    assert ode[1, 0] > 0 > ode[2, 0] and ode[0, 0] == 0
