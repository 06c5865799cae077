"""Atomic file output and provenance helpers shared by every writer.

Everything grn_mnn writes goes through :func:`atomic_path`: the content is written to a
temporary file in the destination directory and renamed over the target only when it is
complete, so an interrupted run never leaves a truncated file behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from .errors import InputError, OutputExistsError


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` on success.

    Parameters
    ----------
    path
        Final destination.
    suffix
        Suffix of the temporary file (some writers dispatch on the extension).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent
    )
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp_path, 0o666 & ~umask)  # mkstemp creates 0600; use the usual file mode
        with open(tmp_path, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_text(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path`` atomically and return the path."""
    with atomic_path(path) as tmp:
        tmp.write_text(text)
    return Path(path)


def _json_default(obj: Any) -> Any:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    """Write ``obj`` as indented JSON atomically (NaN written as ``null``)."""
    text = json.dumps(_nan_to_none(obj), indent=2, default=_json_default, allow_nan=False)
    return write_text(path, text + "\n")


def _nan_to_none(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {str(k): _nan_to_none(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_nan_to_none(v) for v in obj]
    if isinstance(obj, float | np.floating) and not np.isfinite(obj):
        return None
    return obj


def write_csv(
    path: str | os.PathLike, df, float_format: str = "%.6g", exact: tuple[str, ...] = ("time",)
) -> Path:
    """Write a DataFrame as CSV atomically, without the index.

    Floats are written with ``float_format``, except the columns in ``exact`` (times), which are
    written with full precision so they match the data's time points when read back.
    """
    cols = [c for c in exact if c in df.columns]
    if cols:
        df = df.copy()
        for c in cols:
            df[c] = [repr(float(v)) for v in df[c]]
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, float_format=float_format, lineterminator="\n")
    return Path(path)


def file_sha256(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """Return the hex SHA-256 checksum of a file."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
    return h.hexdigest()


def prepare_outdir(out: str | os.PathLike, overwrite: bool, markers: tuple[str, ...]) -> Path:
    """Create ``out``; refuse if it already holds any of ``markers`` unless ``overwrite``.

    Raises
    ------
    OutputExistsError
        When results are present and ``overwrite`` is false.
    InputError
        When ``out`` exists and is not a directory.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise InputError(f"output path {out} exists and is not a directory; choose another --out")
    present = [m for m in markers if (out / m).exists()]
    if present and not overwrite:
        raise OutputExistsError(
            f"output directory {out} already holds results ({', '.join(present)}); "
            "pass --overwrite (overwrite=True) to replace them or choose another --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    return out
