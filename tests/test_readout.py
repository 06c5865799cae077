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
    with pytest.raises(ConfigError, match="temperature"):
        readout.precedence(np.zeros(2), 1.0, temperature=float("nan"))
    flat = readout.precedence(np.array([0.0, 1.0, 2.0]), 2.0, temperature=float("inf"))
    np.testing.assert_array_equal(flat, 0.5)  # no time order


def test_regulator_timing_favours_early_regulators_whatever_the_target():
    tau = np.array([0.0, 1.0, 2.0, 0.5])
    src = np.array([0, 1, 2])  # gene 3 is a target only
    e = readout.regulator_timing(tau, src, span=2.0, temperature=0.3)
    assert e[0] > e[1] > e[2]  # earlier than the other candidate regulators -> higher
    assert e[1] == pytest.approx(0.5)  # gene 1 changes at the regulators' mean change time
    f = readout.time_factor(tau, src, 2.0, 0.3)  # the default time prior
    assert readout.DEFAULT_TIME_PRIOR == "regulator"
    np.testing.assert_allclose(f, np.broadcast_to(e, (4, 3)))  # one value per source
    # "pair" is the precedence of sessions 4-11; its logit is E's plus a term of the target
    pair = readout.time_factor(tau, src, 2.0, 0.3, time_prior="pair")
    np.testing.assert_allclose(pair, readout.precedence(tau, 2.0, 0.3)[:, src])
    logit = np.log(pair / (1 - pair)) - np.log(e / (1 - e))
    np.testing.assert_allclose(logit, np.repeat((tau - tau[src].mean())[:, None] / 0.6, 3, 1))
    inf = float("inf")
    np.testing.assert_array_equal(readout.regulator_timing(tau, src, 2.0, inf), 0.5)
    with pytest.raises(ConfigError, match="time_prior must be one of regulator, pair"):
        readout.time_factor(tau, src, 2.0, 0.3, time_prior="target")
    with pytest.raises(ConfigError, match="temperature"):
        readout.regulator_timing(tau, src, 2.0, temperature=-1.0)


def test_network_time_prior_pair_is_the_previous_default():
    ad = _ramps()
    pp.prepare(ad, "time", n_pcs=2)
    x, t = pp.get_expression(ad), ad.obs[pp.TIME_COL].to_numpy().astype(float)
    src = np.arange(3)
    signs = readout.DEFAULT_SIGNS
    key = ["target", "source"]
    for prior in ("pair", "regulator"):
        net = readout.network(ad, time_prior=prior, key_added=None).set_index(key)
        mat = readout.lagged_matrix(x, t, src, signs=signs, time_prior=prior)
        want = readout.matrix_table(mat, ["A", "B", "C"], src).set_index(key)
        np.testing.assert_allclose(net["weight"].sort_index(), want["weight"].sort_index())
        assert net.loc[("B", "A"), "abs_weight"] > net.loc[("A", "B"), "abs_weight"]
    pair = readout.network(ad, time_prior="pair", key_added=None).set_index(key)["weight"]
    default = readout.network(ad, key_added=None).set_index(key)["weight"]
    assert not np.allclose(pair.sort_index(), default.sort_index())
    with pytest.raises(ConfigError, match="time_prior"):
        readout.network(ad, time_prior="late", key_added=None)


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
    assert w[("A", "B")] > 0 and w[("A", "B")] > 1.3 * w[("B", "A")]  # A changes first
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


