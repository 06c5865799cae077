"""Snapshot data of the interpolation benchmark: readers and the whitening of the protocol.

The benchmark (:mod:`grn_mnn.interpolation`) works on cells x embedding coordinates with one time
per cell. Readers accept ``eb_velocity_v5.npz`` (``pcs``, ``sample_labels``), NLSB-style
``.npz`` (``X``, ``ts``), ``.h5ad`` files with a time column and an ``obsm`` embedding (Open
Problems: ``obsm['X_pca']``, ``obs['day']``) or genes (a PCA is then computed), the bundled EB
subset and the bundled gene-level time courses by name. Every reader keeps the first ``n_pcs``
dimensions and whitens each of them over **all** cells of the file (StandardScaler, as the
published benchmark code does).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ConfigError, InputError

#: time columns tried, in order, when an .h5ad is given without ``time_key``
TIME_KEYS = ("day", "time", "timepoint", "time_point", "sample_labels")


@dataclass
class BenchmarkData:
    """Whitened snapshots for the benchmark.

    Attributes
    ----------
    z
        (cells, d) coordinates, whitened per dimension.
    t
        (cells,) time of every cell.
    source
        Where the data came from (file path or ``"bundled EB subset"``).
    info
        Preprocessing record (embedding, n_pcs, whitening mean and scale, time key).
    """

    z: np.ndarray
    t: np.ndarray
    source: str
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def times(self) -> np.ndarray:
        """Sorted unique time points."""
        return np.unique(self.t)

    def interior(self) -> list[int]:
        """Indices of the time points that have a neighbour on both sides."""
        return list(range(1, len(self.times) - 1))


def whiten(x: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Standardise every column over all rows (StandardScaler); return (z, mean, scale)."""
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd = np.where(sd > 0, sd, 1.0)
    return (x - mu) / sd, mu, sd


