"""Tests of validation/sign_sources.py: its size factors and that it measures the default."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import validation_script

from grn_mnn import grnbench, pipeline, pp, readout, simcases


@pytest.fixture(scope="module")
def ss():
    return validation_script("sign_sources")


def test_poscounts_ignore_one_exploding_gene_total_counts_do_not(ss):
    rng = np.random.default_rng(0)
    counts = rng.poisson(20.0, size=(40, 30)).astype(float)
    counts[::2] *= 2.0  # every other cell captured twice as deeply
    counts[1, 0] = 5000.0  # one gene explodes in cell 1
    for how in ("total", "poscounts"):
        sf = ss.size_factors(counts, how)
        assert np.median(sf) == pytest.approx(1.0)
        assert np.mean(sf[2::2] / sf[3::2]) == pytest.approx(2.0, rel=0.15)
    assert ss.size_factors(counts, "total")[1] > 5 * ss.size_factors(counts, "total")[3]
    assert ss.size_factors(counts, "poscounts")[1] == pytest.approx(
        ss.size_factors(counts, "poscounts")[3], rel=0.3
    )
    with pytest.raises(ValueError):
        ss.size_factors(counts, "tmm")


def test_default_row_is_the_default_networks_sign_accuracy(ss):
    case = simcases.make_case("ffl_coherent", 0)
    mats, ad = ss.sign_matrices(case.adata, case.sources, 0)
    pairs = ss._true_pairs(ad, case.sources)
    assert len(pairs) == len(case.truth)  # every true edge of the motif, no self-loop
    m = mats["latent_d10 (default)"]
    acc = np.mean(np.sign(m[pairs[:, 0], pairs[:, 1]]) == pairs[:, 2])
    prep = case.adata.copy()
    pp.prepare(prep, "time", min(pipeline.RUN_N_PCS, prep.n_vars - 1), seed=0)
    net = readout.network(prep, sources=case.sources, key_added=None)
    scored = grnbench.score_edges(net, case.truth, case.genes, case.sources)
    assert acc == pytest.approx(scored["sign_accuracy"])
    total = ss.normalised_default(case.adata, case.sources, 0, "total")
    assert total["sign_accuracy"] == pytest.approx(scored["sign_accuracy"])
    assert total["auprc_ratio"] == pytest.approx(scored["auprc_ratio"], rel=1e-6)
    combo = ss.normalised_default(case.adata, case.sources, 0, "poscounts", total_signs=True)
    pos = ss.normalised_default(case.adata, case.sources, 0, "poscounts")
    assert combo["sign_accuracy"] == pytest.approx(scored["sign_accuracy"])
    assert combo["auprc_ratio"] == pytest.approx(pos["auprc_ratio"])
    # the noise-free oracle is no worse than the counts on this motif
    oracle = mats["oracle_correlation"]
    assert np.mean(np.sign(oracle[pairs[:, 0], pairs[:, 1]]) == pairs[:, 2]) >= acc
