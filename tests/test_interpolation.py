"""Leave-one-time-point-out interpolation benchmark: readers, OT-interpolate, runner, CLI."""

import json

import numpy as np
import pytest
from conftest import validation_script

from grn_mnn import interpolation as gi
from grn_mnn.config import MNNConfig
from grn_mnn.errors import ConfigError
from grn_mnn.train import SnapshotSampler

FAST = {
    "max_epochs": 3,
    "steps_per_epoch": 2,
    "batch_start_cells": 16,
    "batch_target_cells": 16,
    "width": 8,
    "depth": 1,
    "patience": 2,
}


def test_ot_interpolate_translation_and_endpoints():
    rng = np.random.default_rng(0)
    x0 = rng.normal(size=(30, 2))
    v = np.array([3.0, -1.0])
    mid = gi.ot_interpolate(x0, x0 + v, 0.5, seed=0)
    np.testing.assert_allclose(mid, x0 + v / 2, atol=1e-9)  # OT plan of a translate: identity
    x1 = rng.normal(size=(30, 2))
    np.testing.assert_allclose(gi.ot_interpolate(x0, x1, 0.0), x0)
    end = gi.ot_interpolate(x0, x1, 1.0)
    assert sorted(map(tuple, end.round(12))) == sorted(map(tuple, x1.round(12)))
    # unequal sizes: partners are drawn from the plan rows
    two = gi.ot_interpolate(np.array([[0.0], [10.0]]), np.array([[1.0], [2.0], [11.0], [12.0]]), 1)
    assert two[0, 0] in (1.0, 2.0) and two[1, 0] in (11.0, 12.0)


def test_holdout_task_uses_nearest_available_neighbours(cloud):
    x, t = cloud(n_times=5)
    data = gi.BenchmarkData(x.astype(np.float32), t, "toy")
    assert gi.holdout_task(data, 2) == (1.0, 2.0, 3.0, [2.0])
    assert gi.holdout_task(data, 2, exclude=[1]) == (0.0, 2.0, 3.0, [1.0, 2.0])
    with pytest.raises(ConfigError):
        gi.holdout_task(data, 0)


def test_runner_never_trains_on_the_holdout(monkeypatch, cloud):
    x, t = cloud(n_times=4)
    data = gi.BenchmarkData(x.astype(np.float32), t, "toy", {"n_pcs": 3})
    seen = []
    orig = SnapshotSampler.__init__

    def spy(self, *a, **k):
        orig(self, *a, **k)
        seen.append((self.holdout_times.tolist(), self.used_indices()))

    monkeypatch.setattr(SnapshotSampler, "__init__", spy)
    rep = gi.run_benchmark(data, MNNConfig(**FAST), holdouts=[1, 2], seeds=[0, 1], progress=False)
    assert [h for h, _ in seen] == [[1.0], [1.0], [2.0], [2.0]]
    for h, used in seen:
        assert not np.isin(used, np.flatnonzero(t == h[0])).any()
    recs = rep["results"]
    assert len(recs) == 8 and {r["method"] for r in recs} == {"cellmnn", "ot_interpolate"}
    for r in recs:
        assert {"method", "holdout", "time", "seed", "w1", "mmd", "train_seconds"} <= set(r)
        assert r["w1"] > 0 and r["n_pred"] == r["n_real"] == 25
    s = {(e["method"], e["holdout"]): e for e in rep["summary"]}
    w = [r["w1"] for r in recs if r["method"] == "cellmnn" and r["holdout"] == 2]
    assert s[("cellmnn", 2)]["w1_mean"] == pytest.approx(np.mean(w))
    assert s[("cellmnn", 2)]["w1_std"] == pytest.approx(np.std(w))
    md = gi.to_markdown(rep)
    assert "| 2 | 2 |" in md and "OT-interpolate" in md
    with pytest.raises(ConfigError, match="interior"):
        gi.run_benchmark(data, MNNConfig(**FAST), holdouts=[3], progress=False)


def test_ensemble_averages_member_predictions(cloud):
    x, t = cloud(n_times=3)
    data = gi.BenchmarkData(x.astype(np.float32), t, "toy")
    cfg = MNNConfig(**FAST, n_pcs=3, last_layer_scale=1.0)
    pred, _, fits = gi.cellmnn_predict(data, 1, cfg, ensemble=2)
    members = [gi.push(f.module, data.z[t == 0], 0.0, 1.0) for f in fits]
    assert len(fits) == 2 and not np.allclose(members[0], members[1])
    np.testing.assert_allclose(pred, np.mean(members, axis=0), rtol=1e-6)


