"""Score the default network of the bundled time courses against every real reference at hand.

``score_trrust.py`` scores TRRUST in full (3 seeds, signs, peers, every reading). This script
asks one question of every reference: does the default rank its edges better than signed
Pearson, and what does its time-order factor do there? TRRUST is curated from the literature
across tissues. BEELINE (Pratapa et al. 2020) scores methods against other kinds of reference as
well, and ships them: for mouse ESCs a loss/gain-of-function network (ESCAPE: targets that move
when a TF is knocked down or over-expressed in ESCs; context-specific and causal), a
non-specific ChIP-seq network (binding in any cell type) and STRING (functional association);
for human, STRING. They are unsigned, so only the link task is scored (for TRRUST too, to
compare alike). The BEELINE files are GPL-3.0 redistributions and are not in ``data/``: pass
BEELINE's ``networks`` folder with ``--networks`` to add them (TRRUST alone without it).

For each data set and reference the script scores, on the same TF-restricted candidates as
``score_trrust.py`` (sources = the bundled TF list among the data's genes): the default
network ``grn-mnn run`` writes, the random, signed Pearson and linear-ODE baselines and the
peer GRNBoost2 (``--peers``; GENIE3 too with ``--peers grnboost2 genie3``) with 95 % bootstrap
CIs, and the paired differences default minus each of them. As a diagnosis (nothing is chosen
here; the default is chosen on simulated data only) it adds the default without its time-order
factor (``--temperature inf``) and the within-time magnitudes of session 11
(``grn_variants.magnitude_variants``). The default network needs no training, so no Cell-MNN
seed enters; the bootstrap and the peers have ``--seed``.

    python validation/score_references.py --networks ../shared/data/beeline/networks

The peers do not depend on grn_mnn's network and take an hour or more (GENIE3 is fitted per
reference); ``--keep-peers`` keeps their rows from the previous ``score_references.json`` and
recomputes the rest (their paired differences with the default are dropped: only a run with the
peers recomputes them).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from grn_mnn import peers, pipeline, pp, readout, validate
from grn_mnn._io import write_json, write_text

sys.path.insert(0, str(Path(__file__).parent))
from grn_variants import magnitude_variants, prepared_inputs  # noqa: E402
from score_trrust import DATASETS, _ci, tf_sources  # noqa: E402

#: data set -> the BEELINE network files (relative to ``--networks``) scored against it
BEELINE = {
    "mesc_hayashi2018": (
        "mouse/mESC-lofgof-network.csv",
        "mouse/Non-Specific-ChIP-seq-network.csv",
        "mouse/STRING-network.csv",
    ),
    "hepatocyte_camp2017": ("human/STRING-network.csv",),
}
BASELINES = ("random", "pearson", "linear_ode")
#: diagnosis rows: name in the table -> key of ``magnitude_variants``
DIAGNOSIS = {
    "default of sessions 4-11 (time prior pair)": "pair",
    "default without precedence": "no precedence",
    "within-time magnitude": "within",
    "within-time blend": "blend",
}
METHOD = "grn_mnn"
LINK = ("auroc", "auprc_ratio", "epr")


def score_reference(
    adata: Any,
    reference: Path | str,
    sources: list[str],
    n_boot: int = 200,
    seed: int = 0,
    peer_runs: dict[str, dict[str, Any]] | None = None,
) -> list[dict]:
    """One record per method (the default, the baselines, the peers of ``peer_runs``, the
    diagnosis rows) and one per paired difference default minus a baseline or peer, scored
    against ``reference`` with candidate regulators ``sources``; ``adata`` is prepared
    (``pp.prepare``). ``peer_runs``: peer -> its options (e.g. ``{"grnboost2": {}}``); the
    peers are fitted on each reference's candidate regulators."""
    d = prepared_inputs(adata, list(sources))
    genes, t, src = d.genes, d.t, d.src
    default = pipeline.gene_network(None, adata, "lagged", sources=list(sources))
    mats = magnitude_variants(d.xr, t, src)
    common = {"expression": pp.get_expression(adata), "genes": genes, "times": t}
    common["sources"] = list(sources)
    common |= {"n_boot": n_boot, "seed": seed, "quiet": True}
    peer_runs = peer_runs or {}
    scores = validate.score(
        default,
        reference,
        method_name=METHOD,
        baselines=[*BASELINES, *peer_runs],
        peer_options={p: o for p, o in peer_runs.items() if o},
        **common,
    )
    tag = {"reference": Path(reference).name if isinstance(reference, Path) else str(reference)}
    out = [tag | _link_record(name, block) for name, block in scores["methods"].items()]
    for row, key in DIAGNOSIS.items():
        table = readout.matrix_table(mats[key], genes, src)[["source", "target", "weight"]]
        s = validate.score(table, reference, method_name=row, baselines=[], **common)
        out.append(tag | _link_record(row, s["methods"][row], diagnosis=True))
    for other, block in scores["methods"][METHOD].get("versus", {}).items():
        if other != "random" and "auprc_ratio" in block:
            diff = block["auprc_ratio"]
            out.append(
                tag
                | {
                    "method": f"{METHOD} − {other}",
                    "auprc_ratio": diff["difference"],
                    "auprc_ratio_ci": diff["ci"],
                }
            )
    n_true = scores["methods"][METHOD]["link"].get("n_true")
    return [r | {"n_reference_edges": n_true} for r in out]


