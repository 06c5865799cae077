"""Reference networks: TRRUST v2, BEELINE CSVs and TF/target tables, cleaned and matched.

:func:`load_reference` returns a :class:`Reference` whose ``edges`` hold one row per directed
(TF, target) pair with ``mode`` in ``Activation`` / ``Repression`` / ``Unknown`` /
``Conflicting`` and ``sign`` +1 / -1 / 0 / 0. Cleaning is explicit and every step is counted
in ``Reference.report``:

1. whitespace is stripped; symbols are matched case-insensitively (upper-case keys) while the
   first spelling seen is kept for display;
2. spreadsheet-damaged symbols are repaired when the repair is unambiguous and dropped (with
   their rows) otherwise: dates made from ``SEPT<n>`` (``2-Sep`` -> ``SEPTIN2``) and from
   ``MARCH<n>`` with n >= 3 (``5-Mar`` -> ``MARCHF5``) are repaired; ``1-Mar`` / ``2-Mar`` /
   ``MAR1`` / ``MAR2`` (``MARCH1`` or ``MARC1``?), ``1-Dec`` (``DEC1`` or ``BHLHE40``?), other
   dates and scientific-notation numbers (``2.31E+13``) are dropped; legacy symbols renamed by
   HGNC (``SEPT7`` -> ``SEPTIN7``, ``MARCH5`` -> ``MARCHF5``) are renamed, and the same
   renaming is applied to the data's genes when matching, so either spelling matches;
3. self-loops are removed; exact duplicate rows (same TF, target and mode) are collapsed;
4. a pair listed with several modes is merged: Activation + Unknown -> Activation,
   Repression + Unknown -> Repression, Activation + Repression (with or without Unknown) ->
   ``Conflicting`` (sign 0: kept for the link task, excluded from the sign task).

:func:`overlap` counts how much of a reference the data's genes cover; :func:`restrict` keeps
the covered edges (renamed to the data's spelling) and raises
:class:`~grn_mnn.errors.ReferenceNetworkError` with a diagnosis when nothing overlaps.
"""

from __future__ import annotations

import csv
import gzip
import io
import re
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .errors import GrnMnnError, ReferenceNetworkError

__all__ = ["Reference", "load_reference", "overlap", "restrict", "symbol_key"]

FORMAT_HELP = (
    "expected a BEELINE CSV 'Gene1,Gene2[,Type]' (Type '+'/'-' or Activation/Repression) or a "
    "tab-separated 'TF<TAB>target[<TAB>mode]' table, with or without a header line"
)
MODES = ("Activation", "Repression", "Unknown", "Conflicting")
SIGN_OF_MODE = {"Activation": 1, "Repression": -1, "Unknown": 0, "Conflicting": 0}
_MODE_WORDS = {
    "Activation": {"activation", "activator", "activate", "activates", "positive", "+", "1", "+1"},
    "Repression": {"repression", "repressor", "repress", "represses", "inhibition", "inhibitor"}
    | {"inhibit", "inhibits", "negative", "-", "-1"},
    "Unknown": {"unknown", "", "0", "?", "na", "nan", "n/a", "none", ".", "unsigned", "undirected"},
}
_MODE_OF_WORD = {w: m for m, words in _MODE_WORDS.items() for w in words}
_SRC_HEADERS = {"tf", "tfs", "gene1", "source", "regulator", "from", "tf_name", "node1", "gene_a"}
_TGT_HEADERS = {"target", "targets", "gene2", "to", "target_gene", "node2", "gene_b"}
_MODE_HEADERS = {"type", "mode", "sign", "regulation", "effect", "interaction", "direction"}
_MONTHS = "jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec"
_DATE = re.compile(
    rf"^(?:(\d{{1,2}})-({_MONTHS})[a-z]*(?:-\d{{2,4}})?|({_MONTHS})[a-z]*-(\d{{1,2}}))$", re.I
)
_SCIENTIFIC = re.compile(r"^\d(?:\.\d+)?E[+-]\d+$", re.I)  # 2.31E+13, not 2310009E13
_SEPTINS = {*range(1, 13), 14}  # SEPTIN1-12, 14 (human and mouse)
_MARCHFS = set(range(1, 12))  # MARCHF1-11
_LEGACY = [
    (re.compile(r"^SEPT(\d+)$"), "SEPTIN{}", _SEPTINS),
    (re.compile(r"^MARCH(\d+)$"), "MARCHF{}", _MARCHFS),
]
_MAR_SHORT = re.compile(r"^MAR(\d+)$")
_ENSEMBL = re.compile(r"^ENS[A-Z]*G\d{6,}", re.I)


