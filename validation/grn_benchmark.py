"""GRN accuracy benchmark with known answers: simulated cases x seeds x methods.

Every case of :mod:`grn_mnn.simcases` is simulated for each seed (the seed changes the
simulation and is passed to the method), every method predicts a ``source, target, weight``
table from the raw counts, and :func:`grn_mnn.grnbench.score_edges` scores it over the case's
candidate edges. A method is a plain function ``method(adata, sources, seed) -> DataFrame``
(``adata``: the simulated AnnData with counts in ``X`` and ``obs['time']``; ``sources``: the
TF list or ``None`` = every gene); a function attribute ``signed = False`` marks weights
without a sign (sign metrics NaN).

    python validation/grn_benchmark.py                               # everything, 3 seeds
    python validation/grn_benchmark.py --methods random,pearson --seeds 0 --quick
    python validation/grn_benchmark.py --methods-from my_variants.py:METHODS --name variants

Records are appended to ``<out>/<name>.json`` after every case x seed (atomically), and a
rerun skips the (case, seed, method) records already there, so an interrupted run resumes.
``<out>/<name>.md`` holds the tables: per case (mean ± std over seeds), the mean over cases
(mean ± std over seeds of the per-seed means over cases) and the seconds per method.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import json
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from anndata import AnnData

from grn_mnn import baselines, grnbench, pp, simcases
from grn_mnn._io import write_json, write_text
from grn_mnn.errors import ConfigError

Method = Callable[[AnnData, list[str] | None, int], pd.DataFrame]
TABLE_METRICS = ("auroc", "auprc_ratio", "epr", "signed_epr", "sign_accuracy")
DEFAULT_METHODS = ("random", "pearson", "linear_ode", "grnboost2", "genie3_t100", "grn_mnn")
QUICK_METHODS = ("random", "pearson", "linear_ode")


# ----------------------------------------------------------------------------- methods
def log_expression(adata: AnnData) -> np.ndarray:
    """log1p of the counts scaled to the median library size (:func:`pp.normalize_counts`)."""
    x = adata.X.toarray() if sp.issparse(adata.X) else np.asarray(adata.X, dtype=float)
    return pp.normalize_counts(np.asarray(x, dtype=float), allow_empty_cells=True)


def _genes(adata: AnnData) -> list[str]:
    return [str(g) for g in adata.var_names]


def random_method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
    """Uniform random signed weights (:func:`grn_mnn.baselines.random`)."""
    x = log_expression(adata)
    return baselines.random(x, _genes(adata), sources=sources, seed=seed)


def pearson_method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
    """Signed Pearson correlation of the log expression across all cells."""
    return baselines.pearson(log_expression(adata), _genes(adata), sources=sources)


def linear_ode_method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
    """Ridge linear ODE of the time-point means of the log expression."""
    t = adata.obs["time"].to_numpy(dtype=float)
    return baselines.linear_ode(log_expression(adata), _genes(adata), t, sources=sources)


_IMPORTANCE_CACHE: dict[tuple, pd.DataFrame] = {}


def _peer(name: str, signed: bool, trees: int | None = None) -> Method:
    def method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
        from grn_mnn import peers

        x, genes = log_expression(adata), _genes(adata)
        # the signed and unsigned variants share one fit: importance x sign(Pearson)
        key = (
            name,
            seed,
            repr(adata.uns.get("case")),
            adata.shape,
            None if sources is None else tuple(sources),
            trees,
        )
        if key not in _IMPORTANCE_CACHE:
            fn = getattr(peers, name)
            opts = {} if trees is None else {"n_estimators": trees}
            _IMPORTANCE_CACHE.clear()  # one case at a time
            _IMPORTANCE_CACHE[key] = fn(x, genes, sources=sources, seed=seed, signed=False, **opts)
        raw = _IMPORTANCE_CACHE[key].copy()
        if signed:
            gi = {g: i for i, g in enumerate(genes)}
            src = np.array(sorted({gi[s] for s in raw["source"]}))
            r = baselines.pearson_matrix(x, src)
            col = {s: j for j, s in enumerate(src)}
            sign = np.sign(
                r[raw["target"].map(gi).to_numpy(), raw["source"].map(gi).map(col).to_numpy()]
            )
            raw["weight"] = raw["weight"].to_numpy() * sign
        return raw

    method.__name__ = f"{name}_method"
    n = "" if trees is None else f", {trees} trees"
    method.__doc__ = f"{name} (arboreto{n}) on the log expression, {'signed' if signed else 'raw'}."
    method.signed = signed  # type: ignore[attr-defined]
    return method


def grn_mnn_method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
    """The network ``grn-mnn run`` writes (default settings, no reference, no plots).

    When run's default reading needs no fitted model (the time-ordered co-expression), the
    network is computed as run computes it, :func:`grn_mnn.pipeline.gene_network` on the data
    prepared with run's settings, without the training that run also does (a test asserts the
    two are equal). Otherwise run itself is called.
    """
    from grn_mnn import pipeline, pp
    from grn_mnn.config import DEFAULT_READING

    if DEFAULT_READING == "lagged":
        ad = adata.copy()
        pp.prepare(ad, "time", min(pipeline.RUN_N_PCS, ad.n_vars - 1), seed=seed)
        src = pipeline.default_sources(ad) if sources is None else sources
        net = pipeline.gene_network(None, ad, DEFAULT_READING, sources=src)
        return net[["source", "target", "weight"]]
    return pipeline.run_edges(adata, seed=seed, sources=sources)


METHODS: dict[str, Method] = {
    "random": random_method,
    "pearson": pearson_method,
    "linear_ode": linear_ode_method,
    "grnboost2": _peer("grnboost2", True),
    "genie3": _peer("genie3", True),
    "grnboost2_unsigned": _peer("grnboost2", False),
    "genie3_unsigned": _peer("genie3", False),
    # GENIE3 with 100 instead of 1,000 trees per target: 10x faster, importances Spearman 0.96
    # with the 1,000-tree ones (validation/results/genie3_trees_agreement.json)
    "genie3_t100": _peer("genie3", True, 100),
    "genie3_t100_unsigned": _peer("genie3", False, 100),
    "grn_mnn": grn_mnn_method,
}
PEER_METHODS = {
    "grnboost2",
    "genie3",
    "grnboost2_unsigned",
    "genie3_unsigned",
    "genie3_t100",
    "genie3_t100_unsigned",
}


def peers_available() -> tuple[bool, str]:
    """Whether :mod:`grn_mnn.peers` is importable and arboreto available (and why not)."""
    try:
        from grn_mnn import peers
    except ImportError as exc:
        return False, f"grn_mnn.peers is missing ({exc})"
    if not peers.available():
        return False, peers.unavailable_reason() or "arboreto is not available"
    return True, ""


def load_methods(spec: str) -> dict[str, Method]:
    """Methods from ``module:NAME`` or ``path/to/file.py:NAME`` (a dict name -> function)."""
    mod_name, _, attr = spec.partition(":")
    if not attr:
        raise ConfigError(f"--methods-from needs module:NAME or file.py:NAME, got {spec!r}")
    try:
        if mod_name.endswith(".py"):
            path = Path(mod_name)
            loc = importlib.util.spec_from_file_location(path.stem, path)
            if loc is None or loc.loader is None or not path.is_file():
                raise ConfigError(f"--methods-from: cannot read {path}")
            module = importlib.util.module_from_spec(loc)
            loc.loader.exec_module(module)
        else:
            module = importlib.import_module(mod_name)
    except ImportError as exc:
        raise ConfigError(f"--methods-from: cannot import {mod_name!r} ({exc})") from None
    found = getattr(module, attr, None)
    if not isinstance(found, dict) or not all(callable(f) for f in found.values()):
        raise ConfigError(f"--methods-from: {spec} is not a dict of name -> function")
    return dict(found)


def registry(methods_from: list[str]) -> dict[str, Method]:
    """The built-in methods plus those of every ``--methods-from`` spec."""
    out = dict(METHODS)
    for spec in methods_from:
        out.update(load_methods(spec))
    return out


# ----------------------------------------------------------------------------- running
def run_unit(
    case_name: str, seed: int, method_names: list[str], methods_from: list[str]
) -> list[dict[str, Any]]:
    """Simulate one case x seed and run + score every method on it (one record each)."""
    reg = registry(methods_from)
    case = simcases.make_case(case_name, seed)
    records = []
    for name in method_names:
        method = reg[name]
        rec: dict[str, Any] = {"case": case_name, "family": case.family, "seed": seed}
        rec["method"] = name
        t0 = time.perf_counter()
        try:
            pred = method(case.adata.copy(), case.sources, seed)
            rec["seconds"] = time.perf_counter() - t0
            signed = bool(getattr(method, "signed", True))
            rec["metrics"] = grnbench.score_edges(
                pred, case.truth, case.genes, case.sources, signed=signed
            )
        except Exception as exc:  # a failing method is recorded (and retried on resume)
            rec["seconds"] = time.perf_counter() - t0
            rec["error"] = f"{type(exc).__name__}: {exc}"
        rec["n_cells"], rec["n_genes"] = case.adata.n_obs, case.adata.n_vars
        records.append(rec)
    return records


def load_records(path: Path) -> list[dict[str, Any]]:
    """Records of an earlier run (empty when the file does not exist)."""
    if not path.is_file():
        return []
    return list(json.loads(path.read_text()).get("records", []))


def _fmt(mean: float, std: float) -> str:
    return "–" if not np.isfinite(mean) else f"{mean:.3f} ± {0 if np.isnan(std) else std:.3f}"


def _frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    rows = []
    for r in records:
        if "error" in r:
            continue
        m = r["metrics"]
        rows.append(
            {
                **{k: r[k] for k in ("case", "family", "seed", "method", "seconds")},
                **{k: np.nan if m.get(k) is None else m[k] for k in TABLE_METRICS},
                "n_true": m.get("n_true"),
                "n_candidates": m.get("n_candidates"),
            }
        )
    return pd.DataFrame(rows)


def tables(records: list[dict[str, Any]], methods: list[str]) -> str:
    """Markdown: per-case table, mean over cases and seconds per method."""
    df = _frame(records)
    if df.empty:
        return "No successful records.\n"
    order = [m for m in methods if m in set(df["method"])]
    order += sorted(set(df["method"]) - set(order))
    cols = list(TABLE_METRICS)
    head = "| method | " + " | ".join(cols) + " |"
    sep = "|---" * (len(cols) + 1) + "|"
    all_cases = set(df["case"])
    lines = [
        "## Mean over cases",
        "",
        "mean ± std over seeds of the per-seed mean over cases; only seeds for which the",
        f"method has a record on every one of the {len(all_cases)} cases count",
        "",
        head.replace(" |", " | cases | seeds |", 1),
        sep + "---|---|",
    ]
    for m in order:
        d = df[df["method"] == m]
        full = [s for s, g in d.groupby("seed") if set(g["case"]) == all_cases]
        per_seed = d[d["seed"].isin(full)].groupby("seed")[cols].mean()
        cells = [_fmt(per_seed[c].mean(), per_seed[c].std(ddof=0)) for c in cols]
        lines.append(f"| {m} | {len(all_cases)} | {len(full)} | " + " | ".join(cells) + " |")
    lines += ["", "## Seconds per method", "", "| method | mean s per case | max s | total s |"]
    lines.append("|---|---|---|---|")
    for m in order:
        s = df.loc[df["method"] == m, "seconds"]
        lines.append(f"| {m} | {s.mean():.2f} | {s.max():.2f} | {s.sum():.1f} |")
    lines += ["", "## Per case", "", "mean ± std over seeds", ""]
    for case in dict.fromkeys(df["case"]):
        d = df[df["case"] == case]
        size = f"{d['n_true'].mean():.0f} true of {d['n_candidates'].mean():.0f} candidate edges"
        lines += [f"### {case} ({d['family'].iloc[0]})", "", f"{size} (mean over seeds)", ""]
        lines.append(head + " seeds | s |")
        lines.append(sep + "---|---|")
        for m in order:
            dm = d[d["method"] == m]
            if dm.empty:
                continue
            cells = [_fmt(dm[c].mean(), dm[c].std(ddof=0)) for c in cols]
            row = f"| {m} | " + " | ".join(cells)
            lines.append(row + f" | {len(dm)} | {dm['seconds'].mean():.1f} |")
        lines.append("")
    errors = [r for r in records if "error" in r]
    if errors:
        lines += ["## Errors", ""]
        lines += [f"- {r['case']} seed {r['seed']} {r['method']}: {r['error']}" for r in errors]
    return "\n".join(lines) + "\n"


def _split(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--methods", help=f"comma-separated (default {','.join(DEFAULT_METHODS)})")
    p.add_argument("--methods-from", action="append", default=[], metavar="MODULE:DICT")
    p.add_argument("--cases", help="comma-separated case names (default: all)")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--quick", action="store_true", help="2 small cases, fast methods, seed 0")
    p.add_argument("--out", default=str(Path(__file__).parent / "results"))
    p.add_argument("--name", default="grn_benchmark")
    p.add_argument("--quiet", action="store_true")
    p.add_argument(
        "--merge",
        action="append",
        default=[],
        metavar="JSON[:OLD=NEW,...]",
        help="add the records of another run (repeatable; a record already present wins), "
        "renaming methods of that file (e.g. a previous default: run.json:grn_mnn=grn_mnn_old)",
    )
    args = p.parse_args(argv)
    try:
        reg = registry(args.methods_from)
        extra = [m for m in reg if m not in METHODS]
        methods = _split(args.methods) or (
            list(QUICK_METHODS) if args.quick else [*DEFAULT_METHODS, *extra]
        )
        unknown = [m for m in methods if m not in reg]
        if unknown:
            raise ConfigError(f"unknown methods {unknown}; choose from {', '.join(reg)}")
        cases = _split(args.cases) or simcases.case_names(quick=args.quick)
        bad = [c for c in cases if c not in simcases.CASES]
        if bad:
            raise ConfigError(f"unknown cases {bad}; choose from {', '.join(simcases.CASES)}")
        seeds = [int(s) for s in _split(args.seeds) or []]
        if args.quick and args.seeds == "0,1,2":
            seeds = [0]
        if args.jobs < 1:
            raise ConfigError(f"--jobs must be >= 1, got {args.jobs}")
    except (ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    ok, why = peers_available()
    if not ok and PEER_METHODS & set(methods):
        skipped = [m for m in methods if m in PEER_METHODS]
        print(f"skipping {', '.join(skipped)}: {why}")
        methods = [m for m in methods if m not in PEER_METHODS]

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / f"{args.name}.json", out / f"{args.name}.md"
    records = load_records(json_path)
    done = {(r["case"], r["seed"], r["method"]) for r in records if "error" not in r}
    records = [r for r in records if "error" not in r]  # errors are retried
    for spec in args.merge:
        path, _, pairs = spec.partition(":")
        renames = dict(p.split("=", 1) for p in pairs.split(",") if "=" in p)
        for r in load_records(Path(path)):
            r = {**r, "method": renames.get(r["method"], r["method"])}
            key = (r["case"], r["seed"], r["method"])
            if "error" not in r and key not in done:
                records.append(r)
                done.add(key)
    units = []
    for s in seeds:  # seed-major: a partial run already covers every case
        for c in cases:
            todo = [m for m in methods if (c, s, m) not in done]
            if todo:
                units.append((c, s, todo))
    settings = {"cases": cases, "seeds": seeds, "methods": methods, "jobs": args.jobs}

    def save() -> None:
        write_json(json_path, {"name": args.name, "settings": settings, "records": records})
        write_text(md_path, f"# GRN benchmark: {args.name}\n\n" + tables(records, methods))

    def report(unit_recs: list[dict[str, Any]]) -> None:
        records.extend(unit_recs)
        save()
        if not args.quiet:
            r0 = unit_recs[0]
            times = ", ".join(
                f"{r['method']} {r['seconds']:.1f}s" + (" ERROR" if "error" in r else "")
                for r in unit_recs
            )
            print(f"{r0['case']} seed {r0['seed']}: {times}", flush=True)

    if not args.quiet:
        print(f"{len(units)} case x seed units to run ({len(done)} records already done)")
    if args.jobs == 1:
        for c, s, todo in units:
            report(run_unit(c, s, todo, args.methods_from))
    else:
        with ProcessPoolExecutor(max_workers=args.jobs) as pool:
            futs = [pool.submit(run_unit, c, s, todo, args.methods_from) for c, s, todo in units]
            for f in as_completed(futs):
                report(f.result())
    save()
    if not args.quiet:
        print(f"wrote {json_path} and {md_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
