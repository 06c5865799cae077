"""The Cell-MNN training loop: batches, loss assembly, honest early stopping, checkpoints.

Honesty rules enforced here:

* held-out time points never enter the sampler (not for training, validation or stopping);
* early stopping and model selection use a validation split of cells of the *training* time
  points only.

A batch takes ``batch_start_cells`` start cells spread evenly over the training time points
except the last and ``batch_target_cells`` cells of every training time point as the observed
population. Every start cell is propagated to every later training time point and the loss is

The fit term is the mean over start time points s of sum_{j>s} gamma^(j-s-1) MMD^2(Z_s->j, Z_j),
plus lambda_kin * mean ||A z||^2 at the start cells (or, with ``kinetic_path_points > 0``, the
time-averaged squared speed along every start cell's path to the next training time point)
(+ lambda_inv * mean 1/(|det P| + 1e-4) for the eigen form)
(+ operator_l1 * mean |J| off the diagonal of the batch's gene-level operator, if set).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import time
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from .config import MNNConfig
from .errors import ConfigError, InputError, TrainingError
from .losses import GENE_L1_MAX_GENES, gene_operator_l1, kinetic, mmd2
from .module import CellMNNModule, invertibility_penalty


class _Diverged(Exception):
    """Internal: the loss became non-finite and ``on_divergence='stop'`` applies."""


class TrainingInterrupted(TrainingError):
    """Training was stopped by SIGINT/SIGTERM after writing a checkpoint."""

    exit_code = 130


# ----------------------------------------------------------------------------- data / sampler
@dataclass
class Snapshots:
    """Latent snapshots of one data set: z (n, d), time (n,), and a data-set id.

    ``factors`` = (W S, S^-1 W^T), the PCA factors that map a latent operator to genes
    (:func:`grn_mnn.extract.gene_factors`); only ``MNNConfig.operator_l1 > 0`` needs them.
    """

    z: np.ndarray
    t: np.ndarray
    dataset: int = 0
    factors: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        # in-memory arrays are converted; np.memmap / h5py / zarr arrays are read per batch
        if not hasattr(self.z, "shape") or isinstance(self.z, list):
            self.z = np.asarray(self.z, dtype=np.float32)
        elif isinstance(self.z, np.ndarray) and not isinstance(self.z, np.memmap):
            self.z = np.asarray(self.z, dtype=np.float32)
        self.t = np.asarray(self.t, dtype=np.float64)
        if len(self.z.shape) != 2 or self.z.shape[0] != len(self.t):
            raise InputError(
                f"z must be (cells, d) and t (cells,), got {self.z.shape}, {self.t.shape}"
            )
        if not np.isfinite(self.t).all():
            raise InputError("times contain NaN/inf")
        if isinstance(self.z, np.ndarray) and not np.isfinite(self.z).all():
            raise InputError("latent coordinates contain NaN/inf")
        if self.factors is not None:  # float32 once, so every batch reads them without a copy
            self.factors = tuple(np.ascontiguousarray(f, dtype=np.float32) for f in self.factors)


class SnapshotSampler:
    """Draws Cell-MNN batches from the cells of the training time points of one data set.

    Parameters
    ----------
    data
        The snapshots.
    holdout_times
        Times that are removed entirely (never sampled, never validated on).
    val_fraction
        Fraction of the cells of each training time point kept for validation.
    seed
        Seed of the train/validation split.
    """

    def __init__(
        self,
        data: Snapshots,
        holdout_times: Sequence[float] = (),
        val_fraction: float = 0.15,
        seed: int = 0,
    ) -> None:
        self.data = data
        all_times = np.unique(data.t)
        hold = np.asarray(sorted(holdout_times), dtype=float)
        unknown = [h for h in hold if not np.any(np.isclose(all_times, h))]
        if unknown:
            raise ConfigError(
                f"held-out time(s) {unknown} are not among the data's time points "
                f"{all_times.tolist()}"
            )
        keep = (
            ~np.any(np.isclose(all_times[:, None], hold[None, :]), axis=1)
            if len(hold)
            else np.ones(len(all_times), bool)
        )
        self.times = all_times[keep]
        self.holdout_times = hold
        if len(self.times) < 2:
            raise InputError(
                f"need at least 2 training time points, have {self.times.tolist()} "
                f"after holding out {hold.tolist()}"
            )
        rng = np.random.default_rng(seed)
        self.train_idx: list[np.ndarray] = []
        self.val_idx: list[np.ndarray] = []
        for tp in self.times:
            idx = np.flatnonzero(np.isclose(data.t, tp))
            idx = idx[rng.permutation(len(idx))]
            n_val = int(round(val_fraction * len(idx))) if val_fraction > 0 else 0
            n_val = min(n_val, len(idx) - 2)
            self.val_idx.append(np.sort(idx[: max(n_val, 0)]))
            self.train_idx.append(np.sort(idx[max(n_val, 0) :]))

    def used_indices(self) -> np.ndarray:
        """Every cell index the sampler can ever return (training and validation)."""
        return np.concatenate(self.train_idx + self.val_idx)

    def has_validation(self) -> bool:
        """True when every training time point kept at least 2 validation cells."""
        return all(len(v) >= 2 for v in self.val_idx)

    def sample(
        self,
        n_start: int,
        n_target: int,
        gen: torch.Generator,
        split: str = "train",
        first_target: bool = False,
    ) -> dict[str, Any]:
        """Draw one batch; returns start indices and groups, and target indices per time.

        ``targets[0]`` (cells of the first time point) is drawn only with ``first_target``
        (backward pushes need it); it is drawn last so the other draws do not change.
        """
        pools = self.train_idx if split == "train" else self.val_idx
        m = len(self.times)
        per = np.full(m - 1, n_start // (m - 1))
        per[: n_start % (m - 1)] += 1
        starts, groups = [], []
        for s in range(m - 1):
            starts.append(_draw(pools[s], int(per[s]), gen))
            groups.append(np.full(int(per[s]), s))
        targets = [None] + [_draw(pools[j], n_target, gen) for j in range(1, m)]
        if first_target:
            targets[0] = _draw(pools[0], n_target, gen)
        return {
            "start": np.concatenate(starts),
            "group": np.concatenate(groups),
            "targets": targets,
        }


def _draw(pool: np.ndarray, n: int, gen: torch.Generator) -> np.ndarray:
    """n indices from pool: without replacement for small pools, with replacement for large
    ones (pool > 10 n: duplicates are then rare and memory stays constant in the pool size)."""
    if len(pool) > 10 * n:
        pick = torch.randint(len(pool), (n,), generator=gen).numpy()
    elif len(pool) >= n:
        pick = torch.randperm(len(pool), generator=gen)[:n].numpy()
    else:
        pick = torch.randint(len(pool), (n,), generator=gen).numpy()
    return pool[pick]


def take_rows(arr: Any, idx: np.ndarray) -> np.ndarray:
    """``arr[idx]`` for numpy arrays, memmaps, h5py or zarr arrays (sorted-unique reads)."""
    if isinstance(arr, np.ndarray):
        return np.asarray(arr[idx], dtype=np.float32)
    uniq, inv = np.unique(idx, return_inverse=True)
    return np.asarray(arr[uniq], dtype=np.float32)[inv]


# ----------------------------------------------------------------------------- loss
def batch_loss(
    net: torch.nn.Module,
    data: Snapshots,
    sampler: SnapshotSampler,
    batch: dict[str, Any],
    cfg: MNNConfig,
    device: torch.device,
) -> dict[str, Any]:
    """Assemble the Cell-MNN loss for one batch; returns the total and its parts.

    ``net`` is the :class:`CellMNNModule` or its DistributedDataParallel wrapper.
    """
    times = sampler.times
    z_all = data.z
    g = batch["group"]
    n_fwd = len(g)
    start_idx, start_grp = batch["start"], g
    # every (start cell, other time) pair in one batched matrix exponential
    cell_ix, tgt_ix = [], []
    for j in range(1, len(times)):
        rows = np.flatnonzero(g < j)
        cell_ix.append(rows)
        tgt_ix.append(np.full(len(rows), j))
    if cfg.backward_weight > 0:
        # backward starts: the first cells of each later time point's target draw
        per = max(1, n_fwd // (len(times) - 1))
        b_idx = [batch["targets"][j][:per] for j in range(1, len(times))]
        b_grp = np.concatenate([np.full(len(b), j) for j, b in enumerate(b_idx, start=1)])
        start_idx = np.concatenate([start_idx, *b_idx])
        start_grp = np.concatenate([g, b_grp])
        for s in range(len(times) - 1):
            rows = n_fwd + np.flatnonzero(b_grp > s)
            cell_ix.append(rows)
            tgt_ix.append(np.full(len(rows), s))
    z0 = torch.from_numpy(take_rows(z_all, start_idx)).to(device)
    t0 = torch.from_numpy(data.t[start_idx].astype(np.float32)).to(device)
    ds = torch.full((len(start_idx),), data.dataset, dtype=torch.long, device=device)
    cell_ix_np = np.concatenate(cell_ix)
    tgt_np = np.concatenate(tgt_ix)
    ci = torch.from_numpy(cell_ix_np).to(device)
    t1 = torch.from_numpy(times[tgt_np].astype(np.float32)).to(device)
    a0, p0, z1, energy = net(z0, t0, ds, ci, t1, cfg.kinetic_path_points)
    if not torch.isfinite(z1).all():
        raise TrainingError(
            "propagation produced NaN/inf (matrix exponential overflow); lower "
            "lr or max_op_norm, or use time_scale='auto'"
        )
    fit = z0.new_zeros(())
    n_groups = len(times) - 1
    g_pairs = start_grp[cell_ix_np]
    for j in range(len(times)):
        if batch["targets"][j] is None:
            continue
        target = torch.from_numpy(take_rows(z_all, batch["targets"][j])).to(device)
        for s in range(len(times)):
            if s == j:
                continue
            sel = np.flatnonzero((tgt_np == j) & (g_pairs == s))
            if len(sel) == 0:
                continue
            pred = z1[torch.from_numpy(sel).to(device)]
            weight = cfg.gamma ** (abs(j - s) - 1) * (1.0 if s < j else cfg.backward_weight)
            fit = fit + weight * mmd2(pred, target, cfg.sigma)
    fit = fit / n_groups
    if energy is None:
        kin = kinetic(a0[:n_fwd], z0[:n_fwd])
    else:  # time-averaged squared speed along each start cell's path to the next time point
        nxt = torch.from_numpy(np.flatnonzero(tgt_np == g_pairs + 1)).to(device)
        kin = energy[nxt].mean()
    total = fit + cfg.lambda_kin * kin
    inv = z0.new_zeros(())
    if p0 is not None and cfg.lambda_inv > 0:
        inv = invertibility_penalty(p0)
        total = total + cfg.lambda_inv * inv
    if cfg.operator_l1 > 0:
        u, v = (torch.as_tensor(f, dtype=a0.dtype, device=device) for f in data.factors)
        total = total + cfg.operator_l1 * gene_operator_l1(a0[:n_fwd], u, v)
    return {"loss": total, "mmd": fit.detach(), "kinetic": kin.detach(), "inv": inv.detach()}


# ----------------------------------------------------------------------------- trainer
@dataclass
class FitResult:
    """What :func:`fit` returns: the trained module (best validation state) and the history."""

    module: CellMNNModule
    history: dict[str, list[float]] = field(default_factory=dict)
    best_epoch: int = 0
    epochs_run: int = 0
    stopped_early: bool = False
    seconds: float = 0.0
    holdout_times: list[float] = field(default_factory=list)
    diverged: str = ""

    @property
    def seconds_per_epoch(self) -> float:
        """Mean wall time of one epoch."""
        return self.seconds / max(self.epochs_run, 1)


def resolve_device(name: str) -> torch.device:
    """Map ``"auto"``/``"cpu"``/``"cuda[:N]"`` to a torch device, with a clear error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise ConfigError("device 'cuda' requested but no CUDA GPU is available; use --device cpu")
    return torch.device(name)


