"""`create_app()`: the ShopSocially Loyalty API v2 fake as one WSGI application.

The same app object serves in-process (werkzeug test client, httpx WSGITransport) and on a
port (`fakeservers._http.serve_in_thread`). Out of the box it holds one demo tenant,
partner-id `demo-partner` / api-key `demo-api-key`, seeded from the docs' examples.
"""

from __future__ import annotations

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import RequestRedirect
from werkzeug.wrappers import Request, Response

from fakeservers._http import (
    BaseApp,
    Clock,
    ControlPlane,
    ControlViews,
    OffsetClock,
    ParseError,
    RateLimited,
    TenantRegistry,
    control_error,
    control_rules,
    json_response,
)
from fakeservers.shopsocially import errors
from fakeservers.shopsocially.seed import DEMO_API_KEY, DEMO_PARTNER_ID, DEMO_TENANT, seed_demo
from fakeservers.shopsocially.urls import url_map
from fakeservers.shopsocially.views import Views
from loyaltykit import ClawbackPolicy, Program, SystemClock
from loyaltykit.errors import LoyaltyError

__all__ = ["ShopSociallyApp", "create_app", "new_program", "new_registry"]

CONTROL_PREFIX = "/_fake/"


def new_program(clock: Clock, name: str) -> Program:
    """A tenant's empty program. Returns that hit spent points become a pending deduction
    (the docs' `pending_deduction` status), settled by the user's later earnings."""
    return Program(clock, name=name, clawback=ClawbackPolicy.PENDING_DEDUCTION)


def new_registry(clock: Clock | None = None, *, demo: bool = True) -> TenantRegistry[Program]:
    """A registry over `clock` (wall time that the control plane can still move, by
    default), holding the demo tenant unless `demo` is False."""
    registry: TenantRegistry[Program] = TenantRegistry(
        new_program, clock if clock is not None else OffsetClock(SystemClock())
    )
    if demo:
        registry.create(DEMO_TENANT, [(DEMO_PARTNER_ID, DEMO_API_KEY)], seeder=seed_demo)
    return registry


def render_error(request: Request, exc: Exception) -> Response | None:
    """Every failure as `{"reason": ..., "success": false}`; the control plane keeps its own."""
    if request.path.startswith(CONTROL_PREFIX) and not isinstance(exc, HTTPException):
        return control_error(exc)
    if isinstance(exc, errors.ApiError):
        return json_response(errors.error_body(exc.reason), exc.status)
    if isinstance(exc, LoyaltyError):
        mapped = errors.from_core(exc)
        return json_response(errors.error_body(mapped.reason), mapped.status)
    if isinstance(exc, ParseError):
        reason = errors.MISSING_PARAMETERS if exc.problem == "missing" else (
            errors.INVALID_PARAMETERS)
        return json_response(errors.error_body(reason), 400)
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(max(1, round(exc.retry_after)))}
        return json_response(errors.error_body(errors.RATE_LIMITED), 429, headers)
    if isinstance(exc, RequestRedirect):  # merged slashes: a real redirect, with Location
        return exc.get_response(request.environ)
    if isinstance(exc, MethodNotAllowed):
        return json_response(errors.error_body(errors.METHOD_NOT_ALLOWED), 405,
                             {"Allow": ", ".join(exc.valid_methods or ())})
    if isinstance(exc, NotFound):
        return json_response(errors.error_body(errors.NOT_FOUND), 404)
    if isinstance(exc, HTTPException):
        return json_response(errors.error_body(exc.name.lower()), exc.code or 400)
    return None


class ShopSociallyApp(BaseApp):
    """The WSGI app, with its registry and control plane reachable for in-process tests."""

    def __init__(self, registry: TenantRegistry[Program]) -> None:
        self.registry = registry
        self.control: ControlPlane[Program] = ControlPlane(registry, {"demo": seed_demo})
        routes = url_map(control_rules())
        super().__init__(routes, [Views(registry), ControlViews(self.control)], render_error)


def create_app(
    registry: TenantRegistry[Program] | None = None, clock: Clock | None = None
) -> ShopSociallyApp:
    """The fake over `registry` (a fresh one with the demo tenant if None) and `clock`."""
    if registry is None:
        registry = new_registry(clock)
    return ShopSociallyApp(registry)
