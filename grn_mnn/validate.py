"""Score a predicted network against a reference, always beside baselines.

:func:`score` returns the ``scores.json`` layout::

    {"reference": {overlap counts, candidate set, "cleaning": {...},
                   "all_activation": {sign metrics of calling every signed edge an activation}},
     "methods": {NAME: {"sign": {accuracy, balanced_accuracy, precision, recall, f1, n_edges,
                                 per_tf, ci, ...},
                        "link": {auroc, auprc, auprc_ratio, epr, signed_epr, n_true,
                                 n_candidates, ci, ...},
                        "versus": {OTHER: {metric: {difference, ci, share_a_better}}}}},
     "settings": {seeds, n_random, n_boot, ...}}

with NAME the scored method (``cellmnn``, or ``input`` for an edge file), ``random``,
``pearson``, ``linear_ode`` and, when arboreto is installed, ``grnboost2`` and ``genie3``.

**Candidate edges** (link task, as in BEELINE): sources = the reference TFs that have at least
one reference edge with both genes in the data, targets = every gene of the data, no
self-loops. Every method is ranked by ``|weight|`` over the same candidates. Candidate edges
missing from a predicted table get weight 0 (they rank last, tied, and have no sign);
several rows for one edge (e.g. one per time point) are averaged. Predicted edges outside the
candidate set are ignored by the link task and counted.

**Sign task**: reference edges with a known sign (Activation / Repression; Unknown and
Conflicting pairs are excluded) whose genes are in the data; the predicted sign is the sign
of the edge's weight, a missing edge counts as an error (see :mod:`grn_mnn.metrics`).

**Baselines**: ``random`` (uniform weights in [-1, 1]) needs no data and is always scored:
its entries are the mean over ``n_random`` seeds with the spread (``std`` and the 2.5-97.5 %
range over seeds as ``ci``) and the exact ``expected`` values. ``pearson`` needs
``expression`` and ``genes``; ``linear_ode`` also needs ``times`` (skipped, with the reason in
``settings['skipped_baselines']``, otherwise). ``reference['all_activation']`` scores the sign
task of calling every signed edge an activation: its accuracy is the reference's share of
activations (0.62 and 0.65 on the bundled time courses' TRRUST edges), the bar a sign
accuracy has to clear to mean more than the class balance; balanced accuracy does not have
that bias (0.5 for it).

**Peers**: ``grnboost2`` and ``genie3`` (:mod:`grn_mnn.peers`, arboreto) need ``expression``
and ``genes``; signed importances (importance x sign of the Pearson correlation), seeded with
``seed``. By default they are scored when arboreto is installed; otherwise they are skipped with
one logged line (:func:`grn_mnn.peers.skip_message`, also in ``settings['peers']['skipped']``)
saying how to install them (``pip install grn_mnn[peers]``).

**Uncertainty**: 95 % percentile bootstrap intervals (``ci``) resample reference edges with
replacement -- the signed edges (sign task) or the true edges with the negatives fixed (link
task); the same resamples (``seed``) are used for every method, so intervals are paired.
``methods[NAME]['versus'][OTHER]`` turns them into paired differences, NAME minus each other
scored method (not ``random``), for the AUPRC ratio, AUROC, EPR, sign accuracy and balanced
accuracy: is the network better than Pearson on *these* edges, or within the noise?
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import baselines as bl
from . import metrics as mt
from . import peers as pr
from .errors import InputError, ReferenceNetworkError
from .reference import Reference, load_reference, restrict, symbol_key

__all__ = [
    "Candidates",
    "read_edges",
    "restrict_sources",
    "score",
    "score_edges_file",
    "score_table",
    "versus_table",
    "versus_text",
]

EDGE_COLUMNS = ("source", "target", "weight")
#: Every name ``score(baselines=...)`` accepts: the baselines, then the peers.
ALL_BASELINES = bl.BASELINES + pr.PEERS
_log = logging.getLogger(__name__)


# ----------------------------------------------------------------------------- inputs
def _check_edges(edges: pd.DataFrame, where: str = "edge table", line_offset: int = 0) -> None:
    if not isinstance(edges, pd.DataFrame):
        raise InputError(f"{where} must be a pandas DataFrame with columns source, target, weight")
    missing = [c for c in EDGE_COLUMNS if c not in edges.columns]
    if missing:
        raise InputError(
            f"{where} lacks column(s) {missing} (has {list(edges.columns)[:8]}); it needs "
            "source, target, weight (one row per directed edge, weight signed)"
        )
    if edges.empty:
        raise InputError(f"{where} has no rows; give at least one edge source,target,weight")
    w = pd.to_numeric(edges["weight"], errors="coerce")
    bad = w.isna() | ~np.isfinite(w.to_numpy(dtype=float, na_value=np.nan))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        where_row = f"line {i + line_offset}" if line_offset else f"row {i}"
        raise InputError(
            f"{where}: {int(bad.sum())} weight(s) are not finite numbers, first at {where_row} "
            f"({edges['weight'].iloc[i]!r}); weights must be signed numbers"
        )
    names = pd.Series(False, index=edges.index)
    for c in ("source", "target"):
        names |= edges[c].isna() | edges[c].astype(str).str.strip().eq("")
    if names.any():
        raise InputError(f"{where}: {int(names.sum())} row(s) have an empty source or target")


def read_edges(path: str | os.PathLike) -> pd.DataFrame:
    """Read an edge CSV/TSV (``source,target,weight``) with clear errors."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"edge file {path} does not exist; give a CSV with source,target,weight")
    try:
        with open(path, "rb") as fh:
            head = fh.read(4096)
        sep = "\t" if (path.suffix.lower() in (".tsv", ".txt") or b"\t" in head) else ","
        df = pd.read_csv(path, sep=sep, dtype={"source": str, "target": str}, keep_default_na=False)
    except pd.errors.EmptyDataError as exc:
        raise InputError(
            f"edge file {path} is empty; it needs a header source,target,weight"
        ) from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise InputError(
            f"edge file {path} cannot be parsed as CSV ({type(exc).__name__}: {exc}); expected a "
            "comma-separated table with header source,target,weight"
        ) from exc
    df.columns = [str(c).strip() for c in df.columns]
    df = df.rename(columns={c: c.lower() for c in df.columns if c.lower() in EDGE_COLUMNS})
    _check_edges(df, f"edge file {path}", line_offset=2)
    df["weight"] = pd.to_numeric(df["weight"])
    return df


