"""Fault injection: make a fake answer like a vendor having a bad day, deterministically.

Kinds: `rate_limit` (the vendor's own 429 body with `Retry-After`), `error` (a 5xx in the
vendor's error format), `latency` (sleep, then answer normally; it adds to other faults)
and `drop` (close the connection without any response). Each fault applies to one route
or all (see `fakeservers.toolkit.journal.Route`), optionally one tenant, and fires for the
next `times` matching calls, or with a `probability` drawn from its own
`random.Random(seed)`, so the same request sequence always meets the same faults.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Mapping
from typing import Any

import attrs

from fakeservers.toolkit.journal import Route

__all__ = ["KINDS", "Fault", "FaultInjector"]

KINDS = ("rate_limit", "error", "latency", "drop")


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
            "fired": self.fired,
            "remaining": self.remaining,
        }


class FaultInjector:
    """The armed faults of one fake. `active` is False when none are armed (fast path)."""

    def __init__(self) -> None:
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
        if retry_after < 0 or delay < 0 or delay > 60:
            raise ValueError("retry_after must be >= 0 and delay between 0 and 60 seconds")
        with self._lock:
            fault = Fault(
                self._next_id,
                kind,
                Route.parse(route),
                tenant,
                times,
                probability,
                seed,
                status if kind == "error" else 429 if kind == "rate_limit" else 0,
                retry_after,
                delay,
                body,
                random=random.Random(seed) if probability is not None else None,
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
        """A 5xx in the vendor's error format (`body` replaces it, as JSON)."""
        return self.add("error", route, status=status, **options)

    def latency(self, seconds: float, route: str | None = None, **options: Any) -> Fault:
        """Wait `seconds` (real time) before answering."""
        return self.add("latency", route, delay=seconds, **options)

    def drop(self, route: str | None = None, **options: Any) -> Fault:
        """Close the connection without a response."""
        return self.add("drop", route, **options)

    def add_from_json(self, body: Mapping[str, Any]) -> Fault:
        """`add` from a control-plane body (same names; unknown keys are refused)."""
        allowed = {
            "kind", "route", "times", "probability", "seed", "tenant", "status",
            "retry_after", "delay", "body",
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
        for name in ("route", "tenant"):
            if name in options and not isinstance(options[name], str):
                raise ValueError(f"{name} must be a string")
        return self.add(body["kind"], **options)

    # inspection -------------------------------------------------------------------------

    def faults(self) -> list[Fault]:
        with self._lock:
            return list(self._faults)

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
    ) -> tuple[float, Fault | None]:
        """For one request: the total latency to add, and the fault that answers it (or
        None). Spent faults (all `times` used) are dropped."""
        delay = 0.0
        chosen: Fault | None = None
        with self._lock:
            for fault in self._faults:
                if fault.tenant is not None and fault.tenant != tenant:
                    continue
                if not fault.route.matches(method, path, endpoint):
                    continue
                if fault.kind == "latency":
                    if fault._fires():
                        delay += fault.delay
                    continue
                if chosen is None and fault._fires():
                    chosen = fault
            self._faults = [
                f for f in self._faults if f.times is None or f.fired < f.times
            ]
            self.active = bool(self._faults)
        return delay, chosen
