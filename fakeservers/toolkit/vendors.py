"""What the toolkit needs to know about each vendor fake, in one place.

A `Vendor` says how to build the fake's WSGI app over a clock, which real hosts it stands
in for, how a request names its tenant (the vendor's credential headers), how to reach the
core `Program` inside a tenant, and how to save and rebuild whatever else a tenant holds.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, get_args, get_origin, get_type_hints

import attrs

from fakeservers._http import BaseApp, Clock, ControlPlane, Credential, TenantRegistry

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIEnvironment

    from loyaltykit import Program

__all__ = ["SHOPSOCIALLY", "SMILE", "VENDORS", "Credentials", "FakeApp", "Vendor", "vendor"]


class FakeApp(BaseApp):
    """What every vendor app offers besides routing: its registry and control plane."""

    registry: TenantRegistry[Any]
    control: ControlPlane[Any]


@attrs.frozen
class Credentials:
    """One tenant's credential and the headers that present it."""

    tenant: str
    value: Credential
    """Smile: the API key; ShopSocially: (partner_id, api_key)."""
    headers: dict[str, str]

    @property
    def api_key(self) -> str:
        return self.value if isinstance(self.value, str) else self.value[-1]

    @property
    def partner_id(self) -> str | None:
        return None if isinstance(self.value, str) else self.value[0]


@attrs.frozen
class Vendor:
    """One vendor fake, described for the toolkit."""

    name: str
    hosts: tuple[str, ...]
    build: Callable[[Clock, bool], FakeApp]
    """`build(clock, demo)`: a fresh app; with the seeded demo tenant when `demo`."""
    credential: Callable[[WSGIEnvironment], Credential | None]
    """The credential a request carries (not checked), or None."""
    headers: Callable[[Credential], dict[str, str]]
    """The request headers that present a credential."""
    core: Callable[[Any], Program]
    """The core program inside what a tenant holds."""
    save_extra: Callable[[Any], dict[str, Any]]
    """What a tenant holds besides its core program, as JSON-safe data."""
    load_extra: Callable[[Program, Mapping[str, Any]], Any]
    """Rebuild what a tenant holds from a restored program and `save_extra`'s data."""
    watch: Callable[[Any, Callable[[str, Any, Any], None] | None], None]
    """`watch(held, listener)`: from now on, tell `listener(field, key, value)` of each
    entry stored in one of the dicts `save_extra` saves as [key, value] pairs (None:
    stop). A persistent fake writes them down request by request."""


# --- Smile ---------------------------------------------------------------------------


def _smile_build(clock: Clock, demo: bool) -> FakeApp:
    from fakeservers.smile import create_app, create_registry

    app: Any = create_app(create_registry(clock, demo=demo))
    return app  # type: ignore[no-any-return]


def _smile_credential(environ: WSGIEnvironment) -> Credential | None:
    scheme, _, key = str(environ.get("HTTP_AUTHORIZATION", "")).partition(" ")
    key = key.strip()
    return key if scheme.lower() == "bearer" and key else None


def _smile_headers(credential: Credential) -> dict[str, str]:
    return {"Authorization": f"Bearer {credential}"}


def _smile_core(backend: Any) -> Program:
    program: Program = backend.program
    return program


def _smile_extra_fields() -> dict[str, Any]:
    from fakeservers.smile import SmileBackend

    hints = get_type_hints(SmileBackend)
    return {
        field.name: hints[field.name]
        for field in attrs.fields(SmileBackend)
        if field.name not in ("program", "_lock", "_listener")
    }


def _smile_save(backend: Any) -> dict[str, Any]:
    """Every field of the backend but the program, dicts as [key, value] pairs (their keys
    may be ints or tuples, which JSON objects cannot hold)."""
    from loyaltykit.serialization import converter

    data: dict[str, Any] = {}
    for name, hint in _smile_extra_fields().items():
        value = getattr(backend, name)
        if get_origin(hint) is dict:
            data[name.lstrip("_")] = [
                [converter.unstructure(k), converter.unstructure(v)] for k, v in value.items()
            ]
        else:
            data[name.lstrip("_")] = converter.unstructure(value)
    return data