def restrict_sources(sub: Reference, sources: Sequence[str]) -> Reference:
    """The reference edges whose TF is among ``sources`` (case-insensitive)."""
    keys = {symbol_key(str(g)) for g in sources}
    keep = sub.edges["tf"].map(lambda t: symbol_key(str(t)) in keys).to_numpy(bool)
    if not keep.any():
        raise ReferenceNetworkError(
            f"none of the {sub.edges['tf'].nunique()} reference TFs in the data is among the "
            f"{len(keys)} given sources; pass sources that include reference TFs, or none"
        )
    report = {
        **sub.report,
        "sources_kept_edges": int(keep.sum()),
        "sources_dropped_edges": int((~keep).sum()),
    }
    return replace(sub, edges=sub.edges[keep].reset_index(drop=True), report=report)


class Candidates:
    """The scoring grid: the data's genes, the candidate sources and the reference on it.

    Rows are the data's genes (targets), columns the reference TFs present in the data
    (sources, in the data's order). ``cand`` marks the candidate pairs (every target but the
    source itself), ``y`` the reference edges and ``true_sign`` their signs (0: unsigned).
    Validation scripts use it to score many matrices on one grid; :func:`score` builds it.
    """

    def __init__(self, sub: Reference, genes: Sequence[str]) -> None:
        self.genes = [str(g) for g in genes]
        self.key_idx: dict[str, int] = {}
        for i, g in enumerate(self.genes):
            self.key_idx.setdefault(symbol_key(g), i)
        e = sub.edges
        tf_idx = e["tf"].map(lambda s: self.key_idx[symbol_key(s)]).to_numpy(int)
        tg_idx = e["target"].map(lambda s: self.key_idx[symbol_key(s)]).to_numpy(int)
        self.src = np.unique(tf_idx)  # gene indices of the sources, in the data's order
        self.col_of_gene = np.full(len(self.genes), -1)
        self.col_of_gene[self.src] = np.arange(self.src.size)
        shape = (len(self.genes), self.src.size)
        self.shape = shape
        self.cand = np.ones(shape, bool)
        self.cand[self.src, np.arange(self.src.size)] = False
        self.y = np.zeros(shape, bool)
        self.y[tg_idx, self.col_of_gene[tf_idx]] = True
        self.true_sign = np.zeros(shape, int)
        self.true_sign[tg_idx, self.col_of_gene[tf_idx]] = e["sign"].to_numpy(int)
        signed = e["sign"].to_numpy() != 0
        self.s_tgt, self.s_col = tg_idx[signed], self.col_of_gene[tf_idx[signed]]
        self.s_sign = e["sign"].to_numpy(int)[signed]
        self.s_tf = np.asarray(self.genes, dtype=object)[tf_idx[signed]]

    def gene_index(self, names: pd.Series) -> np.ndarray:
        """Index of each name among the data's genes (case-insensitive), -1 if absent."""
        codes, uniq = pd.factorize(names.astype(str))
        lookup = np.array([self.key_idx.get(symbol_key(u), -1) for u in uniq] + [-1], int)
        return lookup[codes]  # code -1 (NaN) -> last entry -1

    def matrix(self, edges: pd.DataFrame) -> tuple[np.ndarray, dict[str, int]]:
        """(genes x sources) predicted weights (0 where missing) and coverage counts."""
        gs, gt = self.gene_index(edges["source"]), self.gene_index(edges["target"])
        col = np.where(gs >= 0, self.col_of_gene[np.maximum(gs, 0)], -1)
        ok = (col >= 0) & (gt >= 0) & (gt != gs)
        lin = gt[ok] * self.shape[1] + col[ok]
        size = self.shape[0] * self.shape[1]
        w = pd.to_numeric(edges["weight"]).to_numpy(float)[ok]
        sums = np.bincount(lin, weights=w, minlength=size)
        cnt = np.bincount(lin, minlength=size)
        mat = np.divide(sums, cnt, out=np.zeros(size), where=cnt > 0).reshape(self.shape)
        n_cand = int(self.cand.sum())
        return mat, {
            "n_rows": len(edges),
            "n_rows_outside_candidates": int((~ok).sum()),
            "n_candidates_predicted": int((cnt > 0).sum()),
            "n_candidates_missing_weight_0": n_cand - int((cnt > 0).sum()),
            "n_edges_averaged_from_duplicates": int((cnt > 1).sum()),
        }


