"""In-silico knockouts against a simulator ground truth, beside a Pearson-slope baseline.

For each simulated network (:func:`grn_mnn.simulate.simulate`, Hill kinetics) a Cell-MNN is
fitted once (fixed settings below, chosen before any result was seen). For each of the 5
regulators with the most direct targets, the true effect of a knockout is the simulator run
again with that gene clamped to 0 from t = 0 (same seed: same network, parameters, initial
states and noise), as the mean change of log1p expression per gene at each later time point.
The model's prediction is :func:`grn_mnn.perturb.perturb` (sustained knockout of the cells at
t = 0 with the defaults: ``mapping="project"``, ``propagation="linear"``, step = gap / 4;
beside it a one-off knockout, ``mapping="hold"``, ``propagation="flow"`` (a diverged flow
counting as wrong) and the change at t = 0 alone (the latent mapping without dynamics)).
The baseline shifts every gene by its Pearson slope on the knocked-out gene times the
knocked-out gene's change.

Measured: the sign agreement with the simulator on the direct targets at the last time point
(and pooled over all later time points), and the mean |predicted change| of direct targets
versus genes not downstream of the knocked-out gene (not reachable in the true network; their
true change is exactly 0). Two designs: ``dense`` (2 regulators per gene, every gene is
downstream of almost every regulator) and ``sparse`` (1 regulator per gene, where genes
outside the knocked-out gene's cascade exist).

    python validation/perturbation.py                     # 2 designs x 3 networks x 5 KOs
    python validation/perturbation.py --seeds 0 --max-epochs 20 --out /tmp/v    # quick look
"""

from __future__ import annotations

import argparse
import time
from collections import deque
from pathlib import Path

import numpy as np
import pandas as pd

from grn_mnn import pp
from grn_mnn._io import write_json, write_text
from grn_mnn.errors import ConfigError
from grn_mnn.model import CellMNN
from grn_mnn.perturb import perturb
from grn_mnn.simulate import simulate

DESIGNS = {
    "dense": {"n_genes": 30, "n_regulators": 10, "edges_per_target": 2},
    "sparse": {"n_genes": 30, "n_regulators": 10, "edges_per_target": 1},
}
SIM = {"n_timepoints": 5, "t_max": 10.0, "cells_per_time": 200}
N_PCS = 10
N_KO = 5
#: the default (first) and two alternatives of grn_mnn.perturb
VARIANTS = {
    "cellmnn": {},
    "cellmnn_one_off": {"sustained": False},
    "cellmnn_hold": {"mapping": "hold"},
    "cellmnn_flow": {"propagation": "flow"},
    "cellmnn_raw": {"response": "raw"},
}


def descendants(net: pd.DataFrame, gene: str) -> set[str]:
    """Genes reachable from ``gene`` in the true network (excluding itself)."""
    children: dict[str, list[str]] = {}
    for s, t in zip(net["source"], net["target"], strict=True):
        children.setdefault(s, []).append(t)
    seen, todo = set(), deque([gene])
    while todo:
        for c in children.get(todo.popleft(), []):
            if c not in seen:
                seen.add(c)
                todo.append(c)
    seen.discard(gene)
    return seen


def true_effect(design: dict, seed: int, gene: str, control) -> pd.DataFrame:
    """Mean change of log1p expression per time point (rows) and gene (columns)."""
    ko = simulate(**design, **SIM, seed=seed, clamp={gene: 0.0})
    diff = pd.DataFrame(
        np.asarray(ko.X, dtype=float) - np.asarray(control.X, dtype=float),
        columns=control.var_names,
    )
    return diff.groupby(control.obs["time"].to_numpy()).mean()


def pearson_effect(adata, gene: str) -> pd.Series:
    """delta_target = slope(target on source) * delta_source, delta_source = -mean(source)."""
    x = np.asarray(adata.X, dtype=float)
    j = list(adata.var_names).index(gene)
    xs = x[:, j] - x[:, j].mean()
    slope = (xs @ (x - x.mean(axis=0))) / (xs @ xs)
    return pd.Series(slope * (-x[:, j].mean()), index=adata.var_names)


def evaluate(pred: pd.DataFrame, truth: pd.DataFrame, direct: list[str], free: list[str]):
    """Sign agreement on direct targets and mean |delta| of direct vs non-downstream genes."""
    last = truth.index.max()
    p_last = pred.loc[last, direct]
    t_last = truth.loc[last, direct]
    later = [t for t in truth.index if t > truth.index.min()]
    pooled_p = pred.loc[later, direct].to_numpy().ravel()
    pooled_t = truth.loc[later, direct].to_numpy().ravel()
    return {
        "n_direct": len(direct),
        "sign_agree_last": int((np.sign(p_last) == np.sign(t_last)).sum()),
        "sign_agree_pooled": int((np.sign(pooled_p) == np.sign(pooled_t)).sum()),
        "n_pooled": len(pooled_t),
        "abs_direct": float(p_last.abs().mean()),
        "abs_free": float(pred.loc[last, free].abs().mean()) if free else None,
        "n_free": len(free),
    }


