"""Training loop: operator recovery, honest hold-out, checkpoint resume, replicas."""

import numpy as np
import pytest
import torch
from scipy.linalg import expm

from grn_mnn.config import MNNConfig
from grn_mnn.errors import ConfigError
from grn_mnn.module import CellMNNModule
from grn_mnn.train import Snapshots, SnapshotSampler, batch_loss, fit

SMALL = {
    "n_pcs": 2,
    "width": 16,
    "depth": 2,
    "batch_start_cells": 24,
    "batch_target_cells": 24,
    "steps_per_epoch": 2,
    "checkpoint_every": 1,
}


def _linear_system(b: np.ndarray, n: int = 150, seed: int = 0) -> Snapshots:
    """Snapshots of z(t) = expm(B t) z0, z0 ~ N(m, s^2 I), at t = 0, 0.5, ..., 2."""
    rng = np.random.default_rng(seed)
    d = b.shape[0]
    zs, ts = [], []
    for t in np.linspace(0.0, 2.0, 5):
        z0 = rng.normal(1.0, 0.5, size=(n, d))
        zs.append(z0 @ expm(b * t).T)
        ts.append(np.full(n, t))
    return Snapshots(np.vstack(zs), np.concatenate(ts))


def test_recovers_a_constant_linear_operator():
    b = np.array([[-0.3, 0.8, 0.0], [-0.8, -0.3, 0.2], [0.0, -0.2, 0.1]])
    data = _linear_system(b)
    cfg = MNNConfig(
        n_pcs=3,
        width=32,
        depth=2,
        lr=3e-3,
        lambda_kin=0.0,
        max_epochs=60,
        steps_per_epoch=10,
        batch_start_cells=100,
        batch_target_cells=100,
        patience=0,
        seed=0,
    )
    res = fit(data, cfg, progress=False)
    with torch.no_grad():
        a = res.module.operator(torch.from_numpy(data.z), torch.from_numpy(data.t).float())
    err = np.linalg.norm(a.mean(0).numpy() - b) / np.linalg.norm(b)
    assert err < 0.6, f"relative Frobenius error {err:.3f} (A = 0 gives 1.0)"


def test_holdout_time_never_enters_the_sampler():
    rng = np.random.default_rng(0)
    t = np.repeat([0.0, 1.0, 2.0, 3.0], 30)
    data = Snapshots(rng.normal(size=(120, 2)), t)
    smp = SnapshotSampler(data, holdout_times=[2.0], val_fraction=0.2, seed=0)
    held = np.flatnonzero(t == 2.0)
    assert not np.isin(smp.used_indices(), held).any()
    assert len(smp.used_indices()) == 90
    gen = torch.Generator().manual_seed(0)
    for split in ("train", "val"):
        for _ in range(20):
            b = smp.sample(40, 40, gen, split=split)
            drawn = np.concatenate([b["start"], *[x for x in b["targets"] if x is not None]])
            assert not np.isin(drawn, held).any()
    # the train and validation pools are disjoint
    assert not np.intersect1d(np.concatenate(smp.train_idx), np.concatenate(smp.val_idx)).size
    with pytest.raises(ConfigError):
        SnapshotSampler(data, holdout_times=[1.5])


def test_fit_never_draws_holdout_cells(monkeypatch):
    rng = np.random.default_rng(0)
    t = np.repeat([0.0, 1.0, 2.0], 30)
    data = Snapshots(rng.normal(size=(90, 2)), t)
    seen: list[np.ndarray] = []
    orig = SnapshotSampler.sample

    def spy(self, *args, **kwargs):
        b = orig(self, *args, **kwargs)
        seen.append(np.concatenate([b["start"], *[x for x in b["targets"] if x is not None]]))
        return b

    monkeypatch.setattr(SnapshotSampler, "sample", spy)
    fit(data, MNNConfig(**SMALL, max_epochs=2, patience=5), holdout_times=[1.0], progress=False)
    assert seen and not np.isin(np.concatenate(seen), np.flatnonzero(t == 1.0)).any()


