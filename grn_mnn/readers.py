"""Reading user input files into AnnData with clear errors (h5ad, zarr, CSV/TSV)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
from anndata import AnnData

from .errors import InputError


def read_input(
    path: str | os.PathLike, *, time_key: str | None = None, backed: bool = False
) -> AnnData:
    """Read ``.h5ad``, a zarr store (``.zarr`` or any directory) or a cells x genes
    ``.csv``/``.tsv`` table into AnnData.

    For CSV/TSV the first column holds cell ids, one column (``time_key``) the time, every
    other column a gene. ``backed=True`` opens an ``.h5ad`` without loading ``X``.
    """
    import anndata as ad

    path = Path(path)
    if not path.exists():
        raise InputError(f"input file {path} does not exist; check the path")
    suffix = "".join(path.suffixes[-2:]).lower() if path.suffix == ".gz" else path.suffix.lower()
    try:
        if suffix == ".h5ad":
            return ad.read_h5ad(path, backed="r" if backed else None)
        if suffix == ".zarr" or path.is_dir():
            return ad.read_zarr(path)
        if suffix in (".csv", ".tsv", ".txt", ".csv.gz", ".tsv.gz"):
            return _read_table(
                path, time_key, sep="\t" if "tsv" in suffix or suffix == ".txt" else ","
            )
    except InputError:
        raise
    except Exception as exc:
        raise InputError(
            f"cannot read {path} as {suffix or 'data'}: {type(exc).__name__}: "
            f"{str(exc)[:200]}; is the file complete and of that format?"
        ) from None
    raise InputError(
        f"unsupported input format {path.suffix!r} for {path}; give an .h5ad, "
        ".zarr or a cells x genes .csv/.tsv with a time column"
    )


def _read_table(path: Path, time_key: str | None, sep: str) -> AnnData:
    df = pd.read_csv(path, sep=sep, index_col=0)
    if df.empty:
        raise InputError(f"{path} holds no rows")
    if time_key is None or time_key not in df.columns:
        raise InputError(
            f"{path}: the table needs a time column named by --time-key (got "
            f"{time_key!r}); columns start with {list(df.columns[:8])}"
        )
    obs = df[[time_key]].copy()
    genes = df.drop(columns=[time_key])
    non_num = [c for c in genes.columns if not pd.api.types.is_numeric_dtype(genes[c])]
    if non_num:
        raise InputError(
            f"{path}: columns {non_num[:5]} are not numeric; every column other "
            f"than the cell id and {time_key!r} must be a gene's expression"
        )
    adata = AnnData(genes.to_numpy(dtype=np.float64), obs=obs)
    adata.obs_names = df.index.astype(str)
    adata.var_names = genes.columns.astype(str)
    return adata
