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
from typing import Any

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
    """The default's precedence, but the correlation of the log expression."""
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
        return _table(readout.lagged_matrix(x, t, src, temperature=temperature), ad, src)

    method.__doc__ = f"The default reading with precedence temperature {temperature}."
    return method


def _run_reading(reading: str) -> Any:
    def method(adata: AnnData, sources: list[str] | None, seed: int) -> pd.DataFrame:
        with tempfile.TemporaryDirectory() as tmp:
            res = pipeline.run(
                adata.copy(),
                out=tmp,
                reference="none",
                plots=False,
                quiet=True,
                overwrite=True,
                seed=seed,
                reading=reading,
                sources=sources,
            )
        return res.edges[["source", "target", "weight"]]

    method.__doc__ = f"grn-mnn run with --reading {reading} (trains the default Cell-MNN)."
    return method


METHODS = {
    "pearson_linear": pearson_linear,
    "lagged_log": lagged_log,
    "lagged_t0.03": _lagged_temperature(0.03),
    "lagged_t0.1": _lagged_temperature(0.1),
    "lagged_t1": _lagged_temperature(1.0),
    "grn_mnn_jacobian": _run_reading("jacobian"),
    "grn_mnn_flow_lagged": _run_reading("flow-lagged"),
}
