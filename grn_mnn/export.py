"""Export edge tables as networkx graphs, Cytoscape-ready GraphML and CSV edge lists.

Edge tables are tidy DataFrames with the columns ``source``, ``target``, ``weight`` and
optionally ``abs_weight``, ``sign``, ``time`` *or* ``group``, ``rank`` (see the package
contracts). Every GraphML file written here:

* uses the gene symbol as node id and also stores it as the string node attribute ``name``
  (Cytoscape's label column);
* carries typed attributes only -- ``weight``, ``abs_weight`` and ``time`` as ``double``,
  ``sign``, ``rank`` and ``n_slices`` as ``int``, ``group`` as ``string``; node attributes
  keep the type of their column (``bool`` -> ``boolean``, integer -> ``int``, float ->
  ``double``, anything else -> ``string``);
* contains no NaN, infinity or None: a non-finite ``weight`` is an error, missing derived
  columns are computed from ``weight`` (see :func:`normalize_edges`), and missing node
  attribute values are dropped for that node (boolean columns are filled with ``False``);
* is written atomically (temporary file, then rename).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable
from pathlib import Path

import networkx as nx
import numpy as np
import pandas as pd
from networkx.readwrite.graphml import GraphMLWriter

from ._io import atomic_path, write_csv
from .errors import InputError

__all__ = [
    "normalize_edges",
    "to_networkx",
    "write_graphml",
    "write_edges_csv",
    "aggregate_edges",
    "export_networks",
]

REQUIRED = ("source", "target", "weight")
_FORMATS = ("graphml", "csv")


def _check_columns(edges: pd.DataFrame, what: str = "edges") -> None:
    if not isinstance(edges, pd.DataFrame):
        raise InputError(
            f"{what} must be a pandas DataFrame with columns source, target, weight; "
            f"got {type(edges).__name__}"
        )
    missing = [c for c in REQUIRED if c not in edges.columns]
    if missing:
        raise InputError(
            f"{what} is missing the column(s) {', '.join(missing)} (has: "
            f"{', '.join(map(str, edges.columns)) or 'none'}); an edge table needs "
            "source, target, weight -- rename your columns accordingly"
        )


def _rank_by_abs(abs_weight: pd.Series, source: pd.Series, target: pd.Series) -> np.ndarray:
    """Rank 1 = largest |weight|; ties broken by (source, target) so the result is stable."""
    order = pd.DataFrame(
        {"a": -abs_weight.to_numpy(), "s": source.to_numpy(), "t": target.to_numpy()}
    ).sort_values(["a", "s", "t"], kind="mergesort")
    rank = np.empty(len(order), dtype=np.int64)
    rank[order.index.to_numpy()] = np.arange(1, len(order) + 1)
    return rank


def normalize_edges(edges: pd.DataFrame) -> pd.DataFrame:
    """Validate an edge table and return it with clean, typed export columns.

    Parameters
    ----------
    edges
        Table with ``source``, ``target``, ``weight`` and optionally ``abs_weight``, ``sign``,
        ``time``, ``group``, ``rank``, ``n_slices``, ``sign_z``, ``sign_from``,
        ``sign_agreement``. Other columns are not exported.

    Returns
    -------
    pandas.DataFrame
        Columns ``source``, ``target`` (str), ``weight``, ``abs_weight`` (float64), ``sign``
        (int64), ``[time`` (float64) ``| group`` (str)], ``rank`` (int64)[, ``n_slices``]
        [, ``sign_z`` (float64), ``sign_from`` (str)][, ``sign_agreement`` (float64)].
        ``abs_weight`` missing values are filled with ``|weight|``, ``sign`` missing values
        with ``sign(weight)``; ``rank`` is kept when complete and otherwise recomputed over
        the whole table (1 = largest ``abs_weight``, ties by source then target).

    Raises
    ------
    InputError
        Missing required columns, empty gene names, non-numeric or non-finite weights,
        missing time or group values.
    """
    _check_columns(edges)
    df = pd.DataFrame(index=pd.RangeIndex(len(edges)))
    for col in ("source", "target"):
        values = edges[col].reset_index(drop=True)
        bad = values.isna() | (values.astype(str).str.strip() == "")
        if bad.any():
            raise InputError(
                f"edges['{col}'] has {int(bad.sum())} missing or empty gene name(s) "
                f"(first at row {int(np.flatnonzero(bad.to_numpy())[0])}); drop those rows"
            )
        df[col] = values.astype(str).str.strip()
    weight = pd.to_numeric(edges["weight"].reset_index(drop=True), errors="coerce")
    bad = ~np.isfinite(weight.to_numpy(dtype=float))
    if bad.any():
        raise InputError(
            f"edges['weight'] has {int(bad.sum())} NaN, infinite or non-numeric value(s) "
            f"(first at row {int(np.flatnonzero(bad)[0])}); GraphML and Cytoscape need finite "
            "weights -- drop or fix those rows before exporting"
        )
    df["weight"] = weight.astype(np.float64)
    absw = df["weight"].abs()
    if "abs_weight" in edges.columns:
        given = pd.to_numeric(edges["abs_weight"].reset_index(drop=True), errors="coerce")
        absw = given.where(np.isfinite(given.to_numpy(dtype=float)), absw)
    df["abs_weight"] = absw.astype(np.float64)
    sign = np.sign(df["weight"])
    if "sign" in edges.columns:
        given = pd.to_numeric(edges["sign"].reset_index(drop=True), errors="coerce")
        sign = given.where(np.isfinite(given.to_numpy(dtype=float)), sign)
    df["sign"] = np.sign(sign.to_numpy(dtype=float)).astype(np.int64)
    if "time" in edges.columns:
        time = pd.to_numeric(edges["time"].reset_index(drop=True), errors="coerce")
        bad = ~np.isfinite(time.to_numpy(dtype=float))
        if bad.any():
            raise InputError(
                f"edges['time'] has {int(bad.sum())} missing or non-numeric value(s); "
                "drop those rows or fill the time point"
            )
        df["time"] = time.astype(np.float64)
    if "group" in edges.columns:
        group = edges["group"].reset_index(drop=True)
        if group.isna().any():
            raise InputError(
                f"edges['group'] has {int(group.isna().sum())} missing value(s); "
                "drop those rows or fill the group label"
            )
        df["group"] = group.astype(str)
    rank = None
    if "rank" in edges.columns:
        given = pd.to_numeric(edges["rank"].reset_index(drop=True), errors="coerce")
        if np.isfinite(given.to_numpy(dtype=float)).all():
            rank = given.round().astype(np.int64)
    if rank is None:
        rank = _rank_by_abs(df["abs_weight"], df["source"], df["target"])
    df["rank"] = rank
    if "n_slices" in edges.columns:
        df["n_slices"] = _complete_numbers(edges, "n_slices").round().astype(np.int64)
    if "sign_z" in edges.columns:  # the co-expression readings' sign evidence (readout.network)
        df["sign_z"] = _complete_numbers(edges, "sign_z")
    if "sign_from" in edges.columns:
        df["sign_from"] = edges["sign_from"].reset_index(drop=True).fillna("").astype(str)
    if "sign_agreement" in edges.columns:  # readout.network(sign_bootstraps=N)
        df["sign_agreement"] = _complete_numbers(edges, "sign_agreement")
    return df


def _complete_numbers(edges: pd.DataFrame, column: str) -> pd.Series:
    """``edges[column]`` as float64 (index reset); refuses missing or non-numeric values."""
    values = pd.to_numeric(edges[column].reset_index(drop=True), errors="coerce")
    if not np.isfinite(values.to_numpy(dtype=float)).all():
        raise InputError(f"edges[{column!r}] has missing values; drop the column or fill it")
    return values.astype(np.float64)


def _py(value):
    """Convert a numpy scalar to the matching Python type (networkx types by ``type()``)."""
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value)
    return str(value)


def _node_table(node_attrs: pd.DataFrame | None, genes: Iterable[str]) -> dict[str, dict]:
    """Per-gene attribute dicts (Python scalars, no NaN) for the genes of the graph."""
    genes = list(genes)
    out: dict[str, dict] = {g: {"name": g} for g in genes}
    if node_attrs is None:
        return out
    if not isinstance(node_attrs, pd.DataFrame):
        raise InputError(
            "node_attrs must be a DataFrame indexed by gene symbol (e.g. columns is_tf, "
            f"mean_expression); got {type(node_attrs).__name__}"
        )
    if "name" in node_attrs.columns:
        raise InputError(
            "node_attrs has a column 'name', which is reserved for the gene symbol "
            "(Cytoscape's label); rename that column"
        )
    index = node_attrs.index.astype(str).str.strip()
    if index.duplicated().any():
        dups = sorted(set(index[index.duplicated()]))[:5]
        raise InputError(
            f"node_attrs has duplicated gene(s) in its index (e.g. {', '.join(dups)}); "
            "keep one row per gene"
        )
    table = node_attrs.set_axis(index)
    for col in table.columns:
        series = table[col]
        non_null = series.dropna()
        is_bool = pd.api.types.is_bool_dtype(series) or (
            len(non_null) > 0 and all(isinstance(v, bool | np.bool_) for v in non_null)
        )
        if is_bool:
            kind = "bool"
        elif pd.api.types.is_integer_dtype(series):
            kind = "int"
        elif pd.api.types.is_numeric_dtype(series):
            kind = "float"
        else:
            kind = "str"
        values = series.reindex(genes)
        for gene, value in zip(genes, values, strict=True):
            if kind == "bool":
                out[gene][str(col)] = bool(value) if not pd.isna(value) else False
            elif pd.isna(value) or (kind == "float" and not np.isfinite(value)):
                continue  # documented: the attribute is omitted for this node
            elif kind == "int":
                out[gene][str(col)] = int(value)
            elif kind == "float":
                out[gene][str(col)] = float(value)
            else:
                out[gene][str(col)] = str(value)
    return out


def _graph_table(graph_attrs: dict | None) -> dict:
    """Graph-level attributes as Python scalars; None/NaN dropped, containers as JSON text."""
    out = {}
    for key, value in (graph_attrs or {}).items():
        key = str(key)
        if key == "id":
            raise InputError("graph_attrs key 'id' is reserved (use name= for the network name)")
        if value is None:
            continue
        if isinstance(value, dict | list | tuple):
            out[key] = json.dumps(value, sort_keys=True, default=str)
            continue
        value = _py(value)
        if isinstance(value, float) and not np.isfinite(value):
            continue
        out[key] = value
    return out


def to_networkx(
    edges: pd.DataFrame,
    node_attrs: pd.DataFrame | None = None,
    graph_attrs: dict | None = None,
) -> nx.DiGraph:
    """Build a directed graph from an edge table (one network: one edge per source-target).

    Parameters
    ----------
    edges
        Edge table (``source``, ``target``, ``weight`` [+ optional columns]). Each
        (source, target) pair may occur once; split tables with several time points or
        groups with :func:`export_networks` or select one slice first.
    node_attrs
        Optional DataFrame indexed by gene symbol (e.g. ``is_tf`` bool, ``mean_expression``
        float). Rows for genes that are not in ``edges`` are ignored; boolean attributes of
        genes missing from the table are ``False``, other missing values are omitted.
    graph_attrs
        Optional network-level attributes (e.g. version, seed, input checksum): scalars keep
        their type, ``None``/NaN are dropped, lists and dicts are stored as JSON text.

    Returns
    -------
    networkx.DiGraph
        Node id = gene symbol with attribute ``name``; edge attributes as described in
        :func:`normalize_edges`, all as Python ``float``/``int``/``str``/``bool``.

    Raises
    ------
    InputError
        Invalid table (see :func:`normalize_edges`) or duplicated (source, target) pairs.
    """
    df = normalize_edges(edges)
    dup = df.duplicated(["source", "target"])
    if dup.any():
        first = df.loc[dup.idxmax()]
        hint = (
            " (the table has several time points/groups: use export_networks(..., by=...) or "
            "select one slice)"
            if {"time", "group"} & set(df.columns)
            else ""
        )
        raise InputError(
            f"edges has {int(dup.sum())} duplicated (source, target) pair(s), e.g. "
            f"{first['source']} -> {first['target']}{hint}; keep one row per edge"
        )
    genes = pd.unique(pd.concat([df["source"], df["target"]], ignore_index=True))
    graph = nx.DiGraph()
    graph.graph.update(_graph_table(graph_attrs))
    for gene, attrs in _node_table(node_attrs, genes).items():
        graph.add_node(gene, **attrs)
    attr_cols = [c for c in df.columns if c not in ("source", "target")]
    for row in df.itertuples(index=False):
        rec = row._asdict()
        graph.add_edge(rec["source"], rec["target"], **{c: _py(rec[c]) for c in attr_cols})
    return graph


class _TypedGraphMLWriter(GraphMLWriter):
    """networkx's GraphML writer, adjusted for Cytoscape.

    Declares Python ints as ``int`` (not ``long``), writes booleans in lower case and moves
    the graph-level ``<data>`` elements before the nodes: networkx appends them after the
    edges, where Cytoscape's parser would attach them to the last edge.
    """

    def __init__(self) -> None:
        super().__init__(encoding="utf-8", prettyprint=True, named_key_ids=False)
        self.xml_type[int] = "int"

    def add_data(self, name, element_type, value, scope="all", default=None):
        if element_type is bool:  # xsd:boolean literals are lower case
            value = str(value).lower()
        return super().add_data(name, element_type, value, scope, default)

    def add_graph_element(self, G) -> None:
        super().add_graph_element(G)
        graph_element = self.xml[-1]
        graph_data = [child for child in graph_element if child.tag == "data"]
        for child in graph_data:
            graph_element.remove(child)
        for i, child in enumerate(graph_data):
            graph_element.insert(i, child)


def write_graphml(
    edges: pd.DataFrame,
    path: str | os.PathLike,
    node_attrs: pd.DataFrame | None = None,
    name: str | None = None,
    graph_attrs: dict | None = None,
) -> Path:
    """Write one network as GraphML that Cytoscape and networkx read with typed columns.

    Parameters
    ----------
    edges
        Edge table for one network (see :func:`to_networkx`).
    path
        Output file (conventionally ``*.graphml``); written atomically.
    node_attrs
        Optional per-gene attributes, see :func:`to_networkx`.
    name
        Graph id, shown by Cytoscape as the network name; default: the file stem.
    graph_attrs
        Optional network-level attributes, see :func:`to_networkx`.

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    path = Path(path)
    graph = to_networkx(edges, node_attrs=node_attrs, graph_attrs=graph_attrs)
    graph.graph["id"] = name or path.stem
    writer = _TypedGraphMLWriter()
    writer.add_graph_element(graph)
    with atomic_path(path, suffix=".graphml") as tmp, open(tmp, "wb") as fh:
        writer.dump(fh)
    return path


