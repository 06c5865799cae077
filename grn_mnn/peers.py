"""Peer methods GRNBoost2 and GENIE3 (arboreto), scored beside Cell-MNN and the baselines.

Both peers regress every gene (target) on the candidate sources with a tree ensemble and
take the sources' feature importances as edge strengths (Huynh-Thu et al. 2010, GENIE3;
Moerman et al. 2019, GRNBoost2), through `arboreto <https://github.com/aertslab/arboreto>`_:

- :func:`grnboost2` -- stochastic gradient boosting (scikit-learn
  ``GradientBoostingRegressor``: learning rate 0.01, up to 5,000 trees, ``max_features=0.1``,
  ``subsample=0.9``) with arboreto's out-of-bag early stopping (window 25 rounds);
  arboreto's own ``grnboost2`` settings.
- :func:`genie3` -- random forests (``RandomForestRegressor``: 1,000 trees,
  ``max_features='sqrt'``), GENIE3's defaults.

Same interface as :mod:`grn_mnn.baselines`: tidy ``source, target, weight`` tables over the
candidate edges (``source`` in ``sources`` -- all genes by default --, ``target`` any gene, no
self-loops); the ``*_matrix`` functions return a (genes x sources) array ``M[target, source]``.
Importances are unsigned; with ``signed=True`` (default) each weight is the importance times
the sign of the source-target Pearson correlation across cells
(:func:`grn_mnn.baselines.pearson_matrix`; 0 for a constant gene), so the peers take part in
the sign task. ``signed=False`` gives the importances (>= 0). A source gets importance 0 for
its own regression (a gene never predicts itself) and for targets where arboreto drops a
zero importance.

Speed: GENIE3 fits ``n_targets`` forests of 1,000 trees each; ``n_estimators`` (or any
``regressor_kwargs``) overrides the ensemble, e.g. ``n_estimators=20`` in tests. Times on
the bundled data are in ``docs/peers.md``. Every call starts an in-process dask cluster
(one worker, one thread: deterministic for a fixed ``seed``) and always shuts it down.

arboreto is an optional dependency (``pip install grn_mnn[peers]``), imported only when a peer
runs; :func:`available` says whether it can be imported, :func:`unavailable_reason` why not.
"""

from __future__ import annotations

import functools
import logging
import tempfile
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from . import baselines as bl
from .errors import InputError

__all__ = [
    "GENIE3_KWARGS",
    "GRNBOOST2_KWARGS",
    "INSTALL_HINT",
    "PEERS",
    "available",
    "genie3",
    "genie3_matrix",
    "grnboost2",
    "grnboost2_matrix",
    "importance_matrix",
    "run_peer",
    "skip_message",
    "unavailable_reason",
]

PEERS = ("grnboost2", "genie3")
INSTALL_HINT = "pip install grn_mnn[peers]"
#: arboreto's GRNBoost2 regressor (``arboreto.core.SGBM_KWARGS``).
GRNBOOST2_KWARGS: dict[str, Any] = {
    "learning_rate": 0.01,
    "n_estimators": 5000,
    "max_features": 0.1,
    "subsample": 0.9,
}
#: GENIE3's random forest (``arboreto.core.RF_KWARGS``).
GENIE3_KWARGS: dict[str, Any] = {"n_jobs": 1, "n_estimators": 1000, "max_features": "sqrt"}
EARLY_STOP_WINDOW = 25
_QUIET_LOGGERS = ("distributed", "tornado", "asyncio", "bokeh")


@functools.lru_cache(maxsize=1)
def _import_error() -> str:
    try:
        import arboreto.algo  # noqa: F401
        import distributed  # noqa: F401
    except Exception as exc:  # ImportError, or a broken install raising anything else
        return f"{type(exc).__name__}: {exc}"
    return ""


def available() -> bool:
    """Whether arboreto (and dask.distributed) can be imported, so the peers can run."""
    return not _import_error()


def unavailable_reason() -> str:
    """Why the peers cannot run (the import error), or ``""`` when :func:`available`."""
    return _import_error()


def skip_message(names: Sequence[str] = PEERS) -> str:
    """The one-line notice that peers were skipped, with the reason and how to install them."""
    label = " and ".join({"grnboost2": "GRNBoost2", "genie3": "GENIE3"}.get(n, n) for n in names)
    return (
        f"{label} skipped: arboreto is not available ({unavailable_reason() or 'disabled'}); "
        f"install with `{INSTALL_HINT}`"
    )


