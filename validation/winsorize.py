"""How far to clip each gene before the default's all-cell correlation (issue 12, session 9).

The bundled real time courses are far more skewed within a time point than the simulated
benchmark: the median within-time skewness of a gene's linear expression is 2.0 (hepatocyte)
and 1.0 (mESC) against 0.1-0.5 in the benchmark cases. A few cells in a gene's upper tail then
decide its linear-scale correlations. This script re-simulates the 14 benchmark cases with
heavier-tailed counts (negative-binomial theta 1 and 0.5 instead of 10; theta 1 gives a skewness
of about 2.4) and with fewer, noisier cells, and scores the default network with each gene
clipped at a quantile q of its cells before the correlation (``readout.winsorized``; q = 1 is
the session-8 default). The signs follow the default's rule with the clipped correlation as the
fallback.

Decision rule (session 9): on seeds 0-2, the q with the highest mean over :data:`REGIMES` of
its AUPRC ratio relative to q = 1 (so the benchmark's larger ratios do not outweigh the
others); ``--seeds 3,4,5`` checks it. Nothing here is used by the package; numbers are in
``docs/accuracy.md`` (session 9).

    python validation/winsorize.py --seeds 0,1,2
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
from grn_variants import _table, default_inputs  # noqa: E402
from sign_ceiling import mean_sd_over_seeds, over_regimes, parse_regimes  # noqa: E402

#: name -> (cells per time point multiplier, simulator options)
REGIMES = {
    "benchmark": (1.0, {}),
    "NB theta 1": (1.0, {"nb_theta": 1.0}),
    "NB theta 0.5": (1.0, {"nb_theta": 0.5}),
    "half the cells with NB theta 2 and dropout 0.3": (0.5, {"nb_theta": 2.0, "dropout": 0.3}),
}
QUANTILES = (1.0, 0.99, 0.98, 0.97, 0.95, 0.9)
METRICS = ("auprc_ratio", "sign_accuracy")


def case_scores(case: Any, seed: int) -> list[dict[str, Any]]:
    """AUPRC ratio and sign accuracy of the default network on a benchmark case
    (:class:`grn_mnn.simcases.Case`) at every q of :data:`QUANTILES`."""
    d = default_inputs(case.adata, case.sources, seed)
    within = readout.within_time_correlation(d.xr, d.t, d.src)
    out = []
    for q in QUANTILES:
        mat = readout.lagged_matrix(
            d.xr,
            d.t,
            d.src,
            signs=readout.DEFAULT_SIGNS,
            within=within,
            winsorize=q,
            time_prior="pair",  # the session-9 default, so that the stored decision reproduces
        )
        sc = grnbench.score_edges(_table(mat, d.ad, d.src), case.truth, case.genes, case.sources)
        out.append({"quantile": q} | {m: float(sc[m]) for m in METRICS})
    return out


def relative_auprc(units: list[dict], seeds: list[int], regime: str, q: float) -> float:
    """Mean over seeds of the case-mean AUPRC ratio at ``q`` over that at q = 1."""
    ratios = []
    for s in seeds:
        at = [
            np.mean(
                [u["auprc_ratio"] for u in units if (u["regime"], u["seed"], u["quantile"]) == key]
            )
            for key in ((regime, s, q), (regime, s, 1.0))
        ]
        ratios.append(at[0] / at[1])
    return float(np.mean(ratios))


def summarise(units: list[dict], seeds: list[int], regimes: list[str]) -> dict[str, Any]:
    """Per regime and q: mean +- s.d. over seeds of each metric; per q: the decision score."""
    out: dict[str, Any] = {}
    for q in QUANTILES:
        for regime in regimes:
            for metric in METRICS:
                out[f"{regime}: q={q}: {metric}"] = mean_sd_over_seeds(
                    units, metric, seeds, regime=regime, quantile=q
                )
        rel = [relative_auprc(units, seeds, r, q) for r in regimes]
        out[f"q={q}: mean relative AUPRC ratio"] = float(np.mean(rel))
    best = max(QUANTILES, key=lambda q: out[f"q={q}: mean relative AUPRC ratio"])
    out["chosen quantile"] = best
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", default="0,1,2")
    p.add_argument("--regimes", default=",".join(REGIMES), help="comma-separated, of REGIMES")
    p.add_argument("--out", default=None, help="default validation/results/winsorize_<seeds>.json")
    ns = p.parse_args(argv)
    seeds, chosen = parse_regimes(p, ns, REGIMES)
    units = over_regimes(chosen, seeds, case_scores)
    summary = summarise(units, seeds, list(chosen))
    tag = "_".join(str(s) for s in seeds)
    out = Path(ns.out or f"validation/results/winsorize_{tag}.json")
    settings = {"seeds": seeds, "regimes": list(chosen), "quantiles": list(QUANTILES)}
    write_json(out, {"settings": settings, "summary": summary, "units": units})
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
