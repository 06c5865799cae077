"""Preprocessing: exact mapping back from PCs, counts vs log, checks with clear errors."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from grn_mnn import pp
from grn_mnn.errors import ConfigError, InputError


def make(n_cells=120, n_genes=30, seed=0, counts=False):
    rng = np.random.default_rng(seed)
    t = np.repeat([0.0, 12.0, 24.0], n_cells // 3)
    base = rng.gamma(2.0, 1.0, size=n_genes)
    drift = rng.normal(size=n_genes)
    lam = np.exp(np.log(base)[None] + 0.05 * t[:, None] * drift[None] / 24)
    x = rng.poisson(lam * 20) if counts else np.log1p(rng.poisson(lam * 5))
    adata = ad.AnnData(x.astype(np.float64))
    adata.obs["time"] = t
    adata.var_names = [f"G{i}" for i in range(n_genes)]
    return adata


def test_mapping_back_reproduces_data_in_pca_subspace():
    adata = make()
    pp.prepare(adata, "time", n_pcs=6)
    info = adata.uns["grn_mnn"]
    x = pp.get_expression(adata)
    w, mu = info["loadings"], info["gene_mean"]
    np.testing.assert_allclose(w.T @ w, np.eye(6), atol=1e-10)
    proj = mu + (x - mu) @ w @ w.T
    np.testing.assert_allclose(pp.to_genes(adata, adata.obsm["X_grn_mnn"]), proj, atol=1e-9)
    np.testing.assert_allclose(pp.to_latent(adata, x), adata.obsm["X_grn_mnn"], atol=1e-9)
    z = adata.obsm["X_grn_mnn"]
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-9)
    np.testing.assert_allclose(z.mean(axis=0), 0.0, atol=1e-9)
    assert info["times"].tolist() == [0.0, 12.0, 24.0]
    # PCs are ordered by explained variance
    assert np.all(np.diff(info["explained_variance_ratio"]) <= 1e-12)


def test_counts_are_normalised_log_data_kept():
    counts = make(counts=True)
    pp.prepare(counts, "time", n_pcs=3)
    assert counts.uns["grn_mnn"]["transform"].startswith("normalize_total")
    assert pp.LOG_LAYER in counts.layers
    assert np.allclose(counts.X, np.round(counts.X))  # X untouched
    logd = make()
    pp.prepare(logd, "time", n_pcs=3)
    assert logd.uns["grn_mnn"]["transform"] == "none"
    np.testing.assert_allclose(pp.get_expression(logd), logd.X)


def test_sparse_equals_dense():
    dense = make()
    sparse = dense.copy()
    sparse.X = sp.csr_matrix(sparse.X)
    pp.prepare(dense, "time", n_pcs=4)
    pp.prepare(sparse, "time", n_pcs=4)
    np.testing.assert_allclose(dense.obsm["X_grn_mnn"], sparse.obsm["X_grn_mnn"], atol=1e-8)


def test_constant_genes_dropped_and_hvg():
    adata = make()
    adata.X[:, 3] = 0.0
    pp.prepare(adata, "time", n_pcs=3)
    assert "G3" not in adata.uns["grn_mnn"]["genes"]
    assert adata.uns["grn_mnn"]["n_constant_genes_dropped"] == 1
    hv = make()
    pp.prepare(hv, "time", n_pcs=3, n_top_genes=10)
    assert len(hv.uns["grn_mnn"]["genes"]) == 10
    assert hv.uns["grn_mnn"]["loadings"].shape == (10, 3)


def test_time_labels():
    adata = make()
    adata.obs["stage"] = pd.Categorical(
        np.where(adata.obs["time"] == 0, "ipsc", np.where(adata.obs["time"] == 12, "de", "he"))
    )
    with pytest.raises(InputError, match="not numeric"):
        pp.prepare(adata, "stage", n_pcs=3)
    pp.prepare(adata, "stage", n_pcs=3, time_order={"ipsc": 0, "de": 6, "he": 8})
    assert adata.uns["grn_mnn"]["times"].tolist() == [0.0, 6.0, 8.0]
    adata.obs["num_cat"] = pd.Categorical(adata.obs["time"].astype(int).astype(str))
    pp.prepare(adata, "num_cat", n_pcs=3)
    assert adata.uns["grn_mnn"]["times"].tolist() == [0.0, 12.0, 24.0]


@pytest.mark.parametrize(
    "mutate, exc, match",
    [
        (lambda a: a, InputError, "available columns"),  # wrong key below
        (lambda a: a.obs.__setitem__("time", 1.0), InputError, "at least 2"),
        (lambda a: a.X.__setitem__((0, 0), np.nan), InputError, "NaN"),
        (lambda a: a.X.__setitem__((0, 0), np.inf), InputError, "infinite"),
        (lambda a: a.X.__setitem__((0, 0), -1.0), InputError, "negative"),
    ],
)
def test_bad_input_errors(mutate, exc, match):
    adata = make()
    mutate(adata)
    key = "day" if match == "available columns" else "time"
    with pytest.raises(exc, match=match):
        pp.prepare(adata, key, n_pcs=3)


def test_more_bad_inputs():
    adata = make()
    adata.var_names = ["A"] * adata.n_vars
    with pytest.raises(InputError, match="duplicated gene names"):
        pp.prepare(adata, "time", n_pcs=3)
    with pytest.raises(ConfigError, match="n_pcs"):
        pp.prepare(make(n_cells=30, n_genes=5), "time", n_pcs=8)
    few = make()
    few.obs.loc[few.obs_names[:38], "time"] = 12.0
    few.obs.loc[few.obs_names[38:40], "time"] = 99.0
    with pytest.raises(InputError, match="fewer than 3 cells"):
        pp.prepare(few, "time", n_pcs=3)
    with pytest.raises(InputError, match="expected an AnnData"):
        pp.prepare(np.zeros((3, 3)), "time")
    with pytest.raises(InputError, match="not been prepared"):
        pp.get_expression(make())


def test_project_reproduces_latent():
    adata = make()
    pp.prepare(adata, "time", n_pcs=4)
    other = make()
    pp.project(other, adata.uns["grn_mnn"], time_key="time")
    np.testing.assert_allclose(other.obsm["X_grn_mnn"], adata.obsm["X_grn_mnn"], atol=1e-9)
    missing = make()[:, :10].copy()
    with pytest.raises(InputError, match="missing"):
        pp.project(missing, adata.uns["grn_mnn"], time_key="time")


def test_log2_input_is_rescaled_to_natural_log1p():
    """log2(y + 1) input (--log-base 2 or scanpy's uns['log1p']['base']) becomes log1p(y):
    the linear-scale readings then see y, and the latent space does not move."""
    natural = make()
    log2 = natural.copy()
    log2.X = natural.X / np.log(2.0)  # log2(y + 1) of the same y
    pp.prepare(natural, "time", n_pcs=4)
    pp.prepare(log2, "time", n_pcs=4, log_base=2)
    info = log2.uns["grn_mnn"]
    assert info["log_base"] == 2.0 and info["transform"] == pp.log_base_transform(2.0)
    np.testing.assert_allclose(pp.get_expression(log2), natural.X, atol=1e-12)
    np.testing.assert_allclose(log2.obsm["X_grn_mnn"], natural.obsm["X_grn_mnn"], atol=1e-9)
    np.testing.assert_allclose(log2.X, natural.X / np.log(2.0))  # X untouched
    # scanpy's record of the base is read when log_base is not given
    recorded = natural.copy()
    recorded.X = natural.X / np.log(2.0)
    recorded.uns["log1p"] = {"base": 2}
    pp.prepare(recorded, "time", n_pcs=4)
    np.testing.assert_allclose(pp.get_expression(recorded), natural.X, atol=1e-12)
    # new data in the same base projects onto the same latent cells
    again = natural.copy()
    again.X = natural.X / np.log(2.0)
    pp.project(again, log2.uns["grn_mnn"], time_key="time")
    np.testing.assert_allclose(again.obsm["X_grn_mnn"], log2.obsm["X_grn_mnn"], atol=1e-9)
    # natural log (None in scanpy's record, or e) is left alone
    for rec in ({"base": None}, {"base": np.e}):
        same = make()
        same.uns["log1p"] = rec
        pp.prepare(same, "time", n_pcs=3)
        assert same.uns["grn_mnn"]["transform"] == "none"
        assert same.uns["grn_mnn"]["log_base"] is None


@pytest.mark.parametrize("base", [1.0, 0.5, -2, "two", float("nan")])
def test_bad_log_base_is_refused(base):
    with pytest.raises(ConfigError, match="log base must be a number > 1"):
        pp.prepare(make(), "time", n_pcs=3, log_base=base)


def test_log_base_on_counts_is_refused():
    with pytest.raises(ConfigError, match="raw counts"):
        pp.prepare(make(counts=True), "time", n_pcs=3, log_base=2)


def test_log2_values_read_as_natural_logs_are_flagged():
    """TPM-like cells (1e6 per cell) logged in base 2 would hold ~1e8 as natural logs."""
    rng = np.random.default_rng(0)
    y = rng.lognormal(0.0, 2.5, size=(90, 400))
    y = y / y.sum(axis=1, keepdims=True) * 1e6  # TPM
    assert pp.check_log_base(np.log1p(y)) is None
    msg = pp.check_log_base(np.log2(y + 1))
    assert msg is not None and "--log-base 2" in msg
    adata = ad.AnnData(np.log2(y + 1))
    adata.obs["time"] = np.repeat([0.0, 1.0, 2.0], 30)
    with pytest.warns(UserWarning, match="log2"):
        pp.prepare(adata.copy(), "time", n_pcs=3)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the base given: no warning, natural log1p stored
        pp.prepare(adata, "time", n_pcs=3, log_base=2)
    np.testing.assert_allclose(pp.get_expression(adata), np.log1p(y), rtol=1e-9, atol=1e-9)
