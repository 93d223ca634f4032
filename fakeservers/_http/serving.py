"""Serve a WSGI app on a loopback port in a background thread (tests and the command line)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from werkzeug.serving import BaseWSGIServer, make_server

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["ServerThread", "serve_in_thread"]


class ServerThread:
    """A running server: `url` is its base address; `stop()` shuts it down and joins."""

    def __init__(self, server: BaseWSGIServer) -> None:
        self.server = server
        self.thread = threading.Thread(target=server.serve_forever, daemon=True)

    @property
    def host(self) -> str:
        return str(self.server.server_address[0])

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ServerThread:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def serve_in_thread(app: WSGIApplication, host: str = "127.0.0.1", port: int = 0) -> ServerThread:
    """Bind `host:port` (0 = any free port) and serve `app` from a daemon thread."""
    server = make_server(host, port, app, threaded=True)
    return ServerThread(server).start()
