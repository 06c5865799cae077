"""Time-ordered co-expression (grn_mnn.readout), the default network of grn-mnn run."""

import numpy as np
import pandas as pd
import pytest
from anndata import AnnData

from grn_mnn import pp, readout
from grn_mnn.errors import ConfigError, InputError


def _ramps(n_per=60, seed=0):
    """A rises between t=0 and 1, B (driven by A) between 1 and 2, C is noise only."""
    rng = np.random.default_rng(seed)
    times = np.repeat([0.0, 1.0, 2.0, 3.0], n_per)
    a = np.clip(times, 0, 1) * 2 + 0.1 * rng.standard_normal(len(times))
    b = np.clip(times - 1, 0, 1) * 2 + 0.3 * a + 0.1 * rng.standard_normal(len(times))
    c = 0.1 * rng.standard_normal(len(times))
    x = np.column_stack([a, b, c]) + 1.0  # log-like, positive
    ad = AnnData(X=x.astype(np.float32), obs=pd.DataFrame({"time": times}))
    ad.obs_names = [f"c{i}" for i in range(ad.n_obs)]
    ad.var_names = ["A", "B", "C"]
    return ad


def test_change_times_weight_interval_midpoints():
    t = np.repeat([0.0, 1.0, 3.0], 4)
    x = np.zeros((12, 3))
    x[t >= 1.0, 0] = 1.0  # changes in [0, 1] only -> 0.5
    x[t >= 3.0, 1] = 2.0  # changes in [1, 3] only -> 2.0
    tau = readout.change_times(x, t)  # gene 2 never changes -> the middle, 1.5
    np.testing.assert_allclose(tau, [0.5, 2.0, 1.5])


def test_precedence_is_a_soft_order():
    p = readout.precedence(np.array([0.0, 1.0, 1.0]), span=2.0, temperature=0.3)
    np.testing.assert_allclose(p + p.T, 1.0)
    assert p[1, 0] > 0.5 > p[0, 1]  # gene 1 changes after gene 0: 0 -> 1 is favoured
    np.testing.assert_allclose(p[1, 2], 0.5)
    with pytest.raises(ConfigError, match="temperature"):
        readout.precedence(np.zeros(2), 1.0, temperature=0)


def test_linear_correlation_is_pearson_of_expm1():
    rng = np.random.default_rng(1)
    x = rng.random((50, 4))
    r = readout.linear_correlation(x, np.array([0, 2]))
    ref = np.corrcoef(np.expm1(x).T)[:, [0, 2]]
    np.testing.assert_allclose(r, ref, atol=1e-12)


def test_lagged_network_orients_a_correlated_pair_by_time():
    ad = _ramps()
    pp.prepare(ad, "time", n_pcs=2)
    net = readout.network(ad, key_added=None)
    w = {(s, t): v for s, t, v in net[["source", "target", "weight"]].itertuples(index=False)}
    assert w[("A", "B")] > 0 and w[("A", "B")] > 1.5 * w[("B", "A")]
    assert net.iloc[0][["source", "target"]].tolist() == ["A", "B"]
    assert (net["source"] != net["target"]).all() and len(net) == 6
    assert net["abs_weight"].is_monotonic_decreasing
    # without the timing (a huge temperature) both directions weigh the same
    flat = readout.network(ad, key_added=None, temperature=1e9)
    fw = {(s, t): v for s, t, v in flat[["source", "target", "weight"]].itertuples(index=False)}
    assert fw[("A", "B")] == pytest.approx(fw[("B", "A")], rel=1e-6)


def test_network_sources_by_time_and_storage():
    ad = _ramps()
    pp.prepare(ad, "time", n_pcs=2)
    net = readout.network(ad, sources=["A"], top_k=1)
    assert net["source"].unique().tolist() == ["A"] and len(net) == 1
    assert ad.uns["grn_mnn"]["networks"]["all"] is net
    by = readout.network(ad, by="time", key_added=None)
    assert sorted(by["time"].unique()) == [0.0, 1.0, 2.0, 3.0]
    assert (by.groupby("time").size() == 6).all()
    # the first window holds time points 0 and 1; the second 0, 1 and 2
    assert by.loc[by["time"] == 0.0, "n_cells"].iloc[0] == 120
    assert by.loc[by["time"] == 1.0, "n_cells"].iloc[0] == 180


def test_network_bad_options():
    ad = _ramps()
    pp.prepare(ad, "time", n_pcs=2)
    with pytest.raises(ConfigError, match="model="):
        readout.network(ad, timing="flow")
    with pytest.raises(ConfigError, match="timing"):
        readout.network(ad, timing="later")
    with pytest.raises(InputError, match="'time' only"):
        readout.network(ad, by="lineage")
    with pytest.raises(InputError, match="prepared"):
        readout.network(_ramps())


def test_flow_timing_reads_the_fitted_model(sim):
    from conftest import FAST

    import grn_mnn as gm

    pp.prepare(sim, "time", n_pcs=3)
    model = gm.CellMNN(sim, seed=0, **FAST).train(progress=False)
    tau = readout.flow_change_times(model, sim, n_sub=2)
    t = sim.obs[pp.TIME_COL].to_numpy()
    assert tau.shape == (sim.n_vars,) and (tau >= t.min()).all() and (tau <= t.max()).all()
    net = readout.network(sim, model=model, timing="flow", key_added=None)
    data = readout.network(sim, key_added=None)
    # same correlations, another timing: the same pairs with other weights
    assert set(zip(net.source, net.target, strict=True)) == set(
        zip(data.source, data.target, strict=True)
    )
    assert not np.allclose(
        net.sort_values(["source", "target"])["weight"],
        data.sort_values(["source", "target"])["weight"],
    )


def test_latent_signs_keep_the_magnitudes():
    ad = _ramps()
    pp.prepare(ad, "time", n_pcs=2)
    rec = readout.latent_reconstruction(ad)
    w = np.asarray(ad.uns["grn_mnn"]["loadings"]) * np.asarray(ad.uns["grn_mnn"]["pc_scale"])
    np.testing.assert_allclose(rec, ad.uns["grn_mnn"]["gene_mean"] + ad.obsm[pp.LATENT_KEY] @ w.T)
    lat = readout.network(ad, key_added=None).set_index(["source", "target"])
    raw = readout.network(ad, signs="expression", key_added=None).set_index(["source", "target"])
    raw = raw.loc[lat.index]
    np.testing.assert_allclose(lat["abs_weight"], raw["abs_weight"])
    # A and B rise together: both readings call A -> B an activation
    assert lat.loc[("A", "B"), "sign"] == raw.loc[("A", "B"), "sign"] == 1
    with pytest.raises(ConfigError, match="signs"):
        readout.network(ad, signs="both")
