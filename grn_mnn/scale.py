"""Out-of-core data for Cell-MNN: chunked PCA of backed ``.h5ad`` / zarr stores, latent z on disk.

Memory here does not grow with the number of cells beyond O(cells) scalars (times and
library sizes): the expression matrix is read ``chunk_size`` rows at a time, the latent
coordinates are written chunk by chunk to a ``.npy`` file (or a zarr array) and training reads
its batches from there.

:func:`prepare_backed` stores the mapping exactly as :func:`grn_mnn.pp.prepare` does
(``genes``, ``gene_index``, ``loadings`` (genes x d, orthonormal), ``gene_mean``, ``pc_scale``,
``times``, ``time_key``, ``time_unit``, ``n_pcs``, ``transform``, ``layer``), so that
``z = S^-1 W^T (x - mu)`` and extraction (J = W S A S^-1 W^T) work unchanged. Two PCA methods:

* ``"covariance"``: the gene covariance is accumulated chunk by chunk (memory genes^2) and
  diagonalised; the loadings equal the in-memory PCA of :func:`grn_mnn.pp.prepare`;
* ``"incremental"``: scikit-learn's :class:`~sklearn.decomposition.IncrementalPCA` (memory
  genes x d); an approximation whose subspace agrees with the exact one when the spectrum has
  a gap after d.

``.npy`` latents are read by :class:`NpyRows` with positioned reads (``os.pread``), not a
memory map, so pages of the file never count towards the process's resident memory.
:func:`inflate` generates the paper's inflated data sets (noisy copies of real cells, noise
standard deviation 0.1 on the z-scored PCs) chunk by chunk.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
import scipy.sparse as sp

from ._io import atomic_path
from .errors import ConfigError, InputError, OutputExistsError
from .pp import COUNTS_TRANSFORM, check_time_points, check_values, detect_kind
from .train import Snapshots, take_rows

#: elements of one dense float64 expression chunk when ``chunk_size`` is automatic (128 MB)
CHUNK_ELEMENTS = 1 << 24
#: gene panels up to this size use the exact covariance PCA under ``method="auto"``
COVARIANCE_MAX_GENES = 4000


# ----------------------------------------------------------------------------- .npy rows on disk
class NpyRows:
    """Read-only row access to a 2-d C-ordered ``.npy`` file with positioned reads.

    ``rows[idx]`` (integer array, slice or int) returns a new in-memory array; nothing is
    memory-mapped, so resident memory stays independent of the file size.

    Parameters
    ----------
    path
        A ``.npy`` file holding a 2-d little-endian float32/float64 array in C order.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise InputError(f"latent file {self.path} does not exist; write it first")
        with open(self.path, "rb") as fh:
            try:
                version = np.lib.format.read_magic(fh)
                read_header = (
                    np.lib.format.read_array_header_1_0
                    if version == (1, 0)
                    else np.lib.format.read_array_header_2_0
                )
                shape, fortran, dtype = read_header(fh)
            except ValueError as exc:
                raise InputError(f"{self.path} is not a .npy file ({exc})") from None
            self._offset = fh.tell()
        if len(shape) != 2 or fortran or dtype not in (np.float32, np.float64):
            raise InputError(
                f"{self.path} must hold a 2-d C-ordered float32/float64 array, got shape "
                f"{shape}, fortran_order={fortran}, dtype {dtype}; rewrite it with np.save"
            )
        self.shape: tuple[int, int] = (int(shape[0]), int(shape[1]))
        self.dtype = np.dtype(dtype)
        self._row = self.shape[1] * self.dtype.itemsize
        self._fd = os.open(self.path, os.O_RDONLY)

    def __len__(self) -> int:
        return self.shape[0]

    def _read(self, start: int, stop: int) -> np.ndarray:
        n = stop - start
        buf = os.pread(self._fd, n * self._row, self._offset + start * self._row)
        return np.frombuffer(buf, dtype=self.dtype).reshape(n, self.shape[1])

    def __getitem__(self, key: Any) -> np.ndarray:
        if isinstance(key, slice):
            start, stop, step = key.indices(self.shape[0])
            block = self._read(start, max(stop, start)) if step == 1 else None
            return block.copy() if block is not None else self[np.arange(start, stop, step)]
        if isinstance(key, int | np.integer):
            i = int(key) + (self.shape[0] if key < 0 else 0)
            return self[np.asarray([i])][0]
        idx = np.asarray(key, dtype=np.int64).ravel()
        if len(idx) and (idx.min() < 0 or idx.max() >= self.shape[0]):
            raise IndexError(f"row index out of range for {self.shape[0]} rows")
        out = np.empty((len(idx), self.shape[1]), dtype=self.dtype)
        if len(idx) == 0:
            return out
        order = np.argsort(idx, kind="stable")
        srt = idx[order]
        # one read per run of consecutive rows
        breaks = np.flatnonzero(np.diff(srt) != 1) + 1
        starts = np.concatenate([[0], breaks])
        stops = np.concatenate([breaks, [len(srt)]])
        for a, b in zip(starts, stops, strict=True):
            out[order[a:b]] = self._read(int(srt[a]), int(srt[b - 1]) + 1)
        return out

    def close(self) -> None:
        """Close the file descriptor."""
        if getattr(self, "_fd", None) is not None:
            os.close(self._fd)
            self._fd = None

    def __del__(self) -> None:
        self.close()

    def __getstate__(self) -> dict[str, Any]:
        return {"path": str(self.path)}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["path"])

    def __repr__(self) -> str:
        return f"NpyRows({str(self.path)!r}, shape={self.shape}, dtype={self.dtype})"


