"""Benchmark cases with known answers: network families simulated with nuisances.

Every case is a signed network of one *family*, simulated by
:func:`grn_mnn.simulate.simulate_network` (additive Hill kinetics, Euler-Maruyama,
independent snapshot cells) with the nuisances of real scRNA-seq time courses:

- 5-8 snapshot time points, 100-300 cells per time point (per lineage pair for branching);
- negative-binomial counts with extra zero inflation (``dropout``: each count zeroed with
  that probability) and log-normal library-size variation (``obs['capture']``);
- *background* genes outside the network (basal production, decay and intrinsic noise only:
  expressed and noisy, neither regulated nor regulating);
- a differentiation input ramping up on one or more regulators, so expression changes over
  time (and, for branching cases, differently in two lineages).

Families (:data:`FAMILIES`):

``scale_free``
    Preferential attachment: genes join one at a time and pick 1-2 regulators among the
    earlier genes with probability proportional to (out-degree + 1), so the out-degree is
    heavy-tailed (a few hubs) and the network is acyclic; input on the first gene.
``cascade``
    A linear chain ``G1 -> G2 -> ... -> G8`` (``G4 -| G5`` and ``G7 -| G8`` repress); input
    on ``G1``.
``toggle``
    A toggle switch: ``A`` and ``B`` repress each other, both primed by a progenitor ``P``,
    each with its own targets; branching fate: lineage ``A`` drives ``P`` and ``A``,
    lineage ``B`` drives ``P`` and ``B``.
``motif``
    Coherent and incoherent type-1 feed-forward loops and a negative feedback loop, each
    with a readout gene.
``boolean``
    Mammalian cortical area development (:func:`mcad_network`), Boolean rules written as
    signed Hill edges; two lineages (anterior: input on ``Fgf8``, posterior: on
    ``Coup_tfi``).

Cases whose name ends in ``_tfs`` simulate the same data as their base case (same seed) but
give the candidate regulators as a TF list: the network's regulators plus decoy
non-regulators listed as TFs. Other cases have ``sources = None`` (every gene is a candidate
regulator).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from anndata import AnnData

from .errors import ConfigError
from .simulate import simulate_network

__all__ = [
    "CASES",
    "FAMILIES",
    "QUICK_CASES",
    "Case",
    "case_names",
    "cascade_network",
    "make_case",
    "make_cases",
    "mcad_network",
    "motif_network",
    "scale_free_network",
    "tf_list",
    "toggle_network",
]

FAMILIES = ("scale_free", "cascade", "toggle", "motif", "boolean")
ACTIVATION_PROB = 0.6


@dataclass
class Case:
    """One benchmark case: simulated counts, the true network and the candidate regulators.

    Attributes
    ----------
    name, family
        Case name (key of :data:`CASES`) and family (one of :data:`FAMILIES`).
    adata
        Raw counts in ``X``, ``obs['time']``, ``var['regulator']``, ``var['background']``,
        ``uns['true_network']`` (``source, target, sign`` and kinetic parameters).
    sources
        Candidate regulators: ``None`` = every gene, or the TF list.
    description
        One line on the case.
    """

    name: str
    family: str
    adata: AnnData
    sources: list[str] | None
    description: str = ""

    @property
    def truth(self) -> pd.DataFrame:
        """The true edges: ``source, target, sign``."""
        return self.adata.uns["true_network"][["source", "target", "sign"]].copy()

    @property
    def genes(self) -> list[str]:
        """All genes (network and background)."""
        return [str(g) for g in self.adata.var_names]


# ----------------------------------------------------------------------------- networks
def _edges(rows: Sequence[tuple[str, str, int]]) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=["source", "target", "sign"])


def scale_free_network(
    n_genes: int, rng: np.random.Generator, max_regulators: int = 2, prefix: str = "G"
) -> pd.DataFrame:
    """Acyclic preferential-attachment network with a heavy-tailed out-degree.

    Gene ``i`` (``i >= 1``) picks ``1..max_regulators`` distinct regulators among genes
    ``0..i-1`` with probability proportional to (current out-degree + 1); signs are
    activation with probability 0.6.
    """
    if n_genes < 3:
        raise ConfigError(f"a scale-free network needs >= 3 genes, got {n_genes}")
    names = [f"{prefix}{i + 1}" for i in range(n_genes)]
    outdeg = np.zeros(n_genes)
    rows = []
    for i in range(1, n_genes):
        m = min(i, int(rng.integers(1, max_regulators + 1)))
        p = outdeg[:i] + 1.0
        regs = rng.choice(i, size=m, replace=False, p=p / p.sum())
        for r in regs:
            outdeg[r] += 1
            rows.append((names[r], names[i], 1 if rng.random() < ACTIVATION_PROB else -1))
    return _edges(rows)


def cascade_network(n_genes: int = 8, repressed: Sequence[int] = (3, 6)) -> pd.DataFrame:
    """Linear chain ``G1 -> G2 -> ... -> Gn``; link ``i`` (0-based, ``G(i+1) -> G(i+2)``) is a
    repression when ``i`` is in ``repressed`` (default: ``G4 -| G5`` and ``G7 -| G8``)."""
    names = [f"G{i + 1}" for i in range(n_genes)]
    return _edges(
        [(names[i], names[i + 1], -1 if i in set(repressed) else 1) for i in range(n_genes - 1)]
    )


def toggle_network() -> pd.DataFrame:
    """Toggle switch ``A -| B``, ``B -| A`` primed by ``P``, with fate targets of each."""
    return _edges(
        [
            ("P", "A", 1),
            ("P", "B", 1),
            ("A", "B", -1),
            ("B", "A", -1),
            ("A", "a1", 1),
            ("A", "a2", 1),
            ("A", "b1", -1),
            ("B", "b1", 1),
            ("B", "b2", 1),
            ("B", "a1", -1),
        ]
    )


def motif_network(kind: str) -> pd.DataFrame:
    """A three-gene motif plus a readout ``W`` of ``Z``.

    ``coherent_ffl``: X -> Y, X -> Z, Y -> Z. ``incoherent_ffl``: X -> Y, X -> Z, Y -| Z.
    ``negative_feedback``: X -> Y, Y -> Z, Z -| X.
    """
    motifs = {
        "coherent_ffl": [("X", "Y", 1), ("X", "Z", 1), ("Y", "Z", 1)],
        "incoherent_ffl": [("X", "Y", 1), ("X", "Z", 1), ("Y", "Z", -1)],
        "negative_feedback": [("X", "Y", 1), ("Y", "Z", 1), ("Z", "X", -1)],
    }
    if kind not in motifs:
        raise ConfigError(f"unknown motif {kind!r}; choose from {sorted(motifs)}")
    return _edges([*motifs[kind], ("Z", "W", 1)])


def mcad_network() -> pd.DataFrame:
    """Mammalian cortical area development: the Boolean model of Giacomantonio & Goodhill.

    C. E. Giacomantonio and G. J. Goodhill (2010), "A Boolean model of the gene regulatory
    network underlying mammalian cortical area development", PLoS Computational Biology
    6(9): e1000936 (the mCAD model of BEELINE's curated networks). Its rules::

        Fgf8     = Fgf8 and not Emx2 and Sp8
        Emx2     = not Fgf8 and not Pax6 and Coup_tfi and not Sp8
        Pax6     = not Emx2 and not Coup_tfi and Sp8
        Sp8      = Fgf8 and not Emx2
        Coup_tfi = not Fgf8 and not Sp8

    Every literal becomes a signed edge (positive literal = activation, ``not`` =
    repression), simulated with additive Hill kinetics: 14 edges, one of them the
    self-activation of ``Fgf8`` (kept in the kinetics, ignored by scoring, which excludes
    self-loops).
    """
    rules = {
        "Fgf8": [("Fgf8", 1), ("Emx2", -1), ("Sp8", 1)],
        "Emx2": [("Fgf8", -1), ("Pax6", -1), ("Coup_tfi", 1), ("Sp8", -1)],
        "Pax6": [("Emx2", -1), ("Coup_tfi", -1), ("Sp8", 1)],
        "Sp8": [("Fgf8", 1), ("Emx2", -1)],
        "Coup_tfi": [("Fgf8", -1), ("Sp8", -1)],
    }
    return _edges([(s, t, sign) for t, lits in rules.items() for s, sign in lits])


def tf_list(
    net: pd.DataFrame, genes: Sequence[str], n_decoys: int, rng: np.random.Generator
) -> list[str]:
    """The network's regulators plus ``n_decoys`` non-regulators (sorted like ``genes``)."""
    regs = set(net["source"])
    others = [g for g in genes if g not in regs]
    decoys = set(rng.choice(others, size=min(n_decoys, len(others)), replace=False).tolist())
    return [g for g in genes if g in regs or g in decoys]


# ----------------------------------------------------------------------------- cases
@dataclass(frozen=True)
class _Spec:
    family: str
    network: Callable[[np.random.Generator], pd.DataFrame]
    description: str
    n_background: int = 12
    inputs: Any = None
    n_decoys: int | None = None  # a TF list with this many decoys (None = all genes)
    base: str | None = None  # simulate as this case (same data), only sources differ
    sim: dict[str, Any] = field(default_factory=dict)


def _sf(n: int) -> Callable[[np.random.Generator], pd.DataFrame]:
    return lambda rng: scale_free_network(n, rng)


_TOGGLE_IN = {"A": ["P", "A"], "B": ["P", "B"]}
_MCAD_IN = {"anterior": ["Fgf8"], "posterior": ["Coup_tfi"]}
_NUIS = {"dropout": 0.1, "library_sd": 0.3, "unobserved": 0.8}

#: name -> specification of every case (see the module docstring)
CASES: dict[str, _Spec] = {
    "scale_free_20": _Spec(
        "scale_free",
        _sf(20),
        "20-gene preferential attachment",
        10,
        sim={**_NUIS, "n_timepoints": 6, "cells_per_time": 150},
    ),
    "scale_free_50": _Spec(
        "scale_free",
        _sf(50),
        "50-gene preferential attachment",
        20,
        sim={**_NUIS, "dropout": 0.15, "n_timepoints": 6, "cells_per_time": 200},
    ),
    "scale_free_50_tfs": _Spec(
        "scale_free",
        _sf(50),
        "scale_free_50 with a TF list (10 decoys)",
        20,
        n_decoys=10,
        base="scale_free_50",
    ),
    "scale_free_50_noisy": _Spec(
        "scale_free",
        _sf(50),
        "50 genes, heavy dropout (0.3) and library spread (0.6)",
        20,
        sim={
            "dropout": 0.3,
            "library_sd": 0.6,
            "unobserved": 0.8,
            "library_size": 1500,
            "n_timepoints": 5,
            "cells_per_time": 200,
        },
    ),
    "scale_free_200": _Spec(
        "scale_free",
        _sf(200),
        "200-gene preferential attachment",
        40,
        sim={
            **_NUIS,
            "dropout": 0.15,
            "library_size": 6000,
            "n_timepoints": 6,
            "cells_per_time": 300,
            "dt": 0.05,
        },
    ),
    "cascade": _Spec(
        "cascade",
        lambda rng: cascade_network(8),
        "8-gene linear cascade",
        12,
        sim={**_NUIS, "n_timepoints": 8, "cells_per_time": 100},
    ),
    "cascade_tfs": _Spec(
        "cascade",
        lambda rng: cascade_network(8),
        "cascade with a TF list (4 decoys)",
        12,
        n_decoys=4,
        base="cascade",
    ),
    "toggle": _Spec(
        "toggle",
        lambda rng: toggle_network(),
        "toggle switch, two lineages",
        12,
        inputs=_TOGGLE_IN,
        sim={**_NUIS, "n_timepoints": 6, "cells_per_time": 250},
    ),
    "toggle_tfs": _Spec(
        "toggle",
        lambda rng: toggle_network(),
        "toggle with a TF list (4 decoys)",
        12,
        inputs=_TOGGLE_IN,
        n_decoys=4,
        base="toggle",
    ),
    "ffl_coherent": _Spec(
        "motif",
        lambda rng: motif_network("coherent_ffl"),
        "coherent FFL + readout",
        12,
        sim={**_NUIS, "n_timepoints": 5, "cells_per_time": 200},
    ),
    "ffl_incoherent": _Spec(
        "motif",
        lambda rng: motif_network("incoherent_ffl"),
        "incoherent FFL + readout",
        12,
        sim={**_NUIS, "n_timepoints": 5, "cells_per_time": 200},
    ),
    "feedback_negative": _Spec(
        "motif",
        lambda rng: motif_network("negative_feedback"),
        "negative feedback loop",
        12,
        sim={**_NUIS, "n_timepoints": 8, "cells_per_time": 120},
    ),
    "mcad": _Spec(
        "boolean",
        lambda rng: mcad_network(),
        "cortical area development, two lineages",
        10,
        inputs=_MCAD_IN,
        sim={**_NUIS, "n_timepoints": 6, "cells_per_time": 200},
    ),
    "mcad_tfs": _Spec(
        "boolean",
        lambda rng: mcad_network(),
        "mcad with a TF list (3 decoys)",
        10,
        inputs=_MCAD_IN,
        n_decoys=3,
        base="mcad",
    ),
}
#: a small, fast subset for smoke tests
QUICK_CASES = ("ffl_coherent", "cascade_tfs")


def case_names(quick: bool = False) -> list[str]:
    """Names of every case (or of :data:`QUICK_CASES`)."""
    return list(QUICK_CASES if quick else CASES)


def _seed(name: str, seed: int) -> int:
    """A per-case simulation seed derived from the case name and the benchmark seed."""
    return int(np.random.SeedSequence([int(seed), zlib.crc32(name.encode())]).generate_state(1)[0])


def make_case(name: str, seed: int = 0) -> Case:
    """Simulate case ``name`` (a key of :data:`CASES`) with benchmark seed ``seed``.

    ``seed`` changes the network draw (``scale_free``), the kinetic parameters, the cells
    and every nuisance; ``_tfs`` cases reuse their base case's data and draw the decoys.

    Raises
    ------
    ConfigError
        For an unknown case name or a negative seed.
    """
    if name not in CASES:
        raise ConfigError(f"unknown case {name!r}; choose from {', '.join(CASES)}")
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"seed must be an integer >= 0, got {seed!r}")
    spec = CASES[name]
    base = CASES[spec.base] if spec.base else spec
    sim_seed = _seed(spec.base or name, seed)
    rng = np.random.default_rng([sim_seed, 1])  # network and basal rates
    net = base.network(rng)
    net_genes = list(dict.fromkeys([*net["source"], *net["target"]]))
    background = [f"BG{i + 1}" for i in range(base.n_background)]
    genes = net_genes + background
    basal = np.r_[rng.uniform(0.05, 0.3, len(net_genes)), rng.uniform(0.3, 1.5, len(background))]
    adata = simulate_network(
        net, genes, inputs=base.inputs, basal=basal, seed=sim_seed, **{"dt": 0.02, **base.sim}
    )
    adata.uns["dataset"] = name
    sources = None
    if spec.n_decoys is not None:
        sources = tf_list(net, genes, spec.n_decoys, np.random.default_rng(_seed(name, seed)))
        adata.uns["tf_list"] = sources
    adata.uns["case"] = {"name": name, "family": spec.family, "seed": int(seed)}
    return Case(name, spec.family, adata, sources, spec.description)


def make_cases(names: Sequence[str] | None = None, seed: int = 0) -> list[Case]:
    """:func:`make_case` of every name (default all of :data:`CASES`)."""
    return [make_case(n, seed) for n in (list(CASES) if names is None else names)]
