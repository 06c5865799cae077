"""Path-like options are checked before any stage: one line, exit 2, nothing trained or written."""

import pytest
from conftest import FAST, cli_flags

from grn_mnn import preflight
from grn_mnn.cli import main
from grn_mnn.errors import InputError, ReferenceNetworkError


@pytest.fixture
def files(sim, sim_h5ad, tmp_path):
    """Good and bad files for every path-like option."""
    truth = tmp_path / "truth.tsv"
    sim.uns["true_network"][["source", "target", "mode"]].to_csv(
        truth, sep="\t", index=False, header=False
    )
    edges = tmp_path / "good_edges.csv"
    edges.write_text("source,target,weight\nG0,G1,0.5\n")
    (tmp_path / "one_column.tsv").write_text("G0\nG1\n")
    (tmp_path / "binary.tsv").write_bytes(b"\x00\xff\xfe\x80" * 10)
    (tmp_path / "not_hdf5.h5ad").write_text("hello")
    (tmp_path / "data.xlsx").write_text("x")
    (tmp_path / "empty.txt").write_text("\n\n")
    (tmp_path / "no_header.csv").write_text("G0,G1\n")
    (tmp_path / "a_file").write_text("x")
    (tmp_path / "plain_dir").mkdir()
    table = tmp_path / "table.csv"
    table.write_text("cell,time,G0\nc0,0,1\n")
    return {"h5": str(sim_h5ad), "truth": str(truth), "edges": str(edges), "d": str(tmp_path)}


def _fill(args, files):
    return [a.format(**files) for a in args]


RUN = ["run", "--input", "{h5}", "--out", "{d}/r", "--n-pcs", "3", "--quiet", "--no-plots"]
EXTRACT = ["extract", "--model", "{d}/a_file", "--input", "{h5}", "--out", "{d}/x"]
SCORE = ["score", "--edges", "{edges}", "--reference", "{truth}", "--out", "{d}/s", "--quiet"]
EXPORT = ["export", "--edges", "{edges}", "--out", "{d}/e", "--quiet"]


def _with(base, option, value):
    """``base`` with ``option`` set to ``value`` (replaced if present, else appended)."""
    args = list(base)
    if option in args:
        args[args.index(option) + 1] = value
        return args
    return [*args, option] + ([value] if value is not None else [])


