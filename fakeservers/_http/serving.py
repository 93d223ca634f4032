"""Serve a WSGI app on a loopback port from a background thread, through waitress.

werkzeug's development server answers every request with `Connection: close`, so a
keep-alive client pays a new TCP connection per request; waitress keeps HTTP/1.1
connections open. werkzeug still does the routing, requests and responses.

`serve_in_thread(app, host, port=0)` returns a started `ServerThread` (`.url`, `.port`,
`.stop()`). Every request is logged as one line on the `fakeservers.access` logger (INFO).
An app may raise `DroppedConnection` to close the connection without sending a response
(fault injection uses it).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from waitress.channel import ClientDisconnected
from waitress.server import TcpWSGIServer

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

__all__ = ["ACCESS_LOG", "DroppedConnection", "ServerThread", "drain", "serve_in_thread"]

ACCESS_LOG = logging.getLogger("fakeservers.access")


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
    threads: int = 8,
    name: str = "fake",
) -> ServerThread:
    """Bind `host:port` (0 = any free port) and serve `app` with waitress from a daemon
    thread; `name` labels the access log lines."""
    server = TcpWSGIServer(
        _Served(app, name),
        host=host,
        port=port,
        threads=threads,
        ident="fakeservers",
        channel_timeout=60,
        clear_untrusted_proxy_headers=False,
    )
    return ServerThread(server).start()
