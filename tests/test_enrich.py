"""Tests of grn_mnn.enrich: offline gseapy enrichment, GMT I/O, bundled TRRUST sets."""

from __future__ import annotations

import importlib.util
import socket

import numpy as np
import pandas as pd
import pytest
from scipy.stats import hypergeom

from grn_mnn import enrich
from grn_mnn.errors import InputError


@pytest.fixture(autouse=True)
def _offline(monkeypatch):
    """Any attempt to open a network connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture
def planted():
    """TF1 -> G1..G20 strong, TF1 -> every other gene weak; sets: planted, random, partial."""
    rng = np.random.default_rng(0)
    genes = [f"G{i}" for i in range(1, 301)]
    top = genes[:20]
    rows = [("TF1", g, (-1) ** i * (3.0 - 0.01 * i)) for i, g in enumerate(top)]
    rows += [("TF1", g, 0.01 * rng.standard_normal()) for g in genes[20:]]
    rows += [("TF2", g, rng.standard_normal()) for g in genes[:50]]
    edges = pd.DataFrame(rows, columns=["source", "target", "weight"])
    sets = {
        "PLANTED": [g.lower() for g in top],  # case differs on purpose
        "UNRELATED": list(rng.choice(genes[20:], 25, replace=False)),
        "PARTIAL": top[:2] + genes[200:218],
    }
    return edges, sets, top, genes


def test_planted_set_is_top_and_p_matches_hypergeometric(planted):
    edges, sets, top, genes = planted
    res = enrich.enrich_targets(edges, "TF1", gene_sets=sets, top_n=20)
    assert list(res.columns) == enrich.RESULT_COLUMNS
    assert res.loc[0, "Term"] == "PLANTED"
    assert res.loc[0, "Overlap"] == "20/20"
    # background = all genes of the table except the source: 300 genes + TF2
    n_bg = len(set(edges["source"]) | set(edges["target"])) - 1
    expected_p = hypergeom.sf(20 - 1, n_bg, 20, 20)
    assert res.loc[0, "P-value"] == pytest.approx(expected_p, rel=1e-9)
    assert res.loc[0, "P-value"] < 1e-30
    # BH over the 3 tested sets (UNRELATED has no hit and still counts)
    assert res.loc[0, "Adjusted P-value"] == pytest.approx(expected_p * 3, rel=1e-9)
    assert res.loc[0, "Genes"].split(";") == top  # hits in predicted-strength order
    unrelated = res[res["Term"] == "UNRELATED"]
    assert unrelated.empty or unrelated["Adjusted P-value"].iloc[0] > 0.05
    partial = res[res["Term"] == "PARTIAL"].iloc[0]
    assert partial["P-value"] == pytest.approx(hypergeom.sf(1, n_bg, 20, 20), rel=1e-9)
    assert partial["Adjusted P-value"] > 0.05
    assert (res["source"] == "TF1").all() and (res["Gene_set"] == "custom").all()
    assert res["Adjusted P-value"].is_monotonic_increasing


def test_sign_cutoff_and_background(planted):
    edges, sets, top, genes = planted
    pos = enrich.predicted_targets(edges, "tf1", top_n=10, sign="positive")
    assert list(pos["target"]) == top[0::2]  # even positions carry positive weights
    assert (pos["weight"] > 0).all()
    res = enrich.enrich_targets(edges, "TF1", sets, top_n=10, sign="negative", cutoff=0.05)
    assert list(res["Term"]) == ["PLANTED"]
    assert res.loc[0, "Overlap"] == "10/20"
    # a larger explicit background makes the same overlap more significant
    bigger = genes + [f"X{i}" for i in range(700)]
    res_big = enrich.enrich_targets(
        edges, "TF1", sets, top_n=10, sign="negative", background=bigger
    )
    assert res_big.loc[0, "P-value"] < res.loc[0, "P-value"]
    only_pos = edges[edges["weight"] > 0]
    empty = enrich.enrich_targets(only_pos, "TF1", sets, sign="negative")
    assert empty.empty and list(empty.columns) == enrich.RESULT_COLUMNS


def test_time_slices_are_averaged():
    edges = pd.DataFrame(
        {
            "source": ["A"] * 4,
            "target": ["B", "C", "B", "C"],
            "weight": [1.0, 0.2, -0.4, 0.3],
            "time": [0, 0, 1, 1],
        }
    )
    out = enrich.predicted_targets(edges, "A", top_n=5)
    assert list(out["target"]) == ["B", "C"]
    assert out["weight"].tolist() == pytest.approx([0.3, 0.25])


def test_library_names_are_refused_without_web_call(planted):
    edges, _, _, _ = planted
    with pytest.raises(InputError, match="not fetched"):
        enrich.enrich_targets(edges, "TF1", gene_sets="KEGG_2021_Human")
    with pytest.raises(InputError, match="no outgoing edges"):
        enrich.enrich_targets(edges, "NOPE", gene_sets={"S": ["G1", "G2", "G3"]})
    with pytest.raises(InputError, match="species"):
        enrich.enrich_targets(edges, "TF1", gene_sets={"S": ["Y1", "Y2", "Y3"]})
    with pytest.raises(InputError, match="sign"):
        enrich.enrich_targets(edges, "TF1", gene_sets={"S": ["G1"]}, sign="up")


def test_gmt_roundtrip(tmp_path):
    sets = {"SET_A": ["TP53", "MDM2", "CDKN1A"], "set b": ["Sox2", "Nanog"]}
    path = enrich.write_gmt(sets, tmp_path / "x.gmt", descriptions={"SET_A": "p53 targets"})
    assert enrich.load_gmt(path) == sets
    assert path.read_text().splitlines()[0] == "SET_A\tp53 targets\tTP53\tMDM2\tCDKN1A"
    res = enrich.enrich_genes(["TP53", "MDM2"], path, background=["CDKN1A", "SOX2", "X", "Y"])
    assert list(res["Term"]) == ["SET_A"] and (res["Gene_set"] == "x.gmt").all()
    (tmp_path / "bad.gmt").write_text("only_a_name\n")
    with pytest.raises(InputError, match="not GMT"):
        enrich.load_gmt(tmp_path / "bad.gmt")
    (tmp_path / "dup.gmt").write_text("A\tna\tG1\nA\tna\tG2\n")
    with pytest.raises(InputError, match="twice"):
        enrich.load_gmt(tmp_path / "dup.gmt")
    with pytest.raises(InputError, match="does not exist"):
        enrich.load_gmt(tmp_path / "missing.gmt")


def _trrust_raw(species: str) -> pd.DataFrame:
    from grn_mnn.datasets import data_dir

    return pd.read_csv(
        data_dir() / "trrust" / f"trrust_rawdata.{species}.tsv",
        sep="\t",
        header=None,
        names=["tf", "target", "mode", "pmids"],
        dtype=str,
        keep_default_na=False,
    )


def test_bundled_trrust_gmt_matches_source_and_generator():
    from grn_mnn.datasets import data_dir

    human = enrich.trrust_gene_sets("human")
    raw = _trrust_raw("human")
    assert set(human["STAT3"]) == set(raw.loc[raw["tf"] == "STAT3", "target"].str.upper())
    n_targets = raw.groupby("tf")["target"].nunique()
    assert set(human) == set(n_targets[n_targets >= 3].index.str.upper())
    assert min(len(g) for g in human.values()) >= 3
    mouse = enrich.trrust_gene_sets("mouse")
    raw_m = _trrust_raw("mouse")
    assert set(mouse["TRP53"]) == set(raw_m.loc[raw_m["tf"] == "Trp53", "target"].str.upper())
    # the shipped files are exactly what the generating script produces
    script = data_dir() / "gene_sets" / "make_gmt.py"
    spec = importlib.util.spec_from_file_location("make_gmt", script)
    make_gmt = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_gmt)
    for species in ("human", "mouse"):
        text = make_gmt.build_gmt(data_dir() / "trrust" / f"trrust_rawdata.{species}.tsv", species)
        assert (data_dir() / "gene_sets" / f"trrust_{species}.gmt").read_text() == text


def test_which_tf_targets_recovers_known_targets():
    known = enrich.trrust_gene_sets("human")["STAT3"]
    universe = sorted({g for genes in enrich.trrust_gene_sets("human").values() for g in genes})
    others = [g for g in universe if g not in known and g != "STAT3"]
    rng = np.random.default_rng(3)
    strong = [("STAT3", g, 2.0 + rng.random()) for g in known[:30]]
    weak = [("STAT3", g, 0.05 * rng.standard_normal()) for g in others]
    edges = pd.DataFrame(strong + weak, columns=["source", "target", "weight"])
    res = enrich.which_tf_targets(edges, "stat3", species="human", top_n=30)
    assert res.loc[0, "Term"] == "STAT3" and bool(res.loc[0, "is_source"])
    assert res.loc[0, "Adjusted P-value"] < 1e-10
    assert res["is_source"].sum() == 1
    with pytest.raises(InputError, match="species"):
        enrich.which_tf_targets(edges, "STAT3", species="rat")
