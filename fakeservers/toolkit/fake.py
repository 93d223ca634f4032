"""`Fake`: one vendor fake plus its test-double toolkit, as a WSGI application.

`Fake` wraps the vendor's app (the very app `create_app()` returns) with

* the request journal (`fake.journal`) and the fault injector (`fake.faults`);
* extra control routes next to the vendor's `/_fake/` ones:
  `GET /_fake/journal` (`?tenant=`, `?route=`, `?limit=`), `DELETE /_fake/journal`,
  `GET|POST|DELETE /_fake/faults`, `DELETE /_fake/faults/<id>`,
  `GET /_fake/export` (`?tenant=` repeatable) and `POST /_fake/seed` (a seed document);
  `POST /_fake/reset` also clears the journal and the faults.

Every transport runs this same object: `serve()` on a port, `fakeservers.toolkit.transports`
in-process. Build several over one clock with `build_fakes()`.
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import HTTPException, InternalServerError, default_exceptions
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from fakeservers._http import (
    AdjustableClock,
    Clock,
    ParseError,
    RateLimited,
    Tenant,
    add_cors_headers,
    control_error,
    json_response,
)
from fakeservers._http.serving import DroppedConnection, ServerThread, drain, serve_in_thread
from fakeservers.toolkit import seedfile
from fakeservers.toolkit.faults import Fault, FaultInjector
from fakeservers.toolkit.journal import Journal
from fakeservers.toolkit.vendors import VENDORS, Credentials, FakeApp, Vendor
from fakeservers.toolkit.vendors import vendor as find_vendor

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from loyaltykit import Program

__all__ = ["DEFAULT_JOURNAL_SIZE", "Fake", "build_fakes"]

DEFAULT_JOURNAL_SIZE = 1000
CONTROL = "/_fake/"
ENDPOINT_CACHE = 4096


def _toolkit_rules() -> Map:
    return Map(
        [
            Rule("/_fake/journal", methods=["GET"], endpoint="journal"),
            Rule("/_fake/journal", methods=["DELETE"], endpoint="journal_clear"),
            Rule("/_fake/journal/clear", methods=["POST"], endpoint="journal_clear"),
            Rule("/_fake/faults", methods=["GET"], endpoint="faults"),
            Rule("/_fake/faults", methods=["POST"], endpoint="fault_add"),
            Rule("/_fake/faults", methods=["DELETE"], endpoint="faults_clear"),
            Rule("/_fake/faults/clear", methods=["POST"], endpoint="faults_clear"),
            Rule("/_fake/faults/<int:ident>", methods=["DELETE"], endpoint="fault_remove"),
            Rule("/_fake/export", methods=["GET"], endpoint="export"),
            Rule("/_fake/seed", methods=["POST"], endpoint="seed"),
        ]
    )


class Fake:
    """A vendor fake with journal, faults, seed/export and (optionally) a live server."""

    def __init__(
        self,
        vendor: Vendor | str,
        clock: Clock,
        *,
        demo: bool = True,
        seed: Mapping[str, Any] | None = None,
        journal_size: int = DEFAULT_JOURNAL_SIZE,
    ) -> None:
        self.vendor = vendor if isinstance(vendor, Vendor) else find_vendor(vendor)
        seeded = seed is not None and self.vendor.name in seed
        self.app: FakeApp = self.vendor.build(clock, demo and not seeded)
        self.registry = self.app.registry
        self.control = self.app.control
        self.journal = Journal(journal_size)
        self.faults = FaultInjector()
        self.server: ServerThread | None = None
        self._rules = _toolkit_rules()
        self._routes = self.app.url_map.bind("fake")
        self._endpoints: dict[tuple[str, str], str | None] = {}
        if seed is not None:
            self.load(seed)
        self.baseline()

    # --- Python API ------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.vendor.name

    @property
    def clock(self) -> Clock:
        return self.registry.clock

    def now(self) -> datetime:
        return self.registry.clock.now()

    def set_clock(self, moment: datetime) -> datetime:
        return self._adjustable().set(moment)

    def advance_clock(self, delta: timedelta | float) -> datetime:
        return self._adjustable().advance(delta)

    def _adjustable(self) -> AdjustableClock:
        clock = self.registry.clock
        if not isinstance(clock, AdjustableClock):
            raise TypeError("this fake's clock cannot be set or advanced")
        return clock

    def tenant(self, name: str | None = None) -> Tenant[Any]:
        """A tenant by name; by default the only (or the first) one."""
        if name is not None:
            return self.registry.tenant(name)
        tenants = self.registry.tenants()
        if not tenants:
            raise LookupError(f"the {self.name} fake has no tenant")
        return tenants[0]

    def program(self, tenant: str | None = None) -> Program:
        """The tenant's core `Program` (read it per use: a reset replaces it)."""
        return self.vendor.core(self.tenant(tenant).program)

    def credential(self, tenant: str | None = None) -> Any:
        """The tenant's first secret credential (a key, or a (partner_id, api_key) tuple)."""
        found = self.tenant(tenant)
        for credential, kind in found.credentials.items():
            if kind == "secret":
                return credential
        raise LookupError(f"tenant {found.name!r} has no secret credential")

    def credentials(self, tenant: str | None = None) -> Credentials:
        """The tenant's first secret credential with its request headers."""
        value = self.credential(tenant)
        return Credentials(self.tenant(tenant).name, value, self.vendor.headers(value))

    def headers(self, tenant: str | None = None) -> dict[str, str]:
        """The request headers that authenticate as the tenant."""
        return self.vendor.headers(self.credential(tenant))

    def baseline(self) -> None:
        """Remember the current tenants (names, credentials, seeders, settings): `reset`
        returns to them. Called once the fake is built and seeded."""
        self._baseline = {
            t.name: (dict(t.credentials), t.seeder, t.rate_limited)
            for t in self.registry.tenants()
        }

    def reset(self, *, rate_limited: bool | None = None) -> None:
        """Back to the baseline: tenants added since are removed, every baseline tenant is
        rebuilt from its seed with its credentials and settings; journal and faults are
        cleared; rate limiting is switched for every tenant when `rate_limited` is given."""
        self.faults.clear()
        registry = self.registry
        for tenant in registry.tenants():
            kept = self._baseline.get(tenant.name)
            if kept is None or (tenant.credentials, tenant.seeder) != kept[:2]:
                registry.remove(tenant.name)
        for name, (credentials, seeder, limited) in self._baseline.items():
            if name not in {t.name for t in registry.tenants()}:
                registry.create(name, credentials, seeder=seeder, rate_limited=limited)
            else:
                registry.reset(name)
                registry.set_rate_limited(name, limited)
        self.journal.clear()
        if rate_limited is not None:
            for tenant in registry.tenants():
                tenant.rate_limited = rate_limited

    def export(self, tenants: Iterable[str] | None = None) -> dict[str, Any]:
        """A seed document of this fake's tenants (all by default)."""
        return seedfile.export_document(self.vendor, self.registry, tenants)

    def load(self, document: Mapping[str, Any]) -> list[str]:
        """Create or replace the document's tenants for this vendor; returns their names."""
        return seedfile.load_document(self.vendor, self.registry, document)

    # --- serving ---------------------------------------------------------------------

    def serve(self, host: str = "127.0.0.1", port: int = 0, *, threads: int = 8) -> Fake:
        """Start a live server (waitress, keep-alive) for this fake; `url` then works."""
        if self.server is not None:
            raise RuntimeError(f"the {self.name} fake is already served at {self.url}")
        self.server = serve_in_thread(self, host, port, threads=threads, name=self.name)
        return self

    @property
    def url(self) -> str:
        if self.server is None:
            raise RuntimeError(f"the {self.name} fake is not served; call serve() first")
        return self.server.url

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def __enter__(self) -> Fake:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- WSGI ------------------------------------------------------------------------

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(CONTROL):
            return self._control(environ, start_response)
        return self._recorded(environ, start_response, path)

    def _tenant_name(self, environ: WSGIEnvironment) -> str | None:
        credential = self.vendor.credential(environ)
        if credential is None:
            return None
        found = self.registry.authenticate(credential)
        return found[0].name if found is not None else None

    def _endpoint(self, method: str, path: str) -> str | None:
        """The endpoint a request reaches (None: no route), cached per (method, path)."""
        key = (method, path)
        try:
            return self._endpoints[key]
        except KeyError:
            pass
        try:
            endpoint: str | None = str(self._routes.match(path, method)[0])
        except HTTPException:
            endpoint = None
        if len(self._endpoints) >= ENDPOINT_CACHE:
            self._endpoints.clear()
        self._endpoints[key] = endpoint
        return endpoint

    def _recorded(
        self, environ: WSGIEnvironment, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        body = _read_body(environ)
        method = environ.get("REQUEST_METHOD", "GET")
        tenant = self._tenant_name(environ)
        endpoint = self._endpoint(method, path)
        at = self.registry.clock.now()
        fault = self._fault(method, path, endpoint, tenant) if self.faults.active else None

        def record(status: int | None, headers: dict[str, str], payload: bytes) -> None:
            self.journal.add(
                at, tenant, method, path, environ.get("QUERY_STRING", ""), endpoint,
                _request_headers(environ), body, status, headers, payload,
                fault.kind if fault else None,
            )  # fmt: skip

        if fault is not None and fault.kind == "drop":
            record(None, {}, b"")
            raise DroppedConnection(f"fault {fault.id}: connection dropped")
        app = self.app if fault is None else self._fault_response(environ, fault)
        status, headers, payload = _run(app, environ, start_response)
        record(status, headers, payload)
        return [payload]

    def _fault(
        self, method: str, path: str, endpoint: str | None, tenant: str | None
    ) -> Fault | None:
        """The armed fault that answers this request, if any, after its added latency."""
        delay, fault = self.faults.pick(method, path, endpoint, tenant)
        if delay:
            time.sleep(delay)
        return fault

    def _fault_response(self, environ: WSGIEnvironment, fault: Fault) -> Response:
        request = Request(environ)
        exc: Exception
        if fault.kind == "rate_limit":
            exc = RateLimited(fault.retry_after)
        else:
            exc_class = default_exceptions.get(fault.status)
            exc = exc_class() if exc_class is not None else InternalServerError()
            if exc_class is None:
                exc.code = fault.status
        response = self.app.render_error(request, exc)
        if response is None:  # pragma: no cover (both vendors render these)
            response = json_response({"error": "injected fault"}, fault.status)
        if fault.body is not None:
            response.set_data(json.dumps(fault.body))
            response.mimetype = "application/json"
        if fault.kind == "rate_limit":
            response.headers["Retry-After"] = str(max(0, round(fault.retry_after)))
        response.status_code = fault.status
        return add_cors_headers(request, response)

    # --- the toolkit's control routes ------------------------------------------------

    def _control(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        try:
            endpoint, values = self._rules.bind_to_environ(environ).match()
        except HTTPException:
            if environ.get("PATH_INFO") == "/_fake/reset" and environ["REQUEST_METHOD"] == "POST":
                result = self.app(environ, start_response)
                self.faults.clear()
                self.journal.clear()
                return result
            return self.app(environ, start_response)
        request = Request(environ)
        try:
            response = getattr(self, f"_on_{endpoint}")(request, **values)
        except (ValueError, LookupError, seedfile.SeedError) as exc:
            found = control_error(exc)
            response = found or json_response(
                {"error": {"message": str(exc), "code": "invalid_argument"}}, 400
            )
        return add_cors_headers(request, response)(environ, start_response)

    def _on_journal(self, request: Request) -> Response:
        limit = request.args.get("limit", type=int)
        entries = self.journal.entries(
            request.args.get("route"), tenant=request.args.get("tenant")
        )
        if limit is not None:
            entries = entries[-limit:] if limit > 0 else []
        return json_response({"entries": [e.to_json() for e in entries]})

    def _on_journal_clear(self, request: Request) -> Response:
        self.journal.clear(request.args.get("tenant"))
        return json_response({"cleared": True})

    def _on_faults(self, request: Request) -> Response:
        return json_response({"faults": [f.to_json() for f in self.faults.faults()]})

    def _on_fault_add(self, request: Request) -> Response:
        body = _json_body(request)
        return json_response({"fault": self.faults.add_from_json(body).to_json()}, 201)

    def _on_faults_clear(self, request: Request) -> Response:
        self.faults.clear()
        return json_response({"faults": []})

    def _on_fault_remove(self, request: Request, ident: int) -> Response:
        if all(f.id != ident for f in self.faults.faults()):
            raise LookupError(f"no armed fault {ident}")
        self.faults.remove(ident)
        return json_response({"faults": [f.to_json() for f in self.faults.faults()]})

    def _on_export(self, request: Request) -> Response:
        names = request.args.getlist("tenant") or None
        return json_response(self.export(names))

    def _on_seed(self, request: Request) -> Response:
        return json_response({"loaded": self.load(_json_body(request))}, 201)


def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(request.get_data() or b"{}")
    except ValueError:
        raise ParseError(None, "body", "request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise ParseError(None, "body", "request body must be a JSON object")
    return body


def _read_body(environ: WSGIEnvironment) -> bytes:
    """Read the request body once and put it back for the app."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    if length > 0:
        body: bytes = stream.read(length)
    elif environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get(
        "wsgi.input_terminated"
    ):
        body = stream.read()
    else:
        return b""
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body


def _run(
    app: WSGIApplication, environ: WSGIEnvironment, start_response: StartResponse
) -> tuple[int | None, dict[str, str], bytes]:
    """Call `app`, passing its status and headers on to `start_response`; its status code
    (None if it never started a response), headers and whole body, for the journal."""
    seen: list[Any] = []

    def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
        seen[:] = [status, headers]
        return start_response(status, headers, exc_info)

    payload = drain(app(environ, capture))
    if not seen:
        return None, {}, payload
    return int(str(seen[0])[:3]), dict(seen[1]), payload


_HEADER_NAMES: dict[str, str] = {}
"""environ key -> header name ("" for a key that is no header), for `_request_headers`:
the same few keys come with every request."""


def _header_name(key: str) -> str:
    """`HTTP_X_API_KEY` -> `X-Api-Key`, `CONTENT_TYPE` -> `Content-Type`, else "" (cached)."""
    if key.startswith("HTTP_"):
        name = key[5:].replace("_", "-").title()
    elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
        name = key.replace("_", "-").title()
    else:
        name = ""
    if len(_HEADER_NAMES) >= ENDPOINT_CACHE:
        _HEADER_NAMES.clear()
    _HEADER_NAMES[key] = name
    return name


def _request_headers(environ: WSGIEnvironment) -> dict[str, str]:
    """The request's headers as the journal shows them (an empty Content-Type or -Length
    left out)."""
    names = _HEADER_NAMES
    headers = {}
    for key, value in environ.items():
        name = names.get(key)
        if name is None:
            name = _header_name(key)
        if name and (value or key.startswith("HTTP_")):  # an empty HTTP_* header still counts
            headers[name] = str(value)
    return headers


def build_fakes(
    clock: Clock,
    vendors: Sequence[str] | None = None,
    *,
    demo: bool = True,
    seed: Mapping[str, Any] | None = None,
    journal_size: int = DEFAULT_JOURNAL_SIZE,
) -> dict[str, Fake]:
    """One `Fake` per vendor (all by default), every one on `clock`."""
    return {
        name: Fake(find_vendor(name), clock, demo=demo, seed=seed, journal_size=journal_size)
        for name in (vendors if vendors is not None else list(VENDORS))
    }