# ----------------------------------------------------------------------------- scoring
def _signs_with_ci(
    pred: np.ndarray, cands: Candidates, n_boot: int, seed: int
) -> tuple[dict, dict[str, np.ndarray]]:
    """Sign metrics of predicted signs ``pred`` on the signed reference edges, with their CIs,
    and the bootstrap draws behind them."""
    out = mt.sign_metrics(pred, cands.s_sign)
    draws = mt.sign_draws(pred, cands.s_sign, n_boot, seed)
    out["ci"] = {k: mt.percentile_ci(v) for k, v in draws.items()}
    return out, draws


def _sign_block(
    cands: Candidates, mat: np.ndarray, n_boot: int, seed: int, min_tf: int
) -> tuple[dict, dict[str, np.ndarray]]:
    pred = mat[cands.s_tgt, cands.s_col]
    out, draws = _signs_with_ci(pred, cands, n_boot, seed)
    out["per_tf"] = mt.sign_per_tf(cands.s_tf, pred, cands.s_sign, min_tf)
    return out, draws


def _all_activation_block(cands: Candidates, n_boot: int, seed: int) -> dict:
    """Sign metrics of calling every signed reference edge an activation.

    The floor a sign predictor has to clear when activations dominate the reference (they do
    in TRRUST): its accuracy is the share of activations, its balanced accuracy 0.5.
    """
    return _signs_with_ci(np.ones(len(cands.s_sign)), cands, n_boot, seed)[0]


