"""Tests of grn_mnn.simcases: benchmark cases with known networks and nuisances."""

from __future__ import annotations

import numpy as np
import pytest

from grn_mnn import simcases
from grn_mnn.errors import ConfigError


def _edges(net) -> set[tuple[str, str, int]]:
    return set(zip(net["source"], net["target"], net["sign"].astype(int), strict=True))


def test_catalogue_has_families_and_cases():
    names = simcases.case_names()
    assert len(names) >= 12
    fams = {simcases.CASES[n].family for n in names}
    assert fams == set(simcases.FAMILIES) and len(fams) >= 4
    assert set(simcases.case_names(quick=True)) <= set(names)
    assert any(simcases.CASES[n].n_decoys for n in names)  # TF-list variants exist
    with pytest.raises(ConfigError, match="unknown case"):
        simcases.make_case("nope")


def test_mcad_network_is_the_published_rules():
    expected = {
        ("Fgf8", "Fgf8", 1), ("Emx2", "Fgf8", -1), ("Sp8", "Fgf8", 1),
        ("Fgf8", "Emx2", -1), ("Pax6", "Emx2", -1), ("Coup_tfi", "Emx2", 1), ("Sp8", "Emx2", -1),
        ("Emx2", "Pax6", -1), ("Coup_tfi", "Pax6", -1), ("Sp8", "Pax6", 1),
        ("Fgf8", "Sp8", 1), ("Emx2", "Sp8", -1),
        ("Fgf8", "Coup_tfi", -1), ("Sp8", "Coup_tfi", -1),
    }  # fmt: skip
    assert _edges(simcases.mcad_network()) == expected


def test_motif_and_small_networks():
    assert _edges(simcases.motif_network("incoherent_ffl")) == {
        ("X", "Y", 1), ("X", "Z", 1), ("Y", "Z", -1), ("Z", "W", 1)
    }  # fmt: skip
    assert ("Z", "X", -1) in _edges(simcases.motif_network("negative_feedback"))
    cas = simcases.cascade_network(8)
    assert list(cas["source"]) == [f"G{i}" for i in range(1, 8)]
    assert list(cas["target"]) == [f"G{i}" for i in range(2, 9)]
    tog = _edges(simcases.toggle_network())
    assert {("A", "B", -1), ("B", "A", -1)} <= tog
    with pytest.raises(ConfigError):
        simcases.motif_network("triangle")


def test_scale_free_out_degree_is_heavy_tailed_and_acyclic():
    net = simcases.scale_free_network(200, np.random.default_rng(0))
    out = net.groupby("source").size()
    indeg = net.groupby("target").size()
    assert indeg.between(1, 2).all() and len(indeg) == 199
    assert out.max() >= 8 * np.median(out)  # a few hubs
    idx = {f"G{i + 1}": i for i in range(200)}
    assert (net["source"].map(idx) < net["target"].map(idx)).all()  # regulators come first
    assert set(net["sign"]) == {-1, 1}


@pytest.mark.parametrize("name", ["cascade", "toggle", "mcad"])
def test_case_has_its_network_background_and_dynamics(name):
    case = simcases.make_case(name, seed=0)
    a, spec = case.adata, simcases.CASES[name]
    assert case.family == spec.family and a.uns["case"]["name"] == name
    assert _edges(case.truth) == _edges(spec.network(np.random.default_rng(0)))
    bg = a.var_names[a.var["background"]].tolist()
    assert len(bg) == spec.n_background
    in_net = set(case.truth["source"]) | set(case.truth["target"])
    assert not in_net & set(bg) and in_net | set(bg) == set(a.var_names)
    assert list(a.var["regulator"]) == [g in set(case.truth["source"]) for g in a.var_names]
    x = np.asarray(a.X)
    t = a.obs["time"].to_numpy()
    assert 5 <= len(np.unique(t)) <= 8 and 100 <= (t == 0).sum() <= 500
    assert np.array_equal(x, np.round(x)) and (x[:, a.var["background"]].mean(0) > 1).all()
    # the network's expression changes over time
    lat = np.asarray(a.layers["latent"])
    m0, m1 = lat[t == t.min()].mean(0), lat[t == t.max()].mean(0)
    net_genes = ~a.var["background"].to_numpy()
    assert (np.abs(m1 - m0) / m0)[net_genes].max() > 1.0


def test_nuisances_dropout_and_library_size():
    case = simcases.make_case("ffl_coherent", seed=0)
    a, sim = case.adata, case.adata.uns["simulation"]
    x = np.asarray(a.X, float)
    # zeros expected from the negative binomial alone, from the simulated means
    lat = np.asarray(a.layers["latent"], float)
    pool = sim["unobserved"] / (1 - sim["unobserved"]) * np.median(lat[:200].sum(1))
    tot = lat.sum(1, keepdims=True)
    mean = (
        sim["library_size"]
        * (1 + pool / np.median(tot))
        * a.obs["capture"].to_numpy()[:, None]
        * lat
        / (tot + pool)
    )
    nb_zero = np.mean((sim["nb_theta"] / (sim["nb_theta"] + mean)) ** sim["nb_theta"])
    assert sim["dropout"] > 0
    assert np.mean(x == 0) > nb_zero + 0.8 * sim["dropout"] * (1 - nb_zero)
    lib = x.sum(1)
    assert np.std(np.log(lib)) > 0.2 and lib.max() > 2 * lib.min()


def test_tf_list_variant_same_data_true_regulators_and_decoys():
    base, tfs = simcases.make_case("cascade", 1), simcases.make_case("cascade_tfs", 1)
    assert base.sources is None
    np.testing.assert_array_equal(np.asarray(base.adata.X), np.asarray(tfs.adata.X))
    regs = set(tfs.truth["source"])
    assert regs <= set(tfs.sources)
    decoys = set(tfs.sources) - regs
    assert len(decoys) == simcases.CASES["cascade_tfs"].n_decoys
    assert not decoys & regs and decoys <= set(tfs.genes)


def test_seeds_change_the_simulation_reproducibly():
    a, b = simcases.make_case("ffl_incoherent", 0), simcases.make_case("ffl_incoherent", 0)
    c = simcases.make_case("ffl_incoherent", 1)
    np.testing.assert_array_equal(np.asarray(a.adata.X), np.asarray(b.adata.X))
    assert not np.array_equal(np.asarray(a.adata.X), np.asarray(c.adata.X))
    assert _edges(a.truth) == _edges(c.truth)  # a fixed motif; only the kinetics change
    k0, k1 = (v.adata.uns["true_network"]["strength"].to_numpy() for v in (a, c))
    assert not np.allclose(k0, k1)
