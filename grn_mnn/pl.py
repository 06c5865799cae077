"""Figures (PNG) for scores, precision-recall curves, interactions over time and training.

Every function draws on a standalone :class:`matplotlib.figure.Figure` (rendered by the Agg
canvas; pyplot and the global backend are never touched, nothing is shown), writes the PNG
atomically to ``path`` and returns ``path``. Degenerate inputs -- NaN or missing metrics,
methods without data, a single time point, an empty table -- never raise: what cannot be
drawn is skipped and named in the figure title.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from ._io import atomic_path
from .errors import InputError

__all__ = [
    "plot_scores",
    "plot_pr_curves",
    "plot_interaction_heatmap",
    "plot_training_history",
    "plot_perturbation_arrows",
    "plot_perturbation_genes",
]

_MAIN_COLOR = "#c0392b"
_BASELINE_COLOR = "#7f8c8d"
_MAIN_METHODS = ("grn_mnn", "cellmnn", "input")


def _save(fig: Figure, path: str | os.PathLike, dpi: int = 150) -> Path:
    path = Path(path)
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight")
    return path


def _float(value: Any) -> float:
    """``value`` as float, NaN when missing or not a number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return math.nan
    return out if math.isfinite(out) else math.nan


def _skipped_note(skipped: Sequence[str]) -> str:
    return f"\n(no data: {', '.join(skipped)})" if skipped else ""


def _ci(method: Mapping, task: str, metric: str) -> tuple[float, float]:
    """Confidence interval of ``method[task][metric]``; NaNs when absent.

    Looked up in ``method[task]["ci"][metric]``, then ``method["ci"]["task.metric"]`` and
    ``method["ci"][metric]``.
    """
    candidates = []
    task_block = method.get(task)
    if isinstance(task_block, Mapping) and isinstance(task_block.get("ci"), Mapping):
        candidates.append(task_block["ci"].get(metric))
    if isinstance(method.get("ci"), Mapping):
        candidates += [method["ci"].get(f"{task}.{metric}"), method["ci"].get(metric)]
    for c in candidates:
        if isinstance(c, Sequence) and not isinstance(c, str) and len(c) == 2:
            lo, hi = _float(c[0]), _float(c[1])
            if not (math.isnan(lo) or math.isnan(hi)):
                return lo, hi
    return math.nan, math.nan


