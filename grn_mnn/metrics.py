"""Scoring metrics for inferred networks: link ranking, sign agreement, bootstrap intervals.

Pure numpy. Two tasks are scored against a reference network:

**Link task** -- ranking candidate directed edges by ``|weight|``. ``y_true`` marks the
reference edges among the candidates. :func:`auroc` (ties count one half), :func:`auprc`
(average precision with tied scores handled as one threshold, identical to scikit-learn's
``average_precision_score``), :func:`auprc_ratio` (AUPRC over the edge density, 1 = random),
:func:`epr` (early precision ratio: precision among the top ``k`` = number of true edges,
over the density) and :func:`signed_epr` (the same, but a top-``k`` edge only counts when it
is a reference edge **and** its predicted sign equals the reference sign; reference edges
without a known sign never count, so ``signed_epr <= epr``). When the ``k``-th place falls
inside a group of tied scores, the tied group contributes its expected number of hits under
a random order (a fraction of its hits), so ties neither help nor hurt.

**Sign task** -- for reference edges with a known sign, does the predicted sign match? The
confusion matrix takes *activation* as the positive class (:func:`sign_metrics`). An edge
without a predicted sign (weight exactly 0, e.g. absent from the predicted table) counts
as an error: it is mapped to the opposite of the reference sign and reported in
``n_unpredicted``. :func:`sign_majority_vote` is the per-cell variant of the Cell-MNN paper.

Degenerate inputs never raise: a metric that is undefined (no positives, no negatives, no
edges) is ``NaN`` and the result dict carries a ``reason``.

Bootstrap intervals resample *reference edges* with replacement: the signed edges for the
sign task (:func:`bootstrap_sign`) and the true edges for the link task, the negatives being
kept fixed (:class:`LinkScorer.bootstrap`). Both are seeded, and a resample depends only on the
seed and the reference, so two methods scored on the same candidates see the same edges in every
resample: :func:`paired_difference` turns their draws into a paired interval of the difference.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = [
    "LinkScorer",
    "auprc",
    "auprc_ratio",
    "auroc",
    "bootstrap_sign",
    "epr",
    "expected_random_link",
    "expected_random_sign",
    "link_metrics",
    "paired_difference",
    "percentile_ci",
    "sign_majority_vote",
    "sign_metrics",
    "sign_draws",
    "sign_per_tf",
    "signed_epr",
]

SIGN_KEYS = ("accuracy", "balanced_accuracy", "precision", "recall", "f1")
LINK_KEYS = ("auroc", "auprc", "auprc_ratio", "epr", "signed_epr")
NAN = float("nan")


def _div(a: Any, b: Any) -> Any:
    """a / b with NaN where b == 0 (scalars or arrays)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    out = np.full(np.broadcast(a, b).shape, np.nan)
    np.divide(a, b, out=out, where=b != 0)
    return out if out.ndim else float(out)


