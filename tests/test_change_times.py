"""Tests of validation/change_times.py: bootstrap change times, reliability, the regime summary."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import validation_script

from grn_mnn import readout


@pytest.fixture(scope="module")
def ct():
    return validation_script("change_times")


def _ordered(noise: float, seed: int = 0):
    """Gene 0 rises at t = 1, gene 1 at t = 3, gene 2 never changes; 30 cells per time point."""
    rng = np.random.default_rng(seed)
    t = np.repeat(np.arange(5.0), 30)
    means = np.column_stack([(t >= 1) * 2.0, (t >= 3) * 2.0, np.zeros_like(t)])
    return means + noise * rng.normal(size=means.shape), t


def test_bootstrap_precedence_equals_the_point_precedence_without_cell_noise(ct):
    x, t = _ordered(0.0)
    p = ct.bootstrap_precedence(x, t, 0.3, n_boot=5)
    want = readout.precedence(readout.change_times(x, t), float(t.max() - t.min()), 0.3)
    np.testing.assert_allclose(p, want)
    # with noise the average moves towards 1/2 where the order is uncertain, never past it
    xn, _ = _ordered(1.0)
    pn = ct.bootstrap_precedence(xn, t, 0.3, n_boot=20)
    assert 0.5 < pn[1, 0] and pn[0, 1] < 0.5  # gene 1 changes after gene 0


def test_reliability_separates_clean_and_noisy_change_times(ct):
    clean = ct.reliability(*_ordered(0.05), src=np.arange(3), top=0.5)
    noisy = ct.reliability(*_ordered(3.0), src=np.arange(3), top=0.5)
    assert clean["time_points"] == 5
    assert clean["median_se_tau"] < noisy["median_se_tau"]
    assert clean["median_dtau_over_se"] > noisy["median_dtau_over_se"]
    assert clean["one_way_pairs"] == 0 and np.isnan(clean["share_source_first"])  # all sources
    # gene 0 as the only regulator: it changes before gene 1, its most correlated target
    first = ct.reliability(*_ordered(0.05), src=np.array([0]), top=0.5)
    assert first["one_way_pairs"] >= 1 and first["share_source_first"] == 1.0
    late = ct.reliability(*_ordered(0.05), src=np.array([1]), top=0.5)
    assert late["share_source_first"] == 0.0


def test_regime_summary_is_relative_to_the_default(ct):
    units = [
        {"variant": v, "regime": r, "seed": s, "case": c, "auprc_ratio": a * m}
        for v, m in (("default", 1.0), ("other", 1.1))
        for r, a in (("benchmark", 10.0), ("noisy", 4.0))
        for s in (0, 1)
        for c in ("x", "y")
    ]
    out = ct.regime_summary(units, [0, 1])
    assert out["default"]["mean relative"] == pytest.approx(1.0)
    assert out["other"]["mean relative"] == pytest.approx(1.1)
    assert out["other"]["benchmark"] == pytest.approx(11.0)


def test_reference_order_reads_whether_reference_targets_follow_their_regulators(ct, tmp_path):
    """Gene pairs that rise together, all correlated; the reference names the pairs whose
    target rises after its regulator (AUROC 1) or, read backwards, before it (AUROC 0)."""
    rng = np.random.default_rng(0)
    t = np.repeat(np.arange(6.0), 40)
    onsets = [1, 1, 2, 2, 3, 3, 4, 4]  # genes G0..G7 step up at these time points
    lin = np.column_stack([5 + 5 * (t >= k) for k in onsets]) + rng.normal(size=(t.size, 8))
    x = np.log1p(lin)
    genes = [f"G{i}" for i in range(8)]
    forward = tmp_path / "forward.csv"
    forward.write_text("Gene1,Gene2\nG0,G4\nG1,G6\nG2,G5\nG3,G7\n")
    backward = tmp_path / "backward.csv"
    backward.write_text("Gene1,Gene2\nG4,G0\nG6,G1\nG5,G2\nG7,G3\n")
    fw = ct.reference_order(x, t, genes, genes, forward, top=1.0)
    bw = ct.reference_order(x, t, genes, genes, backward, top=1.0)
    assert fw["reference_edges_in_top"] == bw["reference_edges_in_top"] == 4
    assert fw["precedence_auroc"] > 0.6 > 0.4 > bw["precedence_auroc"]
    assert fw["share_reference_target_after"] == 1.0 and bw["share_reference_target_after"] == 0.0
    # per regulator: G0's reference target G4 follows it, its other top partners G1-G3 do not all
    one = tmp_path / "one.csv"
    one.write_text("Gene1,Gene2\n" + "".join(f"G0,G{k}\n" for k in range(4, 8)))
    by = ct.reference_order(x, t, genes, genes, one, top=1.0, min_edges=4)["by_source"]
    assert set(by) == {"G0"}  # the only regulator with 4 reference edges
    assert by["G0"]["reference_edges"] == 4 and by["G0"]["reference_target_after"] == 1.0
    assert by["G0"]["other_partner_after"] >= 2 / 3  # G2, G3 after it; G1 rises with it
    assert by["G0"]["tau_quantile"] <= 1 / 8  # among the first to change
    assert ct.reference_order(x, t, genes, genes, one, top=1.0, min_edges=5)["by_source"] == {}
