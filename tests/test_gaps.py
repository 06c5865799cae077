"""Gap diagnostics: snapshot separation, OT and Cell-MNN fraction scans, path timing."""

import numpy as np
import pytest
import torch

from grn_mnn import gaps
from grn_mnn.benchdata import BenchmarkData
from grn_mnn.errors import ConfigError


class _Flow(torch.nn.Module):
    """A stand-in model with a known path: straight constant speed or exponential decay."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def propagate(self, z0, t0, t1):
        dt = (t1 - t0).reshape(-1, 1)
        if self.kind == "straight":
            return z0 + dt * torch.tensor([1.0, -2.0, 0.5])
        return z0 * torch.exp(-dt)


def test_path_fraction_reads_the_timing_of_the_path():
    z0 = np.random.default_rng(0).normal(size=(30, 3)) + 3.0
    straight = gaps.path_fraction(_Flow("straight"), z0, 0.0, 1.0, 4.0)
    np.testing.assert_allclose(straight, 0.25, atol=1e-6)
    # decay covers (1 - e^-1) / (1 - e^-2) of its way in the first half of the gap
    decay = gaps.path_fraction(_Flow("decay"), z0, 1.0, 2.0, 3.0)
    np.testing.assert_allclose(decay, (1 - np.exp(-1)) / (1 - np.exp(-2)), rtol=1e-5)


def test_ot_fraction_scan_finds_where_the_snapshot_lies():
    rng = np.random.default_rng(0)
    base = rng.normal(size=(40, 2))
    # time 1 lies three quarters of the way from time 0 to time 2 (a pure translation)
    z = np.vstack([base, base + [7.5, 0.0], base + [10.0, 0.0]])
    t = np.repeat([0.0, 1.0, 2.0], 40)
    data = BenchmarkData(z, t, "toy", {"n_pcs": 2})
    scan = gaps.ot_fraction_scan(data, 1, [0.25, 0.5, 0.75, 1.0])
    assert min(scan, key=scan.get) == 0.75
    assert scan[0.75] == pytest.approx(0.0, abs=1e-6)
    assert scan[0.5] == pytest.approx(2.5, rel=1e-6)


def test_push_fraction_scan_finds_the_fraction_of_the_real_cells():
    z0 = np.random.default_rng(0).normal(size=(30, 3))
    v = np.array([1.0, -2.0, 0.5])
    real = z0 + 3.0 * v  # the straight flow reaches these at t = 3, i.e. 0.75 of the way 0 -> 4
    scan = gaps.push_fraction_scan(_Flow("straight"), z0, 0.0, 4.0, real, [0.25, 0.5, 0.75, 1.0])
    assert min(scan, key=scan.get) == 0.75
    assert scan[0.75] == pytest.approx(0.0, abs=1e-5)
    # half-way the pushed cloud is a translate of the real one by one unit of v
    assert scan[0.5] == pytest.approx(np.linalg.norm(v), rel=1e-5)
    with pytest.raises(ConfigError, match="fractions"):
        gaps.push_fraction_scan(_Flow("straight"), z0, 0.0, 4.0, real, [1.5])


def test_snapshot_separation_flags_a_pair_that_did_not_move():
    rng = np.random.default_rng(0)
    # times 1 and 2 are two samples of one population; 0 -> 1 is a real move
    z = np.vstack([rng.normal(size=(40, 2)), rng.normal(size=(80, 2)) + [4.0, 0.0]])
    t = np.repeat([0.0, 1.0, 2.0], 40)
    sep = gaps.snapshot_separation(BenchmarkData(z, t, "toy", {"n_pcs": 2}), n_perm=19)
    assert [(r["from"], r["to"]) for r in sep] == [(0.0, 1.0), (1.0, 2.0)]
    assert sep[0]["w1"] > sep[0]["null_max"] and sep[0]["p_value"] == pytest.approx(0.05)
    assert sep[1]["w1"] < sep[0]["null_max"] and sep[1]["p_value"] > 0.05
