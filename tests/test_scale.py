"""Out-of-core preparation, disk-backed training, inflation and W1 on large marginals."""

import anndata
import numpy as np
import pytest
import scipy.sparse as sp
from conftest import FAST

from grn_mnn import pp, scale
from grn_mnn.config import MNNConfig
from grn_mnn.distances import w1, w1_subsampled
from grn_mnn.errors import ConfigError, InputError, OutputExistsError
from grn_mnn.train import Snapshots, fit, take_rows

PP_KEYS = {
    "genes",
    "gene_index",
    "loadings",
    "gene_mean",
    "pc_scale",
    "times",
    "time_key",
    "time_unit",
    "n_pcs",
    "transform",
    "layer",
}


def _all_rows(snap):
    return take_rows(snap.z, np.arange(len(snap.t)))


def _angles_deg(w1_, w2_):
    s = np.linalg.svd(w1_.T @ w2_, compute_uv=False)
    return np.degrees(np.arccos(np.clip(s, -1.0, 1.0)))


# ----------------------------------------------------------------------------- NpyRows
def test_npy_rows_reads_any_rows_without_mmap(tmp_path):
    arr = np.arange(60, dtype=np.float32).reshape(20, 3)
    np.save(tmp_path / "a.npy", arr)
    rows = scale.NpyRows(tmp_path / "a.npy")
    assert rows.shape == (20, 3) and rows.dtype == np.float32
    idx = np.array([7, 3, 3, 19, 0, 8, 9])
    np.testing.assert_array_equal(rows[idx], arr[idx])
    np.testing.assert_array_equal(rows[2:11], arr[2:11])
    np.testing.assert_array_equal(rows[::4], arr[::4])
    np.testing.assert_array_equal(rows[-1], arr[-1])
    np.testing.assert_array_equal(take_rows(rows, idx), arr[idx])
    with pytest.raises(IndexError):
        rows[np.array([20])]
    np.save(tmp_path / "b.npy", np.zeros((2, 2, 2)))
    with pytest.raises(InputError, match="2-d"):
        scale.NpyRows(tmp_path / "b.npy")
    (tmp_path / "c.npy").write_text("not an array")
    with pytest.raises(InputError, match="not a .npy"):
        scale.NpyRows(tmp_path / "c.npy")


# ----------------------------------------------------------------------------- prepare_backed
def test_backed_h5ad_covariance_pca_equals_in_memory(sim, sim_h5ad, tmp_path):
    snap, mp = scale.prepare_backed(
        sim_h5ad, tmp_path / "z.npy", "time", 3, method="covariance", chunk_size=37
    )
    ref = sim.copy()
    pp.prepare(ref, time_key="time", n_pcs=3)
    info = ref.uns["grn_mnn"]
    assert PP_KEYS <= set(mp)
    assert mp["genes"] == info["genes"] and mp["gene_index"] == info["gene_index"]
    assert mp["transform"] == info["transform"] and mp["n_pcs"] == 3
    np.testing.assert_allclose(mp["times"], info["times"])
    np.testing.assert_allclose(mp["gene_mean"], info["gene_mean"], atol=1e-12)
    np.testing.assert_allclose(mp["loadings"], info["loadings"], atol=1e-8)
    np.testing.assert_allclose(mp["pc_scale"], info["pc_scale"], rtol=1e-10)
    assert isinstance(snap.z, scale.NpyRows)
    z = _all_rows(snap)
    x = pp.get_expression(ref)
    expect = (x - mp["gene_mean"]) @ mp["loadings"] / mp["pc_scale"]
    np.testing.assert_allclose(z, expect, atol=1e-5)
    np.testing.assert_allclose(snap.t, ref.obs["grn_mnn_time"].to_numpy())


