"""Command-line interface: ``grn-mnn run | extract | perturb | score | export | datasets``.

Every :class:`~grn_mnn.errors.GrnMnnError` is printed as one line ``grn-mnn: error: ...``
with a non-zero exit code (2 bad input, 3 training failure, 130 interrupted).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .config import (
    DEFAULT_READING,
    DEFAULT_SIGNS,
    DEFAULT_SIZE_FACTORS,
    DEFAULT_TEMPERATURE,
    DEFAULT_TIME_PRIOR,
    DEFAULT_WINSORIZE,
    READINGS,
    SIGNS,
    SIZE_FACTORS,
    TIME_PRIORS,
    MNNConfig,
)
from .errors import GrnMnnError, InputError

_SKIP_FIELDS = {"seed", "n_pcs", "extra", "threads"}
#: fields whose default's type is not the type of their values
_ARG_TYPES: dict[str, type] = {
    **dict.fromkeys(("parameterization", "lr_schedule", "device", "time_scale"), str),
    "on_divergence": str,
    "path_step": float,
}


def _config_args(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("model and training (Cell-MNN; defaults are the paper's)")
    for f in dataclasses.fields(MNNConfig):
        if f.name in _SKIP_FIELDS:
            continue
        flag = "--" + f.name.replace("_", "-")
        kind = _ARG_TYPES.get(f.name, type(f.default))
        g.add_argument(
            flag, dest=f"cfg_{f.name}", type=kind, default=None, help=f"default {f.default!r}"
        )


def _config_from(ns: argparse.Namespace) -> dict[str, Any]:
    out = {}
    for k, v in vars(ns).items():
        if k.startswith("cfg_") and v is not None:
            name = k[4:]
            if name == "time_scale" and v != "auto":
                try:
                    v = float(v)
                except ValueError:
                    raise InputError(
                        f"--time-scale must be 'auto' or a number, got {v!r}"
                    ) from None
            out[name] = v
    if ns.threads is not None:
        out["threads"] = ns.threads
    return out


def _time_order(text: str | None) -> dict[str, float] | None:
    if not text:
        return None
    mapping = {}
    for item in text.split(","):
        if "=" not in item:
            raise InputError(
                f"--time-order expects label=time pairs separated by commas, got {item!r}"
            )
        k, v = item.split("=", 1)
        try:
            mapping[k.strip()] = float(v)
        except ValueError:
            raise InputError(f"--time-order: time {v!r} of label {k!r} is not a number") from None
    return mapping


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = argparse.ArgumentParser(
        prog="grn-mnn",
        description=(
            "Signed, directed, time-varying gene regulatory networks from time-course scRNA-seq "
            "with Cell-MNN."
        ),
    )
    p.add_argument("--version", action="version", version=f"grn_mnn {__version__}")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> None:
        sp.add_argument("--quiet", action="store_true", help="no progress bars or summary")
        sp.add_argument(
            "--threads",
            type=int,
            default=None,
            help="torch threads (default 1: stable on small CPUs)",
        )
        sp.add_argument("--overwrite", action="store_true", help="replace results already in --out")

    def readout_args(sp: argparse.ArgumentParser) -> None:
        sp.add_argument(
            "--signs",
            default=DEFAULT_SIGNS,
            choices=list(SIGNS),
            help="co-expression readings: where each edge's sign comes from (default "
            "expression+within: the within-time correlation where significant, else the "
            "correlation across all cells)",
        )
        sp.add_argument(
            "--size-factors",
            default=DEFAULT_SIZE_FACTORS,
            choices=list(SIZE_FACTORS),
            help="co-expression readings: size factors of the ranking (default auto: "
            "median-of-ratios when grn_mnn normalised raw counts itself)",
        )
        sp.add_argument(
            "--winsorize",
            type=float,
            default=DEFAULT_WINSORIZE,
            metavar="Q",
            help="co-expression readings: clip each gene at this quantile over the cells "
            f"before its correlations (default {DEFAULT_WINSORIZE}; 1 = no clipping)",
        )
        sp.add_argument(
            "--temperature",
            type=float,
            default=DEFAULT_TEMPERATURE,
            metavar="T",
            help="co-expression readings: temperature of the time-order factor, in units of "
            f"the time span (default {DEFAULT_TEMPERATURE}, chosen on simulated data; inf = no "
            "time order: docs/accuracy.md)",
        )
        sp.add_argument(
            "--sign-bootstraps",
            type=int,
            default=0,
            metavar="N",
            help="co-expression readings: add sign_agreement, the share of N bootstrap "
            "resamples of the cells within time points that give each edge the same sign (a "
            "confidence for the signs; 20 is a good number; default 0: no column)",
        )
        sp.add_argument(
            "--time-prior",
            default=DEFAULT_TIME_PRIOR,
            choices=list(TIME_PRIORS),
            help="co-expression readings: what the time-order factor asks of an edge (default "
            f"{DEFAULT_TIME_PRIOR}: a regulator that changes earlier than the other candidate "
            "regulators; pair: a target that changes after its regulator, sessions 4-11)",
        )

    r = sub.add_parser("run", help="prepare -> fit -> extract -> score -> export")
    r.add_argument(
        "--input",
        default=None,
        help=".h5ad/.zarr/.csv (default: bundled "
        "human iPSC -> hepatocyte time course, Camp et al. 2017)",
    )
    r.add_argument(
        "--dataset",
        default=None,
        help="a bundled data set instead of --input: hepatocyte_camp2017 (default), "
        "mesc_hayashi2018, hesc_chu2016, mesc_scode_hayashi",
    )
    r.add_argument("--time-key", default="time", help="obs column with real times")
    r.add_argument(
        "--time-order",
        default=None,
        help="label=time pairs for non-numeric time labels, e.g. d0=0,d6=6",
    )
    r.add_argument("--out", default="results", help="output directory (default results/)")
    r.add_argument(
        "--reference",
        default="auto",
        help="trrust-human | trrust-mouse | PATH | none (default: TRRUST of the data's species)",
    )
    r.add_argument("--n-pcs", type=int, default=None, help="latent dimension (default 10)")
    r.add_argument("--n-top-genes", type=int, default=None, help="keep N highly variable genes")
    r.add_argument("--data-kind", default="auto", choices=["auto", "counts", "log"])
    r.add_argument(
        "--log-base",
        type=float,
        default=None,
        help="base of log input, e.g. 2 for log2(x+1) (default: scanpy's uns['log1p']['base'] "
        "when recorded, else natural log1p)",
    )
    r.add_argument(
        "--reading",
        default=None,
        choices=list(READINGS),
        help="edge weights: lagged (default; time-ordered co-expression, the benchmark winner), "
        "flow-lagged (timing from the Cell-MNN flow), jacobian or contribution (the Cell-MNN "
        "operator J = W S A S^-1 W^T); --backed defaults to jacobian",
    )
    r.add_argument(
        "--sources",
        default="auto",
        help="candidate regulators: auto (default: the bundled TF list for human/mouse data, "
        "else all genes), tf, all, or a file of gene names",
    )
    r.add_argument(
        "--graph-edges", type=int, default=1000, help="strongest edges kept in each GraphML file"
    )
    r.add_argument("--seed", type=int, default=0)
    r.add_argument(
        "--resume", action="store_true", help="continue training from --out/checkpoint.pt"
    )
    r.add_argument("--no-plots", action="store_true")
    r.add_argument(
        "--backed",
        action="store_true",
        help="stream the .h5ad / zarr --input from disk (chunked PCA, latent z in OUT/latent.npy)",
    )
    r.add_argument(
        "--peers",
        nargs="*",
        choices=["grnboost2", "genie3"],
        default=None,
        help="also score the peers (arboreto; pip install grn_mnn[peers]): --peers alone = "
        "grnboost2 genie3 (GENIE3: about an hour on 1,448 genes; --peer-trees 100 ~10x less)",
    )
    r.add_argument("--peer-trees", type=int, default=None, help="trees per peer regression")
    readout_args(r)
    common(r)
    _config_args(r)

    e = sub.add_parser("extract", help="gene networks from a fitted model")
    e.add_argument("--model", required=True, help="model.pt written by run")
    e.add_argument("--input", required=True, help="data with the model's genes (.h5ad)")
    e.add_argument("--time-key", default=None, help="default: the model's time key")
    e.add_argument(
        "--time-order",
        default=None,
        help="label=time pairs (default: the mapping the model was trained with)",
    )
    e.add_argument("--out", required=True)
    e.add_argument("--by", default=None, help="'time' or an obs column (cluster, lineage, ...)")
    e.add_argument(
        "--sources", default=None, help="'tf' (bundled TF list, Lambert et al. 2018) or a gene file"
    )
    e.add_argument("--species", default=None, choices=["human", "mouse"])
    e.add_argument("--top-k", type=int, default=None, help="strongest targets per source")
    e.add_argument("--top-n", type=int, default=None, help="strongest edges per network")
    e.add_argument(
        "--reading",
        default=DEFAULT_READING,
        choices=list(READINGS),
        help="network reading (default: run's, time-ordered co-expression; see docs/accuracy.md)",
    )
    e.add_argument("--graphml", action="store_true", help="also write GraphML files")
    readout_args(e)
    common(e)

    _perturb_parser(sub, common)

    s = sub.add_parser("score", help="score an edge table against a reference")
    s.add_argument("--edges", required=True, help="CSV with source,target,weight")
    s.add_argument("--reference", required=True, help="trrust-human | trrust-mouse | PATH")
    s.add_argument(
        "--input", default=None, help="the data (.h5ad) for baselines (pearson, linear ODE)"
    )
    s.add_argument("--time-key", default="time")
    s.add_argument("--time-order", default=None, help="label=time pairs for non-numeric labels")
    s.add_argument("--out", required=True)
    s.add_argument("--seed", type=int, default=0)
    s.add_argument(
        "--no-peers",
        action="store_true",
        help="skip the peers GRNBoost2 and GENIE3 (scored with --input when arboreto is "
        "installed: pip install grn_mnn[peers]; GENIE3 takes about an hour on 1,448 genes)",
    )
    s.add_argument(
        "--peer-trees",
        type=int,
        default=None,
        help="trees per regression of both peers (default: GRNBoost2 up to 5000 with early "
        "stopping, GENIE3 1000); fewer is faster",
    )
    common(s)

    x = sub.add_parser("export", help="edge table -> GraphML / CSV for Cytoscape")
    x.add_argument("--edges", required=True, help="CSV with source,target,weight[,time|group]")
    x.add_argument("--out", required=True)
    x.add_argument("--by", default=None, choices=["time", "group"])
    x.add_argument("--top", type=int, default=None, help="strongest edges per network")
    common(x)

    d = sub.add_parser("datasets", help="list the bundled data sets")
    d.add_argument("--quiet", action="store_true")
    return p


def _cmd_run(ns: argparse.Namespace) -> None:
    from .pipeline import RUN_N_PCS, run
    from .preflight import check_gene_list

    if ns.input and ns.dataset:
        raise InputError("give either --input FILE or --dataset NAME, not both")
    sources: Any = {"auto": "auto", "tf": "tf", "all": None}.get(ns.sources, ns.sources)
    if sources == ns.sources and sources not in ("auto", "tf"):
        sources = check_gene_list(ns.sources)
    run(
        ns.input or ns.dataset,
        time_key=ns.time_key,
        out=ns.out,
        reference=ns.reference,
        n_pcs=ns.n_pcs or RUN_N_PCS,
        seed=ns.seed,
        n_top_genes=ns.n_top_genes,
        data_kind=ns.data_kind,
        log_base=ns.log_base,
        time_order=_time_order(ns.time_order),
        reading=ns.reading,
        signs=ns.signs,
        size_factors=ns.size_factors,
        winsorize=ns.winsorize,
        temperature=ns.temperature,
        time_prior=ns.time_prior,
        sign_bootstraps=ns.sign_bootstraps,
        sources=sources,
        graph_edges=ns.graph_edges,
        quiet=ns.quiet,
        overwrite=ns.overwrite,
        resume=ns.resume,
        plots=not ns.no_plots,
        backed=ns.backed,
        peers=_peer_names(ns.peers),
        peer_options=_peer_options(ns.peer_trees),
        **_config_from(ns),
    )


def _peer_names(arg: list[str] | None) -> tuple[str, ...]:
    """``--peers`` absent: none; given alone: both; given with names: those."""
    from .peers import PEERS

    if arg is None:
        return ()
    return tuple(arg) if arg else PEERS


def _peer_options(trees: int | None) -> dict[str, dict[str, int]] | None:
    if trees is None:
        return None
    if trees < 1:
        raise InputError(f"--peer-trees must be >= 1, got {trees}")
    return {"grnboost2": {"n_estimators": trees}, "genie3": {"n_estimators": trees}}


def _cmd_extract(ns: argparse.Namespace) -> None:
    from . import export, pipeline, pp
    from ._io import prepare_outdir, write_csv
    from .model import CellMNN
    from .preflight import check_gene_list
    from .readers import read_input

    out = prepare_outdir(ns.out, ns.overwrite, ("edges.csv",))
    model = CellMNN.load(ns.model)
    adata = read_input(ns.input, time_key=ns.time_key)
    pp.project(adata, model.mapping, time_key=ns.time_key, time_order=_time_order(ns.time_order))
    sources: Any = ns.sources
    if sources and sources not in ("tf", "all"):
        sources = check_gene_list(sources)
    df = pipeline.gene_network(
        model,
        adata,
        ns.reading,
        sources=sources,
        species=ns.species or adata.uns.get("species"),
        by=ns.by,
        top_k=ns.top_k,
        top_n=ns.top_n,
        spread=True,
        signs=ns.signs,
        size_factors=ns.size_factors,
        winsorize=ns.winsorize,
        temperature=ns.temperature,
        time_prior=ns.time_prior,
        sign_bootstraps=ns.sign_bootstraps,
    )
    write_csv(out / "edges.csv", df)
    if ns.graphml:
        by = None if ns.by is None else ("time" if ns.by == "time" else "group")
        export.export_networks(df, out, by=by, formats=("graphml",))
    if not ns.quiet:
        print(f"wrote {len(df)} edges to {out / 'edges.csv'}")


def _perturb_parser(sub: Any, common: Any) -> None:
    q = sub.add_parser(
        "perturb", help="in-silico knockout / overexpression through the learned dynamics"
    )
    q.add_argument("--model", required=True, help="model.pt written by run")
    q.add_argument(
        "--input", default=None, help="the model's data (default: its bundled training data)"
    )
    q.add_argument("--time-key", default=None, help="default: the model's time key")
    q.add_argument("--time-order", default=None, help="label=time pairs (default: the model's)")
    q.add_argument("--gene", action="append", required=True, help="gene to perturb (repeatable)")
    how = q.add_mutually_exclusive_group(required=True)
    how.add_argument("--knockout", action="store_true", help="clamp to 0 (see --knockout-to)")
    how.add_argument("--overexpress", type=float, default=None, metavar="FOLD")
    how.add_argument("--set-value", type=float, default=None, metavar="V", help="log expression")
    how.add_argument("--shift-sd", type=float, default=None, metavar="K", help="x + K sd")
    q.add_argument("--knockout-to", default="zero", choices=["zero", "min"])
    q.add_argument("--start-time", type=float, default=None, help="default: the first time")
    q.add_argument("--step", type=float, default=None, help="grid step (default: gap / 4)")
    q.add_argument("--one-off", action="store_true", help="perturb at the start only")
    q.add_argument("--mapping", default="project", choices=["project", "hold"])
    q.add_argument("--propagation", default="linear", choices=["linear", "flow"])
    q.add_argument(
        "--response",
        default="stable",
        choices=["stable", "raw"],
        help="linear propagation: growing modes of the operators clipped (stable, default) or "
        "as fitted (raw)",
    )
    q.add_argument("--groupby", default=None, help="obs column for the fate shift")
    q.add_argument("--basis", default="pca", help="'pca' or an obsm key such as X_umap")
    q.add_argument("--out", required=True)
    q.add_argument("--no-plots", action="store_true")
    common(q)


def _perturb_input(model: Any, ns: argparse.Namespace) -> tuple[Any, str]:
    """The data to perturb: --input, or the bundled data set the model was trained on."""
    from ._io import file_sha256
    from .pipeline import BUNDLED, load_bundled
    from .readers import read_input

    time_key = ns.time_key or model.mapping.get("time_key", "time")
    if ns.input:
        return read_input(ns.input, time_key=time_key), str(ns.input)
    src = str(model.metadata.get("input") or "")
    name = next((k for k, (rel, _) in BUNDLED.items() if src.endswith(rel)), None)
    if name is None:
        raise InputError(
            f"the model's training data ({src or 'an AnnData'}) is not bundled; pass --input DATA"
        )
    adata, path, _ = load_bundled(name)
    want = model.metadata.get("input_sha256")
    if want and file_sha256(path) != want:
        raise InputError(
            f"the bundled {name} differs from the data the model was fitted on (checksum); "
            "pass --input DATA"
        )
    return adata, path


def _cmd_perturb(ns: argparse.Namespace) -> None:
    from . import perturb as pt
    from ._io import file_sha256, prepare_outdir
    from .model import CellMNN

    out = prepare_outdir(ns.out, ns.overwrite, pt.OUTPUT_MARKERS)
    model = CellMNN.load(ns.model)
    adata, src = _perturb_input(model, ns)
    res = pt.perturb(
        model,
        adata,
        ns.gene,
        knockout=ns.knockout,
        overexpress=ns.overexpress,
        value=ns.set_value,
        shift_sd=ns.shift_sd,
        knockout_to=ns.knockout_to,
        start_time=ns.start_time,
        sustained=not ns.one_off,
        step=ns.step,
        mapping=ns.mapping,
        propagation=ns.propagation,
        response=ns.response,
        groupby=ns.groupby,
        basis=ns.basis,
        time_key=ns.time_key,
        time_order=_time_order(ns.time_order),
        progress=not ns.quiet,
    )
    prov = {
        "model": str(ns.model),
        "model_sha256": file_sha256(ns.model),
        "input": src,
        "input_sha256": file_sha256(src) if Path(src).is_file() else None,
    }
    pt.write_results(res, out, overwrite=True, plots=not ns.no_plots, provenance=prov)
    if not ns.quiet:
        print(res.summary())
        print(f"outputs in {out}/ (perturbation.csv, cell_shifts.csv, plots/, run.json)")


def _cmd_score(ns: argparse.Namespace) -> None:
    from . import peers, pp, validate
    from ._io import prepare_outdir, write_json
    from .baselines import BASELINES
    from .readers import read_input

    out = prepare_outdir(ns.out, ns.overwrite, ("scores.json",))
    edges = validate.read_edges(ns.edges)  # before the (possibly large) input
    kw: dict[str, Any] = {"seed": ns.seed, "method_name": "input", "quiet": True}
    if ns.no_peers:
        kw["baselines"] = BASELINES
    kw["peer_options"] = _peer_options(ns.peer_trees)
    if ns.input:
        adata = read_input(ns.input, time_key=ns.time_key)
        pp.check_anndata(adata)
        t = pp.parse_times(adata, ns.time_key, _time_order(ns.time_order))
        x = pp._to_dense(adata.X)
        pp.check_values(x, "auto")
        if pp.detect_kind(x) == "counts":
            x = pp.normalize_counts(x, allow_empty_cells=True)
        kw.update(expression=x, genes=list(adata.var_names.astype(str)), times=t)
    if ns.input and not ns.no_peers and not ns.quiet and peers.available():
        print(
            "scoring with the peers GRNBoost2 and GENIE3 too (GENIE3: ~1 h on 1,500 genes; "
            "--no-peers skips them, --peer-trees N speeds them up)",
            file=sys.stderr,
        )
    scores = validate.score(edges, ns.reference, **kw)
    if scores["settings"]["peers"]["skipped"]:
        print(f"grn-mnn: {scores['settings']['peers']['skipped']}", file=sys.stderr)
    write_json(out / "scores.json", scores)
    if not ns.quiet:
        print(validate.score_table(scores).to_string(float_format=lambda v: f"{v:.3f}"))
        if validate.versus_text(scores):
            print(validate.versus_text(scores))


def _cmd_export(ns: argparse.Namespace) -> None:
    from . import export
    from ._io import prepare_outdir
    from .validate import read_edges

    out = prepare_outdir(ns.out, ns.overwrite, ("network.graphml",))
    df = read_edges(ns.edges)
    if ns.top:
        key = ns.by if ns.by else None
        df = (
            df.reindex(df["weight"].abs().sort_values(ascending=False).index)
            if "weight" in df
            else df
        )
        df = df.groupby(key, group_keys=False).head(ns.top) if key else df.head(ns.top)
    paths = export.export_networks(df, out, by=ns.by, formats=("graphml", "csv"))
    if not ns.quiet:
        for p in paths.values():
            print(p)


def _cmd_datasets(ns: argparse.Namespace) -> None:
    from .datasets import list_datasets

    print(list_datasets().to_string(index=False))


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``grn-mnn`` console script; returns the exit code."""
    parser = build_parser()
    ns = parser.parse_args(argv)
    threads = getattr(ns, "threads", None)
    if threads:
        os.environ.setdefault("OMP_NUM_THREADS", str(threads))
    try:
        from .preflight import check

        check(ns)  # path-like options, before any stage does work
        {
            "run": _cmd_run,
            "extract": _cmd_extract,
            "perturb": _cmd_perturb,
            "score": _cmd_score,
            "export": _cmd_export,
            "datasets": _cmd_datasets,
        }[ns.command](ns)
    except GrnMnnError as exc:
        msg = " ".join(str(exc).split())
        print(f"grn-mnn: error: {msg}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("grn-mnn: interrupted", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
