"""Score grn_mnn's networks of the bundled time courses against TRRUST, baselines beside them.

For each data set (human iPSC -> hepatocyte vs TRRUST human; mouse ESC -> primitive endoderm vs
TRRUST mouse) and each seed, run the full pipeline (default settings: nothing here is tuned on
TRRUST), then tabulate mean and standard deviation over seeds of the sign task (accuracy,
balanced accuracy) and the link task (AUROC, AUPRC ratio, EPR), with the 95 % bootstrap CI of
seed 0, for grn_mnn's default network (time-ordered co-expression), its Cell-MNN readings
(the Jacobian, the previous default, and the flow-timed co-expression, from the same fit), the
random, Pearson and linear-ODE baselines, and the peers GRNBoost2 and GENIE3 (arboreto; signed
by the Pearson sign; on the expression the pipeline scores). Every method is scored on the
same TF-restricted candidates: sources = the bundled TF list (Lambert et al. 2018, independent
of TRRUST) among the data's genes, reference edges = the TRRUST edges of those TFs. The peers
do not depend on Cell-MNN's seed, only on their own (``--peer-seeds``,
default ``--seeds``); GENIE3 (1,000 trees by default) is the slow one: ``--genie3-trees`` and
``--genie3-seeds`` cut its cost (a method name ``genie3 (N trees)`` marks a non-default N).

    python validation/score_trrust.py                       # 3 seeds, both data sets
    python validation/score_trrust.py --seeds 0 --max-epochs 20 --out /tmp/v   # quick look
    python validation/score_trrust.py --genie3-trees 100 --genie3-seeds 0      # cheaper GENIE3
    python validation/score_trrust.py --peers-only --peer-seeds 0 --genie3-trees 100  # peers only
"""

from __future__ import annotations

import argparse
import functools
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from grn_mnn import datasets, peers, pipeline, pp, runreport, validate
from grn_mnn._io import write_json, write_text
from grn_mnn.extract import resolve_sources
from grn_mnn.reference import load_reference, restrict

DATASETS = {
    "hepatocyte_camp2017": (datasets.hepatocyte_camp2017, "trrust-human"),
    "mesc_hayashi2018": (datasets.mesc_hayashi2018, "trrust-mouse"),
}
#: the Cell-MNN readings scored beside the default, from the same fit
READINGS_SCORED = {
    "jacobian": "grn_mnn jacobian (previous default)",
    "flow-lagged": "grn_mnn flow-lagged",
}
METRICS = [
    ("sign", "accuracy"),
    ("sign", "balanced_accuracy"),
    ("link", "auroc"),
    ("link", "auprc_ratio"),
    ("link", "epr"),
]


def records_from(scores: dict, dataset: str, seed: int, seconds: float) -> list[dict]:
    """One flat record per method of a scores.json dict (with the bootstrap CIs)."""
    out = []
    for method, block in scores["methods"].items():
        rec: dict = {
            "dataset": dataset,
            "seed": seed,
            "method": method,
            "seconds": seconds,
            "n_sign_edges": block["sign"].get("n_edges"),
            "n_true": block["link"].get("n_true"),
        }
        for task, metric in METRICS:
            rec[f"{task}.{metric}"] = block[task].get(metric)
            rec[f"{task}.{metric}_ci"] = (block[task].get("ci") or {}).get(metric)
        out.append(rec)
        if "sign_per_cell" in block:
            pc = block["sign_per_cell"]
            out.append(
                {
                    "dataset": dataset,
                    "seed": seed,
                    "method": f"{method} (per-cell vote)",
                    "seconds": seconds,
                    "n_sign_edges": pc.get("n_edges"),
                    "sign.accuracy": pc.get("accuracy"),
                    "sign.balanced_accuracy": pc.get("balanced_accuracy"),
                }
            )
    return out


def restricted_reference(reference, genes: list[str], sources: list[str]):
    """The ``reference`` edges among ``genes`` whose TF is among ``sources``: the edges
    ``validate.score`` scores on TF-restricted candidates."""
    return validate.restrict_sources(restrict(load_reference(reference), genes), sources)


@functools.lru_cache(maxsize=1)
def scored_data(name: str, n_pcs: int = pipeline.RUN_N_PCS, seed: int = 0):
    """(expression, genes, times, candidate source indices, TF sources, default network) as
    ``grn-mnn run`` scores them; the default network needs no training."""
    loader, ref = DATASETS[name]
    adata = loader()
    pp.prepare(adata, "time", n_pcs, seed=seed)
    genes = list(adata.uns["grn_mnn"]["genes"])
    tfs = tf_sources(adata)
    cands = validate.Candidates(restricted_reference(ref, genes, tfs), genes)
    default = pipeline.gene_network(None, adata, "lagged", sources="tf")
    x, times = pp.get_expression(adata), adata.obs[pp.TIME_COL].to_numpy()
    return x, genes, times, cands.src, tfs, default


