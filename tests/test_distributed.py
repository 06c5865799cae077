"""Data-parallel training: 2 CPU processes (torchrun, gloo) equal one process with replicas=2."""

import os
import socket
import subprocess
import sys

import numpy as np
import pytest
import torch

from grn_mnn import distributed
from grn_mnn.errors import ConfigError

#: tolerance of the comparison; DDP averages the same two sub-batch gradients
TOL = 1e-5

ARGS = [
    "--time-key",
    "time",
    "--n-pcs",
    "3",
    "--max-epochs",
    "3",
    "--steps-per-epoch",
    "2",
    "--batch-start-cells",
    "24",
    "--batch-target-cells",
    "24",
    "--width",
    "16",
    "--depth",
    "2",
    "--seed",
    "5",
    "--quiet",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _state(path):
    return torch.load(path, map_location="cpu", weights_only=False)["state"]


def _max_diff(a, b):
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def test_two_processes_match_one_process_with_two_replicas(sim_h5ad, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    env["OMP_NUM_THREADS"] = "1"
    common = ["--input", str(sim_h5ad), *ARGS, "--replicas", "2", "--backed"]
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node=2",
        "--nnodes=1",
        "--master_addr=127.0.0.1",
        f"--master_port={_free_port()}",
        "-m",
        "grn_mnn.distributed",
        *common,
        "--out",
        str(tmp_path / "ddp"),
    ]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert distributed.main([*common, "--out", str(tmp_path / "single")]) == 0
    assert (
        distributed.main(
            [
                "--input",
                str(sim_h5ad),
                *ARGS,
                "--replicas",
                "1",
                "--backed",
                "--out",
                str(tmp_path / "r1"),
            ]
        )
        == 0
    )
    ddp = _state(tmp_path / "ddp" / "model.pt")
    single = _state(tmp_path / "single" / "model.pt")
    other = _state(tmp_path / "r1" / "model.pt")
    assert _max_diff(ddp, single) < TOL
    # the comparison is sensitive: a different batching gives clearly different weights
    assert _max_diff(single, other) > 100 * TOL
    blob = torch.load(tmp_path / "ddp" / "model.pt", map_location="cpu", weights_only=False)
    assert blob["metadata"]["distributed"] == {"world_size": 2, "backend": "gloo"}


def test_saved_model_loads_and_refuses_overwrite(sim_h5ad, tmp_path, capsys):
    from grn_mnn.model import CellMNN

    out = tmp_path / "run"
    assert distributed.main(["--input", str(sim_h5ad), *ARGS, "--out", str(out)]) == 0
    model = CellMNN.load(out / "model.pt")
    assert model.mapping["n_pcs"] == 3 and len(model.mapping["genes"]) > 3
    a = model.operators(np.zeros((4, 3), dtype=np.float32), 0.0)
    assert a.shape == (4, 3, 3) and np.isfinite(a).all()
    assert (out / "run.json").exists()
    assert distributed.main(["--input", str(sim_h5ad), *ARGS, "--out", str(out)]) == 2
    assert "overwrite" in capsys.readouterr().err


def test_operator_l1_trains_through_the_distributed_entry_point(sim_h5ad, tmp_path):
    """The sparsity penalty needs the PCA factors; the distributed path passes them."""
    from grn_mnn.model import CellMNN

    out = tmp_path / "l1"
    assert (
        distributed.main(["--input", str(sim_h5ad), *ARGS, "--operator-l1", "1", "--out", str(out)])
        == 0
    )
    assert CellMNN.load(out / "model.pt").config.operator_l1 == 1.0


def test_missing_input_is_one_line_error(tmp_path, capsys):
    code = distributed.main(["--input", str(tmp_path / "no.h5ad"), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "does not exist" in err and "\n" not in err


def test_init_from_env_single_process_and_bad_env(monkeypatch):
    for k in ("WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(k, raising=False)
    assert distributed.init_from_env() == (1, 0)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="torchrun"):
        distributed.init_from_env()
    assert distributed.backend_for("cpu") == "gloo"
    assert distributed.backend_for("cuda:0") == "nccl"