class _NpyWriter:
    """Sequential writer of a 2-d ``.npy`` file of known shape (plain writes, no memory map)."""

    def __init__(self, fh: Any, n: int, d: int, dtype: np.dtype) -> None:
        header = {
            "descr": np.lib.format.dtype_to_descr(np.dtype(dtype)),
            "fortran_order": False,
            "shape": (int(n), int(d)),
        }
        np.lib.format.write_array_header_2_0(fh, header)
        self.fh, self.dtype, self.n, self.written = fh, np.dtype(dtype), n, 0

    def write(self, rows: np.ndarray) -> None:
        self.fh.write(np.ascontiguousarray(rows, dtype=self.dtype).tobytes())
        self.written += len(rows)


def _check_out(path: Path, overwrite: bool) -> None:
    if path.exists() and not overwrite:
        raise OutputExistsError(
            f"{path} already exists; pass overwrite=True (--overwrite) or choose another path"
        )
    if path.suffix not in (".npy", ".zarr"):
        raise ConfigError(f"latent path {path} must end in .npy or .zarr")


def open_latent(path: str | os.PathLike, t: np.ndarray, dataset: int = 0) -> Snapshots:
    """Snapshots over a latent array on disk (``.npy`` via :class:`NpyRows`, or ``.zarr``).

    Parameters
    ----------
    path
        The latent file written by :func:`prepare_backed` or :func:`write_inflated`.
    t
        Time of every cell (in memory, one float per cell).
    dataset
        Data-set id for joint training.
    """
    path = Path(path)
    if path.suffix == ".zarr":
        import zarr

        if not path.exists():
            raise InputError(f"latent store {path} does not exist; write it first")
        z: Any = zarr.open_array(str(path), mode="r")
    else:
        z = NpyRows(path)
    if z.shape[0] != len(t):
        raise InputError(f"{path} has {z.shape[0]} rows but {len(t)} times were given")
    return Snapshots(z, np.asarray(t, dtype=np.float64), dataset)