def _link_block(
    cands: Candidates, mat: np.ndarray, n_boot: int | None, seed: int
) -> tuple[dict, dict[str, np.ndarray]]:
    y, ts = cands.y[cands.cand], cands.true_sign[cands.cand]
    w = mat[cands.cand]
    hit = (ts != 0) & (np.sign(w) == ts)
    scorer = mt.LinkScorer(y, np.abs(w), hit)
    out: dict[str, Any] = scorer.metrics()
    out.update(n_true=scorer.n_pos, n_candidates=scorer.n, density=scorer.n_pos / scorer.n)
    if scorer.reason():
        out["reason"] = scorer.reason()
    draws = scorer.draws(n_boot or 0, seed)
    if n_boot is not None:
        out["ci"] = {k: mt.percentile_ci(v) for k, v in draws.items()}
    return out, draws


def _method(
    cands: Candidates, mat: np.ndarray, n_boot: int, seed: int, min_tf: int
) -> tuple[dict, dict]:
    """A method's ``{"sign", "link"}`` blocks and their bootstrap draws (same layout)."""
    sign, sign_draws = _sign_block(cands, mat, n_boot, seed, min_tf)
    link, link_draws = _link_block(cands, mat, n_boot, seed)
    return {"sign": sign, "link": link}, {"sign": sign_draws, "link": link_draws}


#: (task, metric) of the paired differences in ``methods[NAME]['versus']``
VERSUS = (
    ("link", "auprc_ratio"),
    ("link", "auroc"),
    ("link", "epr"),
    ("sign", "accuracy"),
    ("sign", "balanced_accuracy"),
)


def _versus(methods: Mapping[str, Any], draws: Mapping[str, dict], name: str) -> dict:
    """Paired differences of ``name`` minus every other method with draws (see module doc)."""
    return {
        other: {
            metric: mt.paired_difference(
                methods[name][task][metric],
                methods[other][task][metric],
                draws[name][task][metric],
                draws[other][task][metric],
            )
            for task, metric in VERSUS
        }
        for other in draws
        if other != name
    }


def _spread(blocks: list[dict], keys: Sequence[str], expected: dict) -> dict[str, Any]:
    """Mean over seeds with std, 2.5-97.5 % range (as ``ci``) and the expected values."""
    vals = {k: np.array([b[k] for b in blocks], float) for k in keys}
    out: dict[str, Any] = {
        k: float(np.nanmean(v)) if np.isfinite(v).any() else float("nan") for k, v in vals.items()
    }
    out["std"] = {k: float(np.nanstd(v)) if np.isfinite(v).any() else None for k, v in vals.items()}
    out["ci"] = {k: mt.percentile_ci(v) for k, v in vals.items()}
    out["expected"] = expected
    return out


def _random_block(cands: Candidates, seeds: list[int], min_tf: int) -> dict:
    signs, links, per_tf = [], [], []
    for s in seeds:
        mat = bl.random_matrix(*cands.shape, seed=s)
        signs.append(mt.sign_metrics(mat[cands.s_tgt, cands.s_col], cands.s_sign))
        per_tf.append(
            mt.sign_per_tf(cands.s_tf, mat[cands.s_tgt, cands.s_col], cands.s_sign, min_tf)
        )
        links.append(_link_block(cands, mat, None, 0)[0])
    sign = _spread(signs, mt.SIGN_KEYS, mt.expected_random_sign(cands.s_sign))
    n_signed = int((cands.true_sign[cands.cand] != 0).sum())
    link = _spread(
        links,
        mt.LINK_KEYS,
        mt.expected_random_link(links[0]["n_true"], links[0]["n_candidates"], n_signed),
    )
    sign.update({k: signs[0][k] for k in ("n_edges", "n_activation", "n_repression")})
    tfs = {
        tf: {**d, "accuracy": float(np.mean([p["tfs"][tf]["accuracy"] for p in per_tf]))}
        for tf, d in per_tf[0]["tfs"].items()
    }
    acc = np.array([d["accuracy"] for d in tfs.values()], float)
    sign["per_tf"] = {
        "min_edges": min_tf,
        "n_tfs": len(tfs),
        "mean_accuracy": float(acc.mean()) if acc.size else float("nan"),
        "note": "per-TF accuracy averaged over the random seeds",
        "tfs": tfs,
    }
    link.update({k: links[0][k] for k in ("n_true", "n_candidates", "density")})
    return {"sign": sign, "link": link}


