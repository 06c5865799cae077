"""End to end with the Python API on the bundled human iPSC -> hepatocyte time course.

Extract the default network (time-ordered co-expression of the bundled TFs, the reading that won
the simulated accuracy benchmark), fit Cell-MNN and read its Jacobian network too, score both
against TRRUST human beside the baselines, and export GraphML files for Cytoscape.

    python examples/hepatocyte_networks.py --out example_results
    python examples/hepatocyte_networks.py --tiny     # seconds, for a smoke test
"""

from __future__ import annotations

import argparse
from pathlib import Path

import grn_mnn as gm
from grn_mnn import baselines, datasets, export, extract, pp, readout, validate


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
    if args.tiny:  # 40 TFs of the bundled list and 110 other genes
        tfs = set(datasets.transcription_factors("human"))
        is_tf = adata.var_names.str.upper().isin(tfs)
        keep = list(adata.var_names[is_tf][:40]) + list(adata.var_names[~is_tf][:110])
        adata = adata[:, keep].copy()
    pp.prepare(adata, time_key="time", n_pcs=args.n_pcs)

    # 2. fit Cell-MNN (paper defaults; early stopping on held-back cells of each time point)
    epochs = 4 if args.tiny else args.epochs
    model = gm.CellMNN(adata, max_epochs=epochs, steps_per_epoch=2 if args.tiny else 10)
    model.train(progress=not args.tiny)

    # 3. the default network (as grn-mnn run writes it): TF sources, all cells and per time point
    edges = readout.network(adata, sources="tf", key_added=None)
    by_time = readout.network(adata, sources="tf", by="time", top_k=50, key_added=None)
    print(by_time.head(10).to_string(index=False))
    # each edge says how firmly the cells back its sign: 'within' = significant within-time
    # co-fluctuation (|sign_z| > 1.96), the firmer kind on simulated data and against TRRUST
    firm = edges[edges["sign_from"] == "within"]
    print(f"{len(firm)} of {len(edges)} edges have a within-time sign; the strongest of them:")
    print(firm.head(10)[["source", "target", "weight", "sign_z"]].to_string(index=False))
    # ... and the Cell-MNN Jacobian J = W S A S^-1 W^T of the fit, the same sources
    jacobian = extract.network(model, adata, sources="tf", key_added=None)

    # 4. score both against TRRUST human on the same TF-restricted candidates, baselines beside
    tfs = list(edges["source"].unique())
    for name, table in (("grn_mnn", edges), ("cellmnn_jacobian", jacobian)):
        scores = validate.score(
            table,
            "trrust-human",
            expression=pp.get_expression(adata),
            genes=list(adata.uns["grn_mnn"]["genes"]),
            times=adata.obs["grn_mnn_time"].to_numpy(),
            method_name=name,
            n_random=5,
            n_boot=20,
            sources=tfs,
            # the arboreto peers too: + peers.PEERS (GENIE3 takes long; see docs/peers.md)
            baselines=baselines.BASELINES,
        )
        print(validate.score_table(scores).to_string())

    # 5. GraphML per time point (+ aggregate) for Cytoscape, and CSV edge lists
    paths = export.export_networks(by_time, out, by="time", formats=("graphml", "csv"))
    print(f"wrote {len(paths)} files to {out}/")


if __name__ == "__main__":
    main()
