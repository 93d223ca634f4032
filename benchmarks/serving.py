"""Group `serving`: live-server GET throughput of the fakes with a keep-alive client.

Every case serves one app on 127.0.0.1 (port 0) and answers a batch of GETs sent over one
kept-alive connection, all cases interleaved (see `Context.measure_many`). The servers run
in a child process, as `python -m fakeservers` does (the client does not compete with them
for the GIL), then again in the client's own process, as the pytest plugin runs them:

- the Smile fake (`fakeservers.toolkit.Fake`: vendor app + journal + fault hook), and the
  ShopSocially fake, as `python -m fakeservers` and the pytest plugin serve them (waitress);
- the bare Smile vendor app (no toolkit wrapper) on waitress, to show what the journal costs;
- a minimal werkzeug app (one `Request`, one `Response` of the very JSON bytes the Smile fake
  answers) served the same way;
- the Smile fake on werkzeug's development server (`werkzeug.serving.make_server`,
  threaded), which answers `Connection: close`, so the client reconnects every request.

Two clients: `requests.Session` with `trust_env = False` on every side (so no case pays
the per-call scan of the environment for proxy settings), and the standard library's
`http.client.HTTPConnection` (reconnecting when the server closed).
Targets (issue 5): the Smile fake's throughput at least 0.8x the minimal app's on the same
server, and at least 2x its own on the development server.
"""

from __future__ import annotations

import http.client
import logging
import multiprocessing
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.connection import Connection
from typing import Any

import requests
from werkzeug.serving import make_server
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from benchmarks._harness import Context, Timing, fmt_ratio, fmt_us
from fakeservers._http.serving import ServerThread, serve_in_thread
from fakeservers.toolkit import Fake
from loyaltykit import ManualClock

TITLE = "live-server GET throughput: the fakes on waitress vs a minimal app vs werkzeug dev"

MIN_VS_MINIMAL = 0.8
MIN_VS_DEV_SERVER = 2.0


def minimal_app(body: bytes) -> Callable[[Any, Any], Any]:
    """A werkzeug app answering `body` as JSON to every request."""

    def app(environ: Any, start_response: Any) -> Any:
        request = Request(environ)
        response = Response(body, mimetype="application/json")
        response.headers["X-Path"] = request.path
        return response(environ, start_response)

    return app


class DevServer:
    """werkzeug's development server in a thread (what the fakes used before waitress)."""

    def __init__(self, app: Any) -> None:
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


def requests_batch(url: str, headers: dict[str, str], count: int) -> Callable[[], int]:
    session = requests.Session()
    session.trust_env = False
    session.headers.update(headers)

    def batch() -> int:
        for _ in range(count):
            response = session.get(url)
            if response.status_code != 200:
                raise RuntimeError(f"{url}: {response.status_code}")
        return count

    return batch


def http_client_batch(url: str, headers: dict[str, str], count: int) -> Callable[[], int]:
    host_port, _, path = url.removeprefix("http://").partition("/")
    host, _, port = host_port.partition(":")
    state: dict[str, http.client.HTTPConnection] = {}

    def batch() -> int:
        for _ in range(count):
            connection = state.get("c")
            if connection is None:
                connection = state["c"] = http.client.HTTPConnection(host, int(port))
            connection.request("GET", "/" + path, headers=headers)
            response = connection.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"{url}: {response.status}")
            if response.will_close:
                connection.close()
                del state["c"]
        return count

    return batch


Cases = dict[str, tuple[str, dict[str, str]]]
"""Case name -> (URL to GET, request headers)."""