def tf_sources(adata) -> list[str]:
    """The candidate regulators ``grn-mnn run`` uses: the bundled TF list among the genes."""
    genes = list(adata.uns["grn_mnn"]["genes"])
    return [genes[i] for i in resolve_sources(genes, "tf", adata.uns["species"])]


ALL_ACTIVATION = "every edge an activation"


#: the default network's name in ``grn-mnn run``'s scores
METHOD = runreport.METHOD_NAME
#: the paired differences tabulated (``validate.score``'s ``versus`` block)
VERSUS_SHOWN = [("link", "auprc_ratio"), ("sign", "accuracy"), ("sign", "balanced_accuracy")]


def versus_records(scores: dict, dataset: str, seed: int) -> list[dict]:
    """Paired differences of the run's network minus each baseline scored with it (Pearson,
    the linear ODE), on the same bootstrap resamples of the TRRUST edges, with their CIs."""
    out = []
    for method, block in scores["methods"].items():
        for other, diffs in (block.get("versus") or {}).items():
            rec: dict = {"dataset": dataset, "seed": seed, "method": f"{method} − {other}"}
            for task, metric in VERSUS_SHOWN:
                d = diffs[metric]
                rec[f"{task}.{metric}"] = d["difference"]
                rec[f"{task}.{metric}_ci"] = d["ci"]
                rec[f"{task}.{metric}_share"] = d["share_a_better"]
            out.append(rec | {"versus": True})
    return out


def all_activation_record(scores: dict, dataset: str, seed: int) -> list[dict]:
    """The sign floor: every signed reference edge called an activation (its accuracy is the
    share of activations; balanced accuracy 0.5), with its bootstrap CI."""
    prior = scores["reference"].get("all_activation")
    if not prior:
        return []
    return records_from(
        {"methods": {ALL_ACTIVATION: {"sign": prior, "link": {}}}}, dataset, seed, 0.0
    )


def reading_records(res, adata, name: str, seed: int) -> list[dict]:
    """The Cell-MNN readings of the run's fitted model, scored as the run scores its network."""
    out = []
    for reading, label in READINGS_SCORED.items():
        t0 = time.perf_counter()
        edges = pipeline.gene_network(res.model, adata, reading, sources="tf")
        secs = time.perf_counter() - t0
        scores = validate.score(
            edges,
            DATASETS[name][1],
            expression=None,
            genes=list(adata.uns["grn_mnn"]["genes"]),
            method_name=label,
            baselines=(),
            seed=seed,
            sources=tf_sources(adata),
            quiet=True,
        )
        out += records_from(scores, name, seed, secs)
    return out


def sign_source_records(res, adata, name: str, seed: int) -> list[dict]:
    """Sign accuracy of the default network split by where each edge's sign came from
    (``sign_from``: the within-time correlation where |z| > 1.96, else the fallback), with
    the Wilson interval of seed 0 (the signs do not depend on the training seed)."""
    genes = list(adata.uns["grn_mnn"]["genes"])
    ref = restricted_reference(DATASETS[name][1], genes, tf_sources(adata)).signed()
    key = pd.DataFrame(
        {"s": ref["tf"].str.upper(), "t": ref["target"].str.upper(), "truth": ref["sign"]}
    )
    e = res.edges.assign(s=res.edges["source"].str.upper(), t=res.edges["target"].str.upper())
    both = key.merge(e, on=["s", "t"], how="inner")
    out = []
    for source in pd.unique(both["sign_from"]):
        part = both[both["sign_from"] == source]
        hits, n = int((np.sign(part["weight"]) == part["truth"]).sum()), len(part)
        out.append(
            {
                "dataset": name,
                "seed": seed,
                "method": f"grn_mnn, edges signed by the {source} correlation",
                "n_sign_edges": n,
                "sign.accuracy": hits / n if n else float("nan"),
                "sign.accuracy_ci": _wilson(hits, n),
                "activation_share": float((part["truth"] > 0).mean()) if n else float("nan"),
            }
        )
    return out


def _wilson(hits: int, n: int, z: float = 1.959964) -> list[float] | None:
    """95 % Wilson score interval of a proportion (None without trials)."""
    if n == 0:
        return None
    p, d = hits / n, 1 + z**2 / n
    mid, half = (p + z**2 / (2 * n)) / d, z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / d
    return [float(mid - half), float(mid + half)]