# ----------------------------------------------------------------------------- link task
class LinkScorer:
    """Ranking metrics of one score vector, precomputed once for fast bootstrapping.

    Parameters
    ----------
    y_true
        (n,) binary labels, 1 = reference edge.
    y_score
        (n,) confidence (higher = more likely an edge); non-finite values rank last.
    sign_hit
        Optional (n,) booleans: the edge is a reference edge with a known sign and the
        predicted sign matches it (used by signed EPR).
    """

    def __init__(
        self,
        y_true: np.ndarray,
        y_score: np.ndarray,
        sign_hit: np.ndarray | None = None,
    ) -> None:
        y_true = np.asarray(y_true).ravel().astype(bool)
        score = np.asarray(y_score, dtype=float).ravel()
        if y_true.shape != score.shape:
            raise ValueError(f"y_true {y_true.shape} and y_score {score.shape} differ in shape")
        score = np.where(np.isfinite(score), score, -np.inf)
        order = np.argsort(-score, kind="stable")
        s = score[order]
        self.n = s.size
        self.n_pos = int(y_true.sum())
        self.n_neg = self.n - self.n_pos
        self._pos_sorted = np.flatnonzero(y_true[order])  # positions of positives in order
        self._pos_index = order[self._pos_sorted]  # original index of each positive
        # last index of every tie group in the sorted order
        self._ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True]) if self.n else np.array([], int)
        hit = np.zeros(self.n, bool) if sign_hit is None else np.asarray(sign_hit, bool).ravel()
        if hit.shape != y_true.shape:
            raise ValueError("sign_hit must have the shape of y_true")
        self._hit_of_pos = (hit & y_true)[self._pos_index]
        # rank of each positive (in score order) among the positives in candidate order: a
        # resample drawn over the candidate order then names the same edges for every method
        self._pos_identity = np.argsort(np.argsort(self._pos_index, kind="stable"), kind="stable")
        self.has_sign = sign_hit is not None
        # per-positive AUROC contribution: P(negative ranks below) with ties counted one half
        neg_scores = np.sort(score[~y_true])
        pos_scores = score[self._pos_index]
        below = np.searchsorted(neg_scores, pos_scores, side="left")
        tied = np.searchsorted(neg_scores, pos_scores, side="right") - below
        self._u = _div(below + 0.5 * tied, self.n_neg) if self.n_neg else np.full(self.n_pos, NAN)

    def reason(self) -> str | None:
        """Why the metrics are undefined (None when they are defined)."""
        if self.n == 0:
            return "no candidate edges"
        if self.n_pos == 0:
            return "no reference edge among the candidates (no positives)"
        if self.n_neg == 0:
            return "every candidate is a reference edge (no negatives)"
        return None

    def metrics(self, pos_weight: np.ndarray | None = None) -> dict[str, float]:
        """AUROC, AUPRC, AUPRC ratio, EPR and signed EPR (positives weighted by ``pos_weight``)."""
        if self.reason() is not None:
            return dict.fromkeys(LINK_KEYS, NAN)
        w = np.ones(self.n_pos) if pos_weight is None else np.asarray(pos_weight, float)
        total = w.sum()
        if total <= 0:
            return dict.fromkeys(LINK_KEYS, NAN)
        count = np.ones(self.n)
        count[self._pos_sorted] = w
        tp = np.zeros(self.n)
        tp[self._pos_sorted] = w
        hits = np.zeros(self.n)
        hits[self._pos_sorted] = w * self._hit_of_pos
        c_cnt = np.cumsum(count)[self._ends]
        c_tp = np.cumsum(tp)[self._ends]
        precision = _div(c_tp, c_cnt)
        recall_step = np.diff(c_tp, prepend=0.0) / total
        ap = float(np.nansum(recall_step * precision))
        density = total / (total + self.n_neg)
        out = {
            "auroc": float(np.dot(w, self._u) / total),
            "auprc": ap,
            "auprc_ratio": ap / density,
            "epr": self._top_k(c_cnt, c_tp, total) / density,
            "signed_epr": NAN,
        }
        if self.has_sign:
            c_hit = np.cumsum(hits)[self._ends]
            out["signed_epr"] = self._top_k(c_cnt, c_hit, total) / density
        return out

    @staticmethod
    def _top_k(c_cnt: np.ndarray, c_hit: np.ndarray, k: float) -> float:
        """Precision among the top k, tie group at the cut-off counted by its expected share."""
        g = int(np.searchsorted(c_cnt, k - 1e-9, side="left"))
        g = min(g, c_cnt.size - 1)
        above = c_cnt[g - 1] if g > 0 else 0.0
        hit_above = c_hit[g - 1] if g > 0 else 0.0
        size = c_cnt[g] - above
        frac = (k - above) / size if size > 0 else 0.0
        return float((hit_above + frac * (c_hit[g] - hit_above)) / k)

    def draws(self, n_boot: int, seed: int = 0) -> dict[str, np.ndarray]:
        """Every link metric on ``n_boot`` resamples of the true edges (with replacement).

        Resample ``b`` depends only on ``seed`` and on the candidates' labels, never on the
        scores: two scorers of the same candidates (two methods) see the same true edges in
        every resample, so differences of their draws are paired (:func:`paired_difference`).
        Returns ``{metric: (n_boot,) array}``; empty arrays when undefined or ``n_boot`` is 0.
        """
        if n_boot <= 0 or self.reason() is not None:
            return {k: np.empty(0) for k in LINK_KEYS}
        rng = np.random.default_rng(seed)
        out = {k: np.empty(n_boot) for k in LINK_KEYS}
        for b in range(n_boot):
            counts = np.bincount(rng.integers(0, self.n_pos, self.n_pos), minlength=self.n_pos)
            for k, v in self.metrics(counts[self._pos_identity].astype(float)).items():
                out[k][b] = v
        return out

    def bootstrap(
        self, n_boot: int, seed: int = 0, alpha: float = 0.05
    ) -> dict[str, list[float] | None]:
        """Percentile intervals from resampling the true edges with replacement (:meth:`draws`).

        Returns ``{metric: [lo, hi]}`` (``None`` when undefined or ``n_boot`` is 0).
        """
        return {k: percentile_ci(v, alpha) for k, v in self.draws(n_boot, seed).items()}