@dataclass
class Reference:
    """A cleaned reference network.

    Attributes
    ----------
    edges
        One row per directed pair: ``tf``, ``target`` (display spelling), ``mode``
        (``Activation`` / ``Repression`` / ``Unknown`` / ``Conflicting``) and ``sign``
        (int +1 / -1 / 0 / 0).
    name
        ``"trrust-human"``, ``"trrust-mouse"`` or the file name.
    species
        ``"human"``, ``"mouse"`` or None when unknown.
    report
        Counts of every cleaning step (see the module docstring) and, after
        :func:`restrict`, the ``overlap`` with the data.
    """

    edges: pd.DataFrame
    name: str
    species: str | None = None
    report: dict[str, Any] = field(default_factory=dict)

    @property
    def n_edges(self) -> int:
        """Number of directed edges."""
        return len(self.edges)

    @property
    def tfs(self) -> list[str]:
        """The distinct source genes (display spelling, order of first appearance)."""
        return list(pd.unique(self.edges["tf"]))

    def signed(self) -> pd.DataFrame:
        """Edges with a known sign (Activation or Repression)."""
        return self.edges[self.edges["sign"] != 0].reset_index(drop=True)


# ----------------------------------------------------------------------------- symbols
def _clean_symbol(sym: str) -> tuple[str | None, str, str]:
    """(repaired upper-case symbol or None to drop, kind, note) for one stripped symbol."""
    up = sym.upper()
    m = _DATE.match(sym)
    if m:
        n = int(m.group(1) or m.group(4))
        month = (m.group(2) or m.group(3)).lower()
        if month == "sep" and n in _SEPTINS:
            return f"SEPTIN{n}", "date", f"SEPT{n} read as a date"
        if month == "sep" and n == 15:
            return "SELENOF", "date", "SEP15 read as a date"
        if month == "mar" and n in _MARCHFS and n >= 3:
            return f"MARCHF{n}", "date", f"MARCH{n} read as a date"
        if month == "mar" and n in (1, 2):
            return None, "date", f"MARCH{n} (MARCHF{n}) or MARC{n} (MTARC{n})"
        return None, "date", "date with no unambiguous gene symbol"
    if _SCIENTIFIC.match(sym):
        return None, "scientific", "number in scientific notation (irreversible)"
    m = _MAR_SHORT.match(up)
    if m and int(m.group(1)) in _MARCHFS:
        n = int(m.group(1))
        if n >= 3:
            return f"MARCHF{n}", "legacy", f"MAR{n} = MARCH{n}"
        return None, "ambiguous", f"MAR{n}: MARCH{n} (MARCHF{n}) or MARC{n} (MTARC{n})"
    for pattern, new, valid in _LEGACY:
        m = pattern.match(up)
        if m and int(m.group(1)) in valid:
            return new.format(int(m.group(1))), "legacy", "renamed by HGNC"
    return up, "ok", ""


def symbol_key(symbol: str) -> str:
    """Case-insensitive matching key of a gene symbol (legacy/date spellings repaired).

    Symbols that cannot be repaired unambiguously keep their upper-case spelling, so they
    only match themselves.
    """
    s = str(symbol).strip()
    key, _, _ = _clean_symbol(s)
    return key if key is not None else s.upper()


