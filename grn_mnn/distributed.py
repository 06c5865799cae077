"""Data-parallel Cell-MNN training with ``torchrun`` (gloo on CPU, NCCL on GPUs).

There is one training code path: :func:`grn_mnn.train.fit`. Under an initialised process
group it wraps the module in DistributedDataParallel and splits the ``replicas`` sub-batches
of every step across the processes, so ``R`` processes with ``replicas=R`` compute the same
optimisation steps as one process with ``replicas=R`` (same seed, same data).

One machine, two processes::

    torchrun --nproc_per_node=2 -m grn_mnn.distributed --input data.h5ad --time-key time \\
        --n-pcs 5 --replicas 2 --out run/

Two machines (run on each, ``--node_rank`` 0 on the machine at ``--master_addr``)::

    torchrun --nnodes=2 --nproc_per_node=2 --node_rank=0 --master_addr=10.0.0.1 \\
        --master_port=29500 -m grn_mnn.distributed --input data.h5ad --time-key time \\
        --n-pcs 5 --replicas 4 --out run/

Every process prepares the data itself (deterministically, so every node needs the input
file); the ranks check that they obtained the same PCA before training. Rank 0 writes
``OUT/model.pt`` (loadable with :meth:`grn_mnn.CellMNN.load`) and ``OUT/run.json``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .config import MNNConfig
from .errors import ConfigError, GrnMnnError, InputError

#: configuration fields exposed as command-line flags (``--max-epochs`` ...)
CONFIG_FLAGS: dict[str, type] = {
    "max_epochs": int,
    "steps_per_epoch": int,
    "batch_start_cells": int,
    "batch_target_cells": int,
    "replicas": int,
    "seed": int,
    "lr": float,
    "width": int,
    "depth": int,
    "patience": int,
    "val_fraction": float,
    "threads": int,
    "device": str,
    "parameterization": str,
    "lambda_kin": float,
    "operator_l1": float,
    "sigma": float,
    "gamma": float,
    "expm": str,
}


# ----------------------------------------------------------------------------- process group
def backend_for(device: str) -> str:
    """``"nccl"`` when training on CUDA GPUs, else ``"gloo"``."""
    cuda = device.startswith("cuda") or (device == "auto" and torch.cuda.is_available())
    return "nccl" if cuda else "gloo"


def init_from_env(device: str = "cpu", backend: str | None = None) -> tuple[int, int]:
    """Initialise ``torch.distributed`` from the variables ``torchrun`` sets.

    Reads ``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR`` and ``MASTER_PORT``.
    Without them (or with ``WORLD_SIZE=1``) nothing is initialised.

    Parameters
    ----------
    device
        The training device (``"cpu"``, ``"cuda"``, ``"auto"``); picks the backend.
    backend
        Force ``"gloo"`` or ``"nccl"``.

    Returns
    -------
    ``(world_size, rank)``.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return dist.get_world_size(), dist.get_rank()
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 1, 0
    missing = [k for k in ("RANK", "MASTER_ADDR", "MASTER_PORT") if k not in os.environ]
    if missing:
        raise ConfigError(
            f"WORLD_SIZE={world} but {missing} are not set; launch with torchrun "
            "(torchrun --nproc_per_node=N -m grn_mnn.distributed ...)"
        )
    backend = backend or backend_for(device)
    if backend == "nccl":
        if not torch.cuda.is_available():
            raise ConfigError("the NCCL backend needs CUDA GPUs; use --device cpu (gloo)")
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend, init_method="env://")
    return dist.get_world_size(), dist.get_rank()


def cleanup() -> None:
    """Destroy the process group if one is initialised."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def _check_same(values: np.ndarray, what: str) -> None:
    """Raise InputError unless every rank holds the same small float vector."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    dev = torch.device("cuda") if dist.get_backend() == "nccl" else torch.device("cpu")
    lo = torch.tensor(values, dtype=torch.float64, device=dev)
    hi = lo.clone()
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    if not torch.allclose(lo, hi, rtol=1e-9, atol=1e-12):
        raise InputError(
            f"the processes obtained different {what}; give every node the same input file "
            "and the same preprocessing options"
        )


# ----------------------------------------------------------------------------- data
def load_snapshots(
    path: str | os.PathLike,
    time_key: str,
    n_pcs: int,
    *,
    backed: bool = False,
    scratch: str | os.PathLike | None = None,
    layer: str | None = None,
) -> tuple[Any, dict[str, Any]]:
    """Prepare ``path`` (``.h5ad`` or zarr store) and return ``(Snapshots, mapping)``.

    ``backed=True`` streams the data (:func:`grn_mnn.scale.prepare_backed`, latent z in
    ``scratch``); otherwise the file is read into memory and :func:`grn_mnn.pp.prepare` runs.
    """
    from .train import Snapshots

    path = Path(path)
    if not path.exists():
        raise InputError(f"input {path} does not exist; pass an .h5ad file or a zarr store")
    if backed:
        from .scale import prepare_backed

        if scratch is None:
            raise ConfigError("backed preparation needs a scratch directory for the latent z")
        return prepare_backed(
            path, Path(scratch) / "latent.npy", time_key, n_pcs, layer=layer, overwrite=True
        )
    from .pp import LATENT_KEY, TIME_COL, prepare
    from .readers import read_input

    adata = read_input(path, time_key=time_key)
    prepare(adata, time_key=time_key, n_pcs=n_pcs, layer=layer)
    snap = Snapshots(adata.obsm[LATENT_KEY], adata.obs[TIME_COL].to_numpy())
    return snap, dict(adata.uns["grn_mnn"])


