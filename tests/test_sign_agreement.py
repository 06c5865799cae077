"""Tests of validation/sign_agreement.py: it reads the default network's true edges with their
bootstrap sign agreement and tabulates how often their signs are right."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import validation_script

from grn_mnn import grnbench, simcases


@pytest.fixture(scope="module")
def sa():
    return validation_script("sign_agreement")


def test_true_edges_are_the_default_networks_true_edges_with_their_signs(sa):
    case = simcases.make_case("ffl_incoherent", 0)
    edges = sa.true_edges(case, 0, n_boot=4)
    assert len(edges) == len(case.truth)  # every true edge has a candidate source here
    assert edges["sign_agreement"].isin([0.0, 0.25, 0.5, 0.75, 1.0]).all()
    # the share of right signs is the benchmark's sign accuracy of the same network
    d = sa._prepared(case.adata, 0)
    net = sa.readout.network(d, sources=case.sources, key_added=None)
    scored = grnbench.score_edges(net, case.truth, case.genes, case.sources)
    assert edges["right"].mean() == pytest.approx(scored["sign_accuracy"])


def test_calibration_bins_and_splits_partition_the_edges(sa):
    edges = pd.DataFrame(
        {
            "sign_agreement": [0.1, 0.7, 0.9, 0.95, 1.0, 1.0],
            "sign_from": ["expression", "expression", "within", "expression", "within", "x"],
            "right": [False, True, False, True, True, True],
        }
    )
    cal = sa.calibration(edges)
    assert [r["n"] for r in cal["by_agreement"]] == [1, 1, 1, 3]
    assert cal["by_agreement"][-1]["sign_accuracy"] == 1.0  # 0.95 and 1 fall in the last bin
    within, stable, unstable, either = (r["n"] for r in cal["by_source"])
    assert (within, stable, unstable, either) == (2, 2, 2, 4)
    assert cal["by_source"][2]["sign_accuracy"] == 0.5  # the two unstable fallback edges
    assert cal["accuracy"] == pytest.approx(4 / 6)


def test_main_writes_the_tables(sa, tmp_path):
    out = tmp_path / "sa.json"
    assert (
        sa.main(["--seeds", "0", "--cases", "cascade", "--bootstraps", "3", "--out", str(out)]) == 0
    )
    got = json.loads(out.read_text())
    cal = got["calibration"]
    assert got["settings"] == {"seeds": [0], "cases": ["cascade"], "bootstraps": 3}
    assert sum(r["n"] for r in cal["by_agreement"]) == cal["n_edges"] > 0
    assert np.isfinite(cal["accuracy"])


def test_real_edges_are_the_signed_trrust_edges_the_run_scores(sa):
    """On a bundled time course, the signed TRRUST edges with the default's signs: their share
    of right signs is validate.score's sign accuracy of the same network."""
    from grn_mnn import pipeline, pp, validate

    name = "hepatocyte_camp2017"
    edges = sa.real_edges(name, n_boot=2)
    assert edges["sign_agreement"].isin([0.0, 0.5, 1.0]).all() and len(edges) > 20
    loader, reference = sa.DATASETS[name]
    adata = loader()
    pp.prepare(adata, "time", pipeline.RUN_N_PCS, seed=0)
    net = pipeline.gene_network(None, adata, "lagged", sources="tf")
    scores = validate.score(
        net,
        reference,
        genes=list(adata.uns["grn_mnn"]["genes"]),
        sources=sa.tf_sources(adata),
        baselines=(),
        quiet=True,
    )
    sign = next(iter(scores["methods"].values()))["sign"]
    assert edges["right"].mean() == pytest.approx(sign["accuracy"])
    assert len(edges) == sign["n_edges"]
