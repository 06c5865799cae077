"""Tests of grn_mnn.datasets: bundled loaders against the numbers in data/*/PROVENANCE.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grn_mnn import datasets
from grn_mnn.errors import ConfigError, GrnMnnError, InputError

UNS_KEYS = ("time_unit", "species", "dataset", "citation", "licence")


def _counts(adata) -> dict[float, int]:
    return adata.obs["time"].value_counts().sort_index().to_dict()


def _mean_by_time(adata, gene: str) -> pd.Series:
    col = np.asarray(adata[:, gene].X).ravel()
    return pd.Series(col).groupby(adata.obs["time"].to_numpy()).mean()


def _check_common(adata, unit: str, species: str) -> None:
    for key in UNS_KEYS:
        assert isinstance(adata.uns[key], str) and adata.uns[key]
    assert adata.uns["time_unit"] == unit
    assert adata.uns["species"] == species
    assert adata.obs["time"].dtype == np.float64
    assert adata.obs_names.is_unique and adata.var_names.is_unique
    assert all(isinstance(g, str) for g in adata.var_names)
    assert np.isfinite(np.asarray(adata.X)).all()


def test_data_dir_is_the_repository_data_folder(monkeypatch):
    monkeypatch.delenv("GRN_MNN_DATA", raising=False)
    d = datasets.data_dir()
    assert (d / "trrust" / "trrust_rawdata.human.tsv").is_file()
    assert d.name == "data"


def test_hepatocyte_camp2017():
    a = datasets.hepatocyte_camp2017()
    assert a.shape == (425, 1448)
    assert a.X.dtype == np.float32 and isinstance(a.X, np.ndarray)
    _check_common(a, "days", "human")
    assert _counts(a) == {0.0: 80, 6.0: 70, 8.0: 113, 14.0: 81, 21.0: 81}
    assert {"NANOG", "AFP", "ALB", "TTR"} <= set(a.var_names)
    assert a.obs_names[0] == "A10_de" and a.obs.loc["A10_de", "stage"] == "DE"
    assert list(a.obs["stage"].cat.categories) == ["iPSC", "DE", "HE", "IH", "MH"]
    assert (np.asarray(a.X) >= 0).all()
    # sanity values of PROVENANCE.md: cells and genes are aligned with the time labels
    nanog, afp, alb = (_mean_by_time(a, g) for g in ("NANOG", "AFP", "ALB"))
    assert nanog[0.0] == pytest.approx(4.9, abs=0.1) and nanog[21.0] < 0.1
    assert afp[0.0] == pytest.approx(0.6, abs=0.1) and afp[21.0] == pytest.approx(13.9, abs=0.1)
    assert alb[0.0] < 0.05 and alb[21.0] == pytest.approx(6.7, abs=0.1)
    # the values are log2(x + 1): as natural logs a cell would hold up to 1.3e8 TPM on these
    # 1,448 genes alone, as log2 at most 7.1e5 (< 1e6, as TPM must)
    x = np.asarray(a.X, dtype=float)
    assert a.uns["log1p"] == {"base": 2.0}
    assert (2.0**x - 1).sum(axis=1).max() < 1e6 < np.expm1(x).sum(axis=1).max()


def test_mesc_hayashi2018():
    a = datasets.mesc_hayashi2018()
    assert a.shape == (421, 1120)
    _check_common(a, "hours", "mouse")
    assert _counts(a) == {0.0: 90, 12.0: 68, 24.0: 90, 48.0: 82, 72.0: 91}
    assert {"GATA6", "NANOG", "SOX17", "PDGFRA"} <= set(a.var_names)
    assert all(g == g.upper() for g in a.var_names)
    assert a.obs_names[0].startswith("RamDA_mESC_00h_")
    nanog, gata6 = _mean_by_time(a, "NANOG"), _mean_by_time(a, "GATA6")
    assert nanog[0.0] == pytest.approx(2.9, abs=0.1) and nanog[72.0] < 0.15
    assert gata6[0.0] == pytest.approx(0.9, abs=0.1) and gata6[72.0] == pytest.approx(3.3, abs=0.1)
    assert a.uns["log1p"] == {"base": 2.0}  # BEELINE's log2(x + 1), as for hHEP


def test_hesc_chu2016():
    a = datasets.hesc_chu2016()
    assert a.shape == (758, 100)
    _check_common(a, "hours", "human")
    assert _counts(a) == {0.0: 92, 12.0: 102, 24.0: 66, 36.0: 172, 72.0: 138, 96.0: 188}
    assert {"GATA6", "NANOG", "SOX17"} <= set(a.var_names)
    assert "pseudotime" in a.obs


def test_mesc_scode_hayashi_train_and_test():
    a = datasets.mesc_scode_hayashi()
    assert a.shape == (356, 100)
    _check_common(a, "hours", "mouse")
    assert _counts(a) == {0.0: 70, 12.0: 66, 24.0: 70, 48.0: 74, 72.0: 76}
    assert list(a.var_names[:3]) == ["SOX2", "ESRRB", "UTF1"]
    assert (a.obs["split"] == "train").all()
    b = datasets.mesc_scode_hayashi(include_test=True)
    assert b.shape == (456, 100)
    assert b.obs["split"].value_counts().to_dict() == {"train": 356, "test": 100}
    test = b[b.obs["split"] == "test"]
    assert _counts(test) == {0.0: 22, 12.0: 25, 24.0: 23, 48.0: 13, 72.0: 17}
    np.testing.assert_array_equal(np.asarray(b.X[:356]), np.asarray(a.X))


def test_eb_subset():
    a = datasets.eb_subset()
    assert a.shape == (2750, 100)
    assert a.uns["time_unit"] == "label (0..4 = days 0-3 ... 24-27)"
    assert _counts(a) == {float(i): 550 for i in range(5)}
    assert a.obs["split"].value_counts().to_dict() == {"val": 1000, "test": 1750}
    np.testing.assert_array_equal(a.X, a.obsm["X_pca"])
    assert a.obsm["velocity"].shape == (2750, 100)
    assert 40 < a.X[:, 0].mean() < 60 and np.abs(a.X[:, 1:5].mean(axis=0)).max() < 10
    b = datasets.eb_subset(n_pcs=5)
    assert b.shape == (2750, 5) and list(b.var_names) == [f"PC{i}" for i in range(1, 6)]
    np.testing.assert_array_equal(b.X, a.X[:, :5])
    for bad in (0, 101, 2.5, True):
        with pytest.raises(ConfigError):
            datasets.eb_subset(n_pcs=bad)


@pytest.mark.parametrize(
    ("species", "rows", "modes"),
    [
        ("human", 9396, {"Activation": 3149, "Repression": 1922, "Unknown": 4325}),
        ("mouse", 7057, {"Activation": 2843, "Repression": 1354, "Unknown": 2860}),
    ],
)
def test_trrust(species, rows, modes):
    df = datasets.trrust(species)
    assert list(df.columns) == ["tf", "target", "mode", "pmids"]
    assert len(df) == rows
    assert df["mode"].value_counts().to_dict() == modes
    assert all(df[c].map(type).eq(str).all() for c in df.columns)


def test_trrust_bad_species():
    with pytest.raises(InputError, match="'human', 'mouse'"):
        datasets.trrust("rat")


def test_list_datasets_agrees_with_loaders():
    df = datasets.list_datasets()
    assert {"name", "species", "cells", "genes", "time_unit", "citation", "licence"} <= set(df)
    row = df.set_index("name").loc["mesc_hayashi2018"]
    a = datasets.mesc_hayashi2018()
    assert (row["cells"], row["genes"]) == a.shape
    assert row["time_unit"] == a.uns["time_unit"] and row["species"] == a.uns["species"]
    assert row["time_points"] == ", ".join(f"{t:g}" for t in sorted(a.obs["time"].unique()))


def test_missing_data_folder_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("GRN_MNN_DATA", str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="GRN_MNN_DATA"):
        datasets.data_dir()
    monkeypatch.setenv("GRN_MNN_DATA", str(tmp_path))
    assert datasets.data_dir() == tmp_path
    with pytest.raises(InputError, match="missing.*GRN_MNN_DATA"):
        datasets.hepatocyte_camp2017()


def test_damaged_files_raise_input_error(tmp_path, monkeypatch):
    (tmp_path / "trrust").mkdir()
    (tmp_path / "trrust" / "trrust_rawdata.human.tsv").write_text("A\tB\tActivation\n")
    (tmp_path / "eb_nlsb_subset").mkdir()
    (tmp_path / "eb_nlsb_subset" / "val_rna.npz").write_bytes(b"not a zip file")
    monkeypatch.setenv("GRN_MNN_DATA", str(tmp_path))
    with pytest.raises(InputError, match="4"):
        datasets.trrust("human")
    with pytest.raises(GrnMnnError, match="val_rna.npz"):
        datasets.eb_subset()


@pytest.mark.parametrize("folder", ["trrust", "scode", "eb_nlsb_subset", "timecourses"])
def test_shipped_files_match_their_checksums(folder):
    from grn_mnn._io import file_sha256

    root = datasets.data_dir() / folder
    sums = dict(
        reversed(line.split(None, 1))
        for line in (root / "SHA256SUMS").read_text().splitlines()
        if line.strip()
    )
    shipped = {
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and p.name not in ("PROVENANCE.md", "SHA256SUMS")
    }
    assert shipped == set(sums)  # every shipped file is listed, nothing listed is missing
    for name, digest in sums.items():
        assert file_sha256(root / name) == digest, name
        assert (root / name).stat().st_size < 5 * 2**20


def test_gpl_networks_are_not_shipped():
    assert not list(datasets.data_dir().rglob("network_*.csv*"))
    assert not (datasets.data_dir() / "beeline").exists()
