"""Extraction: J = W S A S^-1 W^T is exact, factored top-k equals dense, readings, groups."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
import torch
from scipy.linalg import expm

from grn_mnn import extract, pp
from grn_mnn.config import MNNConfig
from grn_mnn.errors import ConfigError, InputError
from grn_mnn.module import CellMNNModule


def linear_system(n_genes=12, rank=3, seed=0):
    """Cells of a linear system x(t) = mu + U expm(B t) c0: gene operator J = U B U^T."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.normal(size=(n_genes, rank)))
    b = np.array([[-0.3, 1.0, 0.0], [-1.0, -0.3, 0.2], [0.0, -0.2, 0.1]])[:rank, :rank]
    mu = rng.uniform(4, 6, n_genes)
    t = np.repeat([0.0, 0.5, 1.0, 1.5], 60)
    c0 = rng.normal([2.0, 0.0, 1.0][:rank], 0.5, size=(len(t), rank))
    x = np.stack([mu + u @ expm(b * ti) @ c for ti, c in zip(t, c0, strict=True)])
    adata = ad.AnnData(x)
    adata.obs["time"] = t
    adata.var_names = [f"g{i}" for i in range(n_genes)]
    return adata, u @ b @ u.T


class FixedOperator:
    """A model whose operator is one known latent matrix for every cell (a test double)."""

    def __init__(self, a, mapping):
        self.a, self.mapping = a, mapping

    def operators(self, z, t):
        return np.repeat(self.a[None], len(z), axis=0)


def latent_of(adata, j_gene):
    info = adata.uns["grn_mnn"]
    w, s = info["loadings"], info["pc_scale"]
    return np.diag(1 / s) @ w.T @ j_gene @ w @ np.diag(s)


def test_extracted_operator_equals_known_gene_operator():
    adata, j_true = linear_system()
    pp.prepare(adata, "time", n_pcs=3)
    a = latent_of(adata, j_true)
    j = extract.gene_operator(adata.uns["grn_mnn"], a)
    np.testing.assert_allclose(j, j_true, atol=1e-10)
    # and the dynamics agree: dx/dt = J (x - mu) equals W S (A z)
    x = pp.get_expression(adata)
    z = adata.obsm["X_grn_mnn"]
    info = adata.uns["grn_mnn"]
    np.testing.assert_allclose(
        (x - info["gene_mean"]) @ j.T, (z @ a.T * info["pc_scale"]) @ info["loadings"].T, atol=1e-8
    )


def test_convention_rows_are_targets():
    adata, j_true = linear_system()
    pp.prepare(adata, "time", n_pcs=3)
    model = FixedOperator(latent_of(adata, j_true), adata.uns["grn_mnn"])
    df = extract.network(model, adata, key_added=None)
    row = df.iloc[0]
    genes = list(adata.var_names)
    assert row["weight"] == pytest.approx(
        j_true[genes.index(row["target"]), genes.index(row["source"])]
    )