def _link_record(name: str, block: dict, diagnosis: bool = False) -> dict:
    link = block.get("link", {})
    rec = {"method": name, "diagnosis": diagnosis}
    rec |= {m: link.get(m) for m in LINK}
    rec["auprc_ratio_ci"] = link.get("ci", {}).get("auprc_ratio")
    return rec


def kept_peer_records(records: list[dict], datasets: list[str]) -> list[dict]:
    """The peer rows of ``datasets`` that ``--keep-peers`` keeps from an earlier run, without the
    paired differences against the peers (they read the default network too)."""
    return [r for r in records if r["dataset"] in datasets and _is_peer_row(r["method"])]


def _is_peer_row(method: str) -> bool:
    """A peer's own row (``genie3``), not a paired difference (``grn_mnn − genie3``)."""
    return method.split(" ")[0] in peers.PEERS


def _kind(record: dict) -> int:
    """Row order within a reference: the default and baselines, peers, diagnosis, differences."""
    if " − " in record["method"]:
        return 3
    if record.get("diagnosis"):
        return 2
    return 1 if _is_peer_row(record["method"]) else 0


def table(records: list[dict]) -> list[str]:
    """The markdown table of ``records`` (data set, reference, method, link metrics)."""

    def fmt(v: Any, ci: Any = None) -> str:
        if v is None or (isinstance(v, float) and np.isnan(v)):
            return "–"
        return f"{v:.3f} {_ci(ci)}".strip()

    lines = [
        "| data set | reference | method | AUROC | AUPRC ratio [95 % CI] | EPR | reference edges |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in records:
        name = r["method"] + (" (diagnosis)" if r.get("diagnosis") else "")
        lines.append(
            f"| {r['dataset']} | {r['reference']} | {name} | {fmt(r.get('auroc'))} | "
            f"{fmt(r.get('auprc_ratio'), r.get('auprc_ratio_ci'))} | {fmt(r.get('epr'))} | "
            f"{r.get('n_reference_edges', '–')} |"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--networks", default=None, help="BEELINE's networks folder (human/, mouse/)")
    p.add_argument("--datasets", nargs="+", default=list(BEELINE), choices=list(BEELINE))
    p.add_argument("--seed", type=int, default=0, help="bootstrap and peer seed")
    p.add_argument("--n-boot", type=int, default=200)
    p.add_argument("--peers", nargs="*", default=["grnboost2"], choices=list(peers.PEERS))
    p.add_argument("--genie3-trees", type=int, default=100, help="GENIE3 trees (default 100)")
    p.add_argument("--out", default=str(Path(__file__).parent / "results"))
    p.add_argument("--keep-peers", action="store_true", help="keep the previous run's peer rows")
    ns = p.parse_args(argv)
    refs: dict[str, list[Path | str]] = {name: [DATASETS[name][1]] for name in ns.datasets}
    if ns.networks is not None:
        root = Path(ns.networks)
        missing = [f for d in ns.datasets for f in BEELINE[d] if not (root / f).is_file()]
        if missing:
            p.error(f"not under --networks {root}: {', '.join(missing)} (BEELINE-Networks layout)")
        for name in ns.datasets:
            refs[name] += [root / f for f in BEELINE[name]]
    if ns.peers and not peers.available():
        print(peers.skip_message(ns.peers))
        ns.peers = []
    peer_runs = {p: ({"n_estimators": ns.genie3_trees} if p == "genie3" else {}) for p in ns.peers}
    records: list[dict] = []
    meta_peers: dict = peer_runs
    if ns.keep_peers:
        old = json.loads((Path(ns.out) / "score_references.json").read_text())
        records, peer_runs = kept_peer_records(old["records"], ns.datasets), {}
        meta_peers = old.get("peers", {})
    for name in ns.datasets:
        adata = DATASETS[name][0]()
        pp.prepare(adata, "time", pipeline.RUN_N_PCS, seed=0)
        for ref in refs[name]:
            recs = score_reference(adata, ref, tf_sources(adata), ns.n_boot, ns.seed, peer_runs)
            records += [{"dataset": name} | r for r in recs]
            print(f"{name} vs {ref}: done", flush=True)
    if ns.keep_peers:  # the kept peer rows where a full run writes them
        refs_order = [(r["dataset"], r["reference"]) for r in records if r["method"] == METHOD]
        records.sort(key=lambda r: (refs_order.index((r["dataset"], r["reference"])), _kind(r)))
    out = Path(ns.out)
    meta = {
        "seed": ns.seed,
        "n_boot": ns.n_boot,
        "peers": meta_peers,
    }
    write_json(out / "score_references.json", meta | {"records": records})
    md = table(records)
    write_text(out / "score_references.md", "\n".join(md) + "\n")
    print("\n".join(md))
    print(json.dumps({"written": str(out / "score_references.md")}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
