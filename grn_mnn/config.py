"""One configuration dataclass with the paper's defaults (Cell-MNN, arXiv 2510.02903).

The CLI exposes every field as ``--field-name``; the Python API takes a :class:`MNNConfig`
or keyword overrides. ``MNNConfig.validate`` raises :class:`~grn_mnn.errors.ConfigError`
naming the field and the allowed range.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import ConfigError

#: how ``grn-mnn run`` reads gene-network edge weights (:func:`grn_mnn.pipeline.gene_network`):
#: time-ordered co-expression ("lagged", :mod:`grn_mnn.readout`; the default, chosen on the
#: simulated accuracy benchmark only), the same with the Cell-MNN flow's timing, or the
#: Cell-MNN operator J = W S A S^-1 W^T ("jacobian", "contribution"; :mod:`grn_mnn.extract`)
READINGS = ("lagged", "flow-lagged", "jacobian", "contribution")
DEFAULT_READING = "lagged"
#: the co-expression readings (:mod:`grn_mnn.readout`); the others read the Cell-MNN operator
LAGGED_READINGS = ("lagged", "flow-lagged")
#: where the co-expression readings take each edge's sign (:func:`grn_mnn.readout.sign_score`);
#: the first is the default (session 8; "latent+within" was the default of sessions 6-7)
SIGNS = ("expression+within", "latent+within", "latent", "within", "expression")
DEFAULT_SIGNS = SIGNS[0]
#: size factors of the co-expression ranking (:func:`grn_mnn.readout.ranking_expression`)
SIZE_FACTORS = ("auto", "median-ratio", "none")
DEFAULT_SIZE_FACTORS = SIZE_FACTORS[0]
#: quantile at which the co-expression ranking clips each gene's linear expression before its
#: correlation (:func:`grn_mnn.readout.linear_correlation`; 1 = no clipping). Chosen in
#: session 9 on simulated regimes only (benchmark and heavier-tailed counts, docs/accuracy.md)
DEFAULT_WINSORIZE = 0.98
#: temperature of the co-expression readings' time-order factor, a sigmoid of change-time
#: differences in units of the time span (:func:`grn_mnn.readout.time_factor`). Chosen in
#: session 4 on the simulated benchmark; ``inf`` drops the time order (1/2 for every pair)
DEFAULT_TEMPERATURE = 0.3
#: what the time-order factor asks of an edge (:func:`grn_mnn.readout.time_factor`):
#: "regulator" (session 12, the default): the regulator changes earlier than the other candidate
#: regulators do; "pair" (sessions 4-11): the target changes after its regulator
TIME_PRIORS = ("regulator", "pair")
DEFAULT_TIME_PRIOR = TIME_PRIORS[0]


@dataclass
class MNNConfig:
    """Cell-MNN model and training settings.

    Attributes
    ----------
    n_pcs
        Latent dimension d (number of z-scored principal components), 2..100.
    parameterization
        ``"direct"``: the MLP outputs A; ``"eigen"``: A = P diag(lambda) P^-1 with P = I + output.
    n_zero_eigs
        With ``"eigen"``, number of eigenvalues fixed to 0.
    depth, width
        Hidden layers and their width of the hypernetwork MLP (paper: 4 x 96, LeakyReLU).
    last_layer_scale
        Factor applied to the initial weights of the output layer so A starts near 0.
    time_scale
        Times are divided by this before they enter the model. ``"auto"`` uses the span of the
        training time points (times then lie in [0, 1]); ``1.0`` keeps real units.
    n_steps_path
        Number of piecewise steps along which A is refreshed when propagating (1 = the paper:
        A computed once at the start cell). Each interval is cut into this many equal steps,
        so the grid depends on the interval's length; see ``path_step`` for a fixed grid.
    path_step
        ``None`` (default): use ``n_steps_path``. A positive number h (in the data's time
        units): A is refreshed at t0, t0 + h, t0 + 2h, ... (the last step may be shorter).
        The grid is the same whatever the end time, so pushing a cell to an intermediate time
        gives exactly the state its longer path passes through (interpolation is consistent
        with the paths the model was trained on).
    expm
        How expm(A dt) z is computed: ``"matrix"`` forms the matrix exponential
        (``torch.linalg.matrix_exp``, O(d^3) per cell); ``"action"`` applies it to z by scaling
        and a truncated Taylor series (:func:`grn_mnn.module.expm_action`, O(d^2) products,
        the same result to floating-point rounding); ``"auto"`` (default) uses ``"matrix"``
        below d = 32 and ``"action"`` from there on, where it measured faster (1.6x at d = 32,
        6.5x at d = 100; ``benchmarks/expm_action.py``).
    batch_start_cells, batch_target_cells
        Start cells per batch (spread over the training time points except the last) and cells
        sampled from each time point as the comparison population.
    gamma
        Discount of the MMD terms: the i-th later time point is weighted ``gamma**i``.
    sigma
        Laplace kernel bandwidth: k(x, y) = exp(-||x - y||_1 / (d * sigma)).
    lambda_kin
        Weight of the kinetic penalty mean ||A z||^2.
    kinetic_path_points
        ``0`` (the paper): the kinetic penalty is mean ||A z||^2 at the start cells. ``m > 0``:
        it is the time-averaged squared speed ||A z(s)||^2 along each start cell's propagated
        path to the next training time point (midpoint rule, m points per path step), the
        Benamou-Brenier action, which favours constant-speed paths between snapshots.
    backward_weight
        ``0`` (the paper): cells are only pushed forward in time. ``w > 0``: cells sampled at
        every later training time point are also pushed *backward* (z(t') = expm(-A (t - t'))
        z(t) per step) to every earlier training time point, and those MMD terms, discounted by
        ``gamma`` in the same way, are added with weight w. The operators then have to explain
        each gap from both of its ends (used with ``path_step``, the field inside a gap is
        constrained from both sides). Only training time points are used.
    lambda_inv
        Weight of the invertibility penalty 1 / (|det P| + 1e-4) (eigen only).
    operator_l1
        ``0`` (default): no sparsity penalty. ``w > 0``: adds w times the mean absolute
        off-diagonal entry of the batch's gene-level operator J = W S mean(A) S^-1 W^T (an L1
        penalty on the gene network that ``--reading jacobian`` reads, computed through the
        factored form; :func:`grn_mnn.losses.gene_operator_l1`). Measured in session 13 on the
        accuracy benchmark (docs/accuracy.md); not part of the paper.
    lr, weight_decay
        AdamW settings. ``lr_schedule`` ``"cosine"`` or ``"constant"``.
    max_epochs, steps_per_epoch
        Training length; one step is one batch.
    patience
        Early stopping: epochs without improvement of the validation loss (computed on held-back
        cells of the training time points only). ``0`` disables early stopping.
    val_fraction
        Fraction of the cells of each training time point held back for validation.
    replicas
        Independent sub-batches per optimisation step; the loss is their mean. Under
        ``torchrun`` they are split across processes (data-parallel), so a run with R
        processes and ``replicas=R`` computes the same steps as one process with ``replicas=R``.
    on_divergence
        What to do when the loss becomes non-finite (matrix exponential overflow): ``"raise"``
        (default) raises :class:`~grn_mnn.errors.TrainingError` naming the epoch;
        ``"stop"`` ends training there and keeps the best validation state so far (the
        result records it in ``FitResult.diverged``); it raises as well when there is no
        validated state yet.
    grad_clip
        Maximum gradient norm (guards against exploding updates).
    max_op_norm
        Elementwise bound c on A (A = c tanh(A_raw / c)) so expm(A dt) cannot overflow.
    checkpoint_every
        Epochs between checkpoints (also written at the end and on SIGINT/SIGTERM).
    seed
        Seed of every random draw (batches, initialisation, splits).
    threads
        torch intra-op threads; 1 is the stable choice on small CPUs.
    device
        ``"cpu"``, ``"cuda"`` or ``"auto"``.
    """

    n_pcs: int = 5
    parameterization: Literal["direct", "eigen"] = "direct"
    n_zero_eigs: int = 0
    depth: int = 4
    width: int = 96
    last_layer_scale: float = 0.01
    time_scale: float | Literal["auto"] = 1.0
    n_steps_path: int = 1
    path_step: float | None = None
    expm: Literal["auto", "matrix", "action"] = "auto"
    batch_start_cells: int = 200
    batch_target_cells: int = 200
    gamma: float = 0.1
    sigma: float = 1.0
    lambda_kin: float = 0.1
    kinetic_path_points: int = 0
    backward_weight: float = 0.0
    lambda_inv: float = 1e-3
    operator_l1: float = 0.0
    lr: float = 2e-4
    weight_decay: float = 1e-5
    lr_schedule: Literal["constant", "cosine"] = "constant"
    max_epochs: int = 200
    steps_per_epoch: int = 10
    patience: int = 30
    val_fraction: float = 0.15
    seed: int = 0
    threads: int = 1
    device: str = "cpu"
    max_op_norm: float = 50.0
    checkpoint_every: int = 20
    replicas: int = 1
    grad_clip: float = 10.0
    on_divergence: Literal["raise", "stop"] = "raise"
    extra: dict[str, Any] = field(default_factory=dict)

    def validate(self) -> MNNConfig:
        """Check every field; return ``self`` or raise :class:`ConfigError`."""

        def need(cond: bool, msg: str) -> None:
            if not cond:
                raise ConfigError(msg)

        need(
            isinstance(self.n_pcs, int) and 2 <= self.n_pcs <= 100,
            f"n_pcs must be an integer from 2 to 100, got {self.n_pcs!r}",
        )
        need(
            self.parameterization in ("direct", "eigen"),
            f"parameterization must be 'direct' or 'eigen', got {self.parameterization!r}",
        )
        need(
            0 <= self.n_zero_eigs < self.n_pcs,
            f"n_zero_eigs must be in [0, n_pcs), got {self.n_zero_eigs}",
        )
        need(self.depth >= 1 and self.width >= 1, "depth and width must be >= 1")
        need(
            self.time_scale == "auto"
            or (isinstance(self.time_scale, int | float) and self.time_scale > 0),
            f"time_scale must be 'auto' or a positive number, got {self.time_scale!r}",
        )
        need(self.n_steps_path >= 1, "n_steps_path must be >= 1")
        need(
            self.path_step is None
            or (isinstance(self.path_step, int | float) and self.path_step > 0),
            f"path_step must be None or a positive time step, got {self.path_step!r}",
        )
        need(
            self.expm in ("auto", "matrix", "action"),
            f"expm must be 'auto', 'matrix' or 'action', got {self.expm!r}",
        )
        need(
            self.batch_start_cells >= 2 and self.batch_target_cells >= 2,
            "batch_start_cells and batch_target_cells must be >= 2",
        )
        need(0 < self.gamma <= 1, f"gamma must be in (0, 1], got {self.gamma}")
        need(self.sigma > 0, f"sigma must be > 0, got {self.sigma}")
        need(
            isinstance(self.kinetic_path_points, int) and 0 <= self.kinetic_path_points <= 64,
            f"kinetic_path_points must be an integer in 0..64, got {self.kinetic_path_points!r}",
        )
        need(
            self.lambda_kin >= 0
            and self.lambda_inv >= 0
            and self.backward_weight >= 0
            and self.operator_l1 >= 0,
            "penalty and loss weights (lambda_kin, lambda_inv, backward_weight, operator_l1) "
            "must be >= 0",
        )
        need(self.lr > 0 and self.weight_decay >= 0, "lr must be > 0 and weight_decay >= 0")
        need(
            self.lr_schedule in ("constant", "cosine"),
            f"lr_schedule must be 'constant' or 'cosine', got {self.lr_schedule!r}",
        )
        need(
            self.max_epochs >= 1 and self.steps_per_epoch >= 1,
            "max_epochs and steps_per_epoch must be >= 1",
        )
        need(self.patience >= 0, "patience must be >= 0")
        need(
            0 <= self.val_fraction < 0.9,
            f"val_fraction must be in [0, 0.9), got {self.val_fraction}",
        )
        need(self.threads >= 1, "threads must be >= 1")
        need(
            self.device in ("cpu", "auto") or self.device.startswith("cuda"),
            f"device must be 'cpu', 'cuda[:N]' or 'auto', got {self.device!r}",
        )
        need(self.max_op_norm > 0, "max_op_norm must be > 0")
        need(self.replicas >= 1, "replicas must be >= 1")
        need(self.grad_clip > 0, "grad_clip must be > 0")
        need(
            self.on_divergence in ("raise", "stop"),
            f"on_divergence must be 'raise' or 'stop', got {self.on_divergence!r}",
        )
        need(self.checkpoint_every >= 1, "checkpoint_every must be >= 1")
        return self

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of every field (JSON-serialisable)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> MNNConfig:
        """Build from a dict, rejecting unknown keys with a clear message."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"unknown configuration field(s) {unknown}; valid: {sorted(names)}")
        return cls(**d)

    def replace(self, **changes: Any) -> MNNConfig:
        """Copy with some fields changed (unknown names raise ConfigError)."""
        cfg = self.from_dict({**self.to_dict(), **changes})
        return cfg
