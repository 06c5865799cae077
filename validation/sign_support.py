"""Is the sign gap confounding or noise? Signs with the true regulators known (session 10).

The default signs each edge by the within-time correlation where it is significant, else by the
all-cell correlation (``readout.sign_score``). Most wrong signs are edges into targets with two
regulators, where the all-cell correlation follows the co-regulator. If confounding were the
limit, a joint regression of each target on its regulators would fix them. This script gives
that regression the *true* regulators (ORACLE rows: a user never has them) on the counts, on the
noise-free concentrations, and on the time-point means, and scores beside them the
non-oracle candidates of session 10: the pooled partial correlation given the top-ranked
co-regulator, a factor-analysis denoising of the within-time correlations, the correlation over
the target's own change window, and per-time-point within-time evidence weighted by the
target's change. Sign accuracy on the true edges, mean over the 14 cases, mean +- s.d. over
seeds. Numbers are in ``docs/accuracy.md`` (session 10); nothing here is used by the package.

    python validation/sign_support.py --seeds 0,1,2
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from sklearn.decomposition import FactorAnalysis

from grn_mnn import pp, readout, simcases
from grn_mnn._io import write_json
from grn_mnn.baselines import source_indices

sys.path.insert(0, str(Path(__file__).parent))
from sign_sources import _gate, _prepared, _true_pairs  # noqa: E402


class Unit(NamedTuple):
    """One simulated case: ranking expression, times, sources, true (target, source col, sign)
    pairs and the noise-free concentrations (ORACLE) of the same genes."""

    xr: np.ndarray
    t: np.ndarray
    src: np.ndarray
    pairs: np.ndarray
    oracle: np.ndarray


def unit_of(case: Any, seed: int) -> Unit:
    ad = _prepared(case.adata, seed)
    genes = list(ad.uns["grn_mnn"]["genes"])
    xr = readout.ranking_expression(pp.get_expression(ad), ad.uns["grn_mnn"]["transform"])
    cols = [list(case.adata.var_names).index(g) for g in genes]
    oracle = np.asarray(case.adata.layers["latent"], dtype=float)[:, cols]
    t = ad.obs[pp.TIME_COL].to_numpy().astype(float)
    return Unit(xr, t, source_indices(genes, case.sources), _true_pairs(ad, case.sources), oracle)


def _standardised(x: np.ndarray) -> np.ndarray:
    sd = x.std(axis=0)
    return np.divide(x - x.mean(axis=0), sd, out=np.zeros_like(x), where=sd > 0)


def joint_on_support(values: np.ndarray, u: Unit, ridge: float = 0.0) -> np.ndarray:
    """(genes x sources) coefficients of each target regressed jointly on its TRUE regulators
    (standardised rows of ``values``: cells or time-point means); 0 off the support."""
    z = _standardised(values)
    out = np.zeros((values.shape[1], len(u.src)))
    for i in np.unique(u.pairs[:, 0]):
        cols = u.pairs[u.pairs[:, 0] == i, 1]
        a = z[:, u.src[cols]]
        out[i, cols] = np.linalg.solve(a.T @ a + ridge * len(a) * np.eye(len(cols)), a.T @ z[:, i])
    return out


def ode_on_support(values: np.ndarray, u: Unit) -> np.ndarray:
    """Coefficients ``a`` of d(mean target)/dt = sum_j a_j mean(regulator j) - g mean(target) + b
    on the TRUE regulators, fitted on the time-point means (forward differences)."""
    ts = np.unique(u.t)
    m = readout.time_point_means(values, u.t)
    slope, m0 = np.diff(m, axis=0) / np.diff(ts)[:, None], m[:-1]
    out = np.zeros((values.shape[1], len(u.src)))
    for i in np.unique(u.pairs[:, 0]):
        cols = u.pairs[u.pairs[:, 0] == i, 1]
        a = np.column_stack([m0[:, u.src[cols]], m0[:, i], np.ones(len(m0))])
        out[i, cols] = np.linalg.lstsq(a, slope[:, i], rcond=None)[0][: len(cols)]
    return out


def partial_given_top(u: Unit, lin: np.ndarray, ranking: np.ndarray) -> np.ndarray:
    """All-cell partial correlation of target and source given the target's strongest other
    candidate regulator by the default's |weight| (no oracle)."""
    z = _standardised(lin)
    out = np.zeros_like(ranking)
    for i in range(lin.shape[1]):
        order = [c for c in np.argsort(-np.abs(ranking[i])) if u.src[c] != i]
        for j in range(len(u.src)):
            co = [c for c in order if c != j][:1]
            if u.src[j] == i or not co:
                continue
            a = z[:, u.src[co]]
            rt = z[:, i] - a @ np.linalg.lstsq(a, z[:, i], rcond=None)[0]
            rs = z[:, u.src[j]] - a @ np.linalg.lstsq(a, z[:, u.src[j]], rcond=None)[0]
            out[i, j] = rt @ rs / np.sqrt((rt @ rt) * (rs @ rs) + 1e-12)
    return out


