"""Metrics on hand-made cases with known answers."""

import itertools
import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

from grn_mnn import metrics as mt

Y = np.array([1, 1, 0, 0, 0, 0, 0, 0])  # density 0.25


def test_perfect_predictor_scores_at_max():
    r = mt.link_metrics(Y, Y.astype(float))
    assert r["auroc"] == 1.0 and r["auprc"] == 1.0
    assert r["auprc_ratio"] == pytest.approx(4.0) and r["epr"] == pytest.approx(4.0)
    assert (r["n_true"], r["n_candidates"], r["density"]) == (2, 8, 0.25)
    assert "reason" not in r


def test_reversed_predictor_scores_zero():
    r = mt.link_metrics(Y, -Y.astype(float))
    assert r["auroc"] == 0.0 and r["epr"] == 0.0
    # the positives come last: precision at full recall = density
    assert r["auprc"] == pytest.approx(0.25)


def test_matches_sklearn_with_ties():
    rng = np.random.default_rng(1)
    for _ in range(5):
        y = rng.random(300) < 0.1
        s = np.round(rng.random(300) + 0.4 * y, 1)
        s[rng.random(300) < 0.4] = 0.0  # many ties, as missing edges (weight 0) create
        assert mt.auroc(y, s) == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert mt.auprc(y, s) == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_epr_counts_ties_at_cutoff_by_expected_share():
    # all scores tied: the top-2 is a random draw -> expected precision = density -> EPR 1
    assert mt.epr(Y, np.zeros(8)) == pytest.approx(1.0)
    # one true edge strictly on top, the rest tied: top-2 = 1 hit + 1/7 of the tied hit
    s = np.array([2, 1, 1, 1, 1, 1, 1, 1], float)
    assert mt.epr(Y, s) == pytest.approx((1 + 1 / 7) / 2 / 0.25)


def test_edge_absent_from_truth_is_not_a_true_positive():
    s = np.array([5, 4, 9, 0, 0, 0, 0, 0], float)  # a false edge ranked first
    r = mt.link_metrics(Y, s)
    assert r["n_true"] == 2
    assert r["auprc"] == pytest.approx((1 / 2 + 2 / 3) / 2)
    assert r["epr"] == pytest.approx(0.5 / 0.25)


def test_signed_epr_needs_true_edge_and_right_sign():
    s = np.array([9, 8, 0, 0, 0, 0, 0, 0], float)
    true_sign = np.array([1, -1, 0, 0, 0, 0, 0, 0])
    both_right = mt.signed_epr(Y, s, np.array([1, -1, 1, 1, 1, 1, 1, 1]), true_sign)
    one_wrong = mt.signed_epr(Y, s, np.array([1, 1, 1, 1, 1, 1, 1, 1]), true_sign)
    assert both_right == pytest.approx(4.0) and one_wrong == pytest.approx(2.0)
    # a true edge with unknown reference sign never counts
    unknown = mt.signed_epr(Y, s, np.ones(8), np.array([1, 0, 0, 0, 0, 0, 0, 0]))
    assert unknown == pytest.approx(2.0)
    assert mt.epr(Y, s) == pytest.approx(4.0)


def test_random_ranking_sits_at_density():
    rng = np.random.default_rng(0)
    y = np.zeros(400, bool)
    y[:20] = True  # density 0.05
    res = np.array([list(mt.link_metrics(y, rng.random(400)).values())[:5] for _ in range(400)])
    auroc, auprc = res[:, 0].mean(), res[:, 1].mean()
    exp = mt.expected_random_link(20, 400)
    assert auroc == pytest.approx(0.5, abs=0.02)
    assert auprc == pytest.approx(exp["auprc"], rel=0.08)
    assert exp["auprc"] == pytest.approx(0.05, abs=0.02)
    assert res[:, 3].mean() == pytest.approx(1.0, abs=0.15)  # EPR


def test_expected_random_ap_formula_is_exact():
    n, p = 6, 2
    aps = []
    for pos in itertools.combinations(range(n), p):
        y = np.zeros(n, bool)
        y[list(pos)] = True
        aps.append(mt.auprc(y, -np.arange(n, dtype=float)))  # rank order 0..n-1
    assert mt.expected_random_link(p, n)["auprc"] == pytest.approx(np.mean(aps))


