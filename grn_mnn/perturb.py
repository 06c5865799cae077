"""In-silico perturbation: knock out or overexpress genes and follow the learned dynamics.

A perturbation acts in gene space on the model's reconstruction of each start cell,
``x = mu + W S z``, and is mapped back into the latent space with the model's own exact map
``z = S^-1 W^T (x - mu)``. Setting genes ``G`` to values ``c`` therefore moves a cell by

.. math::  \\Delta z = S^{-1} W_G^T (c - x_G)

(``mapping="project"``, the default). The latent space only spans d PCA directions, so the
reconstructed genes change by ``W W_G^T (c - x_G)``: the perturbed genes reach a fraction
``||W_g||^2`` of the requested change and correlated genes move with them. The achieved versus
requested change is reported (:attr:`PerturbationResult.representation`). ``mapping="hold"``
instead takes the smallest latent move that sets the reconstructed genes exactly to ``c``
(``Delta z = pinv(W_G S) (c - x_G)``).

Perturbed and unperturbed cells are then propagated side by side through the learned flow,
``z(t + h) = expm(A(z, t) h) z(t)``, on a grid of step ``h`` from the start time to the later
time points. A ``sustained`` perturbation is re-applied after every step (the dynamics may
re-express a knocked-out gene), each time relative to the unperturbed cell at that time (a
knockout to 0, a fold of the unperturbed value, a fixed value, a shift of the unperturbed
value), so that a fold of 1 or a shift of 0 changes nothing; a one-off perturbation is
applied at the start only.

The gene-to-latent mapping and the propagation are in :mod:`grn_mnn.propagate`, the result
tables in :mod:`grn_mnn.perturb_report`; this module holds :class:`PerturbationResult`, the
checks of the input, :func:`perturb` and :func:`write_results`.

>>> res = perturb(model, adata, "FOXA2", knockout=True)
>>> res.table.head()          # gene, time, delta, delta_sd, control, perturbed
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from anndata import AnnData

from .errors import ConfigError, InputError
from .perturb_report import EMBED_NEIGHBOURS as EMBED_NEIGHBOURS
from .perturb_report import _embed, _fate, _gene_table, _representation
from .pp import KEY, LATENT_KEY, TIME_COL, get_expression, project
from .propagate import _amplification, _flow, _grid, _linear, clamp_targets, latent_shift
from .propagate import stable_propagator as stable_propagator

#: files whose presence in ``out`` marks earlier results (refused without ``overwrite``)
OUTPUT_MARKERS = ("perturbation.csv", "cell_shifts.csv", "run.json")

Kind = Literal["knockout", "overexpress", "value", "shift_sd"]
#: default grid: the smallest gap between reported times divided by this
DEFAULT_STEPS_PER_GAP = 4


@dataclass
class PerturbationResult:
    """Everything :func:`perturb` computes.

    Attributes
    ----------
    table
        Tidy ``gene, time, delta, delta_sd, control, perturbed``: per gene and reported time the
        mean over the start cells of the perturbed minus the unperturbed prediction (``delta``),
        its standard deviation over cells, and both means (reconstructed log expression).
    cell_shifts
        Per start cell and reported time: ``cell, time, x, y`` (the unperturbed prediction on
        the 2-D embedding), ``dx, dy`` (the shift of the perturbed prediction) and ``norm`` (the
        gene-space length of the shift).
    fate
        With ``groupby``: ``group, control, perturbed, delta``, the fraction of the start cells
        whose prediction at the last time is nearest each group's centroid (latent space).
    representation
        Per perturbed gene: ``requested`` and ``achieved`` mean change at the start time,
        ``fraction`` = achieved / requested, the clamp ``target`` and the perturbed and
        unperturbed means at the last time.
    background
        Embedding of every data cell (``x, y``, ``time``, ``group``) for the arrow plot.
    settings
        The perturbation, the times, the grid and the embedding used.
    grid, z_control, z_perturbed
        The propagation grid and the latent states of both arms at every grid point,
        (grid points, cells, d).
    """

    table: pd.DataFrame
    cell_shifts: pd.DataFrame
    fate: pd.DataFrame | None
    representation: pd.DataFrame
    background: pd.DataFrame
    settings: dict[str, Any] = field(default_factory=dict)
    grid: np.ndarray | None = None
    z_control: np.ndarray | None = None
    z_perturbed: np.ndarray | None = None

    def summary(self, n: int = 8) -> str:
        """A few lines: what was perturbed, how much was represented, the largest changes."""
        s = self.settings
        last = self.table[self.table["time"] == s["times"][-1]]
        top = last.reindex(last["delta"].abs().sort_values(ascending=False).index).head(n)
        lines = [
            f"{s['kind']} of {', '.join(s['genes'])} from t = {s['start_time']:g} "
            f"({s['n_cells']} cells, {'sustained' if s['sustained'] else 'one-off'}, "
            f"step {s['step']:g}, mapping {s['mapping']}, propagation {s['propagation']})",
        ]
        for r in self.representation.itertuples():
            lines.append(
                f"  {r.gene}: requested change {r.requested:+.3g}, achieved {r.achieved:+.3g} "
                f"({100 * r.fraction:.3g} % of it) at t = {s['start_time']:g}"
            )
            if r.fraction < 0.5:
                lines.append(
                    f"  note: the {s['n_pcs']}-PC space represents {r.gene} only partly; "
                    "mapping='hold' (--mapping hold) reaches the value with a larger latent move"
                )
        amp = s.get("amplification", float("nan"))
        if np.isfinite(amp):
            lines.append(
                f"the shift grew {amp:.3g}-fold (median over cells) from t = {s['start_time']:g} "
                f"to {s['times'][-1]:g}"
                + (
                    "; the learned operators amplify it strongly: read the sizes with care"
                    if amp > 10
                    else ""
                )
            )
        lines.append(f"largest predicted changes at t = {s['times'][-1]:g}:")
        for r in top.itertuples():
            lines.append(f"  {r.gene:<12} {r.delta:+.4f} (sd {r.delta_sd:.3f})")
        if self.fate is not None:
            lines.append("fate (fraction of cells nearest each group at the last time):")
            for r in self.fate.itertuples():
                lines.append(
                    f"  {r.group:<12} {r.control:.3f} -> {r.perturbed:.3f} ({r.delta:+.3f})"
                )
        return "\n".join(lines)


# ----------------------------------------------------------------------------- checks
def _close(name: str, names: Sequence[str]) -> str:
    upper = {n.upper(): n for n in names}
    hits = difflib.get_close_matches(name.upper(), list(upper), n=3, cutoff=0.6)
    return f"; did you mean {', '.join(upper[h] for h in hits)}?" if hits else ""


def resolve_genes(genes: str | Sequence[str], model_genes: Sequence[str], data_genes=()) -> list:
    """Indices of ``genes`` among the model's genes (case-insensitive), with clear errors.

    Raises
    ------
    InputError
        For an unknown gene (with close names) or a gene of the data outside the model's PCA.
    """
    genes = [genes] if isinstance(genes, str) else list(genes)
    if not genes:
        raise InputError("give at least one gene to perturb")
    model_genes = [str(g) for g in model_genes]
    upper = {g.upper(): i for i, g in enumerate(model_genes)}
    in_data = {str(g).upper() for g in data_genes}
    idx = []
    for g in genes:
        key = str(g).upper()
        if key in upper:
            idx.append(upper[key])
        elif key in in_data:
            raise InputError(
                f"gene {g!r} is in the data but outside the model's PCA ({len(model_genes)} "
                "genes; it was dropped as constant or not highly variable), so the model "
                "cannot perturb it"
            )
        else:
            raise InputError(
                f"unknown gene {g!r}: not among the model's {len(model_genes)} genes"
                + _close(str(g), model_genes + sorted(in_data - set(upper)))
            )
    if len(set(idx)) != len(idx):
        raise InputError(f"gene(s) given twice: {genes}")
    return idx


def _check_data(
    model: Any, adata: AnnData | None, time_key: str | None = None, time_order=None
) -> AnnData:
    """The data as a prepared AnnData on the model's PCA (projected when not prepared)."""
    if adata is None:
        adata = getattr(model, "adata", None)
    if adata is None:
        raise InputError("no data: pass the AnnData the model was fitted on (CLI: --input)")
    mapping = model.mapping
    if not mapping:
        raise InputError("the model has no gene mapping (genes, PCA); it cannot map genes")
    genes = [str(g) for g in mapping["genes"]]
    if KEY in adata.uns and LATENT_KEY in adata.obsm:
        info = adata.uns[KEY]
        w_data, w_model = np.asarray(info["loadings"]), np.asarray(mapping["loadings"])
        same = (
            list(map(str, info["genes"])) == genes
            and w_data.shape == w_model.shape
            and np.allclose(w_data, w_model)
        )
        if not same:
            raise InputError(
                "the model was fitted on other data: this AnnData was prepared with other "
                "genes or another PCA; pass the model's own data (or raw data with its genes)"
            )
        return adata
    have = {str(g).upper() for g in adata.var_names}
    missing = [g for g in genes if g.upper() not in have]
    if missing:
        raise InputError(
            f"the model was fitted on other data: {len(missing)} of its {len(genes)} genes "
            f"are not in this data (e.g. {missing[:3]}); pass the data the model was fitted on"
        )
    return project(adata, mapping, time_key=time_key, time_order=time_order, copy=True)


