"""In-process HTTP helpers shared by the `smile` and `shopsocially` groups.

- `MinimalApp`: the least a werkzeug application does for a JSON API: wrap the environ in a
  `Request`, route it with a `Map` of `Rule`s, answer fixed bytes with a `Response`. It is
  the baseline the fakes are compared with (same client, same request, same body bytes).
- batch builders: one request per operation through werkzeug's test `Client`, through a
  bare WSGI call with a prebuilt environ (no client at all), or through a `requests`
  session; each checks the status code, so a broken case fails instead of timing errors.
"""

from __future__ import annotations

import io
import statistics
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

import requests
from werkzeug.routing import Map, Rule
from werkzeug.test import Client, EnvironBuilder
from werkzeug.wrappers import Request, Response

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from benchmarks._harness import Timing

__all__ = [
    "Answer",
    "MinimalApp",
    "client_batch",
    "direct_batch",
    "paired_ratio",
    "session_batch",
]

Batch = Callable[[], int]
Answer = tuple[str, str, int, bytes]
"""(method, path rule, status, body bytes) of one `MinimalApp` route."""


class MinimalApp:
    """Request + Map/Rule routing + a Response of fixed bytes: a werkzeug app's floor."""

    def __init__(self, answers: Iterable[Answer]) -> None:
        rules: list[Rule] = []
        self.answers: dict[str, tuple[int, bytes]] = {}
        for index, (method, path, status, body) in enumerate(answers):
            endpoint = f"e{index}"
            rules.append(Rule(path, methods=[method], endpoint=endpoint))
            self.answers[endpoint] = (status, body)
        self.url_map = Map(rules)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ)
        endpoint, _ = self.url_map.bind_to_environ(request.environ).match()
        status, body = self.answers[endpoint]
        response = Response(body, status=status, mimetype="application/json")
        return response(environ, start_response)


def paired_ratio(case: Timing, baseline: Timing) -> float:
    """The median over repeats of case / baseline, each pair timed in the same repeat.

    `measure_many` runs every case once per repeat, so the two batches of a pair ran a
    moment apart: the ratio of each pair cancels the load of that moment, which the ratio
    of the two medians does not when the machine's load drifts between repeats.
    """
    pairs = zip(case.samples, baseline.samples, strict=True)
    return statistics.median(a / b for a, b in pairs)


def _check(where: str, status: int, expect: int) -> None:
    if status != expect:
        raise RuntimeError(f"{where}: status {status}, expected {expect}")


def client_batch(
    app: WSGIApplication,
    method: str,
    path: str,
    count: int,
    *,
    expect: int,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
) -> Batch:
    """`count` requests through one werkzeug test `Client` (as the fakes' tests send them)."""
    client = Client(app)
    head = dict(headers or {})

    def batch() -> int:
        status = expect
        for _ in range(count):
            answer = client.open(path, method=method, headers=head, json=json, data=data)
            status = answer.status_code
        _check(path, status, expect)
        return count

    return batch


def direct_batch(
    app: WSGIApplication,
    method: str,
    path: str,
    count: int,
    *,
    expect: int,
    headers: Mapping[str, str] | None = None,
    json: Any = None,
    data: Mapping[str, str] | None = None,
) -> Batch:
    """`count` bare WSGI calls with a copy of one prebuilt environ: the app's own cost."""
    builder = EnvironBuilder(
        path, method=method, headers=list((headers or {}).items()), json=json, data=data
    )
    try:
        template = builder.get_environ()
    finally:
        builder.close()
    body = template["wsgi.input"].read()
    seen: list[str] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Any:
        seen.append(status)
        return None

    def batch() -> int:
        seen.clear()
        for _ in range(count):
            environ = dict(template)
            environ["wsgi.input"] = io.BytesIO(body)
            b"".join(app(environ, start_response))
        _check(path, int(seen[-1][:3]), expect)
        return count

    return batch


def session_batch(
    session: requests.Session,
    method: str,
    url: str,
    count: int,
    *,
    expect: int,
    json: Any = None,
    data: Mapping[str, str] | None = None,
    after: Callable[[], None] | None = None,
) -> Batch:
    """`count` requests through a `requests` session; `after` runs once per batch."""
    request = session.request

    def batch() -> int:
        status = expect
        for _ in range(count):
            status = request(method, url, json=json, data=data).status_code
        _check(url, status, expect)
        if after is not None:
            after()
        return count

    return batch