def _display(key: str, original: str, kind: str) -> str:
    """Display spelling of a repaired legacy symbol in the case style of the original."""
    if kind == "legacy" and original[:1].isupper() and original[1:] == original[1:].lower():
        return key[:1] + key[1:].lower()
    return key


def _symbol_table(symbols: Iterable[str]) -> tuple[dict[str, tuple[str | None, str]], dict]:
    """{symbol: (key or None, display)} and the report of repaired / dropped symbols."""
    table: dict[str, tuple[str | None, str]] = {}
    repaired, dropped = {}, {}
    for s in symbols:
        key, kind, note = _clean_symbol(s)
        if kind == "ok":
            table[s] = (key, s)
            continue
        if key is None:
            dropped[s] = f"{kind}: {note}"
            table[s] = (None, s)
        else:
            disp = _display(key, s, kind)
            repaired[s] = {"to": disp, "kind": kind, "note": note}
            table[s] = (key, disp)
    return table, {"repaired": repaired, "dropped": dropped}


# ----------------------------------------------------------------------------- reading
def _open_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
        if raw[:2] == b"\x1f\x8b":
            raw = gzip.decompress(raw)
        return raw.decode("utf-8-sig")
    except (OSError, UnicodeDecodeError, EOFError) as exc:
        raise ReferenceNetworkError(
            f"cannot read reference file {path} as text ({type(exc).__name__}: {exc}); "
            + FORMAT_HELP
        ) from exc


def _parse_mode(value: str, path: Path, line: int) -> str:
    mode = _MODE_OF_WORD.get(value.strip().lower())
    if mode is None:
        raise ReferenceNetworkError(
            f"{path}: line {line}, column 3: unrecognised mode {value!r}; use "
            "Activation/Repression/Unknown or +/-/empty; " + FORMAT_HELP
        )
    return mode


def _read_table(path: Path) -> tuple[pd.DataFrame, str, list[str]]:
    """Raw rows (tf, target, mode) of a reference file, its format name and notes."""
    text = _open_text(path)
    lines = text.splitlines()
    first = next((ln for ln in lines if ln.strip() and not ln.startswith("#")), None)
    if first is None:
        raise ReferenceNetworkError(f"reference file {path} is empty; " + FORMAT_HELP)
    delim = "\t" if "\t" in first else ","
    fmt = "tsv" if delim == "\t" else "beeline-csv"
    reader = csv.reader(io.StringIO(text), delimiter=delim)
    rows, notes, header, use_mode = [], [], None, None
    for lineno, fields in enumerate(reader, start=1):
        if not fields or not "".join(fields).strip() or fields[0].startswith("#"):
            continue
        fields = [f.strip() for f in fields]
        if header is None:
            low = [f.lower() for f in fields]
            header = low[0] in _SRC_HEADERS or (len(low) > 1 and low[1] in _TGT_HEADERS)
            if header:
                use_mode = len(low) > 2 and low[2] in _MODE_HEADERS
                if len(low) > 2 and not use_mode:
                    notes.append(f"third column {fields[2]!r} is not a mode; all modes Unknown")
                continue
            use_mode = len(fields) > 2
        if len(fields) < 2 or not fields[0] or not fields[1]:
            what = "fewer than 2 columns" if len(fields) < 2 else "an empty gene name"
            sep = "tab" if delim == "\t" else "comma"
            raise ReferenceNetworkError(
                f"{path}: line {lineno} has {what} ({delim.join(fields)!r}, {sep}-separated); "
                + FORMAT_HELP
            )
        mode = _parse_mode(fields[2], path, lineno) if use_mode and len(fields) > 2 else "Unknown"
        rows.append((fields[0], fields[1], mode))
    if not rows:
        raise ReferenceNetworkError(
            f"reference file {path} has a header but no edges; " + FORMAT_HELP
        )
    return pd.DataFrame(rows, columns=["tf", "target", "mode"]), fmt, notes


