"""Network readings tried for the default of ``grn-mnn run`` (the accuracy log of issue 12).

Each entry of :data:`METHODS` is a benchmark method ``(adata, sources, seed) -> edges``, run
by the GRN benchmark beside the peers:

    python validation/grn_benchmark.py --methods-from validation/grn_variants.py:METHODS \\
        --methods grn_mnn,pearson,pearson_linear,lagged_log,lagged_t0.1,grn_mnn_jacobian

Every variant preprocesses exactly as ``grn-mnn run`` does (``pp.prepare`` with run's number
of PCs and the seed); the Cell-MNN variants train the run's default model first. Which one is
the default was decided on these simulated cases only; ``docs/benchmarks.md`` has the numbers.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from anndata import AnnData

from grn_mnn import pipeline, pp, readout
from grn_mnn.baselines import pearson_matrix, source_indices


def _prepared(adata: AnnData, seed: int) -> AnnData:
    ad = adata.copy()
    pp.prepare(ad, "time", min(pipeline.RUN_N_PCS, ad.n_vars - 1), seed=seed)
    return ad


def _table(mat: np.ndarray, ad: AnnData, src: np.ndarray) -> pd.DataFrame:
    genes = list(ad.uns["grn_mnn"]["genes"])
    return readout.matrix_table(mat, genes, src)[["source", "target", "weight"]]


def pearson_linear(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
    """Pearson correlation on the linear scale (expm1 of the log expression), no timing."""
    ad = _prepared(adata, seed)
    src = source_indices(list(ad.uns["grn_mnn"]["genes"]), sources)
    return _table(readout.linear_correlation(pp.get_expression(ad), src), ad, src)


def lagged_log(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
    """The precedence of sessions 4-11, but the correlation of the log expression."""
    ad = _prepared(adata, seed)
    x, t = pp.get_expression(ad), ad.obs[pp.TIME_COL].to_numpy()
    src = source_indices(list(ad.uns["grn_mnn"]["genes"]), sources)
    p = readout.precedence(readout.change_times(x, t), float(t.max() - t.min()))
    return _table(pearson_matrix(x, src) * p[:, src], ad, src)


def _lagged_temperature(temperature: float) -> Any:
    def method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
        ad = _prepared(adata, seed)
        x, t = pp.get_expression(ad), ad.obs[pp.TIME_COL].to_numpy()
        src = source_indices(list(ad.uns["grn_mnn"]["genes"]), sources)
        mat = readout.lagged_matrix(
            x, t, src, temperature=temperature, winsorize=1.0, time_prior="pair"
        )
        return _table(mat, ad, src)

    method.__doc__ = f"The session-4 reading with precedence temperature {temperature}."
    return method


def _run_reading(reading: str) -> Any:
    def method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
        return pipeline.run_edges(adata, seed=seed, reading=reading, sources=sources)

    method.__doc__ = f"grn-mnn run with --reading {reading} (trains the default Cell-MNN)."
    return method


def _full_rank_jacobian(max_pcs: int = 30, operator_l1: float = 0.0) -> Any:
    def method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
        n_pcs = min(max_pcs, adata.n_vars - 1)
        return pipeline.run_edges(
            adata,
            seed=seed,
            reading="jacobian",
            sources=sources,
            n_pcs=n_pcs,
            operator_l1=operator_l1,
        )

    method.__doc__ = (
        f"grn-mnn run --reading jacobian with up to {max_pcs} PCs instead of 10: full rank for "
        "panels of up to that many genes (the issue's 'rank' candidate)"
        + (
            f", trained with --operator-l1 {operator_l1:g} (the issue's 'sparsity' candidate)."
            if operator_l1
            else "."
        )
    )
    return method


def _default_but(doc: str, **options: Any) -> Any:
    """The default reading (``readout.network``) with some of its options changed. The rows of
    sessions 4-11 pin ``time_prior="pair"``, the time order of their default, so that their
    stored results reproduce."""

    def method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
        ad = _prepared(adata, seed)
        net = readout.network(ad, sources=sources, key_added=None, **options)
        return net[["source", "target", "weight"]]

    method.__doc__ = doc
    return method


class DefaultInputs(NamedTuple):
    """What the default network reads, after run's preprocessing: the prepared AnnData, its
    genes, the candidate source indices, the ranking expression, the times and the latent
    reconstruction (the sessions 6-7 sign fallback)."""

    ad: AnnData
    genes: list[str]
    src: np.ndarray
    xr: np.ndarray
    t: np.ndarray
    rec: np.ndarray


def default_inputs(adata: AnnData, sources: list[str] | None, seed: int) -> DefaultInputs:
    """:class:`DefaultInputs` of a simulated case (shared by the session-8 scripts)."""
    return prepared_inputs(_prepared(adata, seed), sources)


def prepared_inputs(ad: AnnData, sources: list[str] | None) -> DefaultInputs:
    """:class:`DefaultInputs` of an AnnData that ``pp.prepare`` has prepared."""
    genes = list(ad.uns["grn_mnn"]["genes"])
    xr = readout.ranking_expression(pp.get_expression(ad), ad.uns["grn_mnn"]["transform"])
    t = ad.obs[pp.TIME_COL].to_numpy().astype(float)
    src = source_indices(genes, sources)
    return DefaultInputs(ad, genes, src, xr, t, readout.latent_reconstruction(ad))


def within_time_resamples(t: np.ndarray, n_boot: int, seed: int) -> Iterator[np.ndarray]:
    """Cell indices of ``n_boot`` bootstrap resamples of the cells within each time point."""
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield readout.within_time_resample(t, rng)


def bagged(adata: AnnData, sources: list[str] | None, seed: int, n_boot: int = 30) -> pd.DataFrame:
    """The session-8 default matrix (no clipping) averaged over ``n_boot`` bootstraps of the
    cells within time points."""
    d = default_inputs(adata, sources, seed)
    ad, xr, t, rec, src = d.ad, d.xr, d.t, d.rec, d.src
    total = np.zeros((xr.shape[1], len(src)))
    for idx in within_time_resamples(t, n_boot, seed):
        total += readout.lagged_matrix(
            xr[idx],
            t[idx],
            src,
            signs=readout.DEFAULT_SIGNS,
            sign_expression=rec[idx],
            winsorize=1.0,
            time_prior="pair",
        )
    return _table(total / n_boot, ad, src)


def change_window(adata: AnnData, sources: list[str] | None, seed: int, half: int = 2) -> Any:
    """The session-8 default (no clipping), but each source's |r| on the cells of the ``2 half``
    time points around its change time (all cells when they are fewer than 10); timing and
    signs unchanged."""
    d = default_inputs(adata, sources, seed)
    ad, xr, t, src = d.ad, d.xr, d.t, d.src
    base = readout.lagged_matrix(
        xr, t, src, signs=readout.DEFAULT_SIGNS, winsorize=1.0, time_prior="pair"
    )
    tau, ts = readout.change_times(xr, t), np.unique(t)
    r = np.zeros_like(base)
    for j, s in enumerate(src):
        k = int(np.searchsorted(ts, tau[s]))
        sel = np.isin(t, ts[max(0, k - half) : k + half])
        sel = sel if sel.sum() >= 10 else np.ones_like(sel)
        r[:, j] = readout.linear_correlation(xr[sel], np.array([s]))[:, 0]
    p = readout.precedence(tau, float(t.max() - t.min()))[:, src]
    return _table(np.abs(r) * p * np.sign(base), ad, src)


def magnitude_variants(
    xr: np.ndarray, t: np.ndarray, src: np.ndarray, time_prior: str = readout.DEFAULT_TIME_PRIOR
) -> dict[str, np.ndarray]:
    """(genes x sources) signed matrices of the default and of the magnitudes varied in
    session 11, all with the default's signs: ``"default"`` (``|r| E``), ``"no precedence"``
    (``|r|``), ``"within"`` (``|r_w| E``, the within-time correlation: co-variation within a
    time point does not see a capture bias shared by its cells), ``"blend"``
    (``sqrt(|r_w| |r|) E``, their geometric mean) and ``"pair"`` (``|r| P``, the default of
    sessions 4-11). ``E`` is the time-order factor of ``time_prior``
    (:func:`grn_mnn.readout.time_factor`; session 11 measured with ``"pair"``)."""
    within = readout.within_time_correlation(xr, t, src)
    r = readout.linear_correlation(xr, src, readout.DEFAULT_WINSORIZE)
    sign = np.sign(readout.sign_score(xr, t, src, within=within, pooled=r))
    tau, span = readout.change_times(xr, t), float(t.max() - t.min())
    e = readout.time_factor(tau, src, span, time_prior=time_prior)
    p = readout.time_factor(tau, src, span, time_prior="pair")
    return {
        "default": np.abs(r) * e * sign,
        "no precedence": np.abs(r) * sign,
        "within": np.abs(within) * e * sign,
        "blend": np.sqrt(np.abs(within) * np.abs(r)) * e * sign,
        "pair": np.abs(r) * p * sign,
    }


def within_time_ranked(adata: AnnData, sources: list[str] | None, seed: int, blend: bool) -> Any:
    """The session-11 default with the magnitude read *within* time points, or with ``blend``
    the geometric mean of that and the default's (:func:`magnitude_variants`)."""
    d = default_inputs(adata, sources, seed)
    mats = magnitude_variants(d.xr, d.t, d.src, time_prior="pair")
    return _table(mats["blend" if blend else "within"], d.ad, d.src)


