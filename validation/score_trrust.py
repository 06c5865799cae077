"""Score Cell-MNN networks of the bundled time courses against TRRUST, baselines beside them.

For each data set (human iPSC -> hepatocyte vs TRRUST human; mouse ESC -> primitive endoderm vs
TRRUST mouse) and each seed, run the full pipeline (default settings: nothing here is tuned on
TRRUST), then tabulate mean and standard deviation over seeds of the sign task (accuracy,
balanced accuracy) and the link task (AUROC, AUPRC ratio, EPR) for Cell-MNN and the random,
Pearson and linear-ODE baselines.

    python validation/score_trrust.py                       # 3 seeds, both data sets
    python validation/score_trrust.py --seeds 0 --max-epochs 20 --out /tmp/v   # quick look
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from grn_mnn import datasets, pipeline
from grn_mnn._io import write_json, write_text

DATASETS = {
    "hepatocyte_camp2017": (datasets.hepatocyte_camp2017, "trrust-human"),
    "mesc_hayashi2018": (datasets.mesc_hayashi2018, "trrust-mouse"),
}
METRICS = [
    ("sign", "accuracy"),
    ("sign", "balanced_accuracy"),
    ("link", "auroc"),
    ("link", "auprc_ratio"),
    ("link", "epr"),
]


def records_from(scores: dict, dataset: str, seed: int, seconds: float) -> list[dict]:
    """One flat record per method of a scores.json dict."""
    out = []
    for method, block in scores["methods"].items():
        rec = {
            "dataset": dataset,
            "seed": seed,
            "method": method,
            "seconds": seconds,
            "n_sign_edges": block["sign"].get("n_edges"),
            "n_true": block["link"].get("n_true"),
        }
        for task, metric in METRICS:
            rec[f"{task}.{metric}"] = block[task].get(metric)
        out.append(rec)
        if method == "cellmnn" and "sign_per_cell" in block:
            pc = block["sign_per_cell"]
            out.append(
                {
                    "dataset": dataset,
                    "seed": seed,
                    "method": "cellmnn (per-cell vote)",
                    "seconds": seconds,
                    "n_sign_edges": pc.get("n_edges"),
                    "sign.accuracy": pc.get("accuracy"),
                    "sign.balanced_accuracy": pc.get("balanced_accuracy"),
                }
            )
    return out


def table(records: list[dict]) -> pd.DataFrame:
    """Mean ± std over seeds per data set and method."""
    df = pd.DataFrame(records)
    cols = [f"{t}.{m}" for t, m in METRICS]
    g = df.groupby(["dataset", "method"], sort=False)
    mean, std = g[cols].mean(), g[cols].std(ddof=0)
    out = mean.copy().astype(object)
    for c in cols:
        out[c] = [
            f"{m:.3f} ± {s:.3f}" if np.isfinite(m) else "–"
            for m, s in zip(mean[c], std[c].fillna(0), strict=True)
        ]
    out["n_seeds"] = g.size()
    return out.reset_index()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=list(DATASETS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--n-pcs", type=int, default=pipeline.RUN_N_PCS)
    p.add_argument("--max-epochs", type=int, default=None)
    p.add_argument("--out", default=str(Path(__file__).parent / "results"))
    p.add_argument("--quiet", action="store_true")
    args = p.parse_args(argv)
    overrides = {"max_epochs": args.max_epochs} if args.max_epochs else {}
    records = []
    for name in args.datasets:
        loader, ref = DATASETS[name]
        for seed in args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                res = pipeline.run(
                    loader(),
                    out=tmp,
                    reference=ref,
                    n_pcs=args.n_pcs,
                    seed=seed,
                    quiet=args.quiet,
                    plots=False,
                    **overrides,
                )
                secs = time.perf_counter() - t0
            records += records_from(res.scores, name, seed, secs)
            if not args.quiet:
                print(f"{name} seed {seed}: {secs:.0f} s")
    tab = table(records)
    out = Path(args.out)
    write_json(
        out / "score_trrust.json",
        {"records": records, "n_pcs": args.n_pcs, "seeds": args.seeds, "overrides": overrides},
    )
    md = [
        "| data set | method | sign acc | balanced acc | AUROC | AUPRC ratio | EPR | seeds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in tab.to_dict("records"):
        cells = " | ".join(str(r[f"{t}.{m}"]) for t, m in METRICS)
        md.append(f"| {r['dataset']} | {r['method']} | {cells} | {r['n_seeds']} |")
    write_text(out / "score_trrust.md", "\n".join(md) + "\n")
    print("\n".join(md))


if __name__ == "__main__":
    main()
