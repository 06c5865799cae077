"""The hypernetwork: one operator convention for propagation and extraction."""

import numpy as np
import pytest
import torch
from scipy.linalg import expm

from grn_mnn.config import MNNConfig
from grn_mnn.errors import ConfigError
from grn_mnn.module import (
    EXPM_ACTION_FROM_D,
    EXPM_ACTION_MAX_STEPS,
    CellMNNModule,
    expm_action,
    invertibility_penalty,
)


def _module(parameterization: str, **kw) -> CellMNNModule:
    torch.manual_seed(0)
    cfg = MNNConfig(
        n_pcs=4, parameterization=parameterization, width=16, depth=2, last_layer_scale=1.0, **kw
    )
    return CellMNNModule(4, cfg, time_scale=2.0).double()


def _inputs(n=7):
    g = torch.Generator().manual_seed(1)
    z = torch.randn(n, 4, generator=g, dtype=torch.float64)
    t0 = torch.rand(n, generator=g, dtype=torch.float64)
    t1 = t0 + 0.5 + torch.rand(n, generator=g, dtype=torch.float64)
    return z, t0, t1


def test_eigen_operator_is_p_diag_lambda_p_inverse():
    m = _module("eigen", max_op_norm=1e6)
    z, t0, _ = _inputs()
    a, p = m.operator_parts(z, t0)
    out = m.net(m._inputs(z, t0, None)).detach().numpy()
    for i in range(len(z)):
        p_i = np.eye(4) + out[i, :16].reshape(4, 4)
        lam = out[i, 16:]
        ref = p_i @ np.diag(lam) @ np.linalg.inv(p_i)
        np.testing.assert_allclose(p[i].detach().numpy(), p_i, atol=1e-10)
        np.testing.assert_allclose(a[i].detach().numpy(), ref, rtol=1e-6, atol=1e-8)
        # the eigenvalues of the operator used for dynamics are exactly lambda
        np.testing.assert_allclose(
            np.sort(np.linalg.eigvals(a[i].detach().numpy()).real), np.sort(lam), atol=1e-6
        )
    assert torch.isfinite(invertibility_penalty(p))


def test_zero_eigenvalues_are_fixed():
    m = _module("eigen", n_zero_eigs=2, max_op_norm=1e6)
    z, t0, _ = _inputs()
    a = m.operator(z, t0).detach().numpy()
    for ai in a:
        assert np.sum(np.abs(np.linalg.eigvals(ai)) < 1e-8) >= 2


@pytest.mark.parametrize("parameterization", ["direct", "eigen"])
@pytest.mark.parametrize("method", ["matrix", "action"])
def test_propagate_is_expm_of_the_extracted_operator(parameterization, method):
    m = _module(parameterization, expm=method)
    z, t0, t1 = _inputs()
    with torch.no_grad():
        a = m.operator(z, t0).numpy()
        got = m.propagate(z, t0, t1).numpy()
    dt = ((t1 - t0) / 2.0).numpy()  # time_scale 2
    for i in range(len(z)):
        np.testing.assert_allclose(got[i], expm(a[i] * dt[i]) @ z[i].numpy(), rtol=1e-8)


def test_path_energy_matches_midpoint_rule_and_leaves_endpoint_unchanged():
    m = _module("direct")
    z, t0, t1 = _inputs(5)
    with torch.no_grad():
        a = m.operator(z, t0).numpy()
        end, energy = m.propagate(z, t0, t1, energy_points=3)
        plain = m.propagate(z, t0, t1)
    torch.testing.assert_close(end, plain)
    dt = ((t1 - t0) / 2.0).numpy()
    for i in range(len(z)):
        speeds = [
            np.sum((a[i] @ expm(a[i] * f * dt[i]) @ z[i].numpy()) ** 2)
            for f in (1 / 6, 1 / 2, 5 / 6)
        ]
        assert energy[i].item() == pytest.approx(np.mean(speeds), rel=1e-8)