def resolve_time_scale(cfg: MNNConfig, datasets: Sequence[Snapshots]) -> float:
    """The number times are divided by: the training time span for ``"auto"``."""
    if cfg.time_scale == "auto":
        span = max(float(np.ptp(d.t)) for d in datasets)
        return span if span > 0 else 1.0
    return float(cfg.time_scale)


@contextlib.contextmanager
def _catch_signals() -> Iterator[dict[str, bool]]:
    """Turn SIGINT/SIGTERM into a flag checked at the end of each epoch."""
    flag = {"stop": False}

    def handler(signum, frame):  # noqa: ARG001
        flag["stop"] = True

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:  # not in the main thread
            pass
    try:
        yield flag
    finally:
        for sig, h in old.items():
            signal.signal(sig, h)


def fit(
    datasets: Snapshots | Sequence[Snapshots],
    cfg: MNNConfig,
    *,
    holdout_times: Sequence[float] | Sequence[Sequence[float]] = (),
    checkpoint: str | os.PathLike | None = None,
    resume: bool = False,
    progress: bool = True,
    module: CellMNNModule | None = None,
) -> FitResult:
    """Train Cell-MNN on one or several data sets (joint training shares one hypernetwork).

    Parameters
    ----------
    datasets
        One :class:`Snapshots` or a list (each with its own PCA; same d).
    cfg
        Configuration (validated here).
    holdout_times
        Times to hold out entirely: a flat list for one data set or one list per data set.
    checkpoint
        Path of the checkpoint file, written every ``cfg.checkpoint_every`` epochs, at the end
        and on SIGINT/SIGTERM.
    resume
        Continue from ``checkpoint`` if it exists.
    progress
        Show a tqdm progress bar with the losses.
    """
    cfg.validate()
    if isinstance(datasets, Snapshots):
        datasets = [datasets]
        holdout_per = [list(holdout_times)]
    else:
        holdout_per = (
            list(holdout_times)
            if holdout_times and isinstance(holdout_times[0], Sequence)
            else [list(holdout_times)] * len(datasets)
        )
    d = datasets[0].z.shape[1]
    if any(ds.z.shape[1] != d for ds in datasets):
        raise ConfigError("joint training needs the same n_pcs for every data set")
    _check_factors(datasets, cfg, d)
    torch.set_num_threads(cfg.threads)
    world, rank = _dist_world()
    device = resolve_device(cfg.device) if world == 1 else _dist_device(cfg.device, rank)
    replicas = cfg.replicas if world == 1 else max(cfg.replicas, world)
    if replicas % world:
        raise ConfigError(f"replicas={replicas} must be a multiple of the {world} processes")
    samplers = [
        SnapshotSampler(ds, h, cfg.val_fraction, cfg.seed + 7919 * i)
        for i, (ds, h) in enumerate(zip(datasets, holdout_per, strict=True))
    ]
    torch.manual_seed(cfg.seed)
    if module is None:
        module = CellMNNModule(d, cfg, resolve_time_scale(cfg, datasets), len(datasets))
    module.to(device)
    net: torch.nn.Module = module
    if world > 1:
        from torch.nn.parallel import DistributedDataParallel

        net = DistributedDataParallel(
            module, device_ids=[device.index] if device.type == "cuda" else None
        )
    opt = torch.optim.AdamW(module.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    total_steps = cfg.max_epochs * cfg.steps_per_epoch
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt,
        (lambda s: 0.5 * (1 + math.cos(math.pi * min(s, total_steps) / total_steps)))
        if cfg.lr_schedule == "cosine"
        else (lambda s: 1.0),
    )
    # one generator per sub-batch: rank r draws sub-batches r, r + world, ... of every step
    gens = [torch.Generator().manual_seed(cfg.seed * 1_000_003 + r) for r in range(replicas)]
    local = [r for r in range(replicas) if r % world == rank]
    use_val = cfg.patience > 0 and all(s.has_validation() for s in samplers)
    val_batches = _validation_batches(samplers, cfg) if use_val else []

    state = {
        "epoch": 0,
        "best_val": math.inf,
        "best_epoch": 0,
        "bad": 0,
        "best_state": None,
        "history": {
            "epoch": [],
            "train_loss": [],
            "val_loss": [],
            "mmd": [],
            "kinetic": [],
            "seconds": [],
        },
    }
    ckpt = Path(checkpoint) if checkpoint and rank == 0 else None
    if resume and checkpoint is not None and Path(checkpoint).exists():
        _load_checkpoint(Path(checkpoint), module, opt, sched, gens, state, cfg)

    t_start = time.perf_counter() - sum(state["history"]["seconds"])
    bar = tqdm(
        total=cfg.max_epochs,
        initial=state["epoch"],
        disable=not progress or rank != 0,
        desc="train Cell-MNN",
        unit="epoch",
        leave=False,
    )
    stopped_early = False
    diverged = ""
    with _catch_signals() as flag:
        try:
            while state["epoch"] < cfg.max_epochs:
                ep_t0 = time.perf_counter()
                module.train()
                parts = {"loss": 0.0, "mmd": 0.0, "kinetic": 0.0}
                for _ in range(cfg.steps_per_epoch):
                    opt.zero_grad(set_to_none=True)
                    for i, r in enumerate(local):
                        sync = (
                            contextlib.nullcontext()
                            if world == 1 or i == len(local) - 1
                            else net.no_sync()
                        )
                        with sync:
                            try:
                                out = [
                                    batch_loss(
                                        net,
                                        ds,
                                        smp,
                                        smp.sample(
                                            cfg.batch_start_cells,
                                            cfg.batch_target_cells,
                                            gens[r],
                                            first_target=cfg.backward_weight > 0,
                                        ),
                                        cfg,
                                        device,
                                    )
                                    for ds, smp in zip(datasets, samplers, strict=True)
                                ]
                                problem = None
                            except TrainingError as exc:  # propagation overflow
                                out, problem = [], str(exc)
                            loss = sum(o["loss"] for o in out) if out else None
                            if problem is None and not torch.isfinite(loss):
                                problem = f"loss became {loss.item()}"
                            if problem is not None:
                                _save_checkpoint(ckpt, module, opt, sched, gens, state, cfg)
                                if cfg.on_divergence == "stop" and state["best_state"] is not None:
                                    raise _Diverged(f"{problem} at epoch {state['epoch'] + 1}")
                                raise TrainingError(
                                    f"{problem} at epoch {state['epoch'] + 1}; the "
                                    "last good state was kept"
                                    f"{' in ' + str(ckpt) if ckpt else ''}. Lower lr, use "
                                    "time_scale='auto' or raise lambda_kin"
                                )
                            # DDP averages over processes: scale so the step uses mean over replicas
                            (loss * (world / replicas)).backward()
                        w = 1.0 / (len(local) * cfg.steps_per_epoch)
                        parts["loss"] += loss.item() * w
                        parts["mmd"] += sum(o["mmd"].item() for o in out) * w
                        parts["kinetic"] += sum(o["kinetic"].item() for o in out) * w
                    torch.nn.utils.clip_grad_norm_(module.parameters(), cfg.grad_clip)
                    opt.step()
                    sched.step()
                state["epoch"] += 1
                if world > 1:  # report the mean over processes, not a rank-local value
                    parts = _all_reduce_mean(parts, device)
                # without validation cells there is nothing honest to select on: keep the last
                # state (every epoch counts as an improvement), never the lowest training loss
                val = (
                    _validate(module, datasets, samplers, val_batches, cfg, device)
                    if use_val
                    else -float(state["epoch"])
                )
                h = state["history"]
                h["epoch"].append(state["epoch"])
                h["train_loss"].append(parts["loss"])
                h["val_loss"].append(val if use_val else float("nan"))
                h["mmd"].append(parts["mmd"])
                h["kinetic"].append(parts["kinetic"])
                h["seconds"].append(time.perf_counter() - ep_t0)
                if val < state["best_val"]:
                    state.update(
                        best_val=val,
                        best_epoch=state["epoch"],
                        bad=0,
                        best_state={k: v.detach().clone() for k, v in module.state_dict().items()},
                    )
                else:
                    state["bad"] += 1
                bar.update(1)
                bar.set_postfix(
                    loss=f"{parts['loss']:.4f}",
                    val=f"{val:.4f}" if use_val else "-",
                    best=state["best_epoch"],
                )
                done = use_val and state["bad"] >= cfg.patience
                if ckpt is not None and (
                    state["epoch"] % cfg.checkpoint_every == 0
                    or flag["stop"]
                    or done
                    or state["epoch"] == cfg.max_epochs
                ):
                    _save_checkpoint(ckpt, module, opt, sched, gens, state, cfg)
                if flag["stop"]:
                    bar.close()
                    raise TrainingInterrupted(
                        f"interrupted after epoch {state['epoch']}; checkpoint "
                        f"{'saved to ' + str(ckpt) if ckpt else 'not kept (no checkpoint path)'}; "
                        "rerun with --resume to continue"
                    )
                if done:
                    stopped_early = True
                    break
        except _Diverged as exc:
            diverged = str(exc)
            warnings.warn(
                f"training diverged ({diverged}); stopped and kept the best validation state "
                f"(epoch {state['best_epoch']}). Lower lr for a longer run.",
                RuntimeWarning,
                stacklevel=2,
            )
    bar.close()
    if state["best_state"] is not None:
        module.load_state_dict(state["best_state"])
    module.eval()
    return FitResult(
        module=module,
        history=state["history"],
        best_epoch=state["best_epoch"],
        epochs_run=state["epoch"],
        stopped_early=stopped_early,
        diverged=diverged,
        seconds=time.perf_counter() - t_start,
        holdout_times=[float(x) for h in holdout_per for x in h],
    )


