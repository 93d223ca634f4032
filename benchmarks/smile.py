"""Group `smile`: the Smile.io fake's REST round trips in-process, next to their floors.

Two requests, each answered by the vendor app `fakeservers.smile.create_app()` (demo
tenant, Bearer key, a `ManualClock`):

- ``GET /v1/customers/1`` (the seeded customer, no include);
- ``POST /v1/points_transactions`` (a 10-point adjustment of customer 1; the ledger grows
  by one transaction per request).

Each is sent three ways, every case interleaved with every other (see
`Context.measure_many`):

1. werkzeug's test `Client`, to the fake and to `MinimalApp` (a `Request`, a `Map` routing
   the same path, a `Response` of the same body bytes the fake answered in setup);
2. a bare WSGI call with a prebuilt environ (no client): the apps' own cost, for reading
   the first comparison;
3. a `requests.Session` with `trust_env = False` (no per-call scan of the environment for
   proxies, on both sides) and the same headers: to the fake through the toolkit's
   in-process `WSGIAdapter`, and to a `responses` static stub of the same URL answering the
   same status and body (the stub's call log is cleared after every batch). The adapter
   is the one users get (`fakeservers.toolkit.transports.WSGIAdapter`).

Targets (issue 3, item 8): through the test client, the fake within 1.5x of the minimal
app; through `requests`, the fake no slower than the static stub.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import requests
import responses
from werkzeug.test import Client

from benchmarks._harness import Context, Timing, fmt_ratio, fmt_us
from benchmarks._wsgi import MinimalApp, client_batch, direct_batch, paired_ratio, session_batch
from fakeservers.smile import create_app
from fakeservers.smile.seed import DEMO_KEY
from fakeservers.toolkit.transports import WSGIAdapter
from loyaltykit import ManualClock

TITLE = "Smile fake in-process: GET customer / POST points transaction vs minimal app vs stub"

START = datetime(2025, 1, 1, tzinfo=UTC)
BASE_URL = "https://api.smile.io"
HEADERS = {"Authorization": f"Bearer {DEMO_KEY}"}
CUSTOMER_PATH = "/v1/customers/1"
CUSTOMER_RULE = "/v1/customers/<int:customer_id>"
TXN_PATH = "/v1/points_transactions"
TXN_BODY = {
    "points_transaction": {"customer_id": 1, "points_change": 10, "description": "bench"}
}

VS_MINIMAL = 1.5
VS_STUB = 1.0

# (label, method, path, rule of the minimal app, JSON body, status)
Case = tuple[str, str, str, str, Any, int]
REQUESTS: tuple[Case, ...] = (
    ("GET customer", "GET", CUSTOMER_PATH, CUSTOMER_RULE, None, 200),
    ("POST points_transaction", "POST", TXN_PATH, TXN_PATH, TXN_BODY, 201),
)
IMPLEMENTATIONS = {
    "client": ("Smile fake", "minimal app"),
    "direct": ("Smile fake", "minimal app"),
    "requests": ("Smile fake, toolkit WSGIAdapter", "responses stub"),
}
CLIENT_LABELS = {
    "client": "werkzeug test Client",
    "direct": "bare WSGI call",
    "requests": "requests (trust_env off)",
}


def fixtures(count: int) -> tuple[dict[str, Callable[[], int]], responses.RequestsMock]:
    """Every case's batch (`count` requests each), and the started `responses` mock."""
    app = create_app(clock=ManualClock(START))
    answers: dict[str, tuple[int, bytes]] = {}
    client = Client(app)
    for label, method, path, _rule, body, status in REQUESTS:
        answer = client.open(path, method=method, headers=HEADERS, json=body)
        if answer.status_code != status:
            raise RuntimeError(f"{label}: {answer.status_code} {answer.get_data(as_text=True)}")
        answers[label] = (status, answer.get_data())
    minimal = MinimalApp(
        (method, rule, answers[label][0], answers[label][1])
        for label, method, _path, rule, _body, _status in REQUESTS
    )

    fake_session = requests.Session()
    stub_session = requests.Session()
    for session in (fake_session, stub_session):
        session.trust_env = False
        session.headers.update(HEADERS)
    fake_session.mount(BASE_URL, WSGIAdapter(app))
    mock = responses.RequestsMock(assert_all_requests_are_fired=False)
    for label, method, path, _rule, _body, _status in REQUESTS:
        status, payload = answers[label]
        mock.add(method, BASE_URL + path, body=payload, status=status,
                 content_type="application/json")
    mock.start()

    def clear_stub_log() -> None:
        mock.calls.reset()

    cases: dict[str, Callable[[], int]] = {}
    for label, method, path, _rule, body, status in REQUESTS:
        for kind, target in (("fake", app), ("minimal", minimal)):
            cases[f"{label}|client|{kind}"] = client_batch(
                target, method, path, count, expect=status, headers=HEADERS, json=body
            )
            cases[f"{label}|direct|{kind}"] = direct_batch(
                target, method, path, count, expect=status, headers=HEADERS, json=body
            )
        url = BASE_URL + path
        cases[f"{label}|requests|fake"] = session_batch(
            fake_session, method, url, count, expect=status, json=body
        )
        cases[f"{label}|requests|minimal"] = session_batch(
            stub_session, method, url, count, expect=status, json=body, after=clear_stub_log
        )
    return cases, mock