@contextmanager
def servers() -> Iterator[Cases]:
    """Start every server; yield the cases; stop them."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the dev server logs each request
    clock = ManualClock()
    smile = Fake("smile", clock).serve()
    shopsocially = Fake("shopsocially", clock).serve()
    bare_app = Fake("smile", clock).app
    smile_headers = smile.headers()
    customer = "/v1/customers/1"
    body = Client(bare_app).get(customer, headers=smile_headers).get_data()
    bare_smile = serve_in_thread(bare_app)
    minimal: ServerThread = serve_in_thread(minimal_app(body))
    dev = DevServer(Fake("smile", clock))
    try:
        yield {
            "Smile fake (waitress)": (smile.url + customer, smile_headers),
            "ShopSocially fake (waitress)": (
                shopsocially.url + "/v2/loyalty/users/bob@shopsocially.com",
                shopsocially.headers(),
            ),
            "Smile vendor app, no toolkit (waitress)": (bare_smile.url + customer, smile_headers),
            "minimal werkzeug app (waitress)": (minimal.url + customer, {}),
            "Smile fake (werkzeug dev server)": (dev.url + customer, smile_headers),
        }
    finally:
        smile.stop()
        shopsocially.stop()
        bare_smile.stop()
        minimal.stop()
        dev.stop()


CpuProbe = Callable[[], float] | None
"""Seconds of CPU the servers' process has used (None: the servers share the client's)."""


def _serve_in_child(connection: Connection) -> None:
    with servers() as cases:
        connection.send(cases)
        while connection.recv() == "cpu":  # until the parent says stop
            connection.send(time.process_time())


@contextmanager
def servers_here() -> Iterator[tuple[Cases, CpuProbe]]:
    with servers() as cases:
        yield cases, None


@contextmanager
def servers_in_a_child() -> Iterator[tuple[Cases, CpuProbe]]:
    context = multiprocessing.get_context("spawn")
    parent, child = context.Pipe()
    process = context.Process(target=_serve_in_child, args=(child,), daemon=True)
    process.start()
    try:
        if not parent.poll(60):
            raise RuntimeError("the server process did not start")
        cases = parent.recv()

        def probe() -> float:
            parent.send("cpu")
            return float(parent.recv())

        yield cases, probe
    finally:
        parent.send("stop")
        process.join(10)
        if process.is_alive():
            process.kill()


def run(ctx: Context) -> None:
    count = 50 if ctx.quick else 150
    for where, start in (("child process", servers_in_a_child), ("same process", servers_here)):
        with start() as (cases, probe):
            for client, make in (("requests", requests_batch), ("http.client", http_client_batch)):
                ctx.log(f"servers in the {where}, {client}: {len(cases)} servers x {count} GETs")
                batches = {name: make(url, head, count) for name, (url, head) in cases.items()}
                with ctx.gc_mode("default") as gc_label:
                    timings = ctx.measure_many(batches)
                cpu = server_cpu(batches, probe) if probe is not None else {}
                report(ctx, f"servers in the {where}, client {client}", gc_label, timings, cpu)


def server_cpu(
    batches: dict[str, Callable[[], int]], probe: Callable[[], float]
) -> dict[str, float]:
    """Microseconds of the servers' CPU per request, median of three batches per case: it
    does not count the time the servers wait for a busy machine."""
    result = {}
    for name, batch in batches.items():
        samples = []
        for _ in range(3):
            before = probe()
            done = batch()
            samples.append((probe() - before) / done * 1e6)
        result[name] = statistics.median(samples)
    return result


def report(
    ctx: Context, client: str, gc_label: str, timings: dict[str, Timing], cpu: dict[str, float]
) -> None:
    fake = timings["Smile fake (waitress)"]
    headers = ["server", "gc", "us/request", "requests/s", "throughput vs Smile fake"]
    table = ctx.table(
        f"GET over one keep-alive connection: {client}",
        [*headers, "server cpu us/request"] if cpu else headers,
    )
    for name, timing in timings.items():
        cells = [
            name,
            gc_label,
            fmt_us(timing.us),
            f"{1e6 / timing.us:,.0f}",
            fmt_ratio(fake.us / timing.us),
        ]
        if cpu:
            cells.append(fmt_us(cpu[name]))
        table.add(*cells)
    table.show()
    minimal = timings["minimal werkzeug app (waitress)"]
    dev = timings["Smile fake (werkzeug dev server)"]
    fake_cpu = cpu.get("Smile fake (waitress)")
    ctx.target(
        f"Smile fake throughput / minimal app, both on waitress ({client})",
        minimal.us / fake.us,
        MIN_VS_MINIMAL,
        higher_is_better=True,
        note=f"server cpu ratio {cpu['minimal werkzeug app (waitress)'] / fake_cpu:.2f}x"
        if fake_cpu
        else "",
    )
    ctx.target(
        f"Smile fake throughput waitress / werkzeug dev server ({client})",
        dev.us / fake.us,
        MIN_VS_DEV_SERVER,
        higher_is_better=True,
        note=f"server cpu ratio {cpu['Smile fake (werkzeug dev server)'] / fake_cpu:.2f}x"
        if fake_cpu
        else "",
    )
