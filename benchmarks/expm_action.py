"""Training-step time and accuracy of the two ways to compute expm(A dt) z.

``matrix`` forms the batched matrix exponential (``torch.linalg.matrix_exp``, O(d^3) per cell)
and multiplies; ``action`` applies it to z by scaling and a truncated Taylor series
(:func:`grn_mnn.module.expm_action`, O(d^2) products), whose cost grows with ||A dt||_1. So the
timing is taken on trained-scale operators: for each latent dimension d a fresh subprocess (one
torch thread) loads the bundled EB subset with d whitened PCs, trains ``--warmup`` steps of the
default configuration (lr 1e-3), then times ``--steps`` further identical training steps
(200 start cells, 200 target cells per time point, forward + backward + AdamW) from that same
state with each method. The accuracy columns are the largest relative error of each method's
expm(3 A) z in float32 against the float64 matrix exponential, on the last batch's start cells.
Writes ``benchmarks/results/expm_action.json``; ``--table`` prints the markdown table.

    OMP_NUM_THREADS=1 python benchmarks/expm_action.py            # ~25 min
    python benchmarks/expm_action.py --table
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

CHILD = r"""
import json, sys, time
import numpy as np, torch
from grn_mnn import interpolation as gi
from grn_mnn.config import MNNConfig
from grn_mnn.module import CellMNNModule, expm_action
from grn_mnn.train import Snapshots, SnapshotSampler, batch_loss
d, warm, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
torch.set_num_threads(1)
data = gi.read_eb_subset(d)
snap = Snapshots(data.z, data.t)
dev = torch.device("cpu")

def steps_of(method, n, state=None, opt_state=None, seed=0):
    cfg = MNNConfig(n_pcs=d, expm=method, lr=1e-3)
    smp = SnapshotSampler(snap, (), cfg.val_fraction, 0)
    torch.manual_seed(0)
    mod = CellMNNModule(d, cfg)
    opt = torch.optim.AdamW(mod.parameters(), lr=cfg.lr)
    if state is not None:
        mod.load_state_dict(state)
        opt.load_state_dict(opt_state)
    gen = torch.Generator().manual_seed(seed)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        batch = smp.sample(cfg.batch_start_cells, cfg.batch_target_cells, gen)
        out = batch_loss(mod, snap, smp, batch, cfg, dev)
        opt.zero_grad(set_to_none=True)
        out["loss"].backward()
        torch.nn.utils.clip_grad_norm_(mod.parameters(), cfg.grad_clip)
        opt.step()
        times.append(time.perf_counter() - t0)
    return mod, opt, batch, np.array(times) * 1000, float(out["loss"])

t0 = time.perf_counter()
mod, opt, batch, _, _ = steps_of("action", warm)
warm_s = time.perf_counter() - t0
state = {k: v.clone() for k, v in mod.state_dict().items()}
opt_state = opt.state_dict()
zz = torch.from_numpy(np.ascontiguousarray(data.z[batch["start"]]))
with torch.no_grad():
    a = mod.operator(zz, torch.from_numpy(data.t[batch["start"]].astype(np.float32)))
norm = a.abs().sum(dim=1).amax(dim=1).numpy()
b = a * 3.0  # the longest forward push of the discount's leading terms (t -> t + 3)
ref = (torch.linalg.matrix_exp(b.double()) @ zz.double().unsqueeze(-1)).squeeze(-1)
err = lambda x: float(((x.double() - ref).norm(dim=1) / ref.norm(dim=1)).max())
mat = (torch.linalg.matrix_exp(b) @ zz.unsqueeze(-1)).squeeze(-1)
act = expm_action(b, zz)
recs = []
for method in ("matrix", "action"):
    _, _, _, ts, loss = steps_of(method, steps + 1, state, opt_state, seed=1)
    ts = ts[1:]
    recs.append({"d": d, "method": method, "warmup_steps": warm, "warmup_seconds": warm_s,
                 "steps": steps, "median_ms": float(np.median(ts)),
                 "p90_ms": float(np.percentile(ts, 90)), "loss_after": loss,
                 "op_norm1_median": float(np.median(norm)), "op_norm1_max": float(norm.max()),
                 "rel_err_matrix": err(mat), "rel_err_action": err(act)})
print(json.dumps(recs))
"""


def run(dims: list[int], warmup: int, steps: int) -> list[dict]:
    """One fresh subprocess per d (warm-up, then both methods); returns the records."""
    recs = []
    for d in dims:
        n = steps if d <= 50 else max(3, steps // 3)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(d), str(warmup), str(n)],
            capture_output=True,
            text=True,
            check=True,
        )
        for rec in json.loads(out.stdout.strip().splitlines()[-1]):
            print(
                f"d {d:3d} {rec['method']:6s} median {rec['median_ms']:8.1f} ms/step "
                f"(p90 {rec['p90_ms']:.1f}; ||A||_1 median {rec['op_norm1_median']:.2f})",
                flush=True,
            )
            recs.append(rec)
    return recs


def table(recs: list[dict]) -> str:
    """Markdown: per d, median ms/step of both methods, the speed-up and the float32 errors."""
    by = {(r["d"], r["method"]): r for r in recs}
    lines = [
        "| d | median \\|A\\|_1 (max) | matrix ms/step | action ms/step | speed-up | "
        "float32 rel. error matrix | action |",
        "|---|---|---|---|---|---|---|",
    ]
    for d in sorted({r["d"] for r in recs}):
        m, a = by.get((d, "matrix")), by.get((d, "action"))
        if m is None or a is None:
            continue
        lines.append(
            f"| {d} | {a['op_norm1_median']:.2f} ({a['op_norm1_max']:.2f}) | "
            f"{m['median_ms']:.1f} | {a['median_ms']:.1f} | "
            f"{m['median_ms'] / a['median_ms']:.1f}x | {a['rel_err_matrix']:.1e} | "
            f"{a['rel_err_action']:.1e} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run (or, with --table, only print) the benchmark."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--dims", type=int, nargs="+", default=[5, 10, 16, 20, 32, 40, 50, 100])
    p.add_argument("--warmup", type=int, default=1000, help="training steps before timing")
    p.add_argument("--steps", type=int, default=20, help="timed steps (a third above d = 50)")
    p.add_argument("--out", default="benchmarks/results/expm_action.json")
    p.add_argument("--table", action="store_true", help="print the table of --out and exit")
    p.add_argument(
        "--merge", action="store_true", help="keep the records of --out for the other dims"
    )
    args = p.parse_args(argv)
    out = Path(args.out)
    if args.table:
        print(table(json.loads(out.read_text())))
        return 0
    from grn_mnn._io import write_json

    recs = run(args.dims, args.warmup, args.steps)
    if args.merge and out.exists():
        recs = [r for r in json.loads(out.read_text()) if r["d"] not in args.dims] + recs
        recs.sort(key=lambda r: (r["d"], r["method"] != "matrix"))
    write_json(out, recs)
    print(table(recs))
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