def test_median_ratio_factors_ignore_one_exploding_gene_the_total_does_not():
    rng = np.random.default_rng(0)
    counts = rng.poisson(20.0, size=(40, 30)).astype(float)
    counts[::2] *= 2.0  # every other cell captured twice as deeply
    counts[1, 0] = 5000.0  # one gene explodes in cell 1
    f = readout.median_ratio_factors(counts)
    total = counts.sum(axis=1) / np.median(counts.sum(axis=1))
    assert np.median(f) == pytest.approx(1.0)
    assert np.mean(f[2::2] / f[3::2]) == pytest.approx(2.0, rel=0.15)  # depth is recovered
    assert f[1] == pytest.approx(f[3], rel=0.3)
    assert total[1] > 5 * total[3]
    # exact for a positive matrix: the factors of y * a_cell are a_cell times those of y
    y = rng.gamma(2.0, 5.0, size=(30, 12))
    a = rng.uniform(0.5, 2.0, size=30)
    np.testing.assert_allclose(
        readout.median_ratio_factors(y * a[:, None]) / readout.median_ratio_factors(y),
        a / np.median(a * readout.median_ratio_factors(y)),
        rtol=1e-10,
    )
    empty = np.vstack([np.zeros(30), counts[1:]])
    assert readout.median_ratio_factors(empty)[0] == pytest.approx(
        1.0 / np.median(readout.median_ratio_factors(counts[1:]).tolist() + [1.0]), rel=0.1
    )
    with pytest.raises(InputError, match="non-negative"):
        readout.median_ratio_factors(-counts)


def _burst_counts(n=600, seed=0):
    """Counts of 12 independent genes; gene B bursts 30-fold in half of the cells."""
    rng = np.random.default_rng(seed)
    mean = np.full((n, 12), 30.0)
    burst = rng.random(n) < 0.5
    mean[burst, 0] *= 30.0
    depth = rng.lognormal(0.0, 0.3, size=(n, 1))
    counts = rng.poisson(mean * depth).astype(np.float32)
    times = np.where(burst, 1.0, 0.0)  # B changes between the two time points
    ad = AnnData(X=counts, obs=pd.DataFrame({"time": times}))
    ad.obs_names = [f"c{i}" for i in range(n)]
    ad.var_names = ["B", *[f"G{i}" for i in range(11)]]
    return ad


def test_ranking_of_counts_is_free_of_the_total_count_coupling():
    ad = _burst_counts()
    pp.prepare(ad, "time", n_pcs=3)
    assert ad.uns["grn_mnn"]["transform"] == pp.COUNTS_TRANSFORM

    def b_edges(**kw):
        net = readout.network(ad, sources=["B"], key_added=None, **kw)
        return net.set_index("target")["weight"]

    coupled = b_edges(size_factors="none")
    default = b_edges()
    # weight = r x precedence, and B and the others change in the same interval (P = 0.5)
    assert (coupled < -0.4).all()  # total counts: every gene falls when B bursts (r ~ -0.9)
    # median-ratio factors: the coupling is gone but for the one rank B moves the median by
    assert default.abs().max() < 0.15 and default.abs().max() < coupled.abs().min() / 5
    np.testing.assert_allclose(default, b_edges(size_factors="median-ratio"))


def test_ranking_expression_leaves_normalised_log_input_alone():
    ad = _ramps()
    pp.prepare(ad, "time", n_pcs=2)
    x = pp.get_expression(ad)
    info = ad.uns["grn_mnn"]
    assert info["transform"] != pp.COUNTS_TRANSFORM
    np.testing.assert_array_equal(readout.ranking_expression(x, info["transform"]), x)
    forced = readout.ranking_expression(x, info["transform"], "median-ratio")
    assert not np.allclose(forced, x)
    f = readout.median_ratio_factors(np.expm1(x))
    np.testing.assert_allclose(np.expm1(forced), np.expm1(x) / f[:, None])
    with pytest.raises(ConfigError, match="size_factors"):
        readout.ranking_expression(x, info["transform"], "total")


def _anti_fluctuating(n_per=100, seed=0):
    """A, B and C rise together over 4 time points; within a time point B moves against A,
    C independently of both."""
    rng = np.random.default_rng(seed)
    t = np.repeat([0.0, 1.0, 2.0, 3.0], n_per)
    wiggle = rng.standard_normal(len(t))
    a = 1.0 + 0.5 * t + 0.2 * wiggle
    b = 1.0 + 0.5 * t - 0.2 * wiggle + 0.05 * rng.standard_normal(len(t))
    c = 1.0 + 0.5 * t + 0.2 * rng.standard_normal(len(t))
    return np.column_stack([a, b, c]), t


