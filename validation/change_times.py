"""How sure are the change times behind the precedence factor? (issue 12, session 10)

The default network weighs each pair by P(target changes after source), a sigmoid of the
difference of the two genes' change times τ (``readout.change_times``). Two measurements:

``reliability`` (no reference used): the bootstrap standard error of τ (cells resampled within
time points) on the bundled real time courses and on the simulated cases, and, among the 5 %
most correlated candidate pairs, how large |Δτ| is against its standard error and, for the pairs
whose target is not a candidate regulator itself (TF sources), how often the regulator changes
first. If the real
data's τ were much noisier than the simulated ones, noise would explain why precedence costs
ranking against TRRUST there (``docs/accuracy.md``, session 9).

``regimes``: a precedence that carries τ's uncertainty, P averaged over bootstrap resamples of
the cells instead of the sigmoid of the point estimates, scored like ``validation/winsorize.py``
(AUPRC ratio relative to the default, in the benchmark and three heavier-tailed regimes).

``order`` (session 11; a diagnosis, nothing is chosen on it): among the 5 % most correlated
candidate pairs of the bundled real time courses, how well the time order separates a
reference's edges from the other pairs (AUROC of τ_target − τ_source: 0.5 is no order, below
0.5 the reference's targets change *before* their regulators), for TRRUST and, with
``--networks``, BEELINE's networks (``score_references.BEELINE``).

    python validation/change_times.py reliability
    python validation/change_times.py regimes --seeds 0,1,2
    python validation/change_times.py order --networks ../shared/data/beeline/networks
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from grn_mnn import grnbench, readout, simcases
from grn_mnn._io import write_json

sys.path.insert(0, str(Path(__file__).parent))
from grn_variants import _table, default_inputs, within_time_resamples  # noqa: E402
from sign_ceiling import over_regimes  # noqa: E402
from winsorize import REGIMES  # noqa: E402

N_BOOT = 30
TEMPERATURES = (0.3, 0.1)
#: regulators with at least this many reference edges among the top pairs get a row of their own
MIN_SOURCE_EDGES = 5


def bootstrap_change_times(x: np.ndarray, t: np.ndarray, n_boot: int = N_BOOT, seed: int = 0):
    """(n_boot, genes) change times of bootstrap resamples of the cells within time points."""
    return np.array(
        [readout.change_times(x[i], t[i]) for i in within_time_resamples(t, n_boot, seed)]
    )


def bootstrap_precedence(
    x: np.ndarray, t: np.ndarray, temperature: float, n_boot: int = N_BOOT, seed: int = 0
) -> np.ndarray:
    """(genes x genes) precedence averaged over bootstrap resamples: P carries τ's noise."""
    span = float(t.max() - t.min())
    total = 0.0
    for tau in bootstrap_change_times(x, t, n_boot, seed):
        total = total + readout.precedence(tau, span, temperature)
    return total / n_boot


def reliability(x: np.ndarray, t: np.ndarray, src: np.ndarray, top: float = 0.05) -> dict:
    """τ's bootstrap s.e. and, over the ``top`` most correlated candidate pairs, |Δτ| / s.e.
    (all as fractions of the time span)."""
    span = float(t.max() - t.min())
    boot = bootstrap_change_times(x, t)
    se = boot.std(axis=0) / span
    r = np.abs(readout.linear_correlation(x, src, readout.DEFAULT_WINSORIZE))
    r[src, np.arange(len(src))] = 0.0
    ti, sj = np.nonzero(r >= np.quantile(r, 1 - top))
    s = src[sj]
    tau = readout.change_times(x, t)
    d = np.abs(tau[ti] - tau[s]) / span
    d_se = np.sqrt(se[ti] ** 2 + se[s] ** 2)
    after = (boot[:, ti] > boot[:, s]).mean(axis=0)
    # pairs whose target is not itself a candidate regulator: is the regulator first?
    one_way = ~np.isin(ti, src)
    return {
        "time_points": int(np.unique(t).size),
        "median_se_tau": float(np.median(se)),
        "top_pairs": int(len(ti)),
        "median_abs_dtau": float(np.median(d)),
        "median_dtau_over_se": float(np.median(d / np.maximum(d_se, 1e-12))),
        "share_order_uncertain": float(np.mean((after > 0.2) & (after < 0.8))),
        "one_way_pairs": int(one_way.sum()),
        "share_source_first": float(np.mean(tau[s][one_way] < tau[ti][one_way]))
        if one_way.any()
        else float("nan"),
    }


def real_inputs(name: str):
    """(expression, times, TF source indices) of a bundled time course, as run reads it."""
    from score_trrust import scored_data

    x, genes, times, _, tfs, _ = scored_data(name)
    return x, np.asarray(times, dtype=float), np.array([genes.index(g) for g in tfs])


def reliability_table(seed: int = 0) -> dict[str, dict]:
    from score_trrust import DATASETS

    out = {name: reliability(*real_inputs(name)) for name in DATASETS}
    for name in simcases.case_names():
        case = simcases.make_case(name, seed)
        d = default_inputs(case.adata, case.sources, seed)
        out[f"{name} (seed {seed})"] = reliability(d.xr, d.t, d.src)
    return out


