"""Build the TRRUST v2 TF -> target gene sets (GMT) shipped in data/gene_sets/.

Usage (from the repository root)::

    python data/gene_sets/make_gmt.py          # (re)write trrust_human.gmt, trrust_mouse.gmt
    python data/gene_sets/make_gmt.py --check  # exit 1 if the shipped files differ

Input: ``data/trrust/trrust_rawdata.{human,mouse}.tsv`` (TRRUST v2, no header: TF, target,
mode, PMIDs). One gene set per TF with at least ``MIN_TARGETS`` distinct targets, all modes
(Activation, Repression, Unknown) pooled. Set name = TF symbol in upper case; genes =
distinct target symbols in upper case, sorted; sets sorted by name. The output is a pure
function of the input files (no dates, no randomness), so re-running reproduces the shipped
files byte for byte.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRRUST_DIR = HERE.parent / "trrust"
SPECIES = ("human", "mouse")
MIN_TARGETS = 3


def build_gmt(tsv_path: str | Path, species: str, min_targets: int = MIN_TARGETS) -> str:
    """Return the GMT text for one TRRUST raw-data file.

    Parameters
    ----------
    tsv_path
        ``trrust_rawdata.<species>.tsv``.
    species
        ``"human"`` or ``"mouse"`` (used in the description column).
    min_targets
        Keep TFs with at least this many distinct (upper-cased) targets.

    Returns
    -------
    str
        Lines ``TF<TAB>description<TAB>target<TAB>...`` ending with a newline.
    """
    targets: dict[str, set[str]] = defaultdict(set)
    modes: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    original: dict[str, str] = {}
    with open(tsv_path, newline="") as fh:
        for lineno, row in enumerate(csv.reader(fh, delimiter="\t"), start=1):
            if not row:
                continue
            if len(row) < 3:
                raise ValueError(f"{tsv_path}:{lineno}: expected TF, target, mode, PMIDs")
            tf, target, mode = row[0].strip(), row[1].strip(), row[2].strip()
            if not tf or not target:
                continue
            key = tf.upper()
            original.setdefault(key, tf)
            targets[key].add(target.upper())
            modes[key][mode].add(target.upper())
    lines = []
    for tf in sorted(targets):
        genes = sorted(targets[tf])
        if len(genes) < min_targets:
            continue
        counts = ", ".join(
            f"{m.lower()} {len(modes[tf][m])}"
            for m in ("Activation", "Repression", "Unknown")
            if modes[tf].get(m)
        )
        desc = f"TRRUST v2 {species} {original[tf]}: {len(genes)} targets ({counts})"
        lines.append("\t".join([tf, desc, *genes]))
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    status = 0
    for species in SPECIES:
        text = build_gmt(TRRUST_DIR / f"trrust_rawdata.{species}.tsv", species)
        out = HERE / f"trrust_{species}.gmt"
        n_sets = text.count("\n")
        if args.check:
            same = out.exists() and out.read_text() == text
            print(f"{out.name}: {'up to date' if same else 'DIFFERS'} ({n_sets} sets)")
            status |= 0 if same else 1
        else:
            tmp = out.with_name(f".{out.name}.tmp")
            tmp.write_text(text)
            tmp.replace(out)
            print(f"wrote {out} ({n_sets} sets)")
    return status


if __name__ == "__main__":
    sys.exit(main())
