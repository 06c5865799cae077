"""score(): the scores.json layout, known answers, baselines and edge-file errors."""

import json
import logging
import math

import numpy as np
import pandas as pd
import pytest

from grn_mnn import baselines as bl
from grn_mnn import peers, validate
from grn_mnn._io import write_json
from grn_mnn.errors import InputError, ReferenceNetworkError
from grn_mnn.reference import load_reference

GENES = ["T1", "T2", "T3", "g1", "g2", "g3", "g4", "g5", "g6", "g7"]
REF_TSV = (
    "TF\tTarget\tMode\n"
    "T1\tg1\tActivation\n"
    "T1\tg2\tRepression\n"
    "T1\tg3\tUnknown\n"
    "T2\tg1\tRepression\n"
    "T2\tg4\tActivation\n"
    "T2\tT1\tActivation\n"
    "T3\tg5\tActivation\n"
    "T3\tg5\tRepression\n"  # conflicting: link task only
    "X9\tg1\tActivation\n"  # TF not in the data
)
N_CAND = 3 * 9  # sources T1-T3, 10 targets, no self-loops
N_TRUE = 7
BASE = ("random", "pearson", "linear_ode")  # no peers: they have their own tests


@pytest.fixture
def ref(tmp_path):
    p = tmp_path / "ref.tsv"
    p.write_text(REF_TSV)
    return load_reference(p)


def truth(ref):
    e = ref.edges[ref.edges["tf"] != "X9"]
    return pd.DataFrame(
        {"source": e["tf"], "target": e["target"], "weight": np.where(e["sign"] == 0, 1, e["sign"])}
    )


def data(seed=0):
    rng = np.random.default_rng(seed)
    times = np.repeat([0.0, 1.0, 2.0, 4.0], 10)
    x = rng.normal(size=(40, len(GENES))) + times[:, None] * rng.normal(size=len(GENES))
    return x, times


def test_layout_has_every_key(ref):
    x, t = data()
    s = validate.score(
        truth(ref), ref, expression=x, genes=GENES, times=t, n_boot=20, n_random=5, baselines=BASE
    )
    assert set(s) == {"reference", "methods", "settings"}
    for k in (
        "n_reference_edges",
        "n_edges_in_data",
        "n_tfs_in_data",
        "n_targets_in_data",
        "n_signed_edges_in_data",
        "n_genes_data",
        "cleaning",
        "all_activation",
    ):
        assert k in s["reference"]
    assert list(s["methods"]) == ["cellmnn", "random", "pearson", "linear_ode"]
    for name, block in s["methods"].items():
        for key in ("accuracy", "balanced_accuracy", "precision", "recall", "f1", "n_edges"):
            assert key in block["sign"], (name, key)
        for key in ("per_tf", "ci"):
            assert key in block["sign"]
        for key in ("auroc", "auprc", "auprc_ratio", "epr", "signed_epr", "n_true", "n_candidates"):
            assert key in block["link"], (name, key)
        assert "ci" in block["link"]
    assert s["methods"]["random"]["link"]["expected"]["auroc"] == 0.5
    assert "std" in s["methods"]["random"]["sign"]
    assert s["settings"]["n_random"] == 5 and s["settings"]["n_boot"] == 20
    assert s["settings"]["skipped_baselines"] == {}
    json.dumps(s, default=float)  # serialisable


def test_perfect_predictor(ref):
    s = validate.score(truth(ref), ref, genes=GENES, baselines=(), n_boot=50)
    m = s["methods"]["cellmnn"]
    assert m["sign"]["accuracy"] == 1.0 and m["sign"]["balanced_accuracy"] == 1.0
    assert m["sign"]["f1"] == 1.0
    assert m["sign"]["n_edges"] == 5  # the conflicting pair is excluded from the sign task
    lk = m["link"]
    assert (lk["n_true"], lk["n_candidates"]) == (N_TRUE, N_CAND)
    assert lk["auroc"] == 1.0 and lk["auprc"] == 1.0
    assert lk["auprc_ratio"] == pytest.approx(N_CAND / N_TRUE)
    assert lk["epr"] == pytest.approx(N_CAND / N_TRUE)
    # signed EPR counts the 5 signed true edges with the right sign among the top 7
    assert lk["signed_epr"] == pytest.approx(5 / 7 * N_CAND / N_TRUE)
    assert lk["ci"]["auroc"] == [1.0, 1.0]
    assert m["coverage"]["n_candidates_missing_weight_0"] == N_CAND - N_TRUE
    assert s["reference"]["n_candidate_sources"] == 3


