"""The request journal: every request a fake answered, with its response, per tenant.

Each tenant keeps its last `size` entries (oldest dropped first); requests that name no
known tenant (bad credentials, no credentials) are kept under tenant None. Control-plane
requests (`/_fake/...`) are not recorded. Read it from Python (`fake.journal`) or over
HTTP (`GET /_fake/journal`).

Bounded whatever the traffic: each request and response body is kept up to
`JOURNAL_BODY_BYTES` (its full size in `body_size` / `response_body_size`), paths and
query strings up to `JOURNAL_TEXT_CHARS`, header values up to `JOURNAL_HEADER_CHARS`; and
the whole journal holds at most `max_bytes` (`DEFAULT_JOURNAL_BYTES`), the oldest entries
of any tenant dropped first. Credentials are masked (`mask_secret`) in every entry read:
`Bearer ****PraT`.

Assertion helpers take a *route*: an endpoint name (`"customer_show"`), a path glob
(`"/v1/customers/*"`) or a method and a path glob (`"POST /v1/activities"`).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from fnmatch import fnmatchcase
from itertools import islice
from typing import Any
from urllib.parse import parse_qs

import attrs

from fakeservers.toolkit.catalogue import check_name

__all__ = [
    "DEFAULT_JOURNAL_BYTES",
    "JOURNAL_BODY_BYTES",
    "JOURNAL_HEADER_CHARS",
    "JOURNAL_TEXT_CHARS",
    "SECRET_HEADERS",
    "BodyMatcher",
    "Entry",
    "Journal",
    "Route",
    "body_differences",
    "mask_secret",
    "matches_body",
    "value_differences",
]

JOURNAL_BODY_BYTES = 64 * 1024
"""Bytes of a request or response body the journal keeps (the rest is cut off)."""
JOURNAL_TEXT_CHARS = 4096
"""Characters of a path or query string the journal keeps."""
JOURNAL_HEADER_CHARS = 1024
"""Characters of a header value the journal keeps; at most `JOURNAL_HEADERS` headers."""
JOURNAL_HEADERS = 100
DEFAULT_JOURNAL_BYTES = 32 * 1024 * 1024
"""The default bound of a journal's total size (every tenant's entries together)."""
MIN_JOURNAL_BYTES = 1024 * 1024
"""The smallest `max_bytes` a journal accepts: more than any one entry can take."""
_ENTRY_OVERHEAD = 1024
"""Bytes counted per entry for the objects around its texts (tuple, dicts, datetime)."""
SECRET_HEADERS = frozenset(
    {"Authorization", "Proxy-Authorization", "Api-Key", "X-Api-Key", "Cookie", "Set-Cookie",
     "X-Fake-Control-Token"}
)  # fmt: skip
"""Headers whose values the journal masks (names as the journal spells them)."""

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
    def parse(cls, spec: str | None, names: Collection[str] | None = None) -> Route:
        """Parse a spec; an endpoint name not in `names` (when given) is refused with
        `UnknownRoute`, naming the closest ones."""
        if spec is None or spec in ("", "*"):
            return cls()
        head, _, tail = spec.strip().partition(" ")
        if tail:
            return cls(method=head.upper(), path=tail.strip())
        if head.startswith("/"):
            return cls(path=head)
        if names is not None:
            check_name(head, names)
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
    """One request and what the caller got (status None: the connection was dropped)."""

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
    """The injected fault (or canned response, `respond`) that answered, if any."""
    applied_status: int | None = None
    """When a fault fired after the fake acted (`after=True`): the status of the fake's own
    answer, which the caller never got (the request was applied)."""
    body_size: int = 0
    """The request body's full size in bytes (`body` holds at most `JOURNAL_BODY_BYTES`)."""
    response_body_size: int = 0
    """The response body's full size in bytes."""

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
            "applied_status": self.applied_status,
            "body_size": self.body_size,
            "response_body_size": self.response_body_size,
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
    return not body_differences(entry, expected)


def body_differences(entry: Entry, expected: BodyMatcher) -> list[str]:
    """What keeps `entry`'s request body from matching `expected` (empty: it matches).

    Bytes compare with the raw body; a string or compiled pattern is searched in its text;
    a callable is a predicate on the parsed body; a dict matches partially at every depth
    (see `value_differences`).
    """
    if isinstance(expected, bytes):
        return [] if entry.body == expected else ["body: the raw bytes differ"]
    if isinstance(expected, re.Pattern | str):
        pattern = expected if isinstance(expected, re.Pattern) else re.compile(expected)
        if pattern.search(entry.body.decode("utf-8", "replace")) is not None:
            return []
        return [f"body: no match for {pattern.pattern!r}"]
    return value_differences(expected, entry.data, "body")


