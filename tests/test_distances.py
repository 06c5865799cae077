"""Evaluation distances: exact W1 (POT) and the MMD of the training loss."""

import numpy as np
import pytest

from grn_mnn.distances import mmd, w1, w1_subsampled
from grn_mnn.errors import InputError


def test_w1_hand_computed_1d():
    # sorted matching 0->1, 1->2, 2->4: mean |diff| = (1 + 1 + 2) / 3
    x = np.array([[0.0], [1.0], [2.0]])
    y = np.array([[4.0], [1.0], [2.0]])
    assert w1(x, y) == pytest.approx(4.0 / 3.0)


def test_w1_of_translate_is_shift_norm_and_zero_for_identical():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 3))
    v = np.array([0.3, -1.2, 0.4])
    assert w1(x, x + v) == pytest.approx(np.linalg.norm(v), rel=1e-6)
    assert w1(x, x.copy()) == pytest.approx(0.0, abs=1e-6)


def test_w1_unequal_sizes():
    # mass 1/2 at 0 and 1/2 at 2 against all mass at 1: every unit moves distance 1
    assert w1(np.array([[0.0], [2.0]]), np.array([[1.0], [1.0], [1.0]])) == pytest.approx(1.0)


def test_w1_subsampled_exact_when_small_and_close_when_large():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 2)), rng.normal(size=(50, 2)) + 1.0
    small = w1_subsampled(x, y, size=100)
    assert small["n_repeats"] == 1 and small["w1"] == pytest.approx(w1(x, y))
    sub = w1_subsampled(x, y, size=30, n_repeats=3, seed=0)
    assert sub["subsample_size"] == 30 and abs(sub["w1"] - w1(x, y)) < 0.5


def test_mmd_zero_for_identical_and_grows_with_shift():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(80, 4))
    assert mmd(x, x.copy()) == pytest.approx(0.0, abs=1e-12)
    vals = [mmd(x, x + s) for s in (0.25, 0.5, 1.0, 2.0)]
    assert vals[0] > 0 and all(a < b for a, b in zip(vals, vals[1:], strict=False))


def test_bad_shapes_raise():
    with pytest.raises(InputError):
        w1(np.zeros((3, 2)), np.zeros((3, 3)))
    with pytest.raises(InputError):
        mmd(np.zeros((0, 2)), np.zeros((3, 2)))


def test_w1_permutation_null_separates_a_shift_from_resampling():
    from grn_mnn.distances import w1_permutation_null

    # two samples of one population: W1 is positive, and its p-value is uniform over draws
    ps = []
    for s in range(20):
        rng = np.random.default_rng(s)
        x, y = rng.normal(size=(60, 3)), rng.normal(size=(50, 3))
        same = w1_permutation_null(x, y, n_perm=19, seed=1)
        assert same["w1"] > 0 and 0 < same["null_mean"] < same["null_max"]
        ps.append(same["p_value"])
    assert 0.3 < np.mean(ps) < 0.7 and np.mean(np.array(ps) <= 0.05) <= 0.25
    moved = w1_permutation_null(x, y + [2.0, 0.0, 0.0], n_perm=19, seed=1)
    assert moved["w1"] > moved["null_max"] and moved["p_value"] == pytest.approx(1 / 20)
    # the null depends only on the pooled cells, not on which group they came from
    assert moved["null_mean"] < 1.0 < moved["w1"]
    with pytest.raises(InputError, match="n_perm"):
        w1_permutation_null(x, y, n_perm=0)
