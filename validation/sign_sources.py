"""Sign sources and count normalisations tried for the default network (issue 12 log).

The default network ranks edges by |r_lin| x precedence and takes each edge's sign from the
linear-scale correlation of the latent reconstruction (``readout``, ``signs="latent"``). This
script measures, on the simulated benchmark cases, the sign accuracy on the true edges of other
sign sources, and the full default network (AUPRC ratio, sign accuracy) under other size
factors. Numbers are in ``docs/accuracy.md``; nothing here is used by the package.

    python validation/sign_sources.py --seeds 0,1,2 --out validation/results/sign_sources.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
    rec = readout.latent_reconstruction(ad)
    oracle = np.asarray(adata.layers["latent"], dtype=float)
    oracle = oracle[:, [list(adata.var_names).index(g) for g in genes]]
    info = ad.uns["grn_mnn"]
    w, s = np.asarray(info["loadings"]), np.asarray(info["pc_scale"])
    out = {
        "latent_d10 (default)": readout.linear_correlation(rec, src),
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


def size_factors(counts: np.ndarray, how: str) -> np.ndarray:
    """``total`` (what pp.prepare does) or ``poscounts`` (median ratio to the geometric mean
    over the positive counts, DESeq2's zero-tolerant estimator)."""
    if how == "total":
        sf = counts.sum(axis=1)
    elif how == "poscounts":
        pos = counts > 0
        lg = np.where(pos, np.log(np.where(pos, counts, 1.0)), np.nan)
        ratio = lg - np.nanmean(lg, axis=0)
        sf = np.exp(np.nanmedian(ratio, axis=1))
    else:
        raise ValueError(how)
    sf = np.where(np.isfinite(sf) & (sf > 0), sf, np.nan)
    return np.nan_to_num(sf / np.nanmedian(sf), nan=1.0)


def normalised_default(
    adata: AnnData, src_names: list[str] | None, seed: int, how: str, total_signs: bool = False
) -> dict:
    """Benchmark metrics of the default network on ``log1p(counts / size factors)``.

    ``total_signs`` keeps the ranking on these size factors but takes the signs from the
    latent reconstruction of the total-count normalisation (the default's signs).
    """
    c = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X, dtype=float)
    b = AnnData(np.log1p(c / size_factors(c, how)[:, None]), obs=adata.obs.copy())
    b.var_names = adata.var_names
    pp.prepare(b, "time", min(pipeline.RUN_N_PCS, b.n_vars - 1), data_kind="log", seed=seed)
    genes = list(b.uns["grn_mnn"]["genes"])
    src = source_indices(genes, src_names)
    signs = readout.latent_reconstruction(_prepared(adata, seed) if total_signs else b)
    x, t = pp.get_expression(b), b.obs[pp.TIME_COL].to_numpy().astype(float)
    net = readout.matrix_table(readout.lagged_matrix(x, t, src, sign_expression=signs), genes, src)
    truth = adata.uns["true_network"][["source", "target", "sign"]]
    return grnbench.score_edges(net, truth, list(adata.var_names), src_names)


NORMALISATIONS = {
    "total": ("total", False),
    "poscounts": ("poscounts", False),
    "poscounts_ranking_total_signs": ("poscounts", True),
}


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
                    for k, v in normalised_default(case.adata, case.sources, seed, *spec).items()
                    if k in ("auprc_ratio", "sign_accuracy")
                }
                for how, spec in NORMALISATIONS.items()
            }
            units.append({"case": name, "seed": seed, "sign_accuracy": acc, "normalisation": norm})
            print(name, seed, f"default={acc['latent_d10 (default)']:.3f}", flush=True)
    summary = {
        k: float(np.mean([u["sign_accuracy"][k] for u in units])) for k in units[0]["sign_accuracy"]
    }
    for how in NORMALISATIONS:
        for m in ("auprc_ratio", "sign_accuracy"):
            summary[f"{how}_normalisation_{m}"] = float(
                np.mean([u["normalisation"][how][m] for u in units])
            )
    write_json(Path(ns.out), {"summary": summary, "units": units})
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