def peer_records(
    name: str, peer: str, seed: int, n_pcs: int, options: dict, label: str
) -> list[dict]:
    """Score one peer network (signed) on one data set, as ``grn-mnn run`` scores Cell-MNN,
    and the paired difference of the default network minus the peer."""
    x, genes, _, _, tfs, default = scored_data(name, n_pcs)
    scores = validate.score(
        default,
        DATASETS[name][1],
        expression=x,
        genes=genes,
        method_name=METHOD,
        baselines=(peer,),
        peer_options={peer: options},
        seed=seed,
        sources=tfs,
        quiet=True,
    )
    secs = scores["settings"]["peers"]["seconds"][peer]
    versus = {METHOD: {"versus": {label: scores["methods"][METHOD]["versus"][peer]}}}
    out = records_from({"methods": {label: scores["methods"][peer]}}, name, seed, secs)
    return out + versus_records({"methods": versus}, name, seed)


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
    first = df.sort_values("seed").groupby(["dataset", "method"], sort=False).first()
    for c in ("sign.accuracy", "sign.balanced_accuracy", "link.auprc_ratio"):
        if f"{c}_ci" in first:
            out[c] = [
                f"{v} {_ci(ci)}".strip()
                for v, ci in zip(out[c], first[f"{c}_ci"].reindex(out.index), strict=True)
            ]
    if "activation_share" in df:
        out["activation_share"] = [f"{v:.3f}" for v in g["activation_share"].mean()]
    out["n_seeds"] = g.size()
    out["n_sign_edges"] = [f"{v:.0f}" for v in g["n_sign_edges"].mean()]  # mean over seeds
    return out.reset_index()


