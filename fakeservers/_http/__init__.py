"""Shared HTTP plumbing for the vendor fakes (no vendor-specific wire format lives here).

How a vendor package uses it (see `fakeservers.smile` for a complete example):

* **Tenants** (`tenants.py`): `TenantRegistry(factory, clock)` maps credentials to
  `Tenant`s. `factory(clock, name)` builds an empty program (e.g.
  `lambda clock, name: loyaltykit.Program(clock, name=name)`). All tenants share
  `registry.clock`; each sees it through `tenant.clock` (a `TenantClock`), which a seeder may
  `pin(moment)` to write history (the registry unpins after seeding). A credential is a
  `str` (Bearer key) or a `tuple[str, ...]` (e.g. `(partner_id, api_key)`), with a kind
  ("secret" by default; Smile also uses "public_app"). `registry.create(name, credentials,
  seeder=...)`, `registry.authenticate(credential) -> (tenant, kind) | None`,
  `registry.throttle(tenant, key)` (raises `RateLimited` when the tenant has rate limiting
  on and the leaky bucket, 10 req/s per key by default, is full), `registry.reset(name)`
  (fresh program, seeder run again). Always read `tenant.program` per request: reset
  replaces it. `registry.keeper` (a `TenantKeeper`) is told of every change: the default
  keeps nothing; `fakeservers.toolkit.DataDir` keeps tenants in a SQLite file.
* **App base** (`app.py`): `BaseApp(url_map, handlers, render_error)`; each `Rule`'s
  endpoint `x` is served by a method `on_x(request, **values)` on one of `handlers`.
  `render_error(request, exc) -> Response | None` renders every exception in the vendor's
  format (None = a bug, re-raised). Unknown routes arrive as werkzeug `NotFound` /
  `MethodNotAllowed`. OPTIONS preflights and CORS headers are handled here.
  `json_response(body, status)` writes JSON.
* **Parsing** (`parsing.py`): `json_object`, `form_object`, `body_object` (JSON or form)
  and `read_str/int/points/decimal/money/multiplier/bool/datetime/date/object/metadata/
  identifier(mapping, name, required=..., label=...)`; they work on parsed bodies and on
  `request.args`, and hold every value to `loyaltykit.limits` (`bounds.py`). Failures raise
  `ParseError(field, problem, message)` with problem "missing", "invalid" or "body". JSON
  is read and written strictly (`strictjson.py`: no NaN, bounded nesting).
* **Pagination** (`cursor.py`, `pagination.py`): `encode_cursor(Cursor(id, "next"))` gives
  base64 of `id:<n>,direction:next`; `decode_cursor` raises `ParseError`;
  `keyset_list(lister, key, limit=, cursor=)` pages newest first by id boundary, asking a
  `Lister` (a core paged read with its filters bound, or `lister_of(records, key)` over a
  list in memory) for just the page; `keyset_page(records, key, ...)` is the same over a
  list; `classic_page(records, page=, page_size=)` slices.
* **Control plane** (`control.py`): `ControlPlane(registry, seeders)` is the Python twin of
  the shared `/_fake/` routes (tenants, credentials, rate-limit switch, reset, clock get /
  set / advance); mount them with `control_rules()` in the vendor's Map and pass
  `ControlViews(control)` among the handlers. Its errors use the fakes' own JSON body.
  Every `/_fake/` request passes the app's `access` (`access.py`: loopback Host and
  Origin, optional token, JSON bodies) and gets no CORS headers.
* **Serving** (`serving.py`): `serve_in_thread(app, host, port=0, options=ServerOptions())`
  serves through waitress (HTTP/1.1 keep-alive, one `fakeservers.access` log line per
  request; threads, connections, idle time and sizes bounded) and returns a
  `ServerThread` with `.url` and `.stop()`; an app raising `DroppedConnection` gets the
  connection closed with no response. Test-double features (journal, faults, seed files,
  transports) live in `fakeservers.toolkit`; `TenantRegistry.remove(name)` serves its reset.
* **Clocks** (`clock.py`): structural `Clock` / `AdjustableClock` protocols (the core's
  `ManualClock` fits) and `OffsetClock(base, offset, on_change)`, wall time that can still
  be set / advanced.
"""

from fakeservers._http import strictjson
from fakeservers._http.access import ControlAccess
from fakeservers._http.app import (
    MAX_BODY_BYTES,
    MAX_CONTROL_BODY_BYTES,
    BaseApp,
    ErrorRenderer,
    Handler,
    json_response,
)
from fakeservers._http.clock import AdjustableClock, Clock, OffsetClock
from fakeservers._http.control import ControlPlane, ControlViews, control_error, control_rules, iso
from fakeservers._http.cors import add_cors_headers, preflight_response
from fakeservers._http.cursor import Cursor, decode_cursor, encode_cursor
from fakeservers._http.errors import Conflict, ParseError, PlumbingError, RateLimited, UnknownTenant
from fakeservers._http.pagination import (
    Lister,
    Page,
    classic_page,
    keyset_list,
    keyset_page,
    lister_of,
)
from fakeservers._http.parsing import (
    body_object,
    form_object,
    json_object,
    read_bool,
    read_date,
    read_datetime,
    read_decimal,
    read_identifier,
    read_int,
    read_metadata,
    read_money,
    read_multiplier,
    read_object,
    read_points,
    read_str,
)
from fakeservers._http.ratelimit import LeakyBucket
from fakeservers._http.serving import ServerOptions, ServerThread, serve_in_thread
from fakeservers._http.tenants import (
    SECRET,
    Credential,
    ProgramFactory,
    Seeder,
    Tenant,
    TenantClock,
    TenantKeeper,
    TenantRegistry,
)

__all__ = [
    "MAX_BODY_BYTES",
    "MAX_CONTROL_BODY_BYTES",
    "SECRET",
    "AdjustableClock",
    "BaseApp",
    "Clock",
    "Conflict",
    "ControlAccess",
    "ControlPlane",
    "ControlViews",
    "Credential",
    "Cursor",
    "ErrorRenderer",
    "Handler",
    "LeakyBucket",
    "Lister",
    "OffsetClock",
    "Page",
    "ParseError",
    "PlumbingError",
    "ProgramFactory",
    "RateLimited",
    "Seeder",
    "ServerOptions",
    "ServerThread",
    "Tenant",
    "TenantClock",
    "TenantKeeper",
    "TenantRegistry",
    "UnknownTenant",
    "add_cors_headers",
    "body_object",
    "classic_page",
    "control_error",
    "control_rules",
    "decode_cursor",
    "encode_cursor",
    "form_object",
    "iso",
    "json_object",
    "json_response",
    "keyset_list",
    "keyset_page",
    "lister_of",
    "preflight_response",
    "read_bool",
    "read_date",
    "read_datetime",
    "read_decimal",
    "read_identifier",
    "read_int",
    "read_metadata",
    "read_money",
    "read_multiplier",
    "read_object",
    "read_points",
    "read_str",
    "serve_in_thread",
    "strictjson",
]
