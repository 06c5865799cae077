"""Where inside a gap does a held-out snapshot lie, and where does Cell-MNN put it?

Diagnostics of the leave-one-time-point-out benchmark (:mod:`grn_mnn.interpolation`); none of
them chooses a model or a setting:

* :func:`snapshot_separation`: exact W1 between consecutive snapshots beside its permutation null,
  i.e. how far the cells moved compared with two samples of one population;
* :func:`ot_fraction_scan`: OT-interpolate evaluated at several fractions of a gap, scored against
  the held-out cells, which tells where the held-out snapshot really lies;
* :func:`path_fraction`: the fraction of each pushed cell's displacement a trained model has
  covered at the held-out time, which is the timing the model assumes;
* :func:`push_fraction_scan`: a trained model's W1 when it pushes to other fractions of the gap
  (coarse map or wrong timing?).

``validation/timing.py`` runs all four and writes ``validation/results/timing_<name>.md``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .benchdata import BenchmarkData
from .errors import ConfigError
from .interpolation import holdout_task, ot_interpolate, push


def path_fraction(
    module: Any, z0: np.ndarray, t_prev: float, t_k: float, t_next: float
) -> np.ndarray:
    """Per cell, the fraction of its (t_prev -> t_next) displacement covered at ``t_k``.

    The projection ``<z(t_k) - z0, z(t_next) - z0> / ||z(t_next) - z0||^2`` of the model's own
    path: 0.5 is constant speed along a straight line, < 0.5 a path that starts slowly
    (exponential growth), > 0.5 one that starts fast. A diagnostic of the model's timing prior
    inside a gap; it uses no data of ``t_k``.
    """
    zk = push(module, z0, t_prev, t_k)
    zn = push(module, z0, t_prev, t_next)
    v = zn - z0
    return ((zk - z0) * v).sum(axis=1) / np.maximum((v * v).sum(axis=1), 1e-12)


def ot_fraction_scan(
    data: BenchmarkData, holdout: int, fractions: Sequence[float], seed: int = 0
) -> dict[float, float]:
    """W1 of OT-interpolate between the neighbours of ``holdout`` evaluated at each fraction
    of the way (0.5 is the benchmark's baseline for equally spaced times), against the real
    cells of the held-out point. Shows where inside the gap the held-out snapshot lies; it is
    an analysis of the data, never a way to choose a model."""
    from .distances import w1

    t_prev, t_k, t_next, _ = holdout_task(data, holdout)
    x0, x1 = data.z[data.t == t_prev], data.z[data.t == t_next]
    real = data.z[data.t == t_k]
    return {float(f): float(w1(ot_interpolate(x0, x1, f, seed=seed), real)) for f in fractions}


def push_fraction_scan(
    module: Any,
    z0: np.ndarray,
    t_prev: float,
    t_next: float,
    real: np.ndarray,
    fractions: Sequence[float],
) -> dict[float, float]:
    """W1 against ``real`` of the cells ``z0`` pushed from ``t_prev`` to each fraction f of the
    gap, i.e. to ``t_prev + f (t_next - t_prev)``.

    With ``real`` the held-out cells this separates the two causes of a poor interpolation: a
    map that is too coarse (W1 high at every f) and a timing prior that puts the cells at the
    wrong place inside the gap (W1 low at some f other than the held-out time's). It reads the
    held-out cells, so it is a diagnostic only and never a way to choose a model or a time.
    """
    from .distances import w1

    out = {}
    for f in fractions:
        if not 0.0 <= f <= 1.0:
            raise ConfigError(f"fractions must lie in [0, 1], got {f}")
        pred = push(module, z0, t_prev, t_prev + float(f) * (t_next - t_prev))
        out[float(f)] = float(w1(pred, real))
    return out


def snapshot_separation(
    data: BenchmarkData, n_perm: int = 20, seed: int = 0
) -> list[dict[str, Any]]:
    """Exact W1 between every pair of consecutive time points beside its permutation null
    (:func:`grn_mnn.distances.w1_permutation_null`: random splits of the pooled cells at the
    same sizes). A pair whose W1 is close to the null barely moved between the two snapshots,
    so a held-out point next to it lies near that neighbour rather than half-way.
    """
    from .distances import w1_permutation_null

    times = data.times
    out = []
    for a, b in zip(times[:-1], times[1:], strict=True):
        res = w1_permutation_null(data.z[data.t == a], data.z[data.t == b], n_perm, seed)
        out.append({"from": float(a), "to": float(b), **res})
    return out