def test_versus_gives_paired_differences_against_every_baseline(ref):
    x, t = data()
    s = validate.score(
        truth(ref), ref, expression=x, genes=GENES, times=t, n_boot=50, n_random=3, baselines=BASE
    )
    versus = s["methods"]["cellmnn"]["versus"]
    assert set(versus) == {"pearson", "linear_ode"}  # random has no draws of its own
    m, p = s["methods"]["cellmnn"], s["methods"]["pearson"]
    for task, metric in validate.VERSUS:
        d = versus["pearson"][metric]
        assert d["difference"] == pytest.approx(m[task][metric] - p[task][metric])
    # the truth itself ranks every true edge first: better than Pearson in every resample
    auroc = versus["pearson"]["auroc"]
    assert auroc["difference"] > 0 and auroc["ci"][0] > 0 and auroc["share_a_better"] == 1.0
    # Pearson scored as the method itself: zero difference in every resample
    twin = validate.score(
        bl.matrix_to_edges(bl.pearson_matrix(x, np.arange(3)), GENES, np.arange(3)),
        ref,
        expression=x,
        genes=GENES,
        times=t,
        n_boot=50,
        baselines=("pearson",),
    )
    zero = twin["methods"]["cellmnn"]["versus"]["pearson"]
    assert zero["auprc_ratio"]["ci"] == [0.0, 0.0] and zero["accuracy"]["ci"] == [0.0, 0.0]


def test_all_activation_scores_the_share_of_activations(ref):
    s = validate.score(truth(ref), ref, genes=GENES, baselines=(), n_boot=30)
    prior = s["reference"]["all_activation"]
    # signed edges: T1-g1 +, T1-g2 -, T2-g1 -, T2-g4 +, T2-T1 + (the conflicting pair is out)
    assert (prior["n_edges"], prior["n_activation"]) == (5, 3)
    assert prior["accuracy"] == pytest.approx(3 / 5)
    assert prior["balanced_accuracy"] == pytest.approx(0.5)
    lo, hi = prior["ci"]["accuracy"]
    assert lo <= 3 / 5 <= hi
    row = validate.score_table(s).loc["all activation"]
    assert row["sign_acc"] == pytest.approx(3 / 5) and math.isnan(row["auroc"])
    # it depends on the reference only, not on the predicted network
    flipped = truth(ref).assign(weight=lambda d: -d["weight"])
    again = validate.score(flipped, ref, genes=GENES, baselines=(), n_boot=30)
    assert again["reference"]["all_activation"]["accuracy"] == prior["accuracy"]


def test_reversed_predictor(ref):
    tr = truth(ref)
    tr["weight"] = -0.1 * tr["weight"]  # every sign wrong, every true edge weak
    others = [(a, b) for a in ("T1", "T2", "T3") for b in GENES if a != b]
    false = pd.DataFrame(others, columns=["source", "target"])
    false = false.merge(tr[["source", "target"]], how="left", indicator=True)
    false = false[false["_merge"] == "left_only"].drop(columns="_merge").assign(weight=1.0)
    s = validate.score(pd.concat([tr, false]), ref, genes=GENES, baselines=(), n_boot=0)
    m = s["methods"]["cellmnn"]
    assert m["sign"]["accuracy"] == 0.0 and m["link"]["auroc"] == 0.0
    assert m["link"]["epr"] == 0.0
    assert m["sign"]["ci"]["accuracy"] is None  # n_boot = 0


def test_edge_absent_from_truth_is_not_counted(ref):
    tr = truth(ref)
    extra = pd.DataFrame({"source": ["T1"], "target": ["g6"], "weight": [50.0]})
    s = validate.score(pd.concat([tr, extra]), ref, genes=GENES, baselines=(), n_boot=0)
    lk = s["methods"]["cellmnn"]["link"]
    assert lk["n_true"] == N_TRUE and lk["auprc"] < 1.0 and lk["auroc"] < 1.0
    assert lk["epr"] == pytest.approx((6 / 7) * N_CAND / N_TRUE)


