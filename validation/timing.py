"""Where inside a gap do the held-out snapshots lie, and where does Cell-MNN put them?

Usage::

    python validation/timing.py [--input FILE] [--holdout K ...] [--seeds S ...] [--jobs N]
        [--out DIR]

Four diagnostics of the interpolation benchmark (none chooses anything):

0. Exact W1 between consecutive snapshots beside its permutation null (random splits of the pooled
   cells at the same sizes, :func:`grn_mnn.gaps.snapshot_separation`): how far the cells
   moved between two snapshots compared with the W1 of two samples of one population.
1. OT-interpolate between the neighbours of each held-out point evaluated at several fractions
   of the way (0 = the previous snapshot, 1 = the next one), scored with exact W1 against the real
   held-out cells: the fraction with the lowest W1 says where the snapshot really lies.
2. For Cell-MNN trained without the held-out point (paper settings, the recommended preset and the
   fixed-grid refresh of candidate list v3), the median fraction of each pushed cell's
   (previous -> next) displacement that it has covered at the held-out time
   (:func:`grn_mnn.gaps.path_fraction`): the timing the model assumes.
3. For the same models, the W1 against the real held-out cells of the previous cells pushed to
   other fractions of the gap (:func:`grn_mnn.gaps.push_fraction_scan`): is a poor
   interpolation the map (high everywhere) or the timing (low at another fraction)? It reads the
   held-out cells, so it is reported and never used to choose.

Writes ``timing_<name>.json`` and ``.md`` to ``DIR`` (default ``validation/results``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from grn_mnn import gaps
from grn_mnn import interpolation as gi
from grn_mnn._io import write_json, write_text
from grn_mnn.config import MNNConfig
from grn_mnn.errors import GrnMnnError

FRACTIONS = (0.0, 0.25, 0.5, 0.625, 0.75, 0.875, 1.0)

#: Cell-MNN settings whose timing is measured (one model per seed each)
SETTINGS = {
    "paper": {},
    "recommended": gi.PRESETS["recommended"],
    "v3 h05": gi.CANDIDATE_SETS["v3"]["h05"],
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--input", default=None, help=".npz or .h5ad (default: bundled EB subset)")
    p.add_argument("--time-key", default=None, help="obs column with the time (h5ad only)")
    p.add_argument("--embedding", default=None, help="obsm key of the embedding (h5ad only)")
    p.add_argument("--n-pcs", type=int, default=5, help="leading dimensions kept (default 5)")
    p.add_argument("--holdout", type=int, nargs="+", default=None, help="interior indices")
    p.add_argument("--seeds", type=int, nargs="+", default=[0], help="Cell-MNN seeds (default 0)")
    p.add_argument("--max-epochs", type=int, default=None, help="override (for quick runs)")
    p.add_argument(
        "--n-perm", type=int, default=20, help="permutation draws of the separation null (20)"
    )
    p.add_argument("--out", default="validation/results", help="output directory")
    p.add_argument("--name", default=None, help="file name tag (default: from the input)")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    return p


def to_markdown(report: dict) -> str:
    """Tables: snapshot separation; OT-interpolate W1 by fraction; Cell-MNN median path
    fraction and W1 by fraction, per setting."""
    fr = report["fractions"]
    lines = [
        f"Consecutive snapshots ({report['source']}): exact W1 beside its permutation null "
        f"(W1 of random splits of the pooled cells at the same sizes, {report['n_perm']} draws):",
        "",
        "| from | to | W1 | null mean ± std | null max | p |",
        "|---|---|---|---|---|---|",
    ]
    for r in report["separation"]:
        lines.append(
            f"| {r['from']:g} | {r['to']:g} | {r['w1']:.3f} | {r['null_mean']:.3f} ± "
            f"{r['null_std']:.3f} | {r['null_max']:.3f} | {r['p_value']:.3f} |"
        )
    lines += [
        "",
        f"Timing inside the gaps ({report['source']}). W1 of OT-interpolate between the "
        "neighbours at each fraction of the way (0.5 is the benchmark baseline):",
        "",
        "| held-out | " + " | ".join(f"{f:g}" for f in fr) + " | best |",
        "|---" * (len(fr) + 2) + "|",
    ]
    for k, row in report["ot_scan"].items():
        best = min(row, key=row.get)
        cells = " | ".join(f"{row[f]:.3f}" for f in row)
        lines.append(f"| {k} | {cells} | {best} |")
    lines += [
        "",
        "Median fraction of the (previous -> next) displacement that Cell-MNN's pushed cells "
        "have covered at the held-out time (0.5 = constant speed), over seeds "
        f"{report['seeds']} (min-max of the per-seed medians):",
        "",
        "| setting | " + " | ".join(f"held-out {k}" for k in report["ot_scan"]) + " |",
        "|---" * (len(report["ot_scan"]) + 1) + "|",
    ]
    for name, per in report["cellmnn"].items():
        cells = []
        for k in report["ot_scan"]:
            m = per[k]
            cells.append(f"{np.mean(m):.2f} ({min(m):.2f}-{max(m):.2f})")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "W1 against the real held-out cells of Cell-MNN's pushed cells at each fraction of the "
        "gap (mean over seeds; the held-out time is 0.5 for equally spaced points). A "
        "diagnostic that reads the held-out cells: it chose nothing.",
        "",
        "| setting | held-out | " + " | ".join(f"{f:g}" for f in fr) + " | best |",
        "|---" * (len(fr) + 3) + "|",
    ]
    for name, per in report["cellmnn_scan"].items():
        for k, runs in per.items():
            mean = {f: float(np.mean([r[f] for r in runs])) for f in runs[0]}
            best = min(mean, key=mean.get)
            cells = " | ".join(f"{v:.3f}" for v in mean.values())
            lines.append(f"| {name} | {k} | {cells} | {best:g} |")
    return "\n".join(lines) + "\n"


def _timing_run(
    data: gi.BenchmarkData, cfg: MNNConfig, k: int, seed: int
) -> tuple[float, dict[float, float]]:
    """One model trained without point ``k``: its median path fraction and W1 by fraction."""
    import torch

    from grn_mnn.train import Snapshots, fit

    torch.set_num_threads(cfg.threads)
    t_prev, t_k, t_next, held = gi.holdout_task(data, k)
    z0, real = data.z[data.t == t_prev], data.z[data.t == t_k]
    res = fit(Snapshots(data.z, data.t), cfg.replace(seed=seed), holdout_times=held, progress=False)
    med = float(np.median(gaps.path_fraction(res.module, z0, t_prev, t_k, t_next)))
    return med, gaps.push_fraction_scan(res.module, z0, t_prev, t_next, real, FRACTIONS)


def main(argv: list[str] | None = None) -> int:
    """Run the diagnostics; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        data = gi.read_benchmark(
            args.input, time_key=args.time_key, embedding=args.embedding, n_pcs=args.n_pcs
        )
        holdouts = data.interior() if args.holdout is None else args.holdout
        report: dict = {
            "source": data.source,
            "fractions": list(FRACTIONS),
            "seeds": list(args.seeds),
            "n_perm": int(args.n_perm),
            "separation": gaps.snapshot_separation(data, n_perm=args.n_perm),
            "ot_scan": {},
            "cellmnn": {},
            "cellmnn_scan": {},
            "command": " ".join(["python", "validation/timing.py", *(argv or sys.argv[1:])]),
        }
        for k in holdouts:
            report["ot_scan"][int(k)] = gaps.ot_fraction_scan(data, k, FRACTIONS)
        jobs = []
        for name, over in SETTINGS.items():
            cfg, _ = gi._split_candidate(MNNConfig(n_pcs=int(data.z.shape[1])), over)
            if args.max_epochs is not None:
                cfg = cfg.replace(max_epochs=args.max_epochs)
            jobs += [(name, cfg, int(k), int(s)) for k in holdouts for s in args.seeds]
        if args.jobs <= 1:
            outs = [_timing_run(data, *job[1:]) for job in jobs]
        else:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor

            with ProcessPoolExecutor(args.jobs, mp_context=mp.get_context("spawn")) as pool:
                args_list = [(data, *j[1:]) for j in jobs]
                outs = list(pool.map(_timing_run, *zip(*args_list, strict=True)))
        for (name, _, k, _), (med, scan) in zip(jobs, outs, strict=True):
            report["cellmnn"].setdefault(name, {}).setdefault(k, []).append(med)
            report["cellmnn_scan"].setdefault(name, {}).setdefault(k, []).append(scan)
        if not args.quiet:
            for name, per in report["cellmnn"].items():
                for k, meds in per.items():
                    print(f"{name}: held-out {k} median path fraction {meds}", flush=True)
        name = args.name or ("eb_subset" if args.input is None else Path(args.input).stem)
        out = Path(args.out)
        write_json(out / f"timing_{name}.json", report)
        md = write_text(out / f"timing_{name}.md", to_markdown(report))
    except GrnMnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if not args.quiet:
        print(to_markdown(report))
        print(f"wrote {out / f'timing_{name}.json'} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
