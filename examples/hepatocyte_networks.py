"""End to end with the Python API on the bundled human iPSC -> hepatocyte time course.

Fit Cell-MNN, extract time-resolved gene networks, score them against TRRUST human beside the
baselines, and export GraphML files for Cytoscape.

    python examples/hepatocyte_networks.py --out example_results
    python examples/hepatocyte_networks.py --tiny     # seconds, for a smoke test
"""

from __future__ import annotations

import argparse
from pathlib import Path

import grn_mnn as gm
from grn_mnn import baselines, datasets, export, extract, pp, validate


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--out", default="example_results")
    p.add_argument("--n-pcs", type=int, default=10)
    p.add_argument("--epochs", type=int, default=150)
    p.add_argument("--tiny", action="store_true", help="a few epochs on 150 genes")
    args = p.parse_args(argv)
    out = Path(args.out)

    # 1. data: cells x genes, obs['time'] in days, gene symbols as var_names
    adata = datasets.hepatocyte_camp2017()
    if args.tiny:
        adata = adata[:, :150].copy()
    pp.prepare(adata, time_key="time", n_pcs=args.n_pcs)

    # 2. fit Cell-MNN (paper defaults; early stopping on held-back cells of each time point)
    epochs = 4 if args.tiny else args.epochs
    model = gm.CellMNN(adata, max_epochs=epochs, steps_per_epoch=2 if args.tiny else 10)
    model.train(progress=not args.tiny)

    # 3. time-resolved networks: TRRUST TFs as sources, 50 strongest targets each
    by_time = extract.network(model, adata, by="time", sources="tf", species="human", top_k=50)
    print(by_time.head(10).to_string(index=False))

    # 4. score the all-cell network against TRRUST human, baselines side by side
    edges = extract.network(model, adata, key_added=None)
    scores = validate.score(
        edges,
        "trrust-human",
        expression=pp.get_expression(adata),
        genes=list(adata.uns["grn_mnn"]["genes"]),
        times=adata.obs["grn_mnn_time"].to_numpy(),
        n_random=5,
        n_boot=20,
        # the arboreto peers too: + peers.PEERS (GENIE3 takes long; see docs/peers.md)
        baselines=baselines.BASELINES,
    )
    print(validate.score_table(scores).to_string())

    # 5. GraphML per time point (+ aggregate) for Cytoscape, and CSV edge lists
    paths = export.export_networks(by_time, out, by="time", formats=("graphml", "csv"))
    print(f"wrote {len(paths)} files to {out}/")


if __name__ == "__main__":
    main()
