"""Shared fixtures: tiny simulated time courses from the public simulator, models fitted on them."""

import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MPLBACKEND", "Agg")

import pytest  # noqa: E402
import torch  # noqa: E402

torch.set_num_threads(1)

#: few epochs: tests check behaviour, not quality
FAST = {
    "max_epochs": 6,
    "steps_per_epoch": 2,
    "batch_start_cells": 24,
    "batch_target_cells": 24,
    "width": 16,
    "depth": 2,
    "patience": 0,
}


@pytest.fixture
def sim():
    """A small simulated time course with a known signed network (fresh copy per test)."""
    from grn_mnn.datasets import simulate

    return simulate(n_genes=12, n_timepoints=4, cells_per_time=40, seed=0)


@pytest.fixture
def sim_h5ad(sim, tmp_path):
    """The simulated time course written to an .h5ad file."""
    path = tmp_path / "sim.h5ad"
    out = sim.copy()
    out.uns.pop("true_network", None)
    out.write_h5ad(path)
    return path


@pytest.fixture
def cloud():
    """A factory of toy snapshots: ``cloud(n_times, n, d, seed) -> (x, t)``, cells spread along
    the first axis and moving by 2 per time unit."""
    import numpy as np

    def make(n_times: int = 4, n: int = 25, d: int = 3, seed: int = 0):
        rng = np.random.default_rng(seed)
        t = np.repeat(np.arange(n_times, dtype=float), n)
        x = rng.normal(size=(len(t), d)) * [5.0, 1.0, 0.2][:d] + t[:, None] * 2.0
        return x, t

    return make


def _fit(n_pcs: int):
    """Raw data, prepared data (``n_pcs`` PCs) and a quickly trained model."""
    from grn_mnn import pp
    from grn_mnn.model import CellMNN
    from grn_mnn.simulate import simulate

    raw = simulate(n_genes=8, n_timepoints=4, cells_per_time=30, seed=1)
    adata = raw.copy()
    pp.prepare(adata, "time", n_pcs)
    model = CellMNN(adata, **FAST, seed=0).train(progress=False)
    return raw, adata, model


@pytest.fixture(scope="module")
def full():
    """A model whose PCA spans every gene (n_pcs = n_genes): a clamp is represented exactly."""
    return _fit(8)


@pytest.fixture(scope="module")
def part():
    """A model with 3 of 8 dimensions: a clamp is only partly representable."""
    return _fit(3)


def cli_flags(settings: dict) -> list[str]:
    """Configuration fields as grn-mnn command-line flags (``max_epochs`` -> ``--max-epochs``)."""
    flags: list[str] = []
    for key, value in settings.items():
        flags += ["--" + key.replace("_", "-"), str(value)]
    return flags


def validation_script(name: str):
    """Import the script ``validation/<name>.py`` as a module (the scripts are not a package)."""
    import importlib.util

    path = Path(__file__).parents[1] / "validation" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"validation_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