def test_multi_step_path_refreshes_the_operator():
    cfg = MNNConfig(n_pcs=4, width=16, depth=2, last_layer_scale=1.0, n_steps_path=2)
    torch.manual_seed(0)
    m = CellMNNModule(4, cfg).double()
    z, t0, t1 = _inputs(3)
    with torch.no_grad():
        a0 = m.operator(z, t0).numpy()
        half = t0 + (t1 - t0) / 2
        z_mid = np.stack([expm(a0[i] * (half - t0)[i].item()) @ z[i].numpy() for i in range(3)])
        a1 = m.operator(torch.from_numpy(z_mid), half).numpy()
        got = m.propagate(z, t0, t1).numpy()
    ref = np.stack([expm(a1[i] * (t1 - half)[i].item()) @ z_mid[i] for i in range(3)])
    np.testing.assert_allclose(got, ref, rtol=1e-8)


def test_fixed_path_step_is_consistent_at_intermediate_times():
    """With path_step h the grid does not depend on the end time: the state pushed to an
    intermediate time is the one the longer path passes through, and a partial last step uses
    the operator refreshed on the grid."""
    cfg = MNNConfig(n_pcs=4, width=16, depth=2, last_layer_scale=1.0, path_step=0.5)
    torch.manual_seed(0)
    m = CellMNNModule(4, cfg).double()
    z = torch.randn(5, 4, dtype=torch.float64)
    t0 = torch.tensor([0.0, 0.0, 1.0, 1.0, 2.0], dtype=torch.float64)
    with torch.no_grad():
        long = m.propagate(z, t0, t0 + 1.7)
        mid = m.propagate(z, t0, t0 + 1.0)
        rest = m.propagate(mid, t0 + 1.0, t0 + 1.7)
        # by hand: steps of 0.5, 0.5, 0.5, 0.2 with A refreshed at each grid point
        ref = z.clone()
        tt = t0.clone()
        for length in (0.5, 0.5, 0.5, 0.2):
            a = m.operator(ref, tt).numpy()
            ref = torch.from_numpy(
                np.stack([expm(a[i] * length) @ ref[i].numpy() for i in range(5)])
            )
            tt = tt + length
        # cells with different spans in one batch: each stops at its own end time
        spans = torch.tensor([1.7, 1.0, 1.7, 1.0, 1.7], dtype=torch.float64)
        mixed = m.propagate(z, t0, t0 + spans)
    np.testing.assert_allclose(long.numpy(), ref.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(rest.numpy(), long.numpy(), rtol=1e-8, atol=1e-12)
    np.testing.assert_allclose(mixed[[1, 3]].numpy(), mid[[1, 3]].numpy(), rtol=1e-8)
    np.testing.assert_allclose(mixed[[0, 2, 4]].numpy(), long[[0, 2, 4]].numpy(), rtol=1e-8)
    # equal steps (n_steps_path) depend on the span, so they are not consistent in this way
    cfg2 = cfg.replace(path_step=None, n_steps_path=2)
    torch.manual_seed(0)
    m2 = CellMNNModule(4, cfg2).double()
    with torch.no_grad():
        a = m2.propagate(m2.propagate(z, t0, t0 + 1.0), t0 + 1.0, t0 + 1.7)
        b = m2.propagate(z, t0, t0 + 1.7)
    assert not np.allclose(a.numpy(), b.numpy(), rtol=1e-6)


def test_operator_starts_near_zero_with_paper_scale():
    torch.manual_seed(0)
    m = CellMNNModule(5, MNNConfig())
    z = torch.randn(10, 5)
    assert m.operator(z, torch.zeros(10)).abs().max().item() < 0.05


@pytest.mark.parametrize("shift", [0.0, -6.0, 4.0])
def test_expm_action_equals_the_matrix_exponential(shift):
    # float64: to rounding, over small and large norms, decay and growth (trace shift)
    g = torch.Generator().manual_seed(0)
    for d, scale in ((2, 0.3), (6, 2.5), (30, 0.4)):
        b = torch.randn(9, d, d, generator=g, dtype=torch.float64) * scale
        b = b * torch.rand(9, 1, 1, generator=g, dtype=torch.float64) * 2
        b = b + shift * torch.eye(d, dtype=torch.float64)
        z = torch.randn(9, d, generator=g, dtype=torch.float64)
        ref = np.stack([expm(b[i].numpy()) @ z[i].numpy() for i in range(9)])
        np.testing.assert_allclose(expm_action(b, z).numpy(), ref, rtol=1e-11, atol=1e-13)
        # float32: as accurate as torch's own matrix exponential in float32
        got32 = expm_action(b.float(), z.float()).double().numpy()
        mat32 = (torch.linalg.matrix_exp(b.float()) @ z.float().unsqueeze(-1)).squeeze(-1)
        err = np.abs(got32 - ref).max() / np.abs(ref).max()
        err_mat = np.abs(mat32.double().numpy() - ref).max() / np.abs(ref).max()
        assert err < max(2e-6, 3 * err_mat)
    # zero operator: the identity; a cell past the step cap (matrix_exp) and one just below it
    # (Taylor) are exact and do not disturb the others
    z = torch.randn(4, 4, generator=g, dtype=torch.float64)
    b = torch.zeros(4, 4, 4, dtype=torch.float64)
    b[1] = 9.0 * torch.randn(4, 4, generator=g, dtype=torch.float64)
    b[3] = torch.randn(4, 4, generator=g, dtype=torch.float64)
    b[3] *= (EXPM_ACTION_MAX_STEPS - 0.5) / b[3].abs().sum(0).max()
    assert b[1].abs().sum(0).max() > EXPM_ACTION_MAX_STEPS + 5
    out = expm_action(b, z)
    np.testing.assert_allclose(out[[0, 2]].numpy(), z[[0, 2]].numpy(), rtol=0, atol=0)
    for i in (1, 3):
        np.testing.assert_allclose(out[i].numpy(), expm(b[i].numpy()) @ z[i].numpy(), rtol=1e-10)


def test_expm_action_passes_non_finite_operators_on_like_matrix_exp():
    # training's divergence handling relies on a non-finite result, not an exception
    b = torch.zeros(3, 4, 4)
    b[1, 0, 1] = float("nan")
    b[2, 2, 3] = float("inf")
    z = torch.ones(3, 4)
    out = expm_action(b, z)
    assert torch.equal(out[0], z[0])
    assert not torch.isfinite(out[1]).all() and not torch.isfinite(out[2]).all()


def test_expm_action_gradient_is_exact():
    g = torch.Generator().manual_seed(2)
    b = torch.randn(3, 5, 5, generator=g, dtype=torch.float64) * 0.9
    b[2] *= 3 * EXPM_ACTION_MAX_STEPS / b[2].abs().sum(0).max()  # past the cap: matrix_exp
    z = torch.randn(3, 5, generator=g, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(expm_action, (b.requires_grad_(), z))


def test_expm_methods_agree_along_refreshed_paths_with_energy():
    kw = {"path_step": 0.3}
    m_mat, m_act = _module("direct", expm="matrix", **kw), _module("direct", expm="action", **kw)
    m_act.load_state_dict(m_mat.state_dict())
    z, t0, t1 = _inputs()
    with torch.no_grad():
        zm, em = m_mat.propagate(z, t0, t1, energy_points=2)
        za, ea = m_act.propagate(z, t0, t1, energy_points=2)
    np.testing.assert_allclose(za.numpy(), zm.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ea.numpy(), em.numpy(), rtol=1e-10)


def test_expm_auto_switches_on_the_latent_dimension():
    small = CellMNNModule(EXPM_ACTION_FROM_D - 1, MNNConfig(n_pcs=EXPM_ACTION_FROM_D - 1))
    large = CellMNNModule(EXPM_ACTION_FROM_D, MNNConfig(n_pcs=EXPM_ACTION_FROM_D))
    assert (small.expm, large.expm) == ("matrix", "action")
    forced = MNNConfig(n_pcs=EXPM_ACTION_FROM_D, expm="matrix")
    assert CellMNNModule(EXPM_ACTION_FROM_D, forced).expm == "matrix"
    with pytest.raises(ConfigError, match="expm"):
        MNNConfig(expm="pade").validate()
