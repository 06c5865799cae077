"""The user-facing CellMNN class: training, queries, persistence, clear errors."""

import numpy as np
import pytest
from conftest import FAST

from grn_mnn import CellMNN, pp
from grn_mnn.errors import ConfigError, InputError


@pytest.fixture
def prepared(sim):
    pp.prepare(sim, "time", n_pcs=3)
    return sim


def test_train_query_save_load(prepared, tmp_path):
    model = CellMNN(prepared, **FAST).train(progress=False)
    a = model.operators()
    assert a.shape == (prepared.n_obs, 3, 3)
    assert np.isfinite(a).all()
    z = prepared.obsm["X_grn_mnn"][:5]
    zt = model.predict(z, 0.0, 1.0)
    assert zt.shape == (5, 3)
    # predict with dt = 0 is the identity
    np.testing.assert_allclose(model.predict(z, 2.0, 2.0), z, atol=1e-6)
    path = model.save(tmp_path / "m.pt")
    again = CellMNN.load(path, prepared)
    np.testing.assert_allclose(again.operators(), a, atol=1e-12)
    assert again.config == model.config
    assert len(model.history["train_loss"]) == FAST["max_epochs"]


def test_query_time_changes_operator(prepared):
    model = CellMNN(prepared, **{**FAST, "last_layer_scale": 1.0}).train(progress=False)
    z = prepared.obsm["X_grn_mnn"][:4]
    assert not np.allclose(model.operators(z, 0.0), model.operators(z, 50.0))


def test_errors(prepared, tmp_path, sim):
    with pytest.raises(InputError, match="not trained"):
        CellMNN(prepared, **FAST).operators()
    with pytest.raises(ConfigError, match="unknown configuration"):
        CellMNN(prepared, not_a_field=1)
    with pytest.raises(ConfigError, match="gamma"):
        CellMNN(prepared, gamma=2.0)
    bad = tmp_path / "bad.pt"
    bad.write_text("not a model")
    with pytest.raises(InputError, match="not a readable grn_mnn model"):
        CellMNN.load(bad)
    with pytest.raises(InputError, match="does not exist"):
        CellMNN.load(tmp_path / "missing.pt")
    with pytest.raises(InputError, match="not been prepared"):
        CellMNN(sim.copy().__class__(sim.X))


def test_diverging_training_is_reported_and_checkpoint_kept(prepared, tmp_path):
    from grn_mnn.errors import TrainingError

    ckpt = tmp_path / "ckpt.pt"
    model = CellMNN(
        prepared,
        **{
            **FAST,
            "max_epochs": 50,
            "lr": 1e4,
            "max_op_norm": 1e6,
            "last_layer_scale": 1.0,
            "grad_clip": 1e9,
            "checkpoint_every": 1,
        },
    )
    with pytest.raises(TrainingError, match=r"epoch \d+") as info:
        model.train(checkpoint=ckpt, progress=False)
    assert "kept" in str(info.value)
    assert ckpt.exists()


def test_fit_joint_shares_one_network_with_a_dataset_embedding(tmp_path):
    from grn_mnn.datasets import simulate
    from grn_mnn.model import fit_joint

    a = simulate(n_genes=10, n_timepoints=4, cells_per_time=30, seed=0)
    b = simulate(n_genes=14, n_timepoints=3, cells_per_time=30, t_max=5.0, seed=1)
    pp.prepare(a, "time", n_pcs=3)
    pp.prepare(b, "time", n_pcs=3)
    ma, mb = fit_joint([a, b], **{**FAST, "last_layer_scale": 1.0}, progress=False)
    assert ma.module is mb.module and ma.module.n_datasets == 2
    z = a.obsm["X_grn_mnn"][:5]
    # same cells, same time: the data-set embedding makes the operators differ
    assert not np.allclose(ma.operators(z, 1.0), mb.operators(z, 1.0))
    again = CellMNN.load(mb.save(tmp_path / "b.pt"), b)
    np.testing.assert_allclose(again.operators(), mb.operators(), atol=1e-12)
    with pytest.raises(InputError, match="same n_pcs"):
        c = simulate(n_genes=10, n_timepoints=3, cells_per_time=30, seed=2)
        pp.prepare(c, "time", n_pcs=4)
        fit_joint([a, c], **FAST, progress=False)


def test_operator_l1_makes_the_gene_operator_sparser(prepared):
    """The sparsity penalty shrinks the off-diagonal gene-level operator of the same fit."""
    from grn_mnn.extract import gene_factors

    def off_diagonal_l1(lam: float) -> float:
        cfg = {**FAST, "last_layer_scale": 1.0, "max_epochs": 40, "patience": 0}
        model = CellMNN(prepared, **cfg, operator_l1=lam, seed=0).train(progress=False)
        u, v = gene_factors(model.mapping)
        j = u @ model.operators().mean(axis=0) @ v
        return float(np.abs(j).sum() - np.abs(np.diag(j)).sum())

    assert off_diagonal_l1(10.0) < 0.8 * off_diagonal_l1(0.0)


def test_operator_l1_needs_the_pca_factors(prepared):
    from grn_mnn.config import MNNConfig
    from grn_mnn.train import Snapshots, fit

    z, t = prepared.obsm["X_grn_mnn"], prepared.obs["grn_mnn_time"].to_numpy()
    cfg = MNNConfig(n_pcs=3, operator_l1=1.0, **FAST)
    with pytest.raises(ConfigError, match="needs the PCA loadings"):
        fit(Snapshots(z, t), cfg, progress=False)
    with pytest.raises(ConfigError, match=r"must be \(genes, 3\) and \(3, genes\)"):
        fit(Snapshots(z, t, factors=(np.ones((8, 3)), np.ones((8, 3)))), cfg, progress=False)
    big = (np.ones((5001, 3)), np.ones((3, 5001)))
    with pytest.raises(ConfigError, match="panels of up to 5000 genes"):
        fit(Snapshots(z, t, factors=big), cfg, progress=False)
    with pytest.raises(ConfigError, match="operator_l1"):
        MNNConfig(operator_l1=-1.0).validate()
    # the model fills them in for snapshots it is given (the backed run's on-disk latent)
    snap = Snapshots(z, t)
    model = CellMNN(prepared, **FAST, operator_l1=1.0).train(progress=False, snapshots=snap)
    assert model.result.epochs_run == FAST["max_epochs"] and snap.factors is None
