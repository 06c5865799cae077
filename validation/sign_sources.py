"""Sign sources and count normalisations tried for the default network (issue 12 log).

The default network ranks edges by |r_lin| x precedence on median-ratio size factors and takes
each edge's sign from the within-time correlation where it is significant, else from its own
linear-scale correlation (``readout``, ``signs="expression+within"``, since session 8; sessions
6-7 fell back on the latent reconstruction's, ``signs="latent+within"``).
This script measures, on the simulated benchmark cases, the sign accuracy on the true edges of
other sign sources (session 7's rows: :func:`session7_rows`), and the whole default network
(AUPRC ratio, sign accuracy) under other size factors. Numbers are in ``docs/accuracy.md``;
nothing here is used by the package.

    python validation/sign_sources.py --seeds 0,1,2 --out validation/results/sign_sources.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
from anndata import AnnData

from grn_mnn import grnbench, pipeline, pp, readout, simcases
from grn_mnn._io import write_json
from grn_mnn.baselines import pearson_matrix, source_indices

sys.path.insert(0, str(Path(__file__).parent))
from grn_variants import _ridge  # noqa: E402  (the ridge of the accuracy log's variants)


def _prepared(adata: AnnData, seed: int, n_pcs: int = pipeline.RUN_N_PCS) -> AnnData:
    ad = adata.copy()
    pp.prepare(ad, "time", min(n_pcs, ad.n_vars - 1), seed=seed)
    return ad


def _gate(within: np.ndarray, t: np.ndarray, fallback: np.ndarray, z: float = readout.WITHIN_Z):
    """The default's rule (:func:`readout.sign_score`) with another within-time estimate or
    fallback; ``t`` the times of the cells ``within`` was computed on."""
    return np.where(np.abs(readout.within_z_scores(within, t)) > z, within, fallback)


def _within_scaled(values: np.ndarray, t: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Within-time correlation of ``values`` as they are (no expm1)."""
    return readout._correlation_of_centred(readout.within_time_zscores(values, t), src)


def _pearson_residuals(counts: np.ndarray, t: np.ndarray, theta: float = 10.0) -> np.ndarray:
    """Negative-binomial Pearson residuals per time point (mean: size factor x gene mean)."""
    sf = readout.median_ratio_factors(counts)
    out = np.zeros_like(counts, dtype=float)
    for tk in np.unique(t):
        m = t == tk
        mu = sf[m, None] * counts[m].sum(axis=0) / sf[m].sum()
        r = (counts[m] - mu) / np.sqrt(mu + mu**2 / theta + 1e-12)
        out[m] = np.clip(r, -np.sqrt(m.sum()), np.sqrt(m.sum()))
    return out


def _bivariate_ode(lin: np.ndarray, t: np.ndarray, src: np.ndarray) -> np.ndarray:
    """Sign of ``a`` in d(mean target)/dt = a mean(source) - g mean(target) + b, per pair,
    fitted by least squares on the time points' means (forward differences)."""
    ts = np.unique(t)
    means = readout.time_point_means(lin, t)
    slope, m0 = np.diff(means, axis=0) / np.diff(ts)[:, None], means[:-1]
    out = np.zeros((lin.shape[1], len(src)))
    for i in range(lin.shape[1]):
        for jj, j in enumerate(src):
            if i != j:
                a = np.column_stack([m0[:, j], m0[:, i], np.ones(len(m0))])
                out[i, jj] = np.linalg.lstsq(a, slope[:, i], rcond=None)[0][0]
    return out


def session7_rows(xr, t, src, rec, counts) -> dict[str, np.ndarray]:
    """Sign sources measured in session 7 (docs/accuracy.md): other gates, estimators, fallbacks."""
    within = readout.within_time_correlation(xr, t, src)
    latent = readout.linear_correlation(rec, src)
    later = t > t.min()
    w_later = readout.within_time_correlation(xr[later], t[later], src)
    pr = _within_scaled(_pearson_residuals(counts, t), t, src)
    ode = _bivariate_ode(np.expm1(xr), t, src)
    return {
        **{f"latent+within, z > {z}": _gate(within, t, latent, z) for z in (1.0, 1.5, 2.5)},
        "within where significant, else expression": _gate(
            within, t, readout.linear_correlation(xr, src)
        ),
        "within-time, NB Pearson residuals (theta 10)": pr,
        "NB Pearson residuals where significant, else latent": _gate(pr, t, latent),
        "within-time, log scale": _within_scaled(xr, t, src),
        "within-time, detection (count > 0)": _within_scaled((counts > 0).astype(float), t, src),
        "within-time without the first time point, else latent": _gate(w_later, t[later], latent),
        "bivariate linear ODE of the time-point means": ode,
        "within where significant, else bivariate ODE": _gate(within, t, ode),
    }


