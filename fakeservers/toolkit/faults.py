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

Bounded: at most `MAX_FAULTS` armed at once; a latency fault waits at most
`MAX_FAULT_DELAY` seconds and a request at most `MAX_REQUEST_DELAY` in all, and `clear()`
cuts the waits in progress short; every parameter is checked (finite numbers in range,
bodies strict JSON at most `MAX_DEPTH` levels deep). Faults aimed at an endpoint are
indexed by it, so a request looks only at its own endpoint's faults and the route-less
ones.
"""

from __future__ import annotations

import heapq
import json
import math
import random
import threading
from collections.abc import Collection, Mapping
from typing import Any

import attrs

from fakeservers._http import strictjson
from fakeservers.toolkit.journal import Route
from loyaltykit.limits import MAX_CODE, MAX_DEPTH

__all__ = ["KINDS", "Fault", "FaultInjector"]

KINDS = ("rate_limit", "error", "latency", "drop", "respond")
MAX_CANNED_BODY = 1 << 20
"""Largest canned response body (`respond`'s `body` as JSON, or `text`), in bytes."""
MAX_FAULTS = 1000
"""Faults armed at once on one fake."""
MAX_FAULT_DELAY = 30.0
"""Seconds one latency fault may wait."""
MAX_REQUEST_DELAY = 30.0
"""Seconds all the latency faults of one request may wait together (before and after)."""
MAX_RETRY_AFTER = 86_400.0
"""Seconds a `rate_limit` fault may announce in `Retry-After` (a day)."""
MAX_TIMES = 10**9
"""The largest `times`."""
MAX_ROUTE = 1024
"""Characters of a route spec."""


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
        self._by_endpoint: dict[str, dict[int, Fault]] = {}
        self._general: dict[int, Fault] = {}
        """Faults aimed at an endpoint, by endpoint; the rest (paths, every route)."""
        self._wake = threading.Event()
        self._faults: dict[int, Fault] = {}
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
        if times is not None and not 1 <= times <= MAX_TIMES:
            raise ValueError(f"times must be between 1 and {MAX_TIMES}")
        if probability is not None and not 0.0 <= probability <= 1.0:  # False for NaN
            raise ValueError("probability must be between 0 and 1")
        if times is None and probability is None:
            times = 1
        if kind == "error" and not 500 <= status <= 599:
            raise ValueError("status must be a 5xx")
        if kind == "respond" and not 200 <= status <= 599:
            raise ValueError("status must be between 200 and 599")
        if not 0.0 <= retry_after <= MAX_RETRY_AFTER:  # False for NaN
            raise ValueError(f"retry_after must be between 0 and {MAX_RETRY_AFTER:g} seconds")
        if not 0.0 <= delay <= MAX_FAULT_DELAY:
            raise ValueError(f"delay must be between 0 and {MAX_FAULT_DELAY:g} seconds")
        if seed is not None and not -(2**63) <= seed < 2**63:
            raise ValueError("seed must be a 64-bit integer")
        if route is not None and len(route) > MAX_ROUTE:
            raise ValueError(f"route must be at most {MAX_ROUTE} characters")
        if tenant is not None and len(tenant) > MAX_CODE:
            raise ValueError(f"tenant must be at most {MAX_CODE} characters")
        extra = _checked_headers(headers)
        _check_canned(kind, body, text)
        parsed = Route.parse(route, self.names)
        with self._lock:
            if len(self._faults) >= MAX_FAULTS:
                raise ValueError(f"at most {MAX_FAULTS} faults may be armed at once")
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
            self._faults[fault.id] = fault
            self._index(fault)[fault.id] = fault
            self.active = True
            return fault

    def _index(self, fault: Fault) -> dict[int, Fault]:
        endpoint = fault.route.endpoint
        if endpoint is None:
            return self._general
        return self._by_endpoint.setdefault(endpoint, {})

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
                not isinstance(options[name], int | float)
                or isinstance(options[name], bool)
                or not math.isfinite(options[name])
            ):
                raise ValueError(f"{name} must be a finite number")
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
            return list(self._faults.values())

    def unfired(self) -> list[Fault]:
        """Armed faults that never fired (a misspelled route glob, a call that never
        came): what strict mode reports. Spent faults are gone from the list already."""
        with self._lock:
            return [f for f in self._faults.values() if f.fired == 0]

    def remove(self, fault: Fault | int) -> None:
        ident = fault if isinstance(fault, int) else fault.id
        with self._lock:
            found = self._faults.get(ident)
            if found is not None:
                self._forget(found)

    def _forget(self, fault: Fault) -> None:
        """Disarm `fault` (the caller holds the lock)."""
        del self._faults[fault.id]
        index = self._index(fault)
        del index[fault.id]
        if not index and fault.route.endpoint is not None:
            del self._by_endpoint[fault.route.endpoint]
        self.active = bool(self._faults)

    def clear(self) -> None:
        """Disarm every fault and cut short the latency waits in progress."""
        with self._lock:
            self._faults = {}
            self._by_endpoint = {}
            self._general = {}
            self.active = False
            self._wake.set()
            self._wake = threading.Event()

    def sleep(self, seconds: float) -> None:
        """Wait `seconds` for a latency fault, or until `clear()`."""
        if seconds > 0:
            self._wake.wait(seconds)

    # the middleware's side ---------------------------------------------------------------

    def pick(
        self, method: str, path: str, endpoint: str | None, tenant: str | None
    ) -> tuple[float, Fault | None, float]:
        """For one request: the latency to add before it is handled, the fault that
        answers it (or None): the first armed of the matching ones, and the latency to add
        after it was handled (`after=True` latency faults); both latencies together at
        most `MAX_REQUEST_DELAY`. Spent faults (all `times` used) are dropped. Only the
        faults of the request's endpoint and the route-less ones are looked at."""
        delay = after = 0.0
        chosen: Fault | None = None
        with self._lock:
            own = self._by_endpoint.get(endpoint) if endpoint is not None else None
            candidates = (
                heapq.merge(own.values(), self._general.values(), key=_armed_order)
                if own
                else self._general.values()
            )
            spent = []
            for fault in candidates:
                if fault.tenant is not None and fault.tenant != tenant:
                    continue
                if not fault.route.matches(method, path, endpoint):
                    continue
                if fault.kind == "latency":
                    if not fault._fires():
                        continue
                    if fault.after:
                        after += fault.delay
                    else:
                        delay += fault.delay
                elif chosen is None and fault._fires():
                    chosen = fault
                else:
                    continue
                if fault.times is not None and fault.fired >= fault.times:
                    spent.append(fault)
            for fault in spent:
                self._forget(fault)
        delay = min(delay, MAX_REQUEST_DELAY)
        return delay, chosen, min(after, MAX_REQUEST_DELAY - delay)


def _armed_order(fault: Fault) -> int:
    return fault.id


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
        if body is not None:
            strictjson.check(body, max_depth=MAX_DEPTH)
        size = len((text if text is not None else json.dumps(body, allow_nan=False)).encode())
    except (TypeError, ValueError, RecursionError):
        raise ValueError(
            f"body must be JSON data (finite numbers, string keys, at most {MAX_DEPTH} levels)"
        ) from None
    except UnicodeEncodeError:
        raise ValueError("text must be valid Unicode (no lone surrogates)") from None
    if size > MAX_CANNED_BODY:
        raise ValueError(f"a canned body is at most {MAX_CANNED_BODY} bytes")
