"""End to end: run() on a small simulated time course writes every output, reproducibly."""

import json

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from conftest import FAST

from grn_mnn import pipeline
from grn_mnn.errors import ConfigError, OutputExistsError

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
    assert list(edges.columns) == ["source", "target", "weight", "sign_z", "sign_from"]
    # the default's sign is the within-time one exactly where that is significant
    within = edges["sign_from"] == "within"
    assert within.any() and (edges["sign_z"][within].abs() > 1.96).all()
    assert (edges["sign_z"][~within].abs() <= 1.96).all()
    assert (np.sign(edges["weight"][within]) == np.sign(edges["sign_z"][within])).all()
    n = sim.n_vars
    assert len(edges) == n * (n - 1)  # all ordered pairs, no self-loops
    assert (edges["source"] != edges["target"]).all()
    assert edges["weight"].abs().is_monotonic_decreasing
    by_time = pd.read_csv(out / "edges_by_time.csv", float_precision="round_trip")
    assert sorted(by_time["time"].unique()) == sorted(sim.obs["time"].unique())
    g = nx.read_graphml(out / "network.graphml")
    assert g.number_of_edges() > 0
    attrs = next(iter(g.edges(data=True)))[2]  # Cytoscape sees each edge's sign evidence
    assert isinstance(attrs["sign_z"], float) and attrs["sign_from"] in ("within", "expression")
    # and each gene's change time, the clock of the default's time order
    from grn_mnn import pp, readout

    prepared = sim.copy()
    pp.prepare(prepared, "time", 3)
    x = readout.ranking_expression(
        pp.get_expression(prepared), prepared.uns["grn_mnn"]["transform"]
    )
    t = prepared.obs[pp.TIME_COL].to_numpy().astype(float)
    tau = dict(zip(prepared.uns["grn_mnn"]["genes"], readout.change_times(x, t), strict=True))
    for gene, node in g.nodes(data=True):
        assert node["change_time"] == pytest.approx(tau[gene], rel=1e-9)
    scores = json.loads((out / "scores.json").read_text())
    assert {"grn_mnn", "random", "pearson", "linear_ode"} <= set(scores["methods"])
    assert scores["provenance"]["seed"] == 0
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["version"] and manifest["config"]["max_epochs"] == FAST["max_epochs"]
    assert manifest["outputs"]["edges"]["sha256"]
    assert (out / "networks").is_dir()
    for png in ("scores.png", "pr_curves.png", "heatmap.png", "training.png"):
        assert (out / "plots" / png).stat().st_size > 1000, png
    assert "(sign: " in res.summary  # the strongest edges name their sign's evidence


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
    kw = dict(reference="none", n_pcs=3, quiet=True, plots=False, **FAST)
    a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
    pipeline.run(sim.copy(), out=a, **kw)
    pipeline.run(sim.copy(), out=b, **kw)
    assert (a / "edges.csv").read_bytes() == (b / "edges.csv").read_bytes()
    # the default (lagged) network is a statistic of the data: the training seed cannot move it
    pipeline.run(sim.copy(), out=c, seed=1, **kw)
    assert (a / "edges.csv").read_bytes() == (c / "edges.csv").read_bytes()
    # ... while the Jacobian reading follows the fit, hence its seed
    j0, j1 = tmp_path / "j0", tmp_path / "j1"
    pipeline.run(sim.copy(), out=j0, reading="jacobian", **kw)
    pipeline.run(sim.copy(), out=j1, reading="jacobian", seed=1, **kw)
    assert (j0 / "edges.csv").read_bytes() != (j1 / "edges.csv").read_bytes()


def test_unreadable_reference_stops_before_training(sim, tmp_path, monkeypatch):
    import grn_mnn.model
    from grn_mnn.errors import ReferenceNetworkError

    monkeypatch.setattr(grn_mnn.model, "fit", lambda *a, **k: pytest.fail("training started"))
    out = tmp_path / "res"
    with pytest.raises(ReferenceNetworkError, match="exist.tsv does not exist"):
        pipeline.run(sim, out=out, reference="does/not/exist.tsv", n_pcs=3, quiet=True, **FAST)
    assert not (out / "model.pt").exists() and not (out / "checkpoint.pt").exists()


