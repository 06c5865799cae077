"""Wall time of the peers GRNBoost2 and GENIE3 on the bundled gene-level time courses.

Data as ``grn-mnn run`` scores them (``pp.prepare`` then the log expression of the genes
used), sources = the TRRUST TFs with an edge in the data (the link task's candidates).
GRNBoost2 runs on every target. GENIE3 with ``--genie3-trees`` (default 1,000, GENIE3's
default) runs on ``--genie3-targets`` randomly chosen targets (every regression costs about the
same: all sources are its features), and the full time is extrapolated as
``seconds x n_genes / n_targets_run``; ``--genie3-targets 0`` runs every target.

    python validation/peers_timing.py                       # both data sets
    python validation/peers_timing.py --datasets hepatocyte_camp2017 --genie3-targets 0
    python validation/peers_timing.py --agreement 15        # GENIE3 100 vs 1,000 trees only

``--agreement N`` instead compares GENIE3 with 100 and with 1,000 trees on N random hepatocyte
targets (Spearman correlation of the importances per target, top-10 source overlap): how much a
cheaper forest changes the ranking.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from scipy.stats import spearmanr

from grn_mnn import datasets, peers, pipeline, pp
from grn_mnn._io import write_json
from grn_mnn.reference import load_reference, restrict
from grn_mnn.validate import Candidates

DATASETS = {
    "hepatocyte_camp2017": (datasets.hepatocyte_camp2017, "trrust-human"),
    "mesc_hayashi2018": (datasets.mesc_hayashi2018, "trrust-mouse"),
}


def scored_data(name: str, n_pcs: int = pipeline.RUN_N_PCS, seed: int = 0):
    """(expression, genes, source indices) exactly as ``grn-mnn run`` scores the data set."""
    loader, ref = DATASETS[name]
    adata = loader()
    pp.prepare(adata, "time", n_pcs, seed=seed)
    genes = list(adata.uns["grn_mnn"]["genes"])
    cands = Candidates(restrict(load_reference(ref), genes), genes)
    return pp.get_expression(adata), genes, cands.src


def agreement(n_targets: int, seed: int = 0, trees: tuple[int, int] = (100, 1000)) -> dict:
    """GENIE3 importances with ``trees[0]`` vs ``trees[1]`` trees on random hepatocyte targets."""
    x, _, src = scored_data("hepatocyte_camp2017")
    tg = np.sort(np.random.default_rng(1).choice(x.shape[1], n_targets, replace=False))
    imp, secs = {}, {}
    for n in trees:
        t0 = time.perf_counter()
        kw = {**peers.GENIE3_KWARGS, "n_estimators": n}
        imp[n] = peers.importance_matrix(x, src, "RF", kw, seed=seed, target_idx=tg)[tg]
        secs[n] = time.perf_counter() - t0
    a, b = imp[trees[0]], imp[trees[1]]
    rho = [spearmanr(a[i], b[i]).statistic for i in range(tg.size)]
    top = [
        np.intersect1d(np.argsort(-a[i])[:10], np.argsort(-b[i])[:10]).size for i in range(tg.size)
    ]
    return {
        "targets": int(tg.size),
        "trees": list(trees),
        "seconds": {str(k): v for k, v in secs.items()},
        "median_spearman_per_target": float(np.median(rho)),
        "spearman_all": float(spearmanr(a.ravel(), b.ravel()).statistic),
        "mean_top10_overlap": float(np.mean(top)) / 10,
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--genie3-trees", type=int, default=1000)
    p.add_argument("--genie3-targets", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=None, help="default results/peers_timing.json")
    p.add_argument("--agreement", type=int, default=0, metavar="N")
    args = p.parse_args(argv)
    res = Path(__file__).parent / "results"
    if args.agreement:
        rec = agreement(args.agreement, args.seed)
        print(rec)
        write_json(args.out or res / "genie3_trees_agreement.json", rec)
        return
    out = {}
    for name in args.datasets:
        x, genes, src = scored_data(name)
        rec = {"n_cells": x.shape[0], "n_genes": x.shape[1], "n_sources": int(src.size)}
        t0 = time.perf_counter()
        peers.grnboost2_matrix(x, src, seed=args.seed)
        rec["grnboost2_seconds"] = time.perf_counter() - t0
        print(f"{name}: GRNBoost2 {rec['grnboost2_seconds']:.0f} s", flush=True)
        n_t = args.genie3_targets
        tg = None
        if n_t and n_t < x.shape[1]:
            tg = np.sort(np.random.default_rng(args.seed).choice(x.shape[1], n_t, replace=False))
        n_run = x.shape[1] if tg is None else tg.size
        t0 = time.perf_counter()
        peers.importance_matrix(
            x,
            src,
            "RF",
            {**peers.GENIE3_KWARGS, "n_estimators": args.genie3_trees},
            seed=args.seed,
            target_idx=tg,
        )
        secs = time.perf_counter() - t0
        rec.update(
            genie3_trees=args.genie3_trees,
            genie3_targets_run=int(n_run),
            genie3_seconds_run=secs,
            genie3_seconds_extrapolated=secs * x.shape[1] / n_run,
        )
        print(
            f"{name}: GENIE3 ({args.genie3_trees} trees) {secs:.0f} s on {n_run} targets -> "
            f"{rec['genie3_seconds_extrapolated']:.0f} s for {x.shape[1]}",
            flush=True,
        )
        out[name] = rec
    write_json(args.out or res / "peers_timing.json", out)


if __name__ == "__main__":
    main()
