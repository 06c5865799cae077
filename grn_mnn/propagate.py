"""Gene-to-latent mapping of a perturbation and its propagation under the fitted operators.

:func:`clamp_targets` turns a perturbation (knockout, fold, value, shift in sd) into requested
gene values and :func:`latent_shift` maps the requested change into the latent space
(``"project"``: ``S^-1 W_G^T (c - x_G)``, ``"hold"``: ``pinv(W_G S) (c - x_G)``). ``_linear``
and ``_flow`` carry the unperturbed and the perturbed cells along a time grid (``_grid``) under
the model's operators, :func:`stable_propagator` is ``expm`` with growing modes clipped, and
``_amplification`` measures how much the shift grew. The method is described in
:mod:`grn_mnn.perturb`, whose :func:`~grn_mnn.perturb.perturb` uses these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .errors import ConfigError


# ----------------------------------------------------------------------------- mapping
def clamp_targets(
    x_genes: np.ndarray,
    kind: str,
    amount: float | None,
    data_expr: np.ndarray,
    knockout_to: str = "zero",
) -> np.ndarray:
    """Requested values (cells x perturbed genes) from the reconstructed values ``x_genes``.

    ``knockout``: 0 (``knockout_to="zero"``) or the gene's minimum over the data (``"min"``),
    never above the cell's own value;
    ``overexpress``: ``fold`` times the expression on the linear scale, ``log1p(fold *
    expm1(x))`` (expression is log1p-scaled, as :func:`grn_mnn.pp.prepare` makes it; values
    <= 0 stay);
    ``value``: that value; ``shift_sd``: ``x + k * sd`` with the gene's sd over the data.
    """
    if kind == "knockout":
        if knockout_to not in ("zero", "min"):
            raise ConfigError(f"knockout_to must be 'zero' or 'min', got {knockout_to!r}")
        low = data_expr.min(axis=0) if knockout_to == "min" else np.zeros(x_genes.shape[1])
        return np.minimum(x_genes, low)
    if kind == "overexpress":
        return np.where(x_genes > 0, np.log1p(amount * np.expm1(np.maximum(x_genes, 0))), x_genes)
    if kind == "value":
        return np.full(x_genes.shape, float(amount))
    if kind == "shift_sd":
        return x_genes + amount * data_expr.std(axis=0)
    raise ConfigError(f"unknown perturbation kind {kind!r}")


def latent_shift(
    mapping: dict[str, Any], z: np.ndarray, idx: Sequence[int], target: np.ndarray, how: str
) -> np.ndarray:
    """Latent move that sets the reconstructed genes ``idx`` of cells ``z`` towards ``target``.

    ``"project"``: ``S^-1 W_G^T (target - x_G)``, the exact image of the gene-space change
    under ``z = S^-1 W^T (x - mu)``; ``"hold"``: ``pinv(W_G S) (target - x_G)``, the smallest
    move that reaches ``target`` exactly in the reconstruction.
    """
    w = np.asarray(mapping["loadings"], dtype=np.float64)
    s = np.asarray(mapping["pc_scale"], dtype=np.float64)
    mu = np.asarray(mapping["gene_mean"], dtype=np.float64)
    idx = np.asarray(idx, dtype=int)
    u_g = w[idx] * s  # (genes G, d): x_G = mu_G + U_G z
    gap = target - (mu[idx] + z @ u_g.T)  # (cells, G)
    if how == "project":
        return gap @ (w[idx] / s)
    if how == "hold":
        return gap @ np.linalg.pinv(u_g).T
    raise ConfigError(f"mapping must be 'project' or 'hold', got {how!r}")


# ----------------------------------------------------------------------------- propagation
def _flow(model, z0, shift0, grid, sustained, mp, idx, target_of, mapping, bar):
    """Both arms chained through the model's propagator on the grid (nonlinear in the shift)."""
    n = len(z0)
    zc, zp = z0.copy(), z0 + shift0
    out_c, out_p = [zc], [zp]
    for k in range(len(grid) - 1):
        both = model.predict(np.vstack([zc, zp]), grid[k], grid[k + 1])
        zc, zp = both[:n], both[n:]
        if sustained and np.isfinite(zp).all():
            zp = zp + latent_shift(mp, zp, idx, target_of(zc), mapping)
        out_c.append(zc)
        out_p.append(zp)
        bar.update()
    return np.stack(out_c), np.stack(out_p)


