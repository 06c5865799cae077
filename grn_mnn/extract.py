"""Gene-level networks from latent operators: J = W S A S^-1 W^T, kept factored.

With ``z = S^-1 W^T (x - mu)`` and ``dz/dt = A z`` the gene-space dynamics are
``dx/dt = J (x - mu)`` with ``J = U A V``, ``U = W S`` (genes x d) and ``V = S^-1 W^T``
(d x genes). Conventions: **rows are targets, columns are sources**, ``J[target, source]``.

Two readings:

* ``"jacobian"``: ``J[target, source]``, the local gene-gene operator (default);
* ``"contribution"``: ``J[target, source] * (x_source - mu_source)``, the part of
  ``d x_target / dt`` that the source contributes in a cell (the paper's interaction weight).

J has rank <= d, so nothing here builds a genes x genes matrix unless asked (``dense``): the
top-k targets per source and the global top-N edges are computed block by block over sources.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from .errors import ConfigError, InputError

Reading = Literal["jacobian", "contribution"]
DENSE_LIMIT = 5000


# ----------------------------------------------------------------------------- factors
def gene_factors(mapping: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Return U = W S (genes x d) and V = S^-1 W^T (d x genes) from a pp mapping."""
    w = np.asarray(mapping["loadings"], dtype=np.float64)
    s = np.asarray(mapping["pc_scale"], dtype=np.float64)
    return w * s, (w / s).T


def gene_operator(mapping: dict[str, Any], a: np.ndarray) -> np.ndarray:
    """Dense J = U A V for one d x d operator (small panels only; rows = targets)."""
    u, v = gene_factors(mapping)
    if u.shape[0] > DENSE_LIMIT:
        raise ConfigError(
            f"a dense {u.shape[0]} x {u.shape[0]} matrix was requested; use "
            f"top_k/top_n tables for panels above {DENSE_LIMIT} genes"
        )
    return u @ np.asarray(a, dtype=np.float64) @ v


def resolve_sources(
    genes: Sequence[str], sources: str | Sequence[str] | None, species: str | None = None
) -> np.ndarray:
    """Indices of source genes: all (None), the bundled TF list of ``species`` ('tf'), or a list.

    The TF list is Lambert et al. (2018) (:func:`grn_mnn.datasets.transcription_factors`),
    curated independently of TRRUST, so a TF-restricted network scored against TRRUST does not
    see the reference through its candidate regulators.
    """
    genes = [str(g) for g in genes]
    upper = {g.upper(): i for i, g in enumerate(genes)}
    if sources is None or (isinstance(sources, str) and sources == "all"):
        return np.arange(len(genes))
    if isinstance(sources, str) and sources == "tf":
        if species not in ("human", "mouse"):
            raise InputError(
                "sources='tf' needs the species ('human' or 'mouse') to pick the "
                "transcription factors (Lambert et al. 2018); pass species= or a list of sources"
            )
        from .datasets import transcription_factors

        names = transcription_factors(species)
    else:
        names = [str(s).upper() for s in sources]
    idx = sorted({upper[n] for n in names if n in upper})
    if not idx:
        raise InputError(
            f"none of the {len(names)} requested sources are among the data's "
            f"genes (e.g. {list(names)[:3]}); check the species or identifier type"
        )
    return np.asarray(idx)


# ----------------------------------------------------------------------------- operators
def group_operators(a_cells: np.ndarray, labels: np.ndarray) -> dict[Any, dict[str, Any]]:
    """Mean and standard deviation of the cell operators within each label."""
    out = {}
    for lab in pd.unique(labels):
        m = labels == lab
        out[lab] = {
            "mean": a_cells[m].mean(axis=0),
            "std": a_cells[m].std(axis=0),
            "n_cells": int(m.sum()),
            "mask": m,
        }
    return out


def contribution_operator(
    a_cells: np.ndarray, delta: np.ndarray, v: np.ndarray, src: np.ndarray, block: int = 256
) -> np.ndarray:
    """d x n_sources matrix C with J_contrib[:, s] = U @ C[:, s] (mean over cells).

    C[:, s] = mean_c (A_c V[:, s]) * delta_c[s], where delta = x - mu (cells x genes).
    """
    n = len(a_cells)
    out = np.empty((a_cells.shape[1], len(src)))
    for i in range(0, len(src), block):
        sb = src[i : i + block]
        av = np.einsum("cij,js->cis", a_cells, v[:, sb])
        out[:, i : i + block] = np.einsum("cis,cs->is", av, delta[:, sb]) / n
    return out


