"""What should the time order ask of an edge? The decision of session 12 (issue 12).

The default network weighs each candidate edge's clipped linear correlation by a time-order
factor (``readout.time_factor``). Sessions 4-11 used ``P(target after source) =
sigmoid((tau_target - tau_source) / (0.3 span))``. Its logit is the sum of a term of the
source (an early regulator) and a term of the target (a late target). Session 11 found that the
time order costs ranking against every real reference, whose targets change *before* the other
genes that co-vary with their regulators (``docs/accuracy.md``). This script scores, on the
simulated cases, the two halves of that factor apart (all with the default's magnitude and
signs; only the ranking moves):

* ``pair``: P, the default of sessions 4-11;
* ``regulator``: sigmoid((mean tau of the candidate regulators - tau_source) / (0.3 span)),
  the source's half alone (``time_prior="regulator"``, the default since session 12);
* ``target``: sigmoid((tau_target - mean tau of the candidate regulators) / (0.3 span)), the
  target's half alone;
* ``none``: no time order (``temperature=inf``);
* ``early only``: max(E, 1/2), E's reward of early regulators without its penalty of late ones
  (a candidate found on the real mESC references, where the last-changing TFs cost E ranking;
  tested under the same rule against E, and rejected on the first regimes).

Decision rule, written before the ``regulator`` candidate was scored on any simulated data
(session 12): adopt it iff its mean relative AUPRC ratio (:func:`relative_to`, against
``pair``) is >= 1.00 over the four regimes of ``validation/winsorize.py`` on seeds 0-2, >= 1.00
over the 17 worlds of ``validation/realism.py`` on seeds 0-2, and >= 0.98 over the four regimes
on held-out seeds 3-5. ``--real`` scores the same factors against the real references, as a
diagnosis after the choice.

    python validation/time_prior.py --seeds 0,1,2
    python validation/time_prior.py --seeds 3,4,5
    python validation/time_prior.py --worlds realism --seeds 0,1,2
    python validation/time_prior.py --real --networks ../shared/data/beeline/networks
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from grn_mnn import grnbench, readout
from grn_mnn._io import write_json

sys.path.insert(0, str(Path(__file__).parent))
from grn_variants import _table, default_inputs, magnitude_variants  # noqa: E402
from sign_ceiling import over_regimes  # noqa: E402

PRIORS = ("pair", "regulator", "target", "none", "early only")
BASE = "pair"


def factors(tau: np.ndarray, src: np.ndarray, span: float) -> dict[str, np.ndarray]:
    """(genes x sources) time-order factor of every prior of :data:`PRIORS`."""
    # sigmoid((tau_target - mean tau of the sources) / (0.3 span)): precedence over a gene that
    # changes at the sources' mean change time
    late = readout.precedence(np.append(tau, tau[src].mean()), span)[:-1, -1]
    regulator = readout.time_factor(tau, src, span, time_prior="regulator")
    return {
        "pair": readout.time_factor(tau, src, span, time_prior="pair"),
        "regulator": regulator,
        "target": np.repeat(late[:, None], len(src), axis=1),
        "none": np.full((len(tau), len(src)), 0.5),
        "early only": np.maximum(regulator, 0.5),
    }


def prior_matrices(xr: np.ndarray, t: np.ndarray, src: np.ndarray) -> dict[str, np.ndarray]:
    """The default's signed |r| times each prior's factor (:func:`factors`)."""
    signed = magnitude_variants(xr, t, src)["no precedence"]  # the default's |r| and signs
    tau = readout.change_times(xr, t)
    return {k: signed * f for k, f in factors(tau, src, float(t.max() - t.min())).items()}


def case_scores(case: Any, seed: int) -> list[dict[str, Any]]:
    """AUPRC ratio and sign accuracy of every prior on one simulated case."""
    d = default_inputs(case.adata, case.sources, seed)
    out = []
    for prior, mat in prior_matrices(d.xr, d.t, d.src).items():
        sc = grnbench.score_edges(_table(mat, d.ad, d.src), case.truth, case.genes, case.sources)
        out.append({"prior": prior} | {m: float(sc[m]) for m in ("auprc_ratio", "sign_accuracy")})
    return out


def relative_to(units: list[dict], prior: str, base: str = BASE) -> dict[str, float]:
    """Per regime, the mean over seeds of the case-mean AUPRC ratio of ``prior`` over that of
    ``base``; and their mean over the regimes (the decision score)."""

    def case_mean(regime: str, seed: int, p: str) -> float:
        key = (regime, seed, p)
        return float(
            np.mean(
                [u["auprc_ratio"] for u in units if (u["regime"], u["seed"], u["prior"]) == key]
            )
        )

    out: dict[str, float] = {}
    for regime in dict.fromkeys(u["regime"] for u in units):
        seeds = sorted({u["seed"] for u in units if u["regime"] == regime})
        ratios = [case_mean(regime, s, prior) / case_mean(regime, s, base) for s in seeds]
        out[regime] = float(np.mean(ratios))
    out["mean relative"] = float(np.mean(list(out.values())))
    return out


def real_scores(networks: str | None, n_boot: int = 200) -> list[dict[str, Any]]:
    """AUPRC ratio [95 % CI] of every prior against TRRUST (and BEELINE's networks with
    ``networks``) on the bundled real time courses, TF-restricted as ``score_references.py``."""
    from grn_variants import prepared_inputs
    from score_references import BEELINE
    from score_trrust import DATASETS, tf_sources

    from grn_mnn import pipeline, pp, validate

    out = []
    for name in BEELINE:
        adata = DATASETS[name][0]()
        pp.prepare(adata, "time", pipeline.RUN_N_PCS, seed=0)
        sources = list(tf_sources(adata))
        d = prepared_inputs(adata, sources)
        mats = prior_matrices(d.xr, d.t, d.src)
        common = {"expression": pp.get_expression(adata), "genes": d.genes, "times": d.t}
        common |= {"sources": sources, "n_boot": n_boot, "seed": 0, "quiet": True}
        refs = [
            DATASETS[name][1],
            *(Path(networks) / f for f in (BEELINE[name] if networks else ())),
        ]
        for ref in refs:
            for prior, mat in mats.items():
                table = readout.matrix_table(mat, d.genes, d.src)[["source", "target", "weight"]]
                link = validate.score(table, ref, method_name=prior, baselines=[], **common)
                link = link["methods"][prior]["link"]
                out.append(
                    {
                        "dataset": name,
                        "reference": ref.name if isinstance(ref, Path) else ref,
                        "prior": prior,
                        "auprc_ratio": link.get("auprc_ratio"),
                        "auprc_ratio_ci": link.get("ci", {}).get("auprc_ratio"),
                    }
                )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--worlds", choices=("regimes", "realism"), default="regimes")
    p.add_argument("--real", action="store_true", help="score the real references instead")
    p.add_argument("--networks", default=None, help="BEELINE's networks folder (with --real)")
    p.add_argument("--out", default=None, help="default validation/results/time_prior_*.json")
    ns = p.parse_args(argv)
    results = Path(__file__).parent / "results"
    if ns.real:
        records = real_scores(ns.networks)
        write_json(Path(ns.out or results / "time_prior_real.json"), {"records": records})
        for r in records:
            print(r["dataset"], r["reference"], r["prior"], f"{r['auprc_ratio']:.2f}")
        return 0
    seeds = [int(s) for s in ns.seeds.split(",")]
    if ns.worlds == "realism":
        from realism import REGIMES
    else:
        from winsorize import REGIMES
    units = over_regimes(REGIMES, seeds, case_scores)
    summary = {prior: relative_to(units, prior) for prior in PRIORS}
    summary["early only, relative to regulator"] = relative_to(units, "early only", "regulator")
    tag = f"{ns.worlds}_{'_'.join(map(str, seeds))}"
    settings = {"seeds": seeds, "worlds": ns.worlds, "regimes": list(REGIMES)}
    out = Path(ns.out or results / f"time_prior_{tag}.json")
    write_json(out, {"settings": settings, "relative_to_pair": summary, "units": units})
    print(json.dumps({k: v["mean relative"] for k, v in summary.items()}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
