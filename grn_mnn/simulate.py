"""Snapshot time courses with a known ground truth: a Hill-kinetics network and a linear system.

:func:`simulate` draws a signed directed network among genes and integrates Hill-type
activation / repression kinetics with decay and chemical-Langevin intrinsic noise
(Euler-Maruyama). Every cell is an independent trajectory from a shared initial-state
distribution, observed once, at its own snapshot time (scRNA-seq destroys the cell), so the
data look like a real time course: populations of unpaired cells per time point.
:func:`simulate_network` runs the same kinetics on a *given* signed network (plus background
genes outside it) with count nuisances (zero inflation, library-size spread); the benchmark
cases of :mod:`grn_mnn.simcases` are built on it.

:func:`simulate_linear` generates cells of a linear system x(t) = mu + U expm(B t) c0 whose
gene-space operator J = U B U^T is known exactly and lies in a rank-``rank`` subspace: the
ground truth for checking that a latent-space operator maps back to genes correctly.

All are vectorised over cells (the only Python loop is over time steps) and reproducible
from ``seed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
from anndata import AnnData
from scipy.linalg import expm

from .errors import ConfigError

__all__ = ["simulate", "simulate_linear", "simulate_network"]

ACTIVATION_PROB = 0.6
NB_THETA = 10.0  # inverse dispersion of the negative-binomial count noise
LIBSIZE_SD = 0.25  # log-normal spread of per-cell capture efficiency
INIT_SD = 0.3  # log-normal spread of the initial state around the unregulated level
INPUT_MAX = 3.0  # production rate of the differentiation input at t_max
BURN_IN_HOURS, BURN_IN_DT = 60.0, 0.05  # relaxation to the input-free steady state
#: how a target's regulators combine in :func:`simulate_network` (``logic``)
LOGICS = ("additive", "and")
#: width of a hidden activation switch, as a fraction of the time course (``hidden_activation``)
ACTIVATION_WIDTH = 0.05
BATCH_STREAM = 4903  # seeds the batch-factor stream apart from the kinetics' draws
#: width of a cell's input switch (``switching``), as a fraction of the time course
SWITCH_WIDTH = 0.02
SWITCH_STREAM = 6113  # seeds the switch onsets apart from the kinetics' draws
ACTIVATION_STREAM = 7919  # seeds the hidden activation onsets apart from the kinetics' draws
DEACTIVATION_STREAM = 7927  # seeds the hidden deactivation apart from the activation's


def _check_int(name: str, value, low: int, high: int | None = None) -> int:
    ok = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not ok or value < low or (high is not None and value > high):
        rng = f">= {low}" if high is None else f"in {low}..{high}"
        raise ConfigError(f"{name} must be an integer {rng}, got {value!r}")
    return int(value)


def _check_pos(name: str, value, allow_zero: bool = False) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a number, got {value!r}") from None
    if not np.isfinite(v) or v < 0 or (v == 0 and not allow_zero):
        what = ">= 0" if allow_zero else "> 0"
        raise ConfigError(f"{name} must be a finite number {what}, got {value!r}")
    return v


def _draw_network(rng: np.random.Generator, genes: list[str], n_reg: int, k: int) -> pd.DataFrame:
    """Every gene gets ``k`` distinct regulators among the first ``n_reg`` genes (not itself)."""
    src, tgt = [], []
    for g in range(len(genes)):
        cand = np.array([r for r in range(n_reg) if r != g])
        src.extend(rng.choice(cand, size=k, replace=False).tolist())
        tgt.extend([g] * k)
    n_edges = len(src)
    sign = np.where(rng.random(n_edges) < ACTIVATION_PROB, 1, -1)
    if n_edges >= 2 and abs(sign.sum()) == n_edges:  # guarantee both signs
        sign[-1] = -sign[-1]
    strength = rng.uniform(1.0, 3.0, n_edges)
    net = pd.DataFrame(
        {
            "source": [genes[i] for i in src],
            "target": [genes[i] for i in tgt],
            "weight": sign * strength,
            "sign": sign.astype(int),
            "mode": np.where(sign > 0, "Activation", "Repression"),
            "K": rng.uniform(1.0, 3.0, n_edges),
            "hill": rng.integers(2, 4, n_edges).astype(float),
        }
    )
    return net


def simulate(
    n_genes: int = 20,
    n_regulators: int | None = None,
    edges_per_target: int = 2,
    n_timepoints: int = 5,
    t_max: float = 10.0,
    cells_per_time: int = 100,
    branching: bool = False,
    noise: float = 0.05,
    counts: bool = False,
    library_size: float = 2000,
    seed: int = 0,
    dt: float = 0.01,
    clamp: dict[str, float] | None = None,
) -> AnnData:
    """Simulate a snapshot time course from a known signed directed gene network.

    Kinetics of gene i (concentration x_i >= 0, time in hours)::

        dx_i/dt = b_i + u_i(t) + sum_j w_ij h_ij(x_j) - gamma_i x_i
        activation: h = x^n / (K^n + x^n);   repression: h = K^n / (K^n + x^n)

    integrated by Euler-Maruyama with chemical-Langevin intrinsic noise of variance
    ``noise * (production + decay) * dt`` per step (so ``noise`` is roughly the Fano factor of
    a gene at steady state). Cells start from the unregulated level ``b/gamma`` times a
    log-normal factor; a differentiation input u(t), ramping linearly from 0 to 3 at
    ``t_max``, drives regulator ``TF1`` (with ``branching``, lineage ``A`` receives it on
    ``TF1`` and lineage ``B`` on ``TF2``). Each cell is an independent trajectory observed
    only at its own snapshot time; snapshot times are ``linspace(0, t_max, n_timepoints)``.

    Parameters
    ----------
    n_genes
        Number of genes (>= 3). The first ``n_regulators`` are regulators named ``TF1``...,
        the others ``G1``....
    n_regulators
        Number of regulators; default ``max(edges_per_target + 1, n_genes // 3)``.
    edges_per_target
        Distinct regulators of every gene (regulators are regulated too; no self-loops), so
        the true network has ``n_genes * edges_per_target`` edges; needs
        ``edges_per_target < n_regulators``.
    n_timepoints, t_max, cells_per_time
        Snapshot design: time points, last time (hours), cells per time point.
    branching
        Two lineages (``obs['lineage']`` ``'A'``/``'B'``, alternating cells, so each time point
        holds both) driven by different regulators; requires ``n_regulators >= 2``.
    noise
        Intrinsic noise level (>= 0; 0 gives deterministic trajectories from random starts).
    counts
        If true, ``X`` holds raw counts (integer values stored as float32): negative-binomial
        (inverse dispersion 10) draws with mean ``library_size * s_c * x / sum(x)``, with a
        log-normal capture factor ``s_c`` per cell. Otherwise ``X = log1p(x)``.
    library_size
        Mean total counts per cell when ``counts`` is true.
    seed
        Seed of every random draw (network, parameters, cells, noise, counts).
    dt
        Largest Euler-Maruyama step (hours).
    clamp
        ``{gene: value}``: hold these genes at a fixed concentration (>= 0; 0 = knockout) from
        t = 0 on, at every integration step (an in-silico knockout / overexpression ground
        truth). Every random draw is the same as without ``clamp`` for the same ``seed``, so a
        clamped and an unclamped run share network, parameters, initial states and noise.

    Returns
    -------
    anndata.AnnData
        ``n_timepoints * cells_per_time`` cells x ``n_genes``. ``obs['time']`` (float hours),
        ``obs['lineage']`` if branching; ``var['regulator']``; ``layers['latent']`` the
        simulated concentrations x; ``uns['true_network']`` a DataFrame with ``source``,
        ``target``, ``weight`` (signed strength), ``sign`` (+1/-1), ``mode``
        (``'Activation'``/``'Repression'``), ``K``, ``hill``; ``uns['time_unit'] = 'hours'``,
        ``uns['species'] = 'simulated'``, ``uns['simulation']`` the settings and rates.

    Raises
    ------
    ConfigError
        For out-of-range settings.
    """
    n_genes = _check_int("n_genes", n_genes, 3)
    k = _check_int("edges_per_target", edges_per_target, 1)
    if n_regulators is None:
        n_regulators = min(n_genes, max(k + 1, n_genes // 3))
    n_reg = _check_int("n_regulators", n_regulators, 1, n_genes)
    if k >= n_reg:
        raise ConfigError(
            f"edges_per_target={k} needs at least {k + 1} regulators (no self-loops), got "
            f"n_regulators={n_reg}; raise n_regulators or lower edges_per_target"
        )
    n_tp = _check_int("n_timepoints", n_timepoints, 2)
    n_per = _check_int("cells_per_time", cells_per_time, 1)
    t_max = _check_pos("t_max", t_max)
    noise = _check_pos("noise", noise, allow_zero=True)
    dt = _check_pos("dt", dt)
    library_size = _check_pos("library_size", library_size)
    seed = _check_int("seed", seed, 0)

    rng = np.random.default_rng(seed)
    genes = [f"TF{i + 1}" for i in range(n_reg)] + [f"G{i + 1}" for i in range(n_genes - n_reg)]
    net = _draw_network(rng, genes, n_reg, k)
    basal = rng.uniform(0.05, 0.3, n_genes)
    decay = rng.uniform(0.3, 0.8, n_genes)

    times = np.linspace(0.0, t_max, n_tp)
    n_cells = n_tp * n_per
    lineage = np.tile(np.array(["A", "B"]), n_cells // 2 + 1)[:n_cells] if branching else None
    drive = np.zeros((n_cells, n_genes))  # cells are ordered by time point
    drive[:, 0] = INPUT_MAX
    if branching:
        drive[lineage == "B"] = 0.0
        drive[lineage == "B", 1] = INPUT_MAX
    x0 = (basal / decay) * rng.lognormal(0.0, INIT_SD, size=(n_cells, n_genes))
    held = _clamp_targets(clamp, {g: i for i, g in enumerate(genes)})
    kinetics = _Kinetics(net, genes, basal, decay)
    out = _integrate(rng, kinetics, x0, drive, times, n_per, t_max, noise, dt, held)

    obs = pd.DataFrame(
        {"time": np.repeat(times, n_per).astype(float)},
        index=pd.Index([f"cell{i}" for i in range(n_cells)]),
    )
    if branching:
        obs["lineage"] = pd.Categorical(lineage, categories=["A", "B"])
    if counts:
        X, _ = _counts(rng, out, library_size, LIBSIZE_SD, NB_THETA, 0.0)
    else:
        X = np.log1p(out).astype(np.float32)
    var = pd.DataFrame({"regulator": [i < n_reg for i in range(n_genes)]}, index=genes)
    settings = {
        "seed": seed,
        "n_regulators": n_reg,
        "edges_per_target": k,
        "branching": bool(branching),
        "noise": noise,
        "counts": bool(counts),
        "library_size": library_size,
        "dt": dt,
        "basal": basal,
        "decay": decay,
        "input_genes": ["TF1", "TF2"] if branching else ["TF1"],
        "input_max": INPUT_MAX,
        "clamp": {str(k): float(v) for k, v in (clamp or {}).items()},
    }
    adata = _snapshot_anndata(X, obs, var, out, net, "simulate", settings)
    return adata


def _snapshot_anndata(
    x: np.ndarray,
    obs: pd.DataFrame,
    var: pd.DataFrame,
    latent: np.ndarray,
    net: pd.DataFrame,
    dataset: str,
    settings: dict,
) -> AnnData:
    """The AnnData of a simulated time course with its truth and settings (shared layout)."""
    adata = AnnData(X=x, obs=obs, var=var)
    adata.layers["latent"] = latent.astype(np.float32)
    adata.uns["true_network"] = net
    adata.uns["time_unit"] = "hours"
    adata.uns["species"] = "simulated"
    adata.uns["dataset"] = dataset
    adata.uns["simulation"] = settings
    return adata


def _clamp_targets(
    clamp: dict[str, float] | None, gidx: dict[str, int]
) -> tuple[np.ndarray, np.ndarray]:
    """Indices and values of the genes :func:`simulate` holds fixed (empty without ``clamp``)."""
    if not clamp:
        return np.zeros(0, dtype=int), np.zeros(0)
    unknown = [g for g in clamp if g not in gidx]
    if unknown:
        raise ConfigError(f"clamp: unknown gene(s) {unknown}; the genes are {list(gidx)[:8]}...")
    values = np.array([_check_pos(f"clamp[{g!r}]", v, allow_zero=True) for g, v in clamp.items()])
    return np.array([gidx[g] for g in clamp], dtype=int), values


def _fill_network(
    network: pd.DataFrame, genes: list[str], rng: np.random.Generator
) -> pd.DataFrame:
    """Check a signed edge table and draw the missing kinetic columns (strength, K, hill)."""
    if not isinstance(network, pd.DataFrame) or not {"source", "target", "sign"} <= set(
        network.columns
    ):
        raise ConfigError("network must be a DataFrame with columns source, target, sign")
    net = network.reset_index(drop=True).copy()
    net["source"], net["target"] = net["source"].astype(str), net["target"].astype(str)
    unknown = sorted((set(net["source"]) | set(net["target"])) - set(genes))
    if unknown:
        raise ConfigError(f"network genes {unknown[:5]} are not among genes; add them to genes")
    if net.duplicated(["source", "target"]).any():
        raise ConfigError("network has duplicated (source, target) edges; keep one of each")
    sign = pd.to_numeric(net["sign"], errors="coerce").to_numpy()
    if not np.isin(sign, (-1, 1)).all():
        raise ConfigError("network signs must be +1 (activation) or -1 (repression)")
    n = len(net)
    net["sign"] = sign.astype(int)
    strength = (
        net["strength"].to_numpy(dtype=float) if "strength" in net else rng.uniform(1.0, 3.0, n)
    )
    for col, low, high in (("K", 1.0, 3.0), ("hill", 2, 4)):
        if col not in net:
            net[col] = rng.uniform(low, high, n) if col == "K" else rng.integers(low, high, n)
    net["hill"] = net["hill"].astype(float)
    if (strength <= 0).any() or (net["K"] <= 0).any() or (net["hill"] <= 0).any():
        raise ConfigError("network strength, K and hill must be > 0")
    net["strength"] = strength
    net["weight"] = net["sign"] * strength
    net["mode"] = np.where(net["sign"] > 0, "Activation", "Repression")
    return net


def simulate_network(
    network: pd.DataFrame,
    genes: Sequence[str] | None = None,
    *,
    inputs: Sequence[str] | Mapping[str, Sequence[str]] | None = None,
    n_timepoints: int = 6,
    t_max: float = 10.0,
    cells_per_time: int = 200,
    noise: float = 0.05,
    counts: bool = True,
    library_size: float = 2000,
    library_sd: float = LIBSIZE_SD,
    nb_theta: float = NB_THETA,
    dropout: float = 0.0,
    unobserved: float = 0.0,
    input_max: float = INPUT_MAX,
    basal: Sequence[float] | None = None,
    decay: Sequence[float] | None = None,
    start: str = "steady",
    seed: int = 0,
    dt: float = 0.01,
    logic: str = "additive",
    asynchrony: float = 0.0,
    hidden_activation: float = 0.0,
    batch_sd: float = 0.0,
    switching: bool = False,
    hidden_deactivation: float = 0.0,
) -> AnnData:
    """Simulate a snapshot time course of a *given* signed network (kinetics of :func:`simulate`).

    Same additive Hill kinetics, chemical-Langevin Euler-Maruyama and snapshot design as
    :func:`simulate`, but the network is the caller's. Genes of ``genes`` outside the network
    are *background* genes: only basal production, decay and intrinsic noise, so they are
    expressed and noisy but neither regulated nor regulating (they still shift every cell's
    composition, hence its counts). Self-loops are allowed in the kinetics.

    Parameters
    ----------
    network
        Edge table with ``source``, ``target``, ``sign`` (+1/-1) and optionally ``strength``
        (production rate, > 0), ``K`` (half-saturation) and ``hill`` (coefficient); missing
        ones are drawn as in :func:`simulate` (strength, K uniform in [1, 3], hill 2 or 3).
    genes
        All genes in output order (network genes plus background genes); default the
        network's genes in order of appearance.
    inputs
        Genes receiving the differentiation input ``input_max * t / t_max``: a list (every
        cell), or ``{lineage: genes}`` for branching fates (cells alternate between the
        lineages, ``obs['lineage']``). Default: the network's root regulators (sources that
        are no target), or its first source if every source is regulated.
    n_timepoints, t_max, cells_per_time
        Snapshot design, as in :func:`simulate`.
    noise
        Intrinsic noise level (>= 0).
    counts
        Raw counts in ``X`` (default) or ``log1p`` of the concentrations.
    library_size, library_sd, nb_theta
        Mean total counts, log-normal s.d. of the per-cell capture factor (library-size
        variation, stored in ``obs['capture']``) and negative-binomial inverse dispersion.
    dropout
        Extra zero inflation: each count is set to 0 with this probability (0..1).
    unobserved
        Fraction (0..1) of each cell's library taken by unobserved transcripts (a constant
        pool equal to ``unobserved / (1 - unobserved)`` times the median simulated total of
        the first time point): dilutes the composition shifts of a small gene panel.
    input_max
        Input production rate at ``t_max``.
    basal, decay
        Per-gene basal production and decay rates; default uniform in [0.05, 0.3] and
        [0.3, 0.8].
    start
        Initial state of the cells (times a log-normal factor of s.d. 0.3): ``"steady"``
        (default), the noise-free steady state without input reached from the unregulated
        level after 60 hours, so expression changes only through the input; or ``"basal"``,
        the unregulated level ``basal / decay`` as in :func:`simulate`.
    seed
        Seed of every random draw.
    dt
        Largest Euler-Maruyama step (hours).
    logic
        How a target's regulators combine: ``"additive"`` (default, as in :func:`simulate`:
        production = basal + sum of strength x Hill term) or ``"and"`` (an AND gate:
        production = basal + total strength x the product of the Hill terms, an activator's
        h = x^n / (K^n + x^n), a repressor's 1 - h; additive in the logs). A target with one
        regulator has the same kinetics under both.
    asynchrony
        Log-normal s.d. of a per-cell factor on the input's strength (0, the default: every
        cell receives the same input). Cells of one time point are then spread along the
        differentiation, as in asynchronous real time courses, so the genes that follow the
        input co-vary within a time point too.
    hidden_activation
        Fraction (0..1) of the regulators whose *activity* a hidden signal switches on at a
        random time (uniform over the middle 80 % of the time course; a logistic switch of
        width :data:`ACTIVATION_WIDTH` of the span), as post-translational control does: the
        regulator's effect on its targets is its concentration times that switch, so its
        targets can change before or after its own mRNA does. Drawn from a separate stream,
        so every other draw is the default's; recorded in ``uns['simulation']``
        (``activation_onset``).
    batch_sd
        Log-normal s.d. of a capture bias per time point and gene (0, the default: none). Real
        time courses capture and sequence each time point separately, so every gene's counts
        at one time point share a factor that the biology did not cause; it shifts the
        time-point means but not how cells co-vary within a time point. Drawn from a separate
        stream; the factors are recorded in ``uns['simulation']`` (``batch_factor``, time
        points x genes).
    hidden_deactivation
        Fraction (0..1) of the regulators whose activity a hidden signal switches *off* early
        (onset uniform over 10-50 % of the time course, the same switch shape), while their
        own mRNA follows its regulators as before: their targets then change before their
        regulator's mRNA does, as when a differentiation signal inactivates a TF
        post-translationally. Not combined with ``hidden_activation``; a separate stream;
        recorded in ``uns['simulation']`` (``deactivation_onset``).
    switching
        If true, each cell's input switches on fully at its own onset time (uniform over the
        time course, drawn from a separate stream; a logistic step :data:`SWITCH_WIDTH` of the
        span wide) instead of the ramp that all cells share: cells change state asynchronously,
        and the time-point means follow the share of cells that have switched. Recorded in
        ``uns['simulation']`` (``switching``).

    Returns
    -------
    anndata.AnnData
        Like :func:`simulate`: ``obs['time']`` (and ``obs['lineage']``, ``obs['capture']``
        with counts), ``var['regulator']`` (has an out-edge), ``var['background']``,
        ``layers['latent']``, ``uns['true_network']`` (``source, target, sign, strength, K,
        hill, weight, mode``), ``uns['simulation']``.

    Raises
    ------
    ConfigError
        For an invalid network or out-of-range settings.
    """
    n_tp = _check_int("n_timepoints", n_timepoints, 2)
    n_per = _check_int("cells_per_time", cells_per_time, 1)
    t_max = _check_pos("t_max", t_max)
    noise = _check_pos("noise", noise, allow_zero=True)
    dt = _check_pos("dt", dt)
    library_size = _check_pos("library_size", library_size)
    library_sd = _check_pos("library_sd", library_sd, allow_zero=True)
    nb_theta = _check_pos("nb_theta", nb_theta)
    input_max = _check_pos("input_max", input_max)
    dropout = _check_pos("dropout", dropout, allow_zero=True)
    if dropout >= 1:
        raise ConfigError(f"dropout must be < 1, got {dropout!r}")
    unobserved = _check_pos("unobserved", unobserved, allow_zero=True)
    if unobserved >= 1:
        raise ConfigError(f"unobserved must be < 1, got {unobserved!r}")
    if start not in ("steady", "basal"):
        raise ConfigError(f"start must be 'steady' or 'basal', got {start!r}")
    if logic not in LOGICS:
        raise ConfigError(f"logic must be one of {', '.join(LOGICS)}, got {logic!r}")
    asynchrony = _check_pos("asynchrony", asynchrony, allow_zero=True)
    hidden_activation = _check_pos("hidden_activation", hidden_activation, allow_zero=True)
    batch_sd = _check_pos("batch_sd", batch_sd, allow_zero=True)
    if hidden_activation > 1:
        raise ConfigError(f"hidden_activation must be <= 1, got {hidden_activation!r}")
    hidden_deactivation = _check_pos("hidden_deactivation", hidden_deactivation, allow_zero=True)
    if hidden_deactivation > 1 or (hidden_deactivation > 0 and hidden_activation > 0):
        raise ConfigError(
            "hidden_deactivation must be <= 1 and cannot be combined with hidden_activation; "
            f"got {hidden_deactivation!r} (hidden_activation {hidden_activation!r})"
        )
    seed = _check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)
    if genes is None:
        genes = list(dict.fromkeys([*map(str, network["source"]), *map(str, network["target"])]))
    genes = [str(g) for g in genes]
    if len(set(genes)) != len(genes):
        raise ConfigError("genes must be unique")
    net = _fill_network(network, genes, rng)
    n_genes = len(genes)
    basal = rng.uniform(0.05, 0.3, n_genes) if basal is None else np.asarray(basal, float)
    decay = rng.uniform(0.3, 0.8, n_genes) if decay is None else np.asarray(decay, float)
    if basal.shape != (n_genes,) or decay.shape != (n_genes,) or (basal < 0).any():
        raise ConfigError("basal and decay need one non-negative value per gene")
    if (decay <= 0).any():
        raise ConfigError("decay rates must be > 0")

    if inputs is None:
        roots = [s for s in dict.fromkeys(net["source"]) if s not in set(net["target"])]
        inputs = roots or list(net["source"][:1])
    by_lineage = dict(inputs) if isinstance(inputs, Mapping) else {None: list(inputs)}
    for lin, gs in by_lineage.items():
        bad = [g for g in gs if g not in genes]
        if bad or not list(gs):
            raise ConfigError(f"inputs of lineage {lin!r} must be genes, got {list(gs)!r}")
    times = np.linspace(0.0, t_max, n_tp)
    n_cells = n_tp * n_per
    names = list(by_lineage)
    lineage = np.array(names, dtype=object)[np.arange(n_cells) % len(names)]
    gidx = {g: i for i, g in enumerate(genes)}
    drive = np.zeros((n_cells, n_genes))
    for lin, gs in by_lineage.items():
        rows = np.flatnonzero(lineage == lin) if lin is not None else np.arange(n_cells)
        drive[np.ix_(rows, [gidx[g] for g in gs])] = input_max
    onset = _activation_onsets(net, hidden_activation, seed)
    offset = _activation_onsets(net, hidden_deactivation, seed, DEACTIVATION_STREAM, (0.1, 0.5))
    kin = _Kinetics(net, genes, basal, decay, logic, onset, offset)
    level = basal / decay
    if start == "steady":  # noise-free relaxation without input: a stationary progenitor state
        level = level[None, :]
        for _ in range(int(np.ceil(BURN_IN_HOURS / BURN_IN_DT))):
            level = (
                level
                + (kin.production(level, 0.0, np.zeros_like(level)) - decay * level) * BURN_IN_DT
            )
            np.maximum(level, 0.0, out=level)
        level = level[0]
    x0 = level * rng.lognormal(0.0, INIT_SD, size=(n_cells, n_genes))
    if asynchrony > 0:  # drawn last and only when asked: the start states are the default's
        drive *= rng.lognormal(0.0, asynchrony, size=(n_cells, 1))
    onsets = None
    if switching:  # a separate stream: every other draw is the default's
        onsets = np.random.default_rng([seed, SWITCH_STREAM]).uniform(0.0, 1.0, n_cells)
    out = _integrate(rng, kin, x0, drive, times, n_per, t_max, noise, dt, onsets=onsets)

    obs = pd.DataFrame(
        {"time": np.repeat(times, n_per).astype(float)},
        index=pd.Index([f"cell{i}" for i in range(n_cells)]),
    )
    if names != [None]:
        obs["lineage"] = pd.Categorical([str(v) for v in lineage], categories=map(str, names))
    batch = np.ones((n_tp, n_genes))
    if batch_sd > 0:  # a separate stream: every other draw is the default's
        brng = np.random.default_rng([seed, BATCH_STREAM])
        batch = brng.lognormal(-0.5 * batch_sd**2, batch_sd, size=(n_tp, n_genes))
    if counts:
        pool = unobserved / (1 - unobserved) * float(np.median(out[:n_per].sum(axis=1)))
        X, obs["capture"] = _counts(
            rng, out, library_size, library_sd, nb_theta, dropout, pool, np.repeat(batch, n_per, 0)
        )
    else:
        X = np.log1p(out).astype(np.float32)
    in_net = set(net["source"]) | set(net["target"])
    var = pd.DataFrame(
        {
            "regulator": [g in set(net["source"]) for g in genes],
            "background": [g not in in_net for g in genes],
        },
        index=genes,
    )
    settings = {
        "seed": seed,
        "noise": noise,
        "counts": bool(counts),
        "library_size": library_size,
        "library_sd": library_sd,
        "nb_theta": nb_theta,
        "dropout": dropout,
        "unobserved": unobserved,
        "dt": dt,
        "basal": basal,
        "decay": decay,
        "inputs": {str(k): list(v) for k, v in by_lineage.items()},
        "start": start,
        "input_max": input_max,
        "logic": logic,
        "asynchrony": asynchrony,
        "hidden_activation": hidden_activation,
        "activation_onset": onset,
        "hidden_deactivation": hidden_deactivation,
        "deactivation_onset": offset,
        "batch_sd": batch_sd,
        "switching": bool(switching),
        "batch_factor": batch,
    }
    adata = _snapshot_anndata(X, obs, var, out, net, "simulate_network", settings)
    return adata


def _activation_onsets(
    net: pd.DataFrame,
    fraction: float,
    seed: int,
    stream: int = ACTIVATION_STREAM,
    window: tuple[float, float] = (0.1, 0.9),
) -> dict[str, float]:
    """Onsets (fractions of the time course, uniform over ``window``) of ``fraction`` of the
    regulators of ``net``, drawn from their own stream so that the simulator's other draws do
    not change."""
    if fraction <= 0:
        return {}
    sources = list(dict.fromkeys(map(str, net["source"])))
    rng = np.random.default_rng([seed, stream])
    n = int(round(fraction * len(sources)))
    chosen = rng.choice(len(sources), size=n, replace=False)
    return {sources[i]: float(rng.uniform(*window)) for i in sorted(chosen)}


class _Kinetics:
    """Vectorised Hill production of a signed edge table (edges grouped by target); the
    regulators of a target add up (``logic="additive"``) or act as an AND gate (``"and"``)."""

    def __init__(
        self,
        net: pd.DataFrame,
        genes: list[str],
        basal: np.ndarray,
        decay: np.ndarray,
        logic: str = "additive",
        onset: dict[str, float] | None = None,
        offset: dict[str, float] | None = None,
    ) -> None:
        gidx = {g: i for i, g in enumerate(genes)}
        tgt = net["target"].map(gidx).to_numpy(dtype=int)
        order = np.argsort(tgt, kind="stable")
        tgt = tgt[order]
        self.src = net["source"].map(gidx).to_numpy(dtype=int)[order]
        self.strength = np.abs(net["weight"].to_numpy(dtype=float))[order]
        self.act = net["sign"].to_numpy()[order] > 0
        self.hill = net["hill"].to_numpy(dtype=float)[order]
        self.kn = net["K"].to_numpy(dtype=float)[order] ** self.hill
        self.targets, self.starts = np.unique(tgt, return_index=True)
        self.basal, self.decay = basal, decay
        # integer Hill coefficients 2 or 3 (the drawn ones) by products: much faster than pow
        self.fast = bool(np.isin(self.hill, (2.0, 3.0)).all())
        self.cube = self.hill == 3.0
        self.logic = logic
        if logic == "and" and self.src.size:
            self.total = np.add.reduceat(self.strength, self.starts)
        # hidden (de)activation (gene -> onset, a fraction of the time course): the activity
        # switch is on after an onset (direction +1) or off after it (-1); -inf = always on
        self.onset: np.ndarray | None = None
        if onset or offset:
            per_gene, direction = np.full(len(genes), -np.inf), np.ones(len(genes))
            for switches, sign in ((onset or {}, 1.0), (offset or {}, -1.0)):
                per_gene[[gidx[g] for g in switches]] = list(switches.values())
                direction[[gidx[g] for g in switches]] = sign
            self.onset, self.direction = per_gene[self.src], direction[self.src]

    def production(
        self, x: np.ndarray, frac: float, drive: np.ndarray, ramp: np.ndarray | None = None
    ) -> np.ndarray:
        """Production rates of cells ``x`` at ``frac`` of the time course; the input is at
        ``frac`` of its maximum, or at each cell's ``ramp`` (cells x 1) when given."""
        p = self.basal + drive * (frac if ramp is None else ramp)
        if self.src.size:
            xs = x[:, self.src]
            if self.onset is not None:  # hidden activation: the regulator's activity switch
                xs = xs / (1.0 + np.exp(-self.direction * (frac - self.onset) / ACTIVATION_WIDTH))
            if self.fast:
                xn = xs * xs
                if self.cube.any():
                    xn[:, self.cube] *= xs[:, self.cube]
            else:
                xn = xs**self.hill
            h = np.where(self.act, xn, self.kn) / (self.kn + xn)
            if self.logic == "and":
                p[:, self.targets] += self.total * np.multiply.reduceat(h, self.starts, axis=1)
            else:
                p[:, self.targets] += np.add.reduceat(h * self.strength, self.starts, axis=1)
        return p


