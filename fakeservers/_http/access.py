"""Who may drive the control plane (`/_fake/`): the developer, not any web page they visit.

A fake's control plane lists every tenant's keys, adds credentials, resets and seeds. A page
open in the developer's browser can send requests to 127.0.0.1, so every `/_fake/` request
must pass, in this order:

1. **Host** (against DNS rebinding, where a page's own name resolves to 127.0.0.1): a
   loopback name (`localhost`, `127.x.y.z`, `[::1]`, any port) or one of the names the
   fake was started with (`--allowed-host`; `*` allows any). A request without a Host
   header is no browser's and passes. Refused: 403 `host_not_allowed`.
2. **Origin** (against cross-site requests): when a browser sends one, it must name an
   allowed host as well (`null` never does). Refused: 403 `origin_not_allowed`.
3. **Control token**, when the fake has one (`--control-token`, `FAKESERVERS_CONTROL_TOKEN`;
   required to serve beyond loopback): the `X-Fake-Control-Token` header must equal it.
   Refused: 401 `control_token_required`.
4. **JSON**: a request with a body must declare it `application/json` (or `+json`), so no
   "simple" cross-site form or text POST gets past a browser without a preflight, which the
   control plane never grants (it sends no CORS headers at all). Refused: 415
   `unsupported_media_type`.

In-process callers (the toolkit's `requests` adapter and `httpx` transports) talk to the
app with no socket; they mark the WSGI environ with `IN_PROCESS`, a key no HTTP request can
set (headers arrive as `HTTP_*` keys), and skip checks 1 to 3: they hold the `Fake` itself.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import attrs
from werkzeug.wrappers import Response

from fakeservers._http import strictjson

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

__all__ = [
    "ANY_HOST",
    "CONTROL_PREFIX",
    "IN_PROCESS",
    "TOKEN_HEADER",
    "ControlAccess",
    "is_loopback_bind",
]

CONTROL_PREFIX = "/_fake/"
TOKEN_HEADER = "X-Fake-Control-Token"
_TOKEN_KEY = "HTTP_X_FAKE_CONTROL_TOKEN"
IN_PROCESS = "fakeservers.in_process"
"""The environ key the in-process transports set (to True); never an HTTP header's key."""
ANY_HOST = "*"


def _name(host: str) -> str | None:
    """The lower-case name of a Host header value without its port; None if malformed."""
    host = host.strip().lower()
    if host.startswith("["):
        end = host.find("]")
        rest = host[end + 1 :] if end != -1 else "x"
        if rest and not (rest[:1] == ":" and rest[1:].isascii() and rest[1:].isdigit()):
            return None
        return host[: end + 1]
    name, colon, port = host.rpartition(":")
    if not colon:
        return host or None
    if not name or ":" in name or not (port.isascii() and port.isdigit()):
        return None
    return name


def _is_loopback(name: str) -> bool:
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name[1:-1] if name.startswith("[") else name)
    except ValueError:
        return False
    return address.is_loopback and (address.version == 4) != name.startswith("[")


def is_loopback_bind(host: str) -> bool:
    """Whether a server bound to `host` is reachable from this machine only."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _lowered(names: Iterable[str]) -> frozenset[str]:
    return frozenset(name.strip().lower() for name in names)


@attrs.frozen
class ControlAccess:
    """The control plane's policy: extra allowed Host names and the optional token."""

    allowed_hosts: frozenset[str] = attrs.field(default=frozenset(), converter=_lowered)
    token: str | None = None

    @classmethod
    def of(cls, allowed_hosts: Iterable[str] = (), token: str | None = None) -> ControlAccess:
        return cls(_lowered(allowed_hosts), token or None)

    def host_allowed(self, host: str) -> bool:
        name = _name(host)
        if name is None:
            return False
        return _is_loopback(name) or name in self.allowed_hosts or ANY_HOST in self.allowed_hosts

    def origin_allowed(self, origin: str) -> bool:
        parts = urlsplit(origin.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            return False
        return self.host_allowed(parts.netloc.rpartition("@")[2])

    def refusal(self, environ: WSGIEnvironment) -> Response | None:
        """None when this `/_fake/` request may proceed, else the control plane's error."""
        if environ.get(IN_PROCESS) is not True:
            host = environ.get("HTTP_HOST")
            if host is not None and not self.host_allowed(host):
                return _refuse(
                    403,
                    "host_not_allowed",
                    f"the control plane answers loopback names only, not Host {host[:100]!r}; "
                    "start the fake with --allowed-host NAME to allow another",
                )
            origin = environ.get("HTTP_ORIGIN")
            if origin is not None and not self.origin_allowed(origin):
                return _refuse(
                    403,
                    "origin_not_allowed",
                    f"the control plane does not answer pages from {origin[:100]!r}",
                )
            if self.token is not None and not _same(environ.get(_TOKEN_KEY), self.token):
                return _refuse(
                    401,
                    "control_token_required",
                    f"this fake's control plane needs its token in the {TOKEN_HEADER} header",
                )
        if _has_body(environ) and not _is_json(environ.get("CONTENT_TYPE", "")):
            return _refuse(
                415,
                "unsupported_media_type",
                "control-plane requests with a body must send Content-Type: application/json",
            )
        return None


def _same(given: Any, token: str) -> bool:
    """Constant-time comparison of a header value (bytes seen as Latin-1 by the server)
    with the token (text, sent as UTF-8)."""
    if not isinstance(given, str):
        return False
    try:
        sent = given.encode("latin-1")
    except UnicodeEncodeError:  # an in-process caller's text
        sent = given.encode("utf-8", "surrogateescape")
    return hmac.compare_digest(sent, token.encode("utf-8"))


def _has_body(environ: WSGIEnvironment) -> bool:
    length = environ.get("CONTENT_LENGTH")
    if length:
        return str(length).strip() != "0"
    return "chunked" in str(environ.get("HTTP_TRANSFER_ENCODING", "")).lower()


def _is_json(content_type: str) -> bool:
    mimetype = content_type.partition(";")[0].strip().lower()
    return mimetype == "application/json" or (
        mimetype.startswith("application/") and mimetype.endswith("+json")
    )


def _refuse(status: int, code: str, message: str) -> Response:
    body = strictjson.dumps({"error": {"message": message, "code": code}})
    return Response(body, status=status, content_type="application/json")
