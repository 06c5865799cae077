"""Tests of grn_mnn.propagate: the exact gene-to-latent mapping, clamps, the stable propagator.

The fitted models ``full`` and ``part`` are fixtures of conftest.py."""

from __future__ import annotations

import numpy as np
import pytest

from grn_mnn import pp
from grn_mnn.propagate import clamp_targets, latent_shift, stable_propagator


# ----------------------------------------------------------------------------- mapping
def test_project_is_the_exact_image_of_the_gene_change(part):
    _, adata, model = part
    z = adata.obsm[pp.LATENT_KEY][:20]
    x = pp.to_genes(adata, z)
    target = np.full((20, 1), 0.1)
    x_new = x.copy()
    x_new[:, [2]] = target
    shift = latent_shift(model.mapping, z, [2], target, "project")
    np.testing.assert_allclose(z + shift, pp.to_latent(adata, x_new), atol=1e-10)
    # only a fraction ||W_g||^2 of the change is representable in 3 of 8 dimensions
    lev = float((model.mapping["loadings"][2] ** 2).sum())
    achieved = pp.to_genes(adata, z + shift)[:, 2] - x[:, 2]
    np.testing.assert_allclose(achieved, lev * (target[:, 0] - x[:, 2]), atol=1e-10)
    assert lev < 0.99


def test_inside_the_span_the_clamp_is_exact_and_round_trips(full):
    _, adata, model = full
    z = adata.obsm[pp.LATENT_KEY][:20]
    x = pp.to_genes(adata, z)
    np.testing.assert_allclose(pp.to_latent(adata, x), z, atol=1e-10)
    target = np.zeros((20, 2))
    shift = latent_shift(model.mapping, z, [0, 3], target, "project")
    x_new = pp.to_genes(adata, z + shift)
    np.testing.assert_allclose(x_new[:, [0, 3]], 0.0, atol=1e-10)
    others = [g for g in range(8) if g not in (0, 3)]
    np.testing.assert_allclose(x_new[:, others], x[:, others], atol=1e-10)


def test_hold_reaches_the_value_with_the_smallest_move(part):
    _, adata, model = part
    z = adata.obsm[pp.LATENT_KEY][:10]
    target = np.full((10, 1), 0.05)
    shift = latent_shift(model.mapping, z, [4], target, "hold")
    np.testing.assert_allclose(pp.to_genes(adata, z + shift)[:, 4], 0.05, atol=1e-10)
    proj = latent_shift(model.mapping, z, [4], target, "project")
    x = pp.to_genes(adata, z)[:, 4]
    scaled = proj * ((0.05 - x) / (pp.to_genes(adata, z + proj)[:, 4] - x))[:, None]
    np.testing.assert_allclose(pp.to_genes(adata, z + scaled)[:, 4], 0.05, atol=1e-10)
    # another move that reaches the value is longer than hold's
    assert (np.linalg.norm(shift, axis=1) < np.linalg.norm(scaled, axis=1) - 1e-9).all()


def test_clamp_targets_of_each_kind():
    x = np.array([[0.5, 0.0], [1.0, 2.0]])
    data = np.array([[0.2, 1.0], [0.6, 3.0]])
    np.testing.assert_allclose(clamp_targets(x, "knockout", None, data), [[0, 0], [0, 0]])
    # to the minimum, never raising a cell already below it
    np.testing.assert_allclose(
        clamp_targets(x, "knockout", None, data, "min"), [[0.2, 0.0], [0.2, 1.0]]
    )
    np.testing.assert_allclose(
        clamp_targets(x, "overexpress", 2.0, data), np.log1p(2 * np.expm1(x))
    )
    np.testing.assert_allclose(clamp_targets(x, "value", 1.5, data), 1.5)
    np.testing.assert_allclose(
        clamp_targets(x, "shift_sd", 1.0, data), x + data.std(axis=0), atol=1e-12
    )


# ----------------------------------------------------------------------------- propagation
def test_stable_propagator_clips_growth_and_keeps_decay():
    from scipy.linalg import expm

    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.standard_normal((3, 3)))
    decaying = q @ np.diag([-0.5, -1.0, -2.0]) @ q.T
    growing = q @ np.diag([0.8, -1.0, 0.3]) @ q.T
    rot = np.array([[0.2, -1.0, 0.0], [1.0, 0.2, 0.0], [0.0, 0.0, -0.4]])  # spiral out
    out = stable_propagator(np.stack([decaying, growing, rot]))
    np.testing.assert_allclose(out[0], expm(decaying), atol=1e-10)  # nothing to clip
    np.testing.assert_allclose(out[1], q @ np.diag([1.0, np.exp(-1.0), 1.0]) @ q.T, atol=1e-10)
    # the spiral keeps rotating but no longer grows; the raw exponential would grow by e^0.2
    x = np.array([1.0, 0.0, 0.0])
    assert np.linalg.norm(out[2] @ x) == pytest.approx(1.0, abs=1e-10)
    assert np.linalg.norm(expm(rot) @ x) == pytest.approx(np.exp(0.2), rel=1e-10)
    assert not np.allclose(out[2] @ x, x)