# ----------------------------------------------------------------------------- inflation
def inflate(
    z: np.ndarray,
    t: np.ndarray,
    factor: float,
    noise: float = 0.1,
    seed: int = 0,
    chunk_size: int = 65536,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Yield the paper's inflated data set chunk by chunk: noisy copies of real cells.

    Output row ``i`` is real cell ``i mod n`` plus independent N(0, noise^2) noise on every
    coordinate; ``round(factor * n)`` rows in total. The noise of chunk k is drawn from
    ``default_rng([seed, k])``, so the result depends only on ``seed`` and ``chunk_size``.

    Parameters
    ----------
    z
        Real cells (n, d), typically z-scored PCs.
    t
        Their times (n,).
    factor
        Inflation factor (> 0), e.g. ``1e6 / n`` for one million cells.
    noise
        Standard deviation of the Gaussian noise added to each coordinate.
    seed
        Seed of the noise.
    chunk_size
        Rows per yielded chunk.

    Yields
    ------
    ``(z_chunk float32 (rows, d), t_chunk float64 (rows,))``.
    """
    z = np.asarray(z, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if z.ndim != 2 or len(z) != len(t) or len(z) == 0:
        raise InputError(f"need z (n, d) and t (n,) with n > 0, got {z.shape} and {t.shape}")
    if not factor > 0 or noise < 0 or chunk_size < 1:
        raise ConfigError(
            f"need factor > 0, noise >= 0 and chunk_size >= 1, got {factor}, {noise}, {chunk_size}"
        )
    n_out = int(round(factor * len(z)))
    for k, start in enumerate(range(0, n_out, chunk_size)):
        src = np.arange(start, min(start + chunk_size, n_out)) % len(z)
        rng = np.random.default_rng([seed, k])
        zc = z[src] + noise * rng.standard_normal((len(src), z.shape[1]))
        yield zc.astype(np.float32), t[src]


def write_inflated(
    path: str | os.PathLike,
    z: np.ndarray,
    t: np.ndarray,
    factor: float,
    noise: float = 0.1,
    seed: int = 0,
    chunk_size: int = 65536,
    overwrite: bool = False,
) -> Snapshots:
    """Write :func:`inflate` output to ``path`` (``.npy``) in chunks; return Snapshots over it.

    The file is a standard ``.npy`` (``np.load(path, mmap_mode="r")`` opens it as a memmap);
    it is written with plain sequential writes and renamed into place when complete.
    """
    path = Path(path)
    _check_out(path, overwrite)
    if path.suffix != ".npy":
        raise ConfigError(f"inflated data are written as .npy, got {path}")
    n_out = int(round(factor * len(z)))
    times = np.empty(n_out)
    with atomic_path(path, suffix=".npy") as tmp, open(tmp, "wb") as fh:
        w = _NpyWriter(fh, n_out, np.asarray(z).shape[1], np.float32)
        for zc, tc in inflate(z, t, factor, noise, seed, chunk_size):
            times[w.written : w.written + len(zc)] = tc
            w.write(zc)
    return open_latent(path, times)


# ----------------------------------------------------------------------------- backed input
def _open_group(source: Any) -> tuple[Any, Any]:
    """(group, closer) for an .h5ad path, a zarr store path, or a backed AnnData."""
    from anndata import AnnData

    if isinstance(source, AnnData):
        if not source.isbacked:
            raise InputError(
                "prepare_backed needs an .h5ad path, a zarr store or an AnnData opened "
                "with backed='r'; for in-memory data use grn_mnn.pp.prepare"
            )
        source = source.filename
    path = Path(source)
    if not path.exists():
        raise InputError(f"input {path} does not exist")
    if path.is_dir():
        import zarr

        try:
            g = zarr.open_group(str(path), mode="r")
        except Exception as exc:
            raise InputError(f"{path} is not a zarr store written by AnnData ({exc})") from None
        return g, None
    import h5py

    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise InputError(f"{path} is not a readable .h5ad file ({exc})") from None
    return f, f


def _matrix(group: Any, layer: str | None) -> Any:
    from anndata.io import sparse_dataset

    if layer is None:
        if "X" not in group:
            raise InputError("the store has no X matrix; pass layer= to use a layer")
        elem = group["X"]
    else:
        layers = list(group["layers"].keys()) if "layers" in group else []
        if layer not in layers:
            raise InputError(f"layer {layer!r} not found; available layers: {layers}")
        elem = group["layers"][layer]
    if hasattr(elem, "keys"):  # sparse matrices are groups (data, indices, indptr)
        return sparse_dataset(elem)
    return elem


def _dense(block: Any) -> np.ndarray:
    if sp.issparse(block):
        return np.asarray(block.toarray(), dtype=np.float64)
    return np.asarray(block, dtype=np.float64)


def _bounds(n: int, size: int, min_last: int) -> list[tuple[int, int]]:
    """Chunk boundaries; a last chunk smaller than ``min_last`` is merged into the previous."""
    starts = list(range(0, n, size))
    if len(starts) > 1 and n - starts[-1] < min_last:
        starts.pop()
    return [(s, starts[i + 1] if i + 1 < len(starts) else n) for i, s in enumerate(starts)]


def _orient(w: np.ndarray) -> np.ndarray:
    """Orthonormalise the columns and make the largest-magnitude entry of each positive."""
    q, r = np.linalg.qr(w)
    q = q * np.where(np.diag(r) < 0, -1.0, 1.0)
    return q * np.sign(q[np.abs(q).argmax(axis=0), np.arange(q.shape[1])])


def prepare_backed(
    source: str | os.PathLike | Any,
    latent_path: str | os.PathLike,
    time_key: str = "time",
    n_pcs: int = 5,
    *,
    layer: str | None = None,
    data_kind: Literal["auto", "counts", "log"] = "auto",
    method: Literal["auto", "covariance", "incremental"] = "auto",
    chunk_size: int | None = None,
    time_order: dict[Any, float] | None = None,
    time_unit: str | None = None,
    min_cells_per_time: int = 3,
    overwrite: bool = False,
    progress: bool = False,
) -> tuple[Snapshots, dict[str, Any]]:
    """Chunked PCA of an on-disk AnnData; z-scored PCs written chunk by chunk to disk.

    Parameters
    ----------
    source
        An ``.h5ad`` path, an AnnData zarr store (directory) or an AnnData opened with
        ``backed="r"``. X (or ``layer``) may be dense or sparse (CSR).
    latent_path
        Where z goes: ``*.npy`` (read back with :class:`NpyRows`) or ``*.zarr``.
    time_key, n_pcs, layer, data_kind, time_order, time_unit, min_cells_per_time
        As in :func:`grn_mnn.pp.prepare`.
    method
        ``"covariance"`` (exact, genes^2 memory), ``"incremental"`` (IncrementalPCA) or
        ``"auto"`` (covariance up to 4,000 genes).
    chunk_size
        Cells per chunk; default keeps a dense float64 chunk near 128 MB.
    overwrite
        Replace an existing ``latent_path``.
    progress
        Show a tqdm bar per pass.

    Returns
    -------
    ``(snapshots, mapping)``: :class:`~grn_mnn.train.Snapshots` whose ``z`` lives on disk, and
    the mapping with the keys of ``adata.uns['grn_mnn']`` written by :func:`grn_mnn.pp.prepare`
    (plus ``pca_method``, ``n_cells``, ``latent_path``).
    """
    from anndata.io import read_elem

    from .pp import parse_times

    latent_path = Path(latent_path)
    _check_out(latent_path, overwrite)
    if data_kind not in ("auto", "counts", "log"):
        raise ConfigError(f"data_kind must be 'auto', 'counts' or 'log', got {data_kind!r}")
    if method not in ("auto", "covariance", "incremental"):
        raise ConfigError(f"method must be 'auto', 'covariance' or 'incremental', got {method!r}")
    group, closer = _open_group(source)
    try:
        from anndata import AnnData

        obs = read_elem(group["obs"])
        var = read_elem(group["var"])
        x = _matrix(group, layer)
        n, n_genes = x.shape
        if n == 0 or n_genes == 0:
            raise InputError(f"the input is empty ({n} cells x {n_genes} genes)")
        if var.index.has_duplicates:
            raise InputError(
                "duplicated gene names in var_names; make them unique before grn_mnn "
                "(adata.var_names_make_unique())"
            )
        shell = AnnData(obs=obs)
        t = parse_times(shell, time_key, time_order)
        times = check_time_points(t, 2, min_cells_per_time)
        unit = time_unit
        if unit is None and "uns" in group and "time_unit" in group["uns"]:
            unit = str(read_elem(group["uns"]["time_unit"]))
        cs = int(chunk_size) if chunk_size else max(256, CHUNK_ELEMENTS // n_genes)
        chunks = _bounds(n, max(cs, n_pcs + 1), n_pcs + 1)
        out = _stream_pca(x, chunks, n_pcs, data_kind, method, latent_path, overwrite, progress)
    finally:
        if closer is not None:
            closer.close()
    genes = np.asarray(var.index.astype(str))
    keep = out["keep"]
    mapping = {
        "genes": genes[keep].tolist(),
        "gene_index": np.flatnonzero(keep).tolist(),
        "loadings": out["loadings"],
        "gene_mean": out["gene_mean"],
        "pc_scale": out["pc_scale"],
        "explained_variance_ratio": out["evr"],
        "times": times.astype(float),
        "time_key": time_key,
        "time_unit": str(unit or "unknown"),
        "n_pcs": int(n_pcs),
        "transform": out["transform"],
        "layer": layer or "X",
        "n_constant_genes_dropped": int((~keep).sum()),
        "n_top_genes": None,
        "pca_method": out["method"],
        "n_cells": int(n),
        "latent_path": str(latent_path),
    }
    return open_latent(latent_path, t), mapping


def _stream_pca(
    x: Any,
    chunks: Sequence[tuple[int, int]],
    n_pcs: int,
    data_kind: str,
    method: str,
    latent_path: Path,
    overwrite: bool,
    progress: bool,
) -> dict[str, Any]:
    """Three passes over ``x``: checks and gene ranges, PCA, scores (written to disk)."""
    from tqdm.auto import tqdm

    n, n_genes = x.shape

    def passes(desc: str) -> Iterator[tuple[int, int, np.ndarray]]:
        for a, b in tqdm(chunks, desc=desc, disable=not progress, leave=False):
            yield a, b, _dense(x[a:b])

    # pass 1: value checks, data kind, library sizes and per-gene ranges after normalisation
    kind = data_kind
    libs = np.empty(n)
    lo = np.full(n_genes, np.inf)
    hi = np.full(n_genes, -np.inf)
    for a, b, xc in passes("check"):
        check_values(xc, "log" if kind == "auto" else kind)
        if kind == "auto":
            kind = detect_kind(xc)
        libs[a:b] = xc.sum(axis=1)
        if kind == "counts":
            if np.any(libs[a:b] == 0):
                raise InputError(
                    "some cells have zero total counts; filter them out "
                    "(sc.pp.filter_cells(adata, min_counts=1))"
                )
            xc = xc / libs[a:b, None]
        np.minimum(lo, xc.min(axis=0), out=lo)
        np.maximum(hi, xc.max(axis=0), out=hi)
    keep = hi > lo
    if not keep.any():
        raise InputError("every gene is constant (e.g. all zero); nothing to learn from")
    g = int(keep.sum())
    if not 2 <= n_pcs <= min(n - 1, g):
        raise ConfigError(
            f"n_pcs={n_pcs} is not possible for {n} cells x {g} genes "
            f"(allowed 2..{min(n - 1, g)}); lower --n-pcs"
        )
    med = float(np.median(libs)) if kind == "counts" else 1.0
    del libs

    def transformed(desc: str) -> Iterator[tuple[int, int, np.ndarray]]:
        for a, b, xc in passes(desc):
            xc = xc[:, keep]
            if kind == "counts":
                xc = np.log1p(xc / xc.sum(axis=1, keepdims=True) * med)
            yield a, b, xc

    # pass 2: PCA
    if method == "auto":
        method = "covariance" if g <= COVARIANCE_MAX_GENES else "incremental"
    if method == "covariance":
        shift = None
        s1 = np.zeros(g)
        s2 = np.zeros((g, g))
        for _, _, xc in transformed("covariance"):
            if shift is None:
                shift = xc.mean(axis=0)  # shifted sums avoid cancellation
            xs = xc - shift
            s1 += xs.sum(axis=0)
            s2 += xs.T @ xs
        m1 = s1 / n
        mu = shift + m1
        cov = s2 / n - np.outer(m1, m1)
        evals, evecs = np.linalg.eigh(cov)
        order = np.argsort(evals)[::-1][:n_pcs]
        w = _orient(evecs[:, order])
        total = float(np.trace(cov))
        evr = evals[order] / total if total > 0 else np.zeros(n_pcs)
    else:
        from sklearn.decomposition import IncrementalPCA

        ipca = IncrementalPCA(n_components=n_pcs)
        for _, _, xc in transformed("incremental PCA"):
            ipca.partial_fit(xc)
        mu = np.asarray(ipca.mean_, dtype=np.float64)
        w = _orient(np.asarray(ipca.components_, dtype=np.float64).T)
        evr = np.asarray(ipca.explained_variance_ratio_, dtype=np.float64)

    # pass 3: scores written chunk by chunk (float64); then divided by their standard deviation
    sum1 = np.zeros(n_pcs)
    sum2 = np.zeros(n_pcs)
    writer = _LatentWriter(latent_path, n, n_pcs, overwrite)
    with writer:
        for a, b, xc in transformed("scores"):
            s = (xc - mu) @ w
            sum1 += s.sum(axis=0)
            sum2 += (s**2).sum(axis=0)
            writer.write(a, b, s)
        mean = sum1 / n
        scale = np.sqrt(np.maximum(sum2 / n - mean**2, 0.0))
        scale[scale == 0] = 1.0
        writer.rescale(scale, chunks)
    return {
        "keep": keep,
        "loadings": w,
        "gene_mean": mu,
        "pc_scale": scale,
        "evr": evr,
        "transform": COUNTS_TRANSFORM if kind == "counts" else "none",
        "method": method,
    }


class _LatentWriter:
    """Write (n, d) rows to a temporary ``.npy`` file or zarr store, then publish it.

    The unscaled scores are kept in float64 (a scratch file of n x d doubles) and
    :meth:`rescale` writes ``scores / scale`` rounded to float32 once, exactly as the
    in-memory preparation rounds them, so both give bitwise the same training input.
    """

    def __init__(self, path: Path, n: int, d: int, overwrite: bool) -> None:
        self.path, self.n, self.d, self.overwrite = path, n, d, overwrite
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent)) / path.name
        self.zarr = path.suffix == ".zarr"

    def __enter__(self) -> _LatentWriter:
        self.raw = open(self.tmp.parent / "raw.f8", "w+b")
        return self

    def write(self, a: int, b: int, rows: np.ndarray) -> None:
        self.raw.write(np.ascontiguousarray(rows, dtype=np.float64).tobytes())

    def rescale(self, scale: np.ndarray, chunks: Sequence[tuple[int, int]]) -> None:
        """Write every row divided by ``scale`` as float32 (chunk by chunk)."""
        self.raw.flush()
        fd = self.raw.fileno()

        def scaled(a: int, b: int) -> np.ndarray:
            block = np.frombuffer(os.pread(fd, (b - a) * self.d * 8, a * self.d * 8), np.float64)
            return (block.reshape(b - a, self.d) / scale).astype(np.float32)

        if self.zarr:
            import zarr

            arr = zarr.open_array(
                str(self.tmp),
                mode="w",
                shape=(self.n, self.d),
                chunks=(max(1, min(self.n, 4096)), self.d),
                dtype="float32",
            )
            for a, b in chunks:
                arr[a:b] = scaled(a, b)
            return
        with open(self.tmp, "wb") as fh:
            npy = _NpyWriter(fh, self.n, self.d, np.float32)
            for a, b in chunks:
                npy.write(scaled(a, b))
            fh.flush()
            os.fsync(fh.fileno())

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            self.raw.close()
            if exc_type is None:
                if self.path.exists():
                    if self.path.is_dir():
                        shutil.rmtree(self.path)
                    else:
                        self.path.unlink()
                os.replace(self.tmp, self.path)
        finally:
            shutil.rmtree(self.tmp.parent, ignore_errors=True)


# ----------------------------------------------------------------------------- evaluation at scale
def w1_rows(
    x: Any, y: Any, size: int = 2000, n_repeats: int = 5, seed: int = 0
) -> dict[str, float]:
    """W1 between two large marginals held on disk, averaged over exact W1 on subsamples.

    Like :func:`grn_mnn.distances.w1_subsampled` but ``x`` and ``y`` may be any row-readable
    arrays (``NpyRows``, zarr, h5py, memmap): only ``size`` rows of each are read per repeat.
    Returns ``{"w1", "w1_std", "subsample_size", "n_repeats"}``; exact W1 when both are small.
    """
    from .distances import w1, w1_subsampled

    if size < 2 or n_repeats < 1:
        raise ConfigError(f"need size >= 2 and n_repeats >= 1, got {size}, {n_repeats}")
    nx, ny = x.shape[0], y.shape[0]
    if nx <= size and ny <= size:
        return w1_subsampled(take_rows(x, np.arange(nx)), take_rows(y, np.arange(ny)), size)
    rng = np.random.default_rng(seed)
    vals = []
    for _ in range(n_repeats):
        ix = np.sort(rng.choice(nx, min(size, nx), replace=False))
        iy = np.sort(rng.choice(ny, min(size, ny), replace=False))
        vals.append(w1(take_rows(x, ix), take_rows(y, iy)))
    return {
        "w1": float(np.mean(vals)),
        "w1_std": float(np.std(vals)),
        "subsample_size": int(size),
        "n_repeats": int(n_repeats),
    }


def rows_at_time(data: Snapshots, time: float) -> np.ndarray:
    """Indices of the cells of ``data`` observed at ``time`` (for :func:`w1_rows` on subsets)."""
    idx = np.flatnonzero(np.isclose(data.t, time))
    if len(idx) == 0:
        raise InputError(f"no cells at time {time}; times are {np.unique(data.t).tolist()}")
    return idx


class RowSubset:
    """Row view ``base[rows]`` of a disk-backed array without reading it (for :func:`w1_rows`)."""

    def __init__(self, base: Any, rows: np.ndarray) -> None:
        self.base, self.rows = base, np.asarray(rows, dtype=np.int64)
        self.shape = (len(self.rows), base.shape[1])

    def __getitem__(self, idx: Any) -> np.ndarray:
        return take_rows(self.base, self.rows[np.asarray(idx)])


__all__ = [
    "NpyRows",
    "RowSubset",
    "inflate",
    "open_latent",
    "prepare_backed",
    "rows_at_time",
    "w1_rows",
    "write_inflated",
]
