"""Baseline networks scored beside Cell-MNN on the same candidate edges.

Every baseline takes the log expression (cells x genes), the gene names and the cells'
times, and returns a tidy edge table ``source, target, weight`` over the candidate edges
(``source`` in ``sources`` -- all genes by default --, ``target`` any gene, no self-loops).
The ``*_matrix`` functions return the same weights as a (genes x sources) array
``M[target, source]``, which :mod:`grn_mnn.validate` uses directly.

- :func:`random` -- weights uniform in [-1, 1] (uniform random signs and ranks), seeded.
- :func:`pearson` -- signed Pearson correlation of source and target across all cells
  (a constant gene correlates 0 with everything).
- :func:`linear_ode` -- in the spirit of SCODE: with ``m_k`` the mean expression at time
  point ``t_k``, the finite differences ``(m_{k+1} - m_k) / (t_{k+1} - t_k)`` are regressed on
  ``m_k - mu`` (``mu`` fitted as an intercept) with a ridge penalty: ``dm/dt ~ J (m - mu)``;
  weight = ``J[target, source]``. With a handful of time points the problem is heavily
  underdetermined and the ridge picks the minimum-norm-like solution; it is solved in
  whichever of the primal (genes x genes) or dual (steps x steps) form is smaller, and
  only the source columns of J are formed, so 1,448 genes x 134 sources take milliseconds.
  ``alpha`` is relative to the mean squared norm of the centred predictors, so it does not
  depend on the expression scale.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from .errors import InputError

__all__ = [
    "BASELINES",
    "linear_ode",
    "linear_ode_matrix",
    "matrix_to_edges",
    "pearson",
    "pearson_matrix",
    "random",
    "random_matrix",
    "run_baseline",
]

BASELINES = ("random", "pearson", "linear_ode")


def _check(
    expression: np.ndarray, genes: Sequence[str], times: np.ndarray | None = None
) -> np.ndarray:
    x = np.asarray(expression, dtype=float)
    if x.ndim != 2:
        raise InputError(f"expression must be a 2-D (cells x genes) array, got shape {x.shape}")
    if x.shape[1] != len(genes):
        raise InputError(
            f"expression has {x.shape[1]} columns but {len(genes)} gene names were given; "
            "pass one name per expression column"
        )
    if not np.isfinite(x).all():
        raise InputError("expression contains NaN or infinite values; impute or drop them")
    if times is not None and len(np.asarray(times)) != x.shape[0]:
        raise InputError(
            f"times has {len(np.asarray(times))} entries but expression has {x.shape[0]} cells"
        )
    return x


def source_indices(genes: Sequence[str], sources: Sequence[str] | None) -> np.ndarray:
    """Column indices of ``sources`` among ``genes`` (exact, then case-insensitive match)."""
    if sources is None:
        return np.arange(len(genes))
    exact = {str(g): i for i, g in enumerate(genes)}
    upper: dict[str, int] = {}
    for i, g in enumerate(genes):
        upper.setdefault(str(g).upper(), i)
    idx, missing = [], []
    for s in sources:
        i = exact.get(str(s), upper.get(str(s).upper()))
        (missing if i is None else idx).append(s if i is None else i)
    if missing:
        raise InputError(
            f"{len(missing)} source(s) are not among the genes (e.g. {missing[:5]}); "
            "pass sources that are columns of the expression matrix"
        )
    return np.asarray(idx, dtype=int)


def matrix_to_edges(
    matrix: np.ndarray, genes: Sequence[str], source_idx: np.ndarray
) -> pd.DataFrame:
    """Tidy ``source, target, weight`` table of a (genes x sources) matrix, no self-loops."""
    m = np.asarray(matrix, dtype=float)
    genes_arr = np.asarray([str(g) for g in genes], dtype=object)
    tgt, col = np.nonzero(np.ones_like(m, dtype=bool))
    keep = tgt != source_idx[col]
    return pd.DataFrame(
        {
            "source": genes_arr[source_idx[col[keep]]],
            "target": genes_arr[tgt[keep]],
            "weight": m[tgt[keep], col[keep]],
        }
    )


# ----------------------------------------------------------------------------- matrices
def random_matrix(n_genes: int, n_sources: int, seed: int = 0) -> np.ndarray:
    """(genes x sources) weights uniform in [-1, 1] from ``numpy.random.default_rng(seed)``."""
    return np.random.default_rng(seed).uniform(-1.0, 1.0, size=(n_genes, n_sources))


def pearson_matrix(expression: np.ndarray, source_idx: np.ndarray) -> np.ndarray:
    """(genes x sources) Pearson correlation across cells (0 for constant genes)."""
    x = np.asarray(expression, dtype=float)
    if x.shape[0] < 2:
        raise InputError("the Pearson baseline needs at least 2 cells")
    z = x - x.mean(axis=0)
    sd = np.sqrt((z**2).mean(axis=0))
    z = np.divide(z, sd, out=np.zeros_like(z), where=sd > 0)
    return z.T @ z[:, source_idx] / x.shape[0]


def time_point_means(expression: np.ndarray, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct times and the (time points x genes) mean expression at each."""
    t = np.asarray(times, dtype=float)
    if not np.isfinite(t).all():
        raise InputError("times contain NaN or infinite values; every cell needs a time")
    uniq, inv = np.unique(t, return_inverse=True)
    x = np.asarray(expression, dtype=float)
    sums = np.zeros((uniq.size, x.shape[1]))
    np.add.at(sums, inv, x)
    return uniq, sums / np.bincount(inv)[:, None]


