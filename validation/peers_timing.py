"""Wall time of the peers GRNBoost2 and GENIE3 on the bundled gene-level time courses.

Data as ``grn-mnn run`` scores them (``pp.prepare`` then the log expression of the genes
used), sources = the TRRUST TFs with an edge in the data (the link task's candidates).
GRNBoost2 runs on every target. GENIE3 with ``--genie3-trees`` (default 1,000, GENIE3's
default) runs on ``--genie3-targets`` randomly chosen targets (every regression costs about the
same: all sources are its features), and the full time is extrapolated as
``seconds x n_genes / n_targets_run``; ``--genie3-targets 0`` runs every target.

    python validation/peers_timing.py                       # both data sets
    python validation/peers_timing.py --datasets hepatocyte_camp2017 --genie3-targets 0
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

from grn_mnn import datasets, peers, pipeline, pp
from grn_mnn._io import write_json
from grn_mnn.reference import load_reference, restrict
from grn_mnn.validate import _Candidates

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
    cands = _Candidates(restrict(load_reference(ref), genes), genes)
    return pp.get_expression(adata), genes, cands.src


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--genie3-trees", type=int, default=1000)
    p.add_argument("--genie3-targets", type=int, default=40)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "peers_timing.json"))
    args = p.parse_args(argv)
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
    write_json(args.out, out)


if __name__ == "__main__":
    main()
