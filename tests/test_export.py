"""Tests of grn_mnn.export: GraphML typing, per-slice files, aggregate, CSV, networkx."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from grn_mnn import export
from grn_mnn.errors import InputError

NS = {"g": "http://graphml.graphdrawing.org/xmlns"}


@pytest.fixture
def timed_edges() -> pd.DataFrame:
    # A->B and A->C at both times, B->C only at t=6, C->A only at t=0
    return pd.DataFrame(
        {
            "source": ["A", "A", "C", "A", "A", "B"],
            "target": ["B", "C", "A", "B", "C", "C"],
            "weight": np.array([0.5, -1.0, 0.25, 0.7, -0.5, 0.1], dtype=np.float32),
            "time": np.array([0, 0, 0, 6, 6, 6], dtype=np.int64),
        }
    )


@pytest.fixture
def node_attrs() -> pd.DataFrame:
    return pd.DataFrame(
        {"is_tf": [True, False, True], "mean_expression": [1.5, np.nan, 0.25]},
        index=["A", "B", "D"],  # C missing, D not in the network
    )


def _key_types(path) -> dict[tuple[str, str], str]:
    root = ET.parse(path).getroot()
    return {
        (k.get("for"), k.get("attr.name")): k.get("attr.type") for k in root.findall("g:key", NS)
    }


def _graph_data(graph: nx.DiGraph) -> dict:
    """Graph-level data read back (without networkx's node/edge default entries)."""
    return {k: v for k, v in graph.graph.items() if k not in ("node_default", "edge_default")}


def _check_clean(graph: nx.DiGraph) -> None:
    """Every value is a finite Python scalar of the documented type."""
    types = {
        "weight": float,
        "abs_weight": float,
        "time": float,
        "sign": int,
        "rank": int,
        "n_slices": int,
        "group": str,
    }
    for _, _, data in graph.edges(data=True):
        assert {"weight", "abs_weight", "sign", "rank"} <= set(data)
        for key, value in data.items():
            assert type(value) is types[key], (key, type(value))
            if isinstance(value, float):
                assert math.isfinite(value)
    for node, data in graph.nodes(data=True):
        assert data["name"] == node
        for value in data.values():
            assert value is not None
            if isinstance(value, float):
                assert math.isfinite(value)


def test_write_graphml_typed_attributes(tmp_path, timed_edges, node_attrs):
    one = timed_edges[timed_edges["time"] == 6]
    path = export.write_graphml(one, tmp_path / "net.graphml", node_attrs=node_attrs)
    key_types = _key_types(path)
    assert key_types[("edge", "weight")] == "double"
    assert key_types[("edge", "abs_weight")] == "double"
    assert key_types[("edge", "time")] == "double"
    assert key_types[("edge", "sign")] == "int"
    assert key_types[("edge", "rank")] == "int"
    assert key_types[("node", "is_tf")] == "boolean"
    assert key_types[("node", "mean_expression")] == "double"
    assert key_types[("node", "name")] == "string"
    assert "nan" not in path.read_text().lower()
    assert "none" not in path.read_text().lower()

    graph = nx.read_graphml(path)
    _check_clean(graph)
    assert graph.is_directed()
    assert sorted(graph.edges()) == [("A", "B"), ("A", "C"), ("B", "C")]
    ab = graph.edges["A", "B"]
    assert ab["weight"] == pytest.approx(0.7, abs=1e-6)
    assert ab["sign"] == 1 and ab["rank"] == 1 and ab["time"] == 6.0
    ac = graph.edges["A", "C"]
    assert ac["sign"] == -1 and ac["abs_weight"] == pytest.approx(0.5)
    # node attributes: A listed, B with NaN expression (omitted), C not listed (is_tf False)
    assert graph.nodes["A"] == {"name": "A", "is_tf": True, "mean_expression": 1.5}
    assert graph.nodes["B"] == {"name": "B", "is_tf": False}
    assert graph.nodes["C"] == {"name": "C", "is_tf": False}
    assert "D" not in graph  # rows of node_attrs outside the network are ignored
    assert ET.parse(path).getroot().find("g:graph", NS).get("id") == "net"


def test_graph_attributes_precede_nodes(tmp_path):
    edges = pd.DataFrame({"source": ["A", "B"], "target": ["B", "C"], "weight": [1.0, -1.0]})
    attrs = {"version": "0.1", "seed": np.int64(7), "lr": 1e-3, "skip": None, "bad": np.nan}
    attrs["reading"] = {"kind": "mean"}
    path = export.write_graphml(edges, tmp_path / "g.graphml", graph_attrs=attrs, name="grn")
    graph_el = ET.parse(path).getroot().find("g:graph", NS)
    tags = [child.tag.split("}")[1] for child in graph_el]
    # Cytoscape attaches <data> to the last node/edge seen: graph data must come first
    assert tags == ["data"] * 4 + ["node"] * 3 + ["edge"] * 2
    key_types = _key_types(path)
    assert key_types[("graph", "seed")] == "int" and key_types[("graph", "lr")] == "double"
    graph = nx.read_graphml(path)
    assert _graph_data(graph) == {
        "version": "0.1",
        "seed": 7,
        "lr": 1e-3,
        "reading": '{"kind": "mean"}',
    }
    assert graph_el.get("id") == "grn"
    with pytest.raises(InputError, match="reserved"):
        export.write_graphml(edges, tmp_path / "h.graphml", graph_attrs={"id": "x"})


def test_node_and_edge_attributes_with_the_same_name(tmp_path):
    edges = pd.DataFrame({"source": ["A"], "target": ["B"], "weight": [1.5]})
    attrs = pd.DataFrame({"weight": [2.0], "rank": [7]}, index=["A"])
    path = export.write_graphml(edges, tmp_path / "same.graphml", node_attrs=attrs)
    ids = [k.get("id") for k in ET.parse(path).getroot().findall("g:key", NS)]
    assert len(ids) == len(set(ids))  # unique key ids, as Cytoscape's parser needs
    graph = nx.read_graphml(path)
    assert graph.nodes["A"]["weight"] == 2.0 and graph.nodes["A"]["rank"] == 7
    assert graph.edges["A", "B"]["weight"] == 1.5 and graph.edges["A", "B"]["rank"] == 1


def test_to_networkx_python_types_and_derived_columns(timed_edges):
    one = timed_edges[timed_edges["time"] == 0]
    graph = export.to_networkx(one)
    assert graph.number_of_edges() == 3 and graph.number_of_nodes() == 3
    _check_clean(graph)
    ac = graph.edges["A", "C"]
    assert ac == {"weight": -1.0, "abs_weight": 1.0, "sign": -1, "time": 0.0, "rank": 1}
    assert graph.edges["C", "A"]["rank"] == 3


def test_given_columns_are_respected():
    edges = pd.DataFrame(
        {
            "source": ["X", "Y"],
            "target": ["Y", "Z"],
            "weight": [0.2, -0.1],
            "sign": [0, np.nan],  # a given 0 is kept, NaN is filled from the weight
            "rank": [2, 1],
            "group": ["early", "late"],
            "extra": ["dropped", "dropped"],
        }
    )
    graph = export.to_networkx(edges)
    assert graph.edges["X", "Y"]["sign"] == 0
    assert graph.edges["Y", "Z"]["sign"] == -1
    assert graph.edges["X", "Y"]["rank"] == 2
    assert graph.edges["X", "Y"]["group"] == "early"
    assert "extra" not in graph.edges["X", "Y"]


def test_export_networks_per_time_and_aggregate_mean(tmp_path, timed_edges, node_attrs):
    written = export.export_networks(
        timed_edges, tmp_path / "out", node_attrs=node_attrs, graph_attrs={"seed": 3}
    )
    assert list(written) == [
        f"network{s}.{ext}" for s in ("", "_time_0", "_time_6") for ext in ("graphml", "csv")
    ]
    assert all(p == tmp_path / "out" / name for name, p in written.items())
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert names == sorted(written)  # nothing else (no temporary files left behind)
    for t in (0, 6):
        graph = nx.read_graphml(written[f"network_time_{t}.graphml"])
        _check_clean(graph)
        assert _graph_data(graph) == {"seed": 3, "slice": f"time={t}"}
        part = timed_edges[timed_edges["time"] == t]
        assert graph.number_of_edges() == len(part)
        assert {d["time"] for _, _, d in graph.edges(data=True)} == {t}
        # rank recomputed within the slice
        assert sorted(d["rank"] for _, _, d in graph.edges(data=True)) == list(
            range(1, len(part) + 1)
        )
    agg = nx.read_graphml(written["network.graphml"])
    assert agg.graph["slice"] == "aggregate"
    _check_clean(agg)
    expected = (
        timed_edges.astype({"weight": float})
        .groupby(["source", "target"])["weight"]
        .agg(["mean", "size"])
    )
    assert agg.number_of_edges() == len(expected)
    for (s, t), row in expected.iterrows():
        data = agg.edges[s, t]
        assert data["weight"] == pytest.approx(float(row["mean"]), rel=1e-12)
        assert data["n_slices"] == int(row["size"])
        assert data["sign"] == int(np.sign(row["mean"]))
        assert "time" not in data
    assert agg.edges["A", "C"]["weight"] == pytest.approx(-0.75)
    assert agg.edges["B", "C"]["weight"] == pytest.approx(0.1, abs=1e-6)  # one slice only
    assert agg.edges["A", "C"]["rank"] == 1
    csv = pd.read_csv(written["network.csv"])
    assert list(csv.columns) == [
        "source",
        "target",
        "weight",
        "abs_weight",
        "sign",
        "rank",
        "n_slices",
    ]
    assert csv["weight"].to_numpy() == pytest.approx(expected["mean"].to_numpy(), rel=1e-7)


def test_export_groups_file_names_are_safe(tmp_path):
    edges = pd.DataFrame(
        {
            "source": ["A", "A", "B"],
            "target": ["B", "B", "A"],
            "weight": [1.0, 3.0, -2.0],
            "group": ["ES cells", "day 3/4", "ES cells"],
        }
    )
    written = export.export_networks(edges, tmp_path, by="group", formats=("graphml",))
    assert list(written) == [
        "network.graphml",
        "network_group_ES_cells.graphml",
        "network_group_day_3_4.graphml",
    ]
    graph = nx.read_graphml(written["network_group_day_3_4.graphml"])
    assert graph.edges["A", "B"]["group"] == "day 3/4"
    assert graph.graph["slice"] == "group=day 3/4"
    assert nx.read_graphml(written["network.graphml"]).edges["A", "B"]["weight"] == 2.0


def test_export_fractional_time_and_no_slices(tmp_path):
    edges = pd.DataFrame(
        {"source": ["A", "B"], "target": ["B", "A"], "weight": [1.0, 2.0], "time": [0.5, 0.5]}
    )
    written = export.export_networks(edges, tmp_path, prefix="grn")
    assert "grn_time_0.5.graphml" in written
    plain = edges.drop(columns="time")
    only = export.export_networks(plain, tmp_path / "plain")
    assert list(only) == ["network.graphml", "network.csv"]
    assert nx.read_graphml(only["network.graphml"]).number_of_edges() == 2


def test_csv_roundtrip(tmp_path, timed_edges):
    path = export.write_edges_csv(timed_edges, tmp_path / "edges.csv")
    back = pd.read_csv(path)
    assert list(back.columns) == list(timed_edges.columns)
    assert back[["source", "target"]].equals(timed_edges[["source", "target"]])
    assert back["weight"].to_numpy() == pytest.approx(
        timed_edges["weight"].to_numpy(dtype=float), rel=1e-7
    )
    assert (back["time"].to_numpy() == timed_edges["time"].to_numpy()).all()


def test_errors(tmp_path, timed_edges):
    with pytest.raises(InputError, match="weight"):
        export.to_networkx(timed_edges.drop(columns="weight"))
    bad = timed_edges.copy()
    bad["weight"] = bad["weight"].astype(float)
    bad.loc[2, "weight"] = np.nan
    with pytest.raises(InputError, match="NaN"):
        export.write_graphml(bad, tmp_path / "x.graphml")
    assert not (tmp_path / "x.graphml").exists()
    with pytest.raises(InputError, match="duplicated"):
        export.to_networkx(timed_edges)  # two time points in one graph
    with pytest.raises(InputError, match="no 'group' column"):
        export.export_networks(timed_edges, tmp_path, by="group")
    with pytest.raises(InputError, match="formats"):
        export.export_networks(timed_edges, tmp_path, formats=("gml",))
    with pytest.raises(InputError, match="reserved"):
        export.to_networkx(timed_edges.iloc[:3], node_attrs=pd.DataFrame({"name": [1]}, ["A"]))
    with pytest.raises(InputError, match="duplicated gene"):
        export.to_networkx(timed_edges.iloc[:3], node_attrs=pd.DataFrame({"x": [1, 2]}, ["A", "A"]))
    with pytest.raises(InputError, match="source, target, weight"):
        export.write_edges_csv(pd.DataFrame({"a": [1]}), tmp_path / "e.csv")
    missing_name = timed_edges.copy()
    missing_name["source"] = missing_name["source"].astype(object)
    missing_name.loc[0, "source"] = None
    with pytest.raises(InputError, match="missing or empty gene name"):
        export.to_networkx(missing_name)


def test_sign_evidence_is_exported_typed_and_checked(tmp_path):
    edges = pd.DataFrame(
        {
            "source": ["A", "A"],
            "target": ["B", "C"],
            "weight": [0.5, -0.2],
            "sign_z": [3.1, -0.4],
            "sign_from": ["within", "latent"],
            "unrelated": [1, 2],
        }
    )
    path = export.write_graphml(edges, tmp_path / "g.graphml")
    g = nx.read_graphml(path)
    assert g["A"]["B"]["sign_z"] == pytest.approx(3.1) and g["A"]["B"]["sign_from"] == "within"
    assert g["A"]["C"]["sign_from"] == "latent" and "unrelated" not in g["A"]["C"]
    bad = edges.assign(sign_z=[1.0, np.nan])
    with pytest.raises(InputError, match="sign_z"):
        export.normalize_edges(bad)
