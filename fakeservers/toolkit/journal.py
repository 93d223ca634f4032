"""The request journal: every request a fake answered, with its response, per tenant.

Each tenant keeps its last `size` entries (oldest dropped first); requests that name no
known tenant (bad credentials, no credentials) are kept under tenant None. Control-plane
requests (`/_fake/...`) are not recorded. Read it from Python (`fake.journal`) or over
HTTP (`GET /_fake/journal`).

Assertion helpers take a *route*: an endpoint name (`"customer_show"`), a path glob
(`"/v1/customers/*"`) or a method and a path glob (`"POST /v1/activities"`).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Mapping
from datetime import datetime
from fnmatch import fnmatchcase
from typing import Any
from urllib.parse import parse_qs

import attrs

__all__ = ["BodyMatcher", "Entry", "Journal", "Route", "matches_body"]

BodyMatcher = Mapping[str, Any] | Callable[[Any], bool] | str | bytes | re.Pattern[str]
"""A dict (these keys with these values), a predicate on the parsed body, a regular
expression searched in the raw body text, or the exact raw bytes."""

MISSING = object()


@attrs.frozen
class Route:
    """A parsed route spec: endpoint name, or optional method plus a path glob."""

    method: str | None = None
    path: str | None = None
    endpoint: str | None = None

    @classmethod
    def parse(cls, spec: str | None) -> Route:
        if spec is None or spec in ("", "*"):
            return cls()
        head, _, tail = spec.strip().partition(" ")
        if tail:
            return cls(method=head.upper(), path=tail.strip())
        if head.startswith("/"):
            return cls(path=head)
        return cls(endpoint=head)

    def matches(self, method: str, path: str, endpoint: str | None) -> bool:
        if self.endpoint is not None and self.endpoint != endpoint:
            return False
        if self.method is not None and self.method != method:
            return False
        return self.path is None or fnmatchcase(path, self.path)

    def __str__(self) -> str:
        if self.endpoint is not None:
            return self.endpoint
        text = self.path or "*"
        return f"{self.method} {text}" if self.method else text


@attrs.frozen
class Entry:
    """One request and what the fake answered (status None: the connection was dropped)."""

    seq: int
    at: datetime
    """The fakes' (virtual) clock when the request arrived."""
    tenant: str | None
    method: str
    path: str
    query: str
    endpoint: str | None
    headers: dict[str, str]
    body: bytes
    status: int | None
    response_headers: dict[str, str]
    response_body: bytes
    fault: str | None = None
    """The injected fault that answered instead of the fake, if any."""

    @property
    def args(self) -> dict[str, str]:
        """Query parameters (the last value of each)."""
        return {k: v[-1] for k, v in parse_qs(self.query, keep_blank_values=True).items()}

    @property
    def data(self) -> Any:
        """The request body parsed: JSON, else a form (dict of last values), else None."""
        return _parse(self.body, self.headers.get("Content-Type", ""))

    @property
    def response_data(self) -> Any:
        return _parse(self.response_body, self.response_headers.get("Content-Type", ""))

    def to_json(self) -> dict[str, Any]:
        return {
            "seq": self.seq,
            "at": self.at.isoformat().replace("+00:00", "Z"),
            "tenant": self.tenant,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "endpoint": self.endpoint,
            "headers": self.headers,
            "body": self.body.decode("utf-8", "replace"),
            "status": self.status,
            "response_headers": self.response_headers,
            "response_body": self.response_body.decode("utf-8", "replace"),
            "fault": self.fault,
        }


def _parse(raw: bytes, content_type: str) -> Any:
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    if "json" in content_type or text[:1] in "{[":
        try:
            return json.loads(text)
        except ValueError:
            pass
    if "=" in text:
        return {k: v[-1] for k, v in parse_qs(text, keep_blank_values=True).items()}
    return None


