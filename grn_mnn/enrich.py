"""Offline gene-set enrichment of predicted targets (gseapy, hypergeometric test).

"For a source TF, are its top predicted targets enriched for a gene-set collection?"
The collection is a local GMT file, a dict ``{name: [genes]}`` or one of the bundled
TRRUST v2 TF -> target collections (``"trrust-human"``, ``"trrust-mouse"``; built by
``data/gene_sets/make_gmt.py``, one set per TF with >= 3 targets, sets named by the TF
symbol in upper case, e.g. ``"STAT3"``).

The test is :func:`gseapy.enrich` (over-representation, hypergeometric / one-sided Fisher)
with the gene sets passed as a dict and an explicit background, which gseapy evaluates
locally. grn_mnn never passes a library *name* to gseapy, so the Enrichr web service is
never contacted; a string that is neither a bundled collection nor an existing file raises
:class:`~grn_mnn.errors.InputError`.

Conventions: gene symbols are matched in upper case. The background (universe) is the
genes of the data -- by default every gene in the edge table except the source itself --
and gene sets are restricted to it; sets with fewer than ``min_size`` background genes are
not tested. gseapy reports only terms with at least one hit and adjusts their p-values among
themselves; here the Benjamini-Hochberg adjustment is redone over *all* tested sets (sets
without a hit count with p = 1), which is the correct multiple-testing family.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from ._io import write_text
from .errors import InputError

__all__ = [
    "load_gmt",
    "write_gmt",
    "trrust_gene_sets",
    "predicted_targets",
    "enrich_genes",
    "enrich_targets",
    "which_tf_targets",
]

RESULT_COLUMNS = [
    "source",
    "Gene_set",
    "Term",
    "Overlap",
    "P-value",
    "Adjusted P-value",
    "Odds Ratio",
    "Combined Score",
    "Genes",
]
_TRRUST_ALIASES = {
    "trrust-human": "human",
    "trrust_human": "human",
    "trrust-mouse": "mouse",
    "trrust_mouse": "mouse",
}


def load_gmt(path: str | os.PathLike) -> dict[str, list[str]]:
    """Read a GMT file (``name<TAB>description<TAB>gene<TAB>...`` per line).

    Parameters
    ----------
    path
        Local GMT file.

    Returns
    -------
    dict
        ``{set name: [genes]}`` in file order; genes keep their spelling, empty fields and
        repeated genes are dropped.

    Raises
    ------
    InputError
        Missing file, a line without name and description, or a duplicated set name.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"gene-set file {path} does not exist; give the path to a GMT file")
    sets: dict[str, list[str]] = {}
    with open(path, encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            line = line.rstrip("\r\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2 or not fields[0].strip():
                raise InputError(
                    f"{path}:{lineno} is not GMT (expected name<TAB>description<TAB>genes...)"
                )
            name = fields[0].strip()
            if name in sets:
                raise InputError(f"{path}:{lineno}: gene set {name!r} is defined twice")
            genes = [g.strip() for g in fields[2:] if g.strip()]
            sets[name] = list(dict.fromkeys(genes))
    if not sets:
        raise InputError(f"{path} contains no gene sets")
    return sets


def write_gmt(
    gene_sets: Mapping[str, Iterable[str]],
    path: str | os.PathLike,
    descriptions: Mapping[str, str] | None = None,
) -> Path:
    """Write gene sets as a GMT file atomically (description defaults to ``"na"``)."""
    lines = []
    for name, genes in gene_sets.items():
        name = str(name)
        if not name or "\t" in name or "\n" in name:
            raise InputError(f"gene-set name {name!r} is empty or contains a tab/newline")
        desc = str((descriptions or {}).get(name, "na")).replace("\t", " ").replace("\n", " ")
        lines.append("\t".join([name, desc, *map(str, genes)]))
    return write_text(path, "\n".join(lines) + "\n")


def trrust_gene_sets(species: str = "human") -> dict[str, list[str]]:
    """The bundled TRRUST v2 TF -> target sets (``data/gene_sets/trrust_<species>.gmt``).

    Parameters
    ----------
    species
        ``"human"`` or ``"mouse"``.

    Returns
    -------
    dict
        ``{TF symbol (upper case): [target symbols (upper case)]}``, TFs with >= 3 targets.
    """
    if species not in ("human", "mouse"):
        raise InputError(f"species must be 'human' or 'mouse'; got {species!r}")
    from .datasets import data_dir

    path = Path(data_dir()) / "gene_sets" / f"trrust_{species}.gmt"
    if not path.is_file():
        raise InputError(
            f"bundled gene sets {path} are missing; regenerate them with "
            "`python data/gene_sets/make_gmt.py` from the repository root"
        )
    return load_gmt(path)


def _resolve_gene_sets(
    gene_sets: str | os.PathLike | Mapping[str, Iterable[str]],
) -> tuple[str, dict[str, list[str]]]:
    """(collection label, {name: upper-case genes}) for any accepted ``gene_sets`` value."""
    if isinstance(gene_sets, Mapping):
        label, raw = "custom", dict(gene_sets)
        for name, genes in raw.items():
            if isinstance(genes, str) or not isinstance(genes, Iterable):
                raise InputError(
                    f"gene set {name!r} must be a list of gene symbols, got {type(genes).__name__}"
                )
    elif isinstance(gene_sets, str | os.PathLike):
        key = str(gene_sets).strip()
        if key.lower() in _TRRUST_ALIASES:
            species = _TRRUST_ALIASES[key.lower()]
            label, raw = f"trrust-{species}", trrust_gene_sets(species)
        elif Path(key).is_file():
            label, raw = Path(key).name, load_gmt(key)
        else:
            raise InputError(
                f"gene_sets={key!r} is neither 'trrust-human'/'trrust-mouse' nor an existing "
                "file. Enrichr library names are not fetched (grn_mnn never calls the Enrichr "
                "web service); download the library once as a GMT file and give its path, or "
                "pass a dict {set name: [genes]}"
            )
    else:
        raise InputError(
            "gene_sets must be 'trrust-human', 'trrust-mouse', a GMT file path or a dict "
            f"{{name: [genes]}}; got {type(gene_sets).__name__}"
        )
    sets = {
        str(name): sorted({str(g).strip().upper() for g in genes if str(g).strip()})
        for name, genes in raw.items()
    }
    return label, sets


def _empty_result() -> pd.DataFrame:
    numeric = {"P-value", "Adjusted P-value", "Odds Ratio", "Combined Score"}
    return pd.DataFrame(
        {c: pd.Series(dtype=float if c in numeric else object) for c in RESULT_COLUMNS}
    )


def enrich_genes(
    genes: Iterable[str],
    gene_sets: str | os.PathLike | Mapping[str, Iterable[str]],
    background: Iterable[str],
    cutoff: float = 1.0,
    min_size: int = 3,
    source: str = "",
) -> pd.DataFrame:
    """Over-representation test of a gene list against a gene-set collection, offline.

    Parameters
    ----------
    genes
        Query genes (e.g. predicted targets).
    gene_sets
        ``"trrust-human"``, ``"trrust-mouse"``, a GMT path or a dict ``{name: [genes]}``.
    background
        The universe (genes measured). Query genes are added to it if missing.
    cutoff
        Keep terms with adjusted p-value <= ``cutoff`` (1.0 keeps every term with a hit).
    min_size
        Test only sets with at least this many genes in the background.
    source
        Value of the ``source`` column of the result.

    Returns
    -------
    pandas.DataFrame
        Columns ``source, Gene_set, Term, Overlap ("hits/set size in background"), P-value,
        Adjusted P-value (BH over all tested sets), Odds Ratio, Combined Score, Genes``,
        sorted by adjusted p-value; ``Genes`` lists the hits in query order (strongest
        predicted target first). Empty (same columns) when no tested set has a hit.

    Raises
    ------
    InputError
        Unknown collection name, empty query, or no gene set overlapping the background.
    """
    if not 0 < cutoff <= 1:
        raise InputError(f"cutoff must be in (0, 1]; got {cutoff}")
    if int(min_size) < 1:
        raise InputError(f"min_size must be >= 1; got {min_size}")
    if isinstance(background, str) or isinstance(genes, str):
        raise InputError("genes and background must be lists of gene symbols, not one string")
    label, sets = _resolve_gene_sets(gene_sets)
    order = list(dict.fromkeys(str(g).strip().upper() for g in genes if str(g).strip()))
    query = sorted(order)
    if not query:
        raise InputError("the query gene list is empty; there is nothing to test")
    if all(g.isdigit() for g in query):
        raise InputError(
            "all query genes are numbers (Entrez IDs?); gene sets are matched by gene symbol "
            "-- map the identifiers to symbols first"
        )
    universe = sorted({str(g).strip().upper() for g in background if str(g).strip()} | set(query))
    in_bg = set(universe)
    tested = {}
    for name, members in sets.items():
        kept = [g for g in members if g in in_bg]
        if len(kept) >= min_size:
            tested[name] = kept
    if not tested:
        raise InputError(
            f"none of the {len(sets)} gene sets in {label} has >= {min_size} genes among the "
            f"{len(universe)} background genes; check the species and that genes are symbols"
        )
    import gseapy

    enr = gseapy.enrich(
        gene_list=query,
        gene_sets=tested,
        background=universe,
        outdir=None,
        cutoff=cutoff,
        no_plot=True,
        verbose=False,
    )
    enr.close()
    res = enr.res2d
    if res is None or len(res) == 0:
        return _empty_result()
    res = res.copy()
    pvals = res["P-value"].to_numpy(dtype=float)
    n_without_hit = len(tested) - len(pvals)  # gseapy omits them; they count with p = 1
    from scipy.stats import false_discovery_control

    padded = np.concatenate([pvals, np.ones(n_without_hit)])
    res["Adjusted P-value"] = false_discovery_control(padded, method="bh")[: len(pvals)]
    position = {g: i for i, g in enumerate(order)}  # hits listed in query order
    res["Genes"] = [
        ";".join(sorted(str(h).split(";"), key=lambda g: position.get(g, len(position))))
        for h in res["Genes"]
    ]
    res["Gene_set"] = label
    res["source"] = source
    res = res[res["Adjusted P-value"] <= cutoff]
    res = res.sort_values(["Adjusted P-value", "P-value", "Term"], kind="mergesort")
    return res[RESULT_COLUMNS].reset_index(drop=True)


def predicted_targets(
    edges: pd.DataFrame, source: str, top_n: int = 50, sign: str | None = None
) -> pd.DataFrame:
    """Top predicted targets of ``source`` by ``|weight|``.

    Parameters
    ----------
    edges
        Edge table ``source, target, weight``; several rows per edge (time points or groups)
        are averaged. Gene names are compared in upper case.
    source
        Source gene (TF) symbol.
    top_n
        Number of targets to keep (fewer if ``source`` has fewer).
    sign
        ``None`` (both signs), ``"positive"`` (weight > 0, activation) or ``"negative"``.

    Returns
    -------
    pandas.DataFrame
        ``target`` (upper case), ``weight`` (mean), sorted by ``|weight|`` descending. The
        source itself (self-loop) is excluded.
    """
    missing = [c for c in ("source", "target", "weight") if c not in getattr(edges, "columns", [])]
    if missing:
        raise InputError(
            f"edges must be a DataFrame with source, target, weight (missing: {', '.join(missing)})"
        )
    if sign not in (None, "positive", "negative"):
        raise InputError(f"sign must be None, 'positive' or 'negative'; got {sign!r}")
    if int(top_n) < 1:
        raise InputError(f"top_n must be >= 1; got {top_n}")
    src = str(source).strip().upper()
    df = pd.DataFrame(
        {
            "source": edges["source"].astype(str).str.strip().str.upper(),
            "target": edges["target"].astype(str).str.strip().str.upper(),
            "weight": pd.to_numeric(edges["weight"], errors="coerce"),
        }
    )
    mine = df[(df["source"] == src) & (df["target"] != src)]
    if mine.empty:
        examples = ", ".join(sorted(df["source"].unique())[:8])
        raise InputError(
            f"source {source!r} has no outgoing edges in the table (sources include: "
            f"{examples}); check the spelling or species"
        )
    mine = mine[np.isfinite(mine["weight"].to_numpy(dtype=float))]
    out = mine.groupby("target", sort=True)["weight"].mean().reset_index()
    if sign == "positive":
        out = out[out["weight"] > 0]
    elif sign == "negative":
        out = out[out["weight"] < 0]
    out = out.assign(_abs=-out["weight"].abs()).sort_values(["_abs", "target"], kind="mergesort")
    return out.drop(columns="_abs").head(int(top_n)).reset_index(drop=True)


def enrich_targets(
    edges: pd.DataFrame,
    source: str,
    gene_sets: str | os.PathLike | Mapping[str, Iterable[str]] = "trrust-human",
    top_n: int = 50,
    background: Iterable[str] | None = None,
    sign: str | None = None,
    cutoff: float = 1.0,
    min_size: int = 3,
) -> pd.DataFrame:
    """Are the top predicted targets of ``source`` enriched for a gene-set collection?

    Parameters
    ----------
    edges
        Predicted edge table (``source, target, weight``; see :func:`predicted_targets`).
    source
        The regulator whose targets are tested.
    gene_sets
        ``"trrust-human"`` (default), ``"trrust-mouse"``, a local GMT path or a dict.
    top_n
        Number of strongest predicted targets forming the query.
    background
        Universe of genes; default every gene of ``edges`` (sources and targets) except
        ``source``. Pass all genes of the data when ``edges`` is a truncated top-k table.
    sign
        Restrict the query to activated (``"positive"``) or repressed (``"negative"``)
        targets.
    cutoff, min_size
        See :func:`enrich_genes`.

    Returns
    -------
    pandas.DataFrame
        See :func:`enrich_genes`; empty when no target has the requested sign or no set has
        a hit.
    """
    targets = predicted_targets(edges, source, top_n=top_n, sign=sign)
    if targets.empty:
        return _empty_result()
    src = str(source).strip().upper()
    if background is None:
        genes = pd.concat([edges["source"], edges["target"]]).astype(str).str.strip().str.upper()
        background = sorted(set(genes) - {src})
    return enrich_genes(
        targets["target"], gene_sets, background, cutoff=cutoff, min_size=min_size, source=src
    )


def which_tf_targets(
    edges: pd.DataFrame,
    source: str,
    species: str = "human",
    top_n: int = 50,
    background: Iterable[str] | None = None,
    sign: str | None = None,
    cutoff: float = 1.0,
) -> pd.DataFrame:
    """Which TFs' known (TRRUST) targets are enriched among the predicted targets of ``source``.

    Runs :func:`enrich_targets` against the bundled TRRUST collection of ``species`` and adds
    a boolean column ``is_source``: a significant row with ``is_source`` true means the
    predicted targets recover the TF's own known targets; other rows are TFs whose known
    targets overlap them (shared programmes, co-regulators).

    Returns
    -------
    pandas.DataFrame
        The :func:`enrich_targets` table plus ``is_source``.
    """
    if species not in ("human", "mouse"):
        raise InputError(f"species must be 'human' or 'mouse'; got {species!r}")
    res = enrich_targets(
        edges,
        source,
        gene_sets=f"trrust-{species}",
        top_n=top_n,
        background=background,
        sign=sign,
        cutoff=cutoff,
    )
    res["is_source"] = (res["Term"].astype(str) == str(source).strip().upper()).astype(bool)
    return res