def value_differences(expected: Any, found: Any, where: str) -> list[str]:
    """What differs between an expected value and a parsed one, each line naming its path.

    A dict matches when each of its keys is present with a matching value (other keys are
    ignored, at every depth); a list matches a list of the same length item by item; a
    compiled pattern is searched in a string; a callable is a predicate; anything else
    compares equal, or equal to a form value's text (form bodies carry strings: 100 matches
    "100", True matches "true").
    """
    if isinstance(expected, Mapping):
        if not isinstance(found, Mapping):
            return [f"{where}: expected an object, got {_shown(found)}"]
        lines = []
        for key, value in expected.items():
            item = found.get(key, MISSING)
            if item is MISSING:
                lines.append(f"{where}.{key}: missing")
            else:
                lines.extend(value_differences(value, item, f"{where}.{key}"))
        return lines
    if isinstance(expected, list):
        if not isinstance(found, list):
            return [f"{where}: expected a list, got {_shown(found)}"]
        if len(found) != len(expected):
            return [f"{where}: expected {len(expected)} item(s), got {len(found)}"]
        return [
            line
            for index, (want, got) in enumerate(zip(expected, found, strict=True))
            for line in value_differences(want, got, f"{where}[{index}]")
        ]
    if isinstance(expected, re.Pattern):
        if isinstance(found, str) and expected.search(found) is not None:
            return []
        return [f"{where}: expected a match for {expected.pattern!r}, got {_shown(found)}"]
    if callable(expected):
        if expected(found):
            return []
        return [f"{where}: {_shown(found)} fails {getattr(expected, '__name__', 'the check')}"]
    if found == expected or (isinstance(found, str) and found == _text(expected)):
        return []
    return [f"{where}: expected {expected!r}, got {_shown(found)}"]


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def mask_secret(value: str) -> str:
    """`Bearer test_cnzGMghxTmPzK1spPraT` -> `Bearer ****PraT`: the scheme and, of a secret
    of at least 8 characters, its last 4, enough to tell keys apart without showing one."""
    scheme, space, secret = value.strip().partition(" ")
    if not space or not scheme.isalpha():
        scheme, secret = "", value.strip()
    kept = secret[-4:] if len(secret) >= 8 else ""
    return f"{scheme} ****{kept}" if scheme else f"****{kept}"


def _bounded(headers: dict[str, str]) -> tuple[dict[str, str], int]:
    """Headers as the journal keeps them (at most `JOURNAL_HEADERS`, each name and value
    cut to `JOURNAL_HEADER_CHARS`) and their size. `headers` is the caller's own fresh
    dict, kept as it is when it is small: on every request, the usual few short headers
    cost two C-level passes."""
    size = sum(map(len, headers)) + sum(map(len, headers.values()))
    if size <= JOURNAL_HEADER_CHARS and len(headers) <= JOURNAL_HEADERS:
        return headers, size  # no name or value can be too long
    kept = {
        name[:JOURNAL_HEADER_CHARS]: value[:JOURNAL_HEADER_CHARS]
        for name, value in islice(headers.items(), JOURNAL_HEADERS)
    }
    return kept, sum(map(len, kept)) + sum(map(len, kept.values()))


def _masked(headers: dict[str, str]) -> dict[str, str]:
    """`headers` with the values of `SECRET_HEADERS` masked: what every reader of the
    journal gets (masking when an entry is read keeps recording cheap)."""
    secret = SECRET_HEADERS.intersection(headers)
    if not secret:
        return headers
    shown = dict(headers)
    for name in secret:
        shown[name] = mask_secret(shown[name])
    return shown


def _as_read(row: tuple[Any, ...]) -> tuple[Any, ...]:
    """A kept row as readers see it: its request and response headers masked."""
    return (*row[:7], _masked(row[7]), *row[8:10], _masked(row[10]), *row[11:])


_Row = tuple[Any, ...]
"""An `Entry`'s field values, in order: what the journal keeps, building the `Entry` when
it is read (recording happens on every request, reading seldom)."""