# ----------------------------------------------------------------------------- train
def train(
    input: str | os.PathLike,
    out: str | os.PathLike,
    *,
    time_key: str = "time",
    n_pcs: int = 5,
    config: MNNConfig | None = None,
    holdout_times: Sequence[float] = (),
    backed: bool = False,
    layer: str | None = None,
    overwrite: bool = False,
    progress: bool = True,
) -> Path | None:
    """Prepare, train with :func:`grn_mnn.train.fit` (data-parallel under torchrun), save.

    Returns the path of ``model.pt`` on rank 0 and ``None`` on the other ranks.
    """
    from ._io import prepare_outdir, write_json
    from .model import CellMNN, training_factors
    from .train import fit

    cfg = (config or MNNConfig()).replace(n_pcs=int(n_pcs)).validate()
    out = prepare_outdir(out, overwrite, ("model.pt",))
    world, rank = init_from_env(cfg.device)
    scratch = tempfile.mkdtemp(prefix=f"grn_mnn_rank{rank}_") if backed else None
    try:
        snap, mapping = load_snapshots(
            input, time_key, n_pcs, backed=backed, scratch=scratch, layer=layer
        )
        w = np.asarray(mapping["loadings"], dtype=np.float64)
        _check_same(
            np.array([len(snap.t), w.shape[0], np.abs(w).sum(), float(snap.t.sum())]),
            "data or PCA",
        )
        snap.factors = training_factors(mapping, cfg)
        res = fit(snap, cfg, holdout_times=holdout_times, progress=progress)
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)
    if rank != 0:
        return None
    model = CellMNN.from_fit(res, mapping, cfg, holdout_times=holdout_times)
    model.metadata["distributed"] = {"world_size": world, "backend": backend_for(cfg.device)}
    path = model.save(out / "model.pt")
    write_json(
        out / "run.json",
        {
            "input": str(input),
            "time_key": time_key,
            "n_pcs": int(n_pcs),
            "backed": bool(backed),
            "pca_method": mapping.get("pca_method", "exact (pp.prepare)"),
            "n_cells": int(len(snap.t)),
            "world_size": world,
            "backend": backend_for(cfg.device),
            "config": cfg.to_dict(),
            "holdout_times": [float(h) for h in holdout_times],
            **model.metadata["training"],
        },
    )
    return path


# ----------------------------------------------------------------------------- CLI
def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m grn_mnn.distributed",
        description="Train Cell-MNN, data-parallel when launched with torchrun.",
    )
    p.add_argument("--input", required=True, help=".h5ad file or AnnData zarr store")
    p.add_argument("--out", required=True, help="output directory (model.pt, run.json)")
    p.add_argument("--time-key", default="time")
    p.add_argument("--n-pcs", type=int, default=5)
    p.add_argument("--layer", default=None)
    p.add_argument(
        "--backed",
        action="store_true",
        help="stream the input (chunked PCA, latent z on disk) instead of loading it",
    )
    p.add_argument("--holdout-times", type=float, nargs="*", default=[])
    p.add_argument("--config", default=None, help="JSON file of MNNConfig fields")
    for name, typ in CONFIG_FLAGS.items():
        p.add_argument("--" + name.replace("_", "-"), type=typ, default=None)
    p.add_argument("--overwrite", action="store_true")
    p.add_argument("--quiet", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit code (errors are printed on one line)."""
    import json

    args = _parser().parse_args(argv)
    try:
        base: dict[str, Any] = {}
        if args.config:
            try:
                base = json.loads(Path(args.config).read_text())
            except (OSError, ValueError) as exc:
                raise ConfigError(f"cannot read --config {args.config}: {exc}") from None
        over = {k: getattr(args, k) for k in CONFIG_FLAGS if getattr(args, k) is not None}
        cfg = MNNConfig.from_dict({**base, **over})
        train(
            args.input,
            args.out,
            time_key=args.time_key,
            n_pcs=args.n_pcs,
            config=cfg,
            holdout_times=args.holdout_times,
            backed=args.backed,
            layer=args.layer,
            overwrite=args.overwrite,
            progress=not args.quiet,
        )
    except GrnMnnError as exc:
        rank = os.environ.get("RANK", "0")
        print(f"error (rank {rank}): {exc}", file=sys.stderr)
        return exc.exit_code
    finally:
        cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