def linear_ode_matrix(
    expression: np.ndarray, times: np.ndarray, source_idx: np.ndarray, alpha: float = 0.1
) -> np.ndarray:
    """(genes x sources) columns of the ridge ODE operator J (see the module docstring).

    Raises
    ------
    InputError
        With fewer than 3 distinct time points (one step leaves nothing after centring) or
        a non-positive ``alpha``.
    """
    if not alpha > 0:
        raise InputError(f"linear_ode alpha must be > 0, got {alpha!r}")
    t, m = time_point_means(expression, times)
    if t.size < 3:
        raise InputError(
            f"the linear ODE baseline needs at least 3 distinct time points, got {t.size}"
        )
    x = m[:-1]
    y = np.diff(m, axis=0) / np.diff(t)[:, None]
    xc, yc = x - x.mean(axis=0), y - y.mean(axis=0)
    n_steps, n_genes = xc.shape
    lam = alpha * float((xc**2).sum()) / n_steps
    if lam == 0:  # no gene changes over time: the operator is 0
        return np.zeros((n_genes, len(source_idx)))
    if n_steps <= n_genes:  # dual: J^T = Xc^T (Xc Xc^T + lam I)^-1 Yc
        coef = np.linalg.solve(xc @ xc.T + lam * np.eye(n_steps), yc)  # steps x genes
        return coef.T @ xc[:, source_idx]
    jt = np.linalg.solve(xc.T @ xc + lam * np.eye(n_genes), xc.T @ yc)  # J^T, genes x genes
    return jt[source_idx].T


# ----------------------------------------------------------------------------- tables
def random(
    expression: np.ndarray,
    genes: Sequence[str],
    times: np.ndarray | None = None,
    *,
    sources: Sequence[str] | None = None,
    seed: int = 0,
) -> pd.DataFrame:
    """Random signed weights (uniform in [-1, 1]) over the candidate edges, seeded."""
    _check(expression, genes, times)
    src = source_indices(genes, sources)
    return matrix_to_edges(random_matrix(len(genes), src.size, seed), genes, src)


def pearson(
    expression: np.ndarray,
    genes: Sequence[str],
    times: np.ndarray | None = None,
    *,
    sources: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Signed Pearson correlation across cells over the candidate edges."""
    x = _check(expression, genes, times)
    src = source_indices(genes, sources)
    return matrix_to_edges(pearson_matrix(x, src), genes, src)


def linear_ode(
    expression: np.ndarray,
    genes: Sequence[str],
    times: np.ndarray,
    *,
    sources: Sequence[str] | None = None,
    alpha: float = 0.1,
) -> pd.DataFrame:
    """Ridge linear-ODE operator of the time-point means over the candidate edges."""
    if times is None:
        raise InputError("the linear ODE baseline needs the cells' times")
    x = _check(expression, genes, times)
    src = source_indices(genes, sources)
    return matrix_to_edges(linear_ode_matrix(x, times, src, alpha), genes, src)


def run_baseline(
    name: str,
    expression: np.ndarray,
    genes: Sequence[str],
    times: np.ndarray | None = None,
    *,
    sources: Sequence[str] | None = None,
    seed: int = 0,
    alpha: float = 0.1,
) -> pd.DataFrame:
    """Dispatch to :func:`random`, :func:`pearson` or :func:`linear_ode` by name."""
    if name == "random":
        return random(expression, genes, times, sources=sources, seed=seed)
    if name == "pearson":
        return pearson(expression, genes, times, sources=sources)
    if name == "linear_ode":
        return linear_ode(expression, genes, times, sources=sources, alpha=alpha)
    raise InputError(f"unknown baseline {name!r}; choose from {list(BASELINES)}")