# ----------------------------------------------------------------------------- tables
def _top_from_columns(
    u: np.ndarray,
    cols: np.ndarray,
    src: np.ndarray,
    genes: np.ndarray,
    top_k: int | None,
    top_n: int | None,
    block: int,
) -> pd.DataFrame:
    """Edges source -> target with weight (U @ cols)[target, s], blockwise over sources."""
    g = u.shape[0]
    parts = []
    heap_w = np.empty(0)
    for i in range(0, len(src), block):
        sb = src[i : i + block]
        j = u @ cols[:, i : i + block]  # genes x block
        j[sb, np.arange(len(sb))] = np.nan  # no self-loops
        if top_k is not None and top_k < g - 1:
            k = int(top_k)
            aj = np.where(np.isnan(j), -np.inf, np.abs(j))
            part = np.argpartition(-aj, k - 1, axis=0)[:k]
            tgt = part.T.ravel()
            srs = np.repeat(sb, k)
            w = j[part, np.arange(len(sb))[None, :]].T.ravel()
        else:
            tgt = np.tile(np.arange(g), len(sb))
            srs = np.repeat(sb, g)
            w = j.T.ravel()
            keep = ~np.isnan(w)
            tgt, srs, w = tgt[keep], srs[keep], w[keep]
        if top_n is not None:
            # keep only candidates that can still enter the global top-N
            cand_w = np.concatenate([heap_w, np.abs(w)])
            if len(cand_w) > top_n:
                thr = np.partition(cand_w, len(cand_w) - top_n)[len(cand_w) - top_n]
                keep = np.abs(w) >= thr
                tgt, srs, w = tgt[keep], srs[keep], w[keep]
        parts.append((srs, tgt, w))
        if top_n is not None:
            heap_w = np.concatenate([heap_w, np.abs(w)])
            if len(heap_w) > top_n:
                heap_w = np.partition(heap_w, len(heap_w) - top_n)[len(heap_w) - top_n :]
    srs = np.concatenate([p[0] for p in parts]) if parts else np.empty(0, int)
    tgt = np.concatenate([p[1] for p in parts]) if parts else np.empty(0, int)
    w = np.concatenate([p[2] for p in parts]) if parts else np.empty(0)
    df = _table(genes[srs], genes[tgt], w)
    if top_n is not None:
        df = df.head(top_n).copy()
        df["rank"] = np.arange(1, len(df) + 1)
    return df


def _table(source: np.ndarray, target: np.ndarray, weight: np.ndarray) -> pd.DataFrame:
    """Tidy edge table sorted by |weight| descending (ties by source, target: deterministic)."""
    df = pd.DataFrame(
        {
            "source": np.asarray(source, dtype=object),
            "target": np.asarray(target, dtype=object),
            "weight": np.asarray(weight, dtype=np.float64),
        }
    )
    df["abs_weight"] = df["weight"].abs()
    df["sign"] = np.sign(df["weight"]).astype(np.int64)
    order = np.lexsort(
        (df["target"].to_numpy(), df["source"].to_numpy(), -df["abs_weight"].to_numpy())
    )
    df = df.iloc[order].reset_index(drop=True)
    df["rank"] = np.arange(1, len(df) + 1)
    return df


def edge_table(
    mapping: dict[str, Any],
    a_cells: np.ndarray,
    *,
    reading: Reading = "jacobian",
    delta: np.ndarray | None = None,
    sources: np.ndarray | None = None,
    top_k: int | None = None,
    top_n: int | None = None,
    block: int = 512,
) -> pd.DataFrame:
    """Edge table of the mean network over the given cells.

    Parameters
    ----------
    mapping
        The pp mapping (``genes``, ``loadings``, ``pc_scale``).
    a_cells
        Latent operators of the cells, (cells, d, d).
    reading
        ``"jacobian"`` (mean of J over cells) or ``"contribution"`` (needs ``delta``).
    delta
        x - mu of the same cells (cells x genes), for ``"contribution"``.
    sources
        Indices of source genes (default all).
    top_k
        Keep the k strongest targets per source.
    top_n
        Keep the N strongest edges overall.
    """
    genes = np.asarray(mapping["genes"], dtype=object)
    u, v = gene_factors(mapping)
    src = np.arange(len(genes)) if sources is None else np.asarray(sources)
    a_cells = np.asarray(a_cells, dtype=np.float64)
    if a_cells.ndim != 3 or len(a_cells) == 0:
        raise InputError(f"need a non-empty (cells, d, d) operator array, got {a_cells.shape}")
    if reading == "jacobian":
        cols = a_cells.mean(axis=0) @ v[:, src]
    elif reading == "contribution":
        if delta is None or delta.shape != (len(a_cells), len(genes)):
            raise InputError(
                "reading='contribution' needs delta = x - mu of the same cells "
                f"(shape {(len(a_cells), len(genes))})"
            )
        cols = contribution_operator(a_cells, delta, v, src)
    else:
        raise ConfigError(f"reading must be 'jacobian' or 'contribution', got {reading!r}")
    return _top_from_columns(u, cols, src, genes, top_k, top_n, block)


