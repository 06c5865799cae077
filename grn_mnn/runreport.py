"""What a run reports: its scores against the reference, plots and the printed summary.

Used by :func:`grn_mnn.pipeline.run` after the networks are extracted: the reference scoring
with the baselines and peers (:func:`score_run`), the Cell-MNN per-cell sign vote of the
Jacobian reading, the precision-recall curves and figures, and the summary lines.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd
from anndata import AnnData

from .baselines import BASELINES
from .config import DEFAULT_READING
from .errors import GrnMnnError, ReferenceNetworkError
from .model import CellMNN

#: the key of grn_mnn's network in scores.json and the plots
METHOD_NAME = "grn_mnn"


def log(quiet: bool, msg: str) -> None:
    """One line on stderr unless ``quiet``."""
    if not quiet:
        print(msg, file=sys.stderr, flush=True)


def score_run(
    model: CellMNN,
    adata: AnnData,
    edges: pd.DataFrame,
    ref: Any,
    seed: int,
    quiet: bool,
    expression: bool = True,
    reading: str = DEFAULT_READING,
    peers: Sequence[str] = (),
    peer_options: Mapping[str, Mapping[str, Any]] | None = None,
    sources: Sequence[str] | None = None,
    peer_tables: dict[str, pd.DataFrame] | None = None,
) -> tuple[dict | None, Any]:
    """Score against the loaded reference with baselines; skip (with a message) on no overlap.

    Without ``expression`` (a streamed run) the baselines and per-cell votes that need the
    expression matrix are skipped. ``peer_tables`` receives the scored peers' networks.
    """
    from . import pp, validate
    from .reference import restrict

    info = adata.uns["grn_mnn"]
    genes = list(info["genes"])
    try:
        sub = restrict(ref, genes)
    except ReferenceNetworkError as exc:
        log(quiet, f"scoring skipped: {exc}")
        return None, None
    times = adata.obs[pp.TIME_COL].to_numpy()
    if expression:
        expr = pp.get_expression(adata)
        # the per-cell vote reads each cell's Jacobian: it belongs to the Jacobian reading only
        per_cell = None
        if reading == "jacobian":
            per_cell = per_cell_signs(model, adata, sub, genes, expr)
    else:
        log(quiet, "--backed: the Pearson and linear-ODE baselines need X in memory; skipped")
        expr, per_cell = None, None
    try:
        scores = validate.score(
            edges,
            ref,
            expression=expr,
            genes=genes,
            times=None if expr is None else times,
            method_name=METHOD_NAME,
            seed=seed,
            per_cell=per_cell,
            baselines=BASELINES + tuple(peers),
            peer_options={k: v for k, v in (peer_options or {}).items() if k in peers},
            quiet=True,
            sources=sources,
            peer_tables=peer_tables,
        )
    except ReferenceNetworkError as exc:  # e.g. no reference TF among the sources
        log(quiet, f"scoring skipped: {exc}")
        return None, None
    if not expression:
        skipped = scores["settings"]["skipped_baselines"]
        for name in ("pearson", "linear_ode", "sign_per_cell"):
            skipped[name] = "--backed: needs the expression matrix in memory"
    if scores["settings"]["peers"]["skipped"]:
        log(False, scores["settings"]["peers"]["skipped"])
    return scores, ref


def per_cell_signs(model, adata, sub, genes, expr) -> dict[str, Any] | None:
    """Per-cell J values and 'source above its mean' masks for the signed reference edges."""
    from . import extract
    from .pp import LATENT_KEY, TIME_COL

    signed = sub.edges[sub.edges["sign"] != 0]
    if signed.empty:
        return None
    upper = {g.upper(): i for i, g in enumerate(genes)}
    si = signed["tf"].str.upper().map(upper).to_numpy(dtype=int)
    ti = signed["target"].str.upper().map(upper).to_numpy(dtype=int)
    a_cells = model.operators(adata.obsm[LATENT_KEY], adata.obs[TIME_COL].to_numpy())
    values = extract.edge_values_per_cell(model.mapping, a_cells, si, ti)
    active = expr[:, si] > expr[:, si].mean(axis=0)
    return {
        "values": values,
        "active": active,
        "edges": signed[["tf", "target"]].reset_index(drop=True),
        "true_sign": signed["sign"].to_numpy(),
    }


def write_plots(
    out: Path,
    model: CellMNN,
    by_time: pd.DataFrame,
    scores: dict | None,
    curves: dict | None = None,
) -> dict[str, str]:
    from . import pl

    files = {}
    try:
        files["plot_history"] = str(
            pl.plot_training_history(model.history, out / "plots" / "training.png")
        )
        files["plot_heatmap"] = str(
            pl.plot_interaction_heatmap(by_time, out / "plots" / "heatmap.png")
        )
        if scores is not None:
            files["plot_scores"] = str(pl.plot_scores(scores, out / "plots" / "scores.png"))
        if curves:
            files["plot_pr"] = str(pl.plot_pr_curves(curves, out / "plots" / "pr_curves.png"))
    except GrnMnnError:
        raise
    except Exception as exc:  # a figure must never lose the run's results
        print(f"warning: plotting failed ({type(exc).__name__}: {exc})", file=sys.stderr)
    return files


def pr_curves(
    adata: AnnData,
    edges: pd.DataFrame,
    ref: Any,
    expression: bool = True,
    peer_tables: Mapping[str, pd.DataFrame] | None = None,
) -> dict[str, tuple]:
    """(y_true, y_score) of the link task for Cell-MNN, the baselines and the scored peers
    (same candidates)."""
    from . import baselines, pp, validate

    genes = list(adata.uns["grn_mnn"]["genes"])
    tfs = {str(t).upper() for t in ref.edges["tf"]}
    src = [g for g in genes if g.upper() in tfs]
    idx = baselines.source_indices(genes, src)
    tables = {
        METHOD_NAME: edges,
        "random": baselines.matrix_to_edges(
            baselines.random_matrix(len(genes), idx.size, 0), genes, idx
        ),
    }
    if expression:
        expr = pp.get_expression(adata)
        times = adata.obs[pp.TIME_COL].to_numpy()
        tables["pearson"] = baselines.pearson(expr, genes, times, sources=src)
        tables["linear_ode"] = baselines.linear_ode(expr, genes, times, sources=src)
    tables.update(peer_tables or {})
    return {k: validate.link_labels(v, ref, genes) for k, v in tables.items()}


def summary_text(adata, model, edges, scores, out, manifest) -> str:
    tr = model.metadata.get("training", {})
    lines = [
        f"data: {adata.n_obs} cells, {manifest['data']['n_genes']} genes, time points "
        f"{manifest['data']['times']} ({manifest['data']['time_unit']})",
        f"training: {tr.get('epochs_run')} epochs (best {tr.get('best_epoch')}), "
        f"{tr.get('seconds', 0):.1f} s, {tr.get('seconds_per_epoch', 0) * 1000:.0f} ms/epoch",
        "strongest edges (source -> target, weight):",
    ]
    for r in edges.head(8).itertuples():
        evidence = f"  (sign: {r.sign_from}, z {r.sign_z:+.1f}" if "sign_z" in edges else ""
        if evidence and "sign_agreement" in edges:
            evidence += f", agreement {r.sign_agreement:.2f}"
        evidence += ")" if evidence else ""
        lines.append(f"  {r.source} -> {r.target}  {r.weight:+.4g}{evidence}")
    if scores is not None:
        from .validate import score_table, versus_text

        lines.append("scores against " + str(manifest["reference"]) + ":")
        lines.append(score_table(scores).to_string(float_format=lambda v: f"{v:.3f}"))
        lines += [text for text in [versus_text(scores)] if text]
    lines.append(f"outputs in {out}/ (see run.json)")
    return "\n".join(lines)
