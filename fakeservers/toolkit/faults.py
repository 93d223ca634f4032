"""Fault injection: make a fake answer like a vendor having a bad day, deterministically.

Kinds: `rate_limit` (the vendor's own 429 body with `Retry-After`), `error` (a 5xx in the
vendor's error format), `latency` (sleep, then answer normally; it adds to other faults),
`drop` (close the connection without any response) and `respond` (a canned response: any
status, JSON body or text, headers, for vendor behaviour the fake does not model). Each
fault applies to one route or all (see `fakeservers.toolkit.journal.Route`), optionally
one tenant, and fires for the next `times` matching calls, or with a `probability` drawn
from its own `random.Random(seed)`, so the same request sequence always meets the same
faults.

By default a fault answers *instead of* the fake: the request changes nothing. With
`after=True` the fake first handles the request (a POST is applied) and the fault then
replaces, drops or delays its answer: the vendor acted and the caller never learned it.
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from fakeservers.toolkit.journal import Route

__all__ = ["KINDS", "Fault", "FaultInjector"]

KINDS = ("rate_limit", "error", "latency", "drop", "respond")
MAX_CANNED_BODY = 1 << 20
"""Largest canned response body (`respond`'s `body` as JSON, or `text`), in bytes."""


@attrs.define(eq=False)
class Fault:
    """One armed fault; `fired` counts the calls it answered."""

    id: int
    kind: str
    route: Route
    tenant: str | None
    times: int | None
    probability: float | None
    seed: int | None
    status: int
    retry_after: float
    delay: float
    body: Any
    fired: int = 0
    _random: random.Random | None = None
    after: bool = False
    """Fire after the fake handled the request (applied it), replacing its answer."""
    headers: dict[str, str] = attrs.Factory(dict)
    """Extra response headers (`respond`, `error`, `rate_limit`)."""
    text: str | None = None
    """`respond`: a raw text body instead of JSON."""

    @property
    def remaining(self) -> int | None:
        return None if self.times is None else self.times - self.fired

    def _fires(self) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.probability is not None:
            assert self._random is not None
            if self._random.random() >= self.probability:
                return False
        self.fired += 1
        return True

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "route": str(self.route),
            "tenant": self.tenant,
            "times": self.times,
            "probability": self.probability,
            "seed": self.seed,
            "status": self.status,
            "retry_after": self.retry_after,
            "delay": self.delay,
            "body": self.body,
            "text": self.text,
            "headers": self.headers,
            "after": self.after,
            "fired": self.fired,
            "remaining": self.remaining,
        }


