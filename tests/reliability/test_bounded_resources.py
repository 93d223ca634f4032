"""Issue 11, section 4: memory and CPU per fake are bounded by documented limits, whatever
the traffic.

On main: the request journal kept whole bodies, also of 401s (40 unauthenticated 10 MB
POSTs took a fake from 33 to 435 MB); route-match caches were bounded by entry count, not
size (4,000 `GET /v2/loyalty/users/<200 KB>` retained 2.4 GB) and each log line repeated
the path whole; waitress's connection limit was not configurable and about 98 idle sockets
locked every other client out; `delay: NaN` and `retry_after: Infinity` were accepted
(then 500), latency faults added up with no cap, and 5,000 armed faults cost 4.4 ms on
every request.
"""

from __future__ import annotations

import gc
import io
import json
import logging
import socket
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_kit import is_control_error, is_smile_error
from werkzeug.test import Client

from fakeservers.__main__ import parse_args
from fakeservers._http import serve_in_thread
from fakeservers.shopsocially import DEMO_API_KEY, DEMO_PARTNER_ID
from fakeservers.smile import DEMO_KEY
from fakeservers.toolkit import Fake, Journal
from fakeservers.toolkit.faults import MAX_FAULT_DELAY, MAX_FAULTS, MAX_REQUEST_DELAY
from fakeservers.toolkit.journal import JOURNAL_BODY_BYTES
from loyaltykit import ManualClock

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
MB = 1 << 20
SMILE_AUTH = {"Authorization": f"Bearer {DEMO_KEY}"}
SS_AUTH = {"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY}


def fake(vendor: str = "smile", **options: Any) -> Fake:
    return Fake(vendor, ManualClock(START), **options)


def _measure(work: Any) -> int:
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        work()
        gc.collect()
        return int(tracemalloc.get_traced_memory()[0] - before)
    finally:
        tracemalloc.stop()


# ------------------------------------------------------------------ the request journal


def test_unauthenticated_ten_megabyte_posts_keep_only_a_bounded_prefix() -> None:
    built = fake()
    client = Client(built)
    body = b'{"a": "' + b"x" * (10 * MB) + b'"}'

    def flood() -> None:
        for _ in range(40):
            response = client.post("/v1/points_transactions", data=body,
                                   content_type="application/json")
            assert response.status_code in (401, 413)

    assert _measure(flood) < 8 * MB
    entries = built.journal.entries()
    assert len(entries) == 40
    for entry in entries:
        assert entry.body_size == len(body)
        assert len(entry.body) <= JOURNAL_BODY_BYTES
        assert entry.tenant is None


def test_authenticated_bodies_are_truncated_with_their_size_recorded() -> None:
    built = fake()
    note = "n" * 9_000
    text = json.dumps({"points_transaction": {"customer_id": 1, "points_change": 1,
                                              "description": "d" * 9_000,
                                              "internal_note": note}})
    response = Client(built).post("/v1/points_transactions", data=text,
                                  content_type="application/json", headers=SMILE_AUTH)
    assert response.status_code == 201
    entry = built.journal.last()
    assert entry.body_size == len(text.encode())
    assert entry.body == text.encode()[:JOURNAL_BODY_BYTES]
    assert entry.response_body_size == len(response.data)
    shown = Client(built).get("/_fake/journal").json["entries"][-1]
    assert shown["body_size"] == len(text.encode())


def test_the_journal_caps_its_total_bytes_oldest_first() -> None:
    journal = Journal(1000, max_bytes=MB)
    for number in range(400):
        journal.add(START, "t" if number % 2 else None, "POST", f"/p/{number}", "", None, {},
                    b"x" * 20_000, 200, {}, b"y" * 100, None)
    assert journal.bytes <= MB
    kept = journal.entries()
    assert kept and kept[-1].path == "/p/399"
    assert [e.seq for e in kept] == list(range(kept[0].seq, 401))  # the newest, no gap
    assert kept[0].seq > 300
    journal.clear()
    assert journal.bytes == 0 and journal.entries() == []


@given(sizes=st.lists(st.integers(0, 300_000), min_size=1, max_size=60),
       limit=st.integers(MB, 3 * MB))
def test_the_journal_never_holds_more_than_its_cap(sizes: list[int], limit: int) -> None:
    journal = Journal(5, max_bytes=limit)
    for number, size in enumerate(sizes):
        journal.add(START, str(number % 3), "GET", "/", "", None, {"H": "v" * 100},
                    b"b" * size, 200, {}, b"r" * size, None)
        assert journal.bytes <= limit
        assert all(len(e.body) <= JOURNAL_BODY_BYTES for e in journal.entries())
    assert journal.entries()[-1].body_size == sizes[-1]


# ------------------------------------------------------------------ caches and log lines


def _get(app: Any, path: str, headers: dict[str, str]) -> int:
    """One GET straight into the WSGI app, with an environ built by hand: the werkzeug
    test client (like waitress) parses URLs with `urllib.parse.urlsplit`, whose own cache
    keeps the last 128 URLs; that is the client's (or server's) bounded cost, not the
    fake's."""
    environ = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": "", "SCRIPT_NAME": "",
        "SERVER_NAME": "localhost", "SERVER_PORT": "80", "HTTP_HOST": "localhost",
        "SERVER_PROTOCOL": "HTTP/1.1", "wsgi.url_scheme": "http", "wsgi.input": io.BytesIO(),
        **{"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()},
    }  # fmt: skip
    status: list[str] = []
    body = app(environ, lambda line, _headers, _exc=None: status.append(line))
    b"".join(body)
    return int(status[0][:3])


@pytest.mark.parametrize("vendor", ["smile", "shopsocially"])
def test_long_paths_are_not_retained(vendor: str) -> None:
    built = fake(vendor)
    # a route with a text segment that every long path matches (Smile's are all numbers)
    prefix = "/_fake/tenants/" if vendor == "smile" else "/v2/loyalty/users/"
    headers = SMILE_AUTH if vendor == "smile" else SS_AUTH

    def flood() -> None:
        for number in range(300):
            long = f"{number}-" + "a" * 200_000
            for sent in ({}, headers):
                assert _get(built, prefix + long, sent) in (401, 404)
        built.journal.clear()

    assert _measure(flood) < 4 * MB


def test_access_log_lines_truncate_long_paths(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="fakeservers.access"), fake().serve() as built:
        port = int(built.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            path = "/v1/%0d%0aforged%20line" + "p" * 20_000
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n"
                         "Connection: close\r\n\r\n".encode())
            while sock.recv(65536):
                pass
    lines = [r.getMessage() for r in caplog.records if r.name == "fakeservers.access"]
    assert lines and all(len(line) < 1_000 for line in lines)
    assert all("\n" not in line and "\r" not in line for line in lines)
    assert any("\\x0d\\x0aforged line" in line for line in lines)


# ------------------------------------------------------------------ connections


def test_idle_sockets_are_closed_so_others_get_served() -> None:
    def app(environ: Any, start_response: Any) -> list[bytes]:
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    server = serve_in_thread(app, "127.0.0.1", 0, connection_limit=4, channel_timeout=1)
    idle = []
    try:
        for _ in range(4):
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
            sock.sendall(b"GET / HTTP/1.1\r\n")  # one header line, then nothing
            idle.append(sock)
        with socket.create_connection(("127.0.0.1", server.port), timeout=20) as late:
            late.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            answer = late.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200")
        for sock in idle:  # closed by the server, at most with a 4xx first
            data = sock.recv(65536)
            assert data == b"" or data.startswith(b"HTTP/1.1 4")
    finally:
        for sock in idle:
            sock.close()
        server.stop()


def test_the_command_line_bounds_connections_and_threads() -> None:
    args = parse_args([])
    assert (args.threads, args.connection_limit, args.channel_timeout) == (8, 256, 10)
    args = parse_args(["--threads", "4", "--connection-limit", "50", "--channel-timeout", "5"])
    assert (args.threads, args.connection_limit, args.channel_timeout) == (4, 50, 5)
    for bad in (["--threads", "0"], ["--threads", "10000"], ["--connection-limit", "0"],
                ["--channel-timeout", "0"], ["--channel-timeout", "100000"]):
        with pytest.raises(SystemExit) as stopped:
            parse_args(bad)
        assert stopped.value.code == 2


# ------------------------------------------------------------------ faults


@pytest.mark.parametrize("body", [
    '{"kind": "latency", "delay": NaN}',
    '{"kind": "rate_limit", "retry_after": Infinity}',
    '{"kind": "latency", "delay": 1e400}',
    '{"kind": "latency", "delay": ' + str(MAX_FAULT_DELAY + 1) + "}",
    '{"kind": "rate_limit", "retry_after": 1e300}',
    '{"kind": "error", "status": ' + "9" * 4300 + "}",
    '{"kind": "error", "probability": NaN}',
    '{"kind": "error", "times": 1e300}',
    '{"kind": "error", "seed": ' + "9" * 400 + "}",
    '{"kind": "error", "route": "' + "r" * 20_000 + '"}',
    '{"kind": "error", "tenant": 5}',
])
def test_fault_parameters_are_validated(body: str) -> None:
    built = fake()
    client = Client(built)
    response = client.post("/_fake/faults", data=body, content_type="application/json")
    assert response.status_code == 400 and is_control_error(response.json), response.data
    assert built.faults.faults() == []
    assert client.get("/v1/customers/1", headers=SMILE_AUTH).status_code == 200


@pytest.mark.parametrize("options", [{"delay": float("nan")}, {"delay": float("inf")},
                                     {"retry_after": float("inf")}, {"delay": -1},
                                     {"probability": float("nan")}])
def test_the_python_twin_validates_too(options: dict[str, Any]) -> None:
    built = fake()
    with pytest.raises(ValueError):
        built.faults.add("latency" if "delay" in options else "rate_limit", **options)
    assert built.faults.faults() == []


def test_latency_adds_up_to_a_cap() -> None:
    built = fake()
    for _ in range(5):
        built.faults.latency(MAX_FAULT_DELAY, times=10)
    for _ in range(5):
        built.faults.latency(MAX_FAULT_DELAY, times=10, after=True)
    delay, chosen, after = built.faults.pick("GET", "/v1/customers/1", "customer_show", "demo")
    assert chosen is None and delay == MAX_REQUEST_DELAY and after == 0


def test_clearing_faults_wakes_delayed_requests() -> None:
    built = fake()
    built.faults.latency(MAX_FAULT_DELAY)
    client = Client(built)
    answered: list[int] = []
    worker = threading.Thread(
        target=lambda: answered.append(client.get("/v1/customers/1",
                                                  headers=SMILE_AUTH).status_code))
    worker.start()
    for _ in range(200):  # until the request is asleep in its fault
        if not built.faults.faults():
            break
        time.sleep(0.01)
    Client(built).delete("/_fake/faults")
    worker.join(10)
    assert not worker.is_alive() and answered == [200]


def test_the_number_of_armed_faults_is_capped() -> None:
    built = fake()
    for number in range(MAX_FAULTS):
        built.faults.error(f"GET /nowhere/{number}")
    response = Client(built).post("/_fake/faults", json={"kind": "error"})
    assert response.status_code == 400 and is_control_error(response.json)
    assert "at most" in response.json["error"]["message"]
    with pytest.raises(ValueError):
        built.faults.error()
    assert len(built.faults.faults()) == MAX_FAULTS


def test_faults_answer_in_the_order_they_were_armed_across_routes() -> None:
    built = fake()
    client = Client(built)
    for number in range(300):
        built.faults.error(f"GET /v1/points_transactions/{number + 10**6}")  # never matches
    first = built.faults.error("/v1/customers/*", status=502)
    second = built.faults.error("customer_show", status=503)
    built.faults.latency(0.0, "GET /v1/customers/1")
    assert client.get("/v1/customers/1", headers=SMILE_AUTH).status_code == 502
    assert client.get("/v1/customers/1", headers=SMILE_AUTH).status_code == 503
    assert client.get("/v1/customers/1", headers=SMILE_AUTH).status_code == 200
    assert (first.fired, second.fired) == (1, 1)
    body = client.get("/v1/customers/2", headers=SMILE_AUTH)
    assert body.status_code == 200 and not is_smile_error(body.json)
