"""Opaque pagination cursors: base64 of `id:<int>,direction:<next|prev>`.

That is the shape the Smile docs' sample cursor decodes to (`aWQ6MixkaXJlY3Rpb246bmV4dA==`
is `id:2,direction:next`). The cursor names an id boundary, never an offset, so records
created between two page fetches neither repeat nor vanish from a walk.
"""

from __future__ import annotations

import base64
import binascii
from typing import Literal

import attrs

from fakeservers._http.errors import ParseError

__all__ = ["Cursor", "decode_cursor", "encode_cursor"]

Direction = Literal["next", "prev"]


@attrs.frozen
class Cursor:
    """A boundary id and the direction to read from it."""

    boundary: int
    direction: Direction


def encode_cursor(cursor: Cursor) -> str:
    raw = f"id:{cursor.boundary},direction:{cursor.direction}"
    return base64.b64encode(raw.encode("ascii")).decode("ascii")


def decode_cursor(token: str, field: str = "cursor") -> Cursor:
    """Parse a cursor; anything not produced by `encode_cursor` is a ParseError on `field`."""
    try:
        raw = base64.b64decode(token.encode("ascii"), validate=True).decode("ascii")
        parts = dict(part.split(":", 1) for part in raw.split(","))
        boundary = int(parts["id"])
        direction = parts["direction"]
    except (binascii.Error, UnicodeError, ValueError, KeyError):
        raise ParseError(field, "invalid", f"{field} is not a valid cursor") from None
    if direction == "next":
        return Cursor(boundary, "next")
    if direction == "prev":
        return Cursor(boundary, "prev")
    raise ParseError(field, "invalid", f"{field} is not a valid cursor")