def operator_diagnostics(model, adata) -> dict:
    """How large the fitted operator is along the data cells vs in any direction (per hour)."""
    a = model.operators()
    z = adata.obsm[pp.LATENT_KEY]
    along = np.linalg.norm(np.einsum("nij,nj->ni", a, z), axis=1) / np.linalg.norm(z, axis=1)
    growth = np.linalg.eigvals(a).real.max(axis=1)
    return {
        "along_data_median": float(np.median(along)),
        "operator_norm_median": float(np.median(np.linalg.norm(a, ord=2, axis=(1, 2)))),
        "max_real_eig_median": float(np.median(growth)),
        "max_real_eig_p90": float(np.percentile(growth, 90)),
    }


def run_network(
    name: str, design: dict, seed: int, max_epochs: int | None, quiet: bool, cache: Path | None
):
    """Fit one network (or load its fit from ``cache``) and evaluate its 5 knockouts."""
    control = simulate(**design, **SIM, seed=seed)
    net = control.uns["true_network"]
    adata = control.copy()
    pp.prepare(adata, "time", N_PCS)
    over = {"max_epochs": max_epochs} if max_epochs else {}
    t = time.perf_counter()
    saved = cache / f"{name}_{seed}_{max_epochs}.pt" if cache else None
    if saved is not None and saved.exists():
        model = CellMNN.load(saved, adata)
    else:
        model = CellMNN(adata, seed=0, **over).train(progress=not quiet)
        if saved is not None:
            model.save(saved)
    fit_seconds = time.perf_counter() - t
    diag = operator_diagnostics(model, adata)
    genes = list(control.var_names)
    counts = net["source"].value_counts()
    regs = sorted(counts.index, key=lambda g: (-counts[g], genes.index(g)))[:N_KO]
    records = []
    for reg in regs:
        truth = true_effect(design, seed, reg, control)
        direct = sorted(set(net.loc[net["source"] == reg, "target"]))
        down = descendants(net, reg)
        free = [g for g in genes if g != reg and g not in down]
        preds = {}
        for method, kw in VARIANTS.items():
            try:
                res = perturb(
                    model, adata, reg, knockout=True, start_time=0.0, progress=False, **kw
                )
            except ConfigError:  # the chained flow diverged: no prediction (counted as wrong)
                preds[method] = pd.DataFrame(np.nan, index=truth.index, columns=genes)
                continue
            pred = res.table.pivot(index="time", columns="gene", values="delta")[genes]
            pred.attrs["fraction"] = float(res.representation["fraction"].iloc[0])
            preds[method] = pred
            if method == "cellmnn":  # the latent mapping alone: the change at t = 0, held
                start = pd.DataFrame([pred.iloc[0]] * len(truth), index=truth.index)
                start.attrs["fraction"] = pred.attrs["fraction"]
                preds["cellmnn_start_only"] = start
        base = pearson_effect(control, reg)
        preds["pearson_slope"] = pd.DataFrame([base] * len(truth), index=truth.index)
        preds["simulator"] = truth
        for method, pred in preds.items():
            rec = {
                "design": name,
                "network_seed": seed,
                "regulator": reg,
                "method": method,
                "fit_seconds": fit_seconds,
                **diag,
                "represented_fraction": pred.attrs.get("fraction"),
                **evaluate(pred, truth, direct, free),
            }
            records.append(rec)
        if not quiet:
            print(f"{name} seed {seed} KO {reg}: {len(direct)} targets, {len(free)} free")
    return records


def summarise(df: pd.DataFrame) -> pd.DataFrame:
    """Per design and method: sign agreement, |delta| of direct vs non-downstream genes."""
    rows = []
    for (design, method), g in df.groupby(["design", "method"], sort=True):
        with_free = g[g["n_free"] > 0]
        rows.append(
            {
                "design": design,
                "method": method,
                "n_knockouts": len(g),
                "n_direct_targets": int(g["n_direct"].sum()),
                "sign_agreement_last": g["sign_agree_last"].sum() / g["n_direct"].sum(),
                "sign_agreement_pooled": g["sign_agree_pooled"].sum() / g["n_pooled"].sum(),
                "mean_abs_direct": float(g["abs_direct"].mean()),
                "median_abs_direct": float(g["abs_direct"].median()),
                "median_abs_free": float(with_free["abs_free"].median())
                if len(with_free)
                else None,
                "n_knockouts_with_free": len(with_free),
                "mean_abs_free": float(with_free["abs_free"].mean()) if len(with_free) else None,
                "free_smaller_fraction": float(
                    (with_free["abs_free"] < with_free["abs_direct"]).mean()
                )
                if len(with_free)
                else None,
                "mean_represented_fraction": float(g["represented_fraction"].mean())
                if g["represented_fraction"].notna().any()
                else None,
            }
        )
    return pd.DataFrame(rows)