def write_edges_csv(
    edges: pd.DataFrame, path: str | os.PathLike, float_format: str = "%.8g"
) -> Path:
    """Write an edge table as CSV (all columns, no index) atomically.

    Parameters
    ----------
    edges
        Edge table with at least ``source``, ``target``, ``weight``.
    path
        Output CSV file.
    float_format
        printf-style float format (default 8 significant digits).

    Returns
    -------
    pathlib.Path
        ``path``.
    """
    _check_columns(edges)
    return write_csv(path, edges, float_format=float_format)


def _slug(label: str) -> str:
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", label).strip("._")
    return slug or "unnamed"


def _time_label(value: float) -> str:
    return np.format_float_positional(float(value), trim="-")


def aggregate_edges(edges: pd.DataFrame) -> pd.DataFrame:
    """Mean weight per (source, target) over the slices in which the edge appears.

    Parameters
    ----------
    edges
        Edge table, typically with several rows per pair (one per time point or group).

    Returns
    -------
    pandas.DataFrame
        ``source``, ``target``, ``weight`` (mean), ``abs_weight`` (|mean|), ``sign``
        (sign of the mean), ``rank`` (recomputed) and ``n_slices`` (number of rows averaged).
    """
    df = normalize_edges(edges)
    agg = (
        df.groupby(["source", "target"], sort=True)["weight"]
        .agg(weight="mean", n_slices="size")
        .reset_index()
    )
    agg["abs_weight"] = agg["weight"].abs()
    agg["sign"] = np.sign(agg["weight"]).astype(np.int64)
    agg["rank"] = _rank_by_abs(agg["abs_weight"], agg["source"], agg["target"])
    agg["n_slices"] = agg["n_slices"].astype(np.int64)
    return agg[["source", "target", "weight", "abs_weight", "sign", "rank", "n_slices"]]