def _start_time(start_time: float | None, times: np.ndarray, unit: str) -> float:
    if start_time is None:
        return float(times[0])
    t0 = float(start_time)
    listing = ", ".join(f"{t:g}" for t in times)
    if not np.isfinite(t0) or t0 < times[0] - 1e-9 or t0 > times[-1] + 1e-9:
        raise InputError(
            f"start time {start_time} is outside the data's time range {times[0]:g} to "
            f"{times[-1]:g} ({unit}); choose one of its time points: {listing}"
        )
    hit = np.flatnonzero(np.isclose(times, t0))
    if not len(hit):
        raise InputError(
            f"start time {start_time} is not a time point of the data; the start cells are "
            f"those observed at a time point: choose one of {listing}"
        )
    if hit[0] == len(times) - 1:
        raise InputError(
            f"start time {start_time} is the last time point; there is no later time to "
            f"propagate to (choose one of {', '.join(f'{t:g}' for t in times[:-1])})"
        )
    return float(times[hit[0]])


def _expressed_from(expr: np.ndarray, t: np.ndarray, times: np.ndarray) -> float:
    """First time point (before the last) at which the genes' mean expression reaches a quarter
    of its peak over time points: the default start of a knockout (something to knock out)."""
    means = np.array([expr[np.isclose(t, s)].mean() for s in times[:-1]])
    peak = np.array([expr[np.isclose(t, s)].mean() for s in times]).max()
    hit = np.flatnonzero(means >= 0.25 * peak) if peak > 0 else np.array([0])
    return float(times[hit[0]] if len(hit) else times[0])


