"""Benchmark snapshot readers: whitening, .npz / .h5ad / bundled inputs, errors."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest

from grn_mnn import benchdata as bd
from grn_mnn.errors import ConfigError, InputError


def test_whitening_and_bundled_subset():
    data = bd.read_benchmark(None, n_pcs=5)
    assert data.z.shape == (2750, 5) and data.times.tolist() == [0, 1, 2, 3, 4]
    np.testing.assert_allclose(data.z.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(data.z.std(0), 1, atol=1e-5)
    assert data.interior() == [1, 2, 3]
    assert data.info["cells_per_time"][2.0] == 550


def test_read_npz_with_pcs_and_string_labels(tmp_path, cloud):
    x, t = cloud()
    labels = np.array([f"day{int(v)}" for v in t])
    np.savez(tmp_path / "eb.npz", pcs=x, sample_labels=labels)
    data = bd.read_benchmark(tmp_path / "eb.npz", n_pcs=2)
    assert data.z.shape == (100, 2)
    assert data.info["time_mapping"] == {"day0": 0.0, "day1": 1.0, "day2": 2.0, "day3": 3.0}
    np.savez(tmp_path / "bad.npz", foo=x)
    with pytest.raises(InputError, match="sample_labels"):
        bd.read_benchmark(tmp_path / "bad.npz")
    with pytest.raises(ConfigError, match="n-pcs"):
        bd.read_benchmark(tmp_path / "eb.npz", n_pcs=9)


def test_read_h5ad_embedding_and_genes(tmp_path, cloud):
    x, t = cloud(d=3)
    a = ad.AnnData(np.abs(np.random.default_rng(0).normal(size=(100, 12))))
    a.obs["day"] = t
    a.obsm["X_pca"] = x
    a.obsm["X_other"] = x[:, ::-1].copy()
    a.write_h5ad(tmp_path / "op.h5ad")
    d1 = bd.read_benchmark(tmp_path / "op.h5ad", n_pcs=3)
    assert d1.info["time_key"] == "day" and d1.info["embedding"] == "obsm['X_pca']"
    d2 = bd.read_benchmark(tmp_path / "op.h5ad", embedding="X_other", n_pcs=2)
    np.testing.assert_allclose(d2.z[:, 0], d1.z[:, 2], atol=1e-6)
    del a.obsm["X_pca"], a.obsm["X_other"]
    a.obs["time"] = pd.Categorical(a.obs["day"].astype(int).astype(str))
    a.write_h5ad(tmp_path / "genes.h5ad")
    d3 = bd.read_benchmark(tmp_path / "genes.h5ad", time_key="time", n_pcs=4)
    assert d3.z.shape == (100, 4) and "PCA" in d3.info["embedding"]
    with pytest.raises(InputError, match="obsm"):
        bd.read_benchmark(tmp_path / "genes.h5ad", embedding="X_umap")
    with pytest.raises(InputError, match="time key"):
        bd.read_benchmark(tmp_path / "genes.h5ad", time_key="nope")


def test_bundled_time_course_by_name():
    data = bd.read_benchmark("hepatocyte_camp2017", n_pcs=4)
    assert data.z.shape == (425, 4)
    np.testing.assert_allclose(data.times, [0.0, 6.0, 8.0, 14.0, 21.0])  # real days
    np.testing.assert_allclose(data.z.mean(0), 0.0, atol=1e-5)
    assert data.interior() == [1, 2, 3]
    with pytest.raises(InputError, match="hepatocyte_camp2017"):
        bd.read_dataset("no_such_course")
    with pytest.raises(ConfigError, match="bundled time course"):
        bd.read_benchmark("mesc_hayashi2018", time_key="day")