def _toy(seed: int = 0) -> Snapshots:
    rng = np.random.default_rng(seed)
    t = np.repeat([0.0, 1.0, 2.0], 40)
    return Snapshots(rng.normal(size=(120, 2)) + t[:, None] * [1.0, -0.5], t)


def test_resume_gives_the_same_final_state(tmp_path):
    data = _toy()
    cfg = MNNConfig(**SMALL, max_epochs=6, patience=10, lr=1e-3)
    ref = fit(data, cfg, checkpoint=tmp_path / "d.pt", progress=False)
    fit(data, cfg.replace(max_epochs=3), checkpoint=tmp_path / "e.pt", progress=False)
    resumed = fit(data, cfg, checkpoint=tmp_path / "e.pt", resume=True, progress=False)
    assert resumed.epochs_run == ref.epochs_run == 6
    assert resumed.best_epoch == ref.best_epoch
    assert resumed.history["train_loss"] == pytest.approx(ref.history["train_loss"], rel=1e-6)
    for k, v in ref.module.state_dict().items():
        torch.testing.assert_close(resumed.module.state_dict()[k], v)


def test_replicas_are_the_mean_loss_of_independent_sub_batches():
    data = _toy(1)
    cfg = MNNConfig(
        **{**SMALL, "steps_per_epoch": 1}, max_epochs=1, replicas=2, patience=0, lr=1e-2
    )
    res = fit(data, cfg, progress=False)
    # the same step by hand: mean of the two sub-batch losses, clip, one AdamW step
    torch.manual_seed(cfg.seed)
    module = CellMNNModule(2, cfg)
    smp = SnapshotSampler(data, (), cfg.val_fraction, cfg.seed)
    gens = [torch.Generator().manual_seed(cfg.seed * 1_000_003 + r) for r in range(2)]
    opt = torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    dev = torch.device("cpu")
    losses = [batch_loss(module, data, smp, smp.sample(24, 24, g), cfg, dev)["loss"] for g in gens]
    ((losses[0] + losses[1]) / 2).backward()
    torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip)
    opt.step()
    for k, v in module.state_dict().items():
        torch.testing.assert_close(res.module.state_dict()[k], v)
    assert res.history["train_loss"][0] == pytest.approx(
        float((losses[0] + losses[1]).detach() / 2), rel=1e-5
    )


def test_path_kinetic_option_trains_and_differs_from_start_penalty():
    data = _toy(2)
    base = MNNConfig(**SMALL, max_epochs=2, patience=0, lambda_kin=1.0)
    a = fit(data, base, progress=False)
    b = fit(data, base.replace(kinetic_path_points=3), progress=False)
    assert np.isfinite(b.history["train_loss"]).all()
    assert b.history["kinetic"][0] != pytest.approx(a.history["kinetic"][0])
    with pytest.raises(ConfigError):
        base.replace(kinetic_path_points=-1).validate()


