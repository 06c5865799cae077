"""Tests of validation/sign_ceiling.py: the Lyapunov sign solver and the more-cells cases."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import validation_script
from scipy.linalg import solve_continuous_lyapunov

from grn_mnn import simcases


@pytest.fixture(scope="module")
def sc():
    return validation_script("sign_ceiling")


def _feedback_operator() -> np.ndarray:
    """X -> Y -> Z -| X with unit decay: the loop whose last edge a correlation signs wrong."""
    j = -np.eye(3)
    j[1, 0], j[2, 1], j[0, 2] = 1.5, 1.5, -0.3
    return j


def test_lyapunov_solve_recovers_a_feedback_loop_from_its_stationary_covariance(sc):
    j = _feedback_operator()
    cov = solve_continuous_lyapunov(j, -np.diag([3.0, 0.1, 0.1]))  # the noise enters at X
    sd = np.sqrt(np.diag(cov))
    corr = cov / np.outer(sd, sd)
    assert corr[0, 2] > 0  # Z and X co-vary positively although Z represses X
    support = [(1, 0), (2, 1), (0, 2)]
    got = sc.lyapunov_solve([corr], support, ridge=0.0)
    standardised = j / sd[:, None] * sd[None, :]  # S^-1 J S: the operator of the z-scores
    np.testing.assert_allclose(got, [standardised[i, m] for i, m in support], rtol=1e-8)
    assert np.sign(got[2]) == -1
    # a readout W of Y adds equations: an edge that is not there is then fitted at 0
    j4 = np.zeros((4, 4))
    j4[:3, :3], j4[3, 3], j4[3, 1] = j, -1.0, 1.0
    cov4 = solve_continuous_lyapunov(j4, -np.diag([3.0, 0.1, 0.1, 0.1]))
    sd4 = np.sqrt(np.diag(cov4))
    wrong = [*support, (3, 1), (1, 2)]
    fit4 = sc.lyapunov_solve([cov4 / np.outer(sd4, sd4)], wrong, ridge=0.0)
    assert abs(fit4[4]) < 1e-8
    assert list(np.sign(fit4[:4])) == [1, 1, -1, 1]
    extra = sc.lyapunov_solve([corr], support, ridge=1e-3)
    np.testing.assert_allclose(extra, got, atol=1e-2)  # the ridge barely moves it


def test_correlations_by_time_and_ranked_support(sc):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4))
    x[:, 3] = 1.0  # constant gene
    t = np.repeat([0.0, 1.0], 30)
    corrs = sc.correlations_by_time(x, t)
    assert len(corrs) == 2
    np.testing.assert_allclose(corrs[1][:3, :3], np.corrcoef(x[30:, :3].T), atol=1e-12)
    assert corrs[0][3, 0] == 0 and corrs[0][3, 3] == 1
    score = np.array([[9.0, -5.0, 1.0], [0.5, 9.0, -3.0], [2.0, -4.0, 9.0]])
    src = np.array([0, 1, 2])
    assert sc.ranked_support(score, src, k=1) == [(0, 1), (1, 2), (2, 1)]  # never a self-loop


def test_more_cells_scales_every_simulated_case_and_leaves_the_registry(sc):
    before = dict(simcases.CASES)
    specs = sc.more_cells(4)
    assert simcases.CASES == before
    for name, spec in specs.items():
        if spec.sim:
            assert spec.sim["cells_per_time"] == 4 * before[name].sim["cells_per_time"]
        else:
            assert spec.base is not None  # a _tfs case reuses its base case's cells


def test_mean_sd_over_seeds_averages_cases_first(sc):
    units = [
        {"seed": 0, "regime": "a", "x": 1.0},
        {"seed": 0, "regime": "a", "x": 0.0},
        {"seed": 1, "regime": "a", "x": 1.0},
        {"seed": 1, "regime": "b", "x": 0.0},  # another regime: not counted
    ]
    got = sc.mean_sd_over_seeds(units, "x", [0, 1], regime="a")
    assert got == {"mean": 0.75, "sd": 0.25}
