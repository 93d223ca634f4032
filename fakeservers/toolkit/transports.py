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

Requests sent this way are marked in-process (`fakeservers._http.access.IN_PROCESS`, an
environ key no HTTP request can set): the control plane's Host, Origin and token checks,
which stop web pages and other machines, do not apply to the test code holding the fake.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import requests
from requests.adapters import BaseAdapter, HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests.utils import get_encoding_from_headers

from fakeservers._http.access import IN_PROCESS
from fakeservers._http.serving import DroppedConnection, drain

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

    from fakeservers.toolkit.fake import Fake

__all__ = ["AsyncWSGITransport", "WSGIAdapter", "WSGITransport", "intercept", "mount"]


def _call(
    app: WSGIApplication,
    method: str,
    url: str,
    headers: Mapping[str, str | bytes],
    body: bytes,
) -> tuple[int, str, list[tuple[str, str]], bytes]:
    """Run one request through `app`; (status, reason, headers, body)."""
    seen: list[Any] = []
    written: list[bytes] = []

    def start_response(status: str, response_headers: Any, exc_info: Any = None) -> Any:
        if exc_info is not None:  # PEP 3333: re-raise when headers cannot change any more
            raise exc_info[1].with_traceback(exc_info[2])
        seen[:] = [status, response_headers]
        return written.append

    content = drain(app(_environ(method, url, headers, body), start_response))
    if written:  # the legacy `write()` callable: its bytes come first
        content = b"".join(written) + content
    status, response_headers = seen
    code, _, reason = status.partition(" ")
    return int(code), reason, list(response_headers), content


def _environ(
    method: str, url: str, headers: Mapping[str, str | bytes], body: bytes
) -> dict[str, Any]:
    """The environ werkzeug's `EnvironBuilder` makes of this request, written out directly:
    the builder's generality (forms, files, its own header store) cost as much as the app."""
    scheme, netloc, path, query, _ = urlsplit(url)
    host, server_name, server_port = _host(scheme, netloc)
    path = path or "/"
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "SCRIPT_NAME": "",
        "PATH_INFO": _dance(unquote(path)),
        "QUERY_STRING": _dance(query),
        "REQUEST_URI": _dance(path),
        "RAW_URI": _dance(path),
        "SERVER_NAME": server_name,
        "SERVER_PORT": server_port,
        "HTTP_HOST": host,
        "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
        IN_PROCESS: True,
    }
    if body:
        environ["CONTENT_LENGTH"] = str(len(body))
    for name, value in headers.items():
        key = _wsgi_key(name)
        if key != "CONTENT_LENGTH":  # the body's own length stands (none when empty)
            environ[key] = value if isinstance(value, str) else value.decode("latin-1")
    return environ


def _dance(text: str) -> str:
    """PEP 3333's str-as-bytes: UTF-8 bytes seen as Latin-1 (what servers put in environ)."""
    return text if text.isascii() else text.encode().decode("latin-1")


_HOSTS: dict[tuple[str, str], tuple[str, str, str]] = {}
_WSGI_KEYS: dict[str, str] = {}
_CACHE_SIZE = 256
"""Entries kept by each per-name cache above (a few hosts and header names, in practice)."""


def _host(scheme: str, netloc: str) -> tuple[str, str, str]:
    """(Host header, SERVER_NAME, SERVER_PORT) for a URL's netloc, cached per (scheme,
    netloc): the lowercase IDNA host and port, as werkzeug's builder derives them, except
    that user info is left out and an IPv6 host keeps its port (the builder got both wrong)."""
    key = (scheme, netloc)
    found = _HOSTS.get(key)
    if found is None:
        parts = urlsplit(f"{scheme}://{netloc}")
        name = parts.hostname or ""
        if not name.isascii():
            name = name.encode("idna").decode("ascii")
        if ":" in name:
            name = f"[{name}]"
        port = parts.port
        host = name if port is None else f"{name}:{port}"
        default = 443 if scheme == "https" else 80
        found = (host, name, str(port or default))
        if len(_HOSTS) >= _CACHE_SIZE:
            _HOSTS.clear()
        _HOSTS[key] = found
    return found


def _wsgi_key(name: str) -> str:
    """`Content-Type` -> CONTENT_TYPE, `X-Api-Key` -> HTTP_X_API_KEY (cached)."""
    key = _WSGI_KEYS.get(name)
    if key is None:
        key = name.upper().replace("-", "_")
        if key not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            key = "HTTP_" + key
        if len(_WSGI_KEYS) >= _CACHE_SIZE:
            _WSGI_KEYS.clear()
        _WSGI_KEYS[name] = key
    return key


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
                request.headers,
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
        response.encoding = _encoding(response.headers.get("Content-Type"))
        response._content = content
        response.raw = io.BytesIO(content)
        response.url = request.url or ""
        response.request = request
        response.connection = self  # type: ignore[assignment]
        return response

    def close(self) -> None:
        pass


_ENCODINGS: dict[str | None, str | None] = {}


def _encoding(content_type: str | None) -> str | None:
    """`requests.utils.get_encoding_from_headers`, cached per Content-Type value (the
    fakes answer a handful of them)."""
    try:
        return _ENCODINGS[content_type]
    except KeyError:
        pass
    found = get_encoding_from_headers(CaseInsensitiveDict({"Content-Type": content_type or ""}))
    if len(_ENCODINGS) >= _CACHE_SIZE:
        _ENCODINGS.clear()
    _ENCODINGS[content_type] = found
    return found


def _httpx() -> Any:
    import httpx

    return httpx


def in_process(app: WSGIApplication) -> WSGIApplication:
    """`app` with every request marked in-process (for transports that build the WSGI
    environ themselves, like httpx's)."""

    def marked(environ: Any, start_response: Any) -> Any:
        environ[IN_PROCESS] = True
        return app(environ, start_response)

    return marked


class WSGITransport:
    """`httpx.WSGITransport` over a fake, turning an injected drop into httpx's own
    `RemoteProtocolError`. Built lazily so that importing this module needs no httpx."""

    def __new__(cls, app: WSGIApplication) -> Any:
        return _transport_class()(app=in_process(app))


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
                self.sync = _FakeWSGITransport(app=in_process(app))

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
