"""Result tables of an in-silico perturbation, read from the latent states of both arms.

``_gene_table`` (per gene and time: mean and sd over the cells of the perturbed minus the
unperturbed reconstruction), ``_representation`` (requested versus achieved change of the
perturbed genes), ``_embed`` (cell shifts and the data cells on a 2-D embedding) and ``_fate``
(fraction of the cells nearest each group's centroid). They fill the fields of
:class:`grn_mnn.perturb.PerturbationResult`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .errors import InputError
from .pp import LATENT_KEY, TIME_COL

#: neighbours used to interpolate a user embedding (obsm) at a predicted latent state
EMBED_NEIGHBOURS = 15


def _gene_table(mp: dict, times: np.ndarray, zc: np.ndarray, zp: np.ndarray) -> pd.DataFrame:
    """Mean and sd over cells of the gene-space difference, exactly from the latent one."""
    w = np.asarray(mp["loadings"], dtype=np.float64)
    u = w * np.asarray(mp["pc_scale"], dtype=np.float64)
    mu = np.asarray(mp["gene_mean"], dtype=np.float64)
    genes = [str(g) for g in mp["genes"]]
    frames = []
    for r, t in enumerate(times):
        dz = zp[r] - zc[r]
        cov = (
            np.atleast_2d(np.cov(dz, rowvar=False)) if len(dz) > 1 else np.zeros((u.shape[1],) * 2)
        )
        sd = np.sqrt(np.maximum(np.einsum("gd,de,ge->g", u, cov, u), 0.0))
        frames.append(
            pd.DataFrame(
                {
                    "gene": genes,
                    "time": float(t),
                    "delta": u @ dz.mean(axis=0),
                    "delta_sd": sd,
                    "control": mu + u @ zc[r].mean(axis=0),
                    "perturbed": mu + u @ zp[r].mean(axis=0),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def _representation(mp, idx, names, z0, shift0, target, zc_last, zp_last) -> pd.DataFrame:
    u_g = np.asarray(mp["loadings"])[idx] * mp["pc_scale"]
    mu_g = np.asarray(mp["gene_mean"])[idx]
    x0 = mu_g + z0 @ u_g.T
    requested = (target - x0).mean(axis=0)
    achieved = (shift0 @ u_g.T).mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(np.abs(requested) > 1e-12, achieved / requested, 1.0)
    return pd.DataFrame(
        {
            "gene": names,
            "requested": requested,
            "achieved": achieved,
            "fraction": frac,
            "target": target.mean(axis=0),
            "control_last": mu_g + zc_last.mean(axis=0) @ u_g.T,
            "perturbed_last": mu_g + zp_last.mean(axis=0) @ u_g.T,
        }
    )


def _embed(adata, mp, basis, cells, times, zc, zp, groupby) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Cell shifts and the data cells on the 2-D embedding."""
    z_all = np.asarray(adata.obsm[LATENT_KEY], dtype=np.float64)
    s = np.asarray(mp["pc_scale"], dtype=np.float64)
    u = np.asarray(mp["loadings"], dtype=np.float64) * s
    if basis == "pca":
        bg = z_all[:, :2] * s[:2]

        def place(z: np.ndarray) -> np.ndarray:
            return z[:, :2] * s[:2]
    else:
        emb = np.asarray(adata.obsm[basis], dtype=np.float64)
        if emb.ndim != 2 or emb.shape[1] < 2:
            raise InputError(f"obsm[{basis!r}] must have at least 2 columns, got {emb.shape}")
        bg = emb[:, :2]
        from sklearn.neighbors import NearestNeighbors

        nn = NearestNeighbors(n_neighbors=min(EMBED_NEIGHBOURS, len(z_all))).fit(z_all)

        def place(z: np.ndarray) -> np.ndarray:
            dist, ind = nn.kneighbors(z)
            wgt = 1.0 / (dist + 1e-6)
            return (bg[ind] * wgt[..., None]).sum(axis=1) / wgt.sum(axis=1, keepdims=True)

    rows = []
    for r, t in enumerate(times):
        pc, pp_ = place(zc[r]), place(zp[r])
        rows.append(
            pd.DataFrame(
                {
                    "cell": cells,
                    "time": float(t),
                    "x": pc[:, 0],
                    "y": pc[:, 1],
                    "dx": pp_[:, 0] - pc[:, 0],
                    "dy": pp_[:, 1] - pc[:, 1],
                    "norm": np.linalg.norm((zp[r] - zc[r]) @ u.T, axis=1),
                }
            )
        )
    background = pd.DataFrame(
        {"x": bg[:, 0], "y": bg[:, 1], "time": adata.obs[TIME_COL].to_numpy(dtype=float)}
    )
    if groupby:
        background["group"] = adata.obs[groupby].astype(str).to_numpy()
    return pd.concat(rows, ignore_index=True), background


def _fate(z_all, labels, zc_last, zp_last) -> pd.DataFrame:
    """Fraction of predicted cells nearest each group's latent centroid, both arms."""
    lab = pd.Series(labels).astype(str).to_numpy()
    ok = pd.notna(pd.Series(labels)).to_numpy()
    groups = list(dict.fromkeys(pd.Series(labels)[ok].astype(str)))
    if len(groups) < 2:
        raise InputError("groupby needs at least two groups for a fate shift")
    cents = np.stack([z_all[ok & (lab == g)].mean(axis=0) for g in groups])

    def frac(z: np.ndarray) -> np.ndarray:
        near = np.argmin(((z[:, None, :] - cents[None]) ** 2).sum(axis=2), axis=1)
        return np.bincount(near, minlength=len(groups)) / len(z)

    fc, fp = frac(zc_last), frac(zp_last)
    return pd.DataFrame({"group": groups, "control": fc, "perturbed": fp, "delta": fp - fc})