def to_markdown(summary: pd.DataFrame, meta: dict) -> str:
    lines = [
        "# In-silico knockouts vs the simulator",
        "",
        f"Networks: {meta['designs']} x seeds {meta['seeds']}; {N_KO} knockouts each (the "
        f"regulators with most targets); Cell-MNN n_pcs={N_PCS}, default MNNConfig "
        f"(max_epochs {meta['max_epochs'] or 'default'}); simulator {SIM}.",
        "Sign agreement: predicted vs simulated sign of the change of each direct target at "
        "the last time (pooled: every later time point). |delta|: mean absolute predicted "
        "change at the last time of direct targets vs genes not downstream of the knocked-out "
        "gene (true change exactly 0), mean and median over knockouts; 'free smaller' = "
        "fraction of knockouts where the non-downstream mean is below the direct-target mean. "
        "Methods: cellmnn = grn_mnn.perturb defaults (sustained, project, linear); "
        "cellmnn_start_only = its change at t = 0 (the latent mapping alone, no dynamics); "
        "one_off / hold / flow = one setting changed; a diverged flow counts as wrong.",
        "",
        "| design | method | KOs | direct targets | sign agree (last) | sign agree (pooled) "
        "| mean abs delta direct | mean abs delta not downstream (KOs) | median direct "
        "| median not downstream | free smaller | represented |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def f(v, fmt="{:.3f}"):
        return "-" if v is None or (isinstance(v, float) and np.isnan(v)) else fmt.format(v)

    for r in summary.itertuples():
        lines.append(
            f"| {r.design} | {r.method} | {r.n_knockouts} | {r.n_direct_targets} | "
            f"{f(r.sign_agreement_last)} | {f(r.sign_agreement_pooled)} | "
            f"{f(r.mean_abs_direct, '{:.3g}')} | {f(r.mean_abs_free, '{:.3g}')} "
            f"({r.n_knockouts_with_free}) | {f(r.median_abs_direct, '{:.3g}')} | "
            f"{f(r.median_abs_free, '{:.3g}')} | {f(r.free_smaller_fraction, '{:.2f}')} | "
            f"{f(r.mean_represented_fraction, '{:.2f}')} |"
        )
    lines += [
        "",
        "Fitted operators A at the data cells (per hour, median over cells; range over "
        "networks): |A z| / |z| {along_data_median}, operator norm {operator_norm_median}, "
        "largest real eigenvalue {max_real_eig_median} (90th percentile "
        "{max_real_eig_p90}).".format(**meta["diagnostics"]),
        "",
        f"Total time {meta['seconds']:.0f} s.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--designs", nargs="+", default=list(DESIGNS), choices=list(DESIGNS))
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2])
    p.add_argument("--max-epochs", type=int, default=None, help="default: MNNConfig's")
    p.add_argument("--out", default=str(Path(__file__).parent / "results"))
    p.add_argument("--cache", default=None, help="directory to keep/reuse the fitted models")
    p.add_argument("--quiet", action="store_true")
    ns = p.parse_args(argv)
    t = time.perf_counter()
    records = []
    for name in ns.designs:
        for seed in ns.seeds:
            cache = Path(ns.cache) if ns.cache else None
            records += run_network(name, DESIGNS[name], seed, ns.max_epochs, ns.quiet, cache)
    df = pd.DataFrame(records)
    summary = summarise(df)
    meta = {
        "designs": {k: DESIGNS[k] for k in ns.designs},
        "seeds": ns.seeds,
        "simulation": SIM,
        "n_pcs": N_PCS,
        "n_knockouts": N_KO,
        "max_epochs": ns.max_epochs,
        "seconds": time.perf_counter() - t,
    }
    nets = df.drop_duplicates(["design", "network_seed"])
    meta["diagnostics"] = {
        k: f"{nets[k].min():.3g}-{nets[k].max():.3g}"
        for k in ("along_data_median", "operator_norm_median", "max_real_eig_median")
        + ("max_real_eig_p90",)
    }
    out = Path(ns.out)
    write_json(
        out / "perturbation.json",
        {**meta, "summary": summary.to_dict("records"), "records": df.to_dict("records")},
    )
    md = write_text(out / "perturbation.md", to_markdown(summary, meta))
    if not ns.quiet:
        print(md.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