def _per_cell_block(
    cands: Candidates, per_cell: Mapping[str, Any], n_boot: int, seed: int, min_tf: int
) -> dict:
    values, active = np.asarray(per_cell["values"]), np.asarray(per_cell["active"])
    tf_names = None
    if per_cell.get("edges") is not None:
        e = pd.DataFrame(per_cell["edges"])
        tf_names = e["tf"].astype(str).to_numpy()
    if per_cell.get("true_sign") is not None:
        true = np.asarray(per_cell["true_sign"])
    elif tf_names is not None:
        ti = cands.gene_index(e["tf"])
        gi = cands.gene_index(e["target"])
        if (ti < 0).any() or (gi < 0).any() or (cands.col_of_gene[ti] < 0).any():
            raise InputError(
                "per_cell['edges'] lists genes that are not reference edges in the data"
            )
        true = cands.true_sign[gi, cands.col_of_gene[ti]]
    else:
        raise InputError("per_cell needs 'true_sign' or 'edges' (tf, target) beside values/active")
    if values.ndim != 2 or values.shape != active.shape or values.shape[1] != len(true):
        raise InputError(
            f"per_cell values {values.shape} and active {active.shape} must be (cells, edges) "
            f"with {len(true)} edges"
        )
    vote = mt.sign_majority_vote(values, active, true)
    pred, inc = vote.pop("predicted"), vote.pop("included")
    vote["ci"] = mt.bootstrap_sign(pred[inc], true[inc], n_boot, seed)
    if tf_names is not None:
        vote["per_tf"] = mt.sign_per_tf(tf_names[inc], pred[inc], true[inc], min_tf)
    return vote