def _smile_load(program: Program, data: Mapping[str, Any]) -> Any:
    """A Smile backend over `program` from `_smile_save`'s data; ValueError (naming the
    key) for unknown keys, malformed values or records that do not fit together."""
    from cattrs import BaseValidationError

    from fakeservers.smile import SmileBackend
    from loyaltykit.serialization import converter

    fields = {name.lstrip("_"): hint for name, hint in _smile_extra_fields().items()}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, unknown))}; known: "
                         f"{', '.join(sorted(fields))}")
    values: dict[str, Any] = {}
    for key, hint in fields.items():
        if key not in data:
            continue
        raw = data[key]
        try:
            if get_origin(hint) is dict:
                key_type, value_type = get_args(hint)
                if not all(isinstance(pair, list) and len(pair) == 2 for pair in raw):
                    raise ValueError("must be a list of [key, value] pairs")
                values[key] = {
                    converter.structure(k, key_type): converter.structure(v, value_type)
                    for k, v in raw
                }
            else:
                values[key] = converter.structure(raw, hint)
        except (BaseValidationError, ValueError, TypeError, KeyError, AttributeError) as exc:
            raise ValueError(f"{key}: {exc}") from None
    backend = SmileBackend(program, **values)
    _check_smile_records(backend)
    return backend


def _check_smile_records(backend: Any) -> None:
    """The records beside the program must fit it: numbered 1..n (new ones take n + 1),
    keyed by their own ids, naming customers the program has."""
    label = backend.points_label
    if not (isinstance(label, tuple) and len(label) == 2):
        raise ValueError("points_label must be [singular, plural]")
    members = {member.id for member in backend.program.members()}
    activities, identities = backend.activities, backend.identities
    if sorted(activities) != list(range(1, len(activities) + 1)):
        raise ValueError("activities must be numbered 1, 2, ... in order")
    for key, activity in activities.items():
        if activity.id != key or activity.customer_id not in members:
            raise ValueError(f"activities: record {key} does not fit the program")
    if sorted(i.id for i in identities.values()) != list(range(1, len(identities) + 1)):
        raise ValueError("identities must be numbered 1, 2, ...")
    for key, identity in identities.items():
        if identity.distinct_id != key or identity.customer_id not in members:
            raise ValueError(f"identities: record {key!r} does not fit the program")
    for key, activity_id in backend._activity_keys.items():
        if activity_id not in activities:
            raise ValueError(f"activity_keys: {key!r} names no activity")


def _smile_watch(backend: Any, listener: Callable[[str, Any, Any], None] | None) -> None:
    backend.watch(listener)


SMILE = Vendor(
    name="smile",
    hosts=("api.smile.io",),
    build=_smile_build,
    credential=_smile_credential,
    headers=_smile_headers,
    core=_smile_core,
    save_extra=_smile_save,
    load_extra=_smile_load,
    watch=_smile_watch,
)


# --- ShopSocially ----------------------------------------------------------------------


def _shopsocially_build(clock: Clock, demo: bool) -> FakeApp:
    from fakeservers.shopsocially import create_app, new_registry

    app: Any = create_app(new_registry(clock, demo=demo))
    return app  # type: ignore[no-any-return]


def _shopsocially_credential(environ: WSGIEnvironment) -> Credential | None:
    partner_id = str(environ.get("HTTP_PARTNER_ID", "")).strip()
    api_key = str(environ.get("HTTP_API_KEY", "")).strip()
    return (partner_id, api_key) if partner_id and api_key else None


def _shopsocially_headers(credential: Credential) -> dict[str, str]:
    if isinstance(credential, str):
        raise TypeError("a ShopSocially credential is (partner_id, api_key)")
    partner_id, api_key = credential
    return {"partner-id": partner_id, "api-key": api_key}


def _same(program: Any) -> Program:
    core: Program = program
    return core


def _nothing(program: Any) -> dict[str, Any]:
    return {}


def _program_itself(program: Program, data: Mapping[str, Any]) -> Any:
    if data:
        raise ValueError(f"unknown key(s) {', '.join(map(repr, sorted(data)))}; known: none")
    return program


def _nothing_to_watch(program: Any, listener: Callable[[str, Any, Any], None] | None) -> None:
    """ShopSocially keeps everything in the core (its string ids in the objects' metadata)."""


SHOPSOCIALLY = Vendor(
    name="shopsocially",
    hosts=("api.shopsocially.com",),
    build=_shopsocially_build,
    credential=_shopsocially_credential,
    headers=_shopsocially_headers,
    core=_same,
    save_extra=_nothing,
    load_extra=_program_itself,
    watch=_nothing_to_watch,
)

VENDORS: dict[str, Vendor] = {SMILE.name: SMILE, SHOPSOCIALLY.name: SHOPSOCIALLY}


def vendor(name: str) -> Vendor:
    try:
        return VENDORS[name]
    except KeyError:
        raise ValueError(f"unknown vendor {name!r}; one of {sorted(VENDORS)}") from None
