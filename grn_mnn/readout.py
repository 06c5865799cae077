"""Time-ordered co-expression: the default gene network of ``grn-mnn run``.

The reading chosen on the simulated accuracy benchmark (``validation/grn_benchmark.py``,
``docs/benchmarks.md``): for a candidate edge source -> target,

    weight[target, source] = r(target, source) * E(source)

- ``r`` is the Pearson correlation across all cells of the expression on the *linear* scale
  (``expm1`` of the log expression that :func:`grn_mnn.pp.prepare` stores), where additive
  regulation acts, each gene clipped at its 98th percentile over the cells first
  (``winsorize``, session 9: a few outlying cells no longer decide its correlations);
  ``|r|`` gives most of the confidence. When ``prepare`` normalised raw
  counts itself (total counts), the ranking re-normalises them by median-of-ratios size
  factors over the positive entries (DESeq2's ``poscounts``, :func:`median_ratio_factors`,
  ``size_factors="auto"``): a few strongly changing genes then no longer push every other
  gene of a cell down, a compositional coupling that total-count scaling creates;
- the sign (``signs="expression+within"``, the default since session 8) is that of the
  *within-time* correlation (:func:`within_time_correlation`: how the two genes co-fluctuate
  across the cells of one time point, which the trend all genes share over time cannot
  confound) where it is significant (``|r_w| sqrt(n - T) > 1.96``, two-sided 5 %), and
  elsewhere that of ``r`` itself. ``signs="latent+within"`` (the default of sessions 6-7)
  falls back instead on the same correlation computed on the cells' reconstruction from the
  model's latent space, ``expm1(mu + W S z)``; it tied on the benchmark's seeds but lost on
  held-out seeds and with fewer cells or noisier counts (``docs/accuracy.md``, session 8).
  ``signs="latent"``, ``"within"`` or ``"expression"`` (the sign of ``r``) take one source
  alone;
- ``E(source) = sigmoid((mean tau of the candidate regulators - tau_source) / (temperature *
  span))`` is a soft time prior on the regulator (``time_prior="regulator"``, session 12):
  ``tau`` is a gene's *change time*, the mean of the interval mid-points weighted by how much
  the gene's mean expression changes in each interval, and ``span`` the time course's length.
  Regulators that change earlier than the other candidate regulators rank higher.
  ``time_prior="pair"`` (sessions 4-11) uses instead ``P(target after source) =
  sigmoid((tau_target - tau_source) / (temperature * span))``, which also asks the target to
  change late. Its logit is E's plus a term of the target alone, which tied on the simulated
  benchmark and cost ranking against every real reference measured (``docs/accuracy.md``,
  session 12). ``temperature=inf`` drops the time order.

``timing="data"`` (the default) takes ``tau`` from the observed time-point means;
``timing="flow"`` takes it from the fitted Cell-MNN flow (cells of each time point pushed
along the learned dynamics on a sub-grid of every interval), which scored lower on the
benchmark (see the accuracy log in ``docs/benchmarks.md``) and is kept as an option.
The Cell-MNN Jacobian readings (``J = W S A S^-1 W^T``) live in :mod:`grn_mnn.extract`.

Rows are targets, columns are sources, as everywhere in grn_mnn.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Real
from typing import Any, Literal

import numpy as np
import pandas as pd

from .config import (
    DEFAULT_SIGNS,
    DEFAULT_SIZE_FACTORS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TIME_PRIOR,
    DEFAULT_WINSORIZE,
    SIGNS,
    SIZE_FACTORS,
    TIME_PRIORS,
)
from .errors import ConfigError, InputError
from .extract import _table, resolve_sources

Timing = Literal["data", "flow"]
SizeFactors = Literal["auto", "median-ratio", "none"]
Signs = Literal["expression+within", "latent+within", "latent", "within", "expression"]
TimePrior = Literal["regulator", "pair"]
#: a within-time correlation decides an edge's sign when |r| sqrt(n - T) exceeds this (5 %)
WITHIN_Z = 1.96
#: temperature of the time-order sigmoid, in units of the time course's span (benchmark choice)
TEMPERATURE = DEFAULT_TEMPERATURE
#: sub-steps per interval for the flow's change times
FLOW_SUBSTEPS = 8
#: bootstrap resamples behind an edge's ``sign_agreement`` when one asks for it
SIGN_BOOTSTRAPS = 20


# ----------------------------------------------------------------------------- timing
def _weighted_change_time(grid: np.ndarray, means: np.ndarray) -> np.ndarray:
    """Mean interval mid-point weighted by |change of each gene's mean| (genes,)."""
    change = np.abs(np.diff(means, axis=0))
    mid = (grid[1:] + grid[:-1]) / 2
    total = change.sum(axis=0)
    tau = (change * mid[:, None]).sum(axis=0) / np.where(total > 0, total, 1.0)
    # a gene that never changes gets the middle of the time course (no precedence either way)
    return np.where(total > 0, tau, (grid[0] + grid[-1]) / 2)