def sign_matrices(adata: AnnData, src_names: list[str] | None, seed: int) -> tuple[dict, AnnData]:
    """Every sign source as a (genes x sources) matrix whose sign is the predicted edge sign."""
    ad = _prepared(adata, seed)
    genes = list(ad.uns["grn_mnn"]["genes"])
    src = source_indices(genes, src_names)
    x = pp.get_expression(ad)
    xr = readout.ranking_expression(x, ad.uns["grn_mnn"]["transform"])  # median-ratio factors
    t = ad.obs[pp.TIME_COL].to_numpy().astype(float)
    rec = readout.latent_reconstruction(ad)
    oracle = np.asarray(adata.layers["latent"], dtype=float)
    oracle = oracle[:, [list(adata.var_names).index(g) for g in genes]]
    info = ad.uns["grn_mnn"]
    w, s = np.asarray(info["loadings"]), np.asarray(info["pc_scale"])
    out = {
        "expression+within (default)": readout.sign_score(xr, t, src),
        "latent+within (sessions 6-7 default)": readout.sign_score(
            xr, t, src, "latent+within", sign_expression=rec
        ),
        "latent+within, z > 3": readout.sign_score(
            xr, t, src, "latent+within", sign_expression=rec, within_z=3.0
        ),
        "within-time, median-ratio factors": readout.within_time_correlation(xr, t, src),
        "within-time, total counts": readout.within_time_correlation(x, t, src),
        "ORACLE: noise-free concentrations, within-time": readout.within_time_correlation(
            np.log1p(oracle), t, src
        ),
        "latent_d10 (stop 16 default)": readout.linear_correlation(rec, src),
        "expression": readout.linear_correlation(x, src),
        "oracle_correlation": pearson_matrix(oracle, src),
        "oracle_ridge_all_regulators": _ridge(oracle, src, 1e-3),
        "expression_ridge_1": _ridge(np.expm1(x), src, 1.0),
        "latent_ridge_1": _ridge(np.expm1(rec), src, 1.0),
        "latent_log_pearson": pearson_matrix(rec, src),
        "latent_covariance_log (W S^2 W^T)": ((w * s**2) @ w.T)[:, src],
        "projection (W W^T)": (w @ w.T)[:, src],
        "latent_exp1.5": pearson_matrix(np.exp(1.5 * rec), src),
        "latent_clip25": pearson_matrix(np.maximum(rec, np.percentile(rec, 25, axis=0)), src),
    }
    c = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X, dtype=float)
    out.update(
        session7_rows(xr, t, src, rec, c[:, [list(adata.var_names).index(g) for g in genes]])
    )
    for d in (5, 15, 20):
        out[f"latent_d{d}"] = readout.linear_correlation(
            readout.latent_reconstruction(_prepared(adata, seed, d)), src
        )
    return out, ad


def _true_pairs(ad: AnnData, src_names: list[str] | None) -> np.ndarray:
    genes = list(ad.uns["grn_mnn"]["genes"])
    gi = {g: i for i, g in enumerate(genes)}
    sj = {int(v): j for j, v in enumerate(source_indices(genes, src_names))}
    tn = ad.uns["true_network"]
    rows = [
        (gi[t], sj[gi[s]], int(sign))
        for s, t, sign in zip(tn["source"], tn["target"], tn["sign"], strict=True)
        if s != t and s in gi and t in gi and gi[s] in sj
    ]
    return np.asarray(rows, dtype=int)