def test_backward_terms_push_later_cells_to_earlier_times():
    """With backward_weight w the loss adds w * gamma^(gap-1) * MMD^2 of later cells pushed back
    with expm(-A dt) against earlier cells; computed here by hand for a constant operator."""
    from grn_mnn.losses import mmd2

    b = np.array([[-0.2, 0.7], [-0.7, -0.2]])
    data = _linear_system(b, n=60)

    class Const(torch.nn.Module):
        def forward(self, z0, t0, ds, pair_cell, t1, energy_points=0):
            dt = (t1 - t0[pair_cell]).double().reshape(-1, 1, 1)
            m = torch.linalg.matrix_exp(torch.from_numpy(b) * dt).float()
            z1 = torch.bmm(m, z0[pair_cell].unsqueeze(-1)).squeeze(-1)
            a = torch.from_numpy(b).float().expand(len(z0), 2, 2)
            return a, None, z1, None

    cfg = MNNConfig(**SMALL, backward_weight=0.5, lambda_kin=0.0, gamma=0.3)
    smp = SnapshotSampler(data, holdout_times=[1.0], val_fraction=0.0, seed=0)
    batch = smp.sample(24, 24, torch.Generator().manual_seed(0), first_target=True)
    assert batch["targets"][0] is not None
    assert not np.isin(batch["targets"][0], np.flatnonzero(data.t == 1.0)).any()
    got = batch_loss(Const(), data, smp, batch, cfg, torch.device("cpu"))["mmd"].item()
    fwd_only = batch_loss(
        Const(), data, smp, batch, cfg.replace(backward_weight=0.0), torch.device("cpu")
    )["mmd"].item()
    # by hand: backward starts are the first 24 // 3 cells of each later target draw
    times = smp.times
    z = torch.from_numpy(data.z).float()
    back = 0.0
    for j in range(1, len(times)):
        start = batch["targets"][j][: 24 // (len(times) - 1)]
        for s in range(j):
            m = torch.from_numpy(expm(b * (times[s] - times[j]))).float()
            pred = z[start] @ m.T
            back += 0.5 * 0.3 ** (j - s - 1) * mmd2(pred, z[batch["targets"][s]]).item()
    assert got == pytest.approx(fwd_only + back / (len(times) - 1), rel=1e-4)
    # with the true operator the backward pushes land on the earlier marginals: the backward
    # terms are small next to those of the zero operator (cells left where they were)
    zero = np.zeros_like(b)
    b_saved = b.copy()
    b[:] = zero
    got_zero = batch_loss(Const(), data, smp, batch, cfg, torch.device("cpu"))["mmd"].item()
    b[:] = b_saved
    assert got < 0.5 * got_zero


def test_backward_training_runs_with_a_fixed_path_step():
    data = _toy(3)
    cfg = MNNConfig(**SMALL, max_epochs=2, patience=0, backward_weight=1.0, path_step=0.5)
    res = fit(data, cfg, progress=False)
    assert np.isfinite(res.history["train_loss"]).all()
    with pytest.raises(ConfigError):
        cfg.replace(backward_weight=-1.0).validate()
    with pytest.raises(ConfigError):
        cfg.replace(path_step=0.0).validate()


def _poison_after(orig, n_calls, poison):
    """Wrap ``orig(obj, ...)`` so that its output is passed through ``poison`` once more than
    ``n_calls`` calls were made in training mode (``obj.training``); returns (wrapper, counter)."""
    calls = {"n": 0}

    def wrapped(obj, *args, **kwargs):
        out = orig(obj, *args, **kwargs)
        if obj.training:
            calls["n"] += 1
            if calls["n"] > n_calls:
                out = poison(out)
        return out

    return wrapped, calls


def test_divergence_raises_or_stops_with_the_best_validated_state(monkeypatch):
    import grn_mnn.train as tr

    data = _toy(4)
    cfg = MNNConfig(**SMALL, max_epochs=6, patience=10, lr=1e-3)
    orig = tr.batch_loss

    def nan_loss(out):
        return {**out, "loss": out["loss"] * float("nan")}

    # the 4th training epoch diverges
    flaky, calls = _poison_after(orig, 3 * cfg.steps_per_epoch, nan_loss)
    monkeypatch.setattr(tr, "batch_loss", flaky)
    with pytest.raises(tr.TrainingError, match="epoch 4"):
        fit(data, cfg, progress=False)
    calls["n"] = 0
    with pytest.warns(RuntimeWarning, match="diverged"):
        res = fit(data, cfg.replace(on_divergence="stop"), progress=False)
    assert res.diverged and res.epochs_run == 3
    best = int(np.nanargmin(res.history["val_loss"])) + 1
    assert res.best_epoch == best
    monkeypatch.setattr(tr, "batch_loss", orig)
    ref = fit(data, cfg.replace(max_epochs=best, patience=0), progress=False)
    for k, v in ref.module.state_dict().items():
        torch.testing.assert_close(res.module.state_dict()[k], v)


@pytest.mark.parametrize("d", [2, 100])
@pytest.mark.parametrize("parameterization", ["direct", "eigen"])
def test_trains_at_both_ends_of_the_latent_dimension_range(d, parameterization):
    # n_pcs from 2 to 100 must work (the paper shows only 5): a decaying linear system in d dims
    rng = np.random.default_rng(0)
    b = -0.5 * np.eye(d) + 0.05 * rng.normal(size=(d, d))
    snaps = _linear_system(b, n=60)
    cfg = MNNConfig(**{**SMALL, "n_pcs": d}).replace(
        parameterization=parameterization, max_epochs=8, patience=0, lr=3e-3
    )
    res = fit(snaps, cfg, progress=False)
    hist = res.history["mmd"]
    assert len(hist) == 8 and np.isfinite(hist).all()
    assert np.mean(hist[-3:]) < np.mean(hist[:3])  # it learns, also at d = 100
    z = torch.as_tensor(snaps.z[:5])
    a = res.module.operator(z, torch.zeros(5)).detach()
    assert a.shape == (5, d, d) and torch.isfinite(a).all()
    out = res.module.propagate(z, torch.zeros(5), torch.ones(5)).detach()
    np.testing.assert_allclose(
        out.numpy(), (torch.matrix_exp(a) @ z.unsqueeze(-1)).squeeze(-1).numpy(), atol=1e-4
    )
    for bad in (1, 101):
        with pytest.raises(ConfigError, match="n_pcs"):
            MNNConfig(n_pcs=bad).validate()


@pytest.mark.parametrize("method", ["matrix", "action"])
def test_a_non_finite_operator_is_a_training_error_with_either_expm(monkeypatch, method):
    # a NaN operator must reach training's divergence handling, not escape as an exception
    from grn_mnn import train as tr
    from grn_mnn.module import CellMNNModule

    data = _toy(4)
    cfg = MNNConfig(**SMALL, max_epochs=4, patience=10, lr=1e-3, expm=method)
    orig = CellMNNModule.operator_parts

    def nan_operator(out):
        return out[0] * float("nan"), out[1]

    # the 3rd training epoch gets a NaN operator
    poisoned, calls = _poison_after(orig, 2 * cfg.steps_per_epoch, nan_operator)
    monkeypatch.setattr(CellMNNModule, "operator_parts", poisoned)
    with pytest.raises(tr.TrainingError, match="epoch 3"):
        fit(data, cfg, progress=False)
    calls["n"] = 0
    with pytest.warns(RuntimeWarning, match="diverged"):
        res = fit(data, cfg.replace(on_divergence="stop"), progress=False)
    assert res.diverged and res.epochs_run == 2


def test_gene_operator_l1_is_the_mean_off_diagonal_of_the_mean_gene_operator():
    from grn_mnn.losses import gene_operator_l1

    rng = np.random.default_rng(0)
    a = rng.normal(size=(5, 3, 3))
    u, v = rng.normal(size=(7, 3)), rng.normal(size=(3, 7))
    j = u @ a.mean(axis=0) @ v
    want = (np.abs(j).sum() - np.abs(np.diag(j)).sum()) / (7 * 6)
    got = gene_operator_l1(*(torch.as_tensor(x) for x in (a, u, v))).item()
    assert got == pytest.approx(want, rel=1e-12)
    # a diagonal operator read through the identity has no off-diagonal mass
    diag = torch.as_tensor(np.stack([np.diag(rng.normal(size=3)) for _ in range(4)]))
    eye = torch.eye(3, dtype=diag.dtype)
    assert gene_operator_l1(diag, eye, eye).item() == 0.0


def test_snapshot_factors_are_stored_once_as_float32_for_copy_free_batches():
    """batch_loss reads the factors every batch: stored as float32, torch shares their memory."""
    rng = np.random.default_rng(0)
    u, v = rng.normal(size=(6, 2)), rng.normal(size=(2, 6))
    snap = Snapshots(rng.normal(size=(4, 2)), np.arange(4.0), factors=(u, v))
    for got, want in zip(snap.factors, (u, v), strict=True):
        assert got.dtype == np.float32 and got.flags["C_CONTIGUOUS"]
        np.testing.assert_allclose(got, want, rtol=1e-6)
        assert np.shares_memory(torch.as_tensor(got, dtype=torch.float32).numpy(), got)
