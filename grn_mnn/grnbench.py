"""Score a predicted network against a simulated case's known network.

The candidate edge set is ``sources x genes`` without self-loops (``sources`` = every gene
when ``None``, otherwise the case's TF list). A predicted ``source, target, weight`` table is
mapped onto it: candidate edges missing from the table get weight 0, predicted edges outside
it (self-loops, sources that are not candidates, unknown genes) are ignored, NaN weights
count as 0, and a duplicated edge keeps its largest ``|weight|``. True edges are the
(non-self-loop) edges of the true network; a candidate edge not in the true network is a
negative whatever its predicted weight, and a true edge whose source is not a candidate
cannot be predicted (counted in ``n_true_outside``).

Metrics (:func:`score_edges`, from :mod:`grn_mnn.metrics`):

``auroc``, ``auprc_ratio``, ``epr``
    Link task: candidates ranked by ``|weight|`` (ties share their rank); AUPRC ratio and
    EPR are over the edge density, so a random ranking scores about 1.
``signed_epr``
    EPR where a top-k edge counts only if it is true *and* ``sign(weight)`` equals the true
    sign.
``sign_accuracy``
    On the true candidate edges, the fraction whose predicted sign ``sign(weight)`` equals
    the true sign; a weight of exactly 0 (including an edge missing from the table) has no
    sign and counts as wrong.
``sign_accuracy_predicted``
    The same fraction among true edges with a non-zero weight only (NaN if there are none).
``sign_balanced_accuracy``
    Mean of the activation and repression recalls (0 weights wrong), NaN if one class is
    absent.

With ``signed=False`` (methods whose weights carry no sign, e.g. raw tree importances) the
sign metrics and ``signed_epr`` are NaN: the unsigned variant. The link metrics only use
``|weight|``, so they are the same for a method's signed and unsigned tables.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import metrics
from .errors import InputError

__all__ = ["METRICS", "candidate_matrix", "score_edges"]

#: the metrics of :func:`score_edges`, in table order
METRICS = (
    "auroc",
    "auprc_ratio",
    "epr",
    "signed_epr",
    "sign_accuracy",
    "sign_accuracy_predicted",
    "sign_balanced_accuracy",
)


def _source_list(genes: list[str], sources: Sequence[str] | None) -> list[str]:
    if sources is None:
        return genes
    src = list(dict.fromkeys(str(s) for s in sources))
    missing = [s for s in src if s not in set(genes)]
    if missing:
        raise InputError(f"sources {missing[:5]} are not among the genes; pass gene names")
    return src


def candidate_matrix(
    edges: pd.DataFrame,
    genes: Sequence[str],
    sources: Sequence[str] | None = None,
    value: str = "weight",
) -> np.ndarray:
    """(genes x sources) matrix ``M[target, source]`` of ``edges[value]`` (0 where absent).

    Self-loops, non-candidate sources and unknown genes are dropped; NaN counts as 0; a
    duplicated edge keeps the value of largest magnitude.
    """
    genes = [str(g) for g in genes]
    src = _source_list(genes, sources)
    if not {"source", "target", value} <= set(edges.columns):
        raise InputError(f"the edge table needs columns source, target, {value}")
    gi = {g: i for i, g in enumerate(genes)}
    si = {s: j for j, s in enumerate(src)}
    r = edges["target"].astype(str).map(gi)
    c = edges["source"].astype(str).map(si)
    w = pd.to_numeric(edges[value], errors="coerce").fillna(0.0).to_numpy(dtype=float)
    keep = r.notna().to_numpy() & c.notna().to_numpy()
    r, c, w = r.to_numpy()[keep].astype(int), c.to_numpy()[keep].astype(int), w[keep]
    order = np.argsort(np.abs(w), kind="stable")  # largest |w| written last, so it wins
    m = np.zeros((len(genes), len(src)))
    m[r[order], c[order]] = w[order]
    return m


def score_edges(
    pred: pd.DataFrame,
    truth: pd.DataFrame,
    genes: Sequence[str],
    sources: Sequence[str] | None = None,
    *,
    signed: bool = True,
) -> dict[str, Any]:
    """Link and sign metrics of a predicted network over the candidate edges.

    Parameters
    ----------
    pred
        ``source, target, weight`` (signed weights; larger ``|weight|`` = more confident).
    truth
        True edges ``source, target, sign`` (+1 / -1).
    genes
        Every gene of the case (targets).
    sources
        Candidate regulators (``None`` = every gene).
    signed
        Whether the weights carry a sign; ``False`` makes the sign metrics NaN.

    Returns
    -------
    dict
        The :data:`METRICS` plus ``n_true`` (true candidate edges), ``n_candidates``,
        ``n_true_outside`` (true edges whose source is not a candidate, self-loops excluded)
        and ``n_true_zero`` (true edges predicted with weight 0).
    """
    genes = [str(g) for g in genes]
    src = _source_list(genes, sources)
    if not {"source", "target", "sign"} <= set(truth.columns):
        raise InputError("the true network needs columns source, target, sign")
    truth = truth[truth["source"].astype(str) != truth["target"].astype(str)]
    true_sign = candidate_matrix(truth, genes, src, value="sign")
    n_outside = int(len(truth) - np.count_nonzero(true_sign))
    w = candidate_matrix(pred, genes, src)
    cand = np.ones_like(w, dtype=bool)
    gi = {g: i for i, g in enumerate(genes)}
    for j, s in enumerate(src):
        cand[gi[s], j] = False  # no self-loops
    w, ts = w[cand], np.sign(true_sign[cand])
    y = ts != 0
    link = metrics.link_metrics(y, np.abs(w), np.sign(w) if signed else None, ts)
    out: dict[str, Any] = {k: link[k] for k in ("auroc", "auprc_ratio", "epr")}
    out["signed_epr"] = link["signed_epr"] if signed else float("nan")
    nan_sign = dict.fromkeys(("sign_accuracy", "sign_accuracy_predicted"), float("nan"))
    out.update(nan_sign, sign_balanced_accuracy=float("nan"))
    if signed and y.any():
        s = metrics.sign_metrics(w[y], ts[y])
        out["sign_accuracy"] = s["accuracy"]
        out["sign_balanced_accuracy"] = s["balanced_accuracy"]
        nz = w[y] != 0
        if nz.any():
            out["sign_accuracy_predicted"] = float(np.mean(np.sign(w[y][nz]) == ts[y][nz]))
    out.update(
        n_true=int(y.sum()),
        n_candidates=int(w.size),
        n_true_outside=n_outside,
        n_true_zero=int((w[y] == 0).sum()),
    )
    return out