def test_missing_edges_and_duplicates_are_counted(ref):
    tr = truth(ref)
    half = pd.concat([tr.iloc[:3], tr.iloc[:1].assign(weight=3.0)])  # duplicate -> averaged
    outside = pd.DataFrame({"source": ["g1"], "target": ["g2"], "weight": [1.0]})
    s = validate.score(pd.concat([half, outside]), ref, genes=GENES, baselines=(), n_boot=0)
    cov = s["methods"]["cellmnn"]["coverage"]
    assert cov["n_candidates_predicted"] == 3 and cov["n_edges_averaged_from_duplicates"] == 1
    assert cov["n_rows_outside_candidates"] == 1
    sign = s["methods"]["cellmnn"]["sign"]
    assert sign["n_unpredicted"] == 3 and sign["accuracy"] == pytest.approx(2 / 5)


def test_baselines_need_data_and_random_sits_at_chance(ref):
    s = validate.score(truth(ref), ref, genes=GENES, n_random=200, n_boot=0)
    assert set(s["methods"]) == {"cellmnn", "random"}
    skipped = s["settings"]["skipped_baselines"]
    assert set(skipped) == {"pearson", "linear_ode", "grnboost2", "genie3"}
    assert skipped["genie3"] == "needs expression and genes"
    r = s["methods"]["random"]
    assert r["link"]["auroc"] == pytest.approx(0.5, abs=0.04)
    assert r["link"]["auprc"] == pytest.approx(r["link"]["expected"]["auprc"], rel=0.1)
    assert r["sign"]["accuracy"] == pytest.approx(0.5, abs=0.05)
    x, t = data()
    s = validate.score(
        truth(ref), ref, expression=x, genes=GENES, n_random=2, n_boot=0, baselines=BASE
    )
    assert "pearson" in s["methods"] and "linear_ode" in s["settings"]["skipped_baselines"]


@pytest.mark.skipif(not peers.available(), reason="arboreto not installed")
def test_peers_scored_beside_baselines_when_available(ref):
    x, t = data()
    fast = {"grnboost2": {"n_estimators": 20}, "genie3": {"n_estimators": 20}}
    s = validate.score(
        truth(ref), ref, expression=x, genes=GENES, times=t, n_boot=10, n_random=2,
        peer_options=fast, seed=1,
    )  # fmt: skip
    assert list(s["methods"]) == ["cellmnn", "random", "pearson", "linear_ode", *peers.PEERS]
    info = s["settings"]["peers"]
    assert info["scored"] == list(peers.PEERS) and info["skipped"] is None
    assert info["options"] == fast and set(info["seconds"]) == set(peers.PEERS)
    src = bl.source_indices(GENES, ["T1", "T2", "T3"])
    imp = peers.genie3_matrix(x, src, seed=1, n_estimators=20)
    edges = bl.matrix_to_edges(imp, GENES, src)
    direct = validate.score(edges, ref, genes=GENES, baselines=(), n_boot=10)["methods"]["cellmnn"]
    for task in ("sign", "link"):  # the same network as peers.genie3 on the candidate sources
        assert (
            s["methods"]["genie3"][task]["accuracy" if task == "sign" else "auroc"]
            == (direct[task]["accuracy" if task == "sign" else "auroc"])
        )
    tab = validate.score_table(s)
    assert {"grnboost2", "genie3"} <= set(tab.index)
    assert np.isfinite(tab.loc["grnboost2", "auroc"])
    tables: dict = {}
    only = validate.score(
        truth(ref), ref, expression=x, genes=GENES, baselines=("grnboost2",), n_boot=0,
        peer_options=fast, peer_tables=tables,
    )  # fmt: skip
    assert set(only["methods"]) == {"cellmnn", "grnboost2"}
    # the handed-back table is the network that was scored (for run's precision-recall plot)
    assert list(tables) == ["grnboost2"]
    again = validate.score(tables["grnboost2"], ref, genes=GENES, baselines=(), n_boot=0)
    assert again["methods"]["cellmnn"]["link"] == only["methods"]["grnboost2"]["link"]
    assert again["methods"]["cellmnn"]["sign"] == only["methods"]["grnboost2"]["sign"]