def regime_unit(case: Any, seed: int) -> list[dict[str, Any]]:
    """AUPRC ratio of the session-10 default (``time_prior="pair"``) and of its
    bootstrap-precedence variants on one case."""
    d = default_inputs(case.adata, case.sources, seed)
    within = readout.within_time_correlation(d.xr, d.t, d.src)
    base = readout.lagged_matrix(
        d.xr, d.t, d.src, signs=readout.DEFAULT_SIGNS, within=within, time_prior="pair"
    )
    span = float(d.t.max() - d.t.min())
    p0 = readout.precedence(readout.change_times(d.xr, d.t), span)[:, d.src]
    variants = {"default": base}
    for temp in TEMPERATURES:
        p = bootstrap_precedence(d.xr, d.t, temp, seed=seed)[:, d.src]
        variants[f"bootstrap precedence, temperature {temp}"] = base / p0 * p
    out = []
    for name, mat in variants.items():
        sc = grnbench.score_edges(_table(mat, d.ad, d.src), case.truth, case.genes, case.sources)
        out.append({"variant": name, "auprc_ratio": float(sc["auprc_ratio"])})
    return out


def regime_summary(units: list[dict], seeds: list[int]) -> dict[str, dict[str, float]]:
    """Per variant and regime: mean over seeds of the case-mean AUPRC ratio, and of its ratio
    to the default's; ``mean relative`` over the regimes (winsorize.py's decision score)."""
    keys = {(u["variant"], u["regime"], u["seed"]) for u in units}
    mean = {
        k: float(
            np.mean(
                [u["auprc_ratio"] for u in units if (u["variant"], u["regime"], u["seed"]) == k]
            )
        )
        for k in keys
    }
    out: dict[str, dict[str, float]] = {}
    for v in dict.fromkeys(u["variant"] for u in units):
        row: dict[str, float] = {}
        for regime in dict.fromkeys(u["regime"] for u in units):
            row[regime] = float(np.mean([mean[v, regime, s] for s in seeds]))
            rel = [mean[v, regime, s] / mean["default", regime, s] for s in seeds]
            row[f"{regime} (relative)"] = float(np.mean(rel))
        row["mean relative"] = float(
            np.mean([x for k, x in row.items() if k.endswith("(relative)")])
        )
        out[v] = row
    return out


def reference_order(
    x: np.ndarray,
    t: np.ndarray,
    genes: list[str],
    sources: list[str],
    reference: Any,
    top: float = 0.05,
    min_edges: int = MIN_SOURCE_EDGES,
) -> dict[str, Any]:
    """How the time order of the ``top`` most correlated candidate pairs (clipped linear |r|;
    the candidates of ``validate.score``: reference TFs among ``sources`` x all genes) separates
    the ``reference`` edges from the other pairs; ``by_source`` (session 12): for each regulator
    with ``min_edges`` reference edges among the top pairs, the share of its
    reference targets that change after it against that of its other top partners, and how
    late it changes among all genes (``tau_quantile``)."""
    from score_trrust import restricted_reference
    from sklearn.metrics import roc_auc_score

    from grn_mnn import validate

    c = validate.Candidates(restricted_reference(reference, genes, sources), genes)
    r = np.abs(readout.linear_correlation(x, c.src, readout.DEFAULT_WINSORIZE))
    r[~c.cand] = 0.0
    chosen = c.cand & (r >= np.quantile(r[c.cand], 1 - top))
    tau = readout.change_times(x, t)
    after = (tau[:, None] - tau[c.src][None, :]) / float(t.max() - t.min())
    y = c.y[chosen]
    by_source = {}
    for j, s in enumerate(c.src):
        ref, other = chosen[:, j] & c.y[:, j], chosen[:, j] & ~c.y[:, j]
        if ref.sum() >= min_edges:
            by_source[genes[s]] = {
                "reference_edges": int(ref.sum()),
                "reference_target_after": float(np.mean(after[ref, j] > 0)),
                "other_partner_after": float(np.mean(after[other, j] > 0)) if other.any() else None,
                "tau_quantile": float(np.mean(tau < tau[s])),
            }
    return {
        "top_pairs": int(chosen.sum()),
        "reference_edges_in_top": int(y.sum()),
        "precedence_auroc": float(roc_auc_score(y, after[chosen]))
        if 0 < y.sum() < y.size
        else None,
        "share_reference_target_after": float(np.mean(after[c.y & c.cand] > 0)),
        "share_all_target_after": float(np.mean(after[c.cand] > 0)),
        "by_source": by_source,
    }


def order_table(networks: str | None) -> dict[str, dict]:
    from score_references import BEELINE
    from score_trrust import DATASETS, scored_data

    out = {}
    for name, (_, trrust) in DATASETS.items():
        x, genes, times, _, tfs, _ = scored_data(name)
        refs = [trrust] + ([Path(networks) / f for f in BEELINE[name]] if networks else [])
        for ref in refs:
            label = ref.name if isinstance(ref, Path) else ref
            t = np.asarray(times, dtype=float)
            out[f"{name} vs {label}"] = reference_order(x, t, genes, tfs, ref)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["reliability", "regimes", "order"])
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--networks", default=None, help="order: BEELINE's networks folder")
    ap.add_argument("--out", default=None)
    ns = ap.parse_args(argv)
    seeds = [int(s) for s in ns.seeds.split(",")]
    result: dict[str, Any]
    if ns.what == "order":
        result = {"table": order_table(ns.networks)}
        default = "validation/results/reference_order.json"
    elif ns.what == "reliability":
        result = {"seed": seeds[0], "table": reliability_table(seeds[0])}
        default = "validation/results/change_time_reliability.json"
    else:
        units = over_regimes(REGIMES, seeds, regime_unit)
        result = {"seeds": seeds, "summary": regime_summary(units, seeds), "units": units}
        default = f"validation/results/bootstrap_precedence_{'_'.join(map(str, seeds))}.json"
    write_json(Path(ns.out or default), result)
    print(json.dumps(result.get("table") or result["summary"], indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
