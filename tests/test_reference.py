"""Reference loading, cleaning, overlap and clear errors."""

import gzip
from pathlib import Path

import pytest

from grn_mnn.errors import ReferenceNetworkError
from grn_mnn.reference import Reference, load_reference, overlap, restrict, symbol_key

BEELINE = Path(__file__).resolve().parents[2] / "shared/data/beeline/networks"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_bundled_trrust_human_counts():
    ref = load_reference("trrust-human")
    rep = ref.report
    assert rep["n_rows"] == 9396
    assert rep["n_unique_pairs_raw"] == 8427 and rep["n_unique_pairs"] == 8427
    assert rep["n_exact_duplicate_rows"] == 12
    assert rep["n_edges"] == 8427 - rep["n_self_loops"] == ref.n_edges
    assert sum(rep["mode_counts"].values()) == ref.n_edges
    assert rep["mode_counts"]["Conflicting"] == rep["n_conflicting"] > 0
    assert rep["spreadsheet_symbols"]["repaired"]["SEPT7"]["to"] == "SEPTIN7"
    assert set(ref.edges.columns) >= {"tf", "target", "mode", "sign"}
    assert ref.edges["sign"].dtype.kind == "i"
    assert (ref.edges["tf"] != ref.edges["target"]).all()
    assert ref.species == "human" and ref.name == "trrust-human"


def test_bundled_trrust_mouse_drops_ambiguous_symbol():
    ref = load_reference("trrust", species="mouse")
    rep = ref.report
    assert rep["n_rows"] == 7057 and rep["n_unique_pairs_raw"] == 6490
    assert "Mar1" in rep["spreadsheet_symbols"]["dropped"]
    assert rep["n_unique_pairs"] == 6489
    assert ref.edges["tf"].str.contains("Trp53").any()  # display keeps MGI case


def test_species_mismatch_is_reported():
    with pytest.warns(UserWarning, match="trrust-mouse"):
        ref = load_reference("trrust-human", species="mouse")
    assert ref.report["warnings"]
    with pytest.raises(ReferenceNetworkError, match="species"):
        load_reference("trrust")


def test_conflicting_duplicates_self_loops_and_merges(tmp_path):
    p = write(
        tmp_path,
        "ref.tsv",
        "A\tB\tActivation\n"
        "A\tB\tRepression\n"  # conflicting
        "A\tC\tActivation\n"
        "A\tC\tUnknown\n"  # -> Activation
        "A\tD\tRepression\n"
        " a \td\tRepression\n"  # exact duplicate after strip + case
        "D\tD\tActivation\n"  # self-loop
        "E\tB\t\n",  # unknown
    )
    ref = load_reference(p)
    rep = ref.report
    assert rep["n_rows"] == 8 and rep["n_exact_duplicate_rows"] == 1
    assert rep["n_self_loops"] == 1 and rep["n_conflicting"] == 1
    assert rep["n_activation_unknown_merged"] == 1
    modes = {(r.tf, r.target): (r.mode, r.sign) for r in ref.edges.itertuples()}
    assert modes == {
        ("A", "B"): ("Conflicting", 0),
        ("A", "C"): ("Activation", 1),
        ("A", "D"): ("Repression", -1),
        ("E", "B"): ("Unknown", 0),
    }
    assert len(ref.signed()) == 2


def test_spreadsheet_mangled_symbols_counted(tmp_path):
    p = write(
        tmp_path,
        "ref.tsv",
        "TF\tTarget\tMode\n"
        "SOX2\t2-Sep\tActivation\n"  # -> SEPTIN2
        "SOX2\t1-Mar\tActivation\n"  # MARCH1 or MARC1: dropped
        "SOX2\tMAR1\tActivation\n"  # dropped
        "SOX2\t5-Mar\tRepression\n"  # -> MARCHF5
        "SOX2\tSEPT7\tRepression\n"  # legacy -> SEPTIN7
        "SOX2\t1-Dec\tUnknown\n"  # DEC1 or BHLHE40: dropped
        "SOX2\t2.31E+13\tUnknown\n"  # irreversible: dropped
        "SOX2\tNANOG\tActivation\n"
        "SOX2\t2310009E13\tUnknown\n",  # a real RIKEN symbol, not a number: kept
    )
    ref = load_reference(p)
    sym = ref.report["spreadsheet_symbols"]
    assert sym["n_repaired"] == 3 and sym["n_dropped"] == 4 and sym["n_rows_dropped"] == 4
    assert {v["to"] for v in sym["repaired"].values()} == {"SEPTIN2", "MARCHF5", "SEPTIN7"}
    assert set(ref.edges["target"]) == {"SEPTIN2", "MARCHF5", "SEPTIN7", "NANOG", "2310009E13"}
    assert symbol_key("Sept7") == symbol_key("SEPTIN7") == "SEPTIN7"
    assert symbol_key("1-Mar") == "1-MAR"  # ambiguous keys only match themselves