def link_metrics(
    y_true: np.ndarray,
    y_score: np.ndarray,
    pred_sign: np.ndarray | None = None,
    true_sign: np.ndarray | None = None,
) -> dict[str, Any]:
    """All link-task metrics in one dict.

    Parameters
    ----------
    y_true, y_score
        Labels (1 = reference edge) and confidences (e.g. ``|weight|``) of the candidates.
    pred_sign, true_sign
        Optional predicted signs and reference signs (0 = unknown) for :func:`signed_epr`.

    Returns
    -------
    dict
        ``auroc, auprc, auprc_ratio, epr, signed_epr, n_true, n_candidates, density`` and a
        ``reason`` when the metrics are undefined.
    """
    hit = None
    if pred_sign is not None and true_sign is not None:
        ts = np.asarray(true_sign)
        hit = (ts != 0) & (np.sign(pred_sign) == ts)
    scorer = LinkScorer(y_true, y_score, hit)
    out: dict[str, Any] = scorer.metrics()
    out.update(
        n_true=scorer.n_pos,
        n_candidates=scorer.n,
        density=scorer.n_pos / scorer.n if scorer.n else NAN,
    )
    if scorer.reason():
        out["reason"] = scorer.reason()
    return out


def auroc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Area under the ROC curve (ties count one half); NaN without positives or negatives."""
    return LinkScorer(y_true, y_score).metrics()["auroc"]


def auprc(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Average precision (area under the precision-recall curve); NaN without positives."""
    return LinkScorer(y_true, y_score).metrics()["auprc"]


