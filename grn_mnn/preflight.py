"""Checks of the command line's path-like options, run before any stage does work.

A missing or unreadable file given to ``grn-mnn run | extract | score | export`` stops the
command with one :class:`~grn_mnn.errors.GrnMnnError` naming the option, the path and what
is accepted, before data are read in full or a model is trained. The functions check files
the way the later stages will read them (a reference table is parsed, an edge table is
read), so a file that passes here does not fail later for the same reason.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from .errors import ConfigError, InputError

__all__ = [
    "INPUT_FORMATS",
    "check",
    "check_gene_list",
    "check_input",
    "check_out",
    "check_reference",
]

INPUT_FORMATS = (
    "an .h5ad file, an AnnData .zarr store or a cells x genes .csv/.tsv/.txt[.gz] table "
    "with a time column"
)
_TABLE_SUFFIXES = (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz", ".txt.gz")


def _suffix(path: Path) -> str:
    return "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()


def check_input(path: str | os.PathLike, option: str = "--input", backed: bool = False) -> Path:
    """An existing data file of a format :func:`grn_mnn.readers.read_input` reads.

    With ``backed`` only ``.h5ad`` files and zarr stores are accepted (they can be streamed).
    """
    p = Path(path).expanduser()
    if not p.exists():
        raise InputError(f"{option} {p} does not exist; give {INPUT_FORMATS}")
    suffix = _suffix(p)
    if p.is_dir():
        if not ((p / ".zgroup").exists() or (p / "zarr.json").exists()):
            raise InputError(
                f"{option} {p} is a directory but not a zarr store; give {INPUT_FORMATS}"
            )
        return p
    if backed and suffix != ".h5ad":
        raise ConfigError(
            f"--backed streams an .h5ad file or a zarr store, got {option} {p}; convert the "
            "table with anndata (adata.write_h5ad) or drop --backed"
        )
    if suffix == ".h5ad":
        import h5py

        if not h5py.is_hdf5(p):
            raise InputError(f"{option} {p} is not an HDF5 file; give {INPUT_FORMATS}")
    elif suffix not in _TABLE_SUFFIXES:
        raise InputError(f"{option} {p}: unsupported format {p.suffix!r}; give {INPUT_FORMATS}")
    _readable(p, option)
    return p


def _readable(p: Path, option: str) -> None:
    try:
        with open(p, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise InputError(f"{option} {p} cannot be read ({exc.strerror or exc})") from None


def check_file(path: str | os.PathLike, option: str, what: str) -> Path:
    """An existing, readable regular file (``what`` describes the expected content)."""
    p = Path(path).expanduser()
    if not p.is_file():
        state = "is a directory" if p.is_dir() else "does not exist"
        raise InputError(f"{option} {p} {state}; give {what}")
    _readable(p, option)
    return p


def check_reference(spec: str | None, option: str = "--reference", names: tuple = ()) -> Any:
    """A reference the scoring can use: one of ``names`` (e.g. ``auto``, ``none``), a bundled
    TRRUST name, or a file that :func:`grn_mnn.reference.load_reference` parses.

    Returns the spec for ``names`` and the loaded :class:`~grn_mnn.reference.Reference`
    otherwise; raises :class:`~grn_mnn.errors.ReferenceNetworkError` naming the path and the
    accepted formats.
    """
    from .reference import load_reference

    if spec is None or str(spec).strip().lower() in names:
        return spec
    return load_reference(spec)


def check_gene_list(path: str | os.PathLike, option: str = "--sources") -> list[str]:
    """Gene names, one per line, from a text file (blank lines ignored)."""
    p = check_file(path, option, "'tf', 'all' or a text file with one gene name per line")
    try:
        names = [ln.strip() for ln in p.read_text().splitlines() if ln.strip()]
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"{option} {p} is not a text file of gene names ({exc})") from None
    if not names:
        raise InputError(f"{option} {p} is empty; list one gene name per line")
    return names


def check_out(
    out: str | os.PathLike, inputs: tuple = (), option: str = "--out", resume: bool = False
) -> Path:
    """An output directory that is not an input and can be created (or already exists).

    ``resume`` requires ``out/checkpoint.pt`` to exist.
    """
    p = Path(out).expanduser()
    for src in inputs:
        if src is not None and Path(src).expanduser().resolve() == p.resolve():
            raise InputError(f"{option} {p} is also an input; choose another output directory")
    if p.exists() and not p.is_dir():
        raise InputError(f"{option} {p} exists and is not a directory; choose another {option}")
    parent = p
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{option} {p} cannot be created: {parent} is a file, not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{option} {p} cannot be created: {parent} is not writable")
    if resume and not (p / "checkpoint.pt").is_file():
        raise InputError(
            f"--resume: there is no checkpoint {p / 'checkpoint.pt'} to continue from; run "
            "without --resume"
        )
    return p


def check(ns: argparse.Namespace) -> None:
    """Check every path-like option of a parsed ``grn-mnn`` command line (see the module)."""
    cmd = ns.command
    if cmd == "run":
        from .pipeline import BUNDLED

        backed = bool(getattr(ns, "backed", False))
        if ns.input:
            check_input(ns.input, backed=backed)
        elif backed:
            raise ConfigError("--backed streams a file: give --input FILE.h5ad (or a zarr store)")
        if ns.dataset and ns.dataset not in BUNDLED:
            raise InputError(
                f"--dataset {ns.dataset!r} is unknown; choose one of {sorted(BUNDLED)}"
            )
        check_reference(ns.reference, names=("auto", "none", "trrust"))
        if ns.sources not in ("auto", "tf", "all"):
            check_gene_list(ns.sources)
        check_out(ns.out, (ns.input,), resume=ns.resume)
    elif cmd == "extract":
        check_file(ns.model, "--model", "the model.pt written by grn-mnn run")
        check_input(ns.input)
        if ns.sources and ns.sources not in ("tf", "all"):
            check_gene_list(ns.sources)
        check_out(ns.out, (ns.model, ns.input))
    elif cmd == "score":
        check_file(ns.edges, "--edges", "a CSV with header source,target,weight")
        if ns.reference.strip().lower() in ("none", "auto"):
            raise InputError(
                f"score needs a reference, got --reference {ns.reference}; give trrust-human, "
                "trrust-mouse or the path of a reference table"
            )
        check_reference(ns.reference)
        if ns.input:
            check_input(ns.input)
        check_out(ns.out, (ns.edges, ns.input))
    elif cmd == "export":
        check_file(ns.edges, "--edges", "a CSV with header source,target,weight[,time|group]")
        check_out(ns.out, (ns.edges,))
