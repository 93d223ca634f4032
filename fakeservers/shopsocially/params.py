"""Request parameters as the docs' own examples send them.

The docs' curl lines send form fields with stray spaces (`--data " points_passed = 100"`)
and, on the 2017 page, `--data "order_id: 123"`; its Python lines send a JSON string with
no content type, even on GET (`requests.get(..., data=payload)` or `params=payload`).
All of these must work, so parameters are the union of the query string and the body,
with keys and values trimmed; the body wins when a key appears in both.

Every value read as text is held to `loyaltykit.limits`: `MAX_CODE` characters for the
merchant's ids and codes (`CODE_KEYS`), `MAX_TEXT` for the rest; JSON bodies are read by
`strictjson` (no `NaN`, at most `MAX_DEPTH` levels).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote_plus

from werkzeug.wrappers import Request
from werkzeug.wsgi import get_content_length

from fakeservers._http import strictjson
from fakeservers.shopsocially import errors
from loyaltykit.limits import MAX_CODE, MAX_TEXT

__all__ = ["CODE_KEYS", "Params", "read_params"]

_MAX_BODY = 1 << 20
CODE_KEYS = frozenset({
    "activity_id", "redemption_id", "level_id", "loyalty_level_id", "uid", "order_id",
    "user_id", "approved_by",
})  # fmt: skip
"""Parameters that name something (at most `MAX_CODE` characters, like the core's keys)."""


class Params:
    """Trimmed request parameters with typed accessors that raise the vendor's 400 reasons."""

    __slots__ = ("_values",)

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __contains__(self, key: str) -> bool:
        return key in self._values

    def raw(self, key: str) -> Any:
        return self._values.get(key)

    def text(self, key: str) -> str | None:
        """The parameter as text, or None when absent or blank; `invalid parameters` when
        longer than its bound (`MAX_CODE` for `CODE_KEYS`, else `MAX_TEXT`)."""
        value = self._values.get(key)
        if type(value) is str:  # the usual case, first
            text = value.strip()
        elif value is None:
            return None
        elif isinstance(value, (dict, list)):
            raise errors.ApiError(400, errors.INVALID_PARAMETERS)
        elif isinstance(value, bool):
            return "true" if value else "false"
        else:
            text = str(value).strip()
        if len(text) > (MAX_CODE if key in CODE_KEYS else MAX_TEXT):
            raise errors.ApiError(400, errors.INVALID_PARAMETERS)
        return text or None

    def required(self, *keys: str) -> list[str]:
        """The trimmed text of every key: `missing parameters` if one is absent or blank,
        `invalid parameters` if one is a JSON list or object."""
        for key in keys:
            if not self.present(key):
                raise errors.ApiError(400, errors.MISSING_PARAMETERS)
        return [self.text(key) or "" for key in keys]

    def present(self, key: str) -> bool:
        """Given and not blank (a JSON list or object counts as given)."""
        value = self._values.get(key)
        if type(value) is str:  # the usual case, first
            return bool(value.strip())
        if isinstance(value, (list, dict)):
            return True
        return value is not None and bool(str(value).strip())

    def alias(self, canonical: str, *others: str) -> None:
        """Accept the spellings the docs' own examples use (`minimum_points` for
        `level_minimum_points`, ...) when the canonical key is absent."""
        if self.present(canonical):
            return
        for other in others:
            if self.present(other):
                self._values[canonical] = self._values[other]
                return


def _trim(key: str, value: str) -> tuple[str, str]:
    """Trim, lower-case (the docs write `Redemption_id` and `redemption_ID`) and split the
    2017 page's `--data "order_id: 123"`."""
    key = key.strip()
    if not value and ":" in key:
        key, _, value = key.partition(":")
    return key.strip().lower(), value.strip()


def _from_pairs(text: str) -> dict[str, Any]:
    stripped = unquote_plus(text).strip() if text.lstrip().startswith("%7B") else text.strip()
    if stripped.startswith("{"):
        return _from_json(stripped)
    result: dict[str, Any] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        key, value = _trim(key, value)
        if key:
            result[key] = value
    return result


def _from_json(text: str) -> dict[str, Any]:
    try:
        loaded = strictjson.loads(text)
    except strictjson.JSONRefused:
        raise errors.ApiError(400, errors.INVALID_PARAMETERS) from None
    if not isinstance(loaded, dict):
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    return {str(key).strip().lower(): value for key, value in loaded.items()}


def read_params(request: Request) -> Params:
    """Query string plus body (form-encoded, JSON, or a bare JSON string), body last."""
    query = request.query_string
    values = _from_pairs(query.decode("latin-1")) if query else {}
    # werkzeug's `request.content_length`, minus the KeyError that `request.headers`
    # raises and catches for the (nearly always) absent Transfer-Encoding
    length = get_content_length(request.environ)
    if length is not None and length > _MAX_BODY:
        raise errors.ApiError(400, errors.INVALID_PARAMETERS)
    mimetype = request.mimetype
    if mimetype == "multipart/form-data":
        for key, value in request.form.items():
            key, value = _trim(key, value)
            values[key] = value
        return Params(values)
    body = _body(request, length)
    if body.strip():
        values.update(_from_body(body, mimetype))
    return Params(values)


def _body(request: Request, length: int | None) -> bytes:
    """The request body, read once (nothing reads it after `read_params`). With a declared
    length, which every request but a chunked one has, it is read straight from the WSGI
    input, as PEP 3333 allows: werkzeug's stream wrappers cost about 8 us, more than
    parsing the form. A chunked body goes through werkzeug, which stops at the limit."""
    if length is not None:
        return request.environ["wsgi.input"].read(length) if length else b""
    return request.get_data(cache=True)


def _from_body(body: bytes, mimetype: str) -> dict[str, Any]:
    """A non-blank body: JSON when declared or when it looks like an object, else pairs."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise errors.ApiError(400, errors.INVALID_PARAMETERS) from None
    is_json = mimetype == "application/json" or mimetype.endswith("+json")
    looks_json = is_json or text.lstrip().startswith("{")
    return _from_json(text) if looks_json else _from_pairs(text)