@pytest.mark.filterwarnings("ignore:Writing zarr v2")
def test_incremental_pca_on_zarr_matches_full_pca_subspace(tmp_path):
    from grn_mnn.simulate import simulate_linear

    ad = simulate_linear(n_genes=12, rank=3, noise=0.05, cells_per_time=60, seed=0)
    ad.write_zarr(tmp_path / "lin.zarr")
    snap, mp = scale.prepare_backed(
        tmp_path / "lin.zarr", tmp_path / "z.zarr", "time", 3, method="incremental", chunk_size=50
    )
    ref = ad.copy()
    pp.prepare(ref, time_key="time", n_pcs=3)
    info = ref.uns["grn_mnn"]
    assert mp["pca_method"] == "incremental"
    # IncrementalPCA is approximate: the subspaces agree to a fraction of a degree here
    assert _angles_deg(mp["loadings"], info["loadings"]).max() < 0.1
    np.testing.assert_allclose(mp["loadings"].T @ mp["loadings"], np.eye(3), atol=1e-10)
    np.testing.assert_allclose(mp["pc_scale"], info["pc_scale"], rtol=1e-4)
    z = _all_rows(snap)
    x = pp.get_expression(ref)
    np.testing.assert_allclose(
        z, (x - mp["gene_mean"]) @ mp["loadings"] / mp["pc_scale"], atol=1e-5
    )


def test_sparse_counts_are_normalised_like_prepare(tmp_path):
    from grn_mnn.datasets import simulate

    ad = simulate(n_genes=10, n_timepoints=3, cells_per_time=30, counts=True, seed=1)
    ad.uns.pop("true_network", None)
    ad.X = sp.csr_matrix(ad.X)
    ad.write_h5ad(tmp_path / "c.h5ad")
    snap, mp = scale.prepare_backed(
        tmp_path / "c.h5ad", tmp_path / "z.npy", "time", 3, chunk_size=16
    )
    ref = ad.copy()
    pp.prepare(ref, time_key="time", n_pcs=3)
    info = ref.uns["grn_mnn"]
    assert mp["transform"] == info["transform"] == "normalize_total(median)+log1p"
    assert mp["genes"] == info["genes"]
    np.testing.assert_allclose(mp["loadings"], info["loadings"], atol=1e-8)
    np.testing.assert_allclose(_all_rows(snap), ref.obsm["X_grn_mnn"], atol=1e-5)


def test_backed_anndata_and_errors(sim_h5ad, tmp_path):
    backed = anndata.read_h5ad(sim_h5ad, backed="r")
    snap, mp = scale.prepare_backed(backed, tmp_path / "z.npy", "time", 2)
    backed.file.close()
    assert snap.z.shape == (len(snap.t), 2)
    with pytest.raises(OutputExistsError, match="overwrite"):
        scale.prepare_backed(sim_h5ad, tmp_path / "z.npy", "time", 2)
    with pytest.raises(InputError, match="not a column"):
        scale.prepare_backed(sim_h5ad, tmp_path / "y.npy", "nope", 2)
    with pytest.raises(InputError, match="backed"):
        scale.prepare_backed(anndata.read_h5ad(sim_h5ad), tmp_path / "x.npy", "time", 2)
    with pytest.raises(ConfigError, match="n_pcs"):
        scale.prepare_backed(sim_h5ad, tmp_path / "w.npy", "time", 500)
    with pytest.raises(ConfigError, match=".npy or .zarr"):
        scale.prepare_backed(sim_h5ad, tmp_path / "w.csv", "time", 2)
    assert not (tmp_path / "y.npy").exists() and not (tmp_path / "w.npy").exists()


# ----------------------------------------------------------------------------- training on disk
def test_training_on_disk_equals_training_in_memory(sim_h5ad, tmp_path):
    cfg = MNNConfig(n_pcs=3, **FAST)
    snap, _ = scale.prepare_backed(sim_h5ad, tmp_path / "z.npy", "time", 3)
    on_disk = fit(snap, cfg, progress=False).module.state_dict()
    in_mem = fit(Snapshots(_all_rows(snap), snap.t), cfg, progress=False).module.state_dict()
    for k in on_disk:
        np.testing.assert_array_equal(on_disk[k].numpy(), in_mem[k].numpy())