def score(
    edges: pd.DataFrame,
    reference: Reference | str | os.PathLike,
    *,
    expression: np.ndarray | None = None,
    genes: Sequence[str] | None = None,
    times: np.ndarray | None = None,
    method_name: str = "cellmnn",
    baselines: Sequence[str] | None = None,
    n_random: int = 20,
    n_boot: int = 200,
    min_edges_per_tf: int = 5,
    seed: int = 0,
    per_cell: Mapping[str, Any] | None = None,
    species: str | None = None,
    alpha: float = 0.1,
    peer_options: Mapping[str, Mapping[str, Any]] | None = None,
    quiet: bool = False,
    sources: Sequence[str] | None = None,
    peer_tables: dict[str, pd.DataFrame] | None = None,
) -> dict[str, Any]:
    """Sign and link scores of ``edges`` and of the baselines against ``reference``.

    Parameters
    ----------
    edges
        Predicted edges ``source, target, weight`` (signed).
    reference
        A :class:`~grn_mnn.reference.Reference` or a spec for
        :func:`~grn_mnn.reference.load_reference` (``"trrust-human"``, a path, ...).
    expression, genes, times
        Log expression (cells x genes), its gene names and the cells' times, for the
        ``pearson`` / ``linear_ode`` baselines. ``genes`` also fixes the data's gene set
        (default: every gene named in ``edges``).
    method_name
        Key of the scored method (``"cellmnn"``; ``"input"`` for an edge file).
    baselines
        Subset of :data:`ALL_BASELINES` (``random``, ``pearson``, ``linear_ode``,
        ``grnboost2``, ``genie3``). Default ``None``: all of them, the peers only when
        :func:`grn_mnn.peers.available` (else skipped with one logged line).
    n_random
        Random seeds of the random baseline (seeds ``seed + 1 ... seed + n_random``).
    n_boot
        Bootstrap resamples for the intervals (0 disables them).
    min_edges_per_tf
        TFs with fewer signed edges in the data are left out of ``per_tf``.
    seed
        Seed of the bootstrap and the random baseline.
    per_cell
        Optional per-cell majority-vote input: ``values`` and ``active`` (cells x edges), and
        ``true_sign`` or ``edges`` (``tf``, ``target``); stored as
        ``methods[method_name]['sign_per_cell']``.
    species
        Data species, passed to :func:`~grn_mnn.reference.load_reference`.
    sources
        Candidate regulators shared by every method (e.g. a TF list): only reference edges
        whose TF is among them are scored, so a network restricted to these sources is not
        charged for the reference TFs it could not name, and the baselines are computed over
        the same sources. ``None`` (default): every reference TF with an edge in the data.
    alpha
        Relative ridge penalty of the linear-ODE baseline.
    peer_options
        Keyword overrides per peer, e.g. ``{"genie3": {"n_estimators": 100}}`` (see
        :func:`grn_mnn.peers.genie3_matrix`); recorded in ``settings['peers']``.
    quiet
        Do not log the line saying the peers were skipped (it stays in ``settings``).
    peer_tables
        A dict to receive each scored peer's signed network as a ``source, target, weight``
        table (e.g. for a precision-recall plot), so the peers are not run twice.

    Returns
    -------
    dict
        The ``scores.json`` layout (see the module docstring).

    Raises
    ------
    InputError
        Malformed edges, expression or per-cell input.
    ReferenceNetworkError
        Reference cannot be loaded or does not overlap the data.
    """
    baselines = ALL_BASELINES if baselines is None else tuple(baselines)
    unknown = sorted(set(baselines) - set(ALL_BASELINES))
    if unknown:
        raise InputError(f"unknown baseline(s) {unknown}; choose from {list(ALL_BASELINES)}")
    peer_options = dict(peer_options or {})
    bad = sorted(set(peer_options) - set(pr.PEERS))
    if bad:
        raise InputError(f"peer_options for unknown peer(s) {bad}; choose from {list(pr.PEERS)}")
    _check_edges(edges)
    ref = load_reference(reference, species=species)
    if expression is not None and genes is None:
        raise InputError("expression was given without genes; pass one gene name per column")
    if genes is None:
        genes = list(pd.unique(pd.concat([edges["source"], edges["target"]]).astype(str)))
    x = None if expression is None else bl._check(expression, genes, times)
    sub = restrict(ref, genes)
    if sources is not None:
        sub = restrict_sources(sub, sources)
    cands = Candidates(sub, genes)
    mat, coverage = cands.matrix(edges)
    methods: dict[str, Any] = {}
    draws: dict[str, dict] = {}
    methods[method_name], draws[method_name] = _method(cands, mat, n_boot, seed, min_edges_per_tf)
    methods[method_name]["coverage"] = coverage
    if per_cell is not None:
        methods[method_name]["sign_per_cell"] = _per_cell_block(
            cands, per_cell, n_boot, seed, min_edges_per_tf
        )
    skipped: dict[str, str] = {}
    seeds = [seed + 1 + r for r in range(n_random)]
    if "random" in baselines:
        if n_random >= 1:
            methods["random"] = _random_block(cands, seeds, min_edges_per_tf)
        else:
            skipped["random"] = "n_random < 1"
    for name in ("pearson", "linear_ode"):
        if name not in baselines:
            continue
        if x is None or (name == "linear_ode" and times is None):
            skipped[name] = "needs expression, genes" + (
                " and times" if name == "linear_ode" else ""
            )
            continue
        try:
            if name == "pearson":
                bmat = bl.pearson_matrix(x, cands.src)
            else:
                bmat = bl.linear_ode_matrix(x, times, cands.src, alpha)
        except InputError as exc:
            skipped[name] = str(exc)
            continue
        methods[name], draws[name] = _method(cands, bmat, n_boot, seed, min_edges_per_tf)
    peer_info = _score_peers(
        cands, x, [p for p in pr.PEERS if p in baselines], peer_options, seed, skipped, quiet
    )
    for name, pmat in peer_info.pop("matrices").items():
        methods[name], draws[name] = _method(cands, pmat, n_boot, seed, min_edges_per_tf)
        if peer_tables is not None:
            peer_tables[name] = bl.matrix_to_edges(pmat, cands.genes, cands.src)
    methods[method_name]["versus"] = _versus(methods, draws, method_name)
    ov = sub.report["overlap"]
    cleaning = {k: v for k, v in ref.report.items() if k != "overlap"}
    return {
        "reference": {
            "name": ref.name,
            "species": ref.species,
            **ov,
            "n_candidate_sources": int(cands.src.size),
            "n_candidate_targets": len(cands.genes),
            "cleaning": cleaning,
            "all_activation": _all_activation_block(cands, n_boot, seed),
        },
        "methods": methods,
        "settings": {
            "seed": seed,
            "n_random": n_random,
            "random_seeds": seeds if "random" in methods else [],
            "n_boot": n_boot,
            "ci_level": 0.95,
            "min_edges_per_tf": min_edges_per_tf,
            "linear_ode_alpha": alpha,
            "bootstrap": "percentile; resamples reference edges (signed edges for the sign task, "
            "true edges with fixed negatives for the link task); same resamples for every method",
            "candidates": "sources = reference TFs with an edge in the data"
            + (" and among the given sources" if sources is not None else "")
            + ", targets = all data genes, no self-loops; missing predicted edges get weight 0",
            "sources_given": None if sources is None else len(sources),
            "skipped_baselines": skipped,
            "peers": peer_info,
        },
    }


