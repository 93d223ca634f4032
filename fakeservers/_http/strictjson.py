"""Strict JSON in and out: what every body, seed document and export of the fakes goes
through, so no value that a later read or a standard JSON reader would choke on gets in.

Refused on the way in (`JSONRefused`, a `ValueError`, with a message a client can act on):
malformed JSON; the non-standard constants `NaN`, `Infinity`, `-Infinity`; numbers that
only a double's overflow makes finite-looking (`1e400` is infinity); nesting deeper than
the caller's bound (`loyaltykit.limits.MAX_DEPTH` for vendor bodies); lone surrogates
(`"\\ud800"`), which no UTF-8 response could carry back. Checks never recurse: a document
nested 100,000 levels deep is refused like one nested 33 levels deep.

On the way out, `dumps` refuses non-finite floats instead of writing `NaN`.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from loyaltykit.limits import MAX_DEPTH

__all__ = ["JSONRefused", "check", "dumps", "encoder", "loads"]

_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_PLAIN_STARTS = (b"{", b"[")


class JSONRefused(ValueError):
    """A document the fakes will not read; `str()` completes "the body is ..."."""


def _constant(name: str) -> Any:
    raise JSONRefused(f"not standard JSON ({name} is not a number)")


def _finite_float(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):
        raise JSONRefused(f"not standard JSON ({text[:40]} is out of range)")
    return number


_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_constant)


def loads(raw: bytes | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Decode one JSON document, refusing what the module docstring lists."""
    try:
        # strict decoding: UTF-8 (or the UTF-16/32 that `json.loads` also detects), no
        # surrogates smuggled in as raw bytes
        if isinstance(raw, str):
            text = raw
        elif raw[:1] in _PLAIN_STARTS:  # the usual body: UTF-8, no byte-order mark
            text = raw.decode("utf-8")
        else:
            text = raw.decode(json.detect_encoding(raw))
        value = _DECODER.decode(text)
    except JSONRefused:
        raise
    except RecursionError:
        raise JSONRefused(f"nested more than {max_depth} levels deep") from None
    except (ValueError, UnicodeDecodeError):
        raise JSONRefused("not valid JSON") from None
    encoded = raw if isinstance(raw, bytes) else raw.encode("utf-8", "surrogatepass")
    # Only a document with more openers than the bound can be too deep, and only one that
    # spells a surrogate escape can hold a lone surrogate: the walk is skipped otherwise.
    deep = encoded.count(b"[") + encoded.count(b"{") > max_depth
    if deep or _SURROGATE_ESCAPE.search(encoded):
        check(value, max_depth=max_depth)
    return value


def check(value: Any, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse a decoded value (or one built in Python) that `loads` would have refused:
    too deep, a lone surrogate, a non-finite float, or a type JSON cannot write."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            _check_text(item)
        elif isinstance(item, dict | list | tuple):
            if depth >= max_depth:
                raise JSONRefused(f"nested more than {max_depth} levels deep")
            if isinstance(item, dict):
                for key, inner in item.items():
                    if not isinstance(key, str):
                        raise JSONRefused("holding an object key that is not a string")
                    _check_text(key)
                    stack.append((inner, depth + 1))
            else:
                stack.extend((inner, depth + 1) for inner in item)
        elif isinstance(item, float):
            if not math.isfinite(item):
                raise JSONRefused(f"holding {item}, which is not a JSON number")
        elif item is not None and not isinstance(item, bool | int):
            raise JSONRefused(f"holding a {type(item).__name__}, which is not JSON data")


def _check_text(text: str) -> None:
    if text.isascii():
        return
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JSONRefused("holding a lone surrogate (\\uD800 to \\uDFFF)") from None


def encoder(**options: Any) -> json.JSONEncoder:
    """A strict encoder (non-finite floats raise ValueError) with `options`."""
    return json.JSONEncoder(allow_nan=False, **options)


_COMPACT = encoder(separators=(",", ":"), ensure_ascii=False)


def dumps(value: Any) -> str:
    """Compact, strict JSON text."""
    return _COMPACT.encode(value)