def _check_factors(datasets: Sequence[Snapshots], cfg: MNNConfig, d: int) -> None:
    """operator_l1 needs every data set's PCA factors, shaped (genes, d) and (d, genes)."""
    if cfg.operator_l1 <= 0:
        return
    for i, ds in enumerate(datasets):
        if ds.factors is None:
            raise ConfigError(
                f"operator_l1={cfg.operator_l1} needs the PCA loadings of data set {i}: train "
                "through CellMNN / fit_joint (they pass them), or give Snapshots(factors=(W S, "
                "S^-1 W^T)); set operator_l1=0 to train without the penalty"
            )
        u, v = (np.asarray(f) for f in ds.factors)
        if u.ndim != 2 or v.shape != u.shape[::-1] or u.shape[1] != d:
            raise ConfigError(
                f"Snapshots.factors of data set {i} must be (genes, {d}) and ({d}, genes), "
                f"got {u.shape} and {v.shape}"
            )
        if u.shape[0] > GENE_L1_MAX_GENES:
            raise ConfigError(
                f"operator_l1 forms a {u.shape[0]} x {u.shape[0]} gene matrix every batch; it "
                f"takes panels of up to {GENE_L1_MAX_GENES} genes (select genes with "
                "--n-top-genes) or set operator_l1=0"
            )