def test_within_time_correlation_removes_the_shared_trend():
    x, t = _anti_fluctuating()
    src = np.array([0, 1, 2])
    pooled = readout.linear_correlation(x, src)
    within = readout.within_time_correlation(x, t, src)
    assert pooled[1, 0] > 0.5 and within[1, 0] < -0.9  # the trend hides the anti-coupling
    assert abs(within[2, 0]) < 0.15
    np.testing.assert_allclose(np.diag(within), 1.0)
    # one time point: the plain correlation of expm1(x)
    one = x[t == 0.0]
    np.testing.assert_allclose(
        readout.within_time_correlation(one, np.zeros(len(one)), src),
        np.corrcoef(np.expm1(one).T),
        atol=1e-12,
    )
    with pytest.raises(InputError, match="do not match"):
        readout.within_time_correlation(x, t[:-1], src)


def test_sign_score_takes_the_within_time_sign_only_where_it_is_significant():
    x, t = _anti_fluctuating()
    src = np.array([0])
    latent = readout.sign_score(x, t, src, "latent", sign_expression=x)
    within = readout.sign_score(x, t, src, "within")
    both = readout.sign_score(x, t, src, "latent+within", sign_expression=x)
    assert latent[1, 0] > 0 and within[1, 0] < 0 and both[1, 0] == within[1, 0]
    # C co-fluctuates with A by chance only (|r| sqrt(n - T) < 1.96): the trend's sign stays
    dof = len(t) - 4
    assert abs(within[2, 0]) * np.sqrt(dof) < readout.WITHIN_Z
    assert both[2, 0] == latent[2, 0] > 0
    pooled = readout.linear_correlation(x, src, readout.DEFAULT_WINSORIZE)
    np.testing.assert_allclose(readout.sign_score(x, t, src, "expression"), pooled)
    # the default falls back on the expression's own correlation (no latent space needed)
    default = readout.sign_score(x, t, src)
    assert readout.DEFAULT_SIGNS == "expression+within"
    assert default[1, 0] == within[1, 0] and default[2, 0] == pooled[2, 0]
    fake = np.full_like(pooled, -0.5)  # a precomputed all-cell correlation is used as given
    assert readout.sign_score(x, t, src, pooled=fake)[2, 0] == -0.5
    with pytest.raises(ConfigError, match="latent reconstruction"):
        readout.sign_score(x, t, src, "latent+within")
    with pytest.raises(ConfigError, match="signs must be"):
        readout.sign_score(x, t, src, "pooled")


def test_default_signs_follow_significant_within_time_coupling():
    x, t = _anti_fluctuating()
    ad = AnnData(X=x.astype(np.float32), obs=pd.DataFrame({"time": t}))
    ad.obs_names = [f"c{i}" for i in range(ad.n_obs)]
    ad.var_names = ["A", "B", "C"]
    pp.prepare(ad, "time", n_pcs=2)

    def weights(**kw):
        net = readout.network(ad, sources=["A"], key_added=None, **kw)
        return net.set_index("target")["weight"]

    default, latent, expr = weights(), weights(signs="latent"), weights(signs="expression")
    assert latent["B"] > 0 and expr["B"] > 0 and default["B"] < 0  # B moves against A within
    assert default["C"] == pytest.approx(expr["C"]) and default["C"] > 0
    np.testing.assert_allclose(default.abs(), latent.abs())  # the sign source ranks nothing
    old = weights(signs="latent+within")
    assert old["B"] == pytest.approx(default["B"]) and old["C"] == pytest.approx(latent["C"])
    # each edge carries its within-time z and where its sign came from
    net = readout.network(ad, sources=["A"], key_added=None).set_index("target")
    within = readout.within_time_correlation(pp.get_expression(ad), t, np.array([0]))
    z = within[:, 0] * np.sqrt(len(t) - 4)
    assert net.loc["B", "sign_z"] == pytest.approx(z[1]) and z[1] < -readout.WITHIN_Z
    assert net.loc["C", "sign_z"] == pytest.approx(z[2]) and abs(z[2]) < readout.WITHIN_Z
    assert (net.loc["B", "sign_from"], net.loc["C", "sign_from"]) == ("within", "expression")
    old_from = readout.network(ad, sources=["A"], signs="latent+within", key_added=None)
    assert set(old_from["sign_from"]) == {"within", "latent"}
    other = readout.network(ad, sources=["A"], signs="latent", key_added=None)
    assert set(other["sign_from"]) == {"latent"}
    np.testing.assert_allclose(other.set_index("target")["sign_z"], net["sign_z"])
    by_time = readout.network(ad, sources=["A"], by="time", key_added=None)
    first = by_time[by_time["time"] == 0.0].set_index("target")  # cells of times 0 and 1
    win = t <= 1.0
    w01 = readout.within_time_correlation(pp.get_expression(ad)[win], t[win], np.array([0]))
    assert first.loc["B", "sign_z"] == pytest.approx(w01[1, 0] * np.sqrt(win.sum() - 2))


