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