def export_networks(
    edges: pd.DataFrame,
    outdir: str | os.PathLike,
    by: str | None = None,
    node_attrs: pd.DataFrame | None = None,
    prefix: str = "network",
    formats: Iterable[str] = ("graphml", "csv"),
    graph_attrs: dict | None = None,
) -> dict[str, Path]:
    """Write one network per time point or group plus the aggregate network.

    Parameters
    ----------
    edges
        Edge table; may hold several slices in a ``time`` or ``group`` column.
    outdir
        Output directory (created if needed).
    by
        ``"time"`` or ``"group"`` to split on that column; ``None`` splits on ``time`` if
        present, else on ``group`` if present, else writes the aggregate only.
    node_attrs
        Optional per-gene attributes (see :func:`to_networkx`), added to every file.
    prefix
        File name prefix: ``{prefix}_time_6.graphml``, ``{prefix}_group_<slug>.csv`` and
        the aggregate ``{prefix}.graphml`` / ``{prefix}.csv``. Labels are made file-name
        safe (characters outside ``A-Za-z0-9._-`` become ``_``).
    formats
        Any of ``"graphml"`` and ``"csv"``.
    graph_attrs
        Network-level attributes added to every GraphML file (see :func:`to_networkx`);
        each file also gets ``slice`` (``"aggregate"``, ``"time=6"``, ``"group=ES"``).

    Returns
    -------
    dict
        ``{file name: path}``, e.g. ``{"network.graphml": ..., "network.csv": ...,
        "network_time_6.graphml": ..., ...}``: the aggregate first, then the slices in
        sorted order.

    Notes
    -----
    The aggregate network holds one edge per (source, target): ``weight`` is the mean
    weight over the slices in which the edge appears (``n_slices`` says how many), ``sign``
    and ``abs_weight`` follow the mean and ``rank`` is recomputed. Without a slice column
    the aggregate is the table itself. Slice files keep the ``time``/``group`` column as
    an edge attribute; their ``rank`` is the given one when the input has a complete
    ``rank`` column, otherwise it is computed within the slice.
    """
    formats = tuple(formats)
    unknown = [f for f in formats if f not in _FORMATS]
    if unknown or not formats:
        raise InputError(f"formats must be a non-empty subset of {_FORMATS}; got {formats!r}")
    df = normalize_edges(edges)
    if by is None:
        by = "time" if "time" in df.columns else ("group" if "group" in df.columns else None)
    elif by not in ("time", "group"):
        raise InputError(f"by must be None, 'time' or 'group'; got {by!r}")
    elif by not in df.columns:
        raise InputError(
            f"by={by!r} but the edge table has no '{by}' column (columns: "
            f"{', '.join(map(str, edges.columns))}); pass by=None or add the column"
        )
    if df.empty:
        raise InputError("the edge table is empty; there is no network to export")
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}

    def _write(table: pd.DataFrame, label: str, stem: str) -> None:
        attrs = {**(graph_attrs or {}), "slice": label}
        if "graphml" in formats:
            written[f"{stem}.graphml"] = write_graphml(
                table,
                outdir / f"{stem}.graphml",
                node_attrs=node_attrs,
                name=stem,
                graph_attrs=attrs,
            )
        if "csv" in formats:
            written[f"{stem}.csv"] = write_edges_csv(table, outdir / f"{stem}.csv")

    if by is None:
        _write(df, "aggregate", prefix)
        return written
    _write(aggregate_edges(df), "aggregate", prefix)
    rank_given = "rank" in edges.columns and bool(
        pd.to_numeric(edges["rank"], errors="coerce").notna().all()
    )
    seen: dict[str, int] = {}
    for value, part in df.groupby(by, sort=True):
        label = _time_label(value) if by == "time" else str(value)
        key = f"{by}_{_slug(label)}"
        if key in seen:  # two labels with the same slug: keep both files apart
            seen[key] += 1
            key = f"{key}_{seen[key]}"
        else:
            seen[key] = 1
        table = part.drop(columns=[c for c in ("time", "group") if c != by and c in part])
        table = table.reset_index(drop=True)
        if not rank_given:  # rank within the slice, not over the whole table
            table["rank"] = _rank_by_abs(table["abs_weight"], table["source"], table["target"])
        _write(table, f"{by}={label}", f"{prefix}_{key}")
    return written
