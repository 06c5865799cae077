"""Tests of validation/score_references.py on a simulated case scored against its own truth."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import validation_script

from grn_mnn import pipeline, pp, readout, simcases


@pytest.fixture(scope="module")
def sb():
    return validation_script("score_references")


@pytest.fixture(scope="module")
def scored(sb, tmp_path_factory):
    case = simcases.make_case("scale_free_50_tfs", 0)
    ad = case.adata.copy()
    pp.prepare(ad, "time", pipeline.RUN_N_PCS, seed=0)
    ref = tmp_path_factory.mktemp("beeline") / "truth-network.csv"
    truth = case.truth.rename(columns={"source": "Gene1", "target": "Gene2"})
    truth[["Gene1", "Gene2"]].to_csv(ref, index=False)  # BEELINE's unsigned layout
    return ad, case, sb.score_reference(ad, ref, list(case.sources), n_boot=20)


def test_every_row_is_scored_against_the_reference(sb, scored):
    _, case, recs = scored
    by = {r["method"]: r for r in recs}
    diffs = {f"{sb.METHOD} − {b}" for b in sb.BASELINES if b != "random"}
    expected = {sb.METHOD, *sb.BASELINES, *sb.DIAGNOSIS, *diffs}
    assert set(by) == expected
    assert all(r["reference"] == "truth-network.csv" for r in recs)
    assert {r["n_reference_edges"] for r in recs} == {len(case.truth)}
    assert by[sb.METHOD]["auprc_ratio"] > 2 * by["random"]["auprc_ratio"]  # known answers
    lo, hi = by[sb.METHOD]["auprc_ratio_ci"]
    assert lo <= by[sb.METHOD]["auprc_ratio"] <= hi
    diff = by[f"{sb.METHOD} − pearson"]["auprc_ratio"]
    assert diff == pytest.approx(by[sb.METHOD]["auprc_ratio"] - by["pearson"]["auprc_ratio"])
    assert [r["diagnosis"] for r in recs if r["method"] in sb.DIAGNOSIS] == [True] * 4


def test_the_default_row_is_the_network_run_writes(sb, scored):
    ad, case, _ = scored
    gv = validation_script("grn_variants")
    genes = list(ad.uns["grn_mnn"]["genes"])
    xr = readout.ranking_expression(pp.get_expression(ad), ad.uns["grn_mnn"]["transform"])
    t = ad.obs[pp.TIME_COL].to_numpy().astype(float)
    src = np.array([genes.index(g) for g in case.sources])
    mats = gv.magnitude_variants(xr, t, src)
    mine = readout.matrix_table(mats["default"], genes, src).set_index(["source", "target"])
    run = pipeline.gene_network(None, ad, "lagged", sources=list(case.sources))
    got = mine["weight"].reindex(list(zip(run["source"], run["target"], strict=True)))
    np.testing.assert_allclose(got.to_numpy(), run["weight"].to_numpy(), rtol=1e-9, atol=1e-12)


def test_table_marks_diagnosis_rows_and_missing_values(sb):
    recs = [
        {"dataset": "d", "reference": "r.csv", "method": "grn_mnn", "auroc": 0.6,
         "auprc_ratio": 1.5, "auprc_ratio_ci": [1.2, 1.9], "epr": 2.0, "n_reference_edges": 9},
        {"dataset": "d", "reference": "r.csv", "method": "within-time blend", "diagnosis": True,
         "auroc": None, "auprc_ratio": 1.1, "epr": float("nan"), "n_reference_edges": 9},
    ]  # fmt: skip
    md = sb.table(recs)
    assert md[2] == "| d | r.csv | grn_mnn | 0.600 | 1.500 [1.200, 1.900] | 2.000 | 9 |"
    assert md[3] == "| d | r.csv | within-time blend (diagnosis) | – | 1.100 | – | 9 |"


def test_missing_networks_are_refused_by_name(sb, tmp_path, capsys):
    with pytest.raises(SystemExit):
        sb.main(["--networks", str(tmp_path)])
    assert "mESC-lofgof-network.csv" in capsys.readouterr().err


def test_keep_peers_keeps_the_peer_rows_of_the_chosen_data_sets_only(sb):
    records = [
        {"dataset": "a", "reference": "r", "method": "grn_mnn"},
        {"dataset": "a", "reference": "r", "method": "genie3"},
        {"dataset": "a", "reference": "r", "method": "grnboost2"},
        {"dataset": "a", "reference": "r", "method": "grn_mnn − genie3"},
        {"dataset": "b", "reference": "r", "method": "genie3"},
        {"dataset": "a", "reference": "r", "method": "pearson"},
    ]
    kept = sb.kept_peer_records(records, ["a"])
    assert [(r["dataset"], r["method"]) for r in kept] == [("a", "genie3"), ("a", "grnboost2")]
    order = sorted(records[:4] + [records[5]], key=sb._kind)
    assert [r["method"] for r in order][-1] == "grn_mnn − genie3"
    assert [sb._kind(r) for r in order] == [0, 0, 1, 1, 3]