def auprc_ratio(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """AUPRC divided by the edge density (the AUPRC of a random ranking is about 1)."""
    return LinkScorer(y_true, y_score).metrics()["auprc_ratio"]


def epr(y_true: np.ndarray, y_score: np.ndarray) -> float:
    """Early precision ratio: precision in the top k (k = number of true edges) / density."""
    return LinkScorer(y_true, y_score).metrics()["epr"]


def signed_epr(
    y_true: np.ndarray, y_score: np.ndarray, pred_sign: np.ndarray, true_sign: np.ndarray
) -> float:
    """EPR where a top-k edge counts only if it is true and its predicted sign is right.

    ``k`` and the density are those of :func:`epr` (all true edges); reference edges with an
    unknown sign (``true_sign == 0``) never count as hits.
    """
    return link_metrics(y_true, y_score, pred_sign, true_sign)["signed_epr"]


def expected_random_link(n_true: int, n_candidates: int, n_signed: int = 0) -> dict[str, float]:
    """Exact expected link metrics of a uniformly random ranking with uniform random signs.

    ``E[AP] = q + (1 - q) H_N / N`` with ``q = (P - 1) / (N - 1)`` and ``H_N`` the N-th
    harmonic number; ``E[AUROC] = 0.5``; ``E[EPR] = 1``; ``E[signed EPR] = n_signed / (2 P)``.
    """
    p, n = int(n_true), int(n_candidates)
    if p == 0 or p == n:
        return dict.fromkeys(LINK_KEYS, NAN)
    q = (p - 1) / (n - 1) if n > 1 else 0.0
    harmonic = float(np.sum(1.0 / np.arange(1, n + 1)))
    ap = q + (1 - q) * harmonic / n
    return {
        "auroc": 0.5,
        "auprc": ap,
        "auprc_ratio": ap / (p / n),
        "epr": 1.0,
        "signed_epr": n_signed / (2 * p),
    }


# ----------------------------------------------------------------------------- sign task
def _confusion(pred: np.ndarray, true: np.ndarray, weight: np.ndarray | None = None) -> np.ndarray:
    """(..., 4) weighted counts tp, fp, tn, fn (activation = +1 is the positive class)."""
    pred = np.where(pred == 0, -true, pred)  # no prediction = wrong
    cells = np.stack(
        [(pred > 0) & (true > 0), (pred > 0) & (true < 0), (pred < 0) & (true < 0)]
        + [(pred < 0) & (true > 0)],
        axis=-1,
    ).astype(float)
    if weight is None:
        return cells.sum(axis=0)
    return np.asarray(weight, float) @ cells


def _from_confusion(c: np.ndarray) -> dict[str, Any]:
    tp, fp, tn, fn = (c[..., i] for i in range(4))
    n = tp + fp + tn + fn
    tpr, tnr = _div(tp, tp + fn), _div(tn, tn + fp)
    precision = _div(tp, tp + fp)
    return {
        "accuracy": _div(tp + tn, n),
        "balanced_accuracy": (tpr + tnr) / 2,
        "precision": precision,
        "recall": tpr,
        "f1": _div(2 * tp, 2 * tp + fp + fn),
    }


def sign_metrics(pred_sign: np.ndarray, true_sign: np.ndarray) -> dict[str, Any]:
    """Sign agreement on reference edges with a known sign (activation = positive class).

    Parameters
    ----------
    pred_sign
        (n,) predicted signs or signed weights; 0 means "no prediction" and counts as an error.
    true_sign
        (n,) reference signs, +1 activation / -1 repression (0 entries are dropped).

    Returns
    -------
    dict
        ``accuracy, balanced_accuracy, precision, recall, f1, n_edges, n_activation,
        n_repression, n_unpredicted, confusion {tp, fp, tn, fn}`` and a ``reason`` for any NaN.
    """
    pred = np.sign(np.nan_to_num(np.asarray(pred_sign, float).ravel()))
    true = np.sign(np.asarray(true_sign, float).ravel())
    if pred.shape != true.shape:
        raise ValueError(f"pred_sign {pred.shape} and true_sign {true.shape} differ in shape")
    keep = true != 0
    pred, true = pred[keep], true[keep]
    c = _confusion(pred, true)
    out: dict[str, Any] = {k: float(v) for k, v in _from_confusion(c).items()}
    n_act, n_rep = int((true > 0).sum()), int((true < 0).sum())
    out.update(
        n_edges=int(true.size),
        n_activation=n_act,
        n_repression=n_rep,
        n_unpredicted=int((pred == 0).sum()),
        confusion=dict(zip(("tp", "fp", "tn", "fn"), (int(v) for v in c), strict=True)),
    )
    reasons = []
    if true.size == 0:
        reasons.append("no reference edge with a known sign")
    else:
        if n_act == 0:
            reasons.append("no activation edges: recall and balanced accuracy undefined")
        if n_rep == 0:
            reasons.append("no repression edges: balanced accuracy undefined")
        if c[0] + c[1] == 0:
            reasons.append("no edge predicted as activation: precision undefined")
    if reasons:
        out["reason"] = "; ".join(reasons)
    return out


def percentile_ci(values: np.ndarray, alpha: float = 0.05) -> list[float] | None:
    """``[lo, hi]`` percentile interval of the finite values (None if there are none)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return None
    lo, hi = np.quantile(v, [alpha / 2, 1 - alpha / 2])
    return [float(lo), float(hi)]


def sign_draws(
    pred_sign: np.ndarray, true_sign: np.ndarray, n_boot: int = 200, seed: int = 0
) -> dict[str, np.ndarray]:
    """Every sign metric on ``n_boot`` resamples of the signed edges (with replacement).

    As :meth:`LinkScorer.draws`, resample ``b`` depends only on ``seed`` and the reference
    signs, so two methods' draws on the same edges are paired. ``{metric: (n_boot,) array}``.
    """
    pred = np.sign(np.nan_to_num(np.asarray(pred_sign, float).ravel()))
    true = np.sign(np.asarray(true_sign, float).ravel())
    keep = true != 0
    pred, true = pred[keep], true[keep]
    if n_boot <= 0 or true.size == 0:
        return {k: np.empty(0) for k in SIGN_KEYS}
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, true.size, size=(n_boot, true.size))
    weights = np.zeros((n_boot, true.size))
    np.add.at(weights, (np.arange(n_boot)[:, None], idx), 1.0)
    return {
        k: np.asarray(v, float) for k, v in _from_confusion(_confusion(pred, true, weights)).items()
    }


def bootstrap_sign(
    pred_sign: np.ndarray,
    true_sign: np.ndarray,
    n_boot: int = 200,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, list[float] | None]:
    """Percentile intervals of the sign metrics from resampling the signed edges."""
    draws = sign_draws(pred_sign, true_sign, n_boot, seed)
    return {k: percentile_ci(v, alpha) for k, v in draws.items()}


def paired_difference(
    estimate_a: float,
    estimate_b: float,
    draws_a: np.ndarray,
    draws_b: np.ndarray,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Difference ``a - b`` of one metric of two methods scored on the same edges.

    ``draws_a`` / ``draws_b``: the metric on the same resamples (:meth:`LinkScorer.draws`,
    :func:`sign_draws` with one seed). Returns ``difference`` (of the estimates), its
    percentile ``ci`` over the paired resamples (``None`` without draws) and ``share_a_better``,
    the share of resamples where ``a`` scores higher (ties count one half).
    """
    a, b = np.asarray(draws_a, float), np.asarray(draws_b, float)
    if a.shape != b.shape:
        raise ValueError(f"draws of different shapes {a.shape} and {b.shape}: not paired")
    ok = np.isfinite(a) & np.isfinite(b)
    d = a[ok] - b[ok]
    return {
        "difference": float(estimate_a) - float(estimate_b),
        "ci": percentile_ci(d, alpha),
        "share_a_better": float(np.mean((d > 0) + 0.5 * (d == 0))) if d.size else NAN,
    }


def sign_per_tf(
    tfs: np.ndarray, pred_sign: np.ndarray, true_sign: np.ndarray, min_edges: int = 5
) -> dict[str, Any]:
    """Sign metrics per source TF, for every TF with at least ``min_edges`` signed edges.

    Returns
    -------
    dict
        ``min_edges, n_tfs, n_tfs_total, mean_accuracy, median_accuracy,
        mean_balanced_accuracy, n_tfs_above_half, tfs {TF: {accuracy, balanced_accuracy,
        n_edges, n_activation, n_repression}}`` (TFs sorted by number of edges).
    """
    tfs = np.asarray(tfs).astype(str).ravel()
    true = np.sign(np.asarray(true_sign, float).ravel())
    pred = np.asarray(pred_sign, float).ravel()
    keep = true != 0
    tfs, true, pred = tfs[keep], true[keep], pred[keep]
    names, inv, counts = np.unique(tfs, return_inverse=True, return_counts=True)
    table = {}
    for i in np.argsort(-counts, kind="stable"):
        if counts[i] < min_edges:
            continue
        m = inv == i
        s = sign_metrics(pred[m], true[m])
        table[str(names[i])] = {
            "accuracy": s["accuracy"],
            "balanced_accuracy": s["balanced_accuracy"],
            "n_edges": s["n_edges"],
            "n_activation": s["n_activation"],
            "n_repression": s["n_repression"],
        }
    acc = np.array([v["accuracy"] for v in table.values()], float)
    bal = np.array([v["balanced_accuracy"] for v in table.values()], float)
    return {
        "min_edges": int(min_edges),
        "n_tfs": len(table),
        "n_tfs_total": int(names.size),
        "mean_accuracy": float(acc.mean()) if acc.size else NAN,
        "median_accuracy": float(np.median(acc)) if acc.size else NAN,
        "mean_balanced_accuracy": float(np.nanmean(bal)) if np.isfinite(bal).any() else NAN,
        "n_tfs_above_half": int((acc > 0.5).sum()),
        "tfs": table,
    }


def expected_random_sign(true_sign: np.ndarray) -> dict[str, float]:
    """Expected sign metrics of uniformly random signs (accuracy 0.5, precision = prevalence)."""
    true = np.sign(np.asarray(true_sign, float).ravel())
    true = true[true != 0]
    if true.size == 0:
        return dict.fromkeys(SIGN_KEYS, NAN)
    p = float((true > 0).mean())
    return {
        "accuracy": 0.5,
        "balanced_accuracy": 0.5 if 0 < p < 1 else NAN,
        "precision": p,
        "recall": 0.5 if p > 0 else NAN,
        "f1": 2 * p * 0.5 / (p + 0.5),
    }


def sign_majority_vote(
    values: np.ndarray, active: np.ndarray, true_sign: np.ndarray
) -> dict[str, Any]:
    """The paper's per-cell variant: vote over the cells in which the source is active.

    Parameters
    ----------
    values
        (cells, edges) per-cell signed weights of each reference edge.
    active
        (cells, edges) booleans: the edge's source gene is above its mean in that cell.
    true_sign
        (edges,) reference signs +1 / -1 (0 entries are dropped).

    Returns
    -------
    dict
        :func:`sign_metrics` of the voted signs plus ``predicted`` ((edges,) +1/-1, 0 when
        no sign has a strict majority of the active cells -- counted as an error),
        ``n_excluded_no_active_cell`` (edges without any active cell, excluded) and
        ``mean_fraction_correct_cells`` (over the included edges).
    """
    values = np.asarray(values, float)
    active = np.asarray(active, bool)
    true = np.sign(np.asarray(true_sign, float).ravel())
    if values.ndim != 2 or values.shape != active.shape or values.shape[1] != true.size:
        raise ValueError(
            f"values {values.shape} and active {active.shape} must both be (cells, edges) "
            f"with edges = len(true_sign) = {true.size}"
        )
    n_act = active.sum(axis=0)
    n_pos = (active & (values > 0)).sum(axis=0)
    n_neg = (active & (values < 0)).sum(axis=0)
    pred = np.where(n_pos * 2 > n_act, 1, np.where(n_neg * 2 > n_act, -1, 0))
    included = (n_act > 0) & (true != 0)
    right = np.where(true > 0, n_pos, n_neg)
    out = sign_metrics(pred[included], true[included])
    frac = _div(right[included], n_act[included])
    out.update(
        predicted=pred.astype(int),
        included=included,
        n_excluded_no_active_cell=int(((n_act == 0) & (true != 0)).sum()),
        mean_fraction_correct_cells=float(np.mean(frac)) if included.any() else NAN,
    )
    return out