def test_peers_skipped_in_one_line_when_absent(ref, monkeypatch, caplog):
    monkeypatch.setattr(peers, "_import_error", lambda: "ModuleNotFoundError: No module 'arboreto'")
    x, t = data()
    with caplog.at_level(logging.WARNING, logger="grn_mnn.validate"):
        s = validate.score(truth(ref), ref, expression=x, genes=GENES, times=t, n_boot=0)
    assert list(s["methods"]) == ["cellmnn", "random", "pearson", "linear_ode"]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "\n" not in lines[0]
    assert "GRNBoost2 and GENIE3 skipped" in lines[0] and "pip install grn_mnn[peers]" in lines[0]
    assert s["settings"]["peers"]["skipped"] == lines[0]
    assert s["settings"]["skipped_baselines"]["genie3"] == lines[0]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="grn_mnn.validate"):
        q = validate.score(truth(ref), ref, expression=x, genes=GENES, n_boot=0, quiet=True)
    assert not caplog.records and q["settings"]["peers"]["skipped"] == lines[0]
    with pytest.raises(InputError, match="unknown peer"):
        validate.score(truth(ref), ref, genes=GENES, peer_options={"aracne": {}})


def test_per_cell_majority_vote(ref):
    signed = ref.signed()
    signed = signed[signed["tf"] != "X9"].reset_index(drop=True)
    n_e = len(signed)
    values = np.tile(signed["sign"].to_numpy(float), (6, 1))
    values[:2] *= -1  # 2 of 6 cells wrong: the majority is still right
    active = np.ones((6, n_e), bool)
    active[:, 0] = False  # no active cell: excluded
    per_cell = {"values": values, "active": active, "edges": signed[["tf", "target"]]}
    s = validate.score(truth(ref), ref, genes=GENES, baselines=(), n_boot=10, per_cell=per_cell)
    v = s["methods"]["cellmnn"]["sign_per_cell"]
    assert v["accuracy"] == 1.0 and v["n_edges"] == n_e - 1
    assert v["n_excluded_no_active_cell"] == 1
    assert v["mean_fraction_correct_cells"] == pytest.approx(4 / 6)
    assert "predicted" not in v  # arrays are not stored in scores.json
    with pytest.raises(InputError, match="per_cell"):
        validate.score(
            truth(ref),
            ref,
            genes=GENES,
            baselines=(),
            per_cell={"values": values, "active": active},
        )


def test_no_overlap_raises(ref):
    with pytest.raises(ReferenceNetworkError, match="no edge of reference"):
        validate.score(truth(ref), ref, genes=["P", "Q", "R"], baselines=())


def test_score_table_and_json_round_trip(ref, tmp_path):
    x, t = data()
    s = validate.score(
        truth(ref), ref, expression=x, genes=GENES, times=t, n_boot=20, n_random=3, baselines=BASE
    )
    per_cell = {"values": np.ones((2, 5)), "active": np.ones((2, 5), bool), "true_sign": np.ones(5)}
    s2 = validate.score(truth(ref), ref, genes=GENES, n_boot=5, n_random=2, per_cell=per_cell)
    tab = validate.score_table(s)
    assert list(tab.index) == [
        "cellmnn",
        "random",
        "random (expected)",
        "pearson",
        "linear_ode",
        "all activation",
    ]
    for col in ("sign_acc", "bal_acc", "f1", "auroc", "auprc_ratio", "epr", "auroc_ci"):
        assert col in tab.columns
    assert tab.loc["cellmnn", "sign_acc"] == 1.0 and tab.loc["cellmnn", "auroc_ci"].startswith("[")
    write_json(tmp_path / "scores.json", s2)
    back = json.loads((tmp_path / "scores.json").read_text())
    tab2 = validate.score_table(back)
    assert "cellmnn (per-cell vote)" in tab2.index
    assert math.isnan(tab2.loc["cellmnn (per-cell vote)", "auroc"])
    with pytest.raises(InputError):
        validate.score_table({"nope": 1})