def _score_peers(
    cands: Candidates,
    x: np.ndarray | None,
    names: list[str],
    options: Mapping[str, Mapping[str, Any]],
    seed: int,
    skipped: dict[str, str],
    quiet: bool,
) -> dict[str, Any]:
    """(genes x sources) matrices of the requested peers, or their skip reasons."""
    info: dict[str, Any] = {
        "available": pr.available(),
        "requested": names,
        "scored": [],
        "skipped": None,
        "seed": seed,
        "signed": "importance x sign(Pearson correlation of source and target)",
        "options": {k: dict(v) for k, v in options.items() if k in names},
        "seconds": {},
        "matrices": {},
    }
    if not names:
        return info
    if x is None:
        skipped.update({n: "needs expression and genes" for n in names})
        return info
    if not pr.available():
        msg = pr.skip_message(names)
        skipped.update({n: msg for n in names})
        info["skipped"] = msg
        if not quiet:
            _log.warning(msg)
        return info
    for name in names:
        t0 = time.perf_counter()
        try:
            info["matrices"][name] = pr.run_peer(
                name, x, cands.src, seed=seed, signed=True, options=options.get(name)
            )
        except InputError as exc:
            skipped[name] = str(exc)
            continue
        info["seconds"][name] = time.perf_counter() - t0
        info["scored"].append(name)
    return info


def score_edges_file(
    path: str | os.PathLike, reference: Reference | str | os.PathLike, **kwargs: Any
) -> dict[str, Any]:
    """:func:`score` an edge CSV (``source,target,weight``); method name defaults to ``input``."""
    kwargs.setdefault("method_name", "input")
    return score(read_edges(path), reference, **kwargs)


# ----------------------------------------------------------------------------- table
def _f(v: Any) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        return float("nan")


def _ci_text(ci: Any) -> str:
    if isinstance(ci, Sequence) and not isinstance(ci, str) and len(ci) == 2 and None not in ci:
        return f"[{_f(ci[0]):.3f}, {_f(ci[1]):.3f}]"
    return ""


_TABLE = [
    ("sign", "accuracy", "sign_acc"),
    ("sign", "balanced_accuracy", "bal_acc"),
    ("sign", "f1", "f1"),
    ("link", "auroc", "auroc"),
    ("link", "auprc_ratio", "auprc_ratio"),
    ("link", "epr", "epr"),
]


#: column name of each (task, metric) in the tables
_COLUMN = {(task, metric): col for task, metric, col in _TABLE}