class _Capture(logging.Handler):
    """Collects arboreto's per-target failure warnings (it retries, then drops the target)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def importance_matrix(
    expression: np.ndarray,
    source_idx: np.ndarray,
    regressor_type: str,
    regressor_kwargs: Mapping[str, Any],
    *,
    seed: int = 0,
    early_stop_window_length: int = EARLY_STOP_WINDOW,
    target_idx: np.ndarray | None = None,
) -> np.ndarray:
    """(genes x sources) arboreto importances of each source for each target gene.

    Builds arboreto's dask graph (``arboreto.core.create_graph``, what ``arboreto.algo.diy``
    runs) on a fresh in-process ``LocalCluster`` (one worker, one thread, no dashboard), shut
    down on return or error. Genes are passed to arboreto under their column index, so
    duplicate or odd names cannot confuse its name matching. ``target_idx`` restricts the
    regressions to those targets (rows of other genes stay 0; for timing and subsets).

    Raises
    ------
    InputError
        arboreto is missing, or a regression failed (arboreto would silently drop the target).
    """
    if not available():
        raise InputError(skip_message())
    from arboreto.core import create_graph
    from distributed import Client, LocalCluster

    x = np.ascontiguousarray(expression, dtype=float)
    n_genes = x.shape[1]
    names = [f"g{i}" for i in range(n_genes)]
    src_names = [names[i] for i in source_idx]
    tgt = np.arange(n_genes) if target_idx is None else np.asarray(target_idx, dtype=int)
    if len(source_idx) == 1:  # the lone source has no regressor for its own expression
        tgt = tgt[tgt != source_idx[0]]
    targets = [names[i] for i in tgt]
    if len(source_idx) == 0 or not targets:
        return np.zeros((n_genes, len(source_idx)))
    levels = {n: logging.getLogger(n).level for n in _QUIET_LOGGERS}
    capture = _Capture()
    arb_log = logging.getLogger("arboreto")
    arb_log.addHandler(capture)
    for n in _QUIET_LOGGERS:
        logging.getLogger(n).setLevel(logging.CRITICAL)
    try:
        with tempfile.TemporaryDirectory(prefix="grn_mnn_dask_") as tmp:
            cluster = LocalCluster(
                n_workers=1,
                threads_per_worker=1,
                processes=False,
                dashboard_address=None,
                # no dashboard, and the scheduler's bare HTTP server on a free local port
                # (its default 8787 warns when taken by another cluster)
                scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
                local_directory=tmp,
            )
            try:
                client = Client(cluster)
                try:
                    graph = create_graph(
                        x,
                        names,
                        src_names,
                        regressor_type=regressor_type,
                        regressor_kwargs=dict(regressor_kwargs),
                        client=client,
                        target_genes=targets,
                        early_stop_window_length=early_stop_window_length,
                        seed=int(seed),
                    )
                    links = client.compute(graph, sync=True)
                finally:
                    client.close()
            finally:
                cluster.close()
    finally:
        arb_log.removeHandler(capture)
        for n, lvl in levels.items():
            logging.getLogger(n).setLevel(lvl)
    if capture.messages:
        raise InputError(
            f"arboreto {regressor_type} regression failed for {len(capture.messages)} "
            f"target(s): {capture.messages[0]}"
        )
    col_of = {name: j for j, name in enumerate(src_names)}
    rows = links["target"].map(lambda s: int(s[1:])).to_numpy(int)
    cols = links["TF"].map(col_of).to_numpy(int)
    mat = np.zeros((n_genes, len(source_idx)))
    mat[rows, cols] = links["importance"].to_numpy(float)
    return mat


def _signed(x: np.ndarray, source_idx: np.ndarray, imp: np.ndarray, signed: bool) -> np.ndarray:
    return imp * np.sign(bl.pearson_matrix(x, source_idx)) if signed else imp


def _kwargs(
    defaults: Mapping[str, Any], n_estimators: int | None, regressor_kwargs: Mapping | None
) -> dict[str, Any]:
    kw = {**defaults, **(regressor_kwargs or {})}
    if n_estimators is not None:
        if int(n_estimators) < 1:
            raise InputError(f"n_estimators must be >= 1, got {n_estimators!r}")
        kw["n_estimators"] = int(n_estimators)
    return kw


def grnboost2_matrix(
    expression: np.ndarray,
    source_idx: np.ndarray,
    *,
    seed: int = 0,
    signed: bool = True,
    n_estimators: int | None = None,
    regressor_kwargs: Mapping[str, Any] | None = None,
    early_stop_window_length: int = EARLY_STOP_WINDOW,
) -> np.ndarray:
    """(genes x sources) GRNBoost2 importances, signed by the Pearson sign when ``signed``.

    ``n_estimators`` caps the boosting rounds (default 5,000, early stopping usually ends
    far sooner); ``regressor_kwargs`` update :data:`GRNBOOST2_KWARGS`.
    """
    x = np.asarray(expression, dtype=float)
    kw = _kwargs(GRNBOOST2_KWARGS, n_estimators, regressor_kwargs)
    imp = importance_matrix(
        x, source_idx, "GBM", kw, seed=seed, early_stop_window_length=early_stop_window_length
    )
    return _signed(x, source_idx, imp, signed)


def genie3_matrix(
    expression: np.ndarray,
    source_idx: np.ndarray,
    *,
    seed: int = 0,
    signed: bool = True,
    n_estimators: int | None = None,
    regressor_kwargs: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """(genes x sources) GENIE3 importances, signed by the Pearson sign when ``signed``.

    ``n_estimators`` sets the trees per forest (default 1,000); ``regressor_kwargs`` update
    :data:`GENIE3_KWARGS`.
    """
    x = np.asarray(expression, dtype=float)
    kw = _kwargs(GENIE3_KWARGS, n_estimators, regressor_kwargs)
    imp = importance_matrix(x, source_idx, "RF", kw, seed=seed)
    return _signed(x, source_idx, imp, signed)


def _edge_table(
    matrix_fn: Any,
    expression: np.ndarray,
    genes: Sequence[str],
    times: np.ndarray | None,
    sources: Sequence[str] | None,
    **kwargs: Any,
) -> pd.DataFrame:
    """Check the input, run a ``*_matrix`` peer on the candidate sources, tidy the result."""
    x = bl._check(expression, genes, times)
    src = bl.source_indices(genes, sources)
    return bl.matrix_to_edges(matrix_fn(x, src, **kwargs), genes, src)


def grnboost2(
    expression: np.ndarray,
    genes: Sequence[str],
    times: np.ndarray | None = None,
    *,
    sources: Sequence[str] | None = None,
    seed: int = 0,
    signed: bool = True,
    n_estimators: int | None = None,
    regressor_kwargs: Mapping[str, Any] | None = None,
    early_stop_window_length: int = EARLY_STOP_WINDOW,
) -> pd.DataFrame:
    """GRNBoost2 edge table over the candidate edges (``times`` is accepted and unused).

    Parameters
    ----------
    expression, genes, times
        Log expression (cells x genes), its gene names, the cells' times (ignored: GRNBoost2
        does not use time).
    sources
        Candidate regulators (default: every gene).
    seed
        ``random_state`` of every regressor; a fixed seed gives identical results.
    signed
        Multiply each importance by the sign of the source-target Pearson correlation.
    n_estimators, regressor_kwargs
        Override :data:`GRNBOOST2_KWARGS` (e.g. ``n_estimators=20`` for a quick look).
    early_stop_window_length
        arboreto's out-of-bag early-stopping window (boosting rounds).

    Returns
    -------
    pandas.DataFrame
        ``source, target, weight``, one row per candidate edge, no self-loops.
    """
    return _edge_table(
        grnboost2_matrix,
        expression,
        genes,
        times,
        sources,
        seed=seed,
        signed=signed,
        n_estimators=n_estimators,
        regressor_kwargs=regressor_kwargs,
        early_stop_window_length=early_stop_window_length,
    )


def genie3(
    expression: np.ndarray,
    genes: Sequence[str],
    times: np.ndarray | None = None,
    *,
    sources: Sequence[str] | None = None,
    seed: int = 0,
    signed: bool = True,
    n_estimators: int | None = None,
    regressor_kwargs: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """GENIE3 edge table over the candidate edges (``times`` is accepted and unused).

    Same parameters as :func:`grnboost2`; ``n_estimators`` / ``regressor_kwargs`` override
    :data:`GENIE3_KWARGS` (1,000 trees, ``max_features='sqrt'``).
    """
    return _edge_table(
        genie3_matrix,
        expression,
        genes,
        times,
        sources,
        seed=seed,
        signed=signed,
        n_estimators=n_estimators,
        regressor_kwargs=regressor_kwargs,
    )


def run_peer(
    name: str,
    expression: np.ndarray,
    source_idx: np.ndarray,
    *,
    seed: int = 0,
    signed: bool = True,
    options: Mapping[str, Any] | None = None,
) -> np.ndarray:
    """(genes x sources) matrix of the peer ``name`` (``options``: keyword overrides)."""
    if name == "grnboost2":
        return grnboost2_matrix(expression, source_idx, seed=seed, signed=signed, **(options or {}))
    if name == "genie3":
        return genie3_matrix(expression, source_idx, seed=seed, signed=signed, **(options or {}))
    raise InputError(f"unknown peer {name!r}; choose from {list(PEERS)}")
