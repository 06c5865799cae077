"""Tests of grn_mnn.simulate: the Hill-network simulator and the low-rank linear system."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.linalg import expm

from grn_mnn import datasets
from grn_mnn.errors import ConfigError
from grn_mnn.simulate import simulate, simulate_linear, simulate_network


def _time_means(adata, x=None) -> np.ndarray:
    x = np.asarray(adata.X if x is None else x, dtype=float)
    t = adata.obs["time"].to_numpy()
    return np.array([x[t == v].mean(axis=0) for v in np.unique(t)])


def test_reexported_from_datasets_and_imports_only_errors():
    assert datasets.simulate is simulate and datasets.simulate_linear is simulate_linear
    tree = ast.parse(Path(__file__).parents[1].joinpath("grn_mnn", "simulate.py").read_text())
    local = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.level > 0}
    assert local == {"errors"}


def test_simulate_shape_time_and_moving_means():
    a = simulate(n_genes=12, cells_per_time=40, n_timepoints=4, seed=1)
    assert a.shape == (160, 12)
    assert a.obs["time"].dtype == np.float64
    np.testing.assert_allclose(np.unique(a.obs["time"]), [0.0, 10 / 3, 20 / 3, 10.0])
    assert a.uns["time_unit"] == "hours" and a.uns["species"] == "simulated"
    assert list(a.var_names[:4]) == ["TF1", "TF2", "TF3", "TF4"] and a.var_names[4] == "G1"
    assert a.X.dtype == np.float32 and (a.X >= 0).all()
    means = _time_means(a)
    within = np.asarray(a.X[a.obs["time"].to_numpy() == 0]).std(axis=0).mean()
    assert np.abs(means[-1] - means[0]).mean() > 5 * within
    assert (np.linalg.norm(np.diff(means, axis=0), axis=1) > 0.05).all()  # moves at every step


def test_true_network_structure():
    a = simulate(n_genes=15, n_regulators=5, edges_per_target=3, cells_per_time=5, seed=2)
    net = a.uns["true_network"]
    assert {"source", "target", "weight", "sign", "mode"} <= set(net.columns)
    assert len(net) == 15 * 3
    assert (net["source"] != net["target"]).all()
    assert not net.duplicated(["source", "target"]).any()
    assert net.groupby("target").size().eq(3).all() and net["target"].nunique() == 15
    assert set(net["source"]) <= {f"TF{i}" for i in range(1, 6)}
    assert set(net["sign"]) == {-1, 1}
    assert (np.sign(net["weight"]) == net["sign"]).all()
    assert (net["mode"] == np.where(net["sign"] > 0, "Activation", "Repression")).all()
    assert a.var["regulator"].sum() == 5


def test_data_follow_the_returned_network():
    """Near steady state (no noise) the Hill ODE of the returned table has ~zero residual."""
    a = simulate(n_genes=10, cells_per_time=20, n_timepoints=2, t_max=40.0, noise=0.0, seed=3)
    x = np.asarray(a.layers["latent"][a.obs["time"].to_numpy() == 40.0], dtype=float)
    sim = a.uns["simulation"]
    genes = list(a.var_names)

    def residual(net) -> float:
        prod = np.tile(sim["basal"], (len(x), 1))
        prod[:, genes.index("TF1")] += sim["input_max"]
        for r in net.itertuples():
            xs = x[:, genes.index(r.source)] ** r.hill
            kn = r.K**r.hill
            h = xs / (kn + xs) if r.sign > 0 else kn / (kn + xs)
            prod[:, genes.index(r.target)] += abs(r.weight) * h
        return float(np.abs(prod - sim["decay"] * x).mean() / prod.mean())

    net = a.uns["true_network"]
    flipped = net.assign(sign=-net["sign"])
    assert residual(net) < 0.05
    assert residual(flipped) > 4 * residual(net)


def test_seeded_reproducibility():
    kw = {"n_genes": 8, "cells_per_time": 10, "n_timepoints": 3}
    a, b, c = simulate(seed=5, **kw), simulate(seed=5, **kw), simulate(seed=6, **kw)
    np.testing.assert_array_equal(a.X, b.X)
    assert a.uns["true_network"].equals(b.uns["true_network"])
    assert not np.array_equal(a.X, c.X)
    assert not a.uns["true_network"].equals(c.uns["true_network"])


def test_counts_are_nonnegative_integers():
    a = simulate(n_genes=10, cells_per_time=30, counts=True, library_size=1500, seed=4)
    x = np.asarray(a.X)
    assert (x >= 0).all() and np.array_equal(x, np.round(x)) and x.max() > 30
    assert np.median(x.sum(axis=1)) == pytest.approx(1500, rel=0.2)
    # the counts still carry the simulated expression
    rel = a.layers["latent"] / a.layers["latent"].sum(axis=1, keepdims=True)
    frac = x / x.sum(axis=1, keepdims=True)
    assert np.corrcoef(rel.ravel(), frac.ravel())[0, 1] > 0.8


def test_branching_lineages_diverge():
    a = simulate(n_genes=12, cells_per_time=60, branching=True, seed=7)
    lin = a.obs["lineage"].to_numpy()
    t = a.obs["time"].to_numpy()
    assert set(lin) == {"A", "B"}
    assert ((t == 10.0) & (lin == "A")).sum() == ((t == 10.0) & (lin == "B")).sum() == 30
    x = np.asarray(a.X, dtype=float)

    def gap(v: float) -> float:
        return float(
            np.linalg.norm(x[(t == v) & (lin == "A")].mean(0) - x[(t == v) & (lin == "B")].mean(0))
        )

    assert gap(10.0) > 0.5 and gap(10.0) > 5 * gap(0.0)


def test_simulate_rejects_bad_settings():
    with pytest.raises(ConfigError, match="n_regulators"):
        simulate(n_genes=10, n_regulators=2, edges_per_target=2)
    for kw in ({"n_genes": 2}, {"noise": -1.0}, {"dt": 0}, {"n_timepoints": 1}, {"seed": 1.5}):
        with pytest.raises(ConfigError):
            simulate(**kw)


def test_linear_operator_is_low_rank_in_span():
    a = simulate_linear(n_genes=12, rank=3, seed=0)
    J, B, U = a.uns["true_operator"], a.uns["latent_operator"], a.uns["basis"]
    assert J.shape == (12, 12) and B.shape == (3, 3) and U.shape == (12, 3)
    np.testing.assert_allclose(U.T @ U, np.eye(3), atol=1e-12)
    assert np.linalg.matrix_rank(J) == 3
    off = np.eye(12) - U @ U.T
    np.testing.assert_allclose(off @ J, 0, atol=1e-12)
    np.testing.assert_allclose(J @ off, 0, atol=1e-12)
    np.testing.assert_allclose(J, U @ B @ U.T, atol=1e-12)
    eig = np.linalg.eigvals(B)
    assert (eig.real >= -1).all() and (eig.real <= 0.2).all()


def test_linear_data_lie_in_the_subspace_and_follow_expm():
    a = simulate_linear(n_genes=10, rank=4, cells_per_time=400, seed=1)
    U, B, mu = a.uns["basis"], a.uns["latent_operator"], a.uns["gene_mean_true"]
    x = np.asarray(a.X)
    assert (mu > 0).all() and (x >= 0).all()
    dev = x - mu
    np.testing.assert_allclose(dev - dev @ U @ U.T, 0, atol=1e-10)
    np.testing.assert_allclose(dev, a.obsm["X_latent"] @ U.T, atol=1e-10)
    m0 = a.uns["simulation"]["m0"]
    z_means = _time_means(a, a.obsm["X_latent"])
    for zt, t in zip(z_means, np.unique(a.obs["time"]), strict=True):
        assert np.linalg.norm(zt - expm(B * t) @ m0) < 0.15
    assert np.linalg.norm(z_means[-1] - z_means[0]) > 1.0


def test_linear_noise_and_seed():
    a = simulate_linear(seed=2, noise=0.1)
    b = simulate_linear(seed=2, noise=0.1)
    np.testing.assert_array_equal(a.X, b.X)
    dev = np.asarray(a.X) - a.uns["gene_mean_true"]
    U = a.uns["basis"]
    rms_off = np.sqrt(((dev - dev @ U @ U.T) ** 2).mean())  # noise outside span(U)
    assert rms_off == pytest.approx(0.1 * np.sqrt(1 - 3 / 12), rel=0.1)
    assert not np.array_equal(simulate_linear(seed=3).X, simulate_linear(seed=2).X)
    with pytest.raises(ConfigError):
        simulate_linear(n_genes=4, rank=5)


def test_clamp_holds_the_gene_and_leaves_genes_outside_its_cascade_unchanged():
    kw = {"n_genes": 30, "n_regulators": 10, "edges_per_target": 1, "cells_per_time": 20}
    base = simulate(**kw, seed=1)
    ko = simulate(**kw, seed=1, clamp={"TF2": 0.0})
    assert (ko.layers["latent"][:, 1] == 0).all()
    high = simulate(**kw, seed=1, clamp={"TF2": 2.5})
    assert (high.layers["latent"][:, 1] == np.float32(2.5)).all()
    net = base.uns["true_network"]
    down, todo = set(), ["TF2"]
    while todo:  # genes reachable from TF2 in the true network
        kids = set(net.loc[net["source"] == todo.pop(), "target"]) - down
        down |= kids
        todo += list(kids)
    free = [g for g in base.var_names if g not in down and g != "TF2"]
    direct = list(net.loc[net["source"] == "TF2", "target"])
    assert free and direct
    # same random draws: outside the cascade nothing changes, its direct targets do
    np.testing.assert_array_equal(base[:, free].X, ko[:, free].X)
    assert np.abs(np.asarray(base[:, direct].X) - np.asarray(ko[:, direct].X)).max() > 0.1
    np.testing.assert_array_equal(simulate(**kw, seed=1, clamp={}).X, base.X)
    assert ko.uns["simulation"]["clamp"] == {"TF2": 0.0}


@pytest.mark.parametrize(
    "clamp, match", [({"NOPE": 0.0}, "unknown gene"), ({"TF1": -1.0}, "clamp\\['TF1'\\]")]
)
def test_clamp_bad_input(clamp, match):
    with pytest.raises(ConfigError, match=match):
        simulate(n_genes=6, clamp=clamp)


# ----------------------------------------------------------------------------- simulate_network
def _chain() -> pd.DataFrame:
    return pd.DataFrame({"source": ["A", "B", "A"], "target": ["B", "C", "C"], "sign": [1, -1, 1]})


def test_simulate_network_keeps_the_given_network_and_background():
    a = simulate_network(
        _chain(), ["A", "B", "C", "N1", "N2"], cells_per_time=30, n_timepoints=4, seed=0
    )
    net = a.uns["true_network"]
    assert list(zip(net["source"], net["target"], net["sign"], strict=True)) == [
        ("A", "B", 1),
        ("B", "C", -1),
        ("A", "C", 1),
    ]
    assert (net["weight"] == net["sign"] * net["strength"]).all()
    assert list(a.var["background"]) == [False, False, False, True, True]
    assert list(a.var["regulator"]) == [True, True, False, False, False]
    assert a.uns["simulation"]["inputs"] == {"None": ["A"]}  # the root regulator
    x = np.asarray(a.X)
    assert np.array_equal(x, np.round(x)) and (x[:, 3:].mean(axis=0) > 1).all()  # expressed


def test_simulate_network_input_moves_the_network_not_the_background():
    a = simulate_network(
        _chain(), ["A", "B", "C", "N1"], cells_per_time=80, counts=False, seed=1, noise=0.02
    )
    m = _time_means(a, a.layers["latent"])
    change = np.abs(m[-1] - m[0]) / m[0]
    assert (change[:2] > 0.5).all() and change[3] < 0.1  # C: activated by A, repressed by B


def test_simulate_network_follows_given_signs():
    """Without noise, C is repressed by B: flipping the B -| C edge changes the data."""
    kw = {"cells_per_time": 20, "noise": 0.0, "counts": False, "seed": 2}
    net = _chain().assign(strength=2.0, K=1.0, hill=2.0)
    a = simulate_network(net, **kw)
    b = simulate_network(net.assign(sign=[1, 1, 1]), **kw)
    c_a, c_b = (np.asarray(v.layers["latent"])[-20:, 2].mean() for v in (a, b))
    assert c_b > 1.5 * c_a


def test_simulate_network_dropout_and_library_size():
    kw = {"cells_per_time": 100, "n_timepoints": 3, "seed": 3, "library_sd": 0.5}
    plain = simulate_network(_chain(), ["A", "B", "C", "N1"], **kw)
    zi = simulate_network(_chain(), ["A", "B", "C", "N1"], dropout=0.3, **kw)
    z0, z1 = (np.mean(np.asarray(v.X) == 0) for v in (plain, zi))
    assert z1 > z0 + 0.2
    lib = np.asarray(plain.X).sum(axis=1)
    assert np.std(np.log(lib)) > 0.3
    assert np.corrcoef(np.log(lib), np.log(plain.obs["capture"]))[0, 1] > 0.8


def test_simulate_network_lineages_and_errors():
    a = simulate_network(
        _chain(), inputs={"x": ["A"], "y": ["B"]}, cells_per_time=40, n_timepoints=3, seed=4
    )
    assert list(a.obs["lineage"].cat.categories) == ["x", "y"]
    assert (a.obs["lineage"].value_counts() == 60).all()
    bad = [
        ({"network": _chain().assign(sign=[1, 0, 1])}, "sign"),
        ({"network": pd.concat([_chain(), _chain().head(1)])}, "duplicated"),
        ({"network": _chain(), "genes": ["A", "B"]}, "not among genes"),
        ({"network": _chain(), "inputs": ["Z"]}, "inputs"),
        ({"network": _chain(), "dropout": 1.0}, "dropout"),
        ({"network": _chain(), "start": "x"}, "start"),
    ]
    for kw, msg in bad:
        with pytest.raises(ConfigError, match=msg):
            simulate_network(cells_per_time=2, **kw)


def test_and_logic_multiplies_the_hill_terms_of_a_target():
    from grn_mnn.simulate import _Kinetics

    net = _chain().assign(strength=[2.0, 1.5, 1.0], K=[1.0, 2.0, 1.5], hill=[2.0, 3.0, 2.0])
    net["weight"] = net["sign"] * net["strength"]
    genes, basal, decay = ["A", "B", "C"], np.array([0.1, 0.2, 0.3]), np.full(3, 0.5)
    x = np.array([[1.5, 2.5, 0.7], [0.2, 4.0, 1.0]])
    h_ab = x[:, 0] ** 2 / (1.0 + x[:, 0] ** 2)  # A -> B
    h_bc = 1 - x[:, 1] ** 3 / (8.0 + x[:, 1] ** 3)  # B -| C
    h_ac = x[:, 0] ** 2 / (1.5**2 + x[:, 0] ** 2)  # A -> C
    add = _Kinetics(net, genes, basal, decay, "additive").production(x, 0.0, np.zeros_like(x))
    gate = _Kinetics(net, genes, basal, decay, "and").production(x, 0.0, np.zeros_like(x))
    np.testing.assert_allclose(add[:, 2], 0.3 + 1.5 * h_bc + 1.0 * h_ac)
    np.testing.assert_allclose(gate[:, 2], 0.3 + 2.5 * h_bc * h_ac)
    np.testing.assert_allclose(gate[:, 1], add[:, 1])  # one regulator: the same kinetics
    np.testing.assert_allclose(gate[:, 1], 0.2 + 2.0 * h_ab)


def test_simulate_network_records_and_checks_the_logic():
    kw = {"cells_per_time": 20, "n_timepoints": 3, "seed": 5}
    a = simulate_network(_chain(), logic="and", **kw)
    assert a.uns["simulation"]["logic"] == "and"
    assert simulate_network(_chain(), **kw).uns["simulation"]["logic"] == "additive"
    with pytest.raises(ConfigError, match="logic"):
        simulate_network(_chain(), logic="or", **kw)


def test_asynchrony_spreads_the_input_within_a_time_point():
    kw = {"cells_per_time": 150, "n_timepoints": 4, "seed": 3, "counts": False, "noise": 0.0}
    sync = simulate_network(_chain(), **kw)
    spread = simulate_network(_chain(), asynchrony=0.8, **kw)
    again = simulate_network(_chain(), asynchrony=0.0, **kw)
    np.testing.assert_array_equal(sync.X, again.X)  # 0 draws nothing: the default's cells
    assert spread.uns["simulation"]["asynchrony"] == 0.8
    last = sync.obs["time"] == sync.obs["time"].max()
    a = list(sync.var_names).index("A")  # the input gene
    cv = [
        np.std(ad.layers["latent"][last.values, a]) / np.mean(ad.layers["latent"][last.values, a])
        for ad in (sync, spread)
    ]
    assert cv[1] > 3 * cv[0]
    first = sync.obs["time"] == 0.0  # no input yet: the same start
    np.testing.assert_allclose(sync.X[first.values], spread.X[first.values])
    with pytest.raises(ConfigError, match="asynchrony"):
        simulate_network(_chain(), asynchrony=-1.0, **kw)


def test_hidden_activation_holds_targets_until_the_regulators_switch():
    net = pd.DataFrame({"source": ["A", "B"], "target": ["B", "C"], "sign": [1, 1]})
    kw = {"cells_per_time": 30, "n_timepoints": 11, "counts": False, "noise": 0.0, "seed": 0}
    plain = simulate_network(net, **kw)
    gated = simulate_network(net, hidden_activation=1.0, **kw)
    onset = gated.uns["simulation"]["activation_onset"]
    assert set(onset) == {"A", "B"} and all(0.1 <= v <= 0.9 for v in onset.values())
    assert (
        simulate_network(net, hidden_activation=0.0, **kw).uns["simulation"]["activation_onset"]
        == {}
    )

    def means(ad, gene):
        x = pd.Series(ad.layers["latent"][:, list(ad.var_names).index(gene)])
        return x.groupby(ad.obs["time"].to_numpy()).mean()

    np.testing.assert_allclose(means(gated, "A"), means(plain, "A"))  # A's own mRNA: unchanged
    b, switch = means(gated, "B"), onset["A"] * 10.0  # t_max 10
    before = b[b.index < switch - 1.0]
    assert len(before) >= 3 and np.allclose(before, b.iloc[0], rtol=0.05)  # A inactive: B waits
    assert means(plain, "B")[before.index[-1]] > 2 * b.iloc[0]  # ungated, B already rose
    assert b.iloc[-1] > 3 * b.iloc[0]  # after the switch B follows A
    with pytest.raises(ConfigError, match="hidden_activation"):
        simulate_network(net, hidden_activation=1.5, **kw)


def test_batch_bias_shifts_time_point_means_not_the_cells():
    kw = {"cells_per_time": 400, "n_timepoints": 3, "seed": 2, "nb_theta": 1e6, "library_sd": 0.0}
    plain = simulate_network(_chain(), **kw)
    again = simulate_network(_chain(), batch_sd=0.0, **kw)
    biased = simulate_network(_chain(), batch_sd=0.5, **kw)
    np.testing.assert_array_equal(plain.X, again.X)  # 0 draws nothing: the default's counts
    np.testing.assert_array_equal(plain.layers["latent"], biased.layers["latent"])  # same cells
    factor = biased.uns["simulation"]["batch_factor"]
    assert factor.shape == (3, plain.n_vars) and not np.allclose(factor, 1.0)
    t = plain.obs["time"].to_numpy()
    for k, tk in enumerate(np.unique(t)):  # each gene's mean count moves by its factor there
        m = t == tk
        ratio = biased.X[m].mean(0) / plain.X[m].mean(0)  # raw counts
        np.testing.assert_allclose(ratio, factor[k], rtol=0.15)
    with pytest.raises(ConfigError, match="batch_sd"):
        simulate_network(_chain(), batch_sd=-0.1, **kw)


def test_switching_cells_change_state_at_their_own_times():
    kw = {"cells_per_time": 300, "n_timepoints": 3, "seed": 4, "counts": False, "noise": 0.0}
    ramp = simulate_network(_chain(), **kw)
    np.testing.assert_array_equal(ramp.X, simulate_network(_chain(), switching=False, **kw).X)
    sw = simulate_network(_chain(), switching=True, t_max=50.0, **kw)
    assert sw.uns["simulation"]["switching"] is True
    a = list(sw.var_names).index("A")  # the input gene
    mid = (sw.obs["time"] == 25.0).to_numpy()  # half the course: about half the cells switched
    start = sw.layers["latent"][sw.obs["time"].to_numpy() == 0.0, a].mean()  # the input-free level
    waiting = np.abs(sw.layers["latent"][mid, a] - start) < 0.05 * start
    assert 0.35 < waiting.mean() < 0.65
    ramped = simulate_network(_chain(), t_max=50.0, **kw).layers["latent"][mid, a]
    assert not (np.abs(ramped - start) < 0.05 * start).any()  # the shared ramp moved every cell


def test_hidden_deactivation_lets_targets_move_before_their_regulator():
    net = pd.DataFrame({"source": ["A"], "target": ["B"], "sign": [1]})
    kw = {"cells_per_time": 30, "n_timepoints": 11, "counts": False, "noise": 0.0, "seed": 0}
    plain = simulate_network(net, **kw)
    off = simulate_network(net, hidden_deactivation=1.0, **kw)
    onset = off.uns["simulation"]["deactivation_onset"]
    assert set(onset) == {"A"} and 0.1 <= onset["A"] <= 0.5

    def means(ad, gene):
        x = pd.Series(ad.layers["latent"][:, list(ad.var_names).index(gene)])
        return x.groupby(ad.obs["time"].to_numpy()).mean()

    np.testing.assert_allclose(means(off, "A"), means(plain, "A"))  # A's own mRNA: unchanged
    late = means(off, "B").index > onset["A"] * 10.0 + 2.0  # t_max 10, past the switch
    assert late.sum() >= 3
    assert (means(off, "B")[late] < 0.5 * means(plain, "B")[late]).all()  # B lost its input
    with pytest.raises(ConfigError, match="hidden_deactivation"):
        simulate_network(net, hidden_deactivation=0.5, hidden_activation=0.5, **kw)
