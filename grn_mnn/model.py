"""User-facing Cell-MNN model: set up from a prepared AnnData, train, save, load, query.

>>> import grn_mnn as gm
>>> adata = gm.datasets.hepatocyte_camp2017()
>>> gm.pp.prepare(adata, time_key="time", n_pcs=5)
>>> model = gm.CellMNN(adata, max_epochs=100)
>>> model.train()
>>> A = model.operators()            # (cells, d, d) latent operators, A(z, t)
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from anndata import AnnData

from . import __version__
from ._io import atomic_path
from .config import MNNConfig
from .errors import InputError
from .extract import gene_factors
from .module import CellMNNModule
from .pp import LATENT_KEY, TIME_COL, require_prepared
from .train import FitResult, Snapshots, fit

MAPPING_KEYS = (
    "genes",
    "loadings",
    "gene_mean",
    "pc_scale",
    "times",
    "time_unit",
    "time_key",
    "n_pcs",
    "transform",
    "log_base",
    "time_order",
)


class CellMNN:
    """Cell-MNN on one prepared time course.

    Parameters
    ----------
    adata
        AnnData prepared with :func:`grn_mnn.pp.prepare` (latent z in ``obsm['X_grn_mnn']``).
    config
        A :class:`MNNConfig`; keyword ``overrides`` replace single fields.
    holdout_times
        Time points withheld from training, validation and early stopping.
    """

    def __init__(
        self,
        adata: AnnData | None = None,
        config: MNNConfig | None = None,
        *,
        holdout_times: Sequence[float] = (),
        **overrides: Any,
    ) -> None:
        cfg = (config or MNNConfig()).replace(**overrides) if overrides else (config or MNNConfig())
        self.mapping: dict[str, Any] = {}
        if adata is not None:
            info = require_prepared(adata)
            cfg = cfg.replace(n_pcs=int(info["n_pcs"]))
            self.mapping = {k: info[k] for k in MAPPING_KEYS if k in info}
        self.config = cfg.validate()
        self.adata = adata
        self.holdout_times = [float(h) for h in holdout_times]
        self.module: CellMNNModule | None = None
        self.result: FitResult | None = None
        self.metadata: dict[str, Any] = {"version": __version__}
        #: which data set of a jointly trained hypernetwork this model reads (see fit_joint)
        self.dataset_index = 0

    # ------------------------------------------------------------------ training
    def snapshots(self, adata: AnnData | None = None) -> Snapshots:
        """The latent snapshots (z, t) of ``adata`` (default: the training data)."""
        adata = adata if adata is not None else self.adata
        if adata is None:
            raise InputError("no AnnData attached; pass one")
        require_prepared(adata)
        return Snapshots(
            adata.obsm[LATENT_KEY],
            adata.obs[TIME_COL].to_numpy(),
            factors=training_factors(self.mapping, self.config),
        )

    def train(
        self,
        *,
        checkpoint: str | os.PathLike | None = None,
        resume: bool = False,
        progress: bool = True,
        snapshots: Snapshots | None = None,
    ) -> CellMNN:
        """Fit the hypernetwork; keeps the state with the best validation loss.

        ``snapshots`` trains on these cells instead of the attached AnnData's latent z (e.g.
        the on-disk latent of :func:`grn_mnn.scale.prepare_backed`, read batch by batch).
        """
        if snapshots is not None and snapshots.factors is None:
            factors = training_factors(self.mapping, self.config)
            snapshots = dataclasses.replace(snapshots, factors=factors)
        result = fit(
            snapshots if snapshots is not None else self.snapshots(),
            self.config,
            holdout_times=self.holdout_times,
            checkpoint=checkpoint,
            resume=resume,
            progress=progress,
        )
        self._adopt(result)
        return self

    def _adopt(self, result: FitResult) -> None:
        """Take the trained module and record the training summary in the metadata."""
        self.result = result
        self.module = result.module
        self.metadata["training"] = {
            "best_epoch": result.best_epoch,
            "epochs_run": result.epochs_run,
            "stopped_early": result.stopped_early,
            "seconds": result.seconds,
            "seconds_per_epoch": result.seconds_per_epoch,
        }

    @classmethod
    def from_fit(
        cls,
        result: FitResult,
        mapping: dict[str, Any],
        config: MNNConfig,
        *,
        holdout_times: Sequence[float] = (),
    ) -> CellMNN:
        """Wrap a :func:`grn_mnn.train.fit` result and a PCA mapping (e.g. from
        :func:`grn_mnn.scale.prepare_backed`) as a model that extraction and ``save`` accept."""
        obj = cls(None, config, holdout_times=holdout_times)
        obj.mapping = {k: mapping[k] for k in MAPPING_KEYS if k in mapping}
        obj._adopt(result)
        return obj

    @property
    def history(self) -> dict[str, list[float]]:
        """Per-epoch training and validation losses."""
        return self.result.history if self.result else {}

    def _require_module(self) -> CellMNNModule:
        if self.module is None:
            raise InputError("the model is not trained; call .train() or CellMNN.load(path)")
        return self.module

    # ------------------------------------------------------------------ queries
    def operators(
        self,
        z: np.ndarray | None = None,
        t: np.ndarray | float | None = None,
        batch_size: int = 4096,
    ) -> np.ndarray:
        """Latent operators A(z, t), shape (cells, d, d), float64.

        ``z`` defaults to the training cells and ``t`` to each cell's own time; a scalar
        ``t`` queries every cell at that time.
        """
        module = self._require_module()
        if z is None:
            snap = self.snapshots()
            z, t = snap.z, snap.t if t is None else t
        z = np.asarray(z, dtype=np.float32)
        if z.ndim != 2 or z.shape[1] != module.d:
            raise InputError(f"z must have shape (cells, {module.d}), got {z.shape}")
        if t is None:
            raise InputError("give the time t of the cells")
        t = np.array(np.broadcast_to(np.asarray(t, dtype=np.float32), (len(z),)))
        dev = next(module.parameters()).device
        out = np.empty((len(z), module.d, module.d))
        with torch.no_grad():
            for i in range(0, len(z), batch_size):
                zb = torch.from_numpy(np.ascontiguousarray(z[i : i + batch_size])).to(dev)
                tb = torch.from_numpy(np.ascontiguousarray(t[i : i + batch_size])).to(dev)
                ds = self._ds(len(zb), dev)
                out[i : i + batch_size] = module.operator(zb, tb, ds).double().cpu().numpy()
        return out

    def predict(
        self, z0: np.ndarray, t0: np.ndarray | float, t1: np.ndarray | float, batch_size: int = 4096
    ) -> np.ndarray:
        """Propagate cells from t0 to t1 with z(t1) = expm(A (t1 - t0)) z(t0)."""
        module = self._require_module()
        z0 = np.asarray(z0, dtype=np.float32)
        t0 = np.array(np.broadcast_to(np.asarray(t0, dtype=np.float32), (len(z0),)))
        t1 = np.array(np.broadcast_to(np.asarray(t1, dtype=np.float32), (len(z0),)))
        dev = next(module.parameters()).device
        out = np.empty(z0.shape)
        with torch.no_grad():
            for i in range(0, len(z0), batch_size):
                sl = slice(i, i + batch_size)
                out[sl] = (
                    module.propagate(
                        torch.from_numpy(np.ascontiguousarray(z0[sl])).to(dev),
                        torch.from_numpy(np.ascontiguousarray(t0[sl])).to(dev),
                        torch.from_numpy(np.ascontiguousarray(t1[sl])).to(dev),
                        self._ds(len(z0[sl]), dev),
                    )
                    .cpu()
                    .numpy()
                )
        return out

    def _ds(self, n: int, dev: torch.device) -> torch.Tensor | None:
        """Data-set ids for a batch (None for a single-data-set module)."""
        if self.module is None or self.module.n_datasets == 1:
            return None
        return torch.full((n,), self.dataset_index, dtype=torch.long, device=dev)

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | os.PathLike) -> Path:
        """Write the model (weights, configuration, gene mapping, metadata) atomically."""
        module = self._require_module()
        blob = {
            "format": "grn_mnn.CellMNN/1",
            "config": self.config.to_dict(),
            "state": module.state_dict(),
            "time_scale": float(module.time_scale),
            "n_datasets": module.n_datasets,
            "dataset_index": self.dataset_index,
            "mapping": {
                k: (np.asarray(v) if isinstance(v, np.ndarray) else v)
                for k, v in self.mapping.items()
            },
            "holdout_times": self.holdout_times,
            "history": self.history,
            "metadata": self.metadata,
        }
        with atomic_path(path, suffix=".pt") as tmp:
            torch.save(blob, tmp)
        return Path(path)

    @classmethod
    def load(cls, path: str | os.PathLike, adata: AnnData | None = None) -> CellMNN:
        """Load a model written by :meth:`save` (optionally attaching data)."""
        path = Path(path)
        if not path.exists():
            raise InputError(f"model file {path} does not exist")
        try:
            blob = torch.load(path, map_location="cpu", weights_only=False)
        except Exception as exc:
            raise InputError(f"{path} is not a readable grn_mnn model ({exc})") from None
        if not isinstance(blob, dict) or blob.get("format") != "grn_mnn.CellMNN/1":
            raise InputError(f"{path} is not a grn_mnn model file (written by CellMNN.save)")
        cfg = MNNConfig.from_dict(blob["config"])
        obj = cls(None, cfg, holdout_times=blob["holdout_times"])
        obj.mapping = blob["mapping"]
        obj.metadata = blob.get("metadata", {})
        module = CellMNNModule(cfg.n_pcs, cfg, blob["time_scale"], blob["n_datasets"])
        module.load_state_dict(blob["state"])
        module.eval()
        obj.module = module
        obj.dataset_index = int(blob.get("dataset_index", 0))
        obj.result = FitResult(module=module, history=blob.get("history", {}))
        if adata is not None:
            obj.attach(adata)
        return obj

    def attach(self, adata: AnnData) -> CellMNN:
        """Attach data prepared with the same genes and PCA as the model."""
        info = require_prepared(adata)
        if self.mapping and (
            list(info["genes"]) != list(self.mapping["genes"])
            or not np.allclose(info["loadings"], self.mapping["loadings"])
        ):
            raise InputError(
                "this AnnData was prepared with different genes or PCA than the "
                "model; prepare it with the model's settings or use its mapping"
            )
        self.adata = adata
        return self


def training_factors(
    mapping: dict[str, Any], cfg: MNNConfig
) -> tuple[np.ndarray, np.ndarray] | None:
    """The PCA factors (W S, S^-1 W^T) of ``mapping`` that training needs when
    ``cfg.operator_l1 > 0`` (:class:`~grn_mnn.train.Snapshots` ``factors``), else None."""
    if cfg.operator_l1 <= 0 or "loadings" not in mapping:
        return None
    return gene_factors(mapping)


def fit_joint(
    adatas: Sequence[AnnData],
    config: MNNConfig | None = None,
    *,
    holdout_times: Sequence[Sequence[float]] | None = None,
    checkpoint: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> list[CellMNN]:
    """Train one hypernetwork on several prepared data sets at once (the paper's amortised
    setting); each keeps its own PCA and gets a learned data-set embedding as an extra input.

    Returns one :class:`CellMNN` per data set, sharing the trained module; each reads its own
    data set's embedding, so ``operators``/``predict``/extraction work as for a single fit.
    All data sets must be prepared with the same ``n_pcs``.
    """
    if len(adatas) < 2:
        raise InputError("fit_joint needs at least two prepared data sets; use CellMNN for one")
    infos = [require_prepared(a) for a in adatas]
    dims = {int(i["n_pcs"]) for i in infos}
    if len(dims) != 1:
        raise InputError(f"every data set must be prepared with the same n_pcs, got {sorted(dims)}")
    cfg = (config or MNNConfig()).replace(n_pcs=dims.pop(), **overrides).validate()
    snaps = [
        Snapshots(
            a.obsm[LATENT_KEY],
            a.obs[TIME_COL].to_numpy(),
            dataset=i,
            factors=training_factors(info, cfg),
        )
        for i, (a, info) in enumerate(zip(adatas, infos, strict=True))
    ]
    holdouts = [list(h) for h in holdout_times] if holdout_times else [[] for _ in adatas]
    result = fit(snaps, cfg, holdout_times=holdouts, checkpoint=checkpoint, progress=progress)
    models = []
    for i, (a, h) in enumerate(zip(adatas, holdouts, strict=True)):
        m = CellMNN(a, cfg, holdout_times=h)
        m._adopt(result)
        m.dataset_index = i
        m.metadata["joint"] = {"n_datasets": len(adatas), "dataset_index": i}
        models.append(m)
    return models
