"""End to end: run() on a small simulated time course writes every output, reproducibly."""

import json

import networkx as nx
import pandas as pd
import pytest
from conftest import FAST

from grn_mnn import pipeline
from grn_mnn.errors import OutputExistsError

OUTPUTS = [
    "edges.csv",
    "edges_by_time.csv",
    "network.graphml",
    "scores.json",
    "model.pt",
    "run.json",
    "checkpoint.pt",
]


@pytest.fixture
def reference_file(sim, tmp_path):
    """The simulator's true network as a TF/target/mode reference table."""
    path = tmp_path / "truth.tsv"
    sim.uns["true_network"][["source", "target", "mode"]].to_csv(
        path, sep="\t", index=False, header=False
    )
    return path


def test_run_writes_every_output(sim, reference_file, tmp_path):
    out = tmp_path / "res"
    res = pipeline.run(sim, out=out, reference=str(reference_file), n_pcs=3, quiet=True, **FAST)
    for name in OUTPUTS:
        assert (out / name).exists(), name
    edges = pd.read_csv(out / "edges.csv")
    assert list(edges.columns) == ["source", "target", "weight"]
    n = sim.n_vars
    assert len(edges) == n * (n - 1)  # all ordered pairs, no self-loops
    assert (edges["source"] != edges["target"]).all()
    assert edges["weight"].abs().is_monotonic_decreasing
    by_time = pd.read_csv(out / "edges_by_time.csv", float_precision="round_trip")
    assert sorted(by_time["time"].unique()) == sorted(sim.obs["time"].unique())
    g = nx.read_graphml(out / "network.graphml")
    assert g.number_of_edges() > 0
    scores = json.loads((out / "scores.json").read_text())
    assert {"cellmnn", "random", "pearson", "linear_ode"} <= set(scores["methods"])
    assert scores["provenance"]["seed"] == 0
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["version"] and manifest["config"]["max_epochs"] == FAST["max_epochs"]
    assert manifest["outputs"]["edges"]["sha256"]
    assert (out / "networks").is_dir()
    for png in ("scores.png", "pr_curves.png", "heatmap.png", "training.png"):
        assert (out / "plots" / png).stat().st_size > 1000, png
    assert res.summary


def test_overwrite_refused_and_no_reference(sim, tmp_path):
    out = tmp_path / "res"
    pipeline.run(sim.copy(), out=out, reference="none", n_pcs=3, quiet=True, plots=False, **FAST)
    assert not (out / "scores.json").exists()
    with pytest.raises(OutputExistsError, match="--overwrite"):
        pipeline.run(sim.copy(), out=out, reference="none", n_pcs=3, quiet=True, **FAST)
    pipeline.run(
        sim.copy(),
        out=out,
        reference="none",
        n_pcs=3,
        quiet=True,
        plots=False,
        overwrite=True,
        **FAST,
    )


def test_no_overlap_skips_scoring(sim, tmp_path, capsys):
    out = tmp_path / "res"
    pipeline.run(sim, out=out, reference="trrust-human", n_pcs=3, plots=False, **FAST)
    assert (out / "edges.csv").exists() and not (out / "scores.json").exists()
    assert "scoring skipped" in capsys.readouterr().err


def test_same_seed_byte_identical(sim, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    pipeline.run(sim.copy(), out=a, reference="none", n_pcs=3, quiet=True, plots=False, **FAST)
    pipeline.run(sim.copy(), out=b, reference="none", n_pcs=3, quiet=True, plots=False, **FAST)
    assert (a / "edges.csv").read_bytes() == (b / "edges.csv").read_bytes()
    c = tmp_path / "c"
    pipeline.run(
        sim.copy(), out=c, reference="none", n_pcs=3, quiet=True, plots=False, seed=1, **FAST
    )
    assert (a / "edges.csv").read_bytes() != (c / "edges.csv").read_bytes()