def plot_scores(
    scores: Mapping[str, Any], path: str | os.PathLike, title: str | None = None
) -> Path:
    """Bar charts of sign accuracy and AUPRC ratio per method, with CIs when available.

    Parameters
    ----------
    scores
        The ``scores.json`` layout: ``scores["methods"][NAME]["sign"]["accuracy"]`` and
        ``scores["methods"][NAME]["link"]["auprc_ratio"]``. Optional confidence intervals
        ``[lo, hi]`` are read from ``[NAME][task]["ci"][metric]`` (or
        ``[NAME]["ci"]["task.metric"]``) and drawn as error bars. ``None``/NaN values and
        methods without the task are skipped and listed in the panel title. When
        ``scores["reference"]["all_activation"]`` is present, the sign panel also marks the
        accuracy of calling every edge an activation (the floor when activations dominate).
    path
        Output PNG path.
    title
        Figure title (default: ``"Scores versus baselines"``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    return _save(_scores_figure(scores, title), path)


def _scores_figure(scores: Mapping[str, Any], title: str | None) -> Figure:
    """The figure of :func:`plot_scores`."""
    if not isinstance(scores, Mapping) or not isinstance(scores.get("methods"), Mapping):
        raise InputError(
            "scores must be a dict with a 'methods' entry (the scores.json layout: "
            "{'methods': {NAME: {'sign': {...}, 'link': {...}}}})"
        )
    methods = scores["methods"]
    reference = scores.get("reference") if isinstance(scores.get("reference"), Mapping) else {}
    prior = reference.get("all_activation") if isinstance(reference, Mapping) else None
    floor = _float(prior.get("accuracy")) if isinstance(prior, Mapping) else float("nan")
    panels = [
        ("sign", "accuracy", "sign accuracy", "n_edges", 0.5, "coin flip"),
        ("link", "auprc_ratio", "AUPRC / edge density", "n_true", 1.0, "random"),
    ]
    fig = Figure(figsize=(4.0 + 0.9 * max(len(methods), 1), 4.2), layout="constrained")
    axes = fig.subplots(1, 2)
    for ax, (task, metric, label, n_key, ref, ref_label) in zip(axes, panels, strict=True):
        names, values, err_lo, err_hi, colors, skipped = [], [], [], [], [], []
        for name, block in methods.items():
            block = block if isinstance(block, Mapping) else {}
            task_block = block.get(task) if isinstance(block.get(task), Mapping) else {}
            value = _float(task_block.get(metric))
            if math.isnan(value):
                skipped.append(str(name))
                continue
            lo, hi = _ci(block, task, metric)
            n = task_block.get(n_key)
            names.append(str(name) if math.isnan(_float(n)) else f"{name}\n(n={int(n)})")
            values.append(value)
            err_lo.append(0.0 if math.isnan(lo) else max(value - lo, 0.0))
            err_hi.append(0.0 if math.isnan(hi) else max(hi - value, 0.0))
            colors.append(_MAIN_COLOR if name in _MAIN_METHODS else _BASELINE_COLOR)
        if values:
            x = np.arange(len(values))
            ax.bar(x, values, color=colors, yerr=[err_lo, err_hi], capsize=4)
            ax.set_xticks(x, names, rotation=0, fontsize=8)
            ax.set_xlim(-0.6, len(values) - 0.4)
        else:
            ax.text(0.5, 0.5, "no values", ha="center", va="center", transform=ax.transAxes)
            ax.set_xticks([])
        ax.axhline(ref, color="black", linestyle="--", linewidth=1, label=f"{ref_label} = {ref:g}")
        if task == "sign" and not math.isnan(floor):
            ax.axhline(floor, color="grey", linestyle=":", label=f"all activation = {floor:.3f}")
        ax.set_ylabel(label)
        ax.set_ylim(bottom=0, top=ax.get_ylim()[1] * 1.2)  # room for the legend above the bars
        ax.legend(loc="upper right", fontsize=8, frameon=False)
        ax.set_title(f"{label}{_skipped_note(skipped)}", fontsize=10)
    fig.suptitle(title or "Scores versus baselines")
    return fig


def plot_pr_curves(
    curves: Mapping[str, tuple[Sequence, Sequence]],
    path: str | os.PathLike,
    title: str | None = None,
) -> Path:
    """Precision-recall curves of several methods on the same candidate edges.

    Parameters
    ----------
    curves
        ``{NAME: (y_true, y_score)}``: binary labels (1 = reference edge) and scores (higher
        = more confident, e.g. ``|weight|``). Pairs with a non-finite score are dropped;
        methods without positives, with mismatched lengths or no finite scores are skipped
        and listed in the title.
    path
        Output PNG path.
    title
        Figure title (default: ``"Precision-recall"``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    fig = Figure(figsize=(5.5, 4.5), layout="constrained")
    ax = fig.subplots()
    skipped, densities = [], []
    for name, pair in curves.items():
        try:
            y_true = np.asarray(pair[0], dtype=float).ravel()
            y_score = np.asarray(pair[1], dtype=float).ravel()
        except (TypeError, ValueError, IndexError):
            skipped.append(str(name))
            continue
        if y_true.shape != y_score.shape:
            skipped.append(str(name))
            continue
        keep = np.isfinite(y_score) & np.isfinite(y_true)
        y_true, y_score = (y_true[keep] > 0).astype(int), y_score[keep]
        if y_true.size == 0 or y_true.sum() == 0:
            skipped.append(str(name))
            continue
        precision, recall, _ = precision_recall_curve(y_true, y_score)
        ap = average_precision_score(y_true, y_score)
        main = name in _MAIN_METHODS
        ax.step(
            recall,
            precision,
            where="post",
            linewidth=2.2 if main else 1.4,
            color=_MAIN_COLOR if main else None,
            label=f"{name} (AP = {ap:.3f})",
        )
        densities.append(float(y_true.mean()))
    if densities:
        density = densities[0]
        ax.axhline(
            density,
            color="black",
            linestyle="--",
            linewidth=1,
            label=f"random (edge density {density:.3g})",
        )
        ax.legend(loc="upper right", fontsize=8, frameon=False)
    else:
        ax.text(0.5, 0.5, "no curves", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("recall")
    ax.set_ylabel("precision")
    ax.set_title(f"{title or 'Precision-recall'}{_skipped_note(skipped)}", fontsize=10)
    return _save(fig, path)


def plot_interaction_heatmap(
    edges_by_time: pd.DataFrame,
    path: str | os.PathLike,
    top_n: int = 30,
    title: str | None = None,
) -> Path:
    """Heatmap of the strongest interactions (rows ``SRC->TGT``) over time (columns).

    Parameters
    ----------
    edges_by_time
        Edge table with ``source``, ``target``, ``weight`` and a ``time`` column (or a
        ``group`` column; without either, a single column ``all``). Several rows for the
        same edge and time are averaged; NaN weights are dropped.
    path
        Output PNG path.
    top_n
        Number of rows: the edges with the largest maximum ``|weight|`` over the columns.
    title
        Figure title.

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    Diverging colormap centred at 0 (red = activation, blue = repression) with symmetric
    limits; a grey cell means the edge is absent at that time.
    """
    if not isinstance(edges_by_time, pd.DataFrame):
        raise InputError("edges_by_time must be a DataFrame with source, target, weight, time")
    missing = [c for c in ("source", "target", "weight") if c not in edges_by_time.columns]
    if missing:
        raise InputError(
            f"edges_by_time is missing column(s) {', '.join(missing)}; it needs source, "
            "target, weight and usually time"
        )
    if top_n < 1:
        raise InputError(f"top_n must be >= 1; got {top_n}")
    df = edges_by_time.copy()
    col = "time" if "time" in df.columns else ("group" if "group" in df.columns else None)
    if col is None:
        df["_col"], col = "all", "_col"
    df["weight"] = pd.to_numeric(df["weight"], errors="coerce")
    n_dropped = int((~np.isfinite(df["weight"].to_numpy(dtype=float))).sum())
    df = df[np.isfinite(df["weight"].to_numpy(dtype=float))]
    df = df[df[col].notna()]
    df["edge"] = df["source"].astype(str) + "->" + df["target"].astype(str)
    note = f" ({n_dropped} NaN weights dropped)" if n_dropped else ""
    mat = df.pivot_table(index="edge", columns=col, values="weight", aggfunc="mean")
    if mat.empty:
        fig = Figure(figsize=(5, 3), layout="constrained")
        ax = fig.subplots()
        ax.text(0.5, 0.5, "no interactions to show", ha="center", va="center")
        ax.set_axis_off()
        ax.set_title(f"{title or 'Strongest interactions'}{note}", fontsize=10)
        return _save(fig, path)
    strength = mat.abs().max(axis=1)
    order = sorted(mat.index, key=lambda e: (-strength[e], e))[: int(top_n)]
    mat = mat.loc[order]
    values = np.ma.masked_invalid(mat.to_numpy(dtype=float))
    vmax = float(np.nanmax(np.abs(mat.to_numpy(dtype=float)))) or 1.0
    from matplotlib import colormaps

    cmap = colormaps["RdBu_r"].with_extremes(bad="#d9d9d9")
    n_rows, n_cols = mat.shape
    fig = Figure(figsize=(2.5 + 0.55 * n_cols, 1.5 + 0.24 * n_rows), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(
        values, aspect="auto", cmap=cmap, vmin=-vmax, vmax=vmax, interpolation="nearest"
    )
    labels = [
        np.format_float_positional(float(c), trim="-") if col == "time" else str(c)
        for c in mat.columns
    ]
    ax.set_xticks(np.arange(n_cols), labels, rotation=45 if n_cols > 8 else 0, fontsize=8)
    ax.set_yticks(np.arange(n_rows), list(mat.index), fontsize=7)
    ax.set_xlabel("time" if col == "time" else ("group" if col == "group" else ""))
    fig.colorbar(image, ax=ax, label="weight (source -> target)", shrink=0.8)
    heading = title or f"Top {n_rows} interactions by |weight|"
    ax.set_title(f"{heading}{note}", fontsize=10)
    return _save(fig, path)


def plot_training_history(
    history: Mapping[str, Sequence[float]],
    path: str | os.PathLike,
    title: str | None = None,
) -> Path:
    """Training and validation loss per epoch.

    Parameters
    ----------
    history
        ``{"epoch": [...], "train_loss": [...], "val_loss": [...]}``. ``epoch`` defaults to
        1..n; a missing, empty, all-NaN or wrong-length loss list is skipped and named in
        the title; non-finite points are left out of the curve.
    path
        Output PNG path.
    title
        Figure title (default: ``"Training history"``).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    if not isinstance(history, Mapping):
        raise InputError(
            "history must be a dict with lists 'epoch', 'train_loss', 'val_loss'; "
            f"got {type(history).__name__}"
        )
    fig = Figure(figsize=(6, 4), layout="constrained")
    ax = fig.subplots()
    skipped, drawn = [], []
    for key, label, style in (("train_loss", "train", "-"), ("val_loss", "validation", "--")):
        loss = np.array([_float(v) for v in (history.get(key) or [])], dtype=float)
        epochs_raw = history.get("epoch")
        if epochs_raw is not None and len(epochs_raw) == len(loss):
            epochs = np.array([_float(v) for v in epochs_raw], dtype=float)
        else:
            epochs = np.arange(1, len(loss) + 1, dtype=float)
        keep = np.isfinite(loss) & np.isfinite(epochs)
        if not keep.any():
            skipped.append(key)
            continue
        marker = "o" if keep.sum() == 1 else None
        ax.plot(epochs[keep], loss[keep], style, marker=marker, label=label)
        drawn.append(loss[keep])
    if drawn:
        allv = np.concatenate(drawn)
        if allv.min() > 0 and allv.max() / allv.min() > 100:
            ax.set_yscale("log")
        ax.legend(frameon=False)
    else:
        ax.text(0.5, 0.5, "no loss values", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title(f"{title or 'Training history'}{_skipped_note(skipped)}", fontsize=10)
    return _save(fig, path)


def plot_perturbation_arrows(
    background: pd.DataFrame,
    shifts: pd.DataFrame,
    path: str | os.PathLike,
    title: str | None = None,
    xlabel: str = "PC1",
    ylabel: str = "PC2",
) -> Path:
    """Arrows of the per-cell shift of a perturbation over the cells (CellOracle's picture).

    Parameters
    ----------
    background
        Every data cell on the embedding: ``x``, ``y`` and ``group`` (coloured by it) or
        ``time`` (coloured by time).
    shifts
        Rows of :attr:`grn_mnn.perturb.PerturbationResult.cell_shifts`: arrows from (``x``,
        ``y``), the unperturbed prediction, along (``dx``, ``dy``), coloured by ``time``.
    path
        Output PNG path.
    title
        Figure title; the arrow magnification is appended.

    Returns
    -------
    pathlib.Path
        ``path``.

    Notes
    -----
    Arrows are magnified by one factor for all cells (stated in the title) so that the 95th
    percentile arrow is 8 % of the plot's width; their relative lengths are kept. The view is
    the data cells' range; predictions outside it are counted in the title. Several times in
    ``shifts`` are drawn in colours from light (early) to dark (late).
    """
    fig = Figure(figsize=(6.4, 5.2), layout="constrained")
    ax = fig.subplots()
    bx, by = background["x"].to_numpy(float), background["y"].to_numpy(float)
    if "group" in background.columns:
        labels = background["group"].astype(str)
        for g in dict.fromkeys(labels):
            m = (labels == g).to_numpy()
            ax.scatter(bx[m], by[m], s=9, alpha=0.35, linewidths=0, label=g)
        ax.legend(loc="best", fontsize=7, frameon=False, markerscale=1.5)
    else:
        sc = ax.scatter(
            bx, by, c=background["time"].to_numpy(float), s=9, alpha=0.35, cmap="viridis"
        )
        fig.colorbar(sc, ax=ax, label="time", shrink=0.8)
    x, y = shifts["x"].to_numpy(float), shifts["y"].to_numpy(float)
    dx, dy = shifts["dx"].to_numpy(float), shifts["dy"].to_numpy(float)
    tt = shifts["time"].to_numpy(float) if "time" in shifts.columns else np.zeros(len(x))
    lo_x, hi_x = float(np.min(bx)), float(np.max(bx))
    lo_y, hi_y = float(np.min(by)), float(np.max(by))
    pad_x, pad_y = 0.1 * (hi_x - lo_x or 1.0), 0.1 * (hi_y - lo_y or 1.0)
    view = (x >= lo_x - pad_x) & (x <= hi_x + pad_x) & (y >= lo_y - pad_y) & (y <= hi_y + pad_y)
    length = np.hypot(dx, dy)[view]
    ref = float(np.nanpercentile(length, 95)) if length.size else 0.0
    gain = 0.08 * (hi_x - lo_x or 1.0) / ref if ref > 0 else 1.0
    from matplotlib import colormaps

    times = sorted(set(tt[view].tolist()))
    cmap = colormaps["autumn_r"]
    for i, t in enumerate(times):
        m = view & (tt == t)
        color = _MAIN_COLOR if len(times) == 1 else cmap(0.35 + 0.65 * i / (len(times) - 1))
        ax.scatter(x[m], y[m], s=6, color="black", alpha=0.5, linewidths=0)
        if ref > 0:
            ax.quiver(
                x[m],
                y[m],
                dx[m] * gain,
                dy[m] * gain,
                angles="xy",
                scale_units="xy",
                scale=1.0,
                width=0.004,
                color=color,
                alpha=0.9,
                label=f"t = {t:g}",
            )
    if ref > 0 and len(times) > 1:
        handles, labels = ax.get_legend_handles_labels()
        ax.legend(handles, labels, loc="best", fontsize=7, frameon=False, markerscale=1.5)
    ax.set_xlim(lo_x - pad_x, hi_x + pad_x)
    ax.set_ylim(lo_y - pad_y, hi_y + pad_y)
    n_out = int((~view).sum())
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    note = f"arrows x {gain:.3g}" if ref > 0 else "no shift"
    if n_out:
        note += f"; {n_out} predictions outside the data's range not shown"
    ax.set_title(f"{title or 'Perturbation shift'}\n({note})", fontsize=10)
    return _save(fig, path)


def plot_perturbation_genes(
    table: pd.DataFrame, path: str | os.PathLike, top_n: int = 25, title: str | None = None
) -> Path:
    """Heatmap of the predicted mean change (``delta``) of the most changed genes over time.

    Parameters
    ----------
    table
        ``gene, time, delta`` (:attr:`grn_mnn.perturb.PerturbationResult.table`).
    path
        Output PNG path.
    top_n
        Rows: the genes with the largest ``|delta|`` at any time.
    title
        Figure title.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    missing = [c for c in ("gene", "time", "delta") if c not in table.columns]
    if missing:
        raise InputError(f"the perturbation table is missing column(s) {', '.join(missing)}")
    mat = table.pivot_table(index="gene", columns="time", values="delta", aggfunc="mean")
    strength = mat.abs().max(axis=1).sort_values(ascending=False)
    mat = mat.loc[strength.index[: int(top_n)]]
    vmax = float(np.nanmax(np.abs(mat.to_numpy(float)))) if mat.size else 0.0
    vmax = vmax or 1.0
    n_rows, n_cols = mat.shape
    fig = Figure(figsize=(2.8 + 0.6 * n_cols, 1.5 + 0.24 * max(n_rows, 1)), layout="constrained")
    ax = fig.subplots()
    image = ax.imshow(
        mat.to_numpy(float),
        aspect="auto",
        cmap="RdBu_r",
        vmin=-vmax,
        vmax=vmax,
        interpolation="nearest",
    )
    ax.set_xticks(
        np.arange(n_cols), [np.format_float_positional(float(c), trim="-") for c in mat.columns]
    )
    ax.set_yticks(np.arange(n_rows), list(mat.index), fontsize=7)
    ax.set_xlabel("time")
    fig.colorbar(image, ax=ax, label="predicted change (perturbed - control)", shrink=0.8)
    ax.set_title(title or f"Top {n_rows} changed genes", fontsize=10)
    return _save(fig, path)