def matches_body(entry: Entry, expected: BodyMatcher) -> bool:
    """Whether `entry`'s request body matches `expected` (see `BodyMatcher`)."""
    if isinstance(expected, bytes):
        return entry.body == expected
    if isinstance(expected, re.Pattern):
        return expected.search(entry.body.decode("utf-8", "replace")) is not None
    if isinstance(expected, str):
        return re.search(expected, entry.body.decode("utf-8", "replace")) is not None
    data = entry.data
    if isinstance(expected, Mapping):
        if not isinstance(data, Mapping):
            return False
        for key, value in expected.items():
            found = data.get(key, MISSING)
            if found is MISSING:
                return False
            # form bodies carry strings: 100 matches "100"
            if found != value and not (isinstance(found, str) and found == _text(value)):
                return False
        return True
    return bool(expected(data))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


_Row = tuple[Any, ...]
"""An `Entry`'s field values, in order: what the journal keeps, building the `Entry` when
it is read (recording happens on every request, reading seldom)."""


class Journal:
    """Bounded per-tenant request history with assertion helpers."""

    def __init__(self, size: int = 1000) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        self.size = size
        self._by_tenant: dict[str | None, deque[_Row]] = {}
        self._seq = 0
        self._lock = threading.Lock()

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def record(self, entry: Entry) -> None:
        with self._lock:
            self._append(attrs.astuple(entry, recurse=False))

    def add(self, *fields: Any) -> None:
        """Record an entry of `fields` (`Entry`'s, all but `seq`), numbered next: one lock
        where `record(Entry(next_seq(), ...))` takes two, and no `Entry` built until read
        (it is on every request's path)."""
        with self._lock:
            self._seq += 1
            self._append((self._seq, *fields))

    def _append(self, row: _Row) -> None:
        tenant = row[2]
        queue = self._by_tenant.get(tenant)
        if queue is None:
            queue = self._by_tenant[tenant] = deque(maxlen=self.size)
        queue.append(row)

    def clear(self, tenant: str | None = None) -> None:
        """Forget everything (or one tenant's entries)."""
        with self._lock:
            if tenant is None:
                self._by_tenant.clear()
            else:
                self._by_tenant.pop(tenant, None)

    def entries(
        self,
        route: str | None = None,
        *,
        tenant: str | None = None,
        body: BodyMatcher | None = None,
        status: int | None = None,
    ) -> list[Entry]:
        """Matching entries, oldest first (all tenants unless `tenant` is given)."""
        with self._lock:
            if tenant is not None:
                rows = list(self._by_tenant.get(tenant, ()))
            else:
                rows = sorted(
                    (row for queue in self._by_tenant.values() for row in queue),
                    key=lambda row: int(row[0]),
                )
        spec = Route.parse(route)
        return [
            e
            for e in (Entry(*row) for row in rows)
            if spec.matches(e.method, e.path, e.endpoint)
            and (status is None or e.status == status)
            and (body is None or matches_body(e, body))
        ]

    def __len__(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._by_tenant.values())

    def last(self, route: str | None = None, *, tenant: str | None = None) -> Entry:
        found = self.entries(route, tenant=tenant)
        if not found:
            raise AssertionError(f"no request matching {Route.parse(route)} was recorded")
        return found[-1]

    def count(self, route: str | None = None, **filters: Any) -> int:
        return len(self.entries(route, **filters))

    # --- assertions -------------------------------------------------------------------

    def assert_called(
        self,
        route: str | None = None,
        *,
        times: int | None = None,
        tenant: str | None = None,
        body: BodyMatcher | None = None,
        status: int | None = None,
    ) -> list[Entry]:
        """At least one matching request (exactly `times` if given); returns them."""
        found = self.entries(route, tenant=tenant, body=body, status=status)
        if (times is None and not found) or (times is not None and len(found) != times):
            wanted = "at least once" if times is None else f"{times} time(s)"
            raise AssertionError(
                f"expected {Route.parse(route)}"
                + (f" with body matching {body!r}" if body is not None else "")
                + f" {wanted}, got {len(found)}; recorded: {self._summary(tenant)}"
            )
        return found

    def assert_called_once(self, route: str | None = None, **filters: Any) -> Entry:
        return self.assert_called(route, times=1, **filters)[0]

    def assert_not_called(self, route: str | None = None, **filters: Any) -> None:
        self.assert_called(route, times=0, **filters)

    def _summary(self, tenant: str | None) -> str:
        recent = self.entries(tenant=tenant)[-10:]
        if not recent:
            return "nothing"
        return ", ".join(f"{e.method} {e.path} -> {e.status}" for e in recent)
