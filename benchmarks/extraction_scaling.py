"""Extraction time and peak memory versus number of genes (J = W S A S^-1 W^T kept factored).

Simulated mapping: orthonormal loadings W (genes x 50, QR of a Gaussian matrix), PC scales
decreasing from 3 to 0.3, gene means ~ U(0, 2), and 500 cell operators A_c (50 x 50, entries
N(0, 0.1^2)). :func:`grn_mnn.extract.edge_table` computes the mean network over the cells
blockwise over sources (never a genes x genes matrix) and keeps the ``top_k`` strongest
targets per source, optionally also only the global ``top_n`` edges. Sources are either every
gene or a TF-sized list (1,600 genes, about the number of human transcription factors).

Each configuration runs in a fresh subprocess; ``peak_rss_mb`` is that process's
``ru_maxrss`` (imports and the simulated inputs included), ``seconds`` the wall time of
``edge_table`` alone.

Usage::

    OMP_NUM_THREADS=1 python benchmarks/extraction_scaling.py
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux ru_maxrss is in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def simulated(n_genes: int, n_pcs: int, n_cells: int, seed: int):
    """Mapping with orthonormal loadings and random cell operators."""
    rng = np.random.default_rng(seed)
    w, _ = np.linalg.qr(rng.standard_normal((n_genes, n_pcs)))
    mapping = {
        "genes": [f"G{i:05d}" for i in range(n_genes)],
        "loadings": w,
        "pc_scale": np.linspace(3.0, 0.3, n_pcs),
        "gene_mean": rng.uniform(0, 2, n_genes),
    }
    a_cells = 0.1 * rng.standard_normal((n_cells, n_pcs, n_pcs))
    return mapping, a_cells


def worker(args: argparse.Namespace) -> dict:
    from grn_mnn.extract import edge_table

    mapping, a_cells = simulated(args.n_genes, args.n_pcs, args.n_cells, args.seed)
    n_src = args.n_genes if args.n_sources <= 0 else min(args.n_sources, args.n_genes)
    sources = np.sort(np.random.default_rng(args.seed + 1).permutation(args.n_genes)[:n_src])
    rss_inputs = peak_rss_mb()
    t0 = time.perf_counter()
    df = edge_table(
        mapping,
        a_cells,
        sources=sources,
        top_k=args.top_k,
        top_n=args.top_n if args.top_n > 0 else None,
    )
    sec = time.perf_counter() - t0
    return {
        "n_genes": args.n_genes,
        "n_pcs": args.n_pcs,
        "n_sources": int(n_src),
        "top_k": args.top_k,
        "seconds": sec,
        "peak_rss_mb": peak_rss_mb(),
        "top_n": args.top_n if args.top_n > 0 else None,
        "n_cells": args.n_cells,
        "n_edges": int(len(df)),
        "peak_rss_mb_before_extraction": rss_inputs,
        "dense_genes_x_genes_gb": args.n_genes**2 * 8 / 2**30,
    }


def table(path: Path) -> str:
    """Markdown table of the records in ``path``."""
    recs = json.loads(Path(path).read_text())
    rows = [
        "| genes | PCs | sources | top_k | top_n | edges | seconds | peak RSS (MB) |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in recs:
        top_n = "-" if r["top_n"] is None else f"{r['top_n']:,}"
        rows.append(
            f"| {r['n_genes']:,} | {r['n_pcs']} | {r['n_sources']:,} | {r['top_k']} | {top_n} | "
            f"{r['n_edges']:,} | {r['seconds']:.2f} | {r['peak_rss_mb']:.0f} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--genes", type=int, nargs="+", default=[1000, 5000, 20000])
    p.add_argument("--n-pcs", type=int, default=50)
    p.add_argument("--sources", type=int, nargs="+", default=[0, 1600], help="0 = all genes")
    p.add_argument("--top-k", type=int, default=50)
    p.add_argument("--top-n", type=int, nargs="+", default=[0, 100_000], help="0 = no global cap")
    p.add_argument("--n-cells", type=int, default=500)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path, default=HERE / "results" / "extraction_scaling.json")
    p.add_argument("--table", action="store_true", help="print the markdown table of --out")
    p.add_argument("--worker", action="store_true")
    p.add_argument("--n-genes", type=int, default=None)
    p.add_argument("--n-sources", type=int, default=0)
    args = p.parse_args(argv)
    if args.table:
        print(table(args.out))
        return
    if args.worker:
        args.top_n = args.top_n[0]
        print("RESULT " + json.dumps(worker(args)), flush=True)
        return

    from grn_mnn._io import write_json

    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    records = []
    for g in args.genes:
        for s in args.sources:
            if 0 < s and s >= g:
                continue
            for top_n in args.top_n:
                cmd = [
                    sys.executable,
                    str(Path(__file__).resolve()),
                    "--worker",
                    "--n-genes",
                    str(g),
                    "--n-pcs",
                    str(args.n_pcs),
                    "--n-sources",
                    str(s),
                    "--top-k",
                    str(args.top_k),
                    "--top-n",
                    str(top_n),
                    "--n-cells",
                    str(args.n_cells),
                    "--seed",
                    str(args.seed),
                ]
                proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
                line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT ")]
                if proc.returncode != 0 or not line:
                    raise RuntimeError(f"extraction g={g} s={s} failed:\n{proc.stderr[-3000:]}")
                rec = json.loads(line[-1][len("RESULT ") :])
                rec["threads"] = 1
                records.append(rec)
                print(json.dumps(rec), flush=True)
                write_json(args.out, records)


if __name__ == "__main__":
    main()
