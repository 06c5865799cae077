"""Leave-one-time-point-out interpolation benchmark (Cell-MNN versus OT-interpolate).

The protocol of the trajectory-inference literature (TrajectoryNet, OT-CFM, Cell-MNN):

1. read snapshots (cells x embedding, a time per cell) and keep the first ``n_pcs`` dimensions,
   whitened per dimension (mean 0, standard deviation 1 over **all** cells of the file, as
   ``sklearn.preprocessing.StandardScaler`` in the published benchmark code; the same affine
   map is applied before both methods and the scores are computed in that space);
2. for every interior time point k: hold k out, train on the other time points (k never enters
   training, validation or early stopping), push **all** cells of time k-1 to the time of k and
   score the prediction against **all** real cells of k with the exact W1 (POT ``emd2``, uniform
   weights, Euclidean ground cost) and the MMD of the training loss;
3. in the same run the OT-interpolate baseline: the exact OT plan between k-1 and k+1
   (squared-Euclidean cost, i.e. the W2 / McCann displacement interpolation), one partner per
   source cell drawn from its row of the plan, linear interpolation at the time of k;
4. optionally (``candidates``) the Cell-MNN setting of fold k is chosen per fold among a fixed
   candidate list by nested inner validation that never sees k (:func:`inner_selection`).

The readers (``eb_velocity_v5.npz``, NLSB ``.npz``, ``.h5ad`` with an embedding or genes, the
bundled EB subset and time courses) are in :mod:`grn_mnn.benchdata` and re-exported here; the
timing diagnostics of a gap (where the held-out snapshot lies, where the model puts it) are in
:mod:`grn_mnn.gaps`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

# the readers live in benchdata; they are part of this module's interface as well
from .benchdata import (
    BUNDLED_TIMECOURSES,
    TIME_KEYS,
    BenchmarkData,
    read_benchmark,
    read_dataset,
    read_eb_subset,
    read_h5ad,
    read_npz,
    whiten,
)
from .config import MNNConfig
from .errors import ConfigError

__all__ = [
    "BUNDLED_TIMECOURSES",
    "CANDIDATES",
    "CANDIDATE_SETS",
    "PRESETS",
    "PROTOCOL",
    "TIME_KEYS",
    "BenchmarkData",
    "cellmnn_predict",
    "holdout_task",
    "inner_selection",
    "ot_interpolate",
    "push",
    "read_benchmark",
    "read_dataset",
    "read_eb_subset",
    "read_h5ad",
    "read_npz",
    "run_benchmark",
    "score",
    "summarize",
    "to_markdown",
    "whiten",
]

#: Cell-MNN settings of the benchmark. ``paper``: the MNNConfig defaults (arXiv 2510.02903).
#: ``recommended``: fixed *before* any held-out score was computed, by an inner criterion that
#: never sees the outer held-out point: for each outer held-out k, every other interior point j
#: was held out as well, the model trained on the rest, and the W1 of the pushed cells at j
#: averaged (6 inner tasks on the EB subset). Path kinetic penalty (2 points) with
#: lambda_kin 0.03 and an ensemble of 3 seeds had the lowest inner W1 of the settings tried.
PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"ensemble": 1},
    "recommended": {"kinetic_path_points": 2, "lambda_kin": 0.03, "ensemble": 3},
}

#: Candidate lists of the per-fold nested selection (``run_benchmark(candidates=...)``,
#: ``--select inner --candidates NAME``). For outer fold k the candidate with the lowest inner
#: W1 is used, the inner W1 being measured only on tasks that exclude k (see
#: :func:`inner_selection`); every candidate keeps the path kinetic penalty and an ensemble of 3
#: for the outer prediction. ``v1`` was fixed from the paper defaults and the earlier diagnosis
#: (the paper setting underfits its own training time points) before any of its scores existed.
#: ``v2`` was fixed after the v1 run, from v1's *inner* scores (lr 1e-3 and a refreshed operator
#: along the path lowered them): it extends that direction (more path steps, longer training,
#: the paper's kinetic weight). Both outer runs are reported in validation/results.
CANDIDATE_SETS: dict[str, dict[str, dict[str, Any]]] = {
    "v1": {
        "kin03": {"kinetic_path_points": 2, "lambda_kin": 0.03, "ensemble": 3},
        "kin03_lr1e-3": {"kinetic_path_points": 2, "lambda_kin": 0.03, "lr": 1e-3, "ensemble": 3},
        "kin01_lr1e-3": {"kinetic_path_points": 2, "lambda_kin": 0.01, "lr": 1e-3, "ensemble": 3},
        "kin03_lr1e-3_g01": {
            "kinetic_path_points": 2,
            "lambda_kin": 0.03,
            "lr": 1e-3,
            "gamma": 0.01,
            "ensemble": 3,
        },
        "kin03_lr1e-3_steps2": {
            "kinetic_path_points": 2,
            "lambda_kin": 0.03,
            "lr": 1e-3,
            "n_steps_path": 2,
            "ensemble": 3,
        },
    },
    "v2": {
        "steps2": {
            "kinetic_path_points": 2,
            "lambda_kin": 0.03,
            "lr": 1e-3,
            "n_steps_path": 2,
            "ensemble": 3,
        },
        "steps4": {
            "kinetic_path_points": 2,
            "lambda_kin": 0.03,
            "lr": 1e-3,
            "n_steps_path": 4,
            "ensemble": 3,
        },
        "steps2_kin10": {
            "kinetic_path_points": 2,
            "lambda_kin": 0.1,
            "lr": 1e-3,
            "n_steps_path": 2,
            "ensemble": 3,
        },
        "steps2_long": {
            "kinetic_path_points": 2,
            "lambda_kin": 0.03,
            "lr": 1e-3,
            "n_steps_path": 2,
            "max_epochs": 400,
            "patience": 60,
            "ensemble": 3,
        },
    },
    # v3 (session 2) adds the operator refreshed on a fixed time grid (``path_step``: pushing to
    # an intermediate time gives exactly the state the trained longer paths pass through),
    # optionally with backward marginal terms or a flatter discount. It was designed from
    # the inner scores of fold 2 only (time 2 never trained on or scored): 2 seeds, one model
    # each, mean inner W1 recommended 1.121, path_step 1.0 1.083, 0.5 1.071, 0.5 with lr 1e-3
    # 1.050, 0.25 with lr 1e-3 1.053, + backward 0.3 1.059, + gamma 0.5 1.060 (OT-interpolate
    # on the same tasks 1.071). ``on_divergence='stop'`` keeps the best validated state if a
    # run at lr 1e-3 overflows.
    "v3": {
        "h05": {
            "kinetic_path_points": 2,
            "lambda_kin": 0.03,
            "lr": 1e-3,
            "path_step": 0.5,
            "on_divergence": "stop",
            "ensemble": 3,
        },
        "h025": {
            "kinetic_path_points": 2,
            "lambda_kin": 0.03,
            "lr": 1e-3,
            "path_step": 0.25,
            "on_divergence": "stop",
            "ensemble": 3,
        },
        "h05_back03": {
            "kinetic_path_points": 2,
            "lambda_kin": 0.03,
            "lr": 1e-3,
            "path_step": 0.5,
            "backward_weight": 0.3,
            "on_divergence": "stop",
            "ensemble": 3,
        },
        "h05_g05": {
            "kinetic_path_points": 2,
            "lambda_kin": 0.03,
            "lr": 1e-3,
            "path_step": 0.5,
            "gamma": 0.5,
            "on_divergence": "stop",
            "ensemble": 3,
        },
    },
}

#: the default candidate list of ``--select inner``
CANDIDATES = CANDIDATE_SETS["v2"]


# ----------------------------------------------------------------------------- baselines
def ot_interpolate(
    x0: np.ndarray, x1: np.ndarray, frac: float, seed: int = 0, max_iter: int = 1_000_000
) -> np.ndarray:
    """OT-interpolate: the exact OT plan between x0 and x1 (uniform weights, squared Euclidean
    cost), one partner per source cell drawn from its row of the plan, then
    ``(1 - frac) x0 + frac x1[partner]``. Returns one point per cell of ``x0``."""
    import ot

    if not 0.0 <= frac <= 1.0:
        raise ConfigError(f"interpolation fraction must be in [0, 1], got {frac}")
    x0 = np.asarray(x0, dtype=np.float64)
    x1 = np.asarray(x1, dtype=np.float64)
    a = np.full(len(x0), 1.0 / len(x0))
    b = np.full(len(x1), 1.0 / len(x1))
    plan = ot.emd(a, b, ot.dist(x0, x1, metric="sqeuclidean"), numItermax=max_iter)
    rows = plan / plan.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(seed)
    u = rng.random(len(x0))[:, None]
    partner = (np.cumsum(rows, axis=1) < u).sum(axis=1).clip(0, len(x1) - 1)
    return (1.0 - frac) * x0 + frac * x1[partner]


# ----------------------------------------------------------------------------- Cell-MNN
def push(module: Any, z0: np.ndarray, t0: float, t1: float, batch_size: int = 4096) -> np.ndarray:
    """Propagate cells ``z0`` from time ``t0`` to ``t1`` with a trained module (no gradients)."""
    import torch

    out = np.empty(z0.shape, dtype=np.float64)
    module.eval()
    with torch.no_grad():
        for i in range(0, len(z0), batch_size):
            zb = torch.as_tensor(np.ascontiguousarray(z0[i : i + batch_size]), dtype=torch.float32)
            n = len(zb)
            out[i : i + n] = (
                module.propagate(zb, torch.full((n,), float(t0)), torch.full((n,), float(t1)))
                .double()
                .numpy()
            )
    return out


def holdout_task(
    data: BenchmarkData, holdout: int, exclude: Sequence[int] = ()
) -> tuple[float, float, float, list[float]]:
    """(t_prev, t_k, t_next, held-out times) of held-out point ``holdout`` (an index into
    ``data.times``) when the time points ``exclude`` are unavailable as well: the neighbours
    are the nearest *available* time points on each side."""
    times = data.times
    avail = [i for i in range(len(times)) if i != holdout and i not in set(exclude)]
    prev = [i for i in avail if i < holdout]
    nxt = [i for i in avail if i > holdout]
    if not prev or not nxt:
        raise ConfigError(
            f"held-out point {holdout} (time {times[holdout]}) needs an available time point "
            f"on both sides; choose one of the interior points {data.interior()}"
        )
    held = sorted({float(times[holdout])} | {float(times[i]) for i in exclude})
    return float(times[prev[-1]]), float(times[holdout]), float(times[nxt[0]]), held


def cellmnn_predict(
    data: BenchmarkData,
    holdout: int,
    cfg: MNNConfig,
    *,
    exclude: Sequence[int] = (),
    ensemble: int = 1,
    progress: bool = False,
) -> tuple[np.ndarray, float, list[Any]]:
    """Train Cell-MNN without time point ``holdout`` (and ``exclude``) and push every cell of
    the previous available time point to the held-out time.

    With ``ensemble = M > 1``, M models are trained with seeds ``cfg.seed + 1000 * i`` and the
    pushed positions of each cell are averaged over them.

    Returns (prediction, total train seconds, list of :class:`~grn_mnn.train.FitResult`).
    """
    from .train import Snapshots, fit

    if ensemble < 1:
        raise ConfigError(f"ensemble must be >= 1, got {ensemble}")
    t_prev, t_k, _, held = holdout_task(data, holdout, exclude)
    snaps = Snapshots(data.z, data.t)
    z0 = data.z[data.t == t_prev]
    preds, results, secs = [], [], 0.0
    for i in range(ensemble):
        t0 = time.perf_counter()
        res = fit(
            snaps, cfg.replace(seed=cfg.seed + 1000 * i), holdout_times=held, progress=progress
        )
        secs += time.perf_counter() - t0
        preds.append(push(res.module, z0, t_prev, t_k))
        results.append(res)
    return np.mean(preds, axis=0), secs, results


def _split_candidate(base: MNNConfig, overrides: dict[str, Any]) -> tuple[MNNConfig, int]:
    """(config, ensemble) of one candidate: ``overrides`` applied to ``base``."""
    over = dict(overrides)
    ensemble = int(over.pop("ensemble", 1))
    return base.replace(**over).validate(), ensemble


def inner_selection(
    data: BenchmarkData,
    cfg: MNNConfig,
    candidates: dict[str, dict[str, Any]],
    holdouts: Sequence[int],
    *,
    seeds: Sequence[int] = (0,),
    progress: bool = False,
    log: Callable[[str], None] | None = None,
    jobs: int = 1,
) -> dict[str, Any]:
    """Per-fold nested choice of the Cell-MNN setting, blind to the outer held-out point.

    For outer fold k and every other interior point j, the model is trained without k **and**
    j and the cells of j's previous available time point are pushed to j; the inner score of a
    candidate for fold k is the mean W1 at j over those tasks (and over ``seeds``, one model
    each). Point k never enters training, validation, stopping or scoring of fold k's choice.
    One training without {k, j} serves fold k (target j) and fold j (target k).

    Parameters
    ----------
    data
        Whitened snapshots.
    cfg
        Base configuration; each candidate's overrides are applied to it.
    candidates
        Name -> configuration overrides (``ensemble`` is ignored here: one model per seed).
    holdouts
        Outer folds (interior indices) to choose for.
    seeds
        Training seeds of the inner models.
    progress, log
        tqdm bar per training; one-line summary per inner score.
    jobs
        Worker processes for the inner trainings (the scores do not depend on it).

    Returns
    -------
    dict
        ``scores`` {fold: {candidate: mean inner W1}}, ``tasks`` (one record per inner score),
        ``chosen`` {fold: candidate}, ``seconds``.
    """

    if not candidates:
        raise ConfigError("give at least one candidate for the inner selection")
    interior = data.interior()
    if len(interior) < 2:
        raise ConfigError(
            f"nested selection needs at least 2 interior time points (has {len(interior)}); "
            "run without --select inner"
        )
    pairs = sorted({tuple(sorted((k, j))) for k in holdouts for j in interior if j != k})
    jobs_list = [
        (name, _split_candidate(cfg, over)[0], a, b, int(s))
        for name, over in candidates.items()
        for a, b in pairs
        for s in seeds
    ]
    tasks: list[dict[str, Any]] = []
    t_start = time.perf_counter()

    def collect(recs: list[dict[str, Any]]) -> None:
        tasks.extend(recs)
        if log is not None:
            for r in recs:
                log(
                    f"inner: fold {r['fold']} target {r['inner_target']} {r['candidate']:22s} "
                    f"seed {r['seed']} W1 {r['w1']:.4f}"
                )

    if jobs <= 1:
        for job in jobs_list:
            collect(_inner_run(data, *job, holdouts, progress))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            futs = [pool.submit(_inner_run, data, *job, holdouts, False) for job in jobs_list]
            for f in futs:
                collect(f.result())
    scores = {
        int(k): {
            name: float(
                np.mean([r["w1"] for r in tasks if r["fold"] == k and r["candidate"] == name])
            )
            for name in candidates
        }
        for k in holdouts
    }
    # ties go to the earlier candidate in the list
    chosen = {k: min(candidates, key=lambda n, k=k: scores[k][n]) for k in scores}
    return {
        "scores": scores,
        "chosen": chosen,
        "tasks": tasks,
        "seeds": [int(s) for s in seeds],
        "candidates": candidates,
        "seconds": float(time.perf_counter() - t_start),
    }


def _inner_run(
    data: BenchmarkData,
    name: str,
    ccfg: MNNConfig,
    a: int,
    b: int,
    seed: int,
    holdouts: Sequence[int],
    progress: bool,
) -> list[dict[str, Any]]:
    """One inner training without points ``a`` and ``b``; scores fold a (target b) and fold b
    (target a) where those are outer folds."""
    from .distances import w1
    from .train import Snapshots, fit

    times = data.times
    res = fit(
        Snapshots(data.z, data.t),
        ccfg.replace(seed=seed),
        holdout_times=[float(times[a]), float(times[b])],
        progress=progress,
    )
    recs = []
    for k, j in ((a, b), (b, a)):
        if k not in holdouts:
            continue
        t_prev, t_j, _, _ = holdout_task(data, j, exclude=[k])
        pred = push(res.module, data.z[data.t == t_prev], t_prev, t_j)
        recs.append(
            {
                "fold": int(k),
                "inner_target": int(j),
                "candidate": name,
                "seed": seed,
                "w1": float(w1(pred, data.z[data.t == t_j])),
                "epochs": int(res.epochs_run),
            }
        )
    return recs


# ----------------------------------------------------------------------------- benchmark
def score(pred: np.ndarray, real: np.ndarray, sigma: float = 1.0) -> dict[str, float]:
    """Exact W1 (POT, uniform weights, Euclidean cost) and MMD^2 (Laplace kernel) of a
    prediction against the real cells."""
    from .distances import mmd, w1

    return {"w1": w1(pred, real), "mmd": mmd(pred, real, sigma)}


def run_benchmark(
    data: BenchmarkData,
    cfg: MNNConfig,
    *,
    holdouts: Sequence[int] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    ensemble: int = 1,
    jobs: int = 1,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    candidates: dict[str, dict[str, Any]] | None = None,
    select_seeds: Sequence[int] = (0,),
) -> dict[str, Any]:
    """Leave-one-time-point-out interpolation with Cell-MNN and OT-interpolate.

    Parameters
    ----------
    data
        Whitened snapshots (:func:`read_benchmark`).
    cfg
        Cell-MNN configuration; ``seed`` is replaced by each of ``seeds``.
    holdouts
        Indices (into the sorted time points) of the held-out points; default every interior one.
    seeds
        One Cell-MNN training and one OT partner draw per seed.
    ensemble
        Models per prediction (their pushed positions are averaged), see :func:`cellmnn_predict`.
    jobs
        Worker processes (each trains with ``cfg.threads`` torch threads); runs (held-out
        point, seed) are independent, so the records do not depend on ``jobs``.
    progress
        tqdm bars (one over the runs, one per training when ``jobs`` is 1).
    log
        Called with a one-line summary after every run (e.g. ``print``).
    candidates
        With a dict name -> configuration overrides (e.g. :data:`CANDIDATES`), the setting of
        every outer fold is chosen among them by :func:`inner_selection` (never on the outer
        held-out point); each candidate's ``ensemble`` then replaces ``ensemble``.
    select_seeds
        Seeds of the inner models of the selection.

    Returns
    -------
    dict
        ``results`` (one record per method, held-out point and seed), ``summary`` (mean and
        std per method and held-out point), ``config``, ``data``, ``protocol`` and, with
        ``candidates``, ``selection`` (inner scores and the choice per fold).
    """
    from tqdm.auto import tqdm

    times = data.times
    holdouts = data.interior() if holdouts is None else [int(k) for k in holdouts]
    bad = [k for k in holdouts if k not in data.interior()]
    if bad:
        raise ConfigError(
            f"--holdout {bad} is not an interior time point index; the data has time points "
            f"{times.tolist()} so choose from {data.interior()} (index 0 is the first)"
        )
    if not seeds:
        raise ConfigError("give at least one seed")
    cfg = cfg.replace(n_pcs=int(data.z.shape[1])).validate()
    selection = None
    fold_cfg = {k: (cfg, int(ensemble), None) for k in holdouts}
    if candidates is not None:
        selection = inner_selection(
            data,
            cfg,
            candidates,
            holdouts,
            seeds=select_seeds,
            progress=progress and jobs <= 1,
            log=log,
            jobs=jobs,
        )
        for k in holdouts:
            name = selection["chosen"][k]
            fold_cfg[k] = (*_split_candidate(cfg, candidates[name]), name)
            if log is not None:
                log(f"fold {k}: chose {name} (inner W1 {selection['scores'][k][name]:.4f})")
    runs = [(k, int(s)) for k in holdouts for s in seeds]
    records: list[dict[str, Any]] = []
    bar = tqdm(total=len(runs), desc="interpolation", unit="run", disable=not progress)

    def collect(recs: list[dict[str, Any]]) -> None:
        records.extend(recs)
        bar.update(1)
        if log is not None:
            for r in recs:
                log(
                    f"holdout {r['holdout']} (t={r['time']:g}) seed {r['seed']} "
                    f"{r['method']:15s} W1 {r['w1']:.4f} MMD {r['mmd']:.5f} "
                    f"({r['train_seconds']:.1f} s)"
                )

    if jobs <= 1:
        for k, s in runs:
            c, e, name = fold_cfg[k]
            collect(_one_run(data, k, s, c, e, progress, name))
    else:
        import multiprocessing as mp
        from concurrent.futures import ProcessPoolExecutor

        with ProcessPoolExecutor(jobs, mp_context=mp.get_context("spawn")) as pool:
            futs = [
                pool.submit(_one_run, data, k, s, *fold_cfg[k][:2], False, fold_cfg[k][2])
                for k, s in runs
            ]
            for f in futs:
                collect(f.result())
    order = {"ot_interpolate": 0, "cellmnn": 1}
    records.sort(key=lambda r: (r["holdout"], r["seed"], order[r["method"]]))
    bar.close()
    report = {
        "benchmark": "leave-one-time-point-out interpolation",
        "results": records,
        "summary": summarize(records),
        "config": cfg.to_dict(),
        "ensemble": int(ensemble) if selection is None else "per fold (see selection)",
        "jobs": int(jobs),
        "seeds": [int(s) for s in seeds],
        "holdouts": holdouts,
        "data": {"source": data.source, "n_cells": int(len(data.z)), **data.info},
        "protocol": PROTOCOL,
    }
    if selection is not None:
        report["selection"] = selection
        report["fold_config"] = {
            int(k): {"candidate": n, "ensemble": e, "config": c.to_dict()}
            for k, (c, e, n) in fold_cfg.items()
        }
    return report


def _one_run(
    data: BenchmarkData,
    k: int,
    s: int,
    cfg: MNNConfig,
    ensemble: int,
    progress: bool,
    candidate: str | None = None,
) -> list[dict[str, Any]]:
    """Both methods on held-out point ``k`` with seed ``s``; one record per method."""
    import torch

    torch.set_num_threads(cfg.threads)
    t_prev, t_k, t_next, _ = holdout_task(data, k)
    real = data.z[data.t == t_k]
    t0 = time.perf_counter()
    base = ot_interpolate(
        data.z[data.t == t_prev], data.z[data.t == t_next], (t_k - t_prev) / (t_next - t_prev), s
    )
    ot_secs = time.perf_counter() - t0
    pred, secs, fits = cellmnn_predict(
        data, k, cfg.replace(seed=s), ensemble=ensemble, progress=progress
    )
    extra = {
        "candidate": candidate,
        "ensemble": int(ensemble),
        "epochs": [f.epochs_run for f in fits],
        "best_epoch": [f.best_epoch for f in fits],
        "seconds_per_epoch": float(np.mean([f.seconds_per_epoch for f in fits])),
    }
    out = []
    for method, p, sec, more in (
        ("ot_interpolate", base, ot_secs, {}),
        ("cellmnn", pred, secs, extra),
    ):
        out.append(
            {
                "method": method,
                "holdout": int(k),
                "time": float(t_k),
                "seed": int(s),
                **score(p, real, cfg.sigma),
                "train_seconds": float(sec),
                "n_pred": int(len(p)),
                "n_real": int(len(real)),
                **more,
            }
        )
    return out


PROTOCOL = {
    "prediction": "all cells of the previous time point pushed to the held-out time",
    "target": "all real cells of the held-out time point",
    "w1": "exact earth mover's distance, POT ot.emd2, uniform weights, Euclidean ground cost",
    "mmd": "biased MMD^2, Laplace kernel exp(-||x-y||_1 / (d sigma)) with the config's sigma",
    "ot_interpolate": (
        "exact OT plan (squared Euclidean cost) between the neighbouring time points, one "
        "partner per source cell drawn from its plan row (seeded), linear interpolation"
    ),
    "honesty": (
        "the held-out time point never enters training, validation or early stopping "
        "(SnapshotSampler excludes it); hyper-parameters were not chosen on held-out scores"
    ),
}


def summarize(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and standard deviation (over seeds, ddof 0) of W1, MMD and seconds per method and
    held-out point."""
    keys = sorted({(r["method"], r["holdout"], r["time"]) for r in records})
    out = []
    for method, k, t in keys:
        rows = [r for r in records if r["method"] == method and r["holdout"] == k]
        entry: dict[str, Any] = {"method": method, "holdout": k, "time": t, "n": len(rows)}
        for m in ("w1", "mmd", "train_seconds"):
            vals = np.array([r[m] for r in rows], dtype=float)
            entry[f"{m}_mean"] = float(vals.mean())
            entry[f"{m}_std"] = float(vals.std())
        out.append(entry)
    return out