def _kind(knockout: bool, overexpress, value, shift_sd) -> tuple[str, float | None]:
    given = [
        (k, v)
        for k, v in (
            ("knockout", True if knockout else None),
            ("overexpress", overexpress),
            ("value", value),
            ("shift_sd", shift_sd),
        )
        if v is not None
    ]
    if len(given) != 1:
        raise ConfigError(
            "give exactly one perturbation: knockout=True, overexpress=FOLD, value=V or "
            f"shift_sd=K (got {[k for k, _ in given] or 'none'})"
        )
    kind, amount = given[0]
    if kind == "knockout":
        return kind, None
    try:
        amount = float(amount)
    except (TypeError, ValueError):
        raise ConfigError(f"{kind} must be a number, got {amount!r}") from None
    if not np.isfinite(amount) or (kind == "overexpress" and amount <= 0):
        raise ConfigError(f"{kind} must be a finite number{' > 0' * (kind == 'overexpress')}")
    if kind == "value" and amount < 0:
        raise ConfigError(f"value must be >= 0 (log expression), got {amount}")
    return kind, amount


# ----------------------------------------------------------------------------- main
def perturb(
    model: Any,
    adata: AnnData | None = None,
    genes: str | Sequence[str] = (),
    *,
    knockout: bool = False,
    overexpress: float | None = None,
    value: float | None = None,
    shift_sd: float | None = None,
    knockout_to: Literal["zero", "min"] = "zero",
    start_time: float | None = None,
    sustained: bool = True,
    step: float | None = None,
    mapping: Literal["project", "hold"] = "project",
    propagation: Literal["linear", "flow"] = "linear",
    response: Literal["stable", "raw"] = "stable",
    groupby: str | None = None,
    basis: str = "pca",
    time_key: str | None = None,
    time_order: dict[Any, float] | None = None,
    progress: bool = True,
) -> PerturbationResult:
    """Perturb genes of the cells at ``start_time`` and propagate them through the learned flow.

    Parameters
    ----------
    model
        A trained :class:`grn_mnn.CellMNN`.
    adata
        Its data: the prepared AnnData it was fitted on, or raw data with its genes (projected
        with the model's PCA). Default: the data attached to the model.
    genes
        Gene name(s) to perturb (case-insensitive).
    knockout, overexpress, value, shift_sd
        Exactly one: knockout (to 0, or the gene's minimum with ``knockout_to="min"``), a fold
        on the linear scale, a value (log expression), or a shift in standard deviations.
    start_time
        A time point of the data; its cells are perturbed. Default: the first time point; for
        a knockout the first at which the genes' mean expression reaches a quarter of its peak
        over time points (so that there is expression to knock out).
    sustained
        Re-apply the perturbation after every grid step (default) or only at the start.
    response
        With ``propagation="linear"``: ``"stable"`` (default) evaluates both arms under the
        operators with the real parts of their eigenvalues clipped at 0
        (:func:`stable_propagator`): the unperturbed cells by the closed form from the start,
        the shift by the local operators, so directions the loss never constrained cannot
        grow without bound; ``"raw"`` uses ``expm(A h)`` as fitted. Chosen on simulated
        knockouts (``validation/perturbation.py``): sign agreement on direct targets 0.79 /
        0.92 (dense / sparse) against 0.51 / 0.57 raw, whose shifts grew to 1e36-1e101.
    step
        Grid step in the data's time unit (default: the smallest gap between time points / 4).
    mapping
        ``"project"`` (exact image of the gene change) or ``"hold"`` (see module docstring).
    propagation
        ``"linear"`` (default): the unperturbed cells follow the model's closed form from the
        start (as it was trained, never chained) and the shift is carried along by the local
        operators (the linear response the gene networks describe); ``"flow"``: both arms are
        chained through the model's propagator on the grid (nonlinear in the shift, but a
        chained path can leave the data and diverge on a weakly fitted model).
    groupby
        ``obs`` column with groups (cell types, lineages) for the fate shift.
    basis
        ``"pca"`` (PC1/PC2 of the model's PCA, exact) or an ``obsm`` key such as ``X_umap``
        (predicted states placed by their nearest data cells in latent space).
    time_key, time_order
        Time column and label mapping of unprepared ``adata`` (default: the model's).
    progress
        Show a progress bar over the grid steps.

    Returns
    -------
    PerturbationResult

    Raises
    ------
    InputError
        An unknown gene (with close names), a gene outside the PCA, a start time that is not a
        time point of the data, data the model was not fitted on.
    ConfigError
        No or several perturbations, a fold <= 0, a step <= 0.
    """
    from tqdm.auto import tqdm

    kind, amount = _kind(knockout, overexpress, value, shift_sd)
    if mapping not in ("project", "hold"):
        raise ConfigError(f"mapping must be 'project' or 'hold', got {mapping!r}")
    if propagation not in ("linear", "flow"):
        raise ConfigError(f"propagation must be 'linear' or 'flow', got {propagation!r}")
    adata = _check_data(model, adata, time_key, time_order)
    info = adata.uns[KEY]
    mp = model.mapping
    idx = resolve_genes(genes, mp["genes"], adata.var_names.astype(str))
    names = [str(mp["genes"][i]) for i in idx]
    t_cells = adata.obs[TIME_COL].to_numpy(dtype=float)
    data_times = np.unique(t_cells)
    unit = str(info.get("time_unit", "unknown"))
    if start_time is None and kind == "knockout":
        start_time = _expressed_from(get_expression(adata)[:, idx], t_cells, data_times)
    t0 = _start_time(start_time, data_times, unit)
    times = data_times[data_times >= t0 - 1e-9]
    if step is None:
        step = float(np.diff(times).min()) / DEFAULT_STEPS_PER_GAP
    step = float(step)
    if not np.isfinite(step) or step <= 0:
        raise ConfigError(f"step must be a positive number of {unit}, got {step}")
    if groupby is not None and groupby not in adata.obs.columns:
        raise InputError(
            f"groupby {groupby!r} is not a column of obs; available: "
            f"{', '.join(map(str, adata.obs.columns[:20]))}"
        )
    if basis != "pca" and basis not in adata.obsm:
        raise InputError(
            f"basis {basis!r} is neither 'pca' nor a key of obsm (available: "
            f"{', '.join(k for k in adata.obsm if k != LATENT_KEY) or 'none'})"
        )

    z_all = np.asarray(adata.obsm[LATENT_KEY], dtype=np.float64)
    start = np.flatnonzero(np.isclose(t_cells, t0))
    z0 = z_all[start]
    u_g = np.asarray(mp["loadings"])[idx] * np.asarray(mp["pc_scale"])
    mu_g = np.asarray(mp["gene_mean"])[idx]
    expr = get_expression(adata)[:, idx]

    def target_of(z: np.ndarray) -> np.ndarray:
        """Requested values given the unperturbed cells' reconstruction ``z``."""
        return clamp_targets(mu_g + z @ u_g.T, kind, amount, expr, knockout_to)

    target = target_of(z0)
    shift0 = latent_shift(mp, z0, idx, target, mapping)

    grid = _grid(times, step)
    on_grid = [int(np.argmin(np.abs(grid - t))) for t in times]
    bar = tqdm(total=len(grid) - 1, desc="propagating", disable=not progress, leave=False)
    if response not in ("stable", "raw"):
        raise ConfigError(f"response must be 'stable' or 'raw', got {response!r}")
    if propagation == "linear":
        zc_grid, zp_grid = _linear(
            model, z0, shift0, grid, sustained, mp, idx, target_of, mapping, bar, response
        )
    else:
        zc_grid, zp_grid = _flow(
            model, z0, shift0, grid, sustained, mp, idx, target_of, mapping, bar
        )
    bar.close()
    bad = ~np.isfinite(zp_grid).all(axis=(1, 2)) | ~np.isfinite(zc_grid).all(axis=(1, 2))
    if bad.any():
        raise ConfigError(
            f"the {propagation} propagation diverged (non-finite states) by t = "
            f"{grid[np.argmax(bad)]:g}; the model's operators are unstable along this path: "
            "use propagation='linear' (CLI --propagation linear) or a coarser step"
        )
    out_c, out_p = zc_grid[on_grid], zp_grid[on_grid]
    n = len(z0)

    cells = adata.obs_names[start].astype(str)
    table = _gene_table(mp, times, out_c, out_p)
    rep = _representation(mp, idx, names, z0, shift0, target, out_c[-1], out_p[-1])
    shifts, background = _embed(adata, mp, basis, cells, times, out_c, out_p, groupby)
    fate = _fate(z_all, adata.obs[groupby], out_c[-1], out_p[-1]) if groupby else None
    settings = {
        "genes": names,
        "kind": kind,
        "amount": amount,
        "knockout_to": knockout_to if kind == "knockout" else None,
        "start_time": t0,
        "times": times.tolist(),
        "time_unit": unit,
        "step": step,
        "grid_points": len(grid),
        "sustained": bool(sustained),
        "mapping": mapping,
        "propagation": propagation,
        "response": response,
        "basis": basis,
        "groupby": groupby,
        "n_cells": n,
        "n_pcs": int(z0.shape[1]),
        "amplification": _amplification(mp, out_c, out_p),
    }
    return PerturbationResult(
        table, shifts, fate, rep, background, settings, grid, zc_grid, zp_grid
    )


