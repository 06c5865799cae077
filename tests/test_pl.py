"""Tests of grn_mnn.pl: every plot writes a real PNG, also for degenerate inputs."""

from __future__ import annotations

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from grn_mnn import pl
from grn_mnn.errors import InputError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _assert_png(path, min_bytes: int = 2000) -> None:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC
    assert len(data) > min_bytes
    image = mpimg.imread(path)
    assert image.ndim == 3 and image.shape[0] > 100 and image.shape[1] > 100
    assert image[..., :3].std() > 0.01  # something was drawn, not a blank canvas
    assert not list(path.parent.glob(f".{path.name}*"))  # no temporary file left


@pytest.fixture(autouse=True)
def _no_pyplot_figures():
    import matplotlib.pyplot as plt

    before = set(plt.get_fignums())
    yield
    assert set(plt.get_fignums()) == before  # pl never opens pyplot figures


def _scores(**overrides):
    methods = {
        "cellmnn": {
            "sign": {"accuracy": 0.71, "n_edges": 40, "ci": {"accuracy": [0.6, 0.8]}},
            "link": {"auprc_ratio": 1.6, "n_true": 25, "ci": {"auprc_ratio": [1.2, 2.0]}},
        },
        "random": {"sign": {"accuracy": 0.5}, "link": {"auprc_ratio": 1.0}},
        "pearson": {"sign": {"accuracy": 0.62}, "link": {"auprc_ratio": 1.3}},
        "linear_ode": {"sign": {"accuracy": 0.55}, "link": {"auprc_ratio": 1.1}},
    }
    methods.update(overrides)
    return {"reference": {"n_edges": 40}, "methods": methods}


def test_plot_scores(tmp_path):
    out = pl.plot_scores(_scores(), tmp_path / "scores.png", title="TRRUST")
    assert out == tmp_path / "scores.png"
    _assert_png(out)


def test_plot_scores_marks_the_all_activation_floor_on_the_sign_panel():
    def sign_lines(scores):
        ax = pl._scores_figure(scores, None).axes[0]
        return {line.get_label(): line.get_ydata()[0] for line in ax.get_lines()}

    scores = _scores()
    assert "all activation = 0.617" not in sign_lines(scores)  # no floor in the scores
    scores["reference"]["all_activation"] = {"accuracy": 0.617}
    lines = sign_lines(scores)
    assert lines["all activation = 0.617"] == pytest.approx(0.617)
    assert lines["coin flip = 0.5"] == 0.5
    link = pl._scores_figure(scores, None).axes[1]
    assert not any("activation" in line.get_label() for line in link.get_lines())


def test_plot_scores_degenerate(tmp_path):
    scores = _scores(
        pearson={"sign": {"accuracy": None}, "link": {"auprc_ratio": float("nan")}},
        linear_ode={},
        odd="not a dict",
    )
    scores["methods"]["random"]["sign"]["ci"] = {"accuracy": [None, 0.6]}
    _assert_png(pl.plot_scores(scores, tmp_path / "nan.png"))
    _assert_png(pl.plot_scores({"methods": {}}, tmp_path / "empty.png"), min_bytes=1000)
    with pytest.raises(InputError, match="methods"):
        pl.plot_scores({"sign": 1}, tmp_path / "bad.png")


def test_plot_pr_curves(tmp_path):
    rng = np.random.default_rng(0)
    y = (rng.random(200) < 0.2).astype(int)
    curves = {"cellmnn": (y, y + rng.normal(0, 0.8, 200)), "random": (y, rng.random(200))}
    _assert_png(pl.plot_pr_curves(curves, tmp_path / "pr.png"))


def test_plot_pr_curves_degenerate(tmp_path):
    y = np.array([0, 1, 0, 1, 1])
    score = np.array([0.1, np.nan, 0.3, 0.9, 0.5])
    curves = {
        "cellmnn": (y, score),  # NaN score dropped
        "no_positives": (np.zeros(4), np.arange(4.0)),
        "mismatch": (y, score[:3]),
        "all_nan": (y, np.full(5, np.nan)),
    }
    _assert_png(pl.plot_pr_curves(curves, tmp_path / "pr.png"))
    _assert_png(pl.plot_pr_curves({}, tmp_path / "none.png"), min_bytes=1000)