class FaultInjector:
    """The armed faults of one fake. `active` is False when none are armed (fast path).

    `names`, when given (a `Fake` gives its route names), is what a fault's endpoint name
    is checked against: a misspelled one is refused instead of never firing.
    """

    def __init__(self, names: Collection[str] | None = None) -> None:
        self.names = names
        self._faults: list[Fault] = []
        self._next_id = 1
        self._lock = threading.Lock()
        self.active = False

    def add(
        self,
        kind: str,
        route: str | None = None,
        *,
        times: int | None = None,
        probability: float | None = None,
        seed: int | None = 0,
        tenant: str | None = None,
        status: int = 503,
        retry_after: float = 1.0,
        delay: float = 0.0,
        body: Any = None,
        text: str | None = None,
        headers: Mapping[str, str] | None = None,
        after: bool = False,
    ) -> Fault:
        """Arm a fault; with neither `times` nor `probability` it fires once."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        if times is not None and times < 1:
            raise ValueError("times must be at least 1")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be between 0 and 1")
        if times is None and probability is None:
            times = 1
        if kind == "error" and not 500 <= status <= 599:
            raise ValueError("status must be a 5xx")
        if kind == "respond" and not 200 <= status <= 599:
            raise ValueError("status must be between 200 and 599")
        if retry_after < 0 or delay < 0 or delay > 60:
            raise ValueError("retry_after must be >= 0 and delay between 0 and 60 seconds")
        extra = _checked_headers(headers)
        _check_canned(kind, body, text)
        parsed = Route.parse(route, self.names)
        with self._lock:
            fault = Fault(
                self._next_id,
                kind,
                parsed,
                tenant,
                times,
                probability,
                seed,
                status if kind in ("error", "respond") else 429 if kind == "rate_limit" else 0,
                retry_after,
                delay,
                body,
                random=random.Random(seed) if probability is not None else None,
                after=bool(after),
                headers=extra,
                text=text,
            )
            self._next_id += 1
            self._faults.append(fault)
            self.active = True
            return fault

    # shorthands -------------------------------------------------------------------------

    def rate_limit(
        self, route: str | None = None, *, retry_after: float = 1.0, **options: Any
    ) -> Fault:
        """The vendor's own 429 (with `Retry-After: <seconds>`)."""
        return self.add("rate_limit", route, retry_after=retry_after, **options)

    def error(self, route: str | None = None, *, status: int = 503, **options: Any) -> Fault:
        """A 5xx in the vendor's error format (`body` replaces it, as JSON); `after=True`:
        once the fake applied the request."""
        return self.add("error", route, status=status, **options)

    def latency(self, seconds: float, route: str | None = None, **options: Any) -> Fault:
        """Wait `seconds` (real time) before answering (`after=True`: once the fake applied
        the request, as a timeout after the write would be)."""
        return self.add("latency", route, delay=seconds, **options)

    def drop(self, route: str | None = None, **options: Any) -> Fault:
        """Close the connection without a response (`after=True`: once the fake applied
        the request)."""
        return self.add("drop", route, **options)

    def respond(
        self,
        route: str | None = None,
        *,
        status: int = 200,
        body: Any = None,
        text: str | None = None,
        headers: Mapping[str, str] | None = None,
        **options: Any,
    ) -> Fault:
        """A canned response: `status` (200 to 599), a JSON `body` or a raw `text`, and
        `headers`; for vendor behaviour the fake does not model. Once by default, like
        every fault (`times=`, `probability=`)."""
        return self.add(
            "respond", route, status=status, body=body, text=text, headers=headers, **options
        )

    def add_from_json(self, body: Mapping[str, Any]) -> Fault:
        """`add` from a control-plane body (same names; unknown keys are refused)."""
        allowed = {
            "kind", "route", "times", "probability", "seed", "tenant", "status",
            "retry_after", "delay", "body", "text", "headers", "after",
        }  # fmt: skip
        unknown = set(body) - allowed
        if unknown:
            raise ValueError(f"unknown fault field(s): {', '.join(sorted(unknown))}")
        if not isinstance(body.get("kind"), str):
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        options = {k: v for k, v in body.items() if k != "kind" and v is not None}
        for name in ("times", "seed", "status"):
            if name in options and (
                not isinstance(options[name], int) or isinstance(options[name], bool)
            ):
                raise ValueError(f"{name} must be an integer")
        for name in ("probability", "retry_after", "delay"):
            if name in options and (
                not isinstance(options[name], int | float) or isinstance(options[name], bool)
            ):
                raise ValueError(f"{name} must be a number")
        for name in ("route", "tenant", "text"):
            if name in options and not isinstance(options[name], str):
                raise ValueError(f"{name} must be a string")
        if "after" in options and not isinstance(options["after"], bool):
            raise ValueError("after must be true or false")
        if "headers" in options and not isinstance(options["headers"], Mapping):
            raise ValueError("headers must be an object of strings")
        return self.add(body["kind"], **options)

    # inspection -------------------------------------------------------------------------

    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

    def unfired(self) -> list[Fault]:
        """Armed faults that never fired (a misspelled route glob, a call that never
        came): what strict mode reports. Spent faults are gone from the list already."""
        with self._lock:
            return [f for f in self._faults if f.fired == 0]

    def remove(self, fault: Fault | int) -> None:
        ident = fault if isinstance(fault, int) else fault.id
        with self._lock:
            self._faults = [f for f in self._faults if f.id != ident]
            self.active = bool(self._faults)

    def clear(self) -> None:
        with self._lock:
            self._faults = []
            self.active = False

    # the middleware's side ---------------------------------------------------------------

    def pick(
        self, method: str, path: str, endpoint: str | None, tenant: str | None
    ) -> tuple[float, Fault | None, float]:
        """For one request: the latency to add before it is handled, the fault that
        answers it (or None), and the latency to add after it was handled (`after=True`
        latency faults). Spent faults (all `times` used) are dropped."""
        delay = after = 0.0
        chosen: Fault | None = None
        with self._lock:
            for fault in self._faults:
                if fault.tenant is not None and fault.tenant != tenant:
                    continue
                if not fault.route.matches(method, path, endpoint):
                    continue
                if fault.kind == "latency":
                    if fault._fires():
                        if fault.after:
                            after += fault.delay
                        else:
                            delay += fault.delay
                    continue
                if chosen is None and fault._fires():
                    chosen = fault
            self._faults = [
                f for f in self._faults if f.times is None or f.fired < f.times
            ]
            self.active = bool(self._faults)
        return delay, chosen, after


def _checked_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    """Extra response headers: names and values strings, no line breaks (a header cannot
    carry them), at most 50."""
    if headers is None:
        return {}
    if len(headers) > 50:
        raise ValueError("headers: at most 50")
    result = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not isinstance(value, str):
            raise ValueError("headers must be an object of strings")
        if not name or any(c in name for c in " :\r\n") or any(c in value for c in "\r\n"):
            raise ValueError(f"headers: {name!r} is not a valid header")
        result[name] = value
    return result


def _check_canned(kind: str, body: Any, text: str | None) -> None:
    """A canned body: JSON-encodable (`body`) or text, not both, at most MAX_CANNED_BODY."""
    if text is not None and body is not None:
        raise ValueError("give body (JSON) or text, not both")
    if text is not None and kind != "respond":
        raise ValueError("text is for canned responses (kind respond)")
    try:
        size = len((text if text is not None else json.dumps(body, allow_nan=False)).encode())
    except (TypeError, ValueError, RecursionError):
        raise ValueError("body must be JSON data (finite numbers, string keys)") from None
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    if size > MAX_CANNED_BODY:
        raise ValueError(f"a canned body is at most {MAX_CANNED_BODY} bytes")