def test_within_time_signs_resolve_the_confounded_edge_of_an_incoherent_ffl():
    from grn_mnn import simcases

    case = simcases.make_case("ffl_incoherent", 0)  # X -> Y, X -> Z, Y -| Z
    genes = list(case.adata.var_names)
    conc = np.log1p(np.asarray(case.adata.layers["latent"], dtype=float))  # noise-free
    t = case.adata.obs["time"].to_numpy()
    y, z = genes.index("Y"), genes.index("Z")
    src = np.array([y])
    # both follow X over time, so Y and Z correlate positively across all cells...
    assert readout.linear_correlation(conc, src)[z, 0] > 0.2
    # ...while within a time point more Y means less Z: the repression
    assert readout.within_time_correlation(conc, t, src)[z, 0] < 0


def test_winsorized_clips_each_gene_above_its_quantile():
    v = np.column_stack([np.arange(100.0), np.arange(100.0)[::-1] * 2])
    w = readout.winsorized(v, 0.9)
    np.testing.assert_allclose(w.max(axis=0), np.quantile(v, 0.9, axis=0))
    assert (w[v[:, 0] < 89, 0] == v[v[:, 0] < 89, 0]).all()  # below the quantile: untouched
    np.testing.assert_array_equal(readout.winsorized(v, 1.0), v)
    for bad in (0.5, 1.2, "0.9", True):
        with pytest.raises(ConfigError, match="winsorize must be a quantile"):
            readout.winsorized(v, bad)


def test_winsorizing_keeps_one_outlying_cell_from_deciding_a_correlation():
    rng = np.random.default_rng(0)
    n = 300
    a = rng.gamma(5.0, 1.0, n)
    b = a + rng.normal(0.0, 1.0, n)  # b follows a
    c = rng.gamma(5.0, 1.0, n)  # c is unrelated ...
    a[0], c[0] = 60.0, 60.0  # ... except in one cell where both burst
    x = np.log1p(np.column_stack([a, b, c]))
    src = np.array([0])
    plain = readout.linear_correlation(x, src)
    clipped = readout.linear_correlation(x, src, 0.98)
    assert plain[2, 0] > 0.5 and abs(clipped[2, 0]) < 0.15  # the burst alone made c follow a
    assert clipped[1, 0] > 0.6  # the real dependence stays
    assert clipped[1, 0] > clipped[2, 0] and plain[2, 0] > plain[1, 0]


