"""Training losses: the biased MMD^2 with a Laplace kernel, the kinetic penalty and the
optional L1 penalty on the gene-level operator."""

from __future__ import annotations

import torch


def laplace_kernel(x: torch.Tensor, y: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """k(x, y) = exp(-||x - y||_1 / (d * sigma)) for all pairs, shape (n, m)."""
    d = x.shape[-1]
    return torch.exp(-torch.cdist(x, y, p=1) / (d * sigma))


def mmd2(x: torch.Tensor, y: torch.Tensor, sigma: float = 1.0) -> torch.Tensor:
    """Biased estimator of MMD^2 between samples ``x`` (n, d) and ``y`` (m, d).

    ``mean k(x, x') + mean k(y, y') - 2 mean k(x, y)``; zero for identical samples and
    non-negative for any inputs (it is the squared RKHS distance of the empirical embeddings).
    """
    kxx = laplace_kernel(x, x, sigma).mean()
    kyy = laplace_kernel(y, y, sigma).mean()
    kxy = laplace_kernel(x, y, sigma).mean()
    return (kxx + kyy - 2.0 * kxy).clamp_min(0.0)


def kinetic(a: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """Mean over cells of ||A z||^2 (the squared latent speed)."""
    v = torch.bmm(a, z.unsqueeze(-1)).squeeze(-1)
    return (v * v).sum(dim=1).mean()


#: largest gene panel :func:`gene_operator_l1` accepts: it forms one genes x genes matrix per batch
GENE_L1_MAX_GENES = 5000


def gene_operator_l1(a: torch.Tensor, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Mean |J| over the off-diagonal entries of the gene-level operator J = U mean(A) V.

    ``a`` holds the batch's latent operators (n, d, d); ``u`` = W S (genes, d) and
    ``v`` = S^-1 W^T (d, genes) are the PCA factors. J is linear in A, so this is the L1 norm
    of the batch's mean gene network (what ``--reading jacobian`` averages), computed through
    the factored form without one genes x genes matrix per cell (one per batch, so panels are
    limited to :data:`GENE_L1_MAX_GENES` genes).
    """
    j = u @ a.mean(dim=0) @ v
    g = j.shape[0]
    if g < 2:
        return j.new_zeros(())
    return (j.abs().sum() - j.diagonal().abs().sum()) / (g * (g - 1))
