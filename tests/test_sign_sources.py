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
        ("latent+within (default)", "latent+within"),
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