def write_results(
    result: PerturbationResult,
    out: str | Any,
    *,
    overwrite: bool = False,
    plots: bool = True,
    provenance: dict[str, Any] | None = None,
) -> dict[str, str]:
    """Write ``perturbation.csv``, ``cell_shifts.csv``, ``representation.csv``, ``fate.csv``
    (with groups), ``plots/arrows.png``, ``plots/genes.png`` and ``run.json`` (settings,
    provenance, checksums) atomically to ``out``; return the paths by name."""
    import os
    import sys
    import time

    from . import __version__, pl
    from ._io import file_sha256, prepare_outdir, write_csv, write_json

    t = time.perf_counter()
    out = prepare_outdir(out, overwrite, OUTPUT_MARKERS)
    files = {
        "perturbation": write_csv(out / "perturbation.csv", result.table),
        "cell_shifts": write_csv(out / "cell_shifts.csv", result.cell_shifts),
        "representation": write_csv(out / "representation.csv", result.representation),
    }
    if result.fate is not None:
        files["fate"] = write_csv(out / "fate.csv", result.fate)
    s = result.settings
    if plots:
        later = result.cell_shifts[result.cell_shifts["time"] > s["start_time"]]
        what = f"{s['kind']} {', '.join(s['genes'])}"
        axis = ("PC1", "PC2") if s["basis"] == "pca" else (f"{s['basis']} 1", f"{s['basis']} 2")
        try:
            files["plot_arrows"] = pl.plot_perturbation_arrows(
                result.background,
                later,
                out / "plots" / "arrows.png",
                title=f"{what} at t = {s['start_time']:g}: shift of the predicted cells",
                xlabel=axis[0],
                ylabel=axis[1],
            )
            files["plot_genes"] = pl.plot_perturbation_genes(
                result.table, out / "plots" / "genes.png", title=f"{what}: predicted change"
            )
        except Exception as exc:  # a figure must never lose the results
            print(f"warning: plotting failed ({type(exc).__name__}: {exc})", file=sys.stderr)
    manifest = {
        "version": __version__,
        **(provenance or {}),
        "settings": s,
        "representation": result.representation.to_dict("records"),
        "fate": None if result.fate is None else result.fate.to_dict("records"),
        "outputs": {
            k: {"path": os.path.relpath(v, out), "sha256": file_sha256(v)} for k, v in files.items()
        },
        "seconds_writing": time.perf_counter() - t,
    }
    files["run"] = write_json(out / "run.json", manifest)
    return {k: str(v) for k, v in files.items()}