def size_factors(counts: np.ndarray, how: str, adata: AnnData | None = None) -> np.ndarray:
    """``total`` (what pp.prepare does), ``poscounts`` (median ratio to the geometric mean over
    the positive counts, DESeq2's zero-tolerant estimator: :func:`readout.median_ratio_factors`)
    or ``capture`` (ORACLE: the simulated capture factor ``adata.obs['capture']``)."""
    if how == "total":
        sf = counts.sum(axis=1)
    elif how == "poscounts":
        return readout.median_ratio_factors(counts)
    elif how == "capture":
        sf = np.asarray(adata.obs["capture"], dtype=float)
    else:
        raise ValueError(how)
    sf = np.where(np.isfinite(sf) & (sf > 0), sf, np.nan)
    return np.nan_to_num(sf / np.nanmedian(sf), nan=1.0)


def normalised_default(adata: AnnData, src_names: list[str] | None, seed: int, how: str) -> dict:
    """Benchmark metrics of the default network ranked (and signed within time points) on
    ``log1p(counts / size factors)``; the latent reconstruction is the model's, as in run.

    ``how="median-ratio"`` is the default network itself (the factors of the total-count
    normalisation that :func:`pp.prepare` stores); ``"poscounts"`` the same estimator on the
    raw counts; ``"total"`` the ranking of stop 16; ``"capture"`` the simulated capture.
    """
    ad = _prepared(adata, seed)
    genes = list(ad.uns["grn_mnn"]["genes"])
    src = source_indices(genes, src_names)
    x = pp.get_expression(ad)  # total counts, as pp.prepare normalises
    if how == "median-ratio":
        x = readout.ranking_expression(x, ad.uns["grn_mnn"]["transform"])
    elif how != "total":
        c = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X, dtype=float)
        c = c[:, [list(adata.var_names).index(g) for g in genes]]
        x = np.log1p(c / size_factors(c, how, adata)[:, None])
    t = ad.obs[pp.TIME_COL].to_numpy().astype(float)
    mat = readout.lagged_matrix(x, t, src, signs=readout.DEFAULT_SIGNS)
    truth = adata.uns["true_network"][["source", "target", "sign"]]
    net = readout.matrix_table(mat, genes, src)
    return grnbench.score_edges(net, truth, list(adata.var_names), src_names)


NORMALISATIONS = ("median-ratio", "poscounts", "total", "capture")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--cases", default=None, help="comma-separated case names (default: all)")
    p.add_argument("--out", default="validation/results/sign_sources.json")
    ns = p.parse_args(argv)
    names = ns.cases.split(",") if ns.cases else simcases.case_names()
    units = []
    for seed in [int(s) for s in ns.seeds.split(",")]:
        for name in names:
            case = simcases.make_case(name, seed)
            mats, ad = sign_matrices(case.adata, case.sources, seed)
            pairs = _true_pairs(ad, case.sources)
            acc = {
                k: float(np.mean(np.sign(m[pairs[:, 0], pairs[:, 1]]) == pairs[:, 2]))
                for k, m in mats.items()
            }
            norm = {
                how: {
                    k: float(v)
                    for k, v in normalised_default(case.adata, case.sources, seed, how).items()
                    if k in ("auprc_ratio", "sign_accuracy")
                }
                for how in NORMALISATIONS
            }
            units.append({"case": name, "seed": seed, "sign_accuracy": acc, "normalisation": norm})
            print(name, seed, f"default={acc['expression+within (default)']:.3f}", flush=True)
    seeds = sorted({u["seed"] for u in units})

    def mean_sd(values: Any) -> dict[str, float]:
        """Mean over cases per seed, then mean and s.d. over seeds (the benchmark's summary)."""
        per_seed = [
            np.mean([v for u, v in zip(units, values, strict=True) if u["seed"] == s])
            for s in seeds
        ]
        return {"mean": float(np.mean(per_seed)), "sd": float(np.std(per_seed))}

    summary = {
        k: mean_sd([u["sign_accuracy"][k] for u in units]) for k in units[0]["sign_accuracy"]
    }
    for how in NORMALISATIONS:
        for m in ("auprc_ratio", "sign_accuracy"):
            summary[f"{how}_normalisation_{m}"] = mean_sd(
                [u["normalisation"][how][m] for u in units]
            )
    write_json(Path(ns.out), {"summary": summary, "units": units})
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