class Journal:
    """Bounded per-tenant request history with assertion helpers.

    `names`, when given (a `Fake` gives its route names), is what route specs' endpoint
    names are checked against: a misspelled one is refused instead of matching nothing.
    """

    def __init__(
        self,
        size: int = 1000,
        names: Collection[str] | None = None,
        *,
        max_bytes: int = DEFAULT_JOURNAL_BYTES,
    ) -> None:
        if size < 1:
            raise ValueError("size must be at least 1")
        if max_bytes < MIN_JOURNAL_BYTES:
            raise ValueError(f"max_bytes must be at least {MIN_JOURNAL_BYTES}")
        self.size = size
        self.names = names
        self.max_bytes = max_bytes
        self._by_tenant: dict[str | None, deque[tuple[_Row, int]]] = {}
        self._bytes = 0
        self._seq = 0
        self._lock = threading.Lock()

    @property
    def bytes(self) -> int:
        """What the kept entries take, as counted against `max_bytes`."""
        return self._bytes

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def record(self, entry: Entry) -> None:
        row = attrs.astuple(entry, recurse=False)
        self._add(row[0], row[1:12], row[12:14], max(entry.body_size, len(entry.body)))

    def add(self, *fields: Any, body_size: int | None = None) -> None:
        """Record an entry of `fields` (`Entry`'s from `at` to `fault` or
        `applied_status`), numbered next: one lock where `record(Entry(next_seq(), ...))`
        takes two, and no `Entry` built until read (it is on every request's path).
        Bodies, texts and headers are cut to the journal's bounds, secrets masked, sizes
        recorded (`body_size`: the request body's size when `body` is not all of it, e.g.
        a body refused unread)."""
        self._add(None, fields[:11], fields[11:13], body_size)

    def _add(
        self,
        seq: int | None,
        fields: tuple[Any, ...],
        outcome: tuple[Any, ...],
        body_size: int | None = None,
    ) -> None:
        at, tenant, method, path, query, endpoint, headers, body, status, out, answer = fields
        fault, applied = (*outcome, None, None)[:2]
        headers, header_size = _bounded(headers)
        out, out_size = _bounded(out)
        path, query = path[:JOURNAL_TEXT_CHARS], query[:JOURNAL_TEXT_CHARS]
        kept_body, kept_answer = body[:JOURNAL_BODY_BYTES], answer[:JOURNAL_BODY_BYTES]
        cost = (
            _ENTRY_OVERHEAD + len(path) + len(query) + header_size + out_size
            + len(kept_body) + len(kept_answer) + len(method) + len(endpoint or "")
        )  # fmt: skip
        with self._lock:
            if seq is None:
                self._seq += 1
                seq = self._seq
            row = (seq, at, tenant, method, path, query, endpoint, headers, kept_body, status,
                   out, kept_answer, fault, applied,
                   len(body) if body_size is None else body_size, len(answer))  # fmt: skip
            queue = self._by_tenant.get(tenant)
            if queue is None:
                queue = self._by_tenant[tenant] = deque()
            if len(queue) >= self.size:
                self._bytes -= queue.popleft()[1]
            queue.append((row, cost))
            self._bytes += cost
            while self._bytes > self.max_bytes:
                self._drop_oldest()

    def _drop_oldest(self) -> None:
        """Drop the oldest entry of any tenant (the caller holds the lock)."""
        oldest = min(
            (queue for queue in self._by_tenant.values() if queue),
            key=lambda queue: int(queue[0][0][0]),
        )
        self._bytes -= oldest.popleft()[1]

    def clear(self, tenant: str | None = None) -> None:
        """Forget everything (or one tenant's entries)."""
        with self._lock:
            if tenant is None:
                self._by_tenant.clear()
                self._bytes = 0
            else:
                dropped = self._by_tenant.pop(tenant, None) or ()
                self._bytes -= sum(cost for _, cost in dropped)

    def route(self, spec: str | None) -> Route:
        """`Route.parse(spec)`, an endpoint name checked against this journal's names."""
        return Route.parse(spec, self.names)

    def _all(self, tenant: str | None) -> list[Entry]:
        with self._lock:
            if tenant is not None:
                rows = [row for row, _ in self._by_tenant.get(tenant, ())]
            else:
                rows = sorted(
                    (row for queue in self._by_tenant.values() for row, _ in queue),
                    key=lambda row: int(row[0]),
                )
        return [Entry(*_as_read(row)) for row in rows]

    def entries(
        self,
        route: str | None = None,
        *,
        tenant: str | None = None,
        body: BodyMatcher | None = None,
        status: int | None = None,
    ) -> list[Entry]:
        """Matching entries, oldest first (all tenants unless `tenant` is given).

        `status` is the status the caller got (None never matches it: a dropped request
        has no status; find those with `[e for e in entries() if e.status is None]`).
        """
        spec = self.route(route)
        return [
            e
            for e in self._all(tenant)
            if spec.matches(e.method, e.path, e.endpoint)
            and (status is None or e.status == status)
            and (body is None or matches_body(e, body))
        ]

    def __len__(self) -> int:
        with self._lock:
            return sum(len(q) for q in self._by_tenant.values())

    def last(
        self,
        route: str | None = None,
        *,
        tenant: str | None = None,
        body: BodyMatcher | None = None,
        status: int | None = None,
    ) -> Entry:
        """The newest matching entry (AssertionError, with the near misses, if none)."""
        found = self.entries(route, tenant=tenant, body=body, status=status)
        if not found:
            raise AssertionError(
                self._failure(route, tenant, body, status, "at least once", found)
            )
        return found[-1]

    def count(
        self,
        route: str | None = None,
        *,
        tenant: str | None = None,
        body: BodyMatcher | None = None,
        status: int | None = None,
    ) -> int:
        """How many entries match."""
        return len(self.entries(route, tenant=tenant, body=body, status=status))

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
        """At least one matching request (exactly `times` if given); returns them.

        On failure the message lists the closest requests with what differed (route,
        tenant, status, each body field) and the most recent ones with their route names.
        """
        found = self.entries(route, tenant=tenant, body=body, status=status)
        if (times is None and not found) or (times is not None and len(found) != times):
            wanted = "at least once" if times is None else f"{times} time(s)"
            raise AssertionError(self._failure(route, tenant, body, status, wanted, found))
        return found

    def assert_called_once(
        self,
        route: str | None = None,
        *,
        tenant: str | None = None,
        body: BodyMatcher | None = None,
        status: int | None = None,
    ) -> Entry:
        """Exactly one matching request; returns it."""
        return self.assert_called(route, times=1, tenant=tenant, body=body, status=status)[0]

    def assert_not_called(
        self,
        route: str | None = None,
        *,
        tenant: str | None = None,
        body: BodyMatcher | None = None,
        status: int | None = None,
    ) -> None:
        """No matching request."""
        self.assert_called(route, times=0, tenant=tenant, body=body, status=status)

    # --- failure reports ----------------------------------------------------------------

    def differences(
        self,
        entry: Entry,
        route: str | None = None,
        *,
        tenant: str | None = None,
        body: BodyMatcher | None = None,
        status: int | None = None,
    ) -> list[str]:
        """What keeps `entry` from matching these filters (empty: it matches)."""
        spec = self.route(route)
        lines = []
        if not spec.matches(entry.method, entry.path, entry.endpoint):
            lines.append(f"route: expected {spec}, got {_request(entry)}")
        if tenant is not None and entry.tenant != tenant:
            lines.append(f"tenant: expected {tenant!r}, got {entry.tenant!r}")
        if status is not None and entry.status != status:
            lines.append(f"status: expected {status}, got {entry.status}")
        if body is not None:
            lines.extend(body_differences(entry, body))
        return lines

    def _failure(
        self,
        route: str | None,
        tenant: str | None,
        body: BodyMatcher | None,
        status: int | None,
        wanted: str,
        found: list[Entry],
    ) -> str:
        spec = self.route(route)
        head = (
            f"expected {spec}"
            + (f" for tenant {tenant!r}" if tenant is not None else "")
            + (f" with status {status}" if status is not None else "")
            + (f" with body matching {body!r}" if body is not None else "")
            + f" {wanted}, got {len(found)}"
        )
        recorded = self._all(None)
        if not recorded:
            return head + "; nothing was recorded"
        lines = [head]
        if found:
            lines.append("matching requests:")
            lines.extend(f"  {_line(e)}" for e in found[-NEAR_MISSES:])
        else:
            scored = [
                (len(diff), -e.seq, e, diff)
                for e in recorded
                if (diff := self.differences(e, route, tenant=tenant, body=body, status=status))
            ]
            scored.sort(key=lambda item: item[:2])
            lines.append("closest requests (what differed):")
            for _, _, entry, diff in scored[:NEAR_MISSES]:
                lines.append(f"  {_line(entry)}")
                lines.extend(f"      {line}" for line in diff)
        lines.append(f"recent requests (oldest first, last {RECENT}):")
        lines.extend(f"  {_line(e)}" for e in recorded[-RECENT:])
        return "\n".join(lines)


NEAR_MISSES = 3
"""Closest non-matching requests a failed assertion shows, with what differed."""
RECENT = 10
"""Most recent requests a failed assertion lists."""


def _request(entry: Entry) -> str:
    name = f" [{entry.endpoint}]" if entry.endpoint else " [no route]"
    return f"{entry.method} {entry.path}{name}"


def _line(entry: Entry) -> str:
    status = "dropped" if entry.status is None else str(entry.status)
    fault = f" (fault: {entry.fault})" if entry.fault else ""
    tenant = f" tenant {entry.tenant!r}" if entry.tenant is not None else " no tenant"
    return f"#{entry.seq} {_request(entry)} -> {status}{fault},{tenant}"