def _ci(ci) -> str:
    if not isinstance(ci, list | tuple) or len(ci) != 2 or ci[0] is None:
        return ""
    return f"[{ci[0]:.3f}, {ci[1]:.3f}]"


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
    p.add_argument("--peers", nargs="*", default=list(peers.PEERS), choices=list(peers.PEERS))
    p.add_argument("--peer-seeds", nargs="+", type=int, default=None, help="default: --seeds")
    p.add_argument("--genie3-seeds", nargs="+", type=int, default=None, help="default: peer seeds")
    p.add_argument("--genie3-trees", type=int, default=peers.GENIE3_KWARGS["n_estimators"])
    p.add_argument(
        "--keep-peers",
        action="store_true",
        help="keep the peer rows of --out/score_trrust.json and recompute the others",
    )
    p.add_argument(
        "--peers-only",
        action="store_true",
        help="recompute only the peer rows; keep the other records of --out/score_trrust.json",
    )
    args = p.parse_args(argv)
    if args.peers and not peers.available():
        print(peers.skip_message(args.peers))
        args.peers = []
    peer_seeds = args.peer_seeds if args.peer_seeds is not None else args.seeds
    g3_seeds = args.genie3_seeds if args.genie3_seeds is not None else peer_seeds
    g3_default = args.genie3_trees == peers.GENIE3_KWARGS["n_estimators"]
    g3_label = "genie3" if g3_default else f"genie3 ({args.genie3_trees} trees)"
    plan = {
        "grnboost2": ("grnboost2", peer_seeds, {}),
        "genie3": (g3_label, g3_seeds, {"n_estimators": args.genie3_trees}),
    }
    overrides = {"max_epochs": args.max_epochs} if args.max_epochs else {}
    out = Path(args.out)
    meta = {
        "n_pcs": args.n_pcs,
        "seeds": args.seeds,
        "overrides": overrides,
        "peers": {p: {"label": plan[p][0], "seeds": plan[p][1], **plan[p][2]} for p in args.peers},
        "peer_signing": "importance x sign(Pearson correlation of source and target)",
    }
    records: list[dict] = []
    if args.keep_peers:  # the peers do not depend on grn_mnn: keep them, recompute the rest
        old = json.loads((out / "score_trrust.json").read_text())
        records = kept_peer_records(old["records"])
        meta["peers"] = old.get("peers", meta["peers"])
        meta["keep_peers_run"] = (
            "peer records kept from the previous run (without their paired differences)"
        )
        args.peers = []
    if args.peers_only:  # keep Cell-MNN and baseline records, recompute the peers
        old = json.loads((out / "score_trrust.json").read_text())
        records = [r for r in old["records"] if not _is_peer(r["method"])]
        meta.update({k: old[k] for k in ("n_pcs", "seeds", "overrides") if k in old})
        meta["peers_only_run"] = "Cell-MNN and baseline records kept from the previous run"
    for name in args.datasets:
        loader, ref = DATASETS[name]
        for seed in [] if args.peers_only else args.seeds:
            with tempfile.TemporaryDirectory() as tmp:
                t0 = time.perf_counter()
                adata = loader()
                res = pipeline.run(
                    adata,
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
            records += all_activation_record(res.scores, name, seed)
            records += versus_records(res.scores, name, seed)
            records += reading_records(res, adata, name, seed)
            records += sign_source_records(res, adata, name, seed)
            write_results(out, records, meta)
            if not args.quiet:
                print(f"{name} seed {seed}: {secs:.0f} s", flush=True)
        for peer in args.peers:
            label, seeds, options = plan[peer]
            for seed in seeds:
                recs = peer_records(name, peer, seed, args.n_pcs, options, label)
                records += recs
                print(f"{name} {label} seed {seed}: {recs[0]['seconds']:.0f} s", flush=True)
                write_results(out, records, meta)  # partial results survive an interruption
    md = write_results(out, records, meta)
    print("\n".join(md))


def _is_peer(method: str) -> bool:
    """A peer's row, or a paired difference against a peer (``grn_mnn − genie3``)."""
    return method.split(" − ")[-1].split(" ")[0] in peers.PEERS


def kept_peer_records(records: list[dict]) -> list[dict]:
    """The peer rows of an earlier run that ``--keep-peers`` keeps. Their paired differences
    (``grn_mnn − genie3``) read grn_mnn's network too, so they are dropped: only a run with the
    peers (or ``--peers-only``) recomputes them."""
    return [r for r in records if _is_peer(r["method"]) and not r.get("versus")]


def write_results(out: Path, records: list[dict], meta: dict) -> list[str]:
    """Write score_trrust.json and the markdown table (peers after the other methods)."""
    write_json(out / "score_trrust.json", {"records": records, **meta})
    versus = [r for r in records if r.get("versus")]
    records = [r for r in records if not r.get("versus")]
    order = sorted(
        range(len(records)), key=lambda i: (records[i]["dataset"], _is_peer(records[i]["method"]))
    )
    tab = table([records[i] for i in order])
    md = [
        "| data set | method | sign acc | balanced acc | AUROC | AUPRC ratio | EPR | seeds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    split = tab["method"].str.contains("edges signed by")
    for r in tab[~split].to_dict("records"):
        cells = " | ".join(str(r[f"{t}.{m}"]) for t, m in METRICS)
        md.append(f"| {r['dataset']} | {r['method']} | {cells} | {r['n_seeds']} |")
    if split.any():  # the default's signs split by their source (sign accuracy only)
        md += [
            "",
            "| data set | default network's edges | sign acc | signed edges "
            "| share of activations | seeds |",
            "|---|---|---|---|---|---|",
        ]
        for r in tab[split].to_dict("records"):
            md.append(
                f"| {r['dataset']} | {r['method']} | {r['sign.accuracy']} "
                f"| {r['n_sign_edges']} | {r.get('activation_share', '–')} | {r['n_seeds']} |"
            )
    md += versus_table(versus)
    write_text(out / "score_trrust.md", "\n".join(md) + "\n")
    return md


def versus_table(records: list[dict]) -> list[str]:
    """Markdown of the paired differences: mean over seeds, CI and share of resamples in
    which the network is better, both of the first seed."""
    if not records:
        return []
    md = [
        "",
        "Paired differences, the run's network minus the baseline, on the same bootstrap "
        "resamples of the TRRUST edges (CI and share of resamples where the network is better: "
        "first seed)",
        "",
        "| data set | difference | sign acc | balanced acc | AUPRC ratio | seeds |",
        "|---|---|---|---|---|---|",
    ]
    df = pd.DataFrame(records).sort_values("seed")
    for (dataset, method), g in df.groupby(["dataset", "method"], sort=False):
        cells = []
        for task, metric in [VERSUS_SHOWN[1], VERSUS_SHOWN[2], VERSUS_SHOWN[0]]:
            col = f"{task}.{metric}"
            first = g.iloc[0]
            cells.append(
                f"{g[col].mean():+.3f} {_ci(first[f'{col}_ci'])} "
                f"(better in {first[f'{col}_share']:.0%})".replace("  ", " ")
            )
        md.append(f"| {dataset} | {method} | {' | '.join(cells)} | {len(g)} |")
    return md


if __name__ == "__main__":
    main()
