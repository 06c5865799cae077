"""Time identical Cell-MNN training steps with 1 and 2 torch threads (and OMP_WAIT_POLICY).

Each setting runs in a fresh subprocess (thread pools are fixed at start-up), once on an idle
machine and once with one core kept busy by another process (as when tests, a second job or
another rank share the machine). A step is one batch of the default configuration on the bundled
hepatocyte data (10 PCs). Writes ``benchmarks/results/threads.json`` with per-setting median /
p90 / max step times.

    python benchmarks/threads.py
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np, torch
from grn_mnn import datasets, pp
from grn_mnn.config import MNNConfig
from grn_mnn.module import CellMNNModule
from grn_mnn.train import Snapshots, SnapshotSampler, batch_loss
threads, steps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(threads)
a = datasets.hepatocyte_camp2017(); pp.prepare(a, "time", n_pcs=10)
cfg = MNNConfig(n_pcs=10, threads=threads)
snap = Snapshots(a.obsm["X_grn_mnn"], a.obs["grn_mnn_time"].to_numpy())
smp = SnapshotSampler(snap, (), cfg.val_fraction, 0)
torch.manual_seed(0)
mod = CellMNNModule(10, cfg)
opt = torch.optim.AdamW(mod.parameters(), lr=cfg.lr)
gen = torch.Generator().manual_seed(0)
dev = torch.device("cpu")
times = []
for i in range(steps):
    b = smp.sample(cfg.batch_start_cells, cfg.batch_target_cells, gen)
    t0 = time.perf_counter()
    opt.zero_grad()
    loss = batch_loss(mod, snap, smp, b, cfg, dev)["loss"]
    loss.backward()
    opt.step()
    times.append(time.perf_counter() - t0)
print(json.dumps(times[5:]))
"""


def measure(threads: int, wait_policy: str | None, steps: int) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    env.pop("OMP_WAIT_POLICY", None)
    if wait_policy:
        env["OMP_WAIT_POLICY"] = wait_policy
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(threads), str(steps)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    t = sorted(json.loads(out.stdout.strip().splitlines()[-1]))
    ms = [1000 * x for x in t]
    return {
        "threads": threads,
        "omp_wait_policy": wait_policy or "default",
        "steps": len(ms),
        "median_ms": ms[len(ms) // 2],
        "p90_ms": ms[int(0.9 * len(ms))],
        "max_ms": ms[-1],
        "min_ms": ms[0],
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--out", default=str(Path(__file__).parent / "results" / "threads.json"))
    args = p.parse_args(argv)
    from grn_mnn._io import write_json

    settings = [(1, None), (2, None), (2, "PASSIVE")]
    rows = [{**measure(t, w, args.steps), "other_core": "idle"} for t, w in settings]
    burner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        rows += [{**measure(t, w, args.steps), "other_core": "busy"} for t, w in settings]
    finally:
        burner.kill()
    write_json(args.out, rows)
    for r in rows:
        print(r)


if __name__ == "__main__":
    main()
