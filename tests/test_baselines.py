"""Baselines: random, signed Pearson and the ridge linear-ODE operator."""

import time

import numpy as np
import pytest
from sklearn.linear_model import Ridge

from grn_mnn import baselines as bl
from grn_mnn.errors import InputError

GENES = ["A", "B", "C", "D"]


def planted(n=300, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=n)
    x = np.column_stack(
        [a, -a + 0.3 * rng.normal(size=n), a + 0.3 * rng.normal(size=n), rng.normal(size=n)]
    )
    return x, np.repeat(np.arange(3.0), n // 3)


def test_pearson_recovers_planted_signs():
    x, t = planted()
    df = bl.pearson(x, GENES, t, sources=["A"])
    w = dict(zip(df["target"], df["weight"], strict=True))
    assert set(df.columns) == {"source", "target", "weight"} and set(df["source"]) == {"A"}
    assert w["B"] < -0.9 and w["C"] > 0.9 and abs(w["D"]) < 0.2
    assert "A" not in w  # no self-loop


def test_pearson_constant_gene_is_zero():
    x, _ = planted()
    x[:, 3] = 2.0
    m = bl.pearson_matrix(x, np.array([0, 3]))
    assert np.all(m[:, 1] == 0) and m[3, 0] == 0 and np.isfinite(m).all()


def euler_means(j, mu, m0, times):
    means = [m0]
    for dt in np.diff(times):
        means.append(means[-1] + dt * j @ (means[-1] - mu))
    return np.array(means)


def test_linear_ode_recovers_known_operator():
    j = np.array([[-0.5, 0.8, 0.0], [0.0, -0.3, -0.6], [0.4, 0.0, -0.2]])
    mu = np.array([1.0, 2.0, 0.5])
    times = np.array([0.0, 0.5, 1.0, 2.0, 2.5, 3.5, 4.0, 5.0])  # uneven steps
    means = euler_means(j, mu, np.array([3.0, 0.0, 1.5]), times)
    # two identical cells per time point: the cell means are exactly the noise-free means
    expr = np.repeat(means, 2, axis=0)
    cell_t = np.repeat(times, 2)
    m = bl.linear_ode_matrix(expr, cell_t, np.arange(3), alpha=1e-10)
    assert np.allclose(m, j, atol=1e-5)
    df = bl.linear_ode(expr, ["g0", "g1", "g2"], cell_t, sources=["g1"], alpha=1e-10)
    w = dict(zip(df["target"], df["weight"], strict=True))
    assert w["g0"] == pytest.approx(0.8, abs=1e-5) and w["g2"] == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize("n_times", [4, 12])  # dual (steps < genes) and primal (steps > genes)
def test_linear_ode_equals_sklearn_ridge(n_times):
    rng = np.random.default_rng(n_times)
    n_genes = 6
    expr = rng.normal(size=(n_times * 5, n_genes))
    times = np.repeat(np.sort(rng.choice(50, n_times, replace=False)).astype(float), 5)
    t, m = bl.time_point_means(expr, times)
    x, y = m[:-1], np.diff(m, axis=0) / np.diff(t)[:, None]
    xc = x - x.mean(axis=0)
    lam = 0.3 * (xc**2).sum() / xc.shape[0]
    j = Ridge(alpha=lam, fit_intercept=True).fit(x, y).coef_  # (targets, sources)
    src = np.array([1, 4])
    assert np.allclose(bl.linear_ode_matrix(expr, times, src, alpha=0.3), j[:, src], atol=1e-8)


def test_linear_ode_errors():
    x, t = planted()
    with pytest.raises(InputError, match="3 distinct time points"):
        bl.linear_ode_matrix(x, (t > 0).astype(float), np.arange(4))
    with pytest.raises(InputError, match="alpha"):
        bl.linear_ode_matrix(x, t, np.arange(4), alpha=0)
    with pytest.raises(InputError, match="times"):
        bl.linear_ode(x, GENES, None)


def test_random_is_seeded_uniform_and_complete():
    x, t = planted()
    a = bl.random(x, GENES, t, seed=3)
    b = bl.random(x, GENES, t, seed=3)
    c = bl.random(x, GENES, t, seed=4)
    assert a.equals(b) and not a["weight"].equals(c["weight"])
    assert len(a) == 4 * 3 and (a["source"] != a["target"]).all()
    w = bl.random_matrix(200, 50, seed=0)
    assert w.min() >= -1 and w.max() <= 1 and abs((w > 0).mean() - 0.5) < 0.03


def test_input_checks():
    x, t = planted()
    with pytest.raises(InputError, match="gene names"):
        bl.pearson(x, GENES[:3])
    with pytest.raises(InputError, match="not among the genes"):
        bl.pearson(x, GENES, sources=["Q"])
    with pytest.raises(InputError, match="cells"):
        bl.random(x, GENES, t[:5])
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(InputError, match="NaN"):
        bl.pearson(bad, GENES)
    with pytest.raises(InputError, match="unknown baseline"):
        bl.run_baseline("scenic", x, GENES, t)
    assert len(bl.run_baseline("pearson", x, GENES, t, sources=["a"])) == 3  # case-insensitive


def test_fast_at_hepatocyte_size():
    rng = np.random.default_rng(0)
    expr = rng.random((425, 1448)).astype(np.float32)
    times = np.repeat([0.0, 6, 8, 14, 21], 85)
    src = np.arange(0, 1448, 10)[:134]
    t0 = time.perf_counter()
    p = bl.pearson_matrix(expr, src)
    o = bl.linear_ode_matrix(expr, times, src)
    assert p.shape == o.shape == (1448, 134)
    assert time.perf_counter() - t0 < 2.0
