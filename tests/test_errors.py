"""Malformed input to the main entry points yields only GrnMnnError with a message."""

import anndata as ad
import numpy as np
import pandas as pd
import pytest
from conftest import FAST
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from grn_mnn import GrnMnnError, pipeline, pp
from grn_mnn.readers import read_input

MUTATIONS = [
    "none",
    "nan",
    "inf",
    "negative",
    "dup_genes",
    "one_time",
    "text_time",
    "missing_time",
    "tiny_group",
    "zero_genes",
    "all_zero",
    "empty",
    "sparse",
    "counts",
    "huge_pcs",
]


def _adata(draw_mut, n_cells, n_genes, seed):
    rng = np.random.default_rng(seed)
    x = rng.gamma(1.0, 1.0, size=(n_cells, n_genes))
    t = np.resize([0.0, 1.0, 2.0], n_cells)
    a = ad.AnnData(x)
    a.var_names = [f"G{i}" for i in range(n_genes)]
    a.obs["time"] = t
    n_pcs = 3
    # removing the time column and emptying come last
    for m in sorted(draw_mut, key=lambda m: (m == "missing_time", m == "empty")):
        if m == "nan":
            a.X[0, 0] = np.nan
        elif m == "inf":
            a.X[0, 0] = np.inf
        elif m == "negative":
            a.X[-1, -1] = -2.0
        elif m == "dup_genes":
            a.var_names = ["G0"] * n_genes
        elif m == "one_time":
            a.obs["time"] = 1.0
        elif m == "text_time":
            a.obs["time"] = np.resize(["early", "mid", "late"], n_cells)
        elif m == "missing_time":
            a.obs = a.obs.drop(columns=["time"], errors="ignore")
        elif m == "tiny_group":
            a.obs.loc[a.obs_names[0], "time"] = 99.0
        elif m == "zero_genes":
            a.X[:, : n_genes // 2] = 0.0
        elif m == "all_zero":
            a.X[:] = 0.0
        elif m == "empty":
            a = a[:0].copy()
        elif m == "sparse":
            import scipy.sparse as sp

            a.X = sp.csr_matrix(a.X)
        elif m == "counts":
            a.X = np.round(np.asarray(a.X.todense() if hasattr(a.X, "todense") else a.X) * 40)
        elif m == "huge_pcs":
            n_pcs = 1000
    return a, n_pcs


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    muts=st.lists(st.sampled_from(MUTATIONS), min_size=0, max_size=3),
    n_cells=st.integers(3, 30),
    n_genes=st.integers(1, 8),
    seed=st.integers(0, 5),
)
def test_prepare_only_raises_grn_mnn_errors(muts, n_cells, n_genes, seed):
    a, n_pcs = _adata(muts, n_cells, n_genes, seed)
    try:
        pp.prepare(a, "time", n_pcs=n_pcs)
    except GrnMnnError as exc:
        assert str(exc).strip()
    else:
        assert "X_grn_mnn" in a.obsm


@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
@given(muts=st.lists(st.sampled_from(MUTATIONS), min_size=1, max_size=2), seed=st.integers(0, 3))
def test_run_only_raises_grn_mnn_errors(muts, seed, tmp_path_factory):
    a, n_pcs = _adata(muts, 24, 6, seed)
    out = tmp_path_factory.mktemp("run")
    try:
        pipeline.run(
            a,
            out=out,
            reference="none",
            n_pcs=n_pcs,
            quiet=True,
            plots=False,
            overwrite=True,
            **FAST,
        )
    except GrnMnnError as exc:
        assert str(exc).strip()


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    content=st.binary(max_size=300),
    suffix=st.sampled_from([".h5ad", ".csv", ".tsv", ".zarr", ".xyz"]),
)
def test_garbage_files_only_raise_grn_mnn_errors(content, suffix, tmp_path_factory):
    path = tmp_path_factory.mktemp("f") / f"input{suffix}"
    path.write_bytes(content)
    with pytest.raises(GrnMnnError) as info:
        a = read_input(path, time_key="time")
        pp.prepare(a, "time", n_pcs=2)
    assert str(info.value).strip()


def test_csv_input_roundtrip(tmp_path):
    rng = np.random.default_rng(0)
    df = pd.DataFrame(rng.gamma(1, 1, size=(12, 4)), columns=list("ABCD"))
    df.insert(0, "time", np.resize([0, 1, 2], 12))
    df.index = [f"c{i}" for i in range(12)]
    df.to_csv(tmp_path / "x.csv")
    a = read_input(tmp_path / "x.csv", time_key="time")
    assert a.shape == (12, 4) and list(a.var_names) == list("ABCD")
    with pytest.raises(GrnMnnError, match="time column"):
        read_input(tmp_path / "x.csv", time_key="day")
