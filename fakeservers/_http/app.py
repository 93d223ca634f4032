"""A small WSGI application base in the style of werkzeug's `shortly` example.

A `Map` of `Rule`s routes each request to an `on_<endpoint>` method found on one of the
handler objects; the vendor supplies `render_error`, which turns any exception it knows
(its own, the core's, `ParseError`, `RateLimited`, routing errors) into its own body.
A handler object may define its own `render_error(request, exc)`, tried first for its
endpoints (the control plane does, so its errors look the same on every vendor).

Vendor routes get CORS headers (browser code may call a fake as it calls the vendor);
control routes (`/_fake/...`) get none, and pass `access` (a `ControlAccess`) first.
Bodies are bounded: `MAX_BODY_BYTES` for the vendor APIs, `MAX_CONTROL_BODY_BYTES` for the
control plane (seed documents), refused with 413 in the door's own format.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import Map, MapAdapter
from werkzeug.wrappers import Request, Response

from fakeservers._http.access import CONTROL_PREFIX, ControlAccess
from fakeservers._http.cors import add_cors_headers, preflight_response
from fakeservers._http.strictjson import encoder

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIEnvironment

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CONTROL_BODY_BYTES",
    "BaseApp",
    "ErrorRenderer",
    "Handler",
    "body_limit",
    "json_response",
]

Handler = Callable[..., Response]
ErrorRenderer = Callable[[Request, Exception], Response | None]
"""Returns the vendor's response for an exception, or None to let it propagate (a bug)."""


_BIND_KEYS = (
    "HTTP_HOST",
    "SERVER_NAME",
    "SERVER_PORT",
    "wsgi.url_scheme",
    "HTTP_CONNECTION",
    "HTTP_UPGRADE",
    "SCRIPT_NAME",
)
"""Every environ key `Map.bind_to_environ` reads except the path, query and method."""
_ADAPTER_CACHE_SIZE = 64
"""Bound adapters kept (one per host seen, in practice); past this the cache starts over."""
_MATCH_CACHE_SIZE = 4096
"""Routed (host, method, path) kept; past this the cache starts over."""
MAX_CACHED_KEY = 512
"""Characters of a path (or of a bind key's host and headers) worth caching: a longer one
is routed afresh each time, so the caches hold at most about 4,096 x 512 characters."""
MAX_BODY_BYTES = 1 << 20
"""The largest request body of a vendor API (1 MiB): larger ones are refused, unread."""
MAX_CONTROL_BODY_BYTES = 16 << 20
"""The largest control-plane request body (16 MiB: a seed document of whole tenants)."""

_ENCODER = encoder(separators=(",", ":"), ensure_ascii=False)
"""What `json.dumps(body, separators=(",", ":"), ensure_ascii=False, allow_nan=False)`
builds on every call (an encoder is stateless between calls, so one serves every thread);
strict: a non-finite float is an error, never `NaN` on the wire."""