def stable_propagator(a: np.ndarray) -> np.ndarray:
    """``expm`` of each operator in ``a`` (..., d, d) with its eigenvalues' real parts clipped at 0.

    ``V diag(exp(min(Re l, 0) + i Im l)) V^-1``: decaying and rotating modes as fitted, growing
    modes held at their size. Where the eigenvectors are too ill-conditioned for a finite
    result, the whole spectrum is shifted instead: ``expm(a) * exp(-max(0, max Re l))``.
    """
    import torch

    a = np.asarray(a, dtype=np.float64)
    lam, v = np.linalg.eig(a)
    clipped = np.minimum(lam.real, 0.0) + 1j * lam.imag
    with np.errstate(all="ignore"):
        out = (v @ (np.exp(clipped)[..., :, None] * np.linalg.inv(v))).real
    bad = ~np.isfinite(out).all(axis=(-2, -1))
    if bad.any():
        grow = np.maximum(lam.real.max(axis=-1), 0.0)[bad]
        raw = torch.linalg.matrix_exp(torch.from_numpy(a[bad])).numpy()
        out[bad] = raw * np.exp(-grow)[:, None, None]
    return out


def _linear(model, z0, shift0, grid, sustained, mp, idx, target_of, mapping, bar, response):
    """Unperturbed cells by the model's closed form from the start, ``z(t) = expm(A(z0, t0)
    (t - t0)) z0`` (as trained, never chained); the shift carried along that path by the local
    operators, ``dz(t + h) = expm(A(z(t), t) h) dz(t)`` (the model's linear response)."""
    import torch

    t0 = grid[0]
    scale = float(model.module.time_scale)
    if response == "stable":  # both arms under the same stabilised operators
        a0 = model.operators(z0, t0)
        zc = np.stack(
            [z0]
            + [
                np.einsum("nij,nj->ni", stable_propagator(a0 * ((t - t0) / scale)), z0)
                for t in grid[1:]
            ]
        )
    else:
        zc = np.stack([z0] + [model.predict(z0, t0, t) for t in grid[1:]])
    dz = shift0.copy()
    out_p = [z0 + dz]
    for k in range(len(grid) - 1):
        a = model.operators(zc[k], grid[k]) * ((grid[k + 1] - grid[k]) / scale)
        if response == "stable":
            prop = stable_propagator(a)
        else:
            prop = torch.linalg.matrix_exp(torch.from_numpy(a)).numpy()
        dz = np.einsum("nij,nj->ni", prop, dz)
        if sustained:
            dz = dz + latent_shift(mp, zc[k + 1] + dz, idx, target_of(zc[k + 1]), mapping)
        out_p.append(zc[k + 1] + dz)
        bar.update()
    return zc, np.stack(out_p)


def _amplification(mp: dict, zc: np.ndarray, zp: np.ndarray) -> float:
    """Median over cells of |gene-space shift| at the last time / at the start."""
    u = np.asarray(mp["loadings"]) * np.asarray(mp["pc_scale"])
    first = np.linalg.norm((zp[0] - zc[0]) @ u.T, axis=1)
    last = np.linalg.norm((zp[-1] - zc[-1]) @ u.T, axis=1)
    ok = first > 1e-12
    return float(np.median(last[ok] / first[ok])) if ok.any() else float("nan")


def _grid(times: np.ndarray, step: float) -> np.ndarray:
    """Times from the first to the last of ``times``, every reported time on the grid."""
    pts = [times[0]]
    for a, b in zip(times[:-1], times[1:], strict=True):
        k = max(1, int(np.ceil((b - a) / step - 1e-9)))
        pts.extend(np.linspace(a, b, k + 1)[1:].tolist())
    return np.asarray(pts, dtype=float)