def test_plot_interaction_heatmap(tmp_path):
    rng = np.random.default_rng(1)
    genes = [f"G{i}" for i in range(8)]
    rows = [
        (s, t, rng.normal(), time) for time in (0.0, 1.5, 3.0) for s in genes[:3] for t in genes
    ]
    edges = pd.DataFrame(rows, columns=["source", "target", "weight", "time"])
    edges = edges.iloc[:-5]  # some edges absent at the last time point
    _assert_png(pl.plot_interaction_heatmap(edges, tmp_path / "heat.png", top_n=10))


def test_plot_interaction_heatmap_degenerate(tmp_path):
    one = pd.DataFrame(
        {"source": ["A", "B"], "target": ["B", "A"], "weight": [0.5, np.nan], "time": [2.0, 2.0]}
    )
    _assert_png(pl.plot_interaction_heatmap(one, tmp_path / "one.png"))
    no_time = one.drop(columns="time").fillna(-0.2)
    _assert_png(pl.plot_interaction_heatmap(no_time, tmp_path / "notime.png"))
    groups = no_time.assign(group=["ES", "EB"])
    _assert_png(pl.plot_interaction_heatmap(groups, tmp_path / "groups.png"))
    zeros = one.fillna(0.0).assign(weight=0.0)
    _assert_png(pl.plot_interaction_heatmap(zeros, tmp_path / "zeros.png"), min_bytes=1000)
    all_nan = one.assign(weight=np.nan)
    _assert_png(pl.plot_interaction_heatmap(all_nan, tmp_path / "empty.png"), min_bytes=1000)
    with pytest.raises(InputError, match="weight"):
        pl.plot_interaction_heatmap(one.drop(columns="weight"), tmp_path / "bad.png")


def test_plot_training_history(tmp_path):
    history = {
        "epoch": [1, 2, 3, 4],
        "train_loss": [1.0, 0.6, 0.4, 0.3],
        "val_loss": [1.1, 0.7, float("nan"), 0.5],
    }
    _assert_png(pl.plot_training_history(history, tmp_path / "hist.png"))
    _assert_png(
        pl.plot_training_history({"train_loss": [2.0]}, tmp_path / "single.png"), min_bytes=1000
    )
    _assert_png(
        pl.plot_training_history({"train_loss": [np.nan]}, tmp_path / "nan.png"), min_bytes=1000
    )


def _perturbation_frames():
    rng = np.random.default_rng(0)
    bg = pd.DataFrame({"x": rng.normal(size=80), "y": rng.normal(size=80)})
    bg["time"] = np.repeat([0.0, 1.0], 40)
    shifts = pd.DataFrame(
        {
            "cell": [f"c{i}" for i in range(40)],
            "time": np.repeat([1.0, 2.0], 20),
            "x": rng.normal(size=40),
            "y": rng.normal(size=40),
            "dx": rng.normal(size=40) * 0.01,
            "dy": rng.normal(size=40) * 0.01,
        }
    )
    table = pd.DataFrame({"gene": np.tile(["A", "B", "C"], 2), "time": np.repeat([0.0, 1.0], 3)})
    table["delta"] = [0.0, 0.1, -0.2, 0.3, -0.1, 0.0]
    return bg, shifts, table


def test_perturbation_plots(tmp_path):
    bg, shifts, table = _perturbation_frames()
    _assert_png(pl.plot_perturbation_arrows(bg, shifts, tmp_path / "a.png"))
    bg["group"] = np.where(bg["x"] > 0, "g1", "g2")
    _assert_png(pl.plot_perturbation_arrows(bg, shifts.assign(dx=0.0, dy=0.0), tmp_path / "b.png"))
    _assert_png(pl.plot_perturbation_genes(table, tmp_path / "g.png"))
    with pytest.raises(InputError, match="delta"):
        pl.plot_perturbation_genes(table.drop(columns="delta"), tmp_path / "x.png")