def test_backed_run_streams_and_gives_the_in_memory_edges(
    sim_h5ad, reference_file, tmp_path, monkeypatch
):
    import numpy as np

    import grn_mnn.readers

    kw = dict(
        n_pcs=3, reference=str(reference_file), quiet=True, plots=False, reading="jacobian", **FAST
    )
    mem = pipeline.run(str(sim_h5ad), out=tmp_path / "mem", **kw)
    real_read = grn_mnn.readers.read_input

    def no_full_read(path, *, time_key=None, backed=False):
        assert backed, "the backed run read the whole file into memory"
        return real_read(path, time_key=time_key, backed=backed)

    monkeypatch.setattr(grn_mnn.readers, "read_input", no_full_read)
    disk = pipeline.run(str(sim_h5ad), out=tmp_path / "disk", backed=True, **kw)
    assert (tmp_path / "disk" / "latent.npy").exists()
    # the streamed latent is bitwise the in-memory one, so training takes the same steps
    for k, v in mem.model.module.state_dict().items():
        np.testing.assert_array_equal(disk.model.module.state_dict()[k].numpy(), v.numpy())
    for name in ("edges.csv", "edges_by_time.csv"):
        a = pd.read_csv(tmp_path / "mem" / name, float_precision="round_trip")
        b = pd.read_csv(tmp_path / "disk" / name, float_precision="round_trip")
        assert a.drop(columns="weight").equals(b.drop(columns="weight")), name
        # the loadings of the streamed (covariance) and in-memory (SVD) PCA differ by ~1e-14
        np.testing.assert_allclose(b["weight"], a["weight"], rtol=1e-5, atol=1e-12)
    scores = json.loads((tmp_path / "disk" / "scores.json").read_text())
    assert scores["provenance"]["backed"] is True
    assert "--backed" in scores["settings"]["skipped_baselines"]["pearson"]
    assert scores["methods"]["grn_mnn"]["link"] == mem.scores["methods"]["grn_mnn"]["link"]


def test_default_network_is_gene_network_without_a_model(sim, tmp_path):
    """The benchmark scores grn_mnn's default with gene_network(None, ...): it must be run's."""
    from grn_mnn import pp

    res = pipeline.run(
        sim.copy(), out=tmp_path / "r", reference="none", n_pcs=3, quiet=True, plots=False, **FAST
    )
    prepared = sim.copy()
    pp.prepare(prepared, "time", 3)
    direct = pipeline.gene_network(None, prepared, sources=pipeline.default_sources(prepared))
    pd.testing.assert_frame_equal(
        res.edges.reset_index(drop=True), direct.drop(columns="n_cells").reset_index(drop=True)
    )
    with pytest.raises(ConfigError, match="reads the fitted operators"):
        pipeline.gene_network(None, prepared, "jacobian")
    with pytest.raises(ConfigError, match="reading must be one of"):
        pipeline.run(sim.copy(), out=tmp_path / "x", reading="magic", quiet=True)


def test_sources_resolved_before_training(sim, tmp_path, monkeypatch):
    import grn_mnn.model
    from grn_mnn.errors import InputError

    monkeypatch.setattr(grn_mnn.model, "fit", lambda *a, **k: pytest.fail("training started"))
    with pytest.raises(InputError, match="species"):  # simulated data: no bundled TF list
        pipeline.run(sim, out=tmp_path / "a", sources="tf", quiet=True, **FAST)
    with pytest.raises(InputError, match="not among the data's genes|none of the"):
        pipeline.run(sim, out=tmp_path / "b", sources=["NOPE1", "NOPE2"], quiet=True, **FAST)
    assert not (tmp_path / "a" / "model.pt").exists()


def test_run_restricts_sources_and_scores_on_them(sim, tmp_path):
    ref = tmp_path / "truth.tsv"
    sim.uns["true_network"][["source", "target", "mode"]].to_csv(
        ref, sep="\t", index=False, header=False
    )
    res = pipeline.run(
        sim,
        out=tmp_path / "r",
        reference=str(ref),
        sources=["TF1", "TF2"],
        n_pcs=3,
        quiet=True,
        plots=False,
        **FAST,
    )
    assert set(res.edges["source"]) == {"TF1", "TF2"}
    assert res.scores["reference"]["n_candidate_sources"] == 2
    assert res.scores["settings"]["sources_given"] == 2


