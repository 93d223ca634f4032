"""Serve a WSGI app on a loopback port from a background thread, through waitress.

werkzeug's development server answers every request with `Connection: close`, so a
keep-alive client pays a new TCP connection per request; waitress keeps HTTP/1.1
connections open. werkzeug still does the routing, requests and responses.

`serve_in_thread(app, host, port=0)` returns a started `ServerThread` (`.url`, `.port`,
`.stop()`). Every request is logged as one line on the `fakeservers.access` logger (INFO),
its target cut to `LOG_TARGET_CHARS` characters with control characters escaped (no forged
lines). An app may raise `DroppedConnection` to close the connection without sending a
response (fault injection uses it).

`ServerOptions` bounds what a server gives its clients: worker threads, open connections
(past `connection_limit`, new ones wait in the listen backlog), how long an idle
connection is kept (`channel_timeout`: a socket that sends half a request and then nothing
is closed after it, so idle sockets cannot lock other clients out for longer), request
header and body sizes.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
from waitress.channel import ClientDisconnected
from waitress.server import TcpWSGIServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = [
    "ACCESS_LOG",
    "LOG_TARGET_CHARS",
    "DroppedConnection",
    "ServerOptions",
    "ServerThread",
    "drain",
    "serve_in_thread",
]

ACCESS_LOG = logging.getLogger("fakeservers.access")
LOG_TARGET_CHARS = 200
"""Characters of a request's path and query shown in its log line."""
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f]")

MAX_THREADS = 256
MAX_CONNECTIONS = 10_000
MAX_CHANNEL_TIMEOUT = 3600


def _positive(upper: int) -> Any:
    def check(instance: object, attribute: Any, value: int) -> None:
        if not 1 <= value <= upper:
            raise ValueError(f"{attribute.name} must be between 1 and {upper}")

    return check


@attrs.frozen
class ServerOptions:
    """What one waitress server allows (the command line's `--threads`,
    `--connection-limit`, `--channel-timeout`)."""

    threads: int = attrs.field(default=8, validator=_positive(MAX_THREADS))
    connection_limit: int = attrs.field(default=256, validator=_positive(MAX_CONNECTIONS))
    """Open connections served at once; past it, new ones wait in the backlog."""
    channel_timeout: int = attrs.field(default=10, validator=_positive(MAX_CHANNEL_TIMEOUT))
    """Seconds an idle connection (no request in progress) is kept open."""
    max_request_header_size: int = 64 * 1024
    """Bytes of a request line and headers (path included)."""
    max_request_body_size: int = 16 * 1024 * 1024
    """Bytes of a request body (the control plane's bound; the vendor APIs refuse more
    than 1 MiB themselves, in their own format)."""


def drain(app_iter: Iterable[bytes]) -> bytes:
    """A WSGI response body read whole, then closed as PEP 3333 asks (even on error):
    what every in-process caller of an app (the toolkit's journal, its transports) does."""
    try:
        return b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()


class DroppedConnection(Exception):
    """Raised by an app to make the server close the connection with no response at all."""


class _Served:
    """The app as waitress runs it: access log line, `DroppedConnection` -> closed socket."""

    __slots__ = ("app", "name")

    def __init__(self, app: WSGIApplication, name: str) -> None:
        self.app = app
        self.name = name

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if not ACCESS_LOG.isEnabledFor(logging.INFO):
            try:
                return self.app(environ, start_response)
            except DroppedConnection:
                raise ClientDisconnected("dropped by the fake") from None
        started = time.perf_counter()
        seen: list[str] = []

        def recording(status: str, headers: Any, exc_info: Any = None) -> Any:
            seen.append(status)
            return start_response(status, headers, exc_info)

        try:
            body = self.app(environ, recording)
        except DroppedConnection:
            self._log(environ, "dropped", 0, started)
            raise ClientDisconnected("dropped by the fake") from None
        if not isinstance(body, list):
            body = list(body)
        self._log(environ, seen[-1][:3] if seen else "-", sum(map(len, body)), started)
        return body

    def _log(self, environ: WSGIEnvironment, status: str, size: int, started: float) -> None:
        query = environ.get("QUERY_STRING")
        target = environ.get("PATH_INFO", "") + (f"?{query}" if query else "")
        if len(target) > LOG_TARGET_CHARS:
            target = f"{target[:LOG_TARGET_CHARS]}...({len(target)} chars)"
        target = _UNPRINTABLE.sub(lambda found: f"\\x{ord(found.group()):02x}", target)
        ACCESS_LOG.info(
            '%s %s "%s %s" %s %d %.1fms',
            self.name,
            environ.get("REMOTE_ADDR", "-"),
            environ.get("REQUEST_METHOD", "-"),
            target,
            status,
            size,
            (time.perf_counter() - started) * 1000,
        )


class ServerThread:
    """A running server: `url` is its base address; `stop()` shuts it down and joins."""

    def __init__(self, server: TcpWSGIServer) -> None:
        self.server = server
        self._waitress: Any = server  # the stubs lack effective_port, _map, trigger
        self.thread = threading.Thread(target=server.run, name="fakeservers-serve", daemon=True)

    @property
    def host(self) -> str:
        return str(self._waitress.effective_host)

    @property
    def port(self) -> int:
        return int(self._waitress.effective_port)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        """Close every connection and the listening socket (from the server's own loop
        thread, so nothing races it), then stop the worker threads."""
        server = self._waitress
        if self.thread.is_alive():

            def close_all() -> None:
                for channel in list(server._map.values()):
                    if channel is not server and channel is not server.trigger:
                        channel.close()
                server.close()

            try:
                server.trigger.pull_trigger(close_all)
            except OSError:
                # The loop's wake-up pipe is already gone (seen rarely: waitress closed its
                # trigger on its own). The loop then no longer waits on it: close from
                # here; it ends at its next poll (asyncore_loop_timeout, 1 s).
                close_all()
            self.thread.join(timeout=5)
        else:
            server.close()
        server.task_dispatcher.shutdown(timeout=5)


def serve_in_thread(
    app: WSGIApplication,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    threads: int | None = None,
    name: str = "fake",
    options: ServerOptions | None = None,
    connection_limit: int | None = None,
    channel_timeout: int | None = None,
) -> ServerThread:
    """Bind `host:port` (0 = any free port) and serve `app` with waitress from a daemon
    thread; `name` labels the access log lines; `options` (or the keyword shortcuts)
    bound threads, connections and idle time."""
    chosen = options or ServerOptions()
    changes = {
        key: value
        for key, value in (
            ("threads", threads),
            ("connection_limit", connection_limit),
            ("channel_timeout", channel_timeout),
        )
        if value is not None
    }
    chosen = attrs.evolve(chosen, **changes)
    server = TcpWSGIServer(
        _Served(app, name),
        host=host,
        port=port,
        threads=chosen.threads,
        connection_limit=chosen.connection_limit,
        channel_timeout=chosen.channel_timeout,
        # look for idle connections often, so one is closed close to its timeout
        cleanup_interval=max(1, min(chosen.channel_timeout // 2, 30)),
        max_request_header_size=chosen.max_request_header_size,
        max_request_body_size=chosen.max_request_body_size,
        ident="fakeservers",
        clear_untrusted_proxy_headers=False,
    )
    return ServerThread(server).start()
