"""Shared fixtures: tiny simulated time courses from the public simulator."""

import os

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


def cli_flags(settings: dict) -> list[str]:
    """Configuration fields as grn-mnn command-line flags (``max_epochs`` -> ``--max-epochs``)."""
    flags: list[str] = []
    for key, value in settings.items():
        flags += ["--" + key.replace("_", "-"), str(value)]
    return flags
