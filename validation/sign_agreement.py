"""Is an edge's bootstrap sign agreement a confidence for its sign? (issue 12, session 14)

The issue lists "stability: ensembles over seeds and bootstraps of cells, with per-edge agreement
as a confidence". Session 8 measured bootstraps as a *ranking* (bagging, stability selection:
no gain). This script measures the per-edge agreement as a *confidence*: on every benchmark case
it reads the default network with ``readout.network(sign_bootstraps=20)`` and tabulates, over
the true edges pooled across cases and seeds, how often the sign is right at each level of
``sign_agreement`` and within each sign source (``sign_from``). It chooses nothing: the
default network is unchanged by the column.

    python validation/sign_agreement.py --seeds 0,1,2
    python validation/sign_agreement.py --seeds 3,4,5
    python validation/sign_agreement.py --real   # after the fact: the bundled time courses
                                                 # against TRRUST (sign_agreement_real.json)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from grn_mnn import pipeline, pp, readout, simcases
from grn_mnn._io import write_json

sys.path.insert(0, str(Path(__file__).parent))
from grn_variants import _prepared  # noqa: E402
from score_trrust import DATASETS, _wilson, restricted_reference, tf_sources  # noqa: E402

#: bins of sign agreement (left-closed; the last includes 1)
BINS = (0.0, 0.6, 0.8, 0.95, 1.0)
#: the agreement above which a fallback-signed edge counts as stable in the split table
STABLE = 0.95
RESULTS = Path(__file__).parent / "results"


def true_edges(case: Any, seed: int, n_boot: int) -> pd.DataFrame:
    """The default network's true edges of ``case`` with ``sign_agreement``, ``sign_from``
    and ``right`` (the predicted sign equals the true one)."""
    ad = _prepared(case.adata, seed)
    net = readout.network(
        ad, sources=case.sources, key_added=None, sign_bootstraps=n_boot, seed=seed
    )
    truth = case.truth.rename(columns={"sign": "true_sign"})
    df = net.merge(truth, on=["source", "target"], how="inner")
    df["right"] = np.sign(df["weight"]).astype(int) == df["true_sign"]
    df["case"], df["seed"] = case.name, seed
    return df[["case", "seed", "source", "target", "sign_agreement", "sign_from", "right"]]


def calibration(edges: pd.DataFrame) -> dict[str, Any]:
    """Sign accuracy of the pooled true edges per agreement bin and per sign source split by
    :data:`STABLE`; every row with its number of edges."""
    out: dict[str, Any] = {"n_edges": len(edges), "accuracy": float(edges["right"].mean())}
    a = edges["sign_agreement"].to_numpy()
    bins = []
    for lo, hi in zip(BINS[:-1], BINS[1:], strict=True):
        m = (a >= lo) & ((a < hi) if hi < 1 else (a <= hi))
        bins.append(_row(f"[{lo:g}, {hi:g}{']' if hi == 1 else ')'}", edges[m]))
    out["by_agreement"] = bins
    within = edges["sign_from"] == "within"
    stable = a >= STABLE
    out["by_source"] = [
        _row("within-time test (|sign_z| > 1.96)", edges[within]),
        _row(f"fallback, agreement >= {STABLE:g}", edges[~within & stable]),
        _row(f"fallback, agreement < {STABLE:g}", edges[~within & ~stable]),
        _row(f"within-time test or agreement >= {STABLE:g}", edges[within | stable]),
    ]
    return out


def _row(label: str, part: pd.DataFrame) -> dict[str, Any]:
    acc = float(part["right"].mean()) if len(part) else None
    row = {"edges": label, "n": int(len(part)), "sign_accuracy": acc}
    if "true_sign" in part:  # the real references: the floor of calling every edge an activation
        row["activation_share"] = float((part["true_sign"] > 0).mean()) if len(part) else None
        row["ci"] = _wilson(int(part["right"].sum()), len(part))
    return row


def real_edges(name: str, n_boot: int, seed: int = 0) -> pd.DataFrame:
    """The default network's signed TRRUST edges (TF-restricted candidates, as
    ``score_trrust.py`` scores them) on the bundled time course ``name``, with
    ``sign_agreement`` and ``right``."""
    loader, reference = DATASETS[name]
    adata = loader()
    pp.prepare(adata, "time", pipeline.RUN_N_PCS, seed=seed)
    genes = list(adata.uns["grn_mnn"]["genes"])
    net = readout.network(adata, sources="tf", key_added=None, sign_bootstraps=n_boot, seed=seed)
    ref = restricted_reference(reference, genes, tf_sources(adata)).signed()
    key = pd.DataFrame(
        {"s": ref["tf"].str.upper(), "t": ref["target"].str.upper(), "true_sign": ref["sign"]}
    )
    e = net.assign(s=net["source"].str.upper(), t=net["target"].str.upper())
    both = key.merge(e, on=["s", "t"], how="inner")
    both["right"] = np.sign(both["weight"]).astype(int) == both["true_sign"]
    return both


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", default="0,1,2", help="benchmark seeds, comma-separated")
    ap.add_argument("--bootstraps", type=int, default=readout.SIGN_BOOTSTRAPS)
    ap.add_argument("--cases", default=None, help="comma-separated cases (default: all 14)")
    ap.add_argument(
        "--real", action="store_true", help="the bundled time courses against TRRUST instead"
    )
    ap.add_argument("--out", default=None, help="JSON path (default: in validation/results)")
    args = ap.parse_args(argv)
    if args.real:
        result: dict[str, Any] = {"settings": {"bootstraps": args.bootstraps, "seed": 0}}
        for name in DATASETS:
            result[name] = calibration(real_edges(name, args.bootstraps))
        out = Path(args.out or RESULTS / "sign_agreement_real.json")
        tables = [(name, result[name]) for name in DATASETS]
    else:
        seeds = [int(s) for s in args.seeds.split(",")]
        names = args.cases.split(",") if args.cases else simcases.case_names()
        parts = [
            true_edges(simcases.make_case(n, s), s, args.bootstraps) for s in seeds for n in names
        ]
        result = {
            "settings": {"seeds": seeds, "cases": names, "bootstraps": args.bootstraps},
            "calibration": calibration(pd.concat(parts, ignore_index=True)),
        }
        out = Path(args.out or RESULTS / f"sign_agreement_{'_'.join(map(str, seeds))}.json")
        tables = [("simulated", result["calibration"])]
    write_json(out, result)
    for label, cal in tables:
        for row in cal["by_agreement"] + cal["by_source"]:
            floor = row.get("activation_share")
            extra = "" if floor is None else f"  (activations {floor:.3f})"
            acc = row["sign_accuracy"]
            print(f"{label}: {row['edges']:<45} n {row['n']:>5}  sign accuracy {acc}{extra}")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
