"""Distances between cell populations for evaluation: exact W1 (POT) and MMD.

W1 uses the exact earth mover's distance with uniform weights and the Euclidean (not squared)
ground cost, as in the trajectory-inference benchmarks. For marginals too large for an exact
transport plan, :func:`w1_subsampled` averages exact W1 over random subsamples of a fixed size
(the size is returned with the result so it can be reported).
"""

from __future__ import annotations

import numpy as np
import torch

from .errors import InputError
from .losses import mmd2


def _check(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.ndim != 2 or y.ndim != 2 or x.shape[1] != y.shape[1]:
        raise InputError(
            f"need two 2-d samples with the same number of columns, got {x.shape} and {y.shape}"
        )
    if len(x) == 0 or len(y) == 0:
        raise InputError("cannot compare an empty sample")
    return x, y


def w1(x: np.ndarray, y: np.ndarray, max_iter: int = 1_000_000) -> float:
    """Exact 1-Wasserstein distance between two point clouds (uniform weights, Euclidean cost)."""
    import ot

    x, y = _check(x, y)
    cost = ot.dist(x, y, metric="euclidean")
    a = np.full(len(x), 1.0 / len(x))
    b = np.full(len(y), 1.0 / len(y))
    return float(ot.emd2(a, b, cost, numItermax=max_iter))


def w1_subsampled(
    x: np.ndarray, y: np.ndarray, size: int = 2000, n_repeats: int = 5, seed: int = 0
) -> dict[str, float]:
    """W1 averaged over ``n_repeats`` exact computations on random subsamples of ``size`` cells.

    Returns ``{"w1": mean, "w1_std": std, "subsample_size": size, "n_repeats": n}``; when both
    samples are no larger than ``size`` the exact W1 is returned (``n_repeats`` 1).
    """
    x, y = _check(x, y)
    if len(x) <= size and len(y) <= size:
        return {
            "w1": w1(x, y),
            "w1_std": 0.0,
            "subsample_size": max(len(x), len(y)),
            "n_repeats": 1,
        }
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_repeats):
        xi = x[rng.choice(len(x), min(size, len(x)), replace=False)]
        yi = y[rng.choice(len(y), min(size, len(y)), replace=False)]
        vals.append(w1(xi, yi))
    return {
        "w1": float(np.mean(vals)),
        "w1_std": float(np.std(vals)),
        "subsample_size": size,
        "n_repeats": n_repeats,
    }


def mmd(x: np.ndarray, y: np.ndarray, sigma: float = 1.0) -> float:
    """Biased MMD^2 with the Laplace kernel of the training loss, as a float."""
    x, y = _check(x, y)
    with torch.no_grad():
        return float(mmd2(torch.from_numpy(x), torch.from_numpy(y), sigma))


def w1_permutation_null(
    x: np.ndarray, y: np.ndarray, n_perm: int = 20, seed: int = 0
) -> dict[str, float]:
    """Exact W1 of ``x`` and ``y`` beside its permutation null at the same sample sizes.

    The null draws are the W1 of random splits of the pooled cells into groups of ``len(x)``
    and ``len(y)``: what W1 is when both samples come from one population (W1 of finite samples
    is positive even then). Returns ``{"w1", "null_mean", "null_std", "null_max", "p_value",
    "n_perm"}`` with the permutation p-value ``(1 + #{null >= w1}) / (1 + n_perm)``.
    """
    x, y = _check(x, y)
    if n_perm < 1:
        raise InputError(f"n_perm must be >= 1, got {n_perm}")
    obs = w1(x, y)
    pooled = np.vstack([x, y])
    rng = np.random.default_rng(seed)
    null = []
    for _ in range(n_perm):
        p = rng.permutation(len(pooled))
        null.append(w1(pooled[p[: len(x)]], pooled[p[len(x) :]]))
    null_arr = np.asarray(null)
    return {
        "w1": obs,
        "null_mean": float(null_arr.mean()),
        "null_std": float(null_arr.std()),
        "null_max": float(null_arr.max()),
        "p_value": float((1 + (null_arr >= obs).sum()) / (1 + n_perm)),
        "n_perm": int(n_perm),
    }