def test_degenerate_link_cases_give_nan_with_reason():
    r = mt.link_metrics(np.zeros(5), np.arange(5.0))
    assert math.isnan(r["auroc"]) and "no positives" in r["reason"]
    r = mt.link_metrics(np.ones(3), np.arange(3.0))
    assert math.isnan(r["auprc"]) and "no negatives" in r["reason"]
    r = mt.link_metrics(np.zeros(0), np.zeros(0))
    assert math.isnan(r["epr"]) and "no candidate" in r["reason"]
    assert mt.LinkScorer(np.zeros(4), np.ones(4)).bootstrap(10)["auroc"] is None


def test_sign_confusion_by_hand():
    pred = np.array([1, 1, -1, -1, 0])
    true = np.array([1, -1, -1, 1, 1])
    r = mt.sign_metrics(pred, true)
    assert r["confusion"] == {"tp": 1, "fp": 1, "tn": 1, "fn": 2}
    assert r["accuracy"] == pytest.approx(2 / 5)
    assert r["precision"] == pytest.approx(1 / 2)
    assert r["recall"] == pytest.approx(1 / 3)
    assert r["f1"] == pytest.approx(2 / 5)
    assert r["balanced_accuracy"] == pytest.approx((1 / 3 + 1 / 2) / 2)
    assert r["n_unpredicted"] == 1 and r["n_edges"] == 5


def test_sign_perfect_and_reversed():
    true = np.array([1, 1, -1, -1, 1])
    assert mt.sign_metrics(true * 0.3, true)["accuracy"] == 1.0
    assert mt.sign_metrics(true * 0.3, true)["balanced_accuracy"] == 1.0
    rev = mt.sign_metrics(-true, true)
    assert rev["accuracy"] == 0.0 and rev["f1"] == 0.0


def test_sign_degenerate_cases():
    r = mt.sign_metrics(np.array([1, -1]), np.array([1, 1]))
    assert math.isnan(r["balanced_accuracy"]) and "no repression" in r["reason"]
    r = mt.sign_metrics(np.array([]), np.array([]))
    assert r["n_edges"] == 0 and math.isnan(r["accuracy"]) and "no reference edge" in r["reason"]
    r = mt.sign_metrics(np.array([1.0, 2.0]), np.array([0, 0]))  # unknown signs are dropped
    assert r["n_edges"] == 0
    assert mt.bootstrap_sign(np.array([]), np.array([]))["accuracy"] is None


def test_sign_bootstrap_is_seeded_and_brackets_estimate():
    rng = np.random.default_rng(3)
    true = rng.choice([-1, 1], 200)
    pred = np.where(rng.random(200) < 0.7, true, -true)
    a = mt.bootstrap_sign(pred, true, n_boot=300, seed=5)
    b = mt.bootstrap_sign(pred, true, n_boot=300, seed=5)
    assert a == b
    acc = mt.sign_metrics(pred, true)["accuracy"]
    assert a["accuracy"][0] < acc < a["accuracy"][1]
    assert a["accuracy"][1] - a["accuracy"][0] < 0.2
    assert mt.bootstrap_sign(pred, true, n_boot=0)["f1"] is None


def test_link_bootstrap_brackets_estimate():
    rng = np.random.default_rng(2)
    y = rng.random(500) < 0.1
    s = rng.random(500) + 0.5 * y
    scorer = mt.LinkScorer(y, s)
    est = scorer.metrics()
    ci = scorer.bootstrap(200, seed=1)
    for k in ("auroc", "auprc", "auprc_ratio"):
        assert ci[k][0] <= est[k] <= ci[k][1]
    perfect = mt.LinkScorer(y, y.astype(float)).bootstrap(50)
    assert perfect["auroc"] == [1.0, 1.0]


def test_link_resamples_name_the_same_edges_whatever_the_scores():
    # resample b weights each true edge by its count in a draw over the candidate order: the
    # metric equals the metric of a data set in which each true edge is repeated that often
    rng = np.random.default_rng(4)
    y = rng.random(60) < 0.2
    s = rng.random(60) + 0.4 * y
    draws = mt.LinkScorer(y, s).draws(5, seed=7)
    pos = np.flatnonzero(y)
    rng7 = np.random.default_rng(7)
    for b in range(5):
        counts = np.bincount(rng7.integers(0, pos.size, pos.size), minlength=pos.size)
        keep = np.r_[np.flatnonzero(~y), np.repeat(pos, counts)]
        assert draws["auroc"][b] == pytest.approx(mt.auroc(y[keep], s[keep]))
        assert draws["auprc"][b] == pytest.approx(mt.auprc(y[keep], s[keep]))


