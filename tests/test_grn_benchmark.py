"""Tests of validation/grn_benchmark.py on a tiny run (one small case, fast methods)."""

from __future__ import annotations

import json

import pytest
from conftest import validation_script


def _script():
    return validation_script("grn_benchmark")


ORACLE = """
def oracle(adata, sources, seed):
    net = adata.uns["true_network"]
    return net.assign(weight=net["sign"].astype(float))[["source", "target", "weight"]]

def antioracle(adata, sources, seed):
    return oracle(adata, sources, seed).assign(weight=lambda d: -d["weight"])

def broken(adata, sources, seed):
    raise RuntimeError("boom")

METHODS = {"oracle": oracle, "antioracle": antioracle, "broken": broken}
"""


@pytest.fixture(scope="module")
def gb():
    return _script()


def test_quick_run_writes_records_tables_and_resumes(gb, tmp_path, capsys):
    out = tmp_path / "res"
    args = ["--cases", "ffl_coherent", "--seeds", "0", "--out", str(out), "--name", "t"]
    assert gb.main([*args, "--methods", "random,pearson", "--quiet"]) == 0
    rep = json.loads((out / "t.json").read_text())
    recs = rep["records"]
    assert [(r["case"], r["seed"], r["method"]) for r in recs] == [
        ("ffl_coherent", 0, "random"),
        ("ffl_coherent", 0, "pearson"),
    ]
    assert all(r["family"] == "motif" and r["seconds"] >= 0 for r in recs)
    assert {"auroc", "auprc_ratio", "epr", "signed_epr", "sign_accuracy"} <= set(recs[0]["metrics"])
    md = (out / "t.md").read_text()
    assert "## Mean over cases" in md and "### ffl_coherent (motif)" in md and "| pearson |" in md
    # resume: the done records are skipped, only the new method runs
    (tmp_path / "m.py").write_text(ORACLE)
    spec = f"{tmp_path / 'm.py'}:METHODS"
    assert gb.main([*args, "--methods", "random,oracle,antioracle", "--methods-from", spec]) == 0
    assert "1 case x seed units to run (2 records already done)" in capsys.readouterr().out
    recs = json.loads((out / "t.json").read_text())["records"]
    assert [r["method"] for r in recs] == ["random", "pearson", "oracle", "antioracle"]
    oracle, anti = recs[2]["metrics"], recs[3]["metrics"]
    assert oracle["auroc"] == 1.0 and oracle["sign_accuracy"] == 1.0
    assert anti["auroc"] == 1.0 and anti["sign_accuracy"] == 0.0
    # a failing method is recorded with its error (not counted as done) and the run goes on
    assert gb.main([*args, "--methods", "broken", "--methods-from", spec, "--quiet"]) == 0
    last = json.loads((out / "t.json").read_text())["records"][-1]
    assert last["method"] == "broken" and last["error"] == "RuntimeError: boom"
    assert "broken: RuntimeError: boom" in (out / "t.md").read_text()


def test_bad_arguments_exit_2(gb, tmp_path, capsys):
    assert gb.main(["--methods", "nope", "--out", str(tmp_path)]) == 2
    assert gb.main(["--cases", "nope", "--out", str(tmp_path)]) == 2
    assert gb.main(["--methods-from", "no_such_module_xyz:M", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("error:") == 3 and "Traceback" not in err
