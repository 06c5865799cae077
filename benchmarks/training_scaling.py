"""Training throughput and peak memory versus number of cells: Cell-MNN versus exact OT.

Data: the bundled embryoid-body subset (2,750 cells, 5 time points), whitened (each of the
first ``n_pcs`` PCs centred and divided by its standard deviation) and inflated with the
paper's procedure (noisy copies of real cells, noise std 0.1 on the PCs) to 10k, 100k and 1M
cells, written chunk by chunk to a ``.npy`` file (:func:`grn_mnn.scale.write_inflated`).

Methods (every configuration runs in a fresh subprocess so ``peak_rss_mb`` is its own
``ru_maxrss``):

* ``cell-mnn``: :func:`grn_mnn.train.fit` with the default batch (200 start cells, 200 target
  cells for each later time point: 1,000 cells per step) reading its batches from the latent
  file on disk. **One epoch = one pass over the data set** = ``ceil(n_cells / 1000)`` steps,
  so ``seconds_per_epoch`` should grow linearly with cells and ``cells_per_second`` (cells
  read per second of training) stay constant. The whole epoch is run, not extrapolated.
* ``exact-ot``: the preprocessing of OT-CFM with exact couplings: an exact OT plan (POT
  ``ot.emd``, squared Euclidean cost) between every pair of consecutive time points.
  ``seconds_per_epoch`` is the time to compute all plans (one pass), ``cells_per_second`` =
  cells / that time. The process runs under ``RLIMIT_AS`` = its address space at start +
  ``--ot-budget-gb``: an allocation beyond it fails and the record gets status ``oom``; a
  run longer than ``--time-limit`` seconds gets ``timeout``.

Usage (one benchmark process at a time, 1 thread)::

    OMP_NUM_THREADS=1 python benchmarks/training_scaling.py
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CELLS_PER_STEP_NOTE = "batch_start_cells + (time points - 1) * batch_target_cells"


def peak_rss_mb() -> float:
    """Peak resident set size of this process in MB (Linux ru_maxrss is in KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def whitened_eb(n_pcs: int) -> tuple[np.ndarray, np.ndarray]:
    """First ``n_pcs`` PCs of the EB subset, centred and scaled to unit variance, and times."""
    from grn_mnn.datasets import eb_subset

    ad = eb_subset(n_pcs=n_pcs)
    x = np.asarray(ad.X, dtype=np.float64)
    z = (x - x.mean(axis=0)) / x.std(axis=0)
    return z, ad.obs["time"].to_numpy(dtype=float)


def inflated(n_cells: int, n_pcs: int, workdir: Path, seed: int):
    """Inflated EB data on disk (Snapshots over an ``.npy`` file)."""
    from grn_mnn.scale import write_inflated

    z, t = whitened_eb(n_pcs)
    path = workdir / f"eb_{n_cells}_{n_pcs}.npy"
    return write_inflated(path, z, t, n_cells / len(z), noise=0.1, seed=seed, overwrite=True)


def worker_cellmnn(n_cells: int, n_pcs: int, workdir: Path, seed: int) -> dict:
    import torch

    from grn_mnn.config import MNNConfig
    from grn_mnn.train import fit

    torch.set_num_threads(1)
    snap = inflated(n_cells, n_pcs, workdir, seed)
    rss_data = peak_rss_mb()
    n_times = len(np.unique(snap.t))
    cfg = MNNConfig(
        n_pcs=n_pcs,
        max_epochs=1,
        patience=0,
        val_fraction=0.0,
        time_scale="auto",
        seed=seed,
        threads=1,
    )
    per_step = cfg.batch_start_cells + (n_times - 1) * cfg.batch_target_cells
    steps = math.ceil(n_cells / per_step)
    cfg = cfg.replace(steps_per_epoch=steps)
    res = fit(snap, cfg, progress=False)
    sec = float(res.history["seconds"][0])
    snap.z.close()
    os.unlink(snap.z.path)
    return {
        "method": "cell-mnn",
        "n_cells": n_cells,
        "n_pcs": n_pcs,
        "seconds_per_epoch": sec,
        "cells_per_second": steps * per_step / sec,
        "peak_rss_mb": peak_rss_mb(),
        "status": "ok",
        "steps_per_epoch": steps,
        "cells_per_step": per_step,
        "peak_rss_mb_before_training": rss_data,
        "final_train_loss": float(res.history["train_loss"][-1]),
        "latent_storage": "npy on disk (NpyRows, pread)",
    }


def _vm_size() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("VmSize not found in /proc/self/status")


def worker_ot(n_cells: int, n_pcs: int, workdir: Path, seed: int, budget_gb: float) -> dict:
    import ot

    from grn_mnn.train import take_rows

    snap = inflated(n_cells, n_pcs, workdir, seed)
    times = np.unique(snap.t)
    groups = [np.flatnonzero(snap.t == tp) for tp in times]
    rec = {
        "method": "exact-ot",
        "n_cells": n_cells,
        "n_pcs": n_pcs,
        "seconds_per_epoch": None,
        "cells_per_second": None,
        "peak_rss_mb": None,
        "status": "oom",
        "memory_budget_gb": budget_gb,
        "largest_pair": [int(len(groups[0])), int(len(groups[1]))],
        "dense_cost_plus_plan_gb": 2 * 8 * len(groups[0]) * len(groups[1]) / 2**30,
    }
    limit = _vm_size() + int(budget_gb * 2**30)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    # announce the record before the attempt: a C++ bad_alloc aborts the process
    print("PARTIAL " + json.dumps(rec), flush=True)
    t0 = time.perf_counter()
    try:
        for a, b in zip(groups[:-1], groups[1:], strict=True):
            xa = take_rows(snap.z, a).astype(np.float64)
            xb = take_rows(snap.z, b).astype(np.float64)
            cost = ot.dist(xa, xb)  # squared Euclidean, as in OT-CFM
            plan = ot.emd(np.full(len(a), 1 / len(a)), np.full(len(b), 1 / len(b)), cost, 10**9)
            del cost, plan
    except MemoryError:
        rec["peak_rss_mb"] = peak_rss_mb()
        return rec
    sec = time.perf_counter() - t0
    rec.update(
        seconds_per_epoch=sec,
        cells_per_second=n_cells / sec,
        peak_rss_mb=peak_rss_mb(),
        status="ok",
    )
    return rec


def run_one(method: str, n_cells: int, n_pcs: int, args: argparse.Namespace) -> dict:
    """Run one configuration in a fresh subprocess; classify timeouts and aborts."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--worker",
        method,
        "--n-cells",
        str(n_cells),
        "--n-pcs",
        str(n_pcs),
        "--workdir",
        str(args.workdir),
        "--seed",
        str(args.seed),
        "--ot-budget-gb",
        str(args.ot_budget_gb),
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    base = {"method": method, "n_cells": n_cells, "n_pcs": n_pcs}
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.time_limit, env=env)
    except subprocess.TimeoutExpired:
        return {
            **base,
            "seconds_per_epoch": None,
            "cells_per_second": None,
            "peak_rss_mb": None,
            "status": "timeout",
            "time_limit_s": args.time_limit,
        }
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(("RESULT ", "PARTIAL "))]
    if proc.returncode == 0 and lines and lines[-1].startswith("RESULT "):
        return json.loads(lines[-1][len("RESULT ") :])
    if "bad_alloc" in proc.stderr or "MemoryError" in proc.stderr:
        rec = json.loads(lines[-1].split(" ", 1)[1]) if lines else dict(base)
        rec.update(status="oom", note="allocation beyond the memory cap aborted the process")
        return rec
    raise RuntimeError(f"{method} n={n_cells} d={n_pcs} failed:\n{proc.stderr[-3000:]}")


def table(path: Path) -> str:
    """Markdown table of the records in ``path``."""
    recs = json.loads(Path(path).read_text())

    def f(v, fmt):
        return "-" if v is None else format(v, fmt)

    rows = [
        "| method | cells | PCs | s / epoch | cells / s | peak RSS (MB) | status |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in recs:
        rows.append(
            f"| {r['method']} | {r['n_cells']:,} | {r['n_pcs']} | "
            f"{f(r['seconds_per_epoch'], '.2f')} | {f(r['cells_per_second'], ',.0f')} | "
            f"{f(r['peak_rss_mb'], '.0f')} | {r['status']} |"
        )
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument("--ot-extra-sizes", type=int, nargs="*", default=[30_000])
    p.add_argument("--pcs", type=int, nargs="+", default=[5, 50])
    p.add_argument("--methods", nargs="+", default=["cell-mnn", "exact-ot"])
    p.add_argument("--time-limit", type=float, default=1800.0, help="seconds per configuration")
    p.add_argument("--ot-budget-gb", type=float, default=4.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", type=Path, default=None)
    p.add_argument("--out", type=Path, default=HERE / "results" / "training_scaling.json")
    p.add_argument("--table", action="store_true", help="print the markdown table of --out")
    p.add_argument(
        "--merge",
        action="store_true",
        help="keep the records of --out that this run does not re-measure",
    )
    p.add_argument("--worker", choices=["cell-mnn", "exact-ot"], default=None)
    p.add_argument("--n-cells", type=int, default=None)
    p.add_argument("--n-pcs", type=int, default=None)
    args = p.parse_args(argv)
    if args.table:
        print(table(args.out))
        return
    if args.worker:
        args.workdir.mkdir(parents=True, exist_ok=True)
        if args.worker == "cell-mnn":
            rec = worker_cellmnn(args.n_cells, args.n_pcs, args.workdir, args.seed)
        else:
            rec = worker_ot(args.n_cells, args.n_pcs, args.workdir, args.seed, args.ot_budget_gb)
        print("RESULT " + json.dumps(rec), flush=True)
        return

    from grn_mnn._io import write_json

    tmp = None
    if args.workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="grn_mnn_bench_")
        args.workdir = Path(tmp.name)
    records = []
    if args.merge and args.out.exists():
        records = json.loads(args.out.read_text())

    def key(r: dict) -> tuple:
        return (r["method"], r["n_cells"], r["n_pcs"])

    order = {m: i for i, m in enumerate(["cell-mnn", "exact-ot"])}
    for method in args.methods:
        extra = set(args.ot_extra_sizes) if method == "exact-ot" else set()
        sizes = sorted(set(args.sizes) | extra)
        for d in args.pcs:
            for n in sizes:
                rec = run_one(method, n, d, args)
                rec["threads"] = 1
                records = [r for r in records if key(r) != key(rec)] + [rec]
                records.sort(key=lambda r: (order[r["method"]], r["n_pcs"], r["n_cells"]))
                print(json.dumps(rec), flush=True)
                write_json(args.out, records)
    if tmp is not None:
        tmp.cleanup()


if __name__ == "__main__":
    main()
