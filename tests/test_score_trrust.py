"""Tests of validation/score_trrust.py helpers that need no data set."""

from __future__ import annotations

import pytest
from conftest import validation_script


@pytest.fixture(scope="module")
def st():
    return validation_script("score_trrust")


def test_wilson_interval_of_the_sign_split(st):
    lo, hi = st._wilson(32, 44)  # the hepatocyte within-time split of session 7
    assert lo < 32 / 44 < hi and 0.5 < lo < hi < 1.0
    assert st._wilson(0, 10)[0] == pytest.approx(0.0, abs=1e-12)
    assert st._wilson(0, 10)[1] == pytest.approx(0.2775, abs=1e-4)  # the textbook value
    lo5, hi5 = st._wilson(5, 10)
    assert lo5 == pytest.approx(1 - hi5)  # symmetric around one half
    assert st._wilson(0, 0) is None


def test_all_activation_row_sits_beside_the_methods(st, tmp_path):
    scores = {
        "reference": {
            "all_activation": {
                "accuracy": 0.62,
                "balanced_accuracy": 0.5,
                "n_edges": 50,
                "ci": {"accuracy": [0.5, 0.74], "balanced_accuracy": [0.5, 0.5]},
            }
        }
    }
    (rec,) = st.all_activation_record(scores, "d", 0)
    assert rec["method"] == st.ALL_ACTIVATION and rec["sign.accuracy"] == 0.62
    assert st.all_activation_record({"reference": {}}, "d", 0) == []
    method = {"method": "grn_mnn", "dataset": "d", "seed": 0, "n_sign_edges": 50}
    method.update({f"{t}.{m}": 0.6 for t, m in st.METRICS})
    method["sign.balanced_accuracy_ci"] = [0.51, 0.69]
    md = st.write_results(tmp_path, [method, rec], {})
    row = next(line for line in md if st.ALL_ACTIVATION in line)
    assert "0.620 ± 0.000 [0.500, 0.740]" in row and row.endswith("| – | – | – | 1 |")  # no link
    assert "0.600 ± 0.000 [0.510, 0.690]" in next(line for line in md if "grn_mnn" in line)


def test_paired_differences_get_their_own_table(st, tmp_path):
    diff = {"difference": -1.5, "ci": [-3.0, -0.25], "share_a_better": 0.02}
    block = {m: diff for _, m in st.VERSUS_SHOWN}
    scores = {"methods": {"grn_mnn": {"versus": {"pearson": block}}, "pearson": {}}}
    recs = st.versus_records(scores, "d", 0) + st.versus_records(scores, "d", 1)
    assert [r["method"] for r in recs] == ["grn_mnn − pearson"] * 2
    method = {"method": "grn_mnn", "dataset": "d", "seed": 0, "n_sign_edges": 50}
    method.update({f"{t}.{m}": 0.6 for t, m in st.METRICS})
    md = st.write_results(tmp_path, [method, *recs], {})
    rows = [line for line in md if "grn_mnn − pearson" in line]
    assert len(rows) == 1 and "-1.500 [-3.000, -0.250] (better in 2%)" in rows[0]
    assert rows[0].endswith("| 2 |")  # two seeds
    assert not any("−" in line for line in md if line.startswith("| d | grn_mnn |"))


def test_keep_peers_keeps_peer_rows_but_not_their_stale_paired_differences(st):
    records = [
        {"method": "grn_mnn"},
        {"method": "pearson"},
        {"method": "genie3", "seed": 0},
        {"method": "grnboost2", "seed": 1},
        {"method": "grn_mnn − genie3", "versus": True},
        {"method": "grn_mnn − pearson", "versus": True},
    ]
    kept = st.kept_peer_records(records)
    assert [r["method"] for r in kept] == ["genie3", "grnboost2"]
