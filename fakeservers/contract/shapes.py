"""Compare two JSON answers by shape: keys, value kinds and nesting, not values.

The fake's answer is the expectation and the other side is what a vendor sent. A null on
either side matches any kind (a nullable field), a list's items are compared with the
first item of the expected list, and the difference lines name the path of what differs.
"""

from __future__ import annotations

from typing import Any

__all__ = ["kind", "shape_differences"]

MAX_LINES = 50
"""Difference lines kept per answer (a wholly different body says so in the first few)."""
MAX_CANDIDATES = 20
"""Items of an expected list an answer's item is compared with, to find its closest."""


def kind(value: Any) -> str:
    """The JSON kind of a decoded value: object, array, string, integer, number, boolean,
    null."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def shape_differences(expected: Any, actual: Any, where: str = "body") -> list[str]:
    """What differs in shape between the fake's answer (`expected`) and the vendor's."""
    lines: dict[str, None] = {}
    _compare(expected, actual, where, lines)
    return list(lines)[:MAX_LINES]


def _compare(expected: Any, actual: Any, where: str, lines: dict[str, None]) -> None:
    if len(lines) >= MAX_LINES or expected is None or actual is None:
        return
    want, got = kind(expected), kind(actual)
    if want != got:
        lines[f"{where}: {want} in the fake, {got} at the vendor"] = None
        return
    if want == "object":
        for key in expected:
            if key not in actual:
                lines[f"{where}.{key}: sent by the fake, not by the vendor"] = None
        for key in actual:
            if key not in expected:
                lines[f"{where}.{key}: sent by the vendor, not by the fake"] = None
        for key in expected:
            if key in actual:
                _compare(expected[key], actual[key], f"{where}.{key}", lines)
    elif want == "array" and expected:
        for item in actual:
            closest: dict[str, None] | None = None
            for candidate in expected[:MAX_CANDIDATES]:
                found: dict[str, None] = {}
                _compare(candidate, item, f"{where}[]", found)
                if closest is None or len(found) < len(closest):
                    closest = found
                if not found:
                    break
            lines.update(closest or {})