def test_network_winsorize_one_is_the_unclipped_reading():
    ad = _ramps()
    pp.prepare(ad, "time", n_pcs=2)
    x, t = pp.get_expression(ad), ad.obs[pp.TIME_COL].to_numpy().astype(float)
    src = np.arange(3)

    def weights(net):
        return net.set_index(["target", "source"])["weight"].sort_index().to_numpy()

    def expected(q):
        mat = readout.lagged_matrix(x, t, src, signs=readout.DEFAULT_SIGNS, winsorize=q)
        tab = readout.matrix_table(mat, ["A", "B", "C"], src)
        return tab.set_index(["target", "source"])["weight"].sort_index().to_numpy()

    off = readout.network(ad, winsorize=1.0, key_added=None)
    np.testing.assert_allclose(weights(off), expected(1.0))
    r = readout.linear_correlation(x, src)
    e = readout.time_factor(readout.change_times(x, t), src, float(t.max() - t.min()))
    assert abs(weights(off)).max() == pytest.approx((np.abs(r) * e)[~np.eye(3, dtype=bool)].max())
    default = readout.network(ad, key_added=None)
    np.testing.assert_allclose(weights(default), expected(readout.DEFAULT_WINSORIZE))
    assert not np.allclose(weights(default), weights(off))
    with pytest.raises(ConfigError, match="winsorize"):
        readout.network(ad, winsorize=0.3, key_added=None)


def test_winsorized_by_chunks_equals_the_whole_matrix_at_once():
    rng = np.random.default_rng(1)
    v = rng.gamma(0.5, 3.0, size=(200, 37))
    whole = np.minimum(v, np.quantile(v, 0.95, axis=0))
    np.testing.assert_allclose(readout._clip_upper(v.copy(), 0.95, chunk=5), whole)
    np.testing.assert_allclose(readout.winsorized(v, 0.95), whole)
    assert not np.shares_memory(readout.winsorized(v, 0.95), v)  # the input is left alone


def test_within_time_resample_keeps_every_time_points_cells():
    t = np.repeat([0.0, 1.0, 5.0], [3, 4, 5])
    idx = readout.within_time_resample(t, np.random.default_rng(0))
    np.testing.assert_array_equal(np.sort(t[idx]), t)  # same number of cells per time point
    again = readout.within_time_resample(t, np.random.default_rng(0))
    np.testing.assert_array_equal(idx, again)


def test_sign_agreement_is_one_for_firm_signs_and_lower_for_a_coin_flip():
    x, t = _anti_fluctuating()
    rng = np.random.default_rng(1)
    d = 1.0 + 0.2 * rng.standard_normal(len(t))  # no trend, no coupling: its sign is chance
    x = np.column_stack([x, d])
    src = np.array([0])
    agree = readout.sign_agreement(x, t, src, n_boot=40, seed=0)
    assert agree[1, 0] == 1.0  # B against A: a significant within-time anti-coupling
    assert agree[2, 0] == 1.0  # C with A: the shared trend, a firm all-cell correlation
    assert 0.1 < agree[3, 0] < 0.9  # D: resampled cells flip its sign
    np.testing.assert_array_equal(agree, readout.sign_agreement(x, t, src, n_boot=40, seed=0))
    # agreement is counted against the given reference sign: all flipped -> 1 - agreement
    ref = -readout.sign_score(x, t, src)
    flipped = readout.sign_agreement(x, t, src, n_boot=40, seed=0, reference=ref)
    np.testing.assert_allclose(flipped[1:], 1.0 - agree[1:])
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ConfigError, match="sign_bootstraps"):
            readout.sign_agreement(x, t, src, n_boot=bad)


def test_network_adds_sign_agreement_only_when_asked():
    ad = _ramps()
    pp.prepare(ad, "time", n_pcs=2)
    plain = readout.network(ad, key_added=None)
    assert "sign_agreement" not in plain
    net = readout.network(ad, key_added=None, sign_bootstraps=10, seed=3)
    assert net.columns[-2:].tolist() == ["sign_agreement", "n_cells"]
    pd.testing.assert_frame_equal(net.drop(columns="sign_agreement"), plain)
    a = net["sign_agreement"].to_numpy()
    assert ((a >= 0) & (a <= 1)).all() and (a * 10 == np.round(a * 10)).all()
    top = net.iloc[0]
    assert (top["source"], top["target"], top["sign_agreement"]) == ("A", "B", 1.0)
    by = readout.network(ad, by="time", key_added=None, sign_bootstraps=5)
    assert by["sign_agreement"].notna().all()
    with pytest.raises(ConfigError, match="sign_bootstraps"):
        readout.network(ad, key_added=None, sign_bootstraps=-1)