def body_limit(path: str) -> int:
    """The largest body a request to `path` may carry."""
    return MAX_CONTROL_BODY_BYTES if path.startswith(CONTROL_PREFIX) else MAX_BODY_BYTES


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Serialize `body` compactly as UTF-8 JSON."""
    payload = _ENCODER.encode(body).encode("utf-8")
    # the content type `mimetype="application/json"` gives (JSON gets no charset parameter)
    return Response(payload, status=status, headers=headers, content_type="application/json")


class BaseApp:
    """Routes with `url_map`, dispatches to `on_<endpoint>(request, **values)`, adds CORS."""

    def __init__(
        self, url_map: Map, handlers: Iterable[object], render_error: ErrorRenderer
    ) -> None:
        self.url_map = url_map
        self.render_error = render_error
        self.access = ControlAccess()
        """Who may use the control routes (`Fake` sets the served policy here)."""
        self._adapters: dict[tuple[object, ...], MapAdapter] = {}
        self._matches: dict[tuple[object, ...], tuple[str, Mapping[str, Any]]] = {}
        self.handlers: dict[str, Handler] = {}
        self.renderers: dict[str, ErrorRenderer] = {}
        for handler in handlers:
            own_renderer = getattr(handler, "render_error", None)
            for attr in dir(handler):
                if attr.startswith("on_"):
                    self.handlers[attr[3:]] = getattr(handler, attr)
                    if own_renderer is not None:
                        self.renderers[attr[3:]] = own_renderer
        missing = {rule.endpoint for rule in url_map.iter_rules()} - self.handlers.keys()
        if missing:
            raise TypeError(f"no on_<endpoint> handler for {sorted(missing)}")

    def _bound(self, environ: WSGIEnvironment) -> tuple[MapAdapter, tuple[object, ...]]:
        """`url_map.bind_to_environ(environ)` and its cache key, the adapter reused across
        requests to the same host, scheme and script name.

        Binding builds a `MapAdapter` from every environ key it reads (host, scheme and
        upgrade headers, script name), which costs about as much as matching; the adapter
        keeps nothing else of the request once `match` is given the path, the method and
        the query string (used for redirects) explicitly, so one adapter per key serves
        every request with that key, in any thread.
        """
        key = tuple(map(environ.get, _BIND_KEYS))
        adapter = self._adapters.get(key)
        if adapter is None:
            adapter = self.url_map.bind_to_environ(environ)
            if sum(len(part) for part in key if isinstance(part, str)) <= MAX_CACHED_KEY:
                if len(self._adapters) >= _ADAPTER_CACHE_SIZE:
                    self._adapters.clear()
                self._adapters[key] = adapter
        return adapter, key

    def dispatch_request(self, request: Request, *, control: bool = False) -> Response:
        """Route and call the handler; `control` requests get no CORS preflight."""
        environ = request.environ
        adapter, key = self._bound(environ)
        path, query = _decoded(environ)
        endpoint = None
        try:
            limit = MAX_CONTROL_BODY_BYTES if control else MAX_BODY_BYTES
            length = environ.get("CONTENT_LENGTH")  # werkzeug reads a malformed one as 0
            if length is None or "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower():
                request.max_content_length = limit  # a streamed body: stop reading past it
            elif length.isdigit() and (len(length) > 18 or int(length) > limit):
                raise RequestEntityTooLarge(f"request bodies are at most {limit} bytes")
            if (
                not control
                and request.method == "OPTIONS"
                and (methods := adapter.allowed_methods(path))
            ):
                return preflight_response(request, list(methods))
            endpoint, values = self._match(adapter, key, path, request.method, query)
            return self.handlers[endpoint](request, **values)
        except Exception as exc:
            return self._render(request, exc, endpoint)

    def _match(
        self, adapter: MapAdapter, key: tuple[object, ...], path: str, method: str, query: str
    ) -> tuple[str, Mapping[str, Any]]:
        """`adapter.match(path, method)`, remembered per (bound adapter, method, path): the
        same few paths come again and again, and matching costs as much as a small handler.
        Only successes are kept (a redirect or an error depends on the query string too);
        the values are never changed, as handlers take them as keyword arguments."""
        route = (key, method, path)
        found = self._matches.get(route)
        if found is None:
            endpoint, values = adapter.match(path, method, query_args=query)
            found = (str(endpoint), values)
            if len(path) <= MAX_CACHED_KEY:  # a 200 KB path is routed, never kept
                if len(self._matches) >= _MATCH_CACHE_SIZE:
                    self._matches.clear()
                self._matches[route] = found
        return found

    def _render(self, request: Request, exc: Exception, endpoint: str | None) -> Response:
        """The handler object's own `render_error` first (if any), then the vendor's."""
        own = self.renderers.get(endpoint) if endpoint is not None else None
        response = own(request, exc) if own is not None else None
        if response is None:
            response = self.render_error(request, exc)
        if response is None:
            raise exc
        return response

    def wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = Request(environ, populate_request=False)  # no Request<->environ cycle
        if environ.get("PATH_INFO", "").startswith(CONTROL_PREFIX):
            response = self.access.refusal(environ) or self.dispatch_request(
                request, control=True
            )
        else:
            response = add_cors_headers(request, self.dispatch_request(request))
        return response(environ, start_response)

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        return self.wsgi_app(environ, start_response)


def _decoded(environ: WSGIEnvironment) -> tuple[str, str]:
    """The request's path and query string as `bind_to_environ` decodes them (werkzeug's
    "WSGI decoding dance")."""
    path = environ.get("PATH_INFO")
    query = environ.get("QUERY_STRING")
    return (
        "/" if path is None else path.encode("latin1").decode(errors="replace"),
        "" if query is None else query.encode("latin1").decode(errors="replace"),
    )