def _integrate(
    rng: np.random.Generator,
    kin: _Kinetics,
    x: np.ndarray,
    drive: np.ndarray,
    times: np.ndarray,
    n_per: int,
    t_max: float,
    noise: float,
    dt: float,
    held: tuple[np.ndarray, np.ndarray] | None = None,
    onsets: np.ndarray | None = None,
) -> np.ndarray:
    """Euler-Maruyama of all cells; the first ``n_per`` remaining cells stop at each time.

    ``held = (genes, values)`` clamps those genes to fixed values at every step (a knockout).
    ``onsets`` (one per cell, fractions of the time course): each cell's input switches on
    there (a logistic step :data:`SWITCH_WIDTH` wide) instead of following the shared ramp.
    """
    idx, value = held if held is not None else (np.zeros(0, dtype=int), np.zeros(0))
    x[:, idx] = value
    out = np.empty_like(x)
    t_now, start = 0.0, 0
    for t_next in times:
        n_steps = int(np.ceil((t_next - t_now) / dt - 1e-9))
        h_step = (t_next - t_now) / n_steps if n_steps else 0.0
        gene_in = drive[start:]
        onset_in = None if onsets is None else onsets[start:, None]
        for s in range(n_steps):
            t = t_now + s * h_step
            ramp = None
            if onset_in is not None:
                ramp = 0.5 * (1.0 + np.tanh(0.5 * (t / t_max - onset_in) / SWITCH_WIDTH))
            p = kin.production(x, t / t_max, gene_in, ramp)
            d = kin.decay * x
            x = x + (p - d) * h_step
            if noise > 0:
                x += np.sqrt(noise * (p + d) * h_step) * rng.standard_normal(x.shape)
            np.maximum(x, 0.0, out=x)
            x[:, idx] = value
        out[start : start + n_per] = x[:n_per]
        x, start, t_now = x[n_per:], start + n_per, t_next
    return out