# ----------------------------------------------------------------------------- cleaning
def _clean(raw: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Apply the documented cleaning steps to raw (tf, target, mode) rows."""
    df = raw[["tf", "target", "mode"]].astype(str)
    df = df.apply(lambda c: c.str.strip())
    rep: dict[str, Any] = {
        "n_rows": len(df),
        "n_unique_pairs_raw": int((~df.duplicated(["tf", "target"])).sum()),
    }
    table, sym_report = _symbol_table(pd.unique(pd.concat([df["tf"], df["target"]])))
    keys = {s: k for s, (k, _) in table.items()}
    disp = {s: d for s, (_, d) in table.items()}
    df = df.assign(
        tf_key=df["tf"].map(keys),
        target_key=df["target"].map(keys),
        tf=df["tf"].map(disp),
        target=df["target"].map(disp),
    )
    bad = df["tf_key"].isna() | df["target_key"].isna()
    rep["spreadsheet_symbols"] = {
        "n_repaired": len(sym_report["repaired"]),
        "n_dropped": len(sym_report["dropped"]),
        "n_rows_dropped": int(bad.sum()),
        **sym_report,
    }
    df = df[~bad]
    dup = df.duplicated(["tf_key", "target_key", "mode"])
    rep["n_exact_duplicate_rows"] = int(dup.sum())
    df = df[~dup]
    rep["n_unique_pairs"] = int((~df.duplicated(["tf_key", "target_key"])).sum())
    loop = df["tf_key"] == df["target_key"]
    rep["n_self_loops"] = int((~df[loop].duplicated(["tf_key", "target_key"])).sum())
    df = df[~loop]
    flags = pd.crosstab([df["tf_key"], df["target_key"]], df["mode"]).reindex(
        columns=["Activation", "Repression", "Unknown"], fill_value=0
    )
    act, rep_, unk = (flags[c].to_numpy() > 0 for c in ("Activation", "Repression", "Unknown"))
    mode = np.select(
        [act & rep_, act, rep_], ["Conflicting", "Activation", "Repression"], "Unknown"
    )
    merged = pd.DataFrame({"mode": mode}, index=flags.index).reset_index()
    rep["n_activation_unknown_merged"] = int((act & unk & ~rep_).sum())
    rep["n_repression_unknown_merged"] = int((rep_ & unk & ~act).sum())
    rep["n_conflicting"] = int((act & rep_).sum())
    first = df.drop_duplicates(["tf_key", "target_key"])[["tf_key", "target_key"]]
    edges = first.merge(merged, on=["tf_key", "target_key"], how="left", validate="1:1")
    # one display spelling per key (first seen)
    spelled = pd.concat(
        [df[["tf_key", "tf"]].set_axis(["k", "d"], axis=1)]
        + [df[["target_key", "target"]].set_axis(["k", "d"], axis=1)]
    ).drop_duplicates("k")
    spell = dict(zip(spelled["k"], spelled["d"], strict=True))
    edges = pd.DataFrame(
        {
            "tf": edges["tf_key"].map(spell),
            "target": edges["target_key"].map(spell),
            "mode": edges["mode"],
            "sign": edges["mode"].map(SIGN_OF_MODE).astype(int),
        }
    ).reset_index(drop=True)
    rep["n_edges"] = len(edges)
    rep["mode_counts"] = {m: int((edges["mode"] == m).sum()) for m in MODES}
    rep["n_tfs"] = int(edges["tf"].nunique())
    rep["n_targets"] = int(edges["target"].nunique())
    rep["actions"] = [
        f"{rep['spreadsheet_symbols']['n_repaired']} spreadsheet/legacy symbols repaired, "
        f"{rep['spreadsheet_symbols']['n_dropped']} ambiguous ones dropped "
        f"({rep['spreadsheet_symbols']['n_rows_dropped']} rows)",
        f"{rep['n_exact_duplicate_rows']} exact duplicate rows collapsed",
        f"{rep['n_self_loops']} self-loops removed",
        f"{rep['n_activation_unknown_merged']} Activation+Unknown pairs -> Activation, "
        f"{rep['n_repression_unknown_merged']} Repression+Unknown -> Repression",
        f"{rep['n_conflicting']} Activation+Repression pairs -> Conflicting (sign 0, "
        "excluded from the sign task)",
    ]
    return edges, rep


def load_reference(spec: str | Path | Reference, species: str | None = None) -> Reference:
    """Load and clean a reference network.

    Parameters
    ----------
    spec
        ``"trrust-human"``, ``"trrust-mouse"``, ``"trrust"`` (with ``species``), a path to a
        BEELINE CSV (``Gene1,Gene2[,Type]``) or a tab-separated TF/target[/mode] table
        (header optional; ``.gz`` accepted), or an already loaded :class:`Reference`.
    species
        Species of the data. Picks the TRRUST file for ``"trrust"``; a mismatch with an
        explicit ``"trrust-<species>"`` is recorded in ``report['warnings']`` and warned.

    Returns
    -------
    Reference

    Raises
    ------
    ReferenceNetworkError
        Unknown name, missing or malformed file (naming the file, the line and the column).
    """
    if isinstance(spec, Reference):
        return spec
    text = str(spec).strip()
    low = text.lower().replace("_", "-")
    if low == "trrust":
        if species not in ("human", "mouse"):
            raise ReferenceNetworkError(
                f"reference 'trrust' needs the species ('human' or 'mouse'), got {species!r}; "
                "pass 'trrust-human' or 'trrust-mouse'"
            )
        low = f"trrust-{species}"
    notes: list[str] = []
    if low in ("trrust-human", "trrust-mouse"):
        from .datasets import trrust

        ref_species = low.split("-")[1]
        try:
            raw = trrust(ref_species)
        except GrnMnnError as exc:
            raise ReferenceNetworkError(f"cannot load the bundled TRRUST table: {exc}") from exc
        name, fmt, source = low, "trrust", f"TRRUST v2 {ref_species} (bundled)"
        raw = raw.assign(mode=raw["mode"].str.strip().str.lower().map(_MODE_OF_WORD))
        if raw["mode"].isna().any():
            raise ReferenceNetworkError(
                f"the bundled TRRUST {ref_species} table has unrecognised modes; restore "
                "data/trrust from the repository"
            )
        if species in ("human", "mouse") and species != ref_species:
            notes.append(
                f"reference is {low} but the data's species is {species!r}; symbols are "
                f"matched case-insensitively, consider 'trrust-{species}'"
            )
            warnings.warn(notes[-1], stacklevel=2)
    else:
        path = Path(text).expanduser()
        if not path.is_file():
            state = "is a directory" if path.is_dir() else "does not exist"
            raise ReferenceNetworkError(
                f"reference file {path} {state}; give 'trrust-human', 'trrust-mouse' or the "
                "path of a reference table: " + FORMAT_HELP
            )
        raw, fmt, notes = _read_table(path)
        name, source, ref_species = path.name, str(path), species
    edges, report = _clean(raw)
    report = {"source": source, "format": fmt, **report, "warnings": notes}
    return Reference(edges=edges, name=name, species=ref_species, report=report)


# ----------------------------------------------------------------------------- overlap
def _gene_keys(genes: Sequence[str]) -> dict[str, str]:
    """{key: data spelling} (first spelling wins when two genes share a key)."""
    out: dict[str, str] = {}
    for g in genes:
        out.setdefault(symbol_key(g), str(g))
    return out


def _edge_keys(reference: Reference) -> tuple[np.ndarray, np.ndarray]:
    tf = reference.edges["tf"].map(symbol_key).to_numpy(dtype=object)
    tg = reference.edges["target"].map(symbol_key).to_numpy(dtype=object)
    return tf, tg


def overlap(reference: Reference, genes: Sequence[str]) -> dict[str, Any]:
    """How much of ``reference`` the data's ``genes`` cover (case-insensitive).

    Returns
    -------
    dict
        ``n_reference_edges``, ``n_edges_in_data`` (both genes in the data),
        ``n_tfs_in_data`` (reference TFs with at least one edge in the data: the link task's
        sources, as in BEELINE), ``n_tf_genes_in_data`` (reference TFs that are data genes,
        with or without an edge), ``n_targets_in_data``, ``n_signed_edges_in_data``,
        ``n_activation_in_data``, ``n_repression_in_data``, ``n_unknown_in_data``,
        ``n_conflicting_in_data``, ``n_genes_data``. Never raises (see :func:`restrict`).
    """
    keys = _gene_keys(genes)
    tf, tg = _edge_keys(reference)
    has_tf = np.array([k in keys for k in tf], bool)
    inside = has_tf & np.array([k in keys for k in tg], bool)
    mode = reference.edges["mode"].to_numpy()[inside]
    return {
        "n_reference_edges": reference.n_edges,
        "n_edges_in_data": int(inside.sum()),
        "n_tfs_in_data": int(len(set(tf[inside]))),
        "n_tf_genes_in_data": int(len(set(tf[has_tf]))),
        "n_targets_in_data": int(len(set(tg[inside]))),
        "n_signed_edges_in_data": int(np.isin(mode, ["Activation", "Repression"]).sum()),
        "n_activation_in_data": int((mode == "Activation").sum()),
        "n_repression_in_data": int((mode == "Repression").sum()),
        "n_unknown_in_data": int((mode == "Unknown").sum()),
        "n_conflicting_in_data": int((mode == "Conflicting").sum()),
        "n_genes_data": len(keys),
    }


def _diagnose(reference: Reference, genes: Sequence[str]) -> str:
    """Why nothing overlaps: identifier type, species, case style."""
    genes = [str(g) for g in genes]
    hints = []
    if not genes:
        return "the data has no genes"
    ens = np.mean([bool(_ENSEMBL.match(g)) for g in genes])
    if ens > 0.5:
        hints.append(
            f"{ens:.0%} of the data's genes look like Ensembl IDs (e.g. {genes[0]!r}) while the "
            "reference uses gene symbols: convert var_names to symbols (e.g. from a gene_symbols "
            "column)"
        )
    mouse_case = np.mean([g[:1].isupper() and g[1:] == g[1:].lower() and len(g) > 1 for g in genes])
    if reference.species == "human" and mouse_case > 0.5:
        hints.append("the data's genes are mouse-cased (e.g. 'Sox2'): try 'trrust-mouse'")
    elif reference.species == "mouse" and not hints:
        hints.append("if the data is human, try 'trrust-human'")
    elif reference.species == "human" and not hints:
        hints.append("if the data is mouse, try 'trrust-mouse'")
    if not hints:
        hints.append("check that the reference's species and identifier type match the data")
    return "; ".join(hints)


def restrict(reference: Reference, genes: Sequence[str]) -> Reference:
    """Edges whose TF and target are both among ``genes``, renamed to the data's spelling.

    Returns
    -------
    Reference
        Same name and species; ``report['overlap']`` holds :func:`overlap`.

    Raises
    ------
    ReferenceNetworkError
        When no reference edge has both genes in the data; the message suggests the other
        species or identifier type.
    """
    keys = _gene_keys(genes)
    tf, tg = _edge_keys(reference)
    inside = np.array([a in keys and b in keys for a, b in zip(tf, tg, strict=True)], bool)
    if not inside.any():
        example = ", ".join(map(str, list(genes)[:3]))
        ref_example = ", ".join(reference.edges["tf"].head(3)) or "-"
        raise ReferenceNetworkError(
            f"no edge of reference {reference.name} (species {reference.species or 'unknown'}, "
            f"{reference.n_edges} edges, TFs e.g. {ref_example}) has both genes among the "
            f"data's {len(keys)} genes (e.g. {example}): " + _diagnose(reference, genes)
        )
    edges = reference.edges[inside].copy()
    edges["tf"] = [keys[k] for k in tf[inside]]
    edges["target"] = [keys[k] for k in tg[inside]]
    report = {**reference.report, "overlap": overlap(reference, genes)}
    return replace(reference, edges=edges.reset_index(drop=True), report=report)
