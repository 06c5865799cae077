"""Leave-one-time-point-out interpolation benchmark: Cell-MNN versus OT-interpolate.

Usage::

    python validation/interpolation.py [--input FILE] [--time-key KEY]
        [--embedding OBSM_KEY | --n-pcs N] [--holdout K ...] [--seeds S ...] [--out DIR]
        [--preset paper|recommended | --select inner [--candidates v1|v2|v3]] [--jobs N]

``FILE`` is an ``.npz`` with ``pcs`` and ``sample_labels`` (``eb_velocity_v5.npz``) or an
``.h5ad`` with a time column and an ``obsm`` embedding or genes (a PCA is then computed);
without ``--input`` the bundled EB subset is used, and ``--input hepatocyte_camp2017`` (or
``mesc_hayashi2018``, ``hesc_chu2016``) reads a bundled gene-level time course (PCA computed).
``K`` indexes the sorted time points (interior ones only). Writes
``interpolation_<name>.json`` and ``.md`` to ``DIR`` (default ``validation/results``).
See :mod:`grn_mnn.interpolation` for the protocol.
``--select inner`` chooses the Cell-MNN setting of every held-out point K among a fixed
candidate list by nested inner validation that never sees K
(:func:`grn_mnn.interpolation.inner_selection`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from grn_mnn import interpolation as gi
from grn_mnn._io import write_json, write_text
from grn_mnn.config import MNNConfig
from grn_mnn.errors import GrnMnnError

#: configuration fields settable from this script (value type)
OVERRIDES = {
    "max_epochs": int,
    "steps_per_epoch": int,
    "patience": int,
    "lr": float,
    "lr_schedule": str,
    "lambda_kin": float,
    "kinetic_path_points": int,
    "sigma": float,
    "gamma": float,
    "n_steps_path": int,
    "path_step": float,
    "backward_weight": float,
    "parameterization": str,
    "width": int,
    "depth": int,
    "batch_start_cells": int,
    "batch_target_cells": int,
    "time_scale": str,
    "threads": int,
    "expm": str,
}


def build_parser() -> argparse.ArgumentParser:
    """The command-line interface."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--input",
        default=None,
        help=".npz, .h5ad or a bundled time course name (default: bundled EB subset)",
    )
    p.add_argument("--time-key", default=None, help="obs column with the time (h5ad only)")
    p.add_argument("--embedding", default=None, help="obsm key of the embedding (h5ad only)")
    p.add_argument("--n-pcs", type=int, default=5, help="leading dimensions kept (default 5)")
    p.add_argument("--holdout", type=int, nargs="+", default=None, help="interior indices")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="default 0 1 2")
    p.add_argument("--out", default="validation/results", help="output directory")
    p.add_argument("--name", default=None, help="file name tag (default: from the input)")
    p.add_argument(
        "--preset",
        choices=sorted(gi.PRESETS),
        default="recommended",
        help="Cell-MNN settings: 'paper' (MNNConfig defaults) or 'recommended' (default; "
        "chosen by inner validation, see grn_mnn.interpolation.PRESETS)",
    )
    p.add_argument(
        "--select",
        choices=["none", "inner"],
        default="none",
        help="'inner': choose the setting of every held-out point among "
        "grn_mnn.interpolation.CANDIDATES by nested inner validation that never sees that "
        "point (overrides --preset; explicit --field options still apply to all candidates)",
    )
    p.add_argument(
        "--candidates",
        choices=sorted(gi.CANDIDATE_SETS),
        default="v2",
        help="candidate list of --select inner (grn_mnn.interpolation.CANDIDATE_SETS)",
    )
    p.add_argument(
        "--select-seeds", type=int, nargs="+", default=[0], help="inner model seeds (default 0)"
    )
    p.add_argument("--ensemble", type=int, default=None, help="models averaged per prediction")
    p.add_argument("--jobs", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bars or log lines")
    for name, kind in OVERRIDES.items():
        p.add_argument("--" + name.replace("_", "-"), type=kind, default=None, dest=f"cfg_{name}")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        preset = dict(gi.PRESETS[args.preset])
        ensemble = preset.pop("ensemble", 1) if args.ensemble is None else args.ensemble
        preset.pop("ensemble", None)
        over = {k[4:]: v for k, v in vars(args).items() if k.startswith("cfg_") and v is not None}
        if "time_scale" in over and over["time_scale"] != "auto":
            over["time_scale"] = float(over["time_scale"])
        candidates = None
        if args.select == "inner":
            preset = {}
            candidates = {
                n: {**c, **over, **({"ensemble": args.ensemble} if args.ensemble else {})}
                for n, c in gi.CANDIDATE_SETS[args.candidates].items()
            }
        cfg = MNNConfig().replace(**{**preset, **over})
        data = gi.read_benchmark(
            args.input, time_key=args.time_key, embedding=args.embedding, n_pcs=args.n_pcs
        )
        report = gi.run_benchmark(
            data,
            cfg,
            holdouts=args.holdout,
            seeds=args.seeds,
            ensemble=ensemble,
            jobs=args.jobs,
            progress=not args.quiet,
            log=None if args.quiet else print,
            candidates=candidates,
            select_seeds=args.select_seeds,
        )
        report["preset"] = (
            f"nested inner selection, candidates {args.candidates}" if candidates else args.preset
        )
        report["command"] = " ".join(
            ["python", "validation/interpolation.py", *(argv or sys.argv[1:])]
        )
        name = args.name or ("eb_subset" if args.input is None else Path(args.input).stem)
        out = Path(args.out)
        write_json(out / f"interpolation_{name}.json", report)
        md = write_text(out / f"interpolation_{name}.md", gi.to_markdown(report))
    except GrnMnnError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    if not args.quiet:
        print(gi.to_markdown(report))
        print(f"wrote {out / f'interpolation_{name}.json'} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
