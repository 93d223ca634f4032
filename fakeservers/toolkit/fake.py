"""`Fake`: one vendor fake plus its test-double toolkit, as a WSGI application.

`Fake` wraps the vendor's app (the very app `create_app()` returns) with

* the request journal (`fake.journal`) and the fault injector (`fake.faults`);
* extra control routes next to the vendor's `/_fake/` ones: `GET /_fake/` (an index of
  the control routes), `GET /_fake/routes` (the API's route names),
  `GET /_fake/journal` (`?tenant=`, `?route=`, `?limit=`), `DELETE /_fake/journal`,
  `GET|POST|DELETE /_fake/faults`, `DELETE /_fake/faults/<id>`,
  `GET /_fake/export` (`?tenant=` repeatable) and `POST /_fake/seed` (a seed document);
  `POST /_fake/reset` also clears the journal and the faults.

Every transport runs this same object: `serve()` on a port, `fakeservers.toolkit.transports`
in-process. Build several over one clock with `build_fakes()`. With `data=DataDir(...)` its
tenants are kept in a SQLite file across restarts (`fakeservers.toolkit.datadir`).

The control routes, the vendor's and the toolkit's alike, pass the fake's `ControlAccess`
first (loopback Host and Origin only, unless `allowed_hosts` adds names; the
`control_token` when given, and always when served beyond loopback; JSON bodies declared
as JSON), and answer without CORS headers.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from werkzeug.exceptions import (
    HTTPException,
    InternalServerError,
    RequestEntityTooLarge,
    default_exceptions,
)
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
    strictjson,
)
from fakeservers._http.access import ControlAccess, is_loopback_bind
from fakeservers._http.app import body_limit
from fakeservers._http.serving import (
    DroppedConnection,
    ServerOptions,
    ServerThread,
    drain,
    serve_in_thread,
)
from fakeservers.toolkit import seedfile
from fakeservers.toolkit.catalogue import RouteInfo, UnknownRoute, api_routes, control_routes
from fakeservers.toolkit.faults import Fault, FaultInjector
from fakeservers.toolkit.journal import DEFAULT_JOURNAL_BYTES, Journal
from fakeservers.toolkit.vendors import VENDORS, Credentials, FakeApp, Vendor
from fakeservers.toolkit.vendors import vendor as find_vendor
from loyaltykit.limits import MAX_DEPTH

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from fakeservers.toolkit.datadir import DataDir
    from loyaltykit import Program

__all__ = ["DEFAULT_JOURNAL_SIZE", "STRICT_STATUSES", "Fake", "build_fakes"]

DEFAULT_JOURNAL_SIZE = 1000
CONTROL = "/_fake/"
ENDPOINT_CACHE = 4096
CACHED_PATH = 512
"""Longest path whose endpoint is cached (a longer one is matched afresh each time)."""
CACHED_HEADER = 64
"""Longest environ key whose header name is cached."""


def _toolkit_rules() -> Map:
    return Map(
        [
            Rule("/_fake/", methods=["GET"], endpoint="index"),
            Rule("/_fake/routes", methods=["GET"], endpoint="routes"),
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
        data: DataDir | None = None,
        journal_bytes: int = DEFAULT_JOURNAL_BYTES,
        control_token: str | None = None,
        allowed_hosts: Iterable[str] = (),
    ) -> None:
        self.vendor = vendor if isinstance(vendor, Vendor) else find_vendor(vendor)
        self.reopened = data is not None and data.holds(self.vendor.name)
        """Whether the tenants were reopened from `data` (then `demo` and `seed` are not
        used: they fill a new data dir only)."""
        if self.reopened:
            demo, seed = False, None
        seeded = seed is not None and self.vendor.name in seed
        self.app: FakeApp = self.vendor.build(clock, demo and not seeded)
        self.app.access = ControlAccess.of(allowed_hosts, control_token)
        self.registry = self.app.registry
        self.control = self.app.control
        self.route_names = frozenset(
            str(rule.endpoint)
            for rule in self.app.url_map.iter_rules()
            if not rule.rule.startswith(CONTROL)
        )
        """The API's route names (`routes()` has them with their paths)."""
        self.journal = Journal(journal_size, self.route_names, max_bytes=journal_bytes)
        self.faults = FaultInjector(self.route_names)
        self.server: ServerThread | None = None
        self._baseline: dict[str, tuple[dict[Any, str], Any, bool]] = {}
        self._rules = _toolkit_rules()
        self._routes = self.app.url_map.bind("fake")
        self._endpoints: dict[tuple[str, str], str | None] = {}
        if seed is not None:
            self.load(seed)
        self.data = data
        if data is not None:
            data.attach(self.vendor, self.registry, self.control.seeders)
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
        """A tenant by name; by default the first one the fake was built with (the demo
        tenant, or the first of the seed's tenants for this vendor), else the first one."""
        if name is not None:
            return self.registry.tenant(name)
        tenants = {t.name: t for t in self.registry.tenants()}
        for first in self._baseline:
            if first in tenants:
                return tenants[first]
        if not tenants:
            raise LookupError(f"the {self.name} fake has no tenant")
        return next(iter(tenants.values()))

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

    def routes(self) -> list[RouteInfo]:
        """The API's named routes (name, methods, paths, summary): the names faults,
        canned responses and journal assertions take."""
        return api_routes(self.name, self.app.url_map)

    def problems(self, allow: Iterable[int | str] = ()) -> list[str]:
        """What strict mode fails a test on: requests answered 401, 404 or 405 by the fake
        itself (not by a fault or canned response), and armed faults that never fired.
        `allow` names statuses (`404`) or route specs (`"customer_show"`) that a test
        expects to be refused."""
        statuses = {a for a in allow if isinstance(a, int)}
        specs = [self.journal.route(a) for a in allow if isinstance(a, str)]
        found = []
        for entry in self.journal.entries():
            if entry.status not in STRICT_STATUSES or entry.fault is not None:
                continue
            if entry.status in statuses or any(
                spec.matches(entry.method, entry.path, entry.endpoint) for spec in specs
            ):
                continue
            name = entry.endpoint or "no such route"
            found.append(
                f"{self.name}: {entry.method} {entry.path} [{name}] answered {entry.status}: "
                f"{entry.response_body[:200].decode('utf-8', 'replace')}"
            )
        for fault in self.faults.unfired():
            found.append(
                f"{self.name}: fault {fault.id} ({fault.kind} on {fault.route}"
                + (f", tenant {fault.tenant!r}" if fault.tenant else "")
                + ") never fired"
            )
        return found

    def verify(self, allow: Iterable[int | str] = ()) -> None:
        """Raise AssertionError listing `problems(allow)`, if any (what strict mode runs at
        teardown; call it yourself outside pytest)."""
        found = self.problems(allow)
        if found:
            raise AssertionError("\n".join(["strict fakes:", *(f"  {p}" for p in found)]))

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
        """Create or replace the document's tenants for this vendor; returns their names.

        Warns (`SeedClockWarning`) when the document holds events dated after the fake's
        clock (the pytest plugin refuses such a seed)."""
        names = seedfile.load_document(self.vendor, self.registry, document)
        mismatch = seedfile.clock_mismatch(document, self.name, self.now())
        if mismatch is not None:
            warnings.warn(mismatch, seedfile.SeedClockWarning, stacklevel=2)
        return names

    # --- serving ---------------------------------------------------------------------

    @property
    def access(self) -> ControlAccess:
        """Who may use this fake's control routes over HTTP."""
        return self.app.access

    def serve(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        threads: int = 8,
        options: ServerOptions | None = None,
    ) -> Fake:
        """Start a live server (waitress, keep-alive) for this fake; `url` then works.
        Serving beyond loopback (`0.0.0.0`, a LAN address) needs a control token."""
        if self.server is not None:
            raise RuntimeError(f"the {self.name} fake is already served at {self.url}")
        if not is_loopback_bind(host) and self.access.token is None:
            raise ValueError(
                f"serving on {host} exposes the control plane beyond this machine: give the "
                "fake a control token (--control-token or FAKESERVERS_CONTROL_TOKEN)"
            )
        chosen = options or ServerOptions(threads=threads)
        self.server = serve_in_thread(self, host, port, name=self.name, options=chosen)
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
        if len(path) <= CACHED_PATH:  # a 200 KB path is matched, never kept
            if len(self._endpoints) >= ENDPOINT_CACHE:
                self._endpoints.clear()
            self._endpoints[key] = endpoint
        return endpoint

    def _recorded(
        self, environ: WSGIEnvironment, start_response: StartResponse, path: str
    ) -> Iterable[bytes]:
        body, body_size = _read_body(environ, body_limit(path))
        method = environ.get("REQUEST_METHOD", "GET")
        tenant = self._tenant_name(environ)
        endpoint = self._endpoint(method, path)
        at = self.registry.clock.now()

        def record(
            status: int | None, headers: dict[str, str], payload: bytes, *applied: int | None
        ) -> None:
            self.journal.add(
                at, tenant, method, path, environ.get("QUERY_STRING", ""), endpoint,
                _request_headers(environ), body, status, headers, payload,
                fault.kind if fault else None, *applied, body_size=body_size,
            )  # fmt: skip

        if not self.faults.active:
            fault = None
            status, headers, payload = _run(self.app, environ, start_response)
            record(status, headers, payload)
            return [payload]
        fault, wait_after = self._fault(method, path, endpoint, tenant)
        if fault is None or fault.after:
            forward = start_response if fault is None else None
            status, headers, payload = _run(self.app, environ, forward)
            self.faults.sleep(wait_after)
            if fault is None:
                record(status, headers, payload)
                return [payload]
            if fault.kind == "drop":
                record(None, {}, b"", status)
                raise DroppedConnection(f"fault {fault.id}: connection dropped after acting")
            answered = _run(self._fault_response(environ, fault), environ, start_response)
            record(*answered, status)
            return [answered[2]]
        if fault.kind == "drop":
            record(None, {}, b"")
            raise DroppedConnection(f"fault {fault.id}: connection dropped")
        status, headers, payload = _run(
            self._fault_response(environ, fault), environ, start_response
        )
        record(status, headers, payload)
        return [payload]

    def _fault(
        self, method: str, path: str, endpoint: str | None, tenant: str | None
    ) -> tuple[Fault | None, float]:
        """The armed fault that answers this request, if any, after the latency to add
        before handling it; and the latency to add once it is handled."""
        delay, fault, after = self.faults.pick(method, path, endpoint, tenant)
        self.faults.sleep(delay)
        return fault, after

    def _fault_response(self, environ: WSGIEnvironment, fault: Fault) -> Response:
        request = Request(environ)
        if fault.kind == "respond":
            return add_cors_headers(request, _canned(fault))
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
            response.set_data(strictjson.dumps(fault.body))
            response.mimetype = "application/json"
        if fault.kind == "rate_limit":
            response.headers["Retry-After"] = str(max(0, round(fault.retry_after)))
        response.status_code = fault.status
        response.headers.update(fault.headers)
        return add_cors_headers(request, response)

    # --- the toolkit's control routes ------------------------------------------------

    def _control(
        self, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        refused = self.app.access.refusal(environ)
        if refused is not None:
            return refused(environ, start_response)
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
        request.max_content_length = body_limit(CONTROL)
        response: Response
        try:
            response = getattr(self, f"_on_{endpoint}")(request, **values)
        except UnknownRoute as exc:
            response = json_response(
                {
                    "error": {
                        "message": str(exc),
                        "code": "unknown_route",
                        "did_you_mean": exc.suggestions,
                    }
                },
                400,
            )
        except (ValueError, LookupError, ParseError) as exc:
            found = control_error(exc)
            response = found or json_response(
                {"error": {"message": str(exc), "code": "invalid_argument"}}, 400
            )
        except RequestEntityTooLarge as exc:
            response = json_response(
                {"error": {"message": exc.description, "code": "too_large"}}, 413
            )
        return response(environ, start_response)

    def _on_index(self, request: Request) -> Response:
        maps = (self._rules, self.app.url_map)
        return json_response(
            {
                "vendor": self.name,
                "api_routes": "/_fake/routes",
                "control": [info.to_json() for info in control_routes(maps)],
            }
        )

    def _on_routes(self, request: Request) -> Response:
        return json_response(
            {"vendor": self.name, "routes": [info.to_json() for info in self.routes()]}
        )

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
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", seedfile.SeedClockWarning)
            loaded = self.load(_json_body(request, max_depth=seedfile.SEED_DEPTH))
        body: dict[str, Any] = {"loaded": loaded}
        if caught:
            body["warnings"] = [str(w.message) for w in caught]
        return json_response(body, 201)


def _json_body(request: Request, *, max_depth: int = MAX_DEPTH) -> dict[str, Any]:
    """The body as a JSON object, read strictly (`strictjson`); empty means `{}`."""
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = strictjson.loads(raw, max_depth=max_depth)
    except strictjson.JSONRefused as refused:
        raise ParseError(None, "body", f"request body is {refused}") from None
    if not isinstance(body, dict):
        raise ParseError(None, "body", "request body must be a JSON object")
    return body


def _read_body(environ: WSGIEnvironment, limit: int) -> tuple[bytes, int]:
    """Read the request body once and put it back for the app; (body, its size).

    A body declared larger than `limit` is not read at all (the app refuses it by its
    length); one that turns out larger (chunked) is read up to `limit + 1` bytes, which the
    app refuses in turn."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None:
        return b"", 0
    if length > limit:
        return b"", length
    if length > 0:
        body: bytes = stream.read(length)
    elif environ.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked" or environ.get(
        "wsgi.input_terminated"
    ):
        body = stream.read(limit + 1)
    else:
        return b"", 0
    environ["wsgi.input"] = io.BytesIO(body)
    environ["CONTENT_LENGTH"] = str(len(body))
    return body, len(body)


def _canned(fault: Fault) -> Response:
    """A `respond` fault's response: its status, JSON body (or text) and headers."""
    if fault.text is not None:
        response = Response(
            fault.text, status=fault.status, content_type="text/plain; charset=utf-8"
        )
    elif fault.body is None:
        response = Response(b"", status=fault.status, content_type="application/json")
    else:
        response = json_response(fault.body, fault.status)
    response.headers.update(fault.headers)
    return response


def _run(
    app: WSGIApplication, environ: WSGIEnvironment, start_response: StartResponse | None
) -> tuple[int | None, dict[str, str], bytes]:
    """Call `app`, passing its status and headers on to `start_response` (None: keep them;
    the answer is to be replaced); its status code (None if it never started a response),
    headers and whole body, for the journal."""
    seen: list[Any] = []

    def capture(status: str, headers: Any, exc_info: Any = None) -> Any:
        seen[:] = [status, headers]
        if start_response is None:
            return _discard
        return start_response(status, headers, exc_info)

    payload = drain(app(environ, capture))
    if not seen:
        return None, {}, payload
    return int(str(seen[0])[:3]), dict(seen[1]), payload


def _discard(data: bytes) -> None:
    """The `write` callable of an answer that is never sent."""


STRICT_STATUSES = frozenset({401, 404, 405})
"""What strict mode counts as an unexpected request: the fake refused it as unknown
(route or id), not allowed (method), or unauthenticated."""

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
    if len(key) <= CACHED_HEADER:
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
    control_token: str | None = None,
    allowed_hosts: Iterable[str] = (),
) -> dict[str, Fake]:
    """One `Fake` per vendor (all by default), every one on `clock`."""
    return {
        name: Fake(
            find_vendor(name),
            clock,
            demo=demo,
            seed=seed,
            journal_size=journal_size,
            control_token=control_token,
            allowed_hosts=allowed_hosts,
        )
        for name in (vendors if vendors is not None else list(VENDORS))
    }