def run(ctx: Context) -> None:
    count = 50 if ctx.quick else 100
    for mode in ctx.gc_modes:
        cases, mock = fixtures(count)
        try:
            with ctx.gc_mode(mode) as gc_label:
                ctx.log(f"smile: {len(cases)} cases x {count} requests, interleaved ({gc_label})")
                timings = ctx.measure_many(cases, repeats=5 if ctx.quick else 21)
        finally:
            mock.stop()
            mock.reset()
        report(ctx, mode, gc_label, timings, count)


def report(
    ctx: Context, mode: str, gc_label: str, timings: dict[str, Timing], count: int
) -> None:
    repeats = len(next(iter(timings.values())).samples)
    table = ctx.table(
        f"Smile fake in-process, one request per op, median of {repeats} batches of {count},"
        f" all cases interleaved (ratio = fake / baseline in the same client), {mode} gc",
        ["request", "client", "implementation", "gc", "us/op", "min-max", "cpu us/op",
         "fake/baseline", "by cpu"],
    )
    for label, *_ in REQUESTS:
        for client, (fake_name, base_name) in IMPLEMENTATIONS.items():
            fake = timings[f"{label}|{client}|fake"]
            base = timings[f"{label}|{client}|minimal"]
            for name, timing in ((fake_name, fake), (base_name, base)):
                ratio = timing is fake
                table.add(
                    label,
                    CLIENT_LABELS[client],
                    name,
                    gc_label,
                    fmt_us(timing.us),
                    timing.spread,
                    fmt_us(timing.cpu_us),
                    fmt_ratio(fake.us / base.us) if ratio else "",
                    fmt_ratio(fake.cpu_us / base.cpu_us) if ratio else "",
                )
    table.show()
    for label, *_ in REQUESTS:
        fake = timings[f"{label}|client|fake"]
        base = timings[f"{label}|client|minimal"]
        ctx.target(
            f"{label}, test Client: Smile fake / minimal werkzeug app ({mode} gc)",
            fake.us / base.us,
            VS_MINIMAL,
            note=f"by cpu time {fake.cpu_us / base.cpu_us:.2f}x,"
            f" paired per repeat {paired_ratio(fake, base):.2f}x",
        )
    for label, *_ in REQUESTS:
        fake = timings[f"{label}|requests|fake"]
        stub = timings[f"{label}|requests|minimal"]
        ctx.target(
            f"{label}, requests: Smile fake (WSGIAdapter) / responses static stub ({mode} gc)",
            fake.us / stub.us,
            VS_STUB,
            note=f"by cpu time {fake.cpu_us / stub.cpu_us:.2f}x,"
            f" paired per repeat {paired_ratio(fake, stub):.2f}x",
        )


def profile(ctx: Context) -> None:
    """cProfile of the fake's two requests through the test client and through requests."""
    cases, mock = fixtures(300)
    try:
        for label, *_ in REQUESTS:
            for client in ("client", "requests"):
                batch = cases[f"{label}|{client}|fake"]
                batch()
                ctx.profile(f"Smile {label} via {CLIENT_LABELS[client]}", batch)
    finally:
        mock.stop()
        mock.reset()