def within_magnitude(adata: AnnData, sources: list[str] | None, seed: int) -> Any:
    """The default, but the magnitude |r_w| of the within-time correlation (session 11)."""
    return within_time_ranked(adata, sources, seed, blend=False)


def within_blend(adata: AnnData, sources: list[str] | None, seed: int) -> Any:
    """The default, but the magnitude sqrt(|r_w| |r|) of the within-time and the all-cell
    correlation (session 11)."""
    return within_time_ranked(adata, sources, seed, blend=True)


METHODS = {
    "grn_mnn_session8": _default_but(
        "The default of session 8: no clipping before the all-cell correlation.",
        winsorize=1.0,
        time_prior="pair",
    ),
    "grn_mnn_session11": _default_but(
        "The default of sessions 9-11: the target changes after its regulator (time_prior pair).",
        time_prior="pair",
    ),
    "lagged_no_time_order": _default_but(
        "The default without its time order (--temperature inf, session 11).",
        temperature=float("inf"),
    ),
    "lagged_winsorize_0.95": _default_but(
        "The session-9 default with each gene clipped at its 95th percentile.",
        winsorize=0.95,
        time_prior="pair",
    ),
    "lagged_winsorize_0.99": _default_but(
        "The session-9 default with each gene clipped at its 99th percentile.",
        winsorize=0.99,
        time_prior="pair",
    ),
    "lagged_expression_signs": _default_but(
        "The default reading with the signs of the expression's own correlation (first "
        "default of session 4).",
        signs="expression",
        winsorize=1.0,
        time_prior="pair",
    ),
    "lagged_latent_within_signs": _default_but(
        "The default of sessions 6-7: within-time signs where significant, else the latent "
        "reconstruction's.",
        signs="latent+within",
        winsorize=1.0,
        time_prior="pair",
    ),
    "lagged_latent_signs": _default_but(
        "The default reading with the latent reconstruction's signs only (stop 16's signs).",
        signs="latent",
        winsorize=1.0,
        time_prior="pair",
    ),
    "lagged_within_signs": _default_but(
        "The default reading with the within-time correlation's signs only.",
        signs="within",
        winsorize=1.0,
        time_prior="pair",
    ),
    "grn_mnn_stop16": _default_but(
        "The default of stop 16: total-count ranking, latent reconstruction's signs.",
        signs="latent",
        size_factors="none",
        winsorize=1.0,
        time_prior="pair",
    ),
    "lagged_total_counts": _default_but(
        "The default reading ranked on the total-count normalisation (stop 16's ranking).",
        size_factors="none",
        winsorize=1.0,
        time_prior="pair",
    ),
    "pearson_linear": pearson_linear,
    "lagged_log": lagged_log,
    "lagged_t0.03": _lagged_temperature(0.03),
    "lagged_t0.1": _lagged_temperature(0.1),
    "lagged_t1": _lagged_temperature(1.0),
    "grn_mnn_jacobian": _run_reading("jacobian"),
    "grn_mnn_flow_lagged": _run_reading("flow-lagged"),
    "grn_mnn_contribution": _run_reading("contribution"),
    "grn_mnn_jacobian_d30": _full_rank_jacobian(30),
    "grn_mnn_jacobian_d30_l1_1": _full_rank_jacobian(30, operator_l1=1.0),
    "grn_mnn_jacobian_d30_l1_10": _full_rank_jacobian(30, operator_l1=10.0),
    "grn_mnn_bagged": bagged,
    "lagged_change_window": change_window,
    "lagged_within_magnitude": within_magnitude,
    "lagged_within_blend": within_blend,
}


