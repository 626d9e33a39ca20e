"""Constant-time text comparison that never crashes on what an attacker sends."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from portfeil.consttime import text_equal


@pytest.mark.parametrize(("a", "b", "same"), [
    ("abc", "abc", True), ("abc", "abd", False), ("", "", True), ("ё", "ё", True), ("ё", "e", False),
    ("\x80", "abc", False), ("\ud800", "\ud800", True), ("\ud800", "\udc00", False),
])
def test_text_equal(a: str, b: str, same: bool) -> None:
    assert text_equal(a, b) is same


@given(st.text(), st.text())
def test_text_equal_is_equality_for_any_text(a: str, b: str) -> None:
    assert text_equal(a, b) is (a == b)
