"""The grn-mnn command line: subcommands, one-line errors, interruption and resume."""

import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import FAST, cli_flags

from grn_mnn import peers
from grn_mnn.cli import main

TINY = cli_flags(FAST)


def extract_args(model, data, out, *extra):
    """`grn-mnn extract` of ``model`` on ``data`` into ``out``."""
    return ["extract", "--model", str(model), "--input", str(data), "--out", str(out), *extra]


def run_args(data, out, *extra):
    """A quick `grn-mnn run` on ``data`` into ``out`` without reference or plots."""
    return [
        "run",
        "--input",
        str(data),
        "--out",
        str(out),
        "--n-pcs",
        "3",
        "--reference",
        "none",
        "--quiet",
        "--no-plots",
        *TINY,
        *extra,
    ]


def test_run_extract_score_export(sim_h5ad, sim, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(run_args(sim_h5ad, out)) == 0
    assert (out / "edges.csv").exists() and (out / "model.pt").exists()
    ex = tmp_path / "ex"
    assert (
        main(
            extract_args(
                str(out / "model.pt"),
                str(sim_h5ad),
                str(ex),
                "--by",
                "time",
                "--top-k",
                "2",
                "--graphml",
                "--quiet",
            )
        )
        == 0
    )
    df = pd.read_csv(ex / "edges.csv")
    assert (df.groupby(["time", "source"]).size() == 2).all()
    ref = tmp_path / "truth.tsv"
    sim.uns["true_network"][["source", "target", "mode"]].to_csv(
        ref, sep="\t", index=False, header=False
    )
    sc = tmp_path / "sc"
    assert (
        main(
            [
                "score",
                "--edges",
                str(out / "edges.csv"),
                "--reference",
                str(ref),
                "--input",
                str(sim_h5ad),
                "--out",
                str(sc),
                "--quiet",
                "--peer-trees",
                "10",
            ]
        )
        == 0
    )
    assert (sc / "scores.json").exists()
    if peers.available():
        assert {"grnboost2", "genie3"} <= set(
            json.loads((sc / "scores.json").read_text())["methods"]
        )
    exp = tmp_path / "exp"
    assert (
        main(
            [
                "export",
                "--edges",
                str(out / "edges_by_time.csv"),
                "--out",
                str(exp),
                "--by",
                "time",
                "--top",
                "10",
                "--quiet",
            ]
        )
        == 0
    )
    assert any(p.suffix == ".graphml" for p in exp.iterdir())


@pytest.mark.parametrize(
    "args, match",
    [
        (["run", "--input", "nope.h5ad"], "does not exist"),
        (["run", "--input", "{h5}", "--time-key", "day"], "available columns"),
        (["run", "--input", "{h5}", "--n-pcs", "500"], "n_pcs"),
        (["run", "--input", "{h5}", "--gamma", "3"], "gamma"),
        (["run", "--input", "{h5}", "--reading", "jacobian", "--signs", "within"], "drop them"),
        (["run", "--input", "{h5}", "--winsorize", "0.2"], "winsorize must be a quantile"),
        (["run", "--input", "{h5}", "--temperature", "0"], "temperature must be > 0"),
        (["run", "--input", "{h5}", "--reading", "jacobian", "--temperature", "1"], "drop them"),
        (["run", "--input", "{h5}", "--reading", "jacobian", "--time-prior", "pair"], "drop them"),
        (["run", "--input", "{h5}", "--reading", "jacobian", "--sign-bootstraps", "5"], "drop it"),
        (["run", "--input", "{h5}", "--sign-bootstraps", "-2"], "sign_bootstraps must be"),
        (["run", "--input", "{h5}", "--log-base", "1"], "log base must be a number > 1"),
        (["run", "--input", "{h5}", "--log-base", "2", "--backed"], "drop --backed"),
        (
            ["score", "--edges", "missing.csv", "--reference", "trrust-human", "--out", "{o}"],
            "missing.csv",
        ),
        (["extract", "--model", "{h5}", "--input", "{h5}", "--out", "{o}"], "grn_mnn model"),
    ],
)
def test_errors_are_one_line(args, match, sim_h5ad, tmp_path, capsys):
    args = [a.replace("{h5}", str(sim_h5ad)).replace("{o}", str(tmp_path / "o")) for a in args]
    if args[0] == "run":
        args += ["--out", str(tmp_path / "r"), "--quiet", *TINY]
    code = main(args)
    err = capsys.readouterr().err.strip()
    assert code != 0
    assert err.startswith("grn-mnn: error:") and "\n" not in err and match in err
    assert "Traceback" not in err


def test_existing_results_refused(sim_h5ad, tmp_path, capsys):
    out = tmp_path / "r"
    base = run_args(sim_h5ad, out)
    assert main(base) == 0
    assert main(base) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main([*base, "--overwrite"]) == 0


def _cli(*args):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "grn_mnn.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_interrupt_then_resume_matches_uninterrupted(sim_h5ad, tmp_path):
    common = [
        "--input",
        str(sim_h5ad),
        "--n-pcs",
        "3",
        "--reference",
        "none",
        "--quiet",
        "--no-plots",
        *cli_flags({**FAST, "max_epochs": 400, "checkpoint_every": 1}),
    ]
    full, cut = tmp_path / "full", tmp_path / "cut"
    p = _cli("run", "--out", str(full), *common)
    assert p.wait(timeout=300) == 0, p.stderr.read()
    p = _cli("run", "--out", str(cut), *common)
    deadline = time.time() + 120
    while not (cut / "checkpoint.pt").exists() and time.time() < deadline:
        time.sleep(0.01)
    p.send_signal(signal.SIGINT)
    code = p.wait(timeout=120)
    err = p.stderr.read()
    assert code == 130, err
    assert "--resume" in err and not (cut / "edges.csv").exists()
    p = _cli("run", "--out", str(cut), "--resume", *common)
    assert p.wait(timeout=300) == 0, p.stderr.read()
    assert (full / "edges.csv").read_bytes() == (cut / "edges.csv").read_bytes()


def test_run_on_bundled_dataset_scores_against_its_species(tmp_path):
    import json

    out = tmp_path / "m"
    assert (
        main(
            [
                "run",
                "--dataset",
                "mesc_scode_hayashi",
                "--out",
                str(out),
                "--n-pcs",
                "4",
                "--quiet",
                "--no-plots",
                *TINY,
            ]
        )
        == 0
    )
    scores = json.loads((out / "scores.json").read_text())
    assert scores["reference"]["n_edges_in_data"] > 0
    assert "trrust" in json.dumps(scores["reference"]).lower()
    assert set(pd.read_csv(out / "edges_by_time.csv")["time"]) == {0.0, 12.0, 24.0, 48.0, 72.0}


def test_string_time_labels_roundtrip_through_run_and_extract(sim, tmp_path):
    labels = {t: f"t{i}" for i, t in enumerate(sorted(sim.obs["time"].unique()))}
    data = sim.copy()
    data.uns.pop("true_network", None)
    data.obs["stage"] = data.obs["time"].map(labels).astype("category")
    del data.obs["time"]
    path = tmp_path / "staged.h5ad"
    data.write_h5ad(path)
    order = ",".join(f"{lab}={t}" for t, lab in labels.items())
    out = tmp_path / "r"
    base = run_args(path, out, "--time-key", "stage")
    assert main(base) == 2  # labels are not numeric and no order was given
    assert main([*base, "--time-order", order, "--overwrite"]) == 0
    # extract reuses the time key and label order stored with the model
    assert (
        main(
            extract_args(
                str(out / "model.pt"), str(path), str(tmp_path / "ex"), "--by", "time", "--quiet"
            )
        )
        == 0
    )
    got = pd.read_csv(tmp_path / "ex" / "edges.csv", float_precision="round_trip")
    assert set(got["time"]) == set(labels)
    ref = tmp_path / "truth.tsv"
    sim.uns["true_network"][["source", "target", "mode"]].to_csv(
        ref, sep="\t", index=False, header=False
    )
    score = [
        "score",
        "--edges",
        str(out / "edges.csv"),
        "--reference",
        str(ref),
        "--input",
        str(path),
        "--time-key",
        "stage",
        "--quiet",
        "--no-peers",
    ]
    assert main([*score, "--out", str(tmp_path / "s1")]) == 2
    assert main([*score, "--time-order", order, "--out", str(tmp_path / "s2")]) == 0


@pytest.fixture(scope="module")
def sim_model(tmp_path_factory):
    """A tiny model of the conftest simulation, saved, with the data as .h5ad."""
    from conftest import FAST as fast

    from grn_mnn import pp
    from grn_mnn.datasets import simulate
    from grn_mnn.model import CellMNN

    d = tmp_path_factory.mktemp("pert")
    raw = simulate(n_genes=12, n_timepoints=4, cells_per_time=40, seed=0)
    raw.uns.pop("true_network")
    raw.write_h5ad(d / "sim.h5ad")
    adata = raw.copy()
    pp.prepare(adata, "time", 4)
    CellMNN(adata, **fast).train(progress=False).save(d / "model.pt")
    return d / "model.pt", d / "sim.h5ad"


def test_perturb_writes_table_shifts_plots_and_provenance(sim_model, tmp_path, capsys):
    import json

    model, data = sim_model
    out = tmp_path / "p"
    args = ["perturb", "--model", str(model), "--input", str(data), "--out", str(out)]
    assert main([*args, "--gene", "TF1", "--gene", "TF2", "--knockout", "--quiet"]) == 0
    assert capsys.readouterr().out == ""
    table = pd.read_csv(out / "perturbation.csv")
    assert list(table.columns[:4]) == ["gene", "time", "delta", "delta_sd"]
    times = np.linspace(0.0, 10.0, 4)  # the data's; a knockout starts where TF1/TF2 are expressed
    got = np.unique(table["time"])
    assert len(got) >= 2 and all(np.isclose(times, t).any() for t in got) and got[-1] == 10.0
    shifts = pd.read_csv(out / "cell_shifts.csv")
    assert {"cell", "time", "x", "y", "dx", "dy"} <= set(shifts.columns)
    assert (out / "plots" / "arrows.png").stat().st_size > 2000
    run = json.loads((out / "run.json").read_text())
    assert run["settings"]["genes"] == ["TF1", "TF2"] and run["settings"]["sustained"]
    assert run["outputs"]["perturbation"]["sha256"] and run["model_sha256"]
    # refused without --overwrite; one-off overexpression with a summary
    assert main([*args, "--gene", "TF1", "--knockout", "--quiet"]) == 2
    capsys.readouterr()
    more = [*args, "--gene", "G1", "--overexpress", "3", "--one-off", "--overwrite"]
    assert main(more) == 0
    assert "overexpress of G1" in capsys.readouterr().out
    assert not json.loads((out / "run.json").read_text())["settings"]["sustained"]


@pytest.mark.parametrize(
    "extra, match",
    [
        (["--gene", "TF11", "--knockout"], "did you mean TF1"),
        (["--gene", "TF1", "--knockout", "--start-time", "50"], "outside the data's time range"),
        (["--gene", "TF1", "--overexpress", "-2"], "overexpress must be"),
        (["--gene", "TF1", "--knockout", "--groupby", "cluster"], "groupby 'cluster'"),
    ],
)
def test_perturb_errors_are_one_line(sim_model, tmp_path, capsys, extra, match):
    model, data = sim_model
    args = ["perturb", "--model", str(model), "--input", str(data), "--out", str(tmp_path / "p")]
    assert main([*args, *extra, "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("grn-mnn: error:") and "\n" not in err and match in err


def test_perturb_needs_input_unless_bundled_and_rejects_other_data(sim_model, tmp_path, capsys):
    model, _ = sim_model
    args = ["perturb", "--model", str(model), "--gene", "TF1", "--knockout", "--quiet"]
    assert main([*args, "--out", str(tmp_path / "a")]) == 2
    assert "not bundled; pass --input" in capsys.readouterr().err
    hep = str(tmp_path / "hep.csv")
    pd.DataFrame({"time": [0.0, 1.0], "FOXA2": [1.0, 2.0]}).to_csv(hep)
    assert main([*args, "--input", hep, "--out", str(tmp_path / "b")]) == 2
    assert "fitted on other data" in capsys.readouterr().err


def test_perturb_defaults_to_the_bundled_training_data(tmp_path, capsys):
    from conftest import FAST as fast

    from grn_mnn import pp
    from grn_mnn._io import file_sha256
    from grn_mnn.model import CellMNN
    from grn_mnn.pipeline import load_bundled

    adata, path, _ = load_bundled("hepatocyte_camp2017")
    pp.prepare(adata, "time", 3)
    model = CellMNN(adata, **fast).train(progress=False)
    model.metadata.update({"input": path, "input_sha256": file_sha256(path)})
    model.save(tmp_path / "m.pt")
    args = ["perturb", "--model", str(tmp_path / "m.pt"), "--gene", "FOXA2", "--knockout"]
    assert main([*args, "--groupby", "stage", "--out", str(tmp_path / "o"), "--quiet"]) == 0
    fate = pd.read_csv(tmp_path / "o" / "fate.csv")
    assert set(fate["group"]) == {"iPSC", "DE", "HE", "IH", "MH"}
    # FOXA2 is not expressed at day 0: the knockout starts where it is
    assert pd.read_csv(tmp_path / "o" / "perturbation.csv")["time"].min() > 0
    model.metadata["input_sha256"] = "0" * 64
    model.save(tmp_path / "m.pt")
    assert main([*args, "--out", str(tmp_path / "o2"), "--quiet"]) == 2
    assert "differs from the data the model was fitted on" in capsys.readouterr().err


def _truth_tsv(sim, tmp_path):
    ref = tmp_path / "truth.tsv"
    sim.uns["true_network"][["source", "target", "mode"]].to_csv(
        ref, sep="\t", index=False, header=False
    )
    return ref


def test_score_peers_skip_line_and_no_peers(sim_h5ad, sim, tmp_path, capsys, monkeypatch):
    ref = _truth_tsv(sim, tmp_path)
    edges = tmp_path / "edges.csv"
    tn = sim.uns["true_network"]
    pd.DataFrame({"source": tn["source"], "target": tn["target"], "weight": 1.0}).to_csv(
        edges, index=False
    )
    base = ["score", "--edges", str(edges), "--reference", str(ref), "--input", str(sim_h5ad)]
    monkeypatch.setattr(peers, "_import_error", lambda: "ModuleNotFoundError: no arboreto")
    assert main([*base, "--out", str(tmp_path / "a")]) == 0
    cap = capsys.readouterr()
    lines = [ln for ln in cap.err.splitlines() if "skipped" in ln]
    assert len(lines) == 1 and "pip install grn_mnn[peers]" in lines[0]
    assert "GRNBoost2 and GENIE3" in lines[0] and "pearson" in cap.out
    assert "grnboost2" not in cap.out
    assert "paired differences" in cap.out and "input - pearson" in cap.out
    monkeypatch.undo()
    assert main([*base, "--out", str(tmp_path / "b"), "--no-peers", "--quiet"]) == 0
    assert "skipped" not in capsys.readouterr().err
    s = json.loads((tmp_path / "b" / "scores.json").read_text())
    assert set(s["methods"]) == {"input", "random", "pearson", "linear_ode"}
    assert set(s["methods"]["input"]["versus"]) == {"pearson", "linear_ode"}
    assert s["settings"]["peers"]["requested"] == []
    assert main([*base, "--out", str(tmp_path / "c"), "--peer-trees", "0"]) == 2
    assert "--peer-trees" in capsys.readouterr().err


@pytest.mark.skipif(not peers.available(), reason="arboreto not installed")
def test_run_scores_peers_only_when_asked(sim_h5ad, sim, tmp_path, monkeypatch):
    import grn_mnn.pl

    drawn = {}
    real = grn_mnn.pl.plot_pr_curves
    monkeypatch.setattr(
        grn_mnn.pl,
        "plot_pr_curves",
        lambda curves, path: drawn.update(curves) or real(curves, path),
    )
    ref = _truth_tsv(sim, tmp_path)
    args = run_args(sim_h5ad, tmp_path / "r", "--peers", "grnboost2", "--peer-trees", "10")
    args[args.index("--reference") + 1] = str(ref)
    args.remove("--no-plots")
    assert main(args) == 0
    s = json.loads((tmp_path / "r" / "scores.json").read_text())
    assert "grnboost2" in s["methods"] and "genie3" not in s["methods"]
    # the precision-recall plot draws the scored peer beside grn_mnn and the baselines
    assert {"grnboost2", "pearson", "random"} <= set(drawn) and "genie3" not in drawn
    assert (tmp_path / "r" / "plots" / "pr_curves.png").stat().st_size > 0
    assert s["settings"]["peers"]["options"] == {"grnboost2": {"n_estimators": 10}}


def test_extract_default_reading_is_runs_network(sim_h5ad, tmp_path, capsys):
    """`extract` without --reading rebuilds the network `run` wrote; the readings differ."""
    out = tmp_path / "run"
    assert main(run_args(sim_h5ad, out)) == 0
    model = str(out / "model.pt")
    assert main(extract_args(model, str(sim_h5ad), str(tmp_path / "lag"), "--quiet")) == 0
    ran = pd.read_csv(out / "edges.csv")
    got = pd.read_csv(tmp_path / "lag" / "edges.csv").head(len(ran))
    assert got[["source", "target"]].equals(ran[["source", "target"]])
    np.testing.assert_allclose(got["weight"], ran["weight"], rtol=1e-9)
    jac = tmp_path / "jac"
    jac_args = extract_args(model, str(sim_h5ad), str(jac), "--reading", "jacobian", "--quiet")
    assert main(jac_args) == 0
    other = pd.read_csv(jac / "edges.csv").head(len(ran))
    assert not np.allclose(other["weight"], ran["weight"])
    # --signs changes the signs only: the same edges with the same |weight|
    sig = extract_args(model, str(sim_h5ad), str(tmp_path / "sig"), "--signs", "within", "--quiet")
    assert main(sig) == 0
    within = pd.read_csv(tmp_path / "sig" / "edges.csv").head(len(ran))
    assert within[["source", "target"]].equals(ran[["source", "target"]])
    np.testing.assert_allclose(within["weight"].abs(), ran["weight"].abs(), rtol=1e-9)
    assert (np.sign(within["weight"]) != np.sign(ran["weight"])).any()
    # --temperature inf drops the time order: each pair weighs the same both ways
    flat = extract_args(model, str(sim_h5ad), str(tmp_path / "flat"), "--temperature", "inf")
    assert main([*flat, "--quiet"]) == 0
    fw = pd.read_csv(tmp_path / "flat" / "edges.csv").set_index(["source", "target"])["weight"]
    (s, t), w = next(iter(fw.items()))
    assert fw[(t, s)] == pytest.approx(w, rel=1e-9) and not fw.equals(
        ran.set_index(["source", "target"])["weight"]
    )
    # --time-prior pair: the target must follow its regulator (the sessions 4-11 default)
    pair = extract_args(model, str(sim_h5ad), str(tmp_path / "pair"), "--time-prior", "pair")
    assert main([*pair, "--quiet"]) == 0
    pw = pd.read_csv(tmp_path / "pair" / "edges.csv").set_index(["source", "target"])["weight"]
    rw = ran.set_index(["source", "target"])["weight"]
    common = rw.index.intersection(pw.index)
    np.testing.assert_array_equal(np.sign(pw[common]), np.sign(rw[common]))  # same signs
    assert not np.allclose(pw[common].abs(), rw[common].abs())  # another time order
    # --sign-bootstraps adds each edge's sign agreement and changes nothing else
    boot = extract_args(model, str(sim_h5ad), str(tmp_path / "boot"), "--sign-bootstraps", "4")
    assert main([*boot, "--quiet"]) == 0
    bw = pd.read_csv(tmp_path / "boot" / "edges.csv").head(len(ran))
    assert bw[["source", "target"]].equals(ran[["source", "target"]])
    np.testing.assert_allclose(bw["weight"], ran["weight"], rtol=1e-9)
    assert bw["sign_agreement"].isin([0.0, 0.25, 0.5, 0.75, 1.0]).all()
    # the co-expression reading has no per-cluster form: a one-line error naming the fix
    capsys.readouterr()
    bad = extract_args(model, str(sim_h5ad), str(tmp_path / "bad"), "--by", "lineage")
    assert main(bad) == 2
    assert "reading='jacobian'" in capsys.readouterr().err