# ----------------------------------------------------------------------------- explored, dropped
def _center_by_time(x: np.ndarray, t: np.ndarray) -> np.ndarray:
    out = x.copy()
    for v in np.unique(t):
        out[t == v] -= out[t == v].mean(axis=0)
    return out


def _ridge(x: np.ndarray, src: np.ndarray, alpha: float) -> np.ndarray:
    """(genes x sources) ridge coefficients of each z-scored gene on the other sources."""
    z = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)
    out = np.zeros((x.shape[1], len(src)))
    for g in range(x.shape[1]):
        cols = np.flatnonzero(src != g)
        a = z[:, src[cols]]
        out[g, cols] = np.linalg.solve(a.T @ a + alpha * len(z) * np.eye(len(cols)), a.T @ z[:, g])
    return out


def pearson_within_time(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
    """Pearson correlation of the log expression after removing each time point's mean."""
    ad = _prepared(adata, seed)
    x = _center_by_time(pp.get_expression(ad), ad.obs[pp.TIME_COL].to_numpy())
    src = source_indices(list(ad.uns["grn_mnn"]["genes"]), sources)
    return _table(pearson_matrix(x, src), ad, src)


def ridge_log(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
    """Ridge regression (alpha 1) of each gene on the candidate regulators, log scale."""
    ad = _prepared(adata, seed)
    src = source_indices(list(ad.uns["grn_mnn"]["genes"]), sources)
    return _table(_ridge(pp.get_expression(ad), src, 1.0), ad, src)


def knn_smoothed_pearson(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
    """Pearson correlation after averaging each cell with its 10 nearest cells in run's PCs."""
    from sklearn.neighbors import NearestNeighbors

    ad = _prepared(adata, seed)
    z = np.asarray(ad.obsm[pp.LATENT_KEY])
    idx = NearestNeighbors(n_neighbors=10).fit(z).kneighbors(z, return_distance=False)
    x = pp.get_expression(ad)[idx].mean(axis=1)
    src = source_indices(list(ad.uns["grn_mnn"]["genes"]), sources)
    return _table(pearson_matrix(x, src), ad, src)


def latent_pearson(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
    """ORACLE: Pearson correlation of the simulated noise-free concentrations (no counts)."""
    ad = _prepared(adata, seed)
    x = np.asarray(adata.layers["latent"], dtype=float)
    src = source_indices(list(ad.uns["grn_mnn"]["genes"]), sources)
    return _table(pearson_matrix(x, src), ad, src)


def _trained(readout_fn: Any) -> Any:
    """A reading of run's default Cell-MNN fit (trained here, as run trains it)."""

    def method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
        with tempfile.TemporaryDirectory() as tmp:
            ad = adata.copy()
            res = pipeline.run(
                ad, out=tmp, reference="none", plots=False, quiet=True, overwrite=True, seed=seed
            )
        src = source_indices(list(ad.uns["grn_mnn"]["genes"]), sources)
        return _table(readout_fn(res.model, ad, src), ad, src)

    method.__doc__ = readout_fn.__doc__
    return method


def _jacobian_standardised(model: Any, ad: AnnData, src: np.ndarray) -> np.ndarray:
    """Mean Jacobian J[t, s] * sd_s / sd_t (standardised effects)."""
    from grn_mnn.extract import gene_factors

    z, t = np.asarray(ad.obsm[pp.LATENT_KEY]), ad.obs[pp.TIME_COL].to_numpy()
    u, v = gene_factors(ad.uns["grn_mnn"])
    j = u @ model.operators(z, t).mean(axis=0) @ v[:, src]
    sd = pp.get_expression(ad).std(axis=0) + 1e-9
    return j * sd[src][None, :] / sd[:, None]


def _velocity_ridge(model: Any, ad: AnnData, src: np.ndarray) -> np.ndarray:
    """Ridge (alpha 0.01) of each gene's Cell-MNN velocity U A z on the regulators and itself."""
    from grn_mnn.extract import gene_factors

    z, t = np.asarray(ad.obsm[pp.LATENT_KEY]), ad.obs[pp.TIME_COL].to_numpy()
    u, _ = gene_factors(ad.uns["grn_mnn"])
    vel = np.einsum("cij,cj->ci", model.operators(z, t), z) @ u.T
    x = pp.get_expression(ad)
    zx = (x - x.mean(axis=0)) / (x.std(axis=0) + 1e-9)
    out = np.zeros((x.shape[1], len(src)))
    for g in range(x.shape[1]):
        cols = np.flatnonzero(src != g)
        a = np.column_stack([zx[:, src[cols]], zx[:, g]])
        y = vel[:, g] / (vel[:, g].std() + 1e-12)
        coef = np.linalg.solve(a.T @ a + 0.01 * len(y) * np.eye(a.shape[1]), a.T @ y)
        out[g, cols] = coef[:-1]
    return out


METHODS.update(
    {
        "pearson_within_time": pearson_within_time,
        "ridge_log": ridge_log,
        "knn_smoothed_pearson": knn_smoothed_pearson,
        "latent_pearson_oracle": latent_pearson,
        "grn_mnn_jacobian_std": _trained(_jacobian_standardised),
        "grn_mnn_velocity_ridge": _trained(_velocity_ridge),
    }
)
