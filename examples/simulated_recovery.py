"""Recover a known signed network from a simulated time course, baselines beside it.

The simulator (Hill-type activation/repression, decay, intrinsic noise) returns the true edge
table, so every score here is against ground truth.

    python examples/simulated_recovery.py --out sim_results
    python examples/simulated_recovery.py --tiny
"""

from __future__ import annotations

import argparse
from pathlib import Path

import grn_mnn as gm
from grn_mnn import baselines, datasets, export, extract, pp, validate
from grn_mnn._io import write_csv


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default="sim_results")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--tiny", action="store_true")
    args = p.parse_args(argv)
    out = Path(args.out)

    adata = datasets.simulate(
        n_genes=12 if args.tiny else 30,
        n_timepoints=5,
        cells_per_time=40 if args.tiny else 200,
        seed=args.seed,
    )
    truth = adata.uns["true_network"]
    pp.prepare(adata, time_key="time", n_pcs=4 if args.tiny else 8)
    model = gm.CellMNN(
        adata, max_epochs=4 if args.tiny else 300, seed=args.seed, lr=1e-3, time_scale="auto"
    )
    model.train(progress=not args.tiny)
    edges = extract.network(model, adata, key_added=None)

    # the true network as a reference table: TF, target, Activation/Repression
    ref = out / "truth.tsv"
    out.mkdir(parents=True, exist_ok=True)
    truth[["source", "target", "mode"]].to_csv(ref, sep="\t", index=False, header=False)
    scores = validate.score(
        edges,
        str(ref),
        expression=pp.get_expression(adata),
        genes=list(adata.uns["grn_mnn"]["genes"]),
        times=adata.obs["grn_mnn_time"].to_numpy(),
        n_random=5,
        n_boot=20,
        min_edges_per_tf=1,
        seed=args.seed,
        # the arboreto peers too: + peers.PEERS (GENIE3 takes long; see docs/peers.md)
        baselines=baselines.BASELINES,
    )
    print(validate.score_table(scores).to_string())
    write_csv(out / "edges.csv", edges)
    export.write_graphml(edges.head(100), out / "network.graphml")
    print(f"wrote {out}/edges.csv and {out}/network.graphml")


if __name__ == "__main__":
    main()