def test_cli_writes_json_and_markdown(tmp_path, cloud):
    cli = validation_script("interpolation")
    x, t = cloud(n_times=3)
    np.savez(tmp_path / "toy.npz", pcs=x, sample_labels=t)
    args = [
        "--input",
        str(tmp_path / "toy.npz"),
        "--n-pcs",
        "2",
        "--seeds",
        "0",
        "--quiet",
        "--out",
        str(tmp_path / "res"),
        "--max-epochs",
        "2",
        "--width",
        "8",
        "--depth",
        "1",
        "--ensemble",
        "1",
        "--preset",
        "paper",
    ]
    assert cli.main(args) == 0
    rep = json.loads((tmp_path / "res" / "interpolation_toy.json").read_text())
    assert [r["holdout"] for r in rep["results"]] == [1, 1]
    assert rep["config"]["max_epochs"] == 2 and rep["config"]["n_pcs"] == 2
    assert (tmp_path / "res" / "interpolation_toy.md").read_text().startswith("Leave-one")
    assert cli.main(["--input", str(tmp_path / "missing.npz"), "--quiet"]) == 2
    x, t = cloud(n_times=4, n=20)
    np.savez(tmp_path / "four.npz", pcs=x, sample_labels=t)
    nested = args[2:-2] + ["--select", "inner", "--candidates", "v1", "--holdout", "2"]
    assert cli.main(["--input", str(tmp_path / "four.npz"), *nested]) == 0
    rep = json.loads((tmp_path / "res" / "interpolation_four.json").read_text())
    sel = rep["selection"]
    assert list(sel["candidates"]) == list(gi.CANDIDATE_SETS["v1"])
    assert all(c["max_epochs"] == 2 and c["ensemble"] == 1 for c in sel["candidates"].values())
    assert [r["candidate"] for r in rep["results"] if r["method"] == "cellmnn"] == [
        sel["chosen"]["2"]
    ]
    assert rep["preset"] == "nested inner selection, candidates v1"


def test_nested_selection_is_blind_to_the_outer_fold(monkeypatch, cloud):
    x, t = cloud(n_times=5, n=20)
    data = gi.BenchmarkData(x.astype(np.float32), t, "toy", {"n_pcs": 3})
    cfg = MNNConfig(**FAST, n_pcs=3)
    cands = {"a": {"ensemble": 1}, "b": {"lambda_kin": 0.5, "last_layer_scale": 1.0}}
    seen = []
    orig = SnapshotSampler.__init__

    def spy(self, *a, **k):
        orig(self, *a, **k)
        seen.append(self.holdout_times.tolist())

    monkeypatch.setattr(SnapshotSampler, "__init__", spy)
    sel = gi.inner_selection(data, cfg, cands, [1, 2, 3])
    # one training per candidate and pair of interior points, each without both points
    assert seen == [[1.0, 2.0], [1.0, 3.0], [2.0, 3.0]] * 2
    assert all(r["inner_target"] != r["fold"] for r in sel["tasks"])
    assert len(sel["tasks"]) == 2 * 3 * 2
    for k in (1, 2, 3):
        mine = [r for r in sel["tasks"] if r["fold"] == k and r["candidate"] == "b"]
        assert sel["scores"][k]["b"] == pytest.approx(np.mean([r["w1"] for r in mine]))
        assert sel["chosen"][k] == min(cands, key=lambda n, k=k: sel["scores"][k][n])
    # moving every cell of time 2 far away changes nothing in fold 2's choice or scores
    z2 = data.z.copy()
    z2[t == 2] += 50.0
    moved = gi.inner_selection(gi.BenchmarkData(z2, t, "toy", {"n_pcs": 3}), cfg, cands, [2])
    assert moved["scores"][2] == pytest.approx(sel["scores"][2], rel=1e-5)
    assert moved["chosen"][2] == sel["chosen"][2]
    # the runner uses the chosen candidate of each fold and reports the selection
    rep = gi.run_benchmark(data, cfg, holdouts=[2], seeds=[0], progress=False, candidates=cands)
    cm = [r for r in rep["results"] if r["method"] == "cellmnn"]
    assert [r["candidate"] for r in cm] == [rep["selection"]["chosen"][2]]
    assert rep["fold_config"][2]["ensemble"] == 1
    assert "nested inner selection" in gi.to_markdown(rep)
    # worker processes give the same inner scores and choices
    par = gi.inner_selection(data, cfg, cands, [1, 2, 3], jobs=2)
    assert par["scores"] == sel["scores"] and par["chosen"] == sel["chosen"]
    one_interior = gi.BenchmarkData(data.z[t < 3], t[t < 3], "toy", {"n_pcs": 3})
    with pytest.raises(ConfigError, match="2 interior"):
        gi.inner_selection(one_interior, cfg, cands, [1])


def test_timing_script_writes_both_tables(tmp_path, cloud):
    cli = validation_script("timing")
    x, t = cloud(n_times=3)
    np.savez(tmp_path / "toy.npz", pcs=x, sample_labels=t)
    args = ["--input", str(tmp_path / "toy.npz"), "--n-pcs", "2", "--max-epochs", "1"]
    assert cli.main([*args, "--quiet", "--out", str(tmp_path / "res")]) == 0
    rep = json.loads((tmp_path / "res" / "timing_toy.json").read_text())
    assert list(rep["ot_scan"]) == ["1"] and len(rep["ot_scan"]["1"]) == len(cli.FRACTIONS)
    assert set(rep["cellmnn"]) == set(cli.SETTINGS)
    assert all(np.isfinite(v["1"]).all() for v in rep["cellmnn"].values())
    assert [(r["from"], r["to"]) for r in rep["separation"]] == [(0.0, 1.0), (1.0, 2.0)]
    scan = rep["cellmnn_scan"]
    assert set(scan) == set(cli.SETTINGS) and all(len(v["1"]) == 1 for v in scan.values())
    assert all(len(v["1"][0]) == len(cli.FRACTIONS) for v in scan.values())
    md = (tmp_path / "res" / "timing_toy.md").read_text()
    assert "best" in md and "permutation null" in md and "reads the held-out cells" in md
