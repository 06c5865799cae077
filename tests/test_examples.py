"""Every example runs end to end on tiny settings."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = sorted((Path(__file__).parents[1] / "examples").glob("*.py"))


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.name)
def test_example_runs(script, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "argv", [str(script), "--tiny", "--out", str(tmp_path / "o")])
    runpy.run_path(str(script), run_name="__main__")
    assert any((tmp_path / "o").iterdir())
