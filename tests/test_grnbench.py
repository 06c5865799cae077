"""Tests of grn_mnn.grnbench: scoring a predicted network against a known one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from grn_mnn.errors import InputError
from grn_mnn.grnbench import METRICS, candidate_matrix, score_edges

GENES = ["A", "B", "C", "D", "E"]
TRUTH = pd.DataFrame(
    {
        "source": ["A", "A", "B", "C", "A"],
        "target": ["B", "C", "D", "E", "A"],
        "sign": [1, -1, 1, -1, 1],
    }
)
TRUE_EDGES = TRUTH[TRUTH["source"] != TRUTH["target"]]  # the self-loop A -> A is not scored


def _all_pairs(value: float = 0.0) -> pd.DataFrame:
    rows = [(s, t, value) for s in GENES for t in GENES if s != t]
    return pd.DataFrame(rows, columns=["source", "target", "weight"])


def _perfect(flip: bool = False) -> pd.DataFrame:
    w = TRUE_EDGES["sign"] * (-1 if flip else 1)
    return TRUE_EDGES.assign(weight=w.astype(float))[["source", "target", "weight"]]


def test_perfect_predictor_scores_one():
    s = score_edges(_perfect(), TRUTH, GENES)
    assert s["n_candidates"] == 20 and s["n_true"] == 4
    assert s["auroc"] == 1.0 and s["sign_accuracy"] == 1.0 and s["signed_epr"] == s["epr"]
    assert s["epr"] == pytest.approx(20 / 4) and s["auprc_ratio"] == pytest.approx(5.0)
    assert s["sign_balanced_accuracy"] == 1.0 and s["n_true_zero"] == 0
    assert set(METRICS) <= set(s)


def test_flipped_signs_and_inverted_ranks_score_zero():
    flipped = score_edges(_perfect(flip=True), TRUTH, GENES)
    assert flipped["sign_accuracy"] == 0.0 and flipped["signed_epr"] == 0.0
    assert flipped["auroc"] == 1.0  # the ranking is still perfect
    inv = _all_pairs(1.0)
    true = set(zip(TRUE_EDGES["source"], TRUE_EDGES["target"], strict=True))
    inv["weight"] = [
        0.1 if (s, t) in true else 1.0 for s, t in zip(inv.source, inv.target, strict=True)
    ]
    s = score_edges(inv, TRUTH, GENES)
    assert s["auroc"] == 0.0 and s["epr"] == 0.0


def test_edges_absent_from_truth_are_negatives_and_missing_edges_weigh_zero():
    only_false = pd.DataFrame({"source": ["E"], "target": ["A"], "weight": [5.0]})
    s = score_edges(only_false, TRUTH, GENES)
    # top 4 = the false edge + 3 of the 19 tied at weight 0 (4 of which are true)
    assert s["n_true"] == 4 and s["epr"] == pytest.approx(3 * 4 / 19 / 4 / 0.2)
    assert s["auroc"] == pytest.approx(0.5 * 15 / 16)  # true edges tie with 15 of 16 negatives
    half = _perfect().iloc[:2]
    s = score_edges(half, TRUTH, GENES)
    assert s["n_true_zero"] == 2
    assert s["sign_accuracy"] == 0.5 and s["sign_accuracy_predicted"] == 1.0


def test_candidate_set_from_sources():
    extra = pd.DataFrame([["D", "E", 9.0], ["A", "A", 9.0]], columns=["source", "target", "weight"])
    pred = pd.concat([_perfect(), extra])
    s = score_edges(pred, TRUTH, GENES, sources=["A", "B", "E"])
    assert s["n_candidates"] == 3 * 4  # D -> E (not a candidate) and the self-loop ignored
    assert s["n_true"] == 3 and s["n_true_outside"] == 1  # C -> E cannot be predicted
    assert s["auroc"] == 1.0
    with pytest.raises(InputError, match="not among the genes"):
        score_edges(pred, TRUTH, GENES, sources=["Z"])
    with pytest.raises(InputError, match="columns"):
        score_edges(pred.drop(columns="weight"), TRUTH, GENES)


def test_duplicates_nan_and_unsigned():
    dup = pd.DataFrame(
        {"source": ["A", "A", "B"], "target": ["B", "B", "D"], "weight": [0.1, -2.0, np.nan]}
    )
    m = candidate_matrix(dup, GENES)
    assert m[1, 0] == -2.0 and m[3, 1] == 0.0
    s = score_edges(_perfect().assign(weight=1.0), TRUTH, GENES, signed=False)
    assert s["auroc"] == 1.0
    assert all(np.isnan(s[k]) for k in ("sign_accuracy", "signed_epr", "sign_balanced_accuracy"))
