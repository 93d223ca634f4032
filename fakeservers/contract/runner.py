"""Run a vendor's contract steps against the fake (the expectation) and a base URL.

The fake runs in-process (a fresh `Fake` with its demo tenant: the very app the pytest
plugin and `python -m fakeservers` serve); the other side is reached over HTTP with the
standard library. Each step's answers are compared: status, then shape (see `shapes`),
and for errors the message. Nothing here needs more than the fake's own dependencies.
"""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote, urlencode

import attrs
from werkzeug.test import Client

from fakeservers.contract.shapes import shape_differences
from fakeservers.contract.steps import STEPS, Step

__all__ = ["Answer", "Check", "HttpSide", "WsgiSide", "compare", "run"]

INVALID_KEY = "loyaltykit-contract-check-invalid-key"
TIMEOUT = 30.0
"""Seconds a request to the vendor may take."""
MAX_BODY = 5 << 20
"""Bytes of an answer read at most."""


@attrs.frozen
class Answer:
    """What one side answered: status, and the body decoded as JSON (None if it was not)."""

    status: int
    body: Any
    text: str


class Unreachable(Exception):
    """The vendor could not be reached at all (DNS, refused connection, timeout, TLS)."""


Send = Callable[[str, str, Mapping[str, str], bytes], Answer]


def _answer(status: int, raw: bytes) -> Answer:
    text = raw[:MAX_BODY].decode("utf-8", "replace")
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    return Answer(status, body, text)


class HttpSide:
    """A vendor (or anything) at `base_url`, over HTTP(S)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def __call__(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        request = urllib.request.Request(
            self.base_url + target, data=body or None, headers=dict(headers), method=method
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                return _answer(response.status, response.read(MAX_BODY))
        except urllib.error.HTTPError as error:
            with error:
                return _answer(error.code, error.read(MAX_BODY))
        except OSError as error:  # URLError, timeouts, refused connections
            reason = getattr(error, "reason", error)
            raise Unreachable(f"{self.base_url}: {reason}") from None


class WsgiSide:
    """A WSGI app (the fake) called in-process."""

    def __init__(self, app: Any) -> None:
        self.client = Client(app)

    def __call__(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Answer:
        path, _, query = target.partition("?")
        response = self.client.open(
            path, method=method, query_string=query, headers=dict(headers), data=body
        )
        return _answer(response.status_code, response.get_data())


@attrs.define
class Check:
    """One step's outcome: `ok`, `different` (with `lines`) or `skipped` (with why)."""

    step: str
    method: str
    path: str
    outcome: str
    fake_status: int | None = None
    vendor_status: int | None = None
    lines: list[str] = attrs.Factory(list)

    def to_json(self) -> dict[str, Any]:
        return attrs.asdict(self)


def _error_message(body: Any) -> Any:
    """The message of a vendor error body (Smile's `error.message`, ShopSocially's
    `reason`), or None."""
    if isinstance(body, dict):
        inner = body.get("error")
        if isinstance(inner, dict):
            return inner.get("message")
        return body.get("reason")
    return None


def compare(fake: Answer, vendor: Answer) -> list[str]:
    """What differs between the fake's answer and the vendor's."""
    if fake.status != vendor.status:
        lines = [f"status: {fake.status} from the fake, {vendor.status} from the vendor"]
        if vendor.body is None:
            lines.append(f"vendor body (not JSON): {vendor.text[:200]!r}")
        else:
            lines.append(f"vendor body: {json.dumps(vendor.body)[:300]}")
        return lines
    if vendor.body is None and fake.body is not None:
        return [f"body: JSON from the fake, not JSON from the vendor: {vendor.text[:200]!r}"]
    lines = shape_differences(fake.body, vendor.body)
    if fake.status >= 400:
        want, got = _error_message(fake.body), _error_message(vendor.body)
        if want != got:
            lines.append(f"error message: {want!r} from the fake, {got!r} from the vendor")
    return lines


def _request(
    step: Step, found: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[str, dict[str, str], bytes]:
    """(target, headers, body) of a step; KeyError when a captured value is missing."""
    path = step.path.format_map({k: quote(str(v), safe="@") for k, v in found.items()})
    target = path + ("?" + urlencode(step.query) if step.query else "")
    sent = dict(headers)
    body = b""
    if step.json is not None:
        body = json.dumps(step.json(found)).encode()
        sent["Content-Type"] = "application/json"
    elif step.form is not None:
        body = urlencode(step.form(found)).encode()
        sent["Content-Type"] = "application/x-www-form-urlencoded"
    return target, sent, body


def _ask(step: Step, send: Send, headers: Mapping[str, str], found: dict[str, Any]) -> Answer:
    """Send `step` on one side and keep what it captures; KeyError when it needs a value
    an earlier step did not give."""
    answer = send(step.method, *_request(step, found, headers))
    if step.captures is not None and answer.status < 300:
        with contextlib.suppress(KeyError, IndexError, TypeError):
            found.update(step.captures(answer.body))
    return answer


def run(
    vendor: str,
    fake: tuple[Send, Mapping[str, str]],
    target: tuple[Send, Mapping[str, str]],
    bad_headers: Mapping[str, str],
    *,
    writes: bool = False,
) -> list[Check]:
    """Run `vendor`'s steps on the fake and the target (each a sender and its credential
    headers) and compare; the steps that write only when `writes`."""
    checks = []
    fake_found: dict[str, Any] = {}
    vendor_found: dict[str, Any] = {}
    for step in STEPS[vendor]:
        if step.writes and not writes:
            continue
        try:
            mine = _ask(step, fake[0], bad_headers if step.bad_credentials else fake[1], fake_found)
            theirs = _ask(
                step, target[0], bad_headers if step.bad_credentials else target[1], vendor_found
            )
        except KeyError as key:
            why = f"needs {key.args[0]}, which an earlier step did not give"
            checks.append(Check(step.name, step.method, step.path, "skipped", lines=[why]))
            continue
        lines = compare(mine, theirs)
        if step.undo is not None and theirs.status < 300 <= mine.status:
            undone = target[0](step.undo.method, *_request(step.undo, vendor_found, target[1]))
            lines.append(f"the vendor carried it out; undone ({step.undo.name}: {undone.status})")
        outcome = "different" if lines else "ok"
        checks.append(
            Check(step.name, step.method, step.path, outcome, mine.status, theirs.status, lines)
        )
    return checks