def _counts(
    rng: np.random.Generator,
    x: np.ndarray,
    library_size: float,
    library_sd: float,
    theta: float,
    dropout: float,
    pool: float = 0.0,
    bias: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Zero-inflated negative-binomial counts of concentrations ``x`` and the capture factors.

    ``pool`` is a mass of unobserved transcripts in every cell's library (the rest of the
    transcriptome), which dilutes the composition shifts of the simulated genes: the mean
    count is ``library_size * capture * x / (sum(x) + pool) * (1 + pool / median(sum(x)))``,
    so the median observed total stays near ``library_size``. ``bias`` (cells x genes, default
    1) multiplies each mean count: a gene's capture bias in the cell's batch.
    """
    total = x.sum(axis=1, keepdims=True)
    rel = x / np.maximum(total + pool, 1e-12)
    scale = 1.0 if pool == 0 else 1.0 + pool / max(float(np.median(total)), 1e-12)
    size = rng.lognormal(-0.5 * library_sd**2, library_sd, size=(len(x), 1))
    mean = library_size * scale * size * rel
    if bias is not None:
        mean = mean * bias
    lam = rng.gamma(theta, mean / theta)
    X = rng.poisson(lam).astype(np.float32)
    if dropout > 0:
        X[rng.random(X.shape) < dropout] = 0.0
    return X, size.ravel()


def simulate_linear(
    n_genes: int = 12,
    rank: int = 3,
    n_timepoints: int = 5,
    t_max: float = 2.0,
    cells_per_time: int = 200,
    noise: float = 0.0,
    seed: int = 0,
) -> AnnData:
    """Simulate cells of a linear system whose gene-space operator is known and low-rank.

    ``x(t) = mu + U expm(B t) c0`` with ``U`` (genes x rank) orthonormal, ``B`` (rank x rank)
    a rotation-plus-decay operator (eigenvalue real parts in [-0.6, 0.1], imaginary parts
    0.5..1.5 for each 2 x 2 block; a real eigenvalue in [-0.6, -0.1] when ``rank`` is odd),
    ``c0 ~ N(m0, 0.5^2 I)`` with ``||m0|| = 3`` so the population mean moves. Then
    ``dx/dt = J (x - mu)`` with ``J = U B U^T`` of rank exactly ``rank``. ``mu`` is chosen
    positive and large enough that every noise-free value is >= 1, so ``X`` is a non-negative,
    log-like continuous expression (exactly inside ``mu + span(U)`` when ``noise = 0``).

    Parameters
    ----------
    n_genes
        Number of genes (>= 2); genes are named ``G1``....
    rank
        Dimension of the dynamic subspace, 1..n_genes.
    n_timepoints, t_max, cells_per_time
        Snapshot design: ``linspace(0, t_max, n_timepoints)``, cells per time point.
    noise
        Standard deviation of independent Gaussian noise added to every gene (leaves the
        subspace; may create small negative values).
    seed
        Seed of every random draw.

    Returns
    -------
    anndata.AnnData
        Cells x genes, ``obs['time']`` (float), ``obsm['X_latent']`` the subspace coordinates
        ``expm(B t) c0``, ``uns['true_operator']`` J (genes x genes, rows = targets, columns =
        sources), ``uns['latent_operator']`` B, ``uns['basis']`` U, ``uns['gene_mean_true']``
        mu, ``uns['time_unit'] = 'hours'``, ``uns['species'] = 'simulated'``.

    Raises
    ------
    ConfigError
        For out-of-range settings.
    """
    n_genes = _check_int("n_genes", n_genes, 2)
    rank = _check_int("rank", rank, 1, n_genes)
    n_tp = _check_int("n_timepoints", n_timepoints, 2)
    n_per = _check_int("cells_per_time", cells_per_time, 1)
    t_max = _check_pos("t_max", t_max)
    noise = _check_pos("noise", noise, allow_zero=True)
    seed = _check_int("seed", seed, 0)
    rng = np.random.default_rng(seed)

    U, _ = np.linalg.qr(rng.standard_normal((n_genes, rank)))
    blocks = np.zeros((rank, rank))
    for i in range(0, rank - 1, 2):
        a, w = rng.uniform(-0.6, 0.1), rng.uniform(0.5, 1.5)
        blocks[i : i + 2, i : i + 2] = [[a, -w], [w, a]]
    if rank % 2:
        blocks[-1, -1] = rng.uniform(-0.6, -0.1)
    R, _ = np.linalg.qr(rng.standard_normal((rank, rank)))
    B = R @ blocks @ R.T
    J = U @ B @ U.T

    m0 = rng.standard_normal(rank)
    m0 *= 3.0 / np.linalg.norm(m0)
    times = np.linspace(0.0, t_max, n_tp)
    c0 = m0 + 0.5 * rng.standard_normal((n_tp * n_per, rank))
    z = np.empty_like(c0)
    for i, t in enumerate(times):
        sl = slice(i * n_per, (i + 1) * n_per)
        z[sl] = c0[sl] @ expm(B * t).T
    dev = z @ U.T
    mu = np.maximum(0.0, -dev.min(axis=0)) + rng.uniform(1.0, 2.0, n_genes)
    X = mu + dev
    if noise > 0:
        X = X + noise * rng.standard_normal(X.shape)

    genes = [f"G{i + 1}" for i in range(n_genes)]
    obs = pd.DataFrame(
        {"time": np.repeat(times, n_per).astype(float)},
        index=pd.Index([f"cell{i}" for i in range(len(X))]),
    )
    adata = AnnData(X=X, obs=obs, var=pd.DataFrame(index=genes))
    adata.obsm["X_latent"] = z
    adata.uns["true_operator"] = J
    adata.uns["latent_operator"] = B
    adata.uns["basis"] = U
    adata.uns["gene_mean_true"] = mu
    adata.uns["time_unit"] = "hours"
    adata.uns["species"] = "simulated"
    adata.uns["dataset"] = "simulate_linear"
    adata.uns["simulation"] = {"seed": seed, "rank": rank, "noise": noise, "m0": m0}
    return adata