METHOD_NAMES = {"cellmnn": "Cell-MNN", "ot_interpolate": "OT-interpolate"}


def to_markdown(report: dict[str, Any]) -> str:
    """A markdown table: per held-out point, W1 and MMD mean ± std of both methods."""
    summ = {(e["method"], e["holdout"]): e for e in report["summary"]}
    holdouts = sorted({e["holdout"] for e in report["summary"]})
    lines = [
        f"Leave-one-time-point-out interpolation on {report['data']['source']} "
        f"({report['data']['n_pcs']} whitened dims, seeds {report['seeds']}"
        f"{_ensemble_note(report)}). "
        "W1: exact EMD, Euclidean cost; lower is better.",
        "",
        "| held-out | time | Cell-MNN W1 | OT-interpolate W1 | Cell-MNN MMD | "
        "OT-interpolate MMD | Cell-MNN train s |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]

    def cell(method: str, k: int, m: str, fmt: str) -> str:
        e = summ.get((method, k))
        return "-" if e is None else f"{e[m + '_mean']:{fmt}} ± {e[m + '_std']:{fmt}}"

    for k in holdouts:
        e = summ.get(("cellmnn", k)) or summ.get(("ot_interpolate", k))
        lines.append(
            f"| {k} | {e['time']:g} | {cell('cellmnn', k, 'w1', '.3f')} | "
            f"{cell('ot_interpolate', k, 'w1', '.3f')} | {cell('cellmnn', k, 'mmd', '.4f')} | "
            f"{cell('ot_interpolate', k, 'mmd', '.4f')} | "
            f"{cell('cellmnn', k, 'train_seconds', '.0f')} |"
        )
    means = {
        m: np.mean([r["w1"] for r in report["results"] if r["method"] == m])
        for m in METHOD_NAMES
        if any(r["method"] == m for r in report["results"])
    }
    lines += [
        "",
        "Mean W1 over all held-out points and seeds: "
        + ", ".join(f"{METHOD_NAMES[m]} {v:.3f}" for m, v in means.items())
        + ".",
    ]
    sel = report.get("selection")
    if sel:
        names = list(sel["candidates"])
        lines += [
            "",
            "Per-fold nested selection (inner W1: for fold k, every other interior point j held "
            "out as well, trained without k and j, W1 at j; models with seeds "
            f"{sel['seeds']}, one per seed; k never used). Inner W1 per candidate:",
            "",
            "| fold | " + " | ".join(names) + " | chosen |",
            "| --- | " + " | ".join("---" for _ in names) + " | --- |",
        ]
        for k in sorted(sel["scores"], key=int):
            row = sel["scores"][k]
            lines.append(
                f"| {k} | "
                + " | ".join(f"{row[n]:.4f}" for n in names)
                + f" | {sel['chosen'][k]} |"
            )
        lines += [
            "",
            "Candidates: "
            + "; ".join(
                f"{n} = " + ", ".join(f"{a} {b}" for a, b in sel["candidates"][n].items())
                for n in names
            )
            + f". Selection time {sel['seconds']:.0f} s.",
        ]
    return "\n".join(lines) + "\n"


def _ensemble_note(report: dict[str, Any]) -> str:
    ens = report.get("ensemble", 1)
    if isinstance(ens, int):
        return f", ensemble of {ens}" if ens > 1 else ""
    folds = report.get("fold_config", {})
    return ", setting chosen per fold by nested inner selection" + (
        "; ensembles " + ", ".join(f"{folds[k]['ensemble']}" for k in sorted(folds, key=int))
        if folds
        else ""
    )