def edge_values_per_cell(
    mapping: dict[str, Any], a_cells: np.ndarray, source_idx: np.ndarray, target_idx: np.ndarray
) -> np.ndarray:
    """J_c[target_e, source_e] for every cell c and edge e: (cells, edges)."""
    u, v = gene_factors(mapping)
    return np.einsum("ei,cij,je->ce", u[target_idx], a_cells, v[:, source_idx], optimize=True)


def ensemble(tables: Sequence[pd.DataFrame]) -> tuple[pd.DataFrame, dict[str, float]]:
    """Average edge tables of several fits; report per-edge and overall stability.

    Returns the mean table (with ``weight_std`` and ``sign_agreement``: the fraction of fits
    whose sign equals the ensemble sign) and ``{"mean_spearman": ..., "mean_sign_agreement":
    ...}`` over the pairs of fits (edges missing from a table count as weight 0).
    """
    from scipy.stats import spearmanr

    if len(tables) < 2:
        raise InputError("an ensemble needs at least two edge tables")
    keys = pd.concat([t[["source", "target"]] for t in tables]).drop_duplicates()
    mats = []
    for t in tables:
        m = keys.merge(t[["source", "target", "weight"]], on=["source", "target"], how="left")
        mats.append(m["weight"].fillna(0.0).to_numpy())
    w = np.vstack(mats)
    mean = w.mean(axis=0)
    df = _table(keys["source"].to_numpy(), keys["target"].to_numpy(), mean)
    order = pd.MultiIndex.from_frame(keys).get_indexer(
        pd.MultiIndex.from_frame(df[["source", "target"]])
    )
    w = w[:, order]
    df["weight_std"] = w.std(axis=0)
    df["sign_agreement"] = (np.sign(w) == np.sign(df["weight"].to_numpy())).mean(axis=0)
    rhos = [spearmanr(w[i], w[j]).statistic for i in range(len(w)) for j in range(i + 1, len(w))]
    return df, {
        "mean_spearman": float(np.nanmean(rhos)),
        "mean_sign_agreement": float(df["sign_agreement"].mean()),
        "n_fits": len(w),
    }


# ----------------------------------------------------------------------------- scanpy-style API
def network(
    model: Any,
    adata: Any,
    *,
    by: str | None = None,
    reading: Reading = "jacobian",
    sources: str | Sequence[str] | None = None,
    species: str | None = None,
    top_k: int | None = None,
    top_n: int | None = None,
    query_time: float | None = None,
    cells: np.ndarray | None = None,
    key_added: str | None = "grn_mnn",
    spread: bool = True,
) -> pd.DataFrame:
    """Gene-level network table from a fitted model, over all cells or per time / group.

    Parameters
    ----------
    model
        A trained :class:`grn_mnn.CellMNN` (anything with ``operators(z, t)`` and ``mapping``).
    adata
        Prepared AnnData (latent z in ``obsm['X_grn_mnn']``) whose cells are read.
    by
        ``None`` (one network over all cells), ``"time"`` (one per observed time point) or
        an ``obs`` column (one per group: cluster, cell type, lineage).
    reading
        ``"jacobian"`` or ``"contribution"`` (see the module docstring).
    sources
        ``None`` (all genes), ``"tf"`` (the bundled TF list of ``species``, Lambert et al.
        2018) or a list of genes.
    species
        For ``sources="tf"``; defaults to ``adata.uns['species']``.
    top_k, top_n
        Keep the k strongest targets per source / the N strongest edges per network.
    query_time
        Evaluate every cell's operator at this time instead of its own.
    cells
        Boolean mask or indices of the cells to use (default all).
    spread
        Add ``weight_std``, the standard deviation of J[target, source] across the cells
        (jacobian reading; costs one pass over cells x edges).
    key_added
        Store the table in ``adata.uns[key_added]['networks'][by or 'all']`` (None: don't).

    Returns
    -------
    Tidy table ``source, target, weight, abs_weight, sign, rank`` [+ ``time`` or ``group``,
    ``n_cells``, ``weight_std`` across cells for the jacobian reading].
    """
    from .pp import LATENT_KEY, TIME_COL, get_expression, require_prepared

    info = require_prepared(adata)
    mapping = model.mapping or info
    if list(mapping["genes"]) != list(info["genes"]):
        raise InputError(
            "the model and the AnnData use different genes; prepare the data with "
            "the model's mapping (grn_mnn.pp.project)"
        )
    sel = np.arange(adata.n_obs) if cells is None else np.asarray(cells)
    if sel.dtype == bool:
        sel = np.flatnonzero(sel)
    z = np.asarray(adata.obsm[LATENT_KEY])[sel]
    t = adata.obs[TIME_COL].to_numpy()[sel] if query_time is None else query_time
    a_cells = model.operators(z, t)
    src = resolve_sources(mapping["genes"], sources, species or adata.uns.get("species"))
    delta = None
    if reading == "contribution":
        delta = get_expression(adata)[sel] - np.asarray(mapping["gene_mean"])
    if by is None:
        labels, col = np.zeros(len(sel), dtype=int), None
    elif by == "time":
        labels, col = adata.obs[TIME_COL].to_numpy()[sel], "time"
    elif by in adata.obs.columns:
        labels, col = adata.obs[by].astype(str).to_numpy()[sel], "group"
    else:
        raise InputError(
            f"by={by!r} is neither 'time' nor an obs column; available: "
            f"{list(adata.obs.columns)[:20]}"
        )
    tables = []
    for lab, grp in group_operators(a_cells, labels).items():
        m = grp["mask"]
        df = edge_table(
            mapping,
            a_cells[m],
            reading=reading,
            delta=None if delta is None else delta[m],
            sources=src,
            top_k=top_k,
            top_n=top_n,
        )
        if spread and reading == "jacobian" and len(df):
            df["weight_std"] = _edge_std(mapping, a_cells[m], df)
        if col is not None:
            df.insert(3, col, float(lab) if col == "time" else str(lab))
        df["n_cells"] = int(m.sum())
        tables.append(df)
    out = pd.concat(tables, ignore_index=True)
    if col == "time":
        out = out.sort_values(["time", "rank"], kind="stable").reset_index(drop=True)
    if key_added:
        store = adata.uns.setdefault(key_added, {})
        store.setdefault("networks", {})[by or "all"] = out
    return out