def _finish(
    x: np.ndarray, t: np.ndarray, n_pcs: int | None, source: str, info: dict[str, Any]
) -> BenchmarkData:
    x = np.asarray(x, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if x.ndim != 2 or len(x) != len(t):
        raise InputError(
            f"{source}: need a (cells, dims) embedding and one time per cell, got "
            f"{x.shape} and {t.shape}"
        )
    if n_pcs is not None:
        if not 1 <= n_pcs <= x.shape[1]:
            raise ConfigError(
                f"--n-pcs {n_pcs} is out of range: {source} has {x.shape[1]} embedding "
                f"dimensions; choose 1..{x.shape[1]}"
            )
        x = x[:, :n_pcs]
    if not np.isfinite(x).all() or not np.isfinite(t).all():
        raise InputError(f"{source}: embedding or times contain NaN/inf; drop those cells")
    times, counts = np.unique(t, return_counts=True)
    if len(times) < 3:
        raise InputError(
            f"{source}: {len(times)} time point(s) {times.tolist()}; interpolation needs at "
            "least 3 (an interior point to hold out). Check the time key"
        )
    if counts.min() < 2:
        raise InputError(
            f"{source}: time point(s) {times[counts < 2].tolist()} have fewer than 2 cells"
        )
    z, mu, sd = whiten(x)
    info = {
        **info,
        "n_pcs": int(x.shape[1]),
        "whitening": "per-dimension mean/std over all cells of the file (StandardScaler)",
        "whiten_mean": mu.tolist(),
        "whiten_scale": sd.tolist(),
        "cells_per_time": {float(a): int(b) for a, b in zip(times, counts, strict=True)},
    }
    return BenchmarkData(z.astype(np.float32), t, source, info)


def _numeric_labels(labels: np.ndarray, what: str) -> tuple[np.ndarray, dict[str, float] | None]:
    """Numeric times from labels; non-numeric labels are mapped to their sorted rank."""
    try:
        return np.asarray(labels, dtype=np.float64), None
    except (TypeError, ValueError):
        uniq = sorted(np.unique(labels.astype(str)))
        mapping = {u: float(i) for i, u in enumerate(uniq)}
        return np.array([mapping[str(v)] for v in labels], dtype=np.float64), mapping


def read_npz(path: str | os.PathLike, n_pcs: int | None = 5) -> BenchmarkData:
    """Read ``eb_velocity_v5.npz`` (``pcs``, ``sample_labels``) or an NLSB ``X``/``ts`` file."""
    path = Path(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except Exception as exc:
        raise InputError(f"cannot read {path} as .npz ({type(exc).__name__}: {exc})") from None
    with npz:
        keys = set(npz.files)
        if {"pcs", "sample_labels"} <= keys:
            x, labels, kx, kt = npz["pcs"], npz["sample_labels"], "pcs", "sample_labels"
        elif {"X", "ts"} <= keys:
            x, labels, kx, kt = npz["X"], npz["ts"], "X", "ts"
        else:
            raise InputError(
                f"{path} holds arrays {sorted(keys)}; expected 'pcs' and 'sample_labels' "
                "(eb_velocity_v5.npz) or 'X' and 'ts'"
            )
    t, mapping = _numeric_labels(np.asarray(labels).reshape(-1), f"{path}:{kt}")
    info = {"embedding": kx, "time_key": kt, "time_mapping": mapping}
    return _finish(x, t, n_pcs, str(path), info)


def read_h5ad(
    path: str | os.PathLike,
    time_key: str | None = None,
    embedding: str | None = None,
    n_pcs: int | None = 5,
    seed: int = 0,
) -> BenchmarkData:
    """Read an ``.h5ad`` with a time column and an ``obsm`` embedding or genes.

    ``embedding=None`` uses ``obsm['X_pca']`` when present, else computes a PCA of ``X``
    (``n_pcs`` components, as stored: log-normalise first if ``X`` holds counts).
    """
    from .pp import parse_times
    from .readers import read_input

    adata = read_input(path)
    if time_key is None:
        found = [k for k in TIME_KEYS if k in adata.obs.columns]
        if not found:
            raise InputError(
                f"{path}: none of the time columns {list(TIME_KEYS)} is in obs "
                f"(columns: {list(adata.obs.columns[:20])}); pass --time-key"
            )
        time_key = found[0]
    try:
        t = parse_times(adata, time_key)
    except InputError:
        labels = adata.obs[time_key].astype(str).to_numpy() if time_key in adata.obs else None
        if labels is None:
            raise
        t, _ = _numeric_labels(labels, time_key)
    info: dict[str, Any] = {"time_key": time_key}
    if embedding is None and "X_pca" in adata.obsm:
        embedding = "X_pca"
    if embedding is not None:
        if embedding not in adata.obsm:
            raise InputError(
                f"{path}: obsm has no {embedding!r} (available: {list(adata.obsm.keys())}); "
                "pass --embedding with one of them, or omit it to compute a PCA of X"
            )
        x = np.asarray(adata.obsm[embedding], dtype=np.float64)
        info["embedding"] = f"obsm[{embedding!r}]"
    else:
        from .pp import _to_dense, pca

        k = 5 if n_pcs is None else int(n_pcs)
        if k >= min(adata.shape):
            raise ConfigError(f"--n-pcs {k} must be below min(cells, genes) = {min(adata.shape)}")
        _, _, x, _ = pca(_to_dense(adata.X), k, seed=seed)
        info["embedding"] = f"PCA of X ({k} components, computed here)"
    return _finish(x, t, n_pcs, str(path), info)


def read_eb_subset(n_pcs: int | None = 5) -> BenchmarkData:
    """The bundled EB subset (NLSB val + test splits, 2,750 cells, labels 0..4)."""
    from . import datasets

    adata = datasets.eb_subset()
    info = {
        "embedding": "obsm['X_pca'] (unwhitened EB PCs, NLSB val+test)",
        "time_key": "time",
        "time_unit": adata.uns.get("time_unit", "label"),
    }
    return _finish(
        adata.obsm["X_pca"], adata.obs["time"].to_numpy(), n_pcs, "bundled EB subset", info
    )


#: bundled gene-level time courses the benchmark can read by name (``--input NAME``)
BUNDLED_TIMECOURSES = ("hepatocyte_camp2017", "mesc_hayashi2018", "hesc_chu2016")


def read_dataset(name: str, n_pcs: int | None = 5, seed: int = 0) -> BenchmarkData:
    """A bundled time course by name: real times from ``obs['time']``, a PCA of the
    log-expression (counts would be normalised and log1p'd first) computed here."""
    from . import datasets
    from .pp import _to_dense, detect_kind, normalize_counts, pca

    if name not in BUNDLED_TIMECOURSES:
        raise InputError(
            f"unknown bundled time course {name!r}; choose one of {list(BUNDLED_TIMECOURSES)} "
            "or give a file path"
        )
    adata = getattr(datasets, name)()
    x = _to_dense(adata.X).astype(np.float64)
    if detect_kind(x) == "counts":
        x = normalize_counts(x)
    k = 5 if n_pcs is None else int(n_pcs)
    if k >= min(adata.shape):
        raise ConfigError(f"--n-pcs {k} must be below min(cells, genes) = {min(adata.shape)}")
    _, _, z, _ = pca(x, k, seed=seed)
    info = {
        "embedding": f"PCA of the log-expression ({k} components, computed here)",
        "time_key": "time",
        "time_unit": adata.uns.get("time_unit", ""),
    }
    return _finish(z, adata.obs["time"].to_numpy(dtype=float), n_pcs, f"bundled {name}", info)


def read_benchmark(
    path: str | os.PathLike | None = None,
    *,
    time_key: str | None = None,
    embedding: str | None = None,
    n_pcs: int | None = 5,
) -> BenchmarkData:
    """Dispatch on the file type; ``None`` reads the bundled EB subset and a name in
    :data:`BUNDLED_TIMECOURSES` a bundled gene-level time course."""
    if path is None:
        if time_key or embedding:
            raise ConfigError("--time-key/--embedding need --input (the bundled subset has both)")
        return read_eb_subset(n_pcs)
    if str(path) in BUNDLED_TIMECOURSES and not Path(path).exists():
        if time_key or embedding:
            raise ConfigError("--time-key/--embedding do not apply to a bundled time course")
        return read_dataset(str(path), n_pcs)
    path = Path(path)
    if not path.exists():
        raise InputError(f"input file {path} does not exist; check --input")
    if path.suffix.lower() == ".npz":
        if embedding or time_key:
            raise ConfigError(
                ".npz inputs have fixed arrays (pcs/sample_labels or X/ts); drop "
                "--embedding/--time-key"
            )
        return read_npz(path, n_pcs)
    if path.suffix.lower() == ".h5ad":
        return read_h5ad(path, time_key, embedding, n_pcs)
    raise InputError(
        f"unsupported input {path.name}; give an .npz (pcs + sample_labels) or an .h5ad"
    )
