"""Preprocessing: input checks, counts versus log data, HVG selection, PCA and z-scoring.

:func:`prepare` turns a time-course AnnData into the latent coordinates Cell-MNN trains on and
stores everything needed to map latent operators back to genes exactly:

.. math::  z = S^{-1} W^T (x - \\mu), \\qquad x \\approx \\mu + W S z

with ``W`` the PCA loadings (genes x d, orthonormal columns), ``mu`` the gene means and
``S = diag(pc_scale)`` the standard deviation of each PC over all cells (pooled over time).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from .errors import ConfigError, InputError

KEY = "grn_mnn"
LATENT_KEY = "X_grn_mnn"
TIME_COL = "grn_mnn_time"
LOG_LAYER = "grn_mnn_log"
#: ``uns["grn_mnn"]["transform"]`` when :func:`prepare` normalised raw counts itself
COUNTS_TRANSFORM = "normalize_total(median)+log1p"


def log_base_transform(base: float) -> str:
    """``uns["grn_mnn"]["transform"]`` of log input in base ``base``, rescaled to natural log1p."""
    return f"log{base:g}(x+1) * ln({base:g}) = log1p(x)"


def resolve_log_base(adata: AnnData, log_base: float | None = None) -> float | None:
    """The base of log-normalised input, or ``None`` for the natural log (grn_mnn's convention).

    ``log_base`` wins; else scanpy's record ``adata.uns['log1p']['base']`` (which
    ``sc.pp.log1p(adata, base=2)`` writes; ``None`` there means natural); else natural.
    """
    if log_base is None:
        rec = adata.uns.get("log1p")
        log_base = rec.get("base") if isinstance(rec, Mapping) else None
    if log_base is None:
        return None
    try:
        base = float(log_base)
    except (TypeError, ValueError):
        base = float("nan")
    if not np.isfinite(base) or base <= 1.0:
        raise ConfigError(
            f"log base must be a number > 1 (2, 10 or e), got {log_base!r}; set --log-base or "
            "adata.uns['log1p']['base'] to the base the expression was logged in"
        )
    return None if np.isclose(base, np.e) else base


#: natural-log input whose 90th-percentile cell holds more than this many transcripts
#: (sum of expm1) fits no per-million normalisation: the values are likely log2 or log10
IMPLAUSIBLE_LINEAR_TOTAL = 1e7


def check_log_base(x: np.ndarray) -> str | None:
    """A warning when natural-log input looks like log2 / log10 values, else ``None``.

    Read as natural log1p, the 90th-percentile cell's ``sum(expm1(x))`` above
    :data:`IMPLAUSIBLE_LINEAR_TOTAL` is more than TPM, CPM or any library-size normalisation
    holds (BEELINE's log2 hepatocyte values: 1.5e7; as log2: 2.3e5).
    """
    with np.errstate(over="ignore"):
        total = float(np.percentile(np.expm1(np.minimum(x, 700.0)).sum(axis=1), 90))
    if total <= IMPLAUSIBLE_LINEAR_TOTAL:
        return None
    as_log2 = float(np.percentile((2.0 ** np.minimum(x, 1000.0) - 1.0).sum(axis=1), 90))
    return (
        f"read as natural log1p, 1 cell in 10 holds more than {total:.3g} transcripts (max value "
        f"{float(x.max()):.3g}), more than a per-million normalisation allows; as log2(x+1) it "
        f"would be {as_log2:.3g}. If the values are log2 or log10, pass log_base "
        "(--log-base 2) or set adata.uns['log1p'] = {'base': 2}: the linear-scale readings "
        "(expm1) depend on it"
    )


# ----------------------------------------------------------------------------- checks
def check_anndata(adata: Any) -> AnnData:
    """Raise :class:`InputError` unless ``adata`` is a non-empty AnnData with unique gene names."""
    if not isinstance(adata, AnnData):
        raise InputError(
            f"expected an AnnData object, got {type(adata).__name__}; read your data with "
            "anndata.read_h5ad(path) or build AnnData(X=cells x genes matrix)"
        )
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(f"the AnnData is empty ({adata.n_obs} cells x {adata.n_vars} genes)")
    names = pd.Index(adata.var_names.astype(str))
    if names.has_duplicates:
        dup = names[names.duplicated()].unique()[:5].tolist()
        raise InputError(
            f"duplicated gene names in var_names (e.g. {dup}); make them unique with "
            "adata.var_names_make_unique() or aggregate the duplicates first"
        )
    return adata


def parse_times(
    adata: AnnData, time_key: str, time_order: dict[Any, float] | None = None
) -> np.ndarray:
    """Return the time of every cell as floats in real units.

    Parameters
    ----------
    adata
        Input data.
    time_key
        Column of ``adata.obs`` with the time of each cell.
    time_order
        Mapping from label to numeric time for non-numeric labels (e.g. ``{"d0": 0, "d6": 6}``).
        Ordered categoricals whose categories are numbers are converted directly.
    """
    if time_key not in adata.obs.columns:
        cols = ", ".join(map(str, adata.obs.columns[:30])) or "(none)"
        raise InputError(
            f"time key {time_key!r} is not a column of adata.obs; available columns: {cols}. "
            "Pass the right one with --time-key / time_key="
        )
    col = adata.obs[time_key]
    if time_order is not None:
        missing = sorted(set(map(str, col.astype(str).unique())) - set(map(str, time_order)))
        if missing:
            raise InputError(
                f"time labels {missing[:5]} of obs[{time_key!r}] are not in time_order; "
                "give a numeric time for every label"
            )
        mapping = {str(k): float(v) for k, v in time_order.items()}
        t = col.astype(str).map(mapping).to_numpy(dtype=float)
    else:
        values = col.cat.categories if isinstance(col.dtype, pd.CategoricalDtype) else None
        try:
            if values is not None:
                t = pd.to_numeric(col.astype(str), errors="raise").to_numpy(dtype=float)
            else:
                t = pd.to_numeric(col, errors="raise").to_numpy(dtype=float)
        except (ValueError, TypeError):
            example = list(map(str, col.astype(str).unique()[:5]))
            raise InputError(
                f"time labels in obs[{time_key!r}] are not numeric (e.g. {example}); grn_mnn needs "
                "real times (hours or days). Convert them, or pass an explicit mapping "
                "time_order={'label': time, ...} (CLI: --time-order label=time,...)"
            ) from None
    if not np.all(np.isfinite(t)):
        n_bad = int((~np.isfinite(t)).sum())
        raise InputError(
            f"{n_bad} cells have a missing or infinite time in obs[{time_key!r}]; "
            "drop them or fill in their time"
        )
    return t


def check_time_points(t: np.ndarray, min_points: int = 2, min_cells: int = 3) -> np.ndarray:
    """Check there are enough time points with enough cells; return the sorted unique times."""
    times, counts = np.unique(t, return_counts=True)
    if len(times) < min_points:
        raise InputError(
            f"found {len(times)} time point(s) ({times.tolist()}); at least {min_points} are "
            "needed to learn dynamics. Check the time key"
        )
    small = times[counts < min_cells]
    if len(small):
        raise InputError(
            f"time point(s) {small.tolist()} have fewer than {min_cells} cells "
            f"(counts {dict(zip(times.tolist(), counts.tolist(), strict=True))}); "
            "merge or drop them"
        )
    return times


def _to_dense(x: Any) -> np.ndarray:
    if sp.issparse(x):
        return np.asarray(x.toarray(), dtype=np.float64)
    return np.asarray(x, dtype=np.float64)


def detect_kind(x: np.ndarray) -> Literal["counts", "log"]:
    """Return ``"counts"`` for non-negative integer data with large values, else ``"log"``."""
    sample = x if x.size <= 2_000_000 else x[:: max(1, x.shape[0] // 2000)]
    is_int = np.allclose(sample, np.round(sample))
    return "counts" if is_int and sample.max() > 30 else "log"


def normalize_counts(x: np.ndarray, allow_empty_cells: bool = False) -> np.ndarray:
    """log1p of counts scaled to the median library size (scanpy's normalize_total + log1p).

    Cells with zero total counts raise :class:`InputError` unless ``allow_empty_cells`` (they
    then stay all-zero).
    """
    lib = x.sum(axis=1, keepdims=True)
    empty = lib == 0
    if empty.any() and not allow_empty_cells:
        raise InputError(
            f"{int(empty.sum())} cells have zero total counts; filter them "
            "out (sc.pp.filter_cells(adata, min_counts=1))"
        )
    lib = np.where(empty, 1.0, lib)
    return np.log1p(x / lib * np.median(lib))


def check_values(x: np.ndarray, data_kind: str) -> None:
    """Raise :class:`InputError` on NaN, infinite or negative values."""
    if not np.all(np.isfinite(x)):
        n_nan = int(np.isnan(x).sum())
        n_inf = int(np.isinf(x).sum())
        raise InputError(
            f"the expression matrix has {n_nan} NaN and {n_inf} infinite values; "
            "impute or remove them (e.g. np.nan_to_num) before grn_mnn"
        )
    if x.min() < 0:
        what = "said to be log-normalised" if data_kind == "log" else "expected to be counts or log"
        raise InputError(
            f"the expression matrix has negative values (min {x.min():.3g}) but is {what}; "
            "pass raw counts or log1p-normalised expression (not scaled/centred data), "
            "e.g. from adata.raw or a counts layer via layer="
        )


# ----------------------------------------------------------------------------- prepare
def prepare(
    adata: AnnData,
    time_key: str = "time",
    n_pcs: int = 5,
    *,
    layer: str | None = None,
    data_kind: Literal["auto", "counts", "log"] = "auto",
    n_top_genes: int | None = None,
    time_order: dict[Any, float] | None = None,
    time_unit: str | None = None,
    min_cells_per_time: int = 3,
    seed: int = 0,
    copy: bool = False,
    log_base: float | None = None,
) -> AnnData | None:
    """Check, normalise, select genes, run PCA and z-score the PCs.

    Parameters
    ----------
    adata
        Cells x genes time-course data (dense or sparse).
    time_key
        ``obs`` column with each cell's time in real units.
    n_pcs
        Latent dimension d.
    layer
        Take expression from ``adata.layers[layer]`` instead of ``X``.
    data_kind
        ``"counts"`` (normalise_total + log1p), ``"log"`` (use as is) or ``"auto"`` (detect).
    n_top_genes
        If given, keep this many highly variable genes (scanpy, ``seurat`` flavour).
    time_order
        Mapping label -> numeric time for non-numeric time labels.
    time_unit
        Unit of the time (defaults to ``adata.uns['time_unit']`` or ``"unknown"``).
    min_cells_per_time
        Minimum number of cells every time point must have.
    seed
        Random state of the PCA solver.
    copy
        Return a modified copy instead of writing into ``adata``.
    log_base
        Base of log input, ``log_base(x + 1)``: log2 or log10 values are rescaled to the natural
        log1p that grn_mnn's linear-scale readings (``expm1``) assume. Default: scanpy's
        ``adata.uns['log1p']['base']`` when recorded, else natural (:func:`resolve_log_base`).

    Returns
    -------
    ``None`` (or the copy). Writes ``adata.obsm['X_grn_mnn']`` (z), ``adata.obs['grn_mnn_time']``,
    ``adata.layers['grn_mnn_log']`` when a transformation was applied, and
    ``adata.uns['grn_mnn']`` with ``genes``, ``loadings`` (W), ``gene_mean`` (mu), ``pc_scale``
    (S), ``times``, ``time_unit``, ``time_key``, ``n_pcs``, ``transform``, ``log_base`` and
    ``explained_variance_ratio``.
    """
    import scanpy as sc

    check_anndata(adata)
    adata = adata.copy() if copy else adata
    if data_kind not in ("auto", "counts", "log"):
        raise ConfigError(f"data_kind must be 'auto', 'counts' or 'log', got {data_kind!r}")
    t = parse_times(adata, time_key, time_order)
    times = check_time_points(t, 2, min_cells_per_time)
    if layer is not None and layer not in adata.layers:
        raise InputError(f"layer {layer!r} not found; available layers: {list(adata.layers)}")
    x = _to_dense(adata.layers[layer] if layer is not None else adata.X)
    check_values(x, data_kind)
    kind = detect_kind(x) if data_kind == "auto" else data_kind
    transform, base = "none", None
    if kind == "counts":
        if log_base is not None:
            raise ConfigError(
                f"log_base={log_base!r} is for log-normalised input, but the expression is raw "
                "counts (detected or data_kind='counts'); drop log_base"
            )
        x = normalize_counts(x)
        transform = COUNTS_TRANSFORM
    else:
        base = resolve_log_base(adata, log_base)
        if base is not None:
            x = x * np.log(base)
            transform = log_base_transform(base)
        elif log_base is None and (msg := check_log_base(x)) is not None:
            warnings.warn(msg, UserWarning, stacklevel=2)

    keep = x.max(axis=0) > x.min(axis=0)
    if not keep.any():
        raise InputError("every gene is constant (e.g. all zero); nothing to learn from")
    n_dropped_const = int((~keep).sum())
    genes = np.asarray(adata.var_names.astype(str))
    if n_top_genes is not None and n_top_genes < keep.sum():
        hv = AnnData(x[:, keep])
        hv.var_names = genes[keep]
        sc.pp.highly_variable_genes(hv, n_top_genes=int(n_top_genes), flavor="seurat")
        sel = np.zeros_like(keep)
        sel[np.flatnonzero(keep)[hv.var["highly_variable"].to_numpy()]] = True
        keep = sel
    x = x[:, keep]
    genes = genes[keep]

    max_pcs = min(x.shape[0] - 1, x.shape[1])
    if not isinstance(n_pcs, int | np.integer) or n_pcs < 2 or n_pcs > max_pcs:
        raise ConfigError(
            f"n_pcs={n_pcs} is not possible for {x.shape[0]} cells x {x.shape[1]} genes "
            f"(allowed 2..{max_pcs}); lower --n-pcs"
        )
    w, mu, scores, evr = pca(x, int(n_pcs), seed)
    scale = scores.std(axis=0)
    scale[scale == 0] = 1.0
    z = scores / scale

    adata.obsm[LATENT_KEY] = z.astype(np.float64)
    adata.obs[TIME_COL] = t
    if transform != "none":
        full = np.zeros((adata.n_obs, adata.n_vars))
        full[:, keep] = x
        adata.layers[LOG_LAYER] = full
    adata.uns[KEY] = {
        "genes": genes.tolist(),
        "gene_index": np.flatnonzero(keep).tolist(),
        "loadings": w,
        "gene_mean": mu,
        "pc_scale": scale,
        "explained_variance_ratio": evr,
        "times": times.astype(float),
        "time_key": time_key,
        "time_unit": str(time_unit or adata.uns.get("time_unit", "unknown")),
        "n_pcs": int(n_pcs),
        "transform": transform,
        "log_base": base,
        "layer": layer or "X",
        "n_constant_genes_dropped": n_dropped_const,
        "n_top_genes": n_top_genes,
    }
    if time_order is not None:  # kept so that new data with the same labels can be projected
        adata.uns[KEY]["time_order"] = {str(k): float(v) for k, v in time_order.items()}
    return adata if copy else None


def pca(x: np.ndarray, n_pcs: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """PCA with scanpy; return loadings W (genes x d), gene means, scores and variance ratios.

    The scores are recomputed as ``(x - mu) @ W`` so that the mapping back to genes is exact.
    """
    import scanpy as sc

    mu = x.mean(axis=0)
    solver = "arpack" if n_pcs < min(x.shape) - 1 else "full"
    ad = AnnData(x.astype(np.float64))
    sc.pp.pca(ad, n_comps=n_pcs, zero_center=True, svd_solver=solver, random_state=seed)
    w = np.asarray(ad.varm["PCs"], dtype=np.float64)
    # orthonormalise (arpack returns orthonormal vectors up to round-off) and fix signs
    q, r = np.linalg.qr(w)
    q = q * np.sign(np.diag(r))
    signs = np.sign(q[np.abs(q).argmax(axis=0), np.arange(n_pcs)])
    q = q * signs
    scores = (x - mu) @ q
    evr = np.asarray(ad.uns["pca"]["variance_ratio"], dtype=np.float64)
    return q, mu, scores, evr


# ----------------------------------------------------------------------------- accessors
def require_prepared(adata: AnnData) -> dict:
    """Return ``adata.uns['grn_mnn']`` or raise a clear error telling to run :func:`prepare`."""
    if KEY not in adata.uns or LATENT_KEY not in adata.obsm:
        raise InputError(
            "this AnnData has not been prepared; call grn_mnn.pp.prepare(adata, "
            "time_key=..., n_pcs=...) first"
        )
    return adata.uns[KEY]


def get_expression(adata: AnnData) -> np.ndarray:
    """Return the (cells x genes used) log expression that the PCA was computed on."""
    info = require_prepared(adata)
    idx = np.asarray(info["gene_index"], dtype=int)
    if LOG_LAYER in adata.layers:
        src = adata.layers[LOG_LAYER]
    elif info["layer"] != "X":
        src = adata.layers[info["layer"]]
    else:
        src = adata.X
    return _to_dense(src[:, idx])


def to_latent(adata: AnnData, x: np.ndarray) -> np.ndarray:
    """Map gene expression (cells x genes used) to z = S^-1 W^T (x - mu)."""
    info = require_prepared(adata)
    return (np.asarray(x) - info["gene_mean"]) @ info["loadings"] / info["pc_scale"]


def to_genes(adata: AnnData, z: np.ndarray) -> np.ndarray:
    """Map latent coordinates back to genes: x = mu + W S z."""
    info = require_prepared(adata)
    return info["gene_mean"] + (np.asarray(z) * info["pc_scale"]) @ info["loadings"].T


def project(
    adata: AnnData,
    mapping: dict,
    time_key: str | None = None,
    time_order: dict[Any, float] | None = None,
    copy: bool = False,
) -> AnnData | None:
    """Map new data into a fitted model's latent space with the model's own PCA mapping.

    The data must contain the model's genes (matched case-insensitively) and the same kind of
    expression (log data; counts are normalised as in :func:`prepare`).
    """
    check_anndata(adata)
    adata = adata.copy() if copy else adata
    time_key = time_key or mapping.get("time_key", "time")
    t = parse_times(adata, time_key, time_order or mapping.get("time_order"))
    upper = {g.upper(): i for i, g in enumerate(adata.var_names.astype(str))}
    genes = [str(g) for g in mapping["genes"]]
    missing = [g for g in genes if g.upper() not in upper]
    if missing:
        raise InputError(
            f"{len(missing)} of the model's {len(genes)} genes are missing from the "
            f"data (e.g. {missing[:5]}); use data with the same gene panel"
        )
    idx = np.asarray([upper[g.upper()] for g in genes])
    x = _to_dense(adata.X)
    check_values(x, "auto")
    if mapping.get("transform", "none") != "none":
        if mapping.get("log_base") is not None:  # log input in another base, as in prepare
            x = x * np.log(float(mapping["log_base"]))
        else:
            x = normalize_counts(x, allow_empty_cells=True)
        full = np.zeros_like(x)
        full[:, idx] = x[:, idx]
        adata.layers[LOG_LAYER] = full
    z = (x[:, idx] - mapping["gene_mean"]) @ mapping["loadings"] / mapping["pc_scale"]
    adata.obsm[LATENT_KEY] = z
    adata.obs[TIME_COL] = t
    adata.uns[KEY] = {
        **{k: mapping[k] for k in mapping},
        "gene_index": idx.tolist(),
        "times": np.unique(t),
        "time_key": time_key,
        "layer": "X",
    }
    return adata if copy else None