def _edge_std(
    mapping: dict[str, Any], a_cells: np.ndarray, df: pd.DataFrame, block: int = 200_000
) -> np.ndarray:
    """Standard deviation across cells of J_c[target, source] for each edge in ``df``."""
    genes = {g: i for i, g in enumerate(mapping["genes"])}
    si = df["source"].map(genes).to_numpy()
    ti = df["target"].map(genes).to_numpy()
    u, v = gene_factors(mapping)
    a_c = a_cells - a_cells.mean(axis=0)
    # var_e = mean_c (u_t^T dA_c v_s)^2 = u_t^T E[dA ⊗ dA] v_s: use the cell-by-cell form blockwise
    out = np.empty(len(df))
    for i in range(0, len(df), block):
        sl = slice(i, i + block)
        vals = np.einsum("ei,cij,je->ce", u[ti[sl]], a_c, v[:, si[sl]], optimize=True)
        out[sl] = np.sqrt((vals**2).mean(axis=0))
    return out


def ensemble_network(
    models: Sequence[Any], adata: Any, **kwargs: Any
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Network of an ensemble of fits on the same prepared data (seeds, held-out points).

    The latent operators of every model are averaged cell by cell (all models must share the
    data's PCA mapping, so their latent spaces coincide) and the mean network is extracted
    from that average. Stability is measured on the per-model tables with :func:`ensemble`
    (sign agreement with the ensemble, mean pairwise Spearman correlation). ``kwargs`` go to
    :func:`network` (``by``, ``reading``, ``sources``, ``top_k``, ...).
    """
    if len(models) < 2:
        raise InputError("an ensemble needs at least two fitted models")
    genes = list(models[0].mapping["genes"])
    for m in models[1:]:
        if list(m.mapping["genes"]) != genes or not np.allclose(
            m.mapping["loadings"], models[0].mapping["loadings"]
        ):
            raise InputError(
                "ensemble members use different genes or PCA; fit them on the same prepared "
                "AnnData, or combine their edge tables with extract.ensemble"
            )
    per_model = [network(m, adata, **{**kwargs, "key_added": None}) for m in models]
    _, stats = ensemble(per_model)
    mean = network(_MeanOperator(models), adata, **kwargs)
    return mean, stats


class _MeanOperator:
    """Duck-typed model whose operators are the mean of several models' operators."""

    def __init__(self, models: Sequence[Any]) -> None:
        self.models = list(models)
        self.mapping = models[0].mapping

    def operators(self, z: np.ndarray, t: Any) -> np.ndarray:
        return np.mean([m.operators(z, t) for m in self.models], axis=0)