@pytest.mark.filterwarnings("ignore:Writing zarr v2")
def test_training_from_zarr_latent(sim, tmp_path):
    sim = sim.copy()
    sim.uns.pop("true_network", None)
    sim.write_zarr(tmp_path / "sim.zarr")
    snap, _ = scale.prepare_backed(tmp_path / "sim.zarr", tmp_path / "z.zarr", "time", 3)
    assert not isinstance(snap.z, np.ndarray)
    res = fit(snap, MNNConfig(n_pcs=3, **FAST), progress=False)
    assert res.epochs_run == FAST["max_epochs"]
    assert np.all(np.isfinite(res.history["train_loss"]))
    again = scale.open_latent(tmp_path / "z.zarr", snap.t)
    np.testing.assert_array_equal(_all_rows(again), _all_rows(snap))


# ----------------------------------------------------------------------------- inflation
def test_inflate_makes_noisy_copies_chunk_by_chunk(tmp_path):
    rng = np.random.default_rng(0)
    z = rng.standard_normal((50, 4))
    t = np.repeat([0.0, 1.0], 25)
    chunks = list(scale.inflate(z, t, factor=400, noise=0.1, seed=3, chunk_size=3000))
    assert [len(c[0]) for c in chunks] == [3000] * 6 + [2000]
    zz = np.vstack([c[0] for c in chunks])
    tt = np.concatenate([c[1] for c in chunks])
    src = np.arange(len(zz)) % 50
    np.testing.assert_array_equal(tt, t[src])
    resid = zz - z[src]
    assert abs(resid.std() - 0.1) < 0.002 and abs(resid.mean()) < 0.002
    snap = scale.write_inflated(tmp_path / "inf.npy", z, t, 400, seed=3, chunk_size=3000)
    np.testing.assert_array_equal(np.load(tmp_path / "inf.npy", mmap_mode="r"), zz)
    np.testing.assert_array_equal(snap.t, tt)
    other = np.vstack([c[0] for c in scale.inflate(z, t, 400, seed=4, chunk_size=3000)])
    assert not np.allclose(other, zz)
    with pytest.raises(OutputExistsError):
        scale.write_inflated(tmp_path / "inf.npy", z, t, 2)
    with pytest.raises(ConfigError):
        next(scale.inflate(z, t, factor=0))


# ----------------------------------------------------------------------------- W1 at scale
def test_subsampled_w1_is_close_to_exact_and_reports_its_size(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2000, 3))
    y = rng.standard_normal((2000, 3)) + np.array([1.5, 0.0, 0.0])
    exact = w1(x, y)
    est = w1_subsampled(x, y, size=500, n_repeats=5, seed=1)
    assert est["subsample_size"] == 500 and est["n_repeats"] == 5
    assert abs(est["w1"] - exact) / exact < 0.05
    assert est["w1_std"] > 0
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    np.save(tmp_path / "y.npy", y.astype(np.float32))
    disk = scale.w1_rows(
        scale.NpyRows(tmp_path / "x.npy"), scale.NpyRows(tmp_path / "y.npy"), size=500, seed=1
    )
    assert disk["subsample_size"] == 500
    assert abs(disk["w1"] - exact) / exact < 0.05
    # a time point of a disk-backed data set, without reading the rest
    snap = scale.open_latent(tmp_path / "x.npy", np.repeat([0.0, 1.0], 1000))
    sub = scale.RowSubset(snap.z, scale.rows_at_time(snap, 1.0))
    small = scale.w1_rows(sub, scale.NpyRows(tmp_path / "y.npy"), size=3000)
    assert small["n_repeats"] == 1
    assert small["w1"] == pytest.approx(w1(x[1000:], y), rel=1e-5)