def test_sign_and_size_factor_options_reach_the_network_and_the_manifest(sim, tmp_path):
    """run(signs=, size_factors=, winsorize=, temperature=, time_prior=) writes
    readout.network's table for them and records them; an operator reading refuses them before
    training."""
    from grn_mnn import pp, readout

    kw = dict(reference="none", n_pcs=3, quiet=True, plots=False, **FAST)
    res = pipeline.run(
        sim.copy(),
        out=tmp_path / "r",
        signs="expression",
        size_factors="none",
        winsorize=1.0,
        temperature=float("inf"),
        time_prior="pair",
        **kw,
    )
    prepared = sim.copy()
    pp.prepare(prepared, "time", 3)
    want = readout.network(
        prepared,
        signs="expression",
        size_factors="none",
        winsorize=1.0,
        temperature=float("inf"),
        time_prior="pair",
        sources=pipeline.default_sources(prepared),
        key_added=None,
    )
    pd.testing.assert_frame_equal(
        res.edges.reset_index(drop=True), want.drop(columns="n_cells").reset_index(drop=True)
    )
    default = pipeline.gene_network(None, prepared)
    assert not default["weight"].equals(want["weight"])  # the options change the network
    manifest = json.loads((tmp_path / "r" / "run.json").read_text())
    keys = ("signs", "size_factors", "winsorize", "temperature", "time_prior")
    got = [manifest[k] for k in keys]
    assert got == ["expression", "none", 1.0, "inf", "pair"]  # JSON has no infinity
    # edges.csv carries each edge's within-time z and sign source
    written = pd.read_csv(tmp_path / "r" / "edges.csv")
    assert list(written.columns) == ["source", "target", "weight", "sign_z", "sign_from"]
    assert set(written["sign_from"]) == {"expression"}
    np.testing.assert_allclose(written["sign_z"], want["sign_z"], rtol=1e-5)  # 6 digits
    with pytest.raises(ConfigError, match="signs must be one of"):
        pipeline.gene_network(None, prepared, signs="pooled")
    with pytest.raises(ConfigError, match="size_factors must be one of"):
        pipeline.gene_network(None, prepared, size_factors="total")
    with pytest.raises(ConfigError, match="winsorize must be a quantile"):
        pipeline.gene_network(None, prepared, winsorize=0.1)
    with pytest.raises(ConfigError, match="drop them"):
        pipeline.run(sim.copy(), out=tmp_path / "j", reading="jacobian", signs="within", **kw)
    with pytest.raises(ConfigError, match="drop them"):
        pipeline.run(sim.copy(), out=tmp_path / "j", reading="jacobian", winsorize=0.9, **kw)
    assert not (tmp_path / "j").exists()


def test_sign_bootstraps_add_an_agreement_column_to_both_edge_tables(sim, tmp_path):
    """run(sign_bootstraps=N) writes readout.network's sign_agreement (seeded by the run's seed)
    into edges.csv, edges_by_time.csv and the GraphML edges, and records N."""
    import networkx as nx

    from grn_mnn import pp, readout

    kw = dict(reference="none", n_pcs=3, quiet=True, plots=True, **FAST)
    res = pipeline.run(sim.copy(), out=tmp_path / "r", sign_bootstraps=6, seed=2, **kw)
    prepared = sim.copy()
    pp.prepare(prepared, "time", 3)
    src = pipeline.default_sources(prepared)
    want = readout.network(prepared, sources=src, key_added=None, sign_bootstraps=6, seed=2)
    np.testing.assert_allclose(res.edges["sign_agreement"], want["sign_agreement"])
    out = tmp_path / "r"
    for name in ("edges.csv", "edges_by_time.csv"):
        table = pd.read_csv(out / name)
        assert table.columns[-3:].tolist() == ["sign_z", "sign_from", "sign_agreement"]
        assert table["sign_agreement"].between(0, 1).all()
    assert json.loads((out / "run.json").read_text())["sign_bootstraps"] == 6
    graph = nx.read_graphml(next(out.glob("*.graphml")))
    assert all("sign_agreement" in d for *_, d in graph.edges(data=True))
