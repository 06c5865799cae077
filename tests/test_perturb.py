"""Tests of grn_mnn.perturb: representation, dynamics, tables, outputs, bad input.

The gene-to-latent mapping, the clamps and the stable propagator are tested in
test_propagate.py; the fitted models ``full`` and ``part`` are fixtures of conftest.py."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grn_mnn import pp
from grn_mnn.errors import ConfigError, InputError
from grn_mnn.perturb import perturb, resolve_genes, write_results
from grn_mnn.simulate import simulate


def _recon(model, z, gene):
    mp = model.mapping
    i = list(mp["genes"]).index(gene)
    return mp["gene_mean"][i] + (z * mp["pc_scale"]) @ mp["loadings"][i]


# ----------------------------------------------------------------------------- representation
def test_representation_reports_achieved_versus_requested(full, part):
    for (_, adata, model), exact in ((full, True), (part, False)):
        res = perturb(model, adata, "TF2", knockout=True, start_time=0.0, progress=False)
        rep = res.representation.iloc[0]
        lev = float((model.mapping["loadings"][1] ** 2).sum())
        assert rep["requested"] < 0
        assert rep["fraction"] == pytest.approx(1.0 if exact else lev, abs=1e-8)
        t0 = res.table[(res.table["time"] == 0.0) & (res.table["gene"] == "TF2")].iloc[0]
        assert t0["delta"] == pytest.approx(rep["achieved"], abs=1e-10)
        assert res.settings["amplification"] > 0
        assert "grew" in res.summary() and f"{100 * rep['fraction']:.3g} %" in res.summary()


# ----------------------------------------------------------------------------- dynamics
@pytest.mark.parametrize("propagation", ["linear", "flow"])
def test_sustained_clamp_holds_at_every_grid_step_and_one_off_does_not(full, propagation):
    _, adata, model = full
    kw = {"knockout": True, "start_time": 0.0, "step": 0.5, "progress": False}
    held = perturb(model, adata, "TF1", propagation=propagation, **kw)
    assert len(held.grid) > len(held.settings["times"])  # a grid finer than the time points
    x_held = _recon(model, held.z_perturbed, "TF1")
    np.testing.assert_allclose(x_held, 0.0, atol=1e-6)
    once = perturb(model, adata, "TF1", propagation=propagation, sustained=False, **kw)
    x_once = _recon(model, once.z_perturbed, "TF1")
    np.testing.assert_allclose(x_once[0], 0.0, atol=1e-6)
    assert np.abs(x_once[1:]).max() > 1e-3  # the dynamics re-express the gene
    # the unperturbed arm is the same in both
    np.testing.assert_allclose(held.z_control, once.z_control)


def test_zero_perturbation_changes_nothing(part):
    _, adata, model = part
    for kw in ({"overexpress": 1.0}, {"shift_sd": 0.0}):
        for propagation in ("linear", "flow"):
            res = perturb(model, adata, "TF1", propagation=propagation, progress=False, **kw)
            assert np.abs(res.table["delta"]).max() < 1e-9
            assert np.abs(res.cell_shifts[["dx", "dy", "norm"]].to_numpy()).max() < 1e-9


def test_linear_control_is_the_models_own_prediction(part):
    from grn_mnn.perturb import stable_propagator

    _, adata, model = part
    t = adata.obs[pp.TIME_COL].to_numpy()
    z0 = adata.obsm[pp.LATENT_KEY][t == 0.0]
    raw = perturb(
        model, adata, "TF1", knockout=True, start_time=0.0, progress=False, response="raw"
    )
    np.testing.assert_allclose(raw.z_control[-1], model.predict(z0, 0.0, t.max()), atol=1e-6)
    # stable: the same closed form from the start, under the clipped operators
    res = perturb(model, adata, "TF1", knockout=True, start_time=0.0, progress=False)
    a = model.operators(z0, 0.0) * (t.max() / float(model.module.time_scale))
    want = np.einsum("nij,nj->ni", stable_propagator(a), z0)
    np.testing.assert_allclose(res.z_control[-1], want, atol=1e-6)
    assert res.settings["response"] == "stable" and raw.settings["response"] == "raw"
    with pytest.raises(ConfigError, match="response"):
        perturb(model, adata, "TF1", knockout=True, response="clipped", progress=False)


def test_gene_table_is_the_cell_mean_and_sd_of_the_difference(part):
    _, adata, model = part
    res = perturb(model, adata, "TF2", overexpress=3.0, progress=False)
    last = res.settings["times"][-1]
    r = len(res.settings["times"]) - 1
    k = int(np.argmin(np.abs(res.grid - last)))
    diff = pp.to_genes(adata, res.z_perturbed[k]) - pp.to_genes(adata, res.z_control[k])
    tab = res.table[res.table["time"] == last].set_index("gene")
    genes = list(model.mapping["genes"])
    np.testing.assert_allclose(tab.loc[genes, "delta"], diff.mean(axis=0), atol=1e-10)
    np.testing.assert_allclose(tab.loc[genes, "delta_sd"], diff.std(axis=0, ddof=1), atol=1e-8)
    assert list(res.table.columns[:4]) == ["gene", "time", "delta", "delta_sd"]
    assert r == len(res.table["time"].unique()) - 1


def test_fate_and_user_embedding(part):
    _, adata, model = part
    ad = adata.copy()
    t = ad.obs[pp.TIME_COL].to_numpy()
    ad.obs["phase"] = np.where(t < np.median(t), "early", "late")
    ad.obsm["X_umap"] = np.random.default_rng(0).normal(size=(ad.n_obs, 2))
    res = perturb(model, ad, "TF1", knockout=True, groupby="phase", basis="X_umap", progress=False)
    assert set(res.fate["group"]) == {"early", "late"}
    np.testing.assert_allclose(res.fate[["control", "perturbed"]].sum(), 1.0)
    np.testing.assert_allclose(res.fate["delta"], res.fate["perturbed"] - res.fate["control"])
    assert np.isfinite(res.cell_shifts[["x", "y", "dx", "dy"]].to_numpy()).all()
    assert "group" in res.background.columns


def test_write_results(part, tmp_path):
    _, adata, model = part
    res = perturb(model, adata, ["TF1", "TF2"], knockout=True, progress=False)
    files = write_results(res, tmp_path / "o", provenance={"model": "m.pt"})
    for name in ("perturbation.csv", "cell_shifts.csv", "representation.csv", "run.json"):
        assert (tmp_path / "o" / name).exists()
    assert (tmp_path / "o" / "plots" / "arrows.png").stat().st_size > 2000
    table = pd.read_csv(files["perturbation"])
    assert len(table) == len(model.mapping["genes"]) * len(res.settings["times"])
    with pytest.raises(Exception, match="already holds results"):
        write_results(res, tmp_path / "o")


# ----------------------------------------------------------------------------- bad input
def test_unknown_gene_suggests_close_names(part):
    _, adata, model = part
    with pytest.raises(InputError, match="unknown gene 'TF11'.*did you mean TF1"):
        perturb(model, adata, "TF11", knockout=True, progress=False)
    with pytest.raises(InputError, match="unknown gene 'XYZ'"):
        resolve_genes("XYZ", ["TF1", "G1"])


def test_gene_outside_the_pca(part):
    raw, _, model = part
    extra = raw.copy()
    extra = extra[:, :].copy()
    import anndata as ad

    more = ad.AnnData(
        np.hstack([np.asarray(extra.X), np.ones((extra.n_obs, 1), dtype=np.float32)]),
        obs=extra.obs,
    )
    more.var_names = list(extra.var_names) + ["CONST"]
    with pytest.raises(InputError, match="'CONST' is in the data but outside the model's PCA"):
        perturb(model, more, "CONST", knockout=True, progress=False)


@pytest.mark.parametrize(
    "start, match",
    [(99.0, "outside the data's time range"), (1.0, "not a time point"), (10.0, "last time")],
)
def test_bad_start_time(part, start, match):
    _, adata, model = part
    with pytest.raises(InputError, match=match):
        perturb(model, adata, "TF1", knockout=True, start_time=start, progress=False)


def test_model_from_other_data(part, full):
    _, adata_full, _ = full
    _, _, model = part
    with pytest.raises(InputError, match="fitted on other data"):
        perturb(model, adata_full, "TF1", knockout=True, progress=False)
    other = simulate(n_genes=5, n_timepoints=3, cells_per_time=10, seed=2)
    other.var_names = [f"X{i}" for i in range(5)]
    with pytest.raises(InputError, match="fitted on other data: 8 of its 8 genes"):
        perturb(model, other, "TF1", knockout=True, progress=False)


@pytest.mark.parametrize(
    "kw, err, match",
    [
        ({}, ConfigError, "exactly one perturbation"),
        ({"knockout": True, "overexpress": 2.0}, ConfigError, "exactly one perturbation"),
        ({"overexpress": 0.0}, ConfigError, "overexpress must be a finite number > 0"),
        ({"knockout": True, "step": -1.0}, ConfigError, "step must be a positive"),
        ({"knockout": True, "groupby": "nope"}, InputError, "groupby 'nope'"),
        ({"knockout": True, "basis": "X_nope"}, InputError, "basis 'X_nope'"),
        ({"knockout": True, "mapping": "nope"}, ConfigError, "mapping must be"),
    ],
)
def test_bad_settings(part, kw, err, match):
    _, adata, model = part
    with pytest.raises(err, match=match):
        perturb(model, adata, "TF1", progress=False, **kw)