def time_point_means(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """(time points x genes) mean of ``values`` at each distinct time, in increasing order."""
    v, t = np.asarray(values, dtype=float), np.asarray(times, dtype=float)
    return np.vstack([v[t == g].mean(axis=0) for g in np.unique(t)])


def change_times(expression: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Each gene's change time from the observed time-point means of its log expression.

    Parameters
    ----------
    expression
        Log expression, cells x genes.
    times
        Each cell's time (at least 2 distinct values).

    Returns
    -------
    numpy.ndarray
        (genes,) change times in the units of ``times``.
    """
    x = np.asarray(expression, dtype=float)
    t = np.asarray(times, dtype=float)
    if x.ndim != 2 or len(t) != len(x):
        raise InputError(f"expression {x.shape} and times ({len(t)}) do not match")
    grid = np.unique(t)
    if grid.size < 2:
        raise InputError("change times need at least 2 distinct time points")
    return _weighted_change_time(grid, time_point_means(x, t))


def flow_change_times(model: Any, adata: Any, n_sub: int = FLOW_SUBSTEPS) -> np.ndarray:
    """Change times from the fitted flow: cells pushed along the learned dynamics.

    The cells of every time point but the last are pushed by ``model.predict`` to ``n_sub``
    equally spaced times inside the interval to the next point; the gene-space mean at each
    grid time is ``mu + U mean(z)`` (exact, the map is linear).
    """
    from .extract import gene_factors
    from .pp import LATENT_KEY, TIME_COL, require_prepared

    info = require_prepared(adata)
    if n_sub < 1:
        raise ConfigError(f"n_sub must be >= 1, got {n_sub}")
    z = np.asarray(adata.obsm[LATENT_KEY])
    t = adata.obs[TIME_COL].to_numpy().astype(float)
    u, _ = gene_factors(model.mapping or info)
    pts = np.unique(t)
    grid, means = [], []
    for a, b in zip(pts[:-1], pts[1:], strict=True):
        za = z[t == a]
        for f in np.arange(n_sub) / n_sub:
            tq = a + f * (b - a)
            zq = za if f == 0 else model.predict(za, a, tq)
            grid.append(tq)
            means.append(zq.mean(axis=0) @ u.T)
    grid.append(pts[-1])
    means.append(z[t == pts[-1]].mean(axis=0) @ u.T)
    return _weighted_change_time(np.asarray(grid), np.vstack(means))


def precedence(tau: np.ndarray, span: float, temperature: float = TEMPERATURE) -> np.ndarray:
    """P[target, source] = sigmoid((tau_target - tau_source) / (temperature * span)); an
    infinite ``temperature`` gives 1/2 everywhere (no time order)."""
    tau = np.asarray(tau)
    return _soft_order(tau[:, None] - tau[None, :], span, temperature)


def _soft_order(lead: np.ndarray, span: float, temperature: float) -> np.ndarray:
    """sigmoid(lead / (temperature * span)), computed without overflow; an infinite
    ``temperature`` gives 1/2 everywhere."""
    check_options(temperature=temperature)
    d = np.asarray(lead, dtype=float) / (temperature * (span if span > 0 else 1.0))
    return 0.5 * (1.0 + np.tanh(0.5 * d))


def regulator_timing(
    tau: np.ndarray, source_idx: np.ndarray, span: float, temperature: float = TEMPERATURE
) -> np.ndarray:
    """E[source] = sigmoid((mean tau of the sources - tau_source) / (temperature * span)), one
    value per source of ``source_idx``: how much earlier than the other candidate regulators
    each one changes. An infinite ``temperature`` gives 1/2 everywhere (no time order)."""
    ts = np.asarray(tau, dtype=float)[np.asarray(source_idx)]
    return _soft_order(ts.mean() - ts, span, temperature) if ts.size else ts


def time_factor(
    tau: np.ndarray,
    source_idx: np.ndarray,
    span: float,
    temperature: float = TEMPERATURE,
    time_prior: TimePrior = DEFAULT_TIME_PRIOR,
) -> np.ndarray:
    """(genes x sources) time-order factor of the co-expression weights: :func:`regulator_timing`
    of each column's source (``"regulator"``) or :func:`precedence` (``"pair"``)."""
    check_options(time_prior=time_prior)
    if time_prior == "pair":
        return precedence(tau, span, temperature)[:, source_idx]
    e = regulator_timing(tau, source_idx, span, temperature)
    return np.broadcast_to(e[None, :], (len(tau), e.size))


#: per-edge sign evidence that :func:`network` adds to its table (and run to edges.csv)
SIGN_EVIDENCE = ("sign_z", "sign_from", "sign_agreement")


def check_options(
    signs: str | None = None,
    size_factors: str | None = None,
    winsorize: float | None = None,
    temperature: float | None = None,
    time_prior: str | None = None,
) -> None:
    """Refuse an unknown sign source (:data:`SIGNS`), size factors (:data:`SIZE_FACTORS`) or
    time prior (:data:`TIME_PRIORS`), a ``winsorize`` quantile outside (0.5, 1], or a
    ``temperature`` that is not > 0 (``inf`` is allowed: no time order)."""
    if temperature is not None and not (
        isinstance(temperature, Real) and not isinstance(temperature, bool) and temperature > 0
    ):
        raise ConfigError(f"temperature must be > 0 (inf = no time order); got {temperature!r}")
    if winsorize is not None and not (
        isinstance(winsorize, Real) and not isinstance(winsorize, bool) and 0.5 < winsorize <= 1
    ):
        raise ConfigError(
            f"winsorize must be a quantile in (0.5, 1] (1 = no clipping); got {winsorize!r}"
        )
    if time_prior is not None and time_prior not in TIME_PRIORS:
        raise ConfigError(f"time_prior must be one of {', '.join(TIME_PRIORS)}; got {time_prior!r}")
    if signs is not None and signs not in SIGNS:
        raise ConfigError(f"signs must be one of {', '.join(SIGNS)}; got {signs!r}")
    if size_factors is not None and size_factors not in SIZE_FACTORS:
        raise ConfigError(
            f"size_factors must be one of {', '.join(SIZE_FACTORS)}; got {size_factors!r}"
        )


# ----------------------------------------------------------------------------- size factors
def median_ratio_factors(linear: np.ndarray) -> np.ndarray:
    """Per-cell median-of-ratios size factors over the positive entries (DESeq2 ``poscounts``).

    Each cell's factor is ``exp(median over its positive genes of log(y) - g)``, where ``g`` is
    the gene's mean log over the cells in which it is positive; the factors are scaled to a
    median of 1. A cell with no positive entry gets 1. Unlike the total, the median ignores the
    few genes that change most, so they do not rescale every other gene of the cell.

    Parameters
    ----------
    linear
        Non-negative expression on the linear scale, cells x genes (counts, or ``expm1`` of a
        log1p normalisation: the factors of ``y * a_cell`` are those of ``y`` times ``a_cell``,
        up to the gene means of the positive cells).

    Returns
    -------
    numpy.ndarray
        (cells,) positive factors with median 1.
    """
    y = np.asarray(linear, dtype=float)
    if y.ndim != 2 or (y < 0).any() or not np.isfinite(y).all():
        raise InputError("size factors need a finite, non-negative cells x genes matrix")
    pos = y > 0
    logy = np.log(np.where(pos, y, 1.0))
    n_pos = pos.sum(axis=0)
    gmean = np.divide((logy * pos).sum(axis=0), n_pos, out=np.zeros(y.shape[1]), where=n_pos > 0)
    has = pos.any(axis=1)
    f = np.ones(len(y))
    if has.any():
        ratio = np.where(pos, logy - gmean, np.nan)[has]
        f[has] = np.exp(np.nanmedian(ratio, axis=1))
    return f / np.median(f)


def ranking_expression(
    expression: np.ndarray, transform: str, size_factors: SizeFactors = DEFAULT_SIZE_FACTORS
) -> np.ndarray:
    """The log expression the ranking reads: re-normalised by :func:`median_ratio_factors`.

    ``size_factors="auto"`` re-normalises only when :func:`grn_mnn.pp.prepare` normalised raw
    counts itself (``transform``); log expression that came normalised is used as it is.
    ``"median-ratio"`` always re-normalises ``expm1(expression)``, ``"none"`` never.
    """
    from .pp import COUNTS_TRANSFORM

    check_options(size_factors=size_factors)
    x = np.asarray(expression, dtype=float)
    if size_factors == "none" or (size_factors == "auto" and transform != COUNTS_TRANSFORM):
        return x
    lin = np.expm1(x)
    return np.log1p(lin / median_ratio_factors(lin)[:, None])


# ----------------------------------------------------------------------------- matrices
def _correlation_of_centred(c: np.ndarray, source_idx: np.ndarray) -> np.ndarray:
    """(genes x sources) correlation of the columns of an already centred matrix (0 if constant)."""
    sd = np.sqrt((c**2).mean(axis=0))
    c = np.divide(c, sd, out=np.zeros_like(c), where=sd > 0)
    return c.T @ c[:, source_idx] / len(c)


def winsorized(values: np.ndarray, quantile: float = DEFAULT_WINSORIZE) -> np.ndarray:
    """``values`` (cells x genes) with each gene clipped above its ``quantile`` over the cells.

    The few cells far out in a gene's upper tail (bursts, amplification outliers) otherwise
    dominate a linear-scale correlation. ``quantile=1`` returns the values unchanged.
    """
    check_options(winsorize=quantile)
    return _clip_upper(np.array(values, dtype=float), quantile)  # np.array: a copy


def _clip_upper(v: np.ndarray, quantile: float, chunk: int = 1024) -> np.ndarray:
    """Clip each column of ``v`` above its ``quantile`` in place, ``chunk`` columns at a time
    (the quantile's sorted copy then holds cells x chunk values, not the whole matrix)."""
    if quantile >= 1.0 or len(v) == 0:
        return v
    for j in range(0, v.shape[1], chunk):
        block = v[:, j : j + chunk]
        np.minimum(block, np.quantile(block, quantile, axis=0), out=block)
    return v


def linear_correlation(
    expression: np.ndarray, source_idx: np.ndarray, winsorize: float = 1.0
) -> np.ndarray:
    """(genes x sources) Pearson correlation of ``expm1(expression)`` (0 for constant genes),
    each gene first clipped at its ``winsorize`` quantile (:func:`winsorized`; 1 = not)."""
    check_options(winsorize=winsorize)
    lin = _clip_upper(np.expm1(np.asarray(expression, dtype=float)), winsorize)
    return _correlation_of_centred(lin - lin.mean(axis=0), source_idx)


def within_time_correlation(
    expression: np.ndarray, times: np.ndarray, source_idx: np.ndarray
) -> np.ndarray:
    """(genes x sources) correlation of ``expm1(expression)`` *within* time points.

    Each gene is centred and scaled to unit variance within every time point (a gene constant
    at a time point contributes 0 there), and the correlation is taken over the pooled cells:
    every time point weighs by its cells, and the trend the genes share across time points
    is removed.
    """
    lin = np.expm1(np.asarray(expression, dtype=float))
    return _correlation_of_centred(within_time_zscores(lin, times), source_idx)


def within_time_zscores(values: np.ndarray, times: np.ndarray) -> np.ndarray:
    """``values`` (cells x genes, as given) with every gene centred and scaled to unit variance
    within each time point; a gene constant at a time point is 0 there."""
    v = np.asarray(values, dtype=float)
    t = np.asarray(times, dtype=float)
    if v.ndim != 2 or len(t) != len(v):
        raise InputError(f"expression {v.shape} and times ({len(t)}) do not match")
    c = np.zeros_like(v)
    for tk in np.unique(t):
        m = t == tk
        d = v[m] - v[m].mean(axis=0)
        sd = d.std(axis=0)
        c[m] = np.divide(d, sd, out=np.zeros_like(d), where=sd > 0)
    return c


def sign_score(
    expression: np.ndarray,
    times: np.ndarray,
    source_idx: np.ndarray,
    signs: Signs = DEFAULT_SIGNS,
    *,
    sign_expression: np.ndarray | None = None,
    within_z: float = WITHIN_Z,
    within: np.ndarray | None = None,
    pooled: np.ndarray | None = None,
    winsorize: float = DEFAULT_WINSORIZE,
) -> np.ndarray:
    """(genes x sources) score whose sign is each edge's predicted sign (see :data:`SIGNS`).

    ``"expression"``: the correlation of ``expression`` across all cells; ``"latent"``: the
    same correlation of ``sign_expression`` (the latent reconstruction, required);
    ``"within"``: :func:`within_time_correlation` of ``expression``; ``"expression+within"``
    (default) and ``"latent+within"``: the within-time correlation where it is significant
    (``|r_w| sqrt(n - T) > within_z``, default :data:`WITHIN_Z`, with ``n`` cells in ``T``
    time points), the expression's / the latent one elsewhere. The expression's all-cell
    correlation clips each gene at its ``winsorize`` quantile (:func:`winsorized`), as the
    ranking does. ``within`` and ``pooled``: the within-time and the all-cell correlation of
    ``expression``, when already computed.
    """
    check_options(signs=signs)
    if signs in ("latent", "latent+within"):
        if sign_expression is None:
            raise ConfigError(f"signs={signs!r} needs the latent reconstruction (sign_expression)")
        fallback = linear_correlation(sign_expression, source_idx)
    elif signs != "within":
        fallback = (
            linear_correlation(expression, source_idx, winsorize) if pooled is None else pooled
        )
    if signs in ("latent", "expression"):
        return fallback
    if within is None:
        within = within_time_correlation(expression, times, source_idx)
    if signs == "within":
        return within
    return np.where(np.abs(within_z_scores(within, times)) > within_z, within, fallback)


def within_z_scores(within: np.ndarray, times: np.ndarray) -> np.ndarray:
    """The within-time correlations as z statistics, ``r_w sqrt(n - T)`` (n cells, T times).

    ``|z| > 1.96`` is where ``signs="expression+within"`` (and ``"latent+within"``) take the
    within-time sign; on the simulated benchmark 93-100 % of those signs are right
    (``docs/accuracy.md``).
    """
    dof = max(len(times) - np.unique(times).size, 1)
    return np.asarray(within, dtype=float) * np.sqrt(dof)


def check_bootstraps(n_boot: Any, minimum: int = 0) -> None:
    """Refuse a number of sign bootstraps that is not a whole number >= ``minimum``."""
    if not isinstance(n_boot, (int, np.integer)) or isinstance(n_boot, bool) or n_boot < minimum:
        raise ConfigError(
            f"sign_bootstraps must be a whole number >= {minimum} (0 = no sign_agreement column); "
            f"got {n_boot!r}"
        )


def within_time_resample(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Indices of one bootstrap resample of the cells, drawn with replacement within each time
    point (every time point keeps its number of cells)."""
    t = np.asarray(times)
    groups = [np.flatnonzero(t == tk) for tk in np.unique(t)]
    return np.concatenate([rng.choice(g, len(g), replace=True) for g in groups])


def sign_agreement(
    expression: np.ndarray,
    times: np.ndarray,
    source_idx: np.ndarray,
    signs: Signs = DEFAULT_SIGNS,
    *,
    n_boot: int = SIGN_BOOTSTRAPS,
    seed: int = 0,
    sign_expression: np.ndarray | None = None,
    winsorize: float = DEFAULT_WINSORIZE,
    reference: np.ndarray | None = None,
) -> np.ndarray:
    """(genes x sources) share of ``n_boot`` bootstrap resamples of the cells (within time
    points, :func:`within_time_resample`) whose :func:`sign_score` has the sign of
    ``reference`` (default: the sign score of all cells). The whole sign rule is re-run on
    every resample, the within-time test included, so an edge near the test's threshold or
    with a weak all-cell correlation agrees less. On the simulated benchmark (seeds 0-2; held
    out 3-5) true edges with agreement >= 0.95 are signed right 0.91 (0.89) of the time and
    the rest 0.69 (0.65) (``docs/accuracy.md``, session 14).
    """
    check_bootstraps(n_boot, minimum=1)
    x = np.asarray(expression, dtype=float)
    t = np.asarray(times, dtype=float)
    se = None if sign_expression is None else np.asarray(sign_expression, dtype=float)

    def score(idx: np.ndarray | slice) -> np.ndarray:
        sub = None if se is None else se[idx]
        return sign_score(
            x[idx], t[idx], source_idx, signs, sign_expression=sub, winsorize=winsorize
        )

    ref = np.sign(score(slice(None)) if reference is None else np.asarray(reference, float))
    rng = np.random.default_rng(seed)
    agree = np.zeros(ref.shape)
    for _ in range(n_boot):
        agree += np.sign(score(within_time_resample(t, rng))) == ref
    return agree / n_boot


def lagged_matrix(
    expression: np.ndarray,
    times: np.ndarray,
    source_idx: np.ndarray,
    *,
    tau: np.ndarray | None = None,
    temperature: float = TEMPERATURE,
    time_prior: TimePrior = DEFAULT_TIME_PRIOR,
    cells: np.ndarray | None = None,
    signs: Signs | None = None,
    sign_expression: np.ndarray | None = None,
    within: np.ndarray | None = None,
    winsorize: float = DEFAULT_WINSORIZE,
) -> np.ndarray:
    """(genes x sources) time-ordered co-expression weights (see the module docstring).

    ``tau`` defaults to :func:`change_times` of all cells; ``cells`` restricts the correlation
    (not the timing) to a subset, e.g. a window of time points. The weight is
    ``|r| * P * sign(s)`` with ``s`` the :func:`sign_score` of ``signs`` on the same cells
    (``sign_expression``: log expression of the same cells, e.g. :func:`latent_reconstruction`).
    ``signs=None`` keeps the sign of ``r``; ``within``: the within-time correlation of the
    selected cells, when already computed; ``winsorize``: the quantile at which each gene is
    clipped before ``r`` (:func:`winsorized`, over the selected cells); ``time_prior``: what the
    time-order factor asks (:func:`time_factor`).
    """
    x = np.asarray(expression, dtype=float)
    t = np.asarray(times, dtype=float)
    if tau is None:
        tau = change_times(x, t)
    span = float(t.max() - t.min())
    sel = np.arange(len(t)) if cells is None else np.asarray(cells)
    if sel.dtype == bool:
        sel = np.flatnonzero(sel)
    r = linear_correlation(x[sel], source_idx, winsorize)
    if signs is not None:
        se = None if sign_expression is None else np.asarray(sign_expression, dtype=float)[sel]
        s = sign_score(
            x[sel], t[sel], source_idx, signs, sign_expression=se, within=within, pooled=r
        )
        r = np.abs(r) * np.sign(s)
    return r * time_factor(tau, source_idx, span, temperature, time_prior)


def latent_reconstruction(adata: Any) -> np.ndarray:
    """Log expression rebuilt from the cells' latent z: ``mu + z (W S)^T`` (cells x genes)."""
    from .pp import LATENT_KEY, require_prepared

    info = require_prepared(adata)
    w = np.asarray(info["loadings"], dtype=float) * np.asarray(info["pc_scale"], dtype=float)
    return np.asarray(info["gene_mean"], dtype=float) + np.asarray(adata.obsm[LATENT_KEY]) @ w.T


def matrix_table(
    matrix: np.ndarray,
    genes: Sequence[str],
    source_idx: np.ndarray,
    top_k: int | None = None,
    top_n: int | None = None,
    columns: dict[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """Tidy table of a (genes x sources) weight matrix: no self-loops, strongest first.

    ``columns``: further (genes x sources) matrices whose value per edge becomes a column.
    """
    m = np.array(matrix, dtype=float)
    m[source_idx, np.arange(len(source_idx))] = np.nan
    tgt, col = np.nonzero(~np.isnan(m))
    w = m[tgt, col]
    if top_k is not None:
        keep = np.zeros(len(w), dtype=bool)
        for j in np.unique(col):
            idx = np.flatnonzero(col == j)
            keep[idx[np.argsort(-np.abs(w[idx]), kind="stable")[:top_k]]] = True
        tgt, col, w = tgt[keep], col[keep], w[keep]
    g = np.asarray([str(x) for x in genes], dtype=object)
    df = _table(g[source_idx[col]], g[tgt], w)
    if top_n is not None:
        df = df.head(top_n).copy()
    if columns:
        row = pd.Series(np.arange(len(g)), index=g)
        col_of = pd.Series(np.arange(len(source_idx)), index=g[source_idx])
        ti, cj = row[df["target"]].to_numpy(), col_of[df["source"]].to_numpy()
        for name, values in columns.items():
            df[name] = np.asarray(values, dtype=float)[ti, cj]
    return df


def _sign_from(z: np.ndarray, signs: str) -> np.ndarray:
    """Per edge, the source of its sign (see :func:`network`)."""
    if "+" not in signs:
        return np.full(len(z), signs, dtype=object)
    fallback = signs.split("+")[0]  # "expression" or "latent"
    return np.where(np.abs(z) > WITHIN_Z, "within", fallback).astype(object)


# ----------------------------------------------------------------------------- scanpy-style API
def network(
    adata: Any,
    *,
    model: Any = None,
    timing: Timing = "data",
    signs: Signs = DEFAULT_SIGNS,
    size_factors: SizeFactors = DEFAULT_SIZE_FACTORS,
    winsorize: float = DEFAULT_WINSORIZE,
    sources: str | Sequence[str] | None = None,
    species: str | None = None,
    by: str | None = None,
    temperature: float = TEMPERATURE,
    time_prior: TimePrior = DEFAULT_TIME_PRIOR,
    top_k: int | None = None,
    top_n: int | None = None,
    sign_bootstraps: int = 0,
    seed: int = 0,
    key_added: str | None = "grn_mnn",
) -> pd.DataFrame:
    """Time-ordered co-expression network of a prepared AnnData.

    Parameters
    ----------
    adata
        AnnData prepared by :func:`grn_mnn.pp.prepare` (its log expression and times are read).
    model
        A fitted :class:`grn_mnn.CellMNN`, needed for ``timing="flow"`` only.
    timing
        ``"data"``: change times from the observed time-point means; ``"flow"``: from the
        fitted Cell-MNN flow (:func:`flow_change_times`).
    signs
        Where each edge's sign comes from (:func:`sign_score`): ``"expression+within"``
        (default) the within-time correlation where it is significant, else the ranking
        expression's own correlation across all cells; ``"latent+within"`` the same with the
        correlation of the latent reconstruction (:func:`latent_reconstruction`) as the
        fallback; ``"expression"``, ``"latent"`` or ``"within"`` one of them.
    size_factors
        Size factors of the ranking and of the signs (the latent fallback keeps the model's
        latent space): ``"auto"`` (default) re-normalises by median-of-ratios factors
        when ``prepare`` normalised raw counts, ``"median-ratio"`` always, ``"none"`` never
        (:func:`ranking_expression`).
    winsorize
        Quantile at which each gene's linear expression is clipped before the all-cell
        correlation that ranks the edges and signs the rest (:func:`winsorized`; default
        :data:`grn_mnn.config.DEFAULT_WINSORIZE`, 1 = no clipping). It keeps a few outlying
        cells from deciding a gene's correlations; chosen on simulated data with heavier-tailed
        counts, where it ranks 10-90 % better at no cost on the benchmark (``docs/accuracy.md``).
    sources
        ``None`` (all genes), ``"tf"`` (the bundled TF list of ``species``) or a list of genes.
    species
        For ``sources="tf"``; defaults to ``adata.uns['species']``.
    by
        ``None`` (one network) or ``"time"``: one network per observed time point, the
        correlation over the cells of that point and its neighbours, the timing global.
    temperature
        Width of the time-order sigmoid in units of the time course's span (``inf``: no time
        order).
    time_prior
        ``"regulator"`` (default): regulators that change earlier than the other candidate
        regulators rank higher (:func:`regulator_timing`); ``"pair"``: the target must change
        after its regulator (:func:`precedence`, the default of sessions 4-11).
    top_k, top_n
        Keep the k strongest targets per source / the N strongest edges per network.
    sign_bootstraps, seed
        With ``sign_bootstraps`` > 0, add ``sign_agreement``: the share of that many bootstrap
        resamples of the cells within time points (seeded by ``seed``) that give the edge the
        same sign (:func:`sign_agreement`; :data:`SIGN_BOOTSTRAPS` is a good number). A
        confidence for the signs that ``sign_z`` leaves to the fallback. 0 (default): no column.
    key_added
        Store the table in ``adata.uns[key_added]['networks'][by or 'all']`` (None: don't).

    Returns
    -------
    pandas.DataFrame
        ``source, target, weight, abs_weight, sign, rank`` [+ ``time``], ``sign_z``,
        ``sign_from`` [, ``sign_agreement``], ``n_cells``. ``sign_z`` is the within-time
        correlation as a z statistic (:func:`within_z_scores`): its size says how firmly the
        cells of each time point back the sign; ``sign_from`` says where the edge's sign came
        from (``"within"`` where ``|sign_z| > 1.96`` under ``"expression+within"`` or
        ``"latent+within"``, else ``"expression"`` / ``"latent"``; the single source
        otherwise); ``sign_agreement`` (with ``sign_bootstraps``) how often resampled cells
        give the same sign.
    """
    from .pp import TIME_COL, get_expression, require_prepared

    info = require_prepared(adata)
    if timing not in ("data", "flow"):
        raise ConfigError(f"timing must be 'data' or 'flow', got {timing!r}")
    if timing == "flow" and model is None:
        raise ConfigError("timing='flow' reads the fitted dynamics: pass model=")
    if by not in (None, "time"):
        raise InputError(
            f"by={by!r}: the co-expression network is resolved by 'time' only; for one network "
            "per cluster or lineage read the fitted operators (reading='jacobian')"
        )
    genes = list(info["genes"])
    x = ranking_expression(get_expression(adata), str(info.get("transform")), size_factors)
    t = adata.obs[TIME_COL].to_numpy().astype(float)
    src = resolve_sources(genes, sources, species or adata.uns.get("species"))
    check_options(signs, size_factors, winsorize, temperature, time_prior)
    check_bootstraps(sign_bootstraps)
    tau = change_times(x, t) if timing == "data" else flow_change_times(model, adata)
    xs = latent_reconstruction(adata) if "latent" in signs else None
    kw = {
        "tau": tau,
        "temperature": temperature,
        "time_prior": time_prior,
        "signs": signs,
        "sign_expression": xs,
        "winsorize": winsorize,
    }

    def table(cells: np.ndarray) -> pd.DataFrame:
        within = within_time_correlation(x[cells], t[cells], src)
        mat = lagged_matrix(x, t, src, cells=cells, within=within, **kw)
        evidence = {"sign_z": within_z_scores(within, t[cells])}
        if sign_bootstraps:
            evidence["sign_agreement"] = sign_agreement(
                x[cells],
                t[cells],
                src,
                signs,
                n_boot=sign_bootstraps,
                seed=seed,
                sign_expression=None if xs is None else xs[cells],
                winsorize=winsorize,
            )
        df = matrix_table(mat, genes, src, top_k, top_n, columns=evidence)
        df["sign_from"] = _sign_from(df["sign_z"].to_numpy(), signs)
        if sign_bootstraps:
            df["sign_agreement"] = df.pop("sign_agreement")
        df["n_cells"] = int(cells.sum())
        return df

    if by is None:
        out = table(np.ones(len(t), dtype=bool))
    else:
        pts = np.unique(t)
        tables = []
        for k, tk in enumerate(pts):
            df = table(np.isin(t, pts[max(k - 1, 0) : k + 2]))
            df.insert(3, "time", float(tk))
            tables.append(df)
        out = pd.concat(tables, ignore_index=True)
    if key_added:
        adata.uns.setdefault(key_added, {}).setdefault("networks", {})[by or "all"] = out
    return out
