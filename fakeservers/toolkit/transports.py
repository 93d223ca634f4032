"""In-process transports: talk to a fake with no socket, through the very same WSGI app.

* `WSGIAdapter(app)`: a `requests` transport adapter; mount it on a session::

      session.mount("https://api.smile.io", WSGIAdapter(fake))

* `WSGITransport(app)` / `AsyncWSGITransport(app)`: `httpx` transports (the first is
  `httpx.WSGITransport` that also reports an injected dropped connection the way httpx
  reports a real one)::

      httpx.Client(transport=WSGITransport(fake), base_url="https://api.smile.io")

* `intercept(*fakes)`: a context manager and decorator that sends every `requests` and
  `httpx` (sync and async) request for a fake's real host (`api.smile.io`,
  `api.shopsocially.com`) to that fake, for code that hard-codes the vendor's URL. Other
  hosts go out as usual.

`httpx` is imported only when its transports (or `intercept`) are used.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers
from werkzeug.test import EnvironBuilder, run_wsgi_app

from fakeservers._http.serving import DroppedConnection

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from fakeservers.toolkit.fake import Fake

__all__ = ["AsyncWSGITransport", "WSGIAdapter", "WSGITransport", "intercept", "mount"]


def _call(
    app: WSGIApplication,
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """Run one request through `app`; (status, reason, headers, body)."""
    parts = urlsplit(url)
    builder = EnvironBuilder(
        path=parts.path or "/",
        base_url=f"{parts.scheme}://{parts.netloc}",
        query_string=parts.query,
        method=method,
        headers=list(headers.items()),
        data=body,
    )
    try:
        environ = builder.get_environ()
    finally:
        builder.close()
    app_iter, status, response_headers = run_wsgi_app(app, environ, buffered=True)
    try:
        content = b"".join(app_iter)
    finally:
        close = getattr(app_iter, "close", None)
        if close is not None:
            close()
    code, _, reason = status.partition(" ")
    return int(code), reason, list(response_headers.items()), content


def _bytes(body: object) -> bytes:
    if body is None:
        return b""
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    if hasattr(body, "read"):
        data = body.read()
        return data.encode("utf-8") if isinstance(data, str) else bytes(data)
    return b"".join(
        chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)
        for chunk in body  # type: ignore[attr-defined]
    )


class WSGIAdapter(BaseAdapter):
    """A `requests` adapter that answers from a WSGI app (a `Fake` or a vendor app)."""

    def __init__(self, app: WSGIApplication) -> None:
        super().__init__()
        self.app = app

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        try:
            status, reason, headers, content = _call(
                self.app,
                request.method or "GET",
                request.url or "/",
                dict(request.headers),
                _bytes(request.body),
            )
        except DroppedConnection as exc:
            raise requests.ConnectionError(
                "Connection aborted: the fake dropped the connection", request=request
            ) from exc
        response = requests.Response()
        response.status_code = status
        response.reason = reason
        response.headers = CaseInsensitiveDict(headers)
        response.encoding = get_encoding_from_headers(response.headers)
        response._content = content
        response.raw = io.BytesIO(content)
        response.url = request.url or ""
        response.request = request
        response.connection = self  # type: ignore[assignment]
        return response

    def close(self) -> None:
        pass


def _httpx() -> Any:
    import httpx

    return httpx


class WSGITransport:
    """`httpx.WSGITransport` over a fake, turning an injected drop into httpx's own
    `RemoteProtocolError`. Built lazily so that importing this module needs no httpx."""

    def __new__(cls, app: WSGIApplication) -> Any:
        return _transport_class()(app=app)


_TRANSPORT: list[Any] = []


def _transport_class() -> Any:
    if not _TRANSPORT:
        httpx = _httpx()

        class _FakeWSGITransport(httpx.WSGITransport):  # type: ignore[misc, name-defined]
            def handle_request(self, request: Any) -> Any:
                try:
                    return super().handle_request(request)
                except DroppedConnection as exc:
                    raise httpx.RemoteProtocolError(
                        "Server disconnected without sending a response.", request=request
                    ) from exc

        class _AsyncFakeTransport(httpx.AsyncBaseTransport):  # type: ignore[misc, name-defined]
            def __init__(self, app: WSGIApplication) -> None:
                self.sync = _FakeWSGITransport(app=app)

            async def handle_async_request(self, request: Any) -> Any:
                body = await request.aread()
                copy = httpx.Request(
                    request.method, request.url, headers=request.headers, content=body
                )
                response = self.sync.handle_request(copy)
                content = response.read()
                return httpx.Response(
                    response.status_code,
                    headers=response.headers,
                    content=content,
                    request=request,
                )

        _TRANSPORT.extend([_FakeWSGITransport, _AsyncFakeTransport])
    return _TRANSPORT[0]


class AsyncWSGITransport:
    """An `httpx.AsyncClient` transport over a fake (the app runs synchronously)."""

    def __new__(cls, app: WSGIApplication) -> Any:
        _transport_class()
        return _TRANSPORT[1](app)


# --- intercept --------------------------------------------------------------------------

_lock = threading.RLock()
_routes: list[dict[str, WSGIApplication]] = []
_originals: dict[str, Any] = {}


def _lookup(url: object) -> WSGIApplication | None:
    host = (urlsplit(str(url)).hostname or "").lower()
    for table in reversed(_routes):
        app = table.get(host)
        if app is not None:
            return app
    return None


def _patch() -> None:
    original_send = HTTPAdapter.send
    _originals["requests"] = original_send

    def send(self: HTTPAdapter, request: requests.PreparedRequest, *args: Any, **kw: Any) -> Any:
        app = _lookup(request.url)
        if app is None:
            return original_send(self, request, *args, **kw)
        return WSGIAdapter(app).send(request, *args, **kw)

    HTTPAdapter.send = send  # type: ignore[method-assign]
    try:
        httpx = _httpx()
    except ImportError:  # pragma: no cover (httpx is optional)
        return
    sync_original = httpx.HTTPTransport.handle_request
    async_original = httpx.AsyncHTTPTransport.handle_async_request
    _originals["httpx"] = sync_original
    _originals["httpx_async"] = async_original

    def handle_request(self: Any, request: Any) -> Any:
        app = _lookup(request.url)
        if app is None:
            return sync_original(self, request)
        return WSGITransport(app).handle_request(request)

    async def handle_async_request(self: Any, request: Any) -> Any:
        app = _lookup(request.url)
        if app is None:
            return await async_original(self, request)
        return await AsyncWSGITransport(app).handle_async_request(request)

    httpx.HTTPTransport.handle_request = handle_request
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request


def _unpatch() -> None:
    HTTPAdapter.send = _originals.pop("requests")  # type: ignore[method-assign]
    if "httpx" in _originals:
        httpx = _httpx()
        httpx.HTTPTransport.handle_request = _originals.pop("httpx")
        httpx.AsyncHTTPTransport.handle_async_request = _originals.pop("httpx_async")


class intercept(contextlib.ContextDecorator):
    """Send requests for the fakes' real hosts to the fakes, in-process.

    `intercept(smile_fake)` routes `api.smile.io`; `hosts={"pay.example": app}` adds any
    other host. Nested uses stack (the innermost wins); works as a decorator too.
    """

    def __init__(self, *fakes: Fake, hosts: Mapping[str, WSGIApplication] | None = None) -> None:
        table: dict[str, WSGIApplication] = {}
        for fake in fakes:
            for host in fake.vendor.hosts:
                table[host] = fake
        for host, app in (hosts or {}).items():
            table[host.lower()] = app
        if not table:
            raise ValueError("intercept() needs at least one fake or host")
        self.table = table

    def __enter__(self) -> intercept:
        with _lock:
            if not _routes:
                _patch()
            _routes.append(self.table)
        return self

    def __exit__(self, *exc: object) -> None:
        with _lock:
            for index in range(len(_routes) - 1, -1, -1):
                if _routes[index] is self.table:
                    del _routes[index]
                    break
            if not _routes:
                _unpatch()


def mount(session: requests.Session, fake: Fake) -> requests.Session:
    """Mount a `WSGIAdapter` for `fake`'s real hosts (http and https) on `session`."""
    adapter = WSGIAdapter(fake)
    for host in fake.vendor.hosts:
        for scheme in ("https", "http"):
            session.mount(f"{scheme}://{host}", adapter)
    return session