def _all_reduce_mean(parts: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average logged scalars over the processes of the distributed group."""
    import torch.distributed as dist

    keys = sorted(parts)
    buf = torch.tensor([parts[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(buf)
    buf /= dist.get_world_size()
    return dict(zip(keys, buf.tolist(), strict=True))


def _dist_world() -> tuple[int, int]:
    """(world size, rank) of an initialised torch.distributed group, else (1, 0)."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    return 1, 0


def _dist_device(name: str, rank: int) -> torch.device:
    """One GPU per process under torchrun (LOCAL_RANK), else the CPU."""
    if name.startswith("cuda") or (name == "auto" and torch.cuda.is_available()):
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
        return torch.device("cuda", local_rank)
    return torch.device("cpu")


def _validation_batches(
    samplers: list[SnapshotSampler], cfg: MNNConfig, n_batches: int = 4
) -> list[list[dict[str, Any]]]:
    """Fixed validation batches (drawn once with their own seed) for a stable criterion."""
    gen = torch.Generator().manual_seed(cfg.seed + 104729)
    return [
        [
            s.sample(
                cfg.batch_start_cells,
                cfg.batch_target_cells,
                gen,
                split="val",
                first_target=cfg.backward_weight > 0,
            )
            for s in samplers
        ]
        for _ in range(n_batches)
    ]


def _validate(module, datasets, samplers, val_batches, cfg, device) -> float:
    module.eval()
    total = 0.0
    with torch.no_grad():
        for batches in val_batches:
            for ds, smp, b in zip(datasets, samplers, batches, strict=True):
                total += batch_loss(module, ds, smp, b, cfg, device)["mmd"].item()
    return total / len(val_batches)


# ----------------------------------------------------------------------------- checkpoints
def _save_checkpoint(path: Path | None, module, opt, sched, gens, state, cfg) -> None:
    if path is None:
        return
    from ._io import atomic_path

    blob = {
        "module": module.state_dict(),
        "opt": opt.state_dict(),
        "sched": sched.state_dict(),
        "gens": [g.get_state() for g in gens],
        "state": state,
        "config": cfg.to_dict(),
    }
    with atomic_path(path, suffix=".pt") as tmp:
        torch.save(blob, tmp)


def _load_checkpoint(path: Path, module, opt, sched, gens, state, cfg) -> None:
    try:
        blob = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # corrupt or foreign file
        raise TrainingError(
            f"cannot read checkpoint {path}: {exc}; delete it to start afresh"
        ) from None
    saved = {
        k: v
        for k, v in blob.get("config", {}).items()
        if k not in ("max_epochs", "checkpoint_every", "threads", "device")
    }
    now = {k: v for k, v in cfg.to_dict().items() if k in saved}
    if saved != now:
        diff = sorted(k for k in saved if saved[k] != now.get(k))
        raise TrainingError(
            f"checkpoint {path} was written with a different configuration "
            f"(fields {diff}); resume with the same settings or delete it"
        )
    module.load_state_dict(blob["module"])
    opt.load_state_dict(blob["opt"])
    sched.load_state_dict(blob["sched"])
    if len(blob["gens"]) != len(gens):
        raise TrainingError(
            f"checkpoint {path} used {len(blob['gens'])} sub-batches per step, "
            f"this run {len(gens)}; resume with the same replicas"
        )
    for g, st in zip(gens, blob["gens"], strict=True):
        g.set_state(st)
    state.update(blob["state"])
