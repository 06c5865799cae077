"""The main job: AnnData -> prepare -> fit -> extract -> score -> export (+ plots).

:func:`run` is what ``grn-mnn run`` calls. With no input it trains on the bundled human
iPSC -> hepatocyte time course (Camp et al. 2017) and scores against TRRUST human.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from . import __version__
from ._io import file_sha256, prepare_outdir, write_csv, write_json
from .config import (
    DEFAULT_READING,
    DEFAULT_SIGNS,
    DEFAULT_SIZE_FACTORS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TIME_PRIOR,
    DEFAULT_WINSORIZE,
    LAGGED_READINGS,
    READINGS,
    MNNConfig,
)
from .errors import ConfigError, InputError
from .model import CellMNN
from .peers import PEERS
from .readout import SIGN_EVIDENCE, check_options
from .runreport import log as _log
from .runreport import pr_curves, score_run, summary_text, write_plots

RESULT_MARKERS = ("edges.csv", "edges_by_time.csv", "scores.json", "model.pt", "run.json")
#: panels up to this many genes get every ordered pair in edges.csv (issue: all pairs <= 2,000)
ALL_PAIRS_MAX_GENES = 2000
#: edges.csv for larger panels, and each time slice of edges_by_time.csv, keeps this many edges
TOP_EDGES = 200_000
#: run's default latent dimension (the paper's 5 PCs give a rank-5 gene operator; 10 is a
#: compromise between resolution and the few hundred cells of the bundled time courses)
RUN_N_PCS = 10


@dataclass
class RunResult:
    """Paths written by :func:`run` and the in-memory results."""

    out: Path
    files: dict[str, str] = field(default_factory=dict)
    edges: pd.DataFrame | None = None
    edges_by_time: pd.DataFrame | None = None
    scores: dict[str, Any] | None = None
    model: CellMNN | None = None
    summary: str = ""


#: bundled data sets `run` can take by name, with their reference
BUNDLED = {
    "hepatocyte_camp2017": ("timecourses/hHEP_Camp2017/ExpressionData.csv.gz", "trrust-human"),
    "mesc_hayashi2018": ("timecourses/mESC_Hayashi2018/ExpressionData.csv.gz", "trrust-mouse"),
    "hesc_chu2016": ("scode/hESC_DE_Chu2016/data.txt", "trrust-human"),
    "mesc_scode_hayashi": ("scode/mESC_PrE_Hayashi/exp_train.txt", "trrust-mouse"),
}


def load_bundled(name: str = "hepatocyte_camp2017") -> tuple[AnnData, str, str]:
    """A bundled time course by name: (AnnData, its source file, reference spec)."""
    from . import datasets

    if name not in BUNDLED:
        raise InputError(f"unknown bundled data set {name!r}; choose one of {sorted(BUNDLED)}")
    rel, ref = BUNDLED[name]
    return getattr(datasets, name)(), str(datasets.data_dir() / rel), ref


class _Stages:
    """Prints each stage of the run with the time the previous one took (silent when quiet)."""

    def __init__(self, quiet: bool) -> None:
        self.quiet, self.t0, self.name = quiet, time.perf_counter(), None

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        if self.name is not None:
            _log(self.quiet, f"  {self.name}: {now - self.t0:.1f} s")
        if name != "done":
            _log(self.quiet, f"{name} ...")
        self.t0, self.name = now, name


def run(
    input: str | os.PathLike | AnnData | None = None,
    *,
    time_key: str = "time",
    out: str | os.PathLike = "results",
    reference: str | None = "auto",
    n_pcs: int = RUN_N_PCS,
    seed: int = 0,
    n_top_genes: int | None = None,
    data_kind: str = "auto",
    time_order: dict[Any, float] | None = None,
    log_base: float | None = None,
    config: MNNConfig | None = None,
    reading: str | None = None,
    signs: str = DEFAULT_SIGNS,
    size_factors: str = DEFAULT_SIZE_FACTORS,
    winsorize: float = DEFAULT_WINSORIZE,
    temperature: float = DEFAULT_TEMPERATURE,
    time_prior: str = DEFAULT_TIME_PRIOR,
    sign_bootstraps: int = 0,
    sources: str | Sequence[str] | None = "auto",
    graph_edges: int = 1000,
    quiet: bool = False,
    overwrite: bool = False,
    resume: bool = False,
    plots: bool = True,
    backed: bool = False,
    peers: bool | Sequence[str] = False,
    peer_options: Mapping[str, Mapping[str, Any]] | None = None,
    **overrides: Any,
) -> RunResult:
    """Run the whole job and write every output to ``out``.

    Parameters
    ----------
    input
        ``.h5ad``/``.zarr``/``.csv`` path, AnnData, the name of a bundled data set
        (:data:`BUNDLED`), or ``None`` = the bundled hepatocyte time course.
    time_key
        ``obs`` column with each cell's time in real units.
    out
        Output directory; refused if it already holds results unless ``overwrite``.
    reference
        ``"trrust-human"``, ``"trrust-mouse"``, a path, ``"none"``, or ``"auto"`` (TRRUST of
        ``adata.uns['species']`` when known).
    n_pcs, seed, n_top_genes, data_kind, time_order, log_base
        Preprocessing settings (see :func:`grn_mnn.pp.prepare`; ``log_base`` defaults to
        scanpy's ``uns['log1p']['base']``, which the bundled BEELINE time courses set to 2).
    config, overrides
        Model/training configuration (:class:`MNNConfig` fields).
    reading
        How the edge weights are read (:data:`READINGS`). ``None`` (default): ``"lagged"``,
        the time-ordered co-expression of :mod:`grn_mnn.readout`, which won the simulated
        accuracy benchmark (``docs/benchmarks.md``); ``"jacobian"`` with ``backed`` (the
        co-expression needs the expression matrix in memory). ``"flow-lagged"``: the same with
        the change times of the fitted Cell-MNN flow. ``"jacobian"`` / ``"contribution"``: the
        Cell-MNN operator J = W S A S^-1 W^T (:mod:`grn_mnn.extract`).
    signs, size_factors, winsorize, temperature, time_prior
        Where the co-expression readings take each edge's sign, the size factors of their
        ranking, the quantile at which it clips each gene, the temperature of its time-order
        factor (``inf``: none) and what that factor asks (``"regulator"``: an early regulator;
        ``"pair"``: a target that follows its regulator) (:func:`grn_mnn.readout.network`).
        The operator readings accept the defaults only.
    sign_bootstraps
        Co-expression readings: > 0 adds ``sign_agreement`` to the edge tables, the share of
        that many bootstrap resamples of the cells (seeded by ``seed``) that give the edge the
        same sign (:func:`grn_mnn.readout.sign_agreement`); 0 (default): no column.
    sources
        Candidate regulators: ``"auto"`` (default: the bundled TF list when the species is human
        or mouse, else every gene), ``"tf"``, ``None``/``"all"`` (every gene) or a list.
    graph_edges
        Strongest edges kept in each GraphML file (Cytoscape-friendly size).
    peers, peer_options
        Also score the peers (:mod:`grn_mnn.peers`): ``True`` = GRNBoost2 and GENIE3, or a
        subset of names; off by default because GENIE3 takes about an hour on the bundled
        1,448-gene time course (GRNBoost2 minutes; see ``docs/peers.md``). Skipped with one
        line when arboreto is not installed. ``peer_options`` as in :func:`validate.score`.
    backed
        Stream ``input`` (an ``.h5ad`` file or zarr store) instead of loading it: chunked PCA
        (:func:`grn_mnn.scale.prepare_backed`), latent z in ``out/latent.npy``, training
        batches read from there. The edges equal the in-memory run's up to float round-off;
        the baselines that need the expression matrix (Pearson, linear ODE, per-cell signs)
        are skipped.

    Raises
    ------
    GrnMnnError
        Bad input or options, including a reference that cannot be loaded -- always before
        training.
    """
    from . import export, pp
    from .readers import read_input
    from .reference import load_reference

    t_all = time.perf_counter()
    if reading is None:
        reading = "jacobian" if backed else DEFAULT_READING
    if reading not in READINGS:
        raise ConfigError(f"reading must be one of {list(READINGS)}, got {reading!r}")
    _check_readout_options(reading, signs, size_factors, winsorize, temperature, time_prior)
    _check_sign_bootstraps(reading, sign_bootstraps)
    out = prepare_outdir(out, overwrite or resume, RESULT_MARKERS)
    # ------------------------------------------------------------------ input
    if backed:
        adata, src, default_ref = _backed_shell(input, n_top_genes, reading), str(input), "auto"
    elif input is None or (isinstance(input, str) and input in BUNDLED):
        adata, src, default_ref = load_bundled(input or "hepatocyte_camp2017")
        time_key = "time"
    elif isinstance(input, AnnData):
        adata, src, default_ref = input, None, "auto"
    else:
        adata, src, default_ref = read_input(input, time_key=time_key), str(input), "auto"
    if reference == "auto":
        reference = default_ref
    if reference == "auto":
        species = adata.uns.get("species")
        reference = f"trrust-{species}" if species in ("human", "mouse") else "none"
    # a reference that cannot be loaded stops the run here, before training
    ref = None
    if reference and reference != "none":
        ref = load_reference(reference, species=adata.uns.get("species"))
    checksum = file_sha256(src) if src and Path(src).is_file() else None
    cfg = (config or MNNConfig()).replace(seed=seed, **overrides)
    size = (
        f"{adata.n_obs} cells, streamed"
        if backed
        else f"{adata.n_obs} cells x {adata.n_vars} genes"
    )
    _log(quiet, f"grn_mnn {__version__}: {size} from {src or 'AnnData'}")

    # ------------------------------------------------------------------ prepare + fit
    stage = _Stages(quiet)
    stage("preparing (checks, normalisation, PCA)" + (", streamed" if backed else ""))
    snap = None
    if backed:
        if pp.resolve_log_base(adata, log_base) is not None:
            raise ConfigError(
                "log input in base 2 or 10 (--log-base or uns['log1p']['base']) is rescaled in "
                "memory; drop --backed, or store natural log1p values"
            )
        snap = _prepare_streamed(adata, src, out, time_key, n_pcs, data_kind, time_order, quiet)
    else:
        pp.prepare(
            adata,
            time_key,
            n_pcs,
            n_top_genes=n_top_genes,
            data_kind=data_kind,
            time_order=time_order,
            seed=seed,
            log_base=log_base,
        )
    info = adata.uns["grn_mnn"]
    # the candidate regulators are resolved before training: a bad list stops the run here
    src_spec = default_sources(adata) if isinstance(sources, str) and sources == "auto" else sources
    src_names = None  # the candidate regulators by name, when restricted (scored on the same)
    if src_spec is not None and not (isinstance(src_spec, str) and src_spec == "all"):
        from .extract import resolve_sources

        idx = resolve_sources(info["genes"], src_spec, adata.uns.get("species"))
        src_names = [str(info["genes"][i]) for i in idx]
    model = CellMNN(adata, cfg)
    model.metadata.update({"input": src, "input_sha256": checksum, "seed": seed})
    stage(f"training Cell-MNN ({cfg.max_epochs} epochs at most, early stopping)")
    model.train(checkpoint=out / "checkpoint.pt", resume=resume, progress=not quiet, snapshots=snap)
    files = {"model": str(model.save(out / "model.pt"))}

    # ------------------------------------------------------------------ extract
    stage("extracting gene networks (all cells and per time point)")
    n_genes = len(info["genes"])
    top_n = None if n_genes <= ALL_PAIRS_MAX_GENES else TOP_EDGES
    readout_kw = {
        "signs": signs,
        "size_factors": size_factors,
        "winsorize": winsorize,
        "temperature": temperature,
        "time_prior": time_prior,
        **({"sign_bootstraps": sign_bootstraps} if sign_bootstraps else {}),
    }
    edges = gene_network(
        model, adata, reading, sources=src_spec, top_n=top_n, seed=seed, **readout_kw
    )
    edges = edges.drop(columns=["n_cells"])
    by_time = gene_network(
        model,
        adata,
        reading,
        sources=src_spec,
        by="time",
        top_n=min(TOP_EDGES, n_genes * (n_genes - 1)),
        seed=seed,
        **readout_kw,
    )
    evidence = [c for c in SIGN_EVIDENCE if c in edges.columns]  # co-expression readings
    files["edges"] = str(
        write_csv(out / "edges.csv", edges[["source", "target", "weight", *evidence]])
    )
    files["edges_by_time"] = str(
        write_csv(
            out / "edges_by_time.csv", by_time[["source", "target", "weight", "time", *evidence]]
        )
    )

    # ------------------------------------------------------------------ score
    stage(
        f"scoring against {reference} with baselines"
        if reference not in (None, "none")
        else "no reference: scoring skipped"
    )
    scores, peer_tables = None, {}
    if ref is not None:
        scores, ref = score_run(
            model,
            adata,
            edges,
            ref,
            seed,
            quiet,
            expression=not backed,
            reading=reading,
            peers=PEERS if peers is True else tuple(peers or ()),
            peer_options=peer_options,
            sources=src_names,
            peer_tables=peer_tables,
        )
    provenance = {
        "version": __version__,
        "seed": seed,
        "input": src,
        "input_sha256": checksum,
        "config": cfg.to_dict(),
        "n_pcs": n_pcs,
        "reading": reading,
        **(readout_kw if reading in LAGGED_READINGS else {}),
        **({"temperature": "inf"} if np.isinf(temperature) else {}),  # JSON has no infinity
        "sources": src_spec if src_spec is None or isinstance(src_spec, str) else "list",
        "backed": bool(backed),
    }
    if scores is not None:
        scores["provenance"] = provenance
        files["scores"] = str(write_json(out / "scores.json", scores))

    # ------------------------------------------------------------------ export + plots
    stage("writing GraphML and plots")
    node_attrs = _node_attrs(adata, ref, None if backed else _change_times(adata, size_factors))
    graph = {
        "grn_mnn_version": __version__,
        "seed": seed,
        "input_sha256": checksum or "",
        "reading": reading,
    }
    files["graphml"] = str(
        export.write_graphml(
            edges.head(graph_edges),
            out / "network.graphml",
            node_attrs=node_attrs,
            graph_attrs=graph,
        )
    )
    top_time = by_time.groupby("time", sort=True, group_keys=False).head(graph_edges)
    for k, v in export.export_networks(
        top_time,
        out / "networks",
        by="time",
        node_attrs=node_attrs,
        formats=("graphml",),
        graph_attrs=graph,
    ).items():
        files[f"networks/{k}"] = str(v)
    if plots:
        curves = None
        if ref is not None and scores is not None:
            from .validate import restrict_sources

            scored = ref if src_names is None else restrict_sources(ref, src_names)
            curves = pr_curves(adata, edges, scored, not backed, peer_tables)
        files.update(write_plots(out, model, by_time, scores, curves))

    # ------------------------------------------------------------------ manifest
    stage("done")
    manifest = {
        **provenance,
        "outputs": {
            k: {"path": os.path.relpath(v, out), "sha256": file_sha256(v)} for k, v in files.items()
        },
        "training": model.metadata.get("training", {}),
        "data": {
            "n_cells": adata.n_obs,
            "n_genes": n_genes,
            "times": np.asarray(info["times"]).tolist(),
            "time_unit": info["time_unit"],
            "transform": info["transform"],
        },
        "reference": reference,
        "seconds_total": time.perf_counter() - t_all,
    }
    files["run"] = str(write_json(out / "run.json", manifest))
    summary = summary_text(adata, model, edges, scores, out, manifest)
    _log(quiet, summary)
    return RunResult(
        out=out,
        files=files,
        edges=edges,
        edges_by_time=by_time,
        scores=scores,
        model=model,
        summary=summary,
    )


def run_edges(adata: AnnData, *, seed: int = 0, **kwargs: Any) -> pd.DataFrame:
    """``source, target, weight`` of the network :func:`run` writes for ``adata`` (a copy).

    The run goes to a temporary folder with no reference and no plots; ``kwargs`` are
    :func:`run`'s (``reading``, ``sources``, configuration overrides, ...). Benchmarks use it
    to score exactly what ``grn-mnn run`` writes.
    """
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        res = run(
            adata.copy(),
            out=tmp,
            reference="none",
            plots=False,
            quiet=True,
            overwrite=True,
            seed=seed,
            **kwargs,
        )
    return res.edges[["source", "target", "weight"]]


def default_sources(adata: AnnData) -> str | None:
    """``"tf"`` (the bundled TF list) for human or mouse data, else ``None`` (every gene)."""
    return "tf" if adata.uns.get("species") in ("human", "mouse") else None


def _check_readout_options(
    reading: str,
    signs: str,
    size_factors: str,
    winsorize: float = DEFAULT_WINSORIZE,
    temperature: float = DEFAULT_TEMPERATURE,
    time_prior: str = DEFAULT_TIME_PRIOR,
) -> None:
    """Refuse unknown sign sources / size factors / winsorize quantiles / temperatures / time
    priors, and any of them set on an operator reading."""
    options = (signs, size_factors, winsorize, temperature, time_prior)
    check_options(*options)
    defaults = (
        DEFAULT_SIGNS,
        DEFAULT_SIZE_FACTORS,
        DEFAULT_WINSORIZE,
        DEFAULT_TEMPERATURE,
        DEFAULT_TIME_PRIOR,
    )
    if reading not in LAGGED_READINGS and options != defaults:
        raise ConfigError(
            "signs / size_factors / winsorize / temperature / time_prior set the co-expression "
            "readings "
            f"({', '.join(LAGGED_READINGS)}); "
            f"reading={reading!r} takes its signs from the Cell-MNN operator: drop them"
        )


def _check_sign_bootstraps(reading: str, sign_bootstraps: Any) -> None:
    """Refuse a bad number of sign bootstraps, or any on an operator reading."""
    from .readout import check_bootstraps

    check_bootstraps(sign_bootstraps)
    if sign_bootstraps and reading not in LAGGED_READINGS:
        raise ConfigError(
            f"sign_bootstraps resamples the co-expression readings ({', '.join(LAGGED_READINGS)});"
            f" reading={reading!r} takes its signs from the Cell-MNN operator: drop it"
        )


def gene_network(
    model: CellMNN | None,
    adata: AnnData,
    reading: str = DEFAULT_READING,
    *,
    sources: str | Sequence[str] | None = None,
    species: str | None = None,
    by: str | None = None,
    top_k: int | None = None,
    top_n: int | None = None,
    spread: bool = False,
    signs: str = DEFAULT_SIGNS,
    size_factors: str = DEFAULT_SIZE_FACTORS,
    winsorize: float = DEFAULT_WINSORIZE,
    temperature: float = DEFAULT_TEMPERATURE,
    time_prior: str = DEFAULT_TIME_PRIOR,
    sign_bootstraps: int = 0,
    seed: int = 0,
) -> pd.DataFrame:
    """The gene network ``run`` writes, for any of :data:`READINGS`.

    ``"lagged"`` needs no model (pass ``None``): it is what the accuracy benchmark scores as
    grn_mnn's default without training. ``spread`` adds the operator readings' spread across
    cells (``weight_std``); ``run`` does not write it, so it is off by default. ``signs``,
    ``size_factors``, ``winsorize``, ``temperature``, ``time_prior`` and ``sign_bootstraps``
    (with ``seed``) go to :func:`grn_mnn.readout.network` (co-expression readings only).
    """
    from . import extract, readout

    _check_readout_options(reading, signs, size_factors, winsorize, temperature, time_prior)
    _check_sign_bootstraps(reading, sign_bootstraps)
    if reading in LAGGED_READINGS:
        timing = "data" if reading == "lagged" else "flow"
        return readout.network(
            adata,
            model=model,
            timing=timing,
            signs=signs,
            size_factors=size_factors,
            winsorize=winsorize,
            temperature=temperature,
            time_prior=time_prior,
            sources=sources,
            species=species,
            by=by,
            top_k=top_k,
            top_n=top_n,
            sign_bootstraps=sign_bootstraps,
            seed=seed,
            key_added=None,
        )
    if model is None:
        raise ConfigError(f"reading={reading!r} reads the fitted operators: pass the model")
    return extract.network(
        model,
        adata,
        by=by,
        reading=reading,
        sources=sources,
        species=species,
        top_k=top_k,
        top_n=top_n,
        key_added=None,
        spread=spread,
    )


def _backed_shell(input: Any, n_top_genes: int | None, reading: str) -> AnnData:
    """obs and uns of an on-disk ``.h5ad`` / zarr store, without X (for ``backed=True``)."""
    from .preflight import check_input

    if input is None or isinstance(input, AnnData) or str(input) in BUNDLED:
        raise ConfigError("backed=True (--backed) streams a file: give an .h5ad path or zarr store")
    if n_top_genes is not None:
        raise ConfigError("--n-top-genes needs the data in memory; drop it or --backed")
    if reading not in ("jacobian", "flow-lagged"):
        raise ConfigError(
            f"--reading {reading} needs the expression in memory; drop --backed or use "
            "--reading jacobian / flow-lagged"
        )
    path = check_input(input, backed=True)
    try:
        from anndata.io import read_elem

        if path.is_dir():
            import zarr

            group: Any = zarr.open_group(str(path), mode="r")
            closer = None
        else:
            import h5py

            group = closer = h5py.File(path, "r")
        try:
            obs = read_elem(group["obs"])
            uns = read_elem(group["uns"]) if "uns" in group else {}
        finally:
            if closer is not None:
                closer.close()
    except Exception as exc:
        raise InputError(
            f"cannot read obs of {path} ({type(exc).__name__}: {str(exc)[:200]}); is it an "
            "AnnData .h5ad file or zarr store?"
        ) from None
    return AnnData(obs=obs, uns=dict(uns))


def _prepare_streamed(
    shell: AnnData,
    src: str,
    out: Path,
    time_key: str,
    n_pcs: int,
    data_kind: str,
    time_order: dict[Any, float] | None,
    quiet: bool,
) -> Any:
    """Chunked PCA of ``src`` into ``out/latent.npy``; the shell gets the mapping, times and z.

    The latent z (cells x n_pcs) is also kept in ``shell.obsm`` for extraction; training
    reads its batches from the file.
    """
    from .pp import KEY, LATENT_KEY, TIME_COL
    from .scale import prepare_backed
    from .train import take_rows

    snap, mapping = prepare_backed(
        src,
        out / "latent.npy",
        time_key,
        n_pcs,
        data_kind=data_kind,
        time_order=time_order,
        time_unit=shell.uns.get("time_unit"),
        overwrite=True,
        progress=not quiet,
    )
    if time_order is not None:
        mapping["time_order"] = {str(k): float(v) for k, v in time_order.items()}
    shell.uns[KEY] = mapping
    shell.obs[TIME_COL] = snap.t
    shell.obsm[LATENT_KEY] = take_rows(snap.z, np.arange(len(snap.t))).astype(np.float64)
    return snap


def _change_times(adata: AnnData, size_factors: str) -> np.ndarray:
    """Each gene's change time in the data's time units (:func:`grn_mnn.readout.change_times`
    of the expression the co-expression readings rank), the clock of the default's time order
    (``--reading flow-lagged`` reads its own from the fitted flow)."""
    from . import readout
    from .pp import TIME_COL, get_expression

    info = adata.uns["grn_mnn"]
    x = readout.ranking_expression(get_expression(adata), str(info.get("transform")), size_factors)
    return readout.change_times(x, adata.obs[TIME_COL].to_numpy().astype(float))


def _node_attrs(adata: AnnData, ref: Any, change_time: np.ndarray | None = None) -> pd.DataFrame:
    """GraphML node attributes: ``is_tf`` (a source of ``ref``), ``mean_expression`` and, when
    given, ``change_time`` (when the gene's mean expression moves, in the data's time units)."""
    info = adata.uns["grn_mnn"]
    genes = list(info["genes"])
    tfs = set(ref.edges["tf"].str.upper()) if ref is not None else set()
    # gene_mean is the mean over cells of the expression the PCA saw (both preparations)
    attrs = {
        "is_tf": [g.upper() in tfs for g in genes],
        "mean_expression": np.asarray(info["gene_mean"], dtype=np.float64),
    }
    if change_time is not None:
        attrs["change_time"] = np.asarray(change_time, dtype=np.float64)
    return pd.DataFrame(attrs, index=genes)


def read_scores(path: str | os.PathLike) -> dict[str, Any]:
    """Read a ``scores.json`` written by :func:`run`."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist")
    return json.loads(path.read_text())