def test_score_edges_file(ref, tmp_path):
    p = tmp_path / "edges.csv"
    truth(ref).to_csv(p, index=False)
    s = validate.score_edges_file(p, ref, genes=GENES, n_boot=0, n_random=2)
    assert "input" in s["methods"] and s["methods"]["input"]["sign"]["accuracy"] == 1.0
    ref_path = tmp_path / "ref.tsv"
    s = validate.score_edges_file(p, str(ref_path), n_boot=0, n_random=2)  # spec as a path
    assert s["reference"]["n_genes_data"] == len(set(truth(ref)[["source", "target"]].stack()))


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "is empty"),
        ("source,target\nT1,g1\n", r"lacks column\(s\) \['weight'\]"),
        ("source,target,weight\nT1,g1,0.5\nT1,g2,strong\n", "first at line 3"),
        ("source,target,weight\nT1,g1,nan\n", "not finite"),
        ("source,target,weight\n", "no rows"),
    ],
)
def test_malformed_edge_files(ref, tmp_path, text, match):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(InputError, match=match) as err:
        validate.score_edges_file(p, ref, genes=GENES)
    assert "bad.csv" in str(err.value)
    with pytest.raises(InputError, match="does not exist"):
        validate.score_edges_file(tmp_path / "none.csv", ref)


def test_argument_errors(ref):
    x, t = data()
    with pytest.raises(InputError, match="unknown baseline"):
        validate.score(truth(ref), ref, baselines=("scenic",))
    with pytest.raises(InputError, match="without genes"):
        validate.score(truth(ref), ref, expression=x)
    with pytest.raises(InputError, match="lacks column"):
        validate.score(truth(ref).drop(columns="weight"), ref)


def test_sources_restrict_the_scored_reference_for_every_method(ref):
    x, t = data()
    e = truth(ref)
    # a network that only names T1's edges: without sources it is charged for T2 and T3
    only_t1 = e[e["source"] == "T1"]
    full = validate.score(
        only_t1, ref, expression=x, genes=GENES, times=t, n_boot=0, n_random=2, baselines=BASE
    )
    part = validate.score(
        only_t1,
        ref,
        expression=x,
        genes=GENES,
        times=t,
        n_boot=0,
        n_random=2,
        baselines=BASE,
        sources=["t1", "g1"],
    )
    assert full["reference"]["n_candidate_sources"] == 3
    assert part["reference"]["n_candidate_sources"] == 1  # g1 names no reference edge
    assert part["methods"]["cellmnn"]["sign"]["accuracy"] == 1.0
    assert full["methods"]["cellmnn"]["sign"]["accuracy"] < 1.0
    assert part["methods"]["cellmnn"]["link"]["auroc"] == 1.0
    # the baselines are scored on the same, restricted candidates
    assert (
        part["methods"]["pearson"]["link"]["n_true"]
        == part["methods"]["cellmnn"]["link"]["n_true"]
        == 3
    )
    assert part["settings"]["sources_given"] == 2
    with pytest.raises(ReferenceNetworkError, match="given sources"):
        validate.score(e, ref, genes=GENES, n_boot=0, baselines=("random",), sources=["g7"])


def test_versus_table_reads_scores_json_back(ref, tmp_path):
    x, t = data()
    s = validate.score(
        truth(ref), ref, expression=x, genes=GENES, times=t, n_boot=30, baselines=("pearson",)
    )
    write_json(tmp_path / "s.json", s)
    back = json.loads((tmp_path / "s.json").read_text())
    tab = validate.versus_table(back)
    assert list(tab.index) == ["cellmnn - pearson"]
    d = s["methods"]["cellmnn"]["versus"]["pearson"]["auprc_ratio"]
    assert tab.loc["cellmnn - pearson", "auprc_ratio"] == pytest.approx(d["difference"])
    assert tab.loc["cellmnn - pearson", "auprc_ratio_ci"].startswith("[")
    assert "cellmnn - pearson" in validate.versus_text(back)
    alone = validate.score(truth(ref), ref, genes=GENES, baselines=(), n_boot=10)
    assert validate.versus_table(alone).empty and validate.versus_text(alone) == ""
    with pytest.raises(InputError, match="validate.score"):
        validate.versus_table({"x": 1})
