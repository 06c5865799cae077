"""The grn-mnn command line: subcommands, one-line errors, interruption and resume."""

import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import FAST, cli_flags

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
            ]
        )
        == 0
    )
    assert (sc / "scores.json").exists()
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
    ]
    assert main([*score, "--out", str(tmp_path / "s1")]) == 2
    assert main([*score, "--time-order", order, "--out", str(tmp_path / "s2")]) == 0
