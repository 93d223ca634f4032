"""Hypothesis strategies for the values commands take."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import strategies as st

__all__ = ["money", "points", "profiles"]


def points(max_value: int = 10_000) -> st.SearchStrategy[int]:
    """Positive point amounts."""
    return st.integers(1, max_value)


def money(max_value: int = 10_000) -> st.SearchStrategy[Decimal]:
    """Non-negative amounts with cents, as the shop would send them."""
    return st.decimals(0, max_value, places=2, allow_nan=False, allow_infinity=False)


def profiles() -> st.SearchStrategy[dict[str, Any]]:
    """Keyword arguments for `Program.add_member` (emails unique per draw index)."""
    name = st.text(st.characters(categories=["L"]), min_size=1, max_size=12)
    return st.fixed_dictionaries(
        {
            "email": st.uuids().map(lambda u: f"{u.hex[:12]}@example.com"),
            "first_name": st.none() | name,
            "last_name": st.none() | name,
        }
    )
