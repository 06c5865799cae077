"""Tests of validation/sign_support.py: the oracle-support regressions and the default row."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import validation_script

from grn_mnn import grnbench, pipeline, pp, readout, simcases


@pytest.fixture(scope="module")
def ss():
    return validation_script("sign_support")


def _unit(ss, values, pairs, t=None):
    t = np.repeat(np.arange(4.0), len(values) // 4) if t is None else t
    return ss.Unit(np.log1p(values), t, np.arange(values.shape[1]), np.asarray(pairs), values)


def test_joint_regression_on_the_true_support_undoes_a_co_regulator(ss):
    # target = a - b with a and b strongly correlated: the marginal correlation of target and b
    # is positive, the joint coefficient of b negative (the confounding the script measures)
    rng = np.random.default_rng(0)
    a = rng.normal(size=400)
    b = 0.9 * a + 0.3 * rng.normal(size=400)
    target = 2.0 * a - 1.0 * b + 0.05 * rng.normal(size=400)
    x = np.column_stack([a, b, target])
    assert np.corrcoef(target, b)[0, 1] > 0
    u = _unit(ss, np.exp(x), [(2, 0, 1), (2, 1, -1)])
    coef = ss.joint_on_support(x, u)
    assert coef[2, 0] > 0 > coef[2, 1]
    assert np.count_nonzero(coef) == 2  # nothing off the support


def test_ode_on_support_reads_a_known_system(ss):
    times = np.linspace(0.0, 3.0, 13)
    s = 1.0 + times
    target = np.zeros_like(times)
    for k in range(1, len(times)):
        target[k] = target[k - 1] + (times[k] - times[k - 1]) * (s[k - 1] - 0.5 * target[k - 1])
    lin = np.column_stack([s, target])
    u = ss.Unit(np.log1p(lin), times, np.array([0, 1]), np.array([[1, 0, 1]]), lin)
    got = ss.ode_on_support(lin, u)
    assert got[1, 0] == pytest.approx(1.0) and got[0, 0] == 0.0


def test_default_row_is_the_default_networks_sign_accuracy(ss):
    case = simcases.make_case("ffl_coherent", 0)
    acc = ss.accuracies(ss.unit_of(case, 0))
    prep = case.adata.copy()
    pp.prepare(prep, "time", min(pipeline.RUN_N_PCS, prep.n_vars - 1), seed=0)
    net = readout.network(prep, sources=case.sources, key_added=None)
    scored = grnbench.score_edges(net, case.truth, case.genes, case.sources)
    assert acc["default (expression+within)"] == pytest.approx(scored["sign_accuracy"])
    assert set(acc.values()) <= {0.0, 0.25, 0.5, 0.75, 1.0}  # 4 true edges
    # the joint regression on noise-free concentrations and the true support signs the motif
    assert acc["ORACLE support: joint regression, noise-free concentrations"] == 1.0