def test_legacy_spelling_in_data_still_matches(tmp_path):
    p = write(tmp_path, "ref.tsv", "SOX2\tSEPTIN7\tActivation\nSOX2\tNANOG\tRepression\n")
    ref = load_reference(p)
    sub = restrict(ref, ["Sox2", "Sept7", "Nanog"])
    assert set(sub.edges["target"]) == {"Sept7", "Nanog"}  # renamed to the data's spelling
    assert set(sub.edges["tf"]) == {"Sox2"}


def test_beeline_csv_with_signs_and_gzip(tmp_path):
    text = "Gene1,Gene2,Type\nA,B,+\nA,C,-\nB,C,+\nB,C,+\n"
    ref = load_reference(write(tmp_path, "refNetwork.csv", text))
    assert ref.report["format"] == "beeline-csv"
    keys = ref.edges["target"] + ref.edges["tf"]
    assert dict(zip(keys, ref.edges["sign"], strict=True)) == {
        "BA": 1,
        "CA": -1,
        "CB": 1,
    }
    gz = tmp_path / "net.csv.gz"
    gz.write_bytes(gzip.compress(b"Gene1,Gene2\nA,B\nA,C\n"))
    ref = load_reference(gz)
    assert ref.n_edges == 2 and (ref.edges["mode"] == "Unknown").all()


def test_headerless_tsv_and_non_mode_third_column(tmp_path):
    ref = load_reference(write(tmp_path, "a.tsv", "A\tB\nA\tC\n"))
    assert ref.n_edges == 2
    ref = load_reference(write(tmp_path, "b.csv", "source,target,score\nA,B,0.7\n"))
    assert ref.edges["mode"].tolist() == ["Unknown"]
    assert ref.report["warnings"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty"),
        ("Gene1,Gene2\n", "no edges"),
        ("A\tB\tActivation\nA\n", "line 2 has fewer than 2 columns"),
        ("A\tB\tActivation\nA\tC\tmaybe\n", "line 2, column 3: unrecognised mode 'maybe'"),
        ("Gene1,Gene2\nA,\n", "line 2 has an empty gene name"),
    ],
)
def test_malformed_files_name_file_line_and_format(tmp_path, text, match):
    p = write(tmp_path, "bad.tsv", text)
    with pytest.raises(ReferenceNetworkError, match=match) as err:
        load_reference(p)
    assert "bad.tsv" in str(err.value) and "expected" in str(err.value)


def test_unknown_spec_and_binary_file(tmp_path):
    with pytest.raises(ReferenceNetworkError, match="missing.csv does not exist") as err:
        load_reference(tmp_path / "missing.csv")
    assert "'trrust-human'" in str(err.value) and "BEELINE CSV" in str(err.value)
    p = tmp_path / "x.bin"
    p.write_bytes(b"\x00\xff\xfe\x80" * 10)
    with pytest.raises(ReferenceNetworkError, match="cannot read"):
        load_reference(p)


def test_overlap_counts_and_restrict(tmp_path):
    p = write(
        tmp_path,
        "ref.tsv",
        "A\tB\tActivation\nA\tC\tRepression\nA\tX\tActivation\nD\tB\tUnknown\nY\tB\tActivation\n",
    )
    ref = load_reference(p)
    genes = ["a", "b", "c", "d", "z"]  # lower-case: matched case-insensitively
    ov = overlap(ref, genes)
    assert ov == {
        "n_reference_edges": 5,
        "n_edges_in_data": 3,
        "n_tfs_in_data": 2,
        "n_tf_genes_in_data": 2,
        "n_targets_in_data": 2,
        "n_signed_edges_in_data": 2,
        "n_activation_in_data": 1,
        "n_repression_in_data": 1,
        "n_unknown_in_data": 1,
        "n_conflicting_in_data": 0,
        "n_genes_data": 5,
    }
    sub = restrict(ref, genes)
    assert isinstance(sub, Reference) and sub.n_edges == 3
    assert set(sub.edges["tf"]) == {"a", "d"} and sub.report["overlap"] == ov


def test_no_overlap_error_mentions_species_and_identifiers():
    ref = load_reference("trrust-human")
    with pytest.raises(ReferenceNetworkError, match="species human") as err:
        restrict(ref, ["Xkr4", "Gm1992", "Rp1", "Xyz9"])
    assert "trrust-mouse" in str(err.value)
    with pytest.raises(ReferenceNetworkError, match="Ensembl"):
        restrict(ref, ["ENSG00000141510", "ENSG00000181449", "ENSG00000111704"])


@pytest.mark.skipif(not BEELINE.is_dir(), reason="../shared BEELINE networks not present")
def test_beeline_lofgof_by_path():
    ref = load_reference(BEELINE / "mouse/mESC-lofgof-network.csv", species="mouse")
    rep = ref.report
    assert rep["format"] == "beeline-csv" and rep["n_rows"] == 104796
    assert rep["n_exact_duplicate_rows"] > 0
    assert rep["spreadsheet_symbols"]["n_repaired"] > 0  # the file has Excel dates (2-Sep ...)
    assert ref.n_edges < 104201 and ref.species == "mouse"
    assert ref.edges["tf"].nunique() <= 55