def test_operator_read_is_operator_propagated():
    torch.manual_seed(0)
    for param in ("direct", "eigen"):
        cfg = MNNConfig(n_pcs=4, parameterization=param, last_layer_scale=1.0)
        m = CellMNNModule(4, cfg)
        z = torch.randn(6, 4)
        t = torch.rand(6)
        a = m.operator(z, t)
        z1 = m.propagate(z, t, t + 0.3)
        ref = torch.bmm(torch.linalg.matrix_exp(a * 0.3), z.unsqueeze(-1)).squeeze(-1)
        torch.testing.assert_close(z1, ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("top_k", [1, 3, 7])
def test_topk_matches_dense(top_k):
    adata, _ = linear_system(n_genes=15)
    pp.prepare(adata, "time", n_pcs=3)
    rng = np.random.default_rng(1)
    a_cells = rng.normal(size=(20, 3, 3))
    mapping = adata.uns["grn_mnn"]
    dense = extract.gene_operator(mapping, a_cells.mean(0))
    df = extract.edge_table(mapping, a_cells, top_k=top_k, block=4)
    genes = np.asarray(mapping["genes"])
    for s in range(len(genes)):
        col = dense[:, s].copy()
        col[s] = 0
        order = np.argsort(-np.abs(col))[:top_k]
        got = df[df["source"] == genes[s]]
        assert set(got["target"]) == set(genes[order])
        np.testing.assert_allclose(np.sort(got["weight"].to_numpy()), np.sort(col[order]))


def test_global_top_n_matches_dense_and_excludes_self_loops():
    adata, _ = linear_system(n_genes=15)
    pp.prepare(adata, "time", n_pcs=3)
    rng = np.random.default_rng(2)
    a_cells = rng.normal(size=(5, 3, 3))
    mapping = adata.uns["grn_mnn"]
    dense = extract.gene_operator(mapping, a_cells.mean(0))
    np.fill_diagonal(dense, 0)
    df = extract.edge_table(mapping, a_cells, top_n=10, block=3)
    expect = np.sort(np.abs(dense).ravel())[::-1][:10]
    np.testing.assert_allclose(df["abs_weight"].to_numpy(), expect)
    assert (df["source"] != df["target"]).all()
    assert list(df["rank"]) == list(range(1, 11))
    full = extract.edge_table(mapping, a_cells)
    assert len(full) == 15 * 14


def test_contribution_reading_matches_per_cell_dense():
    adata, _ = linear_system(n_genes=8)
    pp.prepare(adata, "time", n_pcs=3)
    mapping = adata.uns["grn_mnn"]
    rng = np.random.default_rng(3)
    a_cells = rng.normal(size=(30, 3, 3))
    delta = rng.normal(size=(30, 8))
    df = extract.edge_table(mapping, a_cells, reading="contribution", delta=delta)
    ref = np.mean(
        [
            extract.gene_operator(mapping, a) * d[None, :]
            for a, d in zip(a_cells, delta, strict=True)
        ],
        axis=0,
    )
    genes = list(mapping["genes"])
    for r in df.head(20).itertuples():
        assert r.weight == pytest.approx(ref[genes.index(r.target), genes.index(r.source)])


def test_edge_values_per_cell_and_by_time():
    adata, j_true = linear_system()
    pp.prepare(adata, "time", n_pcs=3)
    mapping = adata.uns["grn_mnn"]
    rng = np.random.default_rng(4)
    a_cells = rng.normal(size=(4, 3, 3))
    vals = extract.edge_values_per_cell(mapping, a_cells, np.array([0, 2]), np.array([5, 1]))
    for c in range(4):
        j = extract.gene_operator(mapping, a_cells[c])
        np.testing.assert_allclose(vals[c], [j[5, 0], j[1, 2]])
    model = FixedOperator(latent_of(adata, j_true), mapping)
    by = extract.network(model, adata, by="time", top_n=5)
    assert sorted(by["time"].unique()) == [0.0, 0.5, 1.0, 1.5]
    assert (by.groupby("time").size() == 5).all()
    assert "time" in adata.uns["grn_mnn"]["networks"]


def test_sources_and_groups():
    adata, j_true = linear_system()
    pp.prepare(adata, "time", n_pcs=3)
    adata.obs["cluster"] = np.where(np.arange(adata.n_obs) % 2 == 0, "a", "b")
    model = FixedOperator(latent_of(adata, j_true), adata.uns["grn_mnn"])
    df = extract.network(model, adata, by="cluster", sources=["g1", "G2"], key_added=None)
    assert set(df["source"]) == {"g1", "g2"}
    assert set(df["group"]) == {"a", "b"}
    with pytest.raises(InputError, match="none of the"):
        extract.network(model, adata, sources=["nope"], key_added=None)
    with pytest.raises(InputError, match="obs column"):
        extract.network(model, adata, by="missing", key_added=None)


def test_ensemble_stability():
    a = pd.DataFrame(
        {"source": ["x", "x", "y"], "target": ["y", "z", "z"], "weight": [1.0, -2.0, 0.5]}
    )
    b = a.assign(weight=a["weight"] * 2)
    c = a.assign(weight=-a["weight"])
    mean, stats = extract.ensemble([a, b])
    assert stats["mean_spearman"] == pytest.approx(1.0)
    assert (mean["sign_agreement"] == 1.0).all()
    assert mean.iloc[0]["weight"] == pytest.approx(-3.0)
    _, stats2 = extract.ensemble([a, c])
    assert stats2["mean_spearman"] == pytest.approx(-1.0)


def test_ensemble_network_averages_operators():
    adata, j_true = linear_system()
    pp.prepare(adata, "time", n_pcs=3)
    mapping = adata.uns["grn_mnn"]
    a = latent_of(adata, j_true)
    m1, m2 = FixedOperator(a, mapping), FixedOperator(-0.5 * a, mapping)
    mean, stats = extract.ensemble_network([m1, m2], adata, top_n=10)
    # the mean operator is 0.25 a, so the network is 0.25 J
    ref = extract.network(FixedOperator(0.25 * a, mapping), adata, top_n=10, key_added=None)
    np.testing.assert_allclose(mean["weight"], ref["weight"])
    assert stats["mean_spearman"] == pytest.approx(-1.0)  # the two fits disagree in sign
    other = FixedOperator(a, {**mapping, "loadings": mapping["loadings"][:, ::-1]})
    with pytest.raises(InputError, match="different genes or PCA"):
        extract.ensemble_network([m1, other], adata)


def test_dense_operator_refuses_large_panels_and_names_the_limit():
    from grn_mnn.extract import DENSE_LIMIT, gene_operator

    mapping = {"loadings": np.ones((DENSE_LIMIT + 1, 2)), "pc_scale": np.ones(2)}
    with pytest.raises(ConfigError, match=f"panels above {DENSE_LIMIT} genes"):
        gene_operator(mapping, np.eye(2))
