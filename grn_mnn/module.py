"""The Cell-MNN torch module: an MLP hypernetwork (z, t) -> A(z, t) and exact propagation.

One convention everywhere: the latent dynamics are dz/dt = A z with A a d x d matrix acting on
column vectors, and :meth:`CellMNNModule.operator` returns exactly the matrix that
:meth:`CellMNNModule.propagate` exponentiates. With the ``eigen`` parameterisation
``A = P diag(lambda) P^{-1}`` with ``P = I + output``; extraction reads the same ``A``.
"""

from __future__ import annotations

import torch
from torch import nn

from .config import MNNConfig

#: ``expm="auto"`` uses the matrix exponential below this latent dimension and
#: :func:`expm_action` from it on (benchmarks/expm_action.py measures the crossover)
EXPM_ACTION_FROM_D = 32


#: cells whose scaled Taylor series would need more steps than this go to ``matrix_exp`` instead
#: (a rare large operator must not make a long tail of small steps for the whole batch)
EXPM_ACTION_MAX_STEPS = 8


def expm_action(b: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """expm(B) z for a batch, without forming expm(B): B (n, d, d), z (n, d) -> (n, d).

    Scaling and truncated Taylor series (the action of the matrix exponential, after Al-Mohy
    and Higham, SIAM J. Sci. Comput. 33:488, 2011). The trace is shifted out first,
    expm(B) = e^mu expm(B - mu I) with mu = tr(B) / d, then expm(C) z = (T_m(C / s))^s z with
    s = ceil(||C||_1) per cell, so every step has ||C / s||_1 <= 1 and the Taylor remainder is
    below e / (m + 1)!: m = 18 in float64 (< 2e-17) and m = 11 in float32 (< 6e-9, under
    float32 rounding). A step costs m matrix-vector products, O(d^2) each, against the O(d^3)
    matrix products of ``torch.linalg.matrix_exp``; step j runs only on the cells with s > j.
    Cells with s > :data:`EXPM_ACTION_MAX_STEPS` (rare large operators) are computed with
    ``matrix_exp`` instead. Autograd differentiates both paths.
    """
    m = 18 if b.dtype == torch.float64 else 11
    d = b.shape[-1]
    mu = torch.diagonal(b, dim1=1, dim2=2).sum(dim=1) / d
    c = b - mu.reshape(-1, 1, 1) * torch.eye(d, dtype=b.dtype, device=b.device)
    with torch.no_grad():
        s = torch.ceil(c.abs().sum(dim=1).amax(dim=1)).clamp_min(1.0)
        # a NaN/inf operator gives a non-finite result, as with matrix_exp, so that training's
        # divergence handling (TrainingError or on_divergence='stop') sees it
        s = torch.nan_to_num(s, nan=1.0, posinf=EXPM_ACTION_MAX_STEPS + 1.0)
        heavy = torch.nonzero(s > EXPM_ACTION_MAX_STEPS).squeeze(1)
        s[heavy] = 1.0  # their Taylor value is replaced below: no steps beyond the batched first
        n_steps = int(s.max().item()) if s.numel() else 0
    cs = c / s.to(b.dtype).reshape(-1, 1, 1)
    v = z.unsqueeze(-1)
    for j in range(n_steps):
        rows = torch.nonzero(s > j).squeeze(1) if j else None
        vj = v if rows is None else v[rows]
        cj = cs if rows is None else cs[rows]
        term, acc = vj, vj
        for k in range(1, m + 1):
            term = torch.bmm(cj, term) / k
            acc = acc + term
        v = acc if rows is None else v.index_copy(0, rows, acc)
    out = torch.exp(mu).unsqueeze(-1) * v.squeeze(-1)
    if len(heavy):
        exact = torch.bmm(torch.linalg.matrix_exp(b[heavy]), z[heavy].unsqueeze(-1))
        out = out.index_copy(0, heavy, exact.squeeze(-1))
    return out


class CellMNNModule(nn.Module):
    """Hypernetwork mapping (z, t[, dataset embedding]) to a local linear operator.

    Parameters
    ----------
    n_pcs
        Latent dimension d.
    config
        Model settings (depth, width, parameterisation, ...).
    time_scale
        Times are divided by this before entering the network and in the propagation.
    n_datasets
        Number of data sets for joint training; > 1 adds a learned data-set embedding input.
    """

    def __init__(
        self,
        n_pcs: int,
        config: MNNConfig,
        time_scale: float = 1.0,
        n_datasets: int = 1,
        embed_dim: int = 4,
    ) -> None:
        super().__init__()
        self.d = int(n_pcs)
        self.parameterization = config.parameterization
        self.n_zero_eigs = int(config.n_zero_eigs)
        self.max_op_norm = float(config.max_op_norm)
        self.n_steps_path = int(config.n_steps_path)
        self.path_step = None if config.path_step is None else float(config.path_step)
        self.expm = config.expm
        if self.expm == "auto":
            self.expm = "action" if self.d >= EXPM_ACTION_FROM_D else "matrix"
        self.register_buffer("time_scale", torch.tensor(float(time_scale), dtype=torch.float32))
        self.n_datasets = int(n_datasets)
        self.embedding = nn.Embedding(n_datasets, embed_dim) if n_datasets > 1 else None
        d_in = self.d + 1 + (embed_dim if n_datasets > 1 else 0)
        d_out = self.d * self.d + (self.d if self.parameterization == "eigen" else 0)
        layers: list[nn.Module] = []
        for _ in range(config.depth):
            layers += [nn.Linear(d_in, config.width), nn.LeakyReLU()]
            d_in = config.width
        last = nn.Linear(d_in, d_out)
        with torch.no_grad():
            last.weight.mul_(config.last_layer_scale)
            last.bias.mul_(config.last_layer_scale)
        layers.append(last)
        self.net = nn.Sequential(*layers)

    # ------------------------------------------------------------------ operator
    def _inputs(self, z: torch.Tensor, t: torch.Tensor, ds: torch.Tensor | None) -> torch.Tensor:
        t = (t.reshape(-1, 1) / self.time_scale).to(z.dtype)
        parts = [z, t]
        if self.embedding is not None:
            if ds is None:
                ds = torch.zeros(z.shape[0], dtype=torch.long, device=z.device)
            parts.append(self.embedding(ds))
        return torch.cat(parts, dim=1)

    def operator_parts(
        self, z: torch.Tensor, t: torch.Tensor, ds: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Return (A, P) for each cell: A (n, d, d) and P (n, d, d) for ``eigen`` else None."""
        out = self.net(self._inputs(z, t, ds))
        n, d = z.shape[0], self.d
        if self.parameterization == "direct":
            a = out.reshape(n, d, d)
            p = None
        else:
            eye = torch.eye(d, dtype=out.dtype, device=out.device)
            p = eye + out[:, : d * d].reshape(n, d, d)
            lam = out[:, d * d :]
            if self.n_zero_eigs:
                lam = torch.cat(
                    [torch.zeros_like(lam[:, : self.n_zero_eigs]), lam[:, self.n_zero_eigs :]],
                    dim=1,
                )
            # A = P diag(lam) P^-1, computed as solve(P^T, (P diag(lam))^T)^T
            pl = p * lam.unsqueeze(1)
            a = torch.linalg.solve(p.transpose(1, 2), pl.transpose(1, 2)).transpose(1, 2)
        # guard: a smooth elementwise bound so expm(A dt) cannot overflow silently
        c = self.max_op_norm
        a = c * torch.tanh(a / c)
        return a, p

    def operator(
        self, z: torch.Tensor, t: torch.Tensor, ds: torch.Tensor | None = None
    ) -> torch.Tensor:
        """The local operator A(z, t), shape (n, d, d), in units of 1 / (time / time_scale)."""
        return self.operator_parts(z, t, ds)[0]

    # ------------------------------------------------------------------ dynamics
    def propagate(
        self,
        z0: torch.Tensor,
        t0: torch.Tensor,
        t1: torch.Tensor,
        ds: torch.Tensor | None = None,
        a0: torch.Tensor | None = None,
        energy_points: int = 0,
    ) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
        """Advance z0 from t0 to t1 (per cell) with z(t1) = expm(A (t1 - t0)) z0.

        With ``n_steps_path > 1`` the interval is cut into equal steps and A is recomputed at
        the start of each step (piecewise-constant operator along the path). With ``path_step``
        set, A is instead recomputed on the fixed grid t0, t0 + h, t0 + 2h, ... (per cell; the
        last step is shorter and cells that have arrived stay put), so the state reached at an
        intermediate time is exactly the one a longer path passes through.
        ``a0`` optionally supplies the operator at (z0, t0) to avoid recomputing it.
        With ``energy_points = m > 0`` also return, per cell, the time-averaged squared speed
        along the path, ``mean_s ||A z(s)||^2`` by the midpoint rule with m points per step
        (the velocity is the one the flow actually uses: A of the current step at z(s)).
        """
        span = t1 - t0
        if self.path_step is None:
            k = self.n_steps_path
            lengths = [span / k] * k
        else:
            h = self.path_step
            k = max(1, int(torch.ceil(span.abs().max() / h).item())) if span.numel() else 1
            sign = torch.sign(span)
            lengths = [sign * (span.abs() - j * h).clamp(0.0, h) for j in range(k)]
        z, t = z0, t0
        energy = z0.new_zeros(z0.shape[0])
        denom = span.abs().clamp_min(1e-12).to(z0.dtype)
        for step, length in enumerate(lengths):
            a = a0 if (step == 0 and a0 is not None) else self.operator(z, t, ds)
            dt = (length / self.time_scale).to(z0.dtype)
            weight = (length.abs().to(z0.dtype) / denom) if energy_points else None
            for q in range(energy_points):
                frac = (q + 0.5) / energy_points
                zq = self._expm_apply(a * (frac * dt).reshape(-1, 1, 1), z)
                vq = torch.bmm(a, zq.unsqueeze(-1)).squeeze(-1)
                energy = energy + weight * (vq * vq).sum(dim=1) / energy_points
            z = self._expm_apply(a * dt.reshape(-1, 1, 1), z)
            t = t + length
        return (z, energy) if energy_points else z

    def _expm_apply(self, b: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """expm(B) z per cell, by the method chosen in the configuration (``expm``)."""
        if self.expm == "action":
            return expm_action(b, z)
        return torch.bmm(torch.linalg.matrix_exp(b), z.unsqueeze(-1)).squeeze(-1)

    def forward(
        self,
        z0: torch.Tensor,
        t0: torch.Tensor,
        ds: torch.Tensor,
        pair_cell: torch.Tensor,
        t1: torch.Tensor,
        energy_points: int = 0,
    ) -> tuple[torch.Tensor, torch.Tensor | None, torch.Tensor, torch.Tensor | None]:
        """Everything one training batch needs from the parameters, in one call (so that
        DistributedDataParallel sees it): operators at the start cells (A, P), the start
        cells ``pair_cell`` propagated to the times ``t1`` and, with ``energy_points > 0``,
        the time-averaged squared speed along each of those paths (else None)."""
        a0, p0 = self.operator_parts(z0, t0, ds)
        out = self.propagate(
            z0[pair_cell],
            t0[pair_cell],
            t1,
            ds[pair_cell],
            a0=a0[pair_cell],
            energy_points=energy_points,
        )
        z1, energy = out if energy_points else (out, None)
        return a0, p0, z1, energy

    def velocity(
        self, z: torch.Tensor, t: torch.Tensor, ds: torch.Tensor | None = None
    ) -> torch.Tensor:
        """dz/dt = A(z, t) z for each cell, shape (n, d)."""
        a = self.operator(z, t, ds)
        return torch.bmm(a, z.unsqueeze(-1)).squeeze(-1)


def invertibility_penalty(p: torch.Tensor) -> torch.Tensor:
    """Mean of 1 / (|det P| + 1e-4) over cells (keeps P of the eigen form invertible)."""
    return (1.0 / (torch.linalg.det(p).abs() + 1e-4)).mean()
