"""The control plane: what a test needs that the vendor API cannot do, under `/_fake/`.

`ControlPlane` is the Python twin (call it directly in-process); `ControlViews` exposes the
same operations as JSON routes (`control_rules()` lists them). Errors here are the fakes'
own, not a vendor's: `{"error": {"message": ..., "code": ...}}` with 400/404/409.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, TypeVar

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fakeservers._http.app import json_response
from fakeservers._http.clock import AdjustableClock
from fakeservers._http.errors import Conflict, ParseError, UnknownTenant
from fakeservers._http.parsing import (
    json_object,
    read_bool,
    read_datetime,
    read_decimal,
    read_str,
)
from fakeservers._http.tenants import SECRET, Credential, Seeder, Tenant, TenantRegistry
from loyaltykit.limits import MAX_CODE

__all__ = ["ControlPlane", "ControlViews", "control_error", "control_rules", "iso"]

P = TypeVar("P")
PREFIX = "/_fake"
MAX_ADVANCE_SECONDS = 100 * 366 * 86400
MAX_CREDENTIALS = 100
"""Credentials one control request may give a tenant."""
MAX_CREDENTIAL_PARTS = 4
"""Parts of a multi-part credential (ShopSocially's has two: partner id and api key)."""


def iso(moment: datetime) -> str:
    """Control-plane timestamps: ISO-8601 in UTC with a `Z`."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class ControlPlane(Generic[P]):
    """Python twin of every `/_fake/` route shared by all vendors."""

    def __init__(self, registry: TenantRegistry[P], seeders: Mapping[str, Seeder[P]]) -> None:
        self.registry = registry
        self.seeders = dict(seeders)

    def create_tenant(
        self,
        name: str,
        credentials: Sequence[Credential] | Mapping[Credential, str] = (),
        *,
        seed: str | None = None,
        rate_limited: bool = False,
    ) -> Tenant[P]:
        """Create a tenant, empty or filled by the named seeder (e.g. "demo")."""
        seeder = None
        if seed is not None:
            if seed not in self.seeders:
                choices = ", ".join(sorted(self.seeders))
                raise ParseError("seed", "invalid", f"seed must be one of {choices}")
            seeder = self.seeders[seed]
        return self.registry.create(name, credentials, seeder=seeder, rate_limited=rate_limited)

    def add_credential(self, tenant: str, credential: Credential, kind: str = SECRET) -> None:
        self.registry.add_credential(tenant, credential, kind)

    def set_rate_limited(self, tenant: str, enabled: bool) -> None:
        self.registry.set_rate_limited(tenant, enabled)

    def reset(self, tenant: str | None = None) -> list[str]:
        """Rebuild one tenant (or all) from its seed; returns the names reset."""
        return [t.name for t in self.registry.reset(tenant)]

    def tenant(self, name: str) -> Tenant[P]:
        return self.registry.tenant(name)

    def tenants(self) -> list[Tenant[P]]:
        return self.registry.tenants()

    def now(self) -> datetime:
        return self.registry.clock.now()

    def set_clock(self, moment: datetime) -> datetime:
        clock = self._adjustable()
        try:
            return clock.set(moment)
        except ValueError as error:  # outside the range the core can compute with
            raise ParseError("now", "invalid", str(error)) from None

    def advance_clock(self, seconds: float) -> datetime:
        if not 0 <= seconds <= MAX_ADVANCE_SECONDS:
            raise ParseError(
                "seconds", "invalid", f"seconds must be between 0 and {MAX_ADVANCE_SECONDS}"
            )
        clock = self._adjustable()
        try:
            return clock.advance(timedelta(seconds=seconds))
        except ValueError as error:
            raise ParseError("seconds", "invalid", str(error)) from None

    def _adjustable(self) -> AdjustableClock:
        clock = self.registry.clock
        if not isinstance(clock, AdjustableClock):
            raise ParseError(None, "invalid", "this fake's clock cannot be set or advanced")
        return clock


def describe_tenant(tenant: Tenant[Any]) -> dict[str, Any]:
    return {
        "name": tenant.name,
        "credentials": [
            {"key": list(key) if isinstance(key, tuple) else key, "kind": kind}
            for key, kind in tenant.credentials.items()
        ],
        "rate_limited": tenant.rate_limited,
    }


def _read_credential(value: Any, field: str) -> Credential:
    """A key (a string) or a multi-part key (a list of strings), each part non-empty and
    at most `MAX_CODE` characters."""
    parts = value if isinstance(value, list) else [value]
    if not parts or len(parts) > MAX_CREDENTIAL_PARTS or not all(
        isinstance(part, str) and 0 < len(part) <= MAX_CODE for part in parts
    ):
        raise ParseError(
            field,
            "invalid",
            f"{field} must be a string or a list of at most {MAX_CREDENTIAL_PARTS} strings, "
            f"each of 1 to {MAX_CODE} characters",
        )
    return value if isinstance(value, str) else tuple(parts)


def _read_credentials(body: Mapping[str, Any]) -> dict[Credential, str]:
    raw = body.get("credentials", [])
    if not isinstance(raw, list) or len(raw) > MAX_CREDENTIALS:
        raise ParseError(
            "credentials", "invalid", f"credentials must be a list of at most {MAX_CREDENTIALS}"
        )
    result: dict[Credential, str] = {}
    for index, item in enumerate(raw):
        field = f"credentials[{index}]"
        if isinstance(item, dict):
            key = _read_credential(item.get("key"), f"{field}.key")
            result[key] = (
                read_str(item, "kind", label=f"{field}.kind", max_length=MAX_CODE) or SECRET
            )
        else:
            result[_read_credential(item, field)] = SECRET
    return result


def control_error(exc: Exception) -> Response | None:
    """The control plane's own error body, or None for an exception it does not know."""
    code = getattr(exc, "code", None)
    message = getattr(exc, "message", None) or str(exc)
    if isinstance(exc, ParseError):
        status, code = 400, "invalid_argument"
    elif isinstance(exc, UnknownTenant):
        status, code = 404, "unknown_tenant"
    elif isinstance(exc, Conflict):
        status, code = 409, "conflict"
    elif isinstance(code, str):
        status = 404 if code.endswith("not_found") else 400
    else:
        return None
    return json_response({"error": {"message": message, "code": code}}, status)


def control_rules() -> list[Rule]:
    return [
        Rule(f"{PREFIX}/tenants", methods=["GET"], endpoint="fake_tenants"),
        Rule(f"{PREFIX}/tenants", methods=["POST"], endpoint="fake_tenant_create"),
        Rule(f"{PREFIX}/tenants/<name>", methods=["GET"], endpoint="fake_tenant"),
        Rule(
            f"{PREFIX}/tenants/<name>/credentials",
            methods=["POST"],
            endpoint="fake_credential_create",
        ),
        Rule(
            f"{PREFIX}/tenants/<name>/settings",
            methods=["POST", "PATCH"],
            endpoint="fake_tenant_settings",
        ),
        Rule(f"{PREFIX}/tenants/<name>/reset", methods=["POST"], endpoint="fake_tenant_reset"),
        Rule(f"{PREFIX}/reset", methods=["POST"], endpoint="fake_reset"),
        Rule(f"{PREFIX}/clock", methods=["GET"], endpoint="fake_clock"),
        Rule(f"{PREFIX}/clock", methods=["POST", "PUT"], endpoint="fake_clock_set"),
        Rule(f"{PREFIX}/clock/advance", methods=["POST"], endpoint="fake_clock_advance"),
    ]


class ControlViews(Generic[P]):
    """JSON routes over a `ControlPlane`; bodies and responses are JSON objects."""

    def __init__(self, control: ControlPlane[P]) -> None:
        self.control = control

    def render_error(self, request: Request, exc: Exception) -> Response | None:
        return control_error(exc)

    def on_fake_tenants(self, request: Request) -> Response:
        return json_response({"tenants": [describe_tenant(t) for t in self.control.tenants()]})

    def on_fake_tenant(self, request: Request, name: str) -> Response:
        return json_response({"tenant": describe_tenant(self.control.tenant(name))})

    def on_fake_tenant_create(self, request: Request) -> Response:
        body = json_object(request)
        tenant = self.control.create_tenant(
            read_str(body, "name", required=True, max_length=MAX_CODE) or "",
            _read_credentials(body),
            seed=read_str(body, "seed", max_length=MAX_CODE),
            rate_limited=bool(read_bool(body, "rate_limited")),
        )
        return json_response({"tenant": describe_tenant(tenant)}, 201)

    def on_fake_credential_create(self, request: Request, name: str) -> Response:
        body = json_object(request)
        if "key" not in body:
            raise ParseError("key", "missing", "key is required")
        key = _read_credential(body["key"], "key")
        self.control.add_credential(
            name, key, read_str(body, "kind", max_length=MAX_CODE) or SECRET
        )
        return json_response({"tenant": describe_tenant(self.control.tenant(name))}, 201)

    def on_fake_tenant_settings(self, request: Request, name: str) -> Response:
        body = json_object(request)
        enabled = read_bool(body, "rate_limited")
        if enabled is not None:
            self.control.set_rate_limited(name, enabled)
        return json_response({"tenant": describe_tenant(self.control.tenant(name))})

    def on_fake_tenant_reset(self, request: Request, name: str) -> Response:
        return json_response({"reset": self.control.reset(name)})

    def on_fake_reset(self, request: Request) -> Response:
        return json_response(
            {
                "reset": self.control.reset(
                    read_str(json_object(request), "tenant", max_length=MAX_CODE)
                )
            }
        )

    def on_fake_clock(self, request: Request) -> Response:
        return json_response({"now": iso(self.control.now())})

    def on_fake_clock_set(self, request: Request) -> Response:
        moment = read_datetime(json_object(request), "now", required=True)
        assert moment is not None
        return json_response({"now": iso(self.control.set_clock(moment))})

    def on_fake_clock_advance(self, request: Request) -> Response:
        seconds = read_decimal(json_object(request), "seconds", required=True)
        assert seconds is not None
        return json_response({"now": iso(self.control.advance_clock(float(seconds)))})