def factor_within(u: Unit, n_factors: int = 5) -> np.ndarray:
    """Within-time correlations rebuilt from a factor analysis of the within-time z-scores
    (the shared part only: count noise independent per gene goes to the uniquenesses)."""
    z = readout.within_time_zscores(np.expm1(u.xr), u.t)
    load = FactorAnalysis(min(n_factors, z.shape[1] - 1), random_state=0).fit(z).components_.T
    cov = load @ load.T
    d = np.sqrt(np.diag(cov)) + 1e-12
    return (cov / np.outer(d, d))[:, u.src]


def target_window(u: Unit, lin: np.ndarray) -> np.ndarray:
    """Correlation over the time points around the interval in which each target's mean changes
    most (that interval and one on each side)."""
    ts = np.unique(u.t)
    step = np.abs(np.diff(readout.time_point_means(lin, u.t), axis=0))
    out, cache = np.zeros((lin.shape[1], len(u.src))), {}
    for i in range(lin.shape[1]):
        k = int(np.argmax(step[:, i]))
        lo, hi = max(0, k - 1), min(len(ts) - 1, k + 2)
        if (lo, hi) not in cache:
            cells = (u.t >= ts[lo]) & (u.t <= ts[hi])
            cache[lo, hi] = readout.linear_correlation(u.xr[cells], u.src)
        out[i] = cache[lo, hi][i]
    return out


def weighted_within(u: Unit) -> np.ndarray:
    """Within-time evidence as a Stouffer sum of each time point's Fisher z, each time point
    weighted by how much the target's mean changes around it; a z statistic."""
    lin = np.expm1(u.xr)
    ts = np.unique(u.t)
    step = np.abs(np.gradient(readout.time_point_means(lin, u.t), axis=0))
    num = np.zeros((lin.shape[1], len(u.src)))
    den = np.zeros_like(num)
    for k, tk in enumerate(ts):
        cells = u.t == tk
        r = readout._correlation_of_centred(_standardised(lin[cells]), u.src)
        w = (step[k] / (step.mean(axis=0) + 1e-12))[:, None]
        num += w * np.arctanh(np.clip(r, -0.999, 0.999)) * np.sqrt(max(cells.sum() - 3, 1))
        den += w**2
    return num / np.sqrt(den + 1e-12)


def sign_rows(u: Unit) -> dict[str, np.ndarray]:
    """Every row of the table as a (genes x sources) matrix whose sign is the predicted sign."""
    lin = readout.winsorized(np.expm1(u.xr))
    within = readout.within_time_correlation(u.xr, u.t, u.src)
    ranking = readout.lagged_matrix(u.xr, u.t, u.src, signs=readout.DEFAULT_SIGNS, within=within)
    stouffer = weighted_within(u)
    return {
        "default (expression+within)": readout.sign_score(u.xr, u.t, u.src, within=within),
        "ORACLE support: joint regression, clipped linear counts": joint_on_support(lin, u),
        "ORACLE support: the same behind the default's gate": _gate(
            within, u.t, joint_on_support(lin, u)
        ),
        "ORACLE support: joint regression, noise-free concentrations": joint_on_support(
            u.oracle, u
        ),
        "ORACLE: all-cell correlation of the noise-free concentrations (no support)": (
            readout.linear_correlation(np.log1p(u.oracle), u.src)
        ),
        "ORACLE support: joint regression of the time-point means (ridge 0.1), gated": _gate(
            within, u.t, joint_on_support(readout.time_point_means(lin, u.t), u, ridge=0.1)
        ),
        "ORACLE support: linear ODE of the noise-free time-point means": ode_on_support(
            u.oracle, u
        ),
        "partial correlation given the top-ranked co-regulator, as the fallback": _gate(
            within, u.t, partial_given_top(u, lin, ranking)
        ),
        "within-time factor analysis (5 factors), as the fallback": _gate(
            within, u.t, factor_within(u)
        ),
        "the target's change window, as the fallback": _gate(within, u.t, target_window(u, lin)),
        "within-time Stouffer weighted by the target's change, gated": np.where(
            np.abs(stouffer) > readout.WITHIN_Z,
            stouffer,
            readout.linear_correlation(u.xr, u.src, readout.DEFAULT_WINSORIZE),
        ),
    }


def accuracies(u: Unit, rows: Callable[[Unit], dict[str, np.ndarray]] = sign_rows) -> dict:
    p = u.pairs
    return {k: float(np.mean(np.sign(m[p[:, 0], p[:, 1]]) == p[:, 2])) for k, m in rows(u).items()}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument(
        "--out", default=None, help="default validation/results/sign_support_<seeds>.json"
    )
    ns = ap.parse_args(argv)
    seeds = [int(s) for s in ns.seeds.split(",")]
    units = []
    for seed in seeds:
        for name in simcases.case_names():
            acc = accuracies(unit_of(simcases.make_case(name, seed), seed))
            units.append({"case": name, "seed": seed, "sign_accuracy": acc})
            print(name, seed, f"default={acc['default (expression+within)']:.3f}", flush=True)
    summary = {}
    for row in units[0]["sign_accuracy"]:
        per_seed = [
            np.mean([u["sign_accuracy"][row] for u in units if u["seed"] == s]) for s in seeds
        ]
        summary[row] = {"mean": float(np.mean(per_seed)), "sd": float(np.std(per_seed))}
    tag = "_".join(str(s) for s in seeds)
    out = Path(ns.out or f"validation/results/sign_support_{tag}.json")
    write_json(out, {"seeds": seeds, "summary": summary, "units": units})
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
