"""Sign sources and count normalisations tried for the default network (issue 12 log).

The default network ranks edges by |r_lin| x precedence on median-ratio size factors and takes
each edge's sign from the within-time correlation where it is significant, else from the
linear-scale correlation of the latent reconstruction (``readout``, ``signs="latent+within"``).
This script measures, on the simulated benchmark cases, the sign accuracy on the true edges of
other sign sources, and the whole default network (AUPRC ratio, sign accuracy) under other
size factors. Numbers are in ``docs/accuracy.md``; nothing here is used by the package.

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
        "latent+within (default)": readout.sign_score(
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
    mat = readout.lagged_matrix(
        x, t, src, signs="latent+within", sign_expression=readout.latent_reconstruction(ad)
    )
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
            print(name, seed, f"default={acc['latent+within (default)']:.3f}", flush=True)
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