def test_paired_difference_of_two_rankings():
    rng = np.random.default_rng(5)
    y = rng.random(400) < 0.1
    good = rng.random(400) + 1.0 * y
    worse = good - 0.6 * y * rng.random(400)  # every true edge ranks lower, none higher
    a, b = mt.LinkScorer(y, good), mt.LinkScorer(y, worse)
    da, db = a.draws(200, seed=3), b.draws(200, seed=3)
    d = mt.paired_difference(a.metrics()["auroc"], b.metrics()["auroc"], da["auroc"], db["auroc"])
    assert d["difference"] > 0 and d["ci"][0] > 0 and d["share_a_better"] == 1.0
    # a method against itself: every paired difference is 0, unlike the unpaired intervals
    same = mt.paired_difference(0.7, 0.7, da["auprc"], a.draws(200, seed=3)["auprc"])
    assert same["ci"] == [0.0, 0.0] and same["share_a_better"] == 0.5
    assert mt.paired_difference(1.0, 0.0, np.empty(0), np.empty(0))["ci"] is None
    with pytest.raises(ValueError, match="not paired"):
        mt.paired_difference(1.0, 0.0, da["auroc"], db["auroc"][:10])
    # sign draws: flipping a right sign to a wrong one never helps in any resample
    true = rng.choice([-1, 1], 80)
    pred = np.where(rng.random(80) < 0.8, true, -true)
    flipped = pred.copy()
    flipped[np.flatnonzero(pred == true)[:8]] *= -1
    sa, sb = mt.sign_draws(pred, true, 100, 1), mt.sign_draws(flipped, true, 100, 1)
    assert (sa["accuracy"] >= sb["accuracy"]).all() and (sa["accuracy"] > sb["accuracy"]).any()
    assert mt.bootstrap_sign(pred, true, 100, 1)["accuracy"] == mt.percentile_ci(sa["accuracy"])


def test_sign_per_tf_respects_minimum():
    tfs = np.array(["A"] * 6 + ["B"] * 2)
    true = np.array([1, 1, -1, -1, 1, -1, 1, 1])
    pred = np.array([1, 1, -1, -1, 1, 1, -1, -1])
    r = mt.sign_per_tf(tfs, pred, true, min_edges=5)
    assert list(r["tfs"]) == ["A"] and r["n_tfs"] == 1 and r["n_tfs_total"] == 2
    assert r["tfs"]["A"]["accuracy"] == pytest.approx(5 / 6)
    assert r["tfs"]["A"]["n_activation"] == 3


def test_majority_vote_by_hand():
    # 4 cells x 3 edges
    values = np.array([[1.0, -1.0, 1.0], [1.0, -1.0, 1.0], [-1.0, 1.0, 1.0], [1.0, 1.0, 1.0]])
    active = np.array([[1, 1, 0], [1, 1, 0], [1, 1, 0], [0, 1, 0]], bool)
    true = np.array([1, -1, 1])
    r = mt.sign_majority_vote(values, active, true)
    # edge 0: active cells 0-2 -> +,+,- -> +1 (right); edge 1: -,-,+,+ -> tie -> 0 (error);
    # edge 2: no active cell -> excluded
    assert r["predicted"].tolist() == [1, 0, 0]
    assert r["n_excluded_no_active_cell"] == 1 and r["n_edges"] == 2
    assert r["accuracy"] == pytest.approx(0.5)
    assert r["mean_fraction_correct_cells"] == pytest.approx((2 / 3 + 2 / 4) / 2)
    with pytest.raises(ValueError):
        mt.sign_majority_vote(values, active[:, :2], true)


def test_expected_random_sign():
    e = mt.expected_random_sign(np.array([1, 1, 1, -1]))
    assert e["accuracy"] == 0.5 and e["precision"] == 0.75
    assert e["f1"] == pytest.approx(2 * 0.75 * 0.5 / 1.25)