CASES = [
    # run
    (RUN, "--reference", "does/not/exist.tsv", ["does/not/exist.tsv", "BEELINE CSV"]),
    (RUN, "--reference", "{d}/plain_dir", ["plain_dir is a directory", "TF<TAB>target"]),
    (RUN, "--reference", "{d}/one_column.tsv", ["one_column.tsv", "line 1"]),
    (RUN, "--reference", "{d}/binary.tsv", ["binary.tsv", "cannot read"]),
    (RUN, "--input", "{d}/nope.h5ad", ["nope.h5ad does not exist", ".h5ad file"]),
    (RUN, "--input", "{d}/not_hdf5.h5ad", ["not_hdf5.h5ad is not an HDF5 file"]),
    (RUN, "--input", "{d}/data.xlsx", ["unsupported format '.xlsx'"]),
    (RUN, "--input", "{d}/plain_dir", ["plain_dir is a directory but not a zarr store"]),
    (RUN, "--dataset", "nope", ["--dataset 'nope' is unknown"]),
    (RUN, "--time-order", "a=0,b", ["--time-order expects label=time"]),
    (RUN, "--out", "{d}/a_file", ["a_file exists and is not a directory"]),
    (RUN, "--out", "{d}/a_file/sub", ["cannot be created", "a_file is a file"]),
    (RUN, "--out", "{h5}", ["is also an input"]),
    (RUN, "--resume", None, ["--resume: there is no checkpoint"]),
    (_with(RUN, "--input", "{d}/table.csv"), "--backed", None, ["--backed streams"]),
    (RUN[:1] + RUN[3:], "--backed", None, ["--backed streams a file"]),
    # extract
    (EXTRACT, "--model", "{d}/missing.pt", ["--model", "missing.pt does not exist"]),
    (EXTRACT, "--model", "{d}/plain_dir", ["plain_dir is a directory", "model.pt"]),
    (EXTRACT, "--input", "{d}/nope.h5ad", ["--input", "nope.h5ad does not exist"]),
    (EXTRACT, "--sources", "{d}/genes.txt", ["--sources", "genes.txt does not exist"]),
    (EXTRACT, "--sources", "{d}/plain_dir", ["--sources", "is a directory"]),
    (EXTRACT, "--sources", "{d}/empty.txt", ["--sources", "empty.txt is empty"]),
    (EXTRACT, "--out", "{d}/empty.txt", ["empty.txt exists and is not a directory"]),
    # score
    (SCORE, "--edges", "{d}/missing.csv", ["--edges", "missing.csv does not exist"]),
    (SCORE, "--edges", "{d}/no_header.csv", ["no_header.csv", "source"]),
    (SCORE, "--reference", "{d}/missing.tsv", ["missing.tsv does not exist", "BEELINE"]),
    (SCORE, "--reference", "{d}/one_column.tsv", ["one_column.tsv", "line 1"]),
    (SCORE, "--reference", "none", ["score needs a reference"]),
    (SCORE, "--input", "{d}/nope.h5ad", ["--input", "nope.h5ad does not exist"]),
    (SCORE, "--out", "{d}/a_file", ["a_file exists and is not a directory"]),
    # export
    (EXPORT, "--edges", "{d}/missing.csv", ["--edges", "missing.csv does not exist"]),
    (EXPORT, "--edges", "{d}/plain_dir", ["--edges", "is a directory"]),
    (EXPORT, "--edges", "{d}/no_header.csv", ["no_header.csv", "source"]),
    (EXPORT, "--out", "{d}/a_file", ["a_file exists and is not a directory"]),
]


@pytest.mark.parametrize(
    "base, option, value, expect",
    CASES,
    ids=[f"{c[0][0]}{c[1]}={c[2]}" for c in CASES],
)
def test_bad_path_option_is_one_line_before_any_training(
    base, option, value, expect, files, tmp_path, capsys, monkeypatch
):
    import grn_mnn.model

    def no_training(*args, **kwargs):
        raise AssertionError("training started")

    monkeypatch.setattr(grn_mnn.model, "fit", no_training)
    args = _fill(_with(base, option, value), files)
    if args[0] == "run":
        args += cli_flags(FAST)
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert err.startswith("grn-mnn: error:") and "\n" not in err, err
    for part in expect:
        assert part.format(**files) in err, err
    # nothing trained or written
    written = {p.name for p in tmp_path.rglob("*")}
    assert not {"model.pt", "checkpoint.pt", "edges.csv", "scores.json"} & written


def test_checks_accept_good_values(files, tmp_path):
    assert preflight.check_input(files["h5"]).name == "sim.h5ad"
    ref = preflight.check_reference(files["truth"])
    assert ref.n_edges > 0
    assert preflight.check_reference("auto", names=("auto", "none")) == "auto"
    assert preflight.check_reference("trrust-human").n_edges > 1000
    genes = tmp_path / "genes.txt"
    genes.write_text("G0\n\nG3\n")
    assert preflight.check_gene_list(genes) == ["G0", "G3"]
    assert preflight.check_out(tmp_path / "new" / "deeper") == tmp_path / "new" / "deeper"
    assert not (tmp_path / "new").exists()  # checking creates nothing
    with pytest.raises(ReferenceNetworkError):
        preflight.check_reference("none")  # only where 'none' is allowed
    with pytest.raises(InputError, match="--resume"):
        preflight.check_out(tmp_path, resume=True)
    (tmp_path / "checkpoint.pt").write_bytes(b"x")
    assert preflight.check_out(tmp_path, resume=True) == tmp_path