def score_table(scores: Mapping[str, Any]) -> pd.DataFrame:
    """One row per method: sign accuracy, balanced accuracy, F1, AUROC, AUPRC ratio, EPR.

    Each metric has a ``<metric>_ci`` text column (bootstrap interval; for ``random`` the
    2.5-97.5 % range over seeds). Extra rows: ``random (expected)`` and, when present,
    ``<method> (per-cell vote)`` and ``all activation`` (every signed reference edge called
    an activation: the sign floor when activations dominate; sign columns only). Accepts
    ``scores.json`` read back (``None`` for NaN).
    """
    if not isinstance(scores, Mapping) or not isinstance(scores.get("methods"), Mapping):
        raise InputError("scores must be the dict returned by validate.score (with 'methods')")
    rows: dict[str, dict[str, Any]] = {}

    def add(name: str, blocks: Mapping[str, Any], ci: bool = True) -> None:
        row: dict[str, Any] = {}
        for task, metric, col in _TABLE:
            b = blocks.get(task) if isinstance(blocks.get(task), Mapping) else {}
            row[col] = _f(b.get(metric))
            cis = b.get("ci") if ci and isinstance(b.get("ci"), Mapping) else {}
            row[f"{col}_ci"] = _ci_text(cis.get(metric))
        sign = blocks.get("sign") if isinstance(blocks.get("sign"), Mapping) else {}
        link = blocks.get("link") if isinstance(blocks.get("link"), Mapping) else {}
        row["n_sign"] = _f(sign.get("n_edges"))
        row["n_true"] = _f(link.get("n_true"))
        rows[name] = row

    for name, block in scores["methods"].items():
        if not isinstance(block, Mapping):
            continue
        add(str(name), block)
        if isinstance(block.get("sign_per_cell"), Mapping):
            add(f"{name} (per-cell vote)", {"sign": block["sign_per_cell"]})
        if name == "random":
            exp = {t: block.get(t, {}).get("expected", {}) for t in ("sign", "link")}
            add("random (expected)", exp, ci=False)
    prior = (scores.get("reference") or {}).get("all_activation")
    if isinstance(prior, Mapping):
        add("all activation", {"sign": prior})
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("method")


def versus_table(scores: Mapping[str, Any]) -> pd.DataFrame:
    """One row per scored method and baseline it was compared with (``methods[NAME]['versus']``):
    the paired difference NAME minus the baseline of each metric of :data:`VERSUS` (columns
    named as in :func:`score_table`), its bootstrap interval as text (``<column>_ci``) and the
    share of resamples in which NAME scored higher (``<column>_better``). Empty when nothing
    was compared; accepts ``scores.json`` read back.
    """
    if not isinstance(scores, Mapping) or not isinstance(scores.get("methods"), Mapping):
        raise InputError("scores must be the dict returned by validate.score (with 'methods')")
    rows: dict[str, dict[str, Any]] = {}
    for name, block in scores["methods"].items():
        versus = block.get("versus") if isinstance(block, Mapping) else None
        for other, diffs in (versus or {}).items():
            row: dict[str, Any] = {}
            for task, metric in VERSUS:
                d, col = diffs.get(metric) or {}, _COLUMN[task, metric]
                row[col] = _f(d.get("difference"))
                row[f"{col}_ci"] = _ci_text(d.get("ci"))
                row[f"{col}_better"] = _f(d.get("share_a_better"))
            rows[f"{name} - {other}"] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("difference")


def versus_text(scores: Mapping[str, Any]) -> str:
    """The AUPRC ratio and sign accuracy columns of :func:`versus_table` as printable text
    ("" when nothing was compared), for the summaries of ``run`` and ``score``."""
    versus = versus_table(scores)
    if versus.empty:
        return ""
    cols = ["auprc_ratio", "auprc_ratio_ci", "sign_acc", "sign_acc_ci"]
    return "paired differences on the same bootstrap resamples of the reference edges:\n" + versus[
        cols
    ].to_string(float_format=lambda v: f"{v:+.3f}")


def link_labels(
    edges: pd.DataFrame,
    reference: Reference | str | os.PathLike,
    genes: Sequence[str],
    species: str | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Labels and scores of the link task's candidate edges, for precision-recall curves.

    Returns ``(y_true, y_score)`` over the same candidate set as :func:`score` (sources = the
    reference TFs with an edge in the data, targets = the data's genes, no self-loops);
    ``y_score`` is ``|weight|`` with 0 for candidates missing from ``edges``.
    """
    sub = restrict(load_reference(reference, species=species), genes)
    cands = Candidates(sub, genes)
    mat, _ = cands.matrix(edges)
    return cands.y[cands.cand], np.abs(mat[cands.cand])
