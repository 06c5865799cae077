"""GRNBoost2 / GENIE3 peers: candidate edges, Pearson signing, determinism, optional import."""

import subprocess
import sys

import numpy as np
import pytest

from grn_mnn import baselines as bl
from grn_mnn import peers
from grn_mnn.errors import InputError
from grn_mnn.simulate import simulate

needs_arboreto = pytest.mark.skipif(not peers.available(), reason="arboreto not installed")
FAST = {"n_estimators": 20}
PEERS = {"grnboost2": peers.grnboost2, "genie3": peers.genie3}


@pytest.fixture(scope="module")
def sim():
    ad = simulate(n_genes=10, n_timepoints=4, cells_per_time=30, seed=0)
    x = np.asarray(ad.X, dtype=float)
    # the simulated genes all rise together; G7 falls with TF1 so some signs are negative
    x[:, -1] = x[:, 0].max() - x[:, 0] + np.random.default_rng(0).normal(0, 0.05, len(x))
    return x, list(ad.var_names), ad.obs["time"].to_numpy()


@needs_arboreto
@pytest.mark.parametrize("name", list(PEERS))
def test_candidate_edges_and_signing(sim, name):
    x, genes, t = sim
    sources = ["TF1", "TF2", "G3"]
    fn = PEERS[name]
    signed = fn(x, genes, t, sources=sources, seed=0, **FAST)
    unsigned = fn(x, genes, t, sources=sources, seed=0, signed=False, **FAST)
    assert list(signed.columns) == ["source", "target", "weight"]
    assert len(signed) == len(sources) * (len(genes) - 1)
    assert set(signed["source"]) == set(sources)
    assert set(signed["target"]) == set(genes)
    assert not (signed["source"] == signed["target"]).any()
    assert (unsigned["weight"] >= 0).all() and (unsigned["weight"] > 0).mean() > 0.5
    # signed weight = importance x sign(Pearson correlation), exactly
    src = bl.source_indices(genes, sources)
    sign = bl.matrix_to_edges(np.sign(bl.pearson_matrix(x, src)), genes, src)
    assert (signed[["source", "target"]].to_numpy() == sign[["source", "target"]].to_numpy()).all()
    np.testing.assert_array_equal(signed["weight"], unsigned["weight"] * sign["weight"])
    assert (signed["weight"] < 0).any() and (signed["weight"] > 0).any()


@needs_arboreto
@pytest.mark.parametrize("name", list(PEERS))
def test_seeded_and_deterministic(sim, name):
    x, genes, _ = sim
    fn = PEERS[name]
    a = fn(x, genes, sources=["TF1", "TF2"], seed=3, **FAST)
    b = fn(x, genes, sources=["TF1", "TF2"], seed=3, **FAST)
    c = fn(x, genes, sources=["TF1", "TF2"], seed=4, **FAST)
    np.testing.assert_array_equal(a["weight"], b["weight"])
    assert not np.array_equal(a["weight"], c["weight"])


@needs_arboreto
def test_genie3_defaults_and_overrides(sim):
    x, genes, _ = sim
    assert peers.GENIE3_KWARGS["n_estimators"] == 1000
    assert peers.GENIE3_KWARGS["max_features"] == "sqrt"
    src = bl.source_indices(genes, ["TF1", "TF2", "TF3"])
    few = peers.genie3_matrix(x, src, seed=0, signed=False, n_estimators=5)
    more = peers.genie3_matrix(x, src, seed=0, signed=False, n_estimators=40)
    assert not np.array_equal(few, more)
    # sklearn's random-forest importances of one target sum to 1 over its sources
    tgt = [i for i in range(len(genes)) if i not in src]
    np.testing.assert_allclose(more[tgt].sum(axis=1), 1.0)
    with pytest.raises(InputError, match="n_estimators"):
        peers.genie3_matrix(x, src, n_estimators=0)


@needs_arboreto
def test_single_source_and_target_subset(sim):
    x, genes, _ = sim
    src = np.array([0])
    m = peers.grnboost2_matrix(x, src, seed=0, signed=False, n_estimators=10)
    assert m.shape == (len(genes), 1) and m[0, 0] == 0 and (m[1:, 0] > 0).all()
    part = peers.importance_matrix(
        x, np.array([0, 1]), "RF", {"n_estimators": 10}, target_idx=np.array([5, 6])
    )
    assert (part[[5, 6]] > 0).all() and (np.delete(part, [5, 6], axis=0) == 0).all()


@needs_arboreto
def test_bad_input_and_unknown_peer(sim):
    x, genes, _ = sim
    with pytest.raises(InputError, match="not among the genes"):
        peers.genie3(x, genes, sources=["NOPE"], **FAST)
    with pytest.raises(InputError, match="columns"):
        peers.grnboost2(x, genes[:-1], **FAST)
    with pytest.raises(InputError, match="unknown peer"):
        peers.run_peer("aracne", x, np.array([0]))


def test_unavailable_message(monkeypatch):
    monkeypatch.setattr(peers, "_import_error", lambda: "ModuleNotFoundError: no arboreto")
    assert not peers.available()
    msg = peers.skip_message()
    assert "\n" not in msg and "GRNBoost2 and GENIE3" in msg
    assert "pip install grn_mnn[peers]" in msg and "no arboreto" in msg
    with pytest.raises(InputError, match="pip install"):
        peers.genie3_matrix(np.ones((5, 3)), np.array([0]))


def test_grn_mnn_imports_without_arboreto():
    code = (
        "import sys; sys.modules['arboreto'] = None\n"  # import arboreto -> ImportError
        "from grn_mnn import peers, validate\n"
        "assert not peers.available() and 'arboreto' in peers.unavailable_reason()\n"
        "print(peers.skip_message())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "pip install grn_mnn[peers]" in out.stdout
