"""Seed files: whole tenants (credentials, settings, configuration, members, full ledger
history) as one JSON document, loaded with `--seed FILE` and exported from a running fake.

The format (`"format": "fakeservers.seed/1"`)::

    {
      "format": "fakeservers.seed/1",
      "smile": {                       # one key per vendor present in the file
        "tenants": [
          {
            "name": "demo",
            "credentials": [{"key": "test_...", "kind": "secret"}],
            "rate_limited": false,
            "program": {...},          # the core snapshot: loyaltykit.snapshot/1
            "extra": {...}             # vendor state the core does not keep (may be {})
          }
        ]
      },
      "shopsocially": {"tenants": [...]}   # ShopSocially keys are [partner_id, api_key]
    }

The core snapshot is `Program.snapshot()`: the program's settings and its whole event
journal (rules, offers, pools, tiers, members, every transaction, order and referral, each
with its timestamp), so loading replays history exactly and `export(load(doc)) == doc`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from fakeservers._http import Credential, Tenant, TenantClock, TenantRegistry, strictjson
from fakeservers.toolkit.seedcheck import (
    SEED_DEPTH,
    SeedError,
    check_keys,
    check_values,
    read_credentials,
    require,
)
from fakeservers.toolkit.vendors import VENDORS, Vendor
from loyaltykit.limits import MAX_CODE

if TYPE_CHECKING:
    from loyaltykit import Program

__all__ = [
    "FORMAT",
    "SEED_DEPTH",
    "SeedClockWarning",
    "SeedError",
    "clock_mismatch",
    "export_document",
    "export_tenant",
    "latest_instant",
    "load_document",
    "read_seed_file",
    "tenant_seeder",
    "write_seed_file",
]

FORMAT = "fakeservers.seed/1"
SNAPSHOT_FORMAT = "loyaltykit.snapshot/1"
TENANT_KEYS = ("name", "credentials", "rate_limited", "program", "extra")
SNAPSHOT_KEYS = ("format", "settings", "journal")
SETTINGS_KEYS = ("name", "clawback", "timezone", "started_at")


class SeedClockWarning(UserWarning):
    """A seed holds events dated after the clock it is loaded on (e.g. exported from a
    command-line server on wall time, loaded into the pytest plugin's 2024-01-01): its
    awards would be dated in the future of every request."""


HAPPENED = frozenset({"at", "created_at", "recorded_at", "resolved_at", "used_at", "completed_at"})
"""The keys of a snapshot's events that say when the program did something (not when
something is due, such as `expires_at`, nor what a shop reported, such as an order's
`updated_at`)."""


def latest_instant(document: Mapping[str, Any], vendor: str) -> datetime | None:
    """The latest moment anything happened in the vendor's tenants of a seed document
    (None: no dated event), read from the snapshots' events."""
    latest: datetime | None = None
    stack: list[Any] = []
    section = document.get(vendor)
    if isinstance(section, Mapping) and isinstance(section.get("tenants"), list):
        for tenant in section["tenants"]:
            program = tenant.get("program") if isinstance(tenant, Mapping) else None
            if isinstance(program, Mapping) and isinstance(program.get("journal"), list):
                stack.extend(program["journal"])
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, Mapping):
            for key, value in item.items():
                if isinstance(value, Mapping | list):
                    stack.append(value)
                elif key in HAPPENED and isinstance(value, str):
                    moment = _instant(value)
                    if moment is not None and (latest is None or moment > latest):
                        latest = moment
    return latest


def _instant(text: str) -> datetime | None:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def clock_mismatch(document: Mapping[str, Any], vendor: str, now: datetime) -> str | None:
    """Why a seed does not fit a clock standing at `now` (its events are later), or None."""
    latest = latest_instant(document, vendor)
    if latest is None or latest <= now:
        return None
    return (
        f"the {vendor} seed holds events up to {_iso(latest)}, after the fakes' clock "
        f"({_iso(now)}): its points and awards would be dated in the future; start the "
        f"clock at or after {_iso(latest)} (pytest: override the fake_start fixture)"
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def export_tenant(vendor: Vendor, tenant: Tenant[Any]) -> dict[str, Any]:
    """One tenant as seed-file data."""
    held = tenant.program
    program = vendor.core(held).snapshot()
    program["settings"]["name"] = tenant.name  # not a kept program's key (smile/<tenant>/<n>)
    return {
        "name": tenant.name,
        "credentials": [
            {"key": list(key) if isinstance(key, tuple) else key, "kind": kind}
            for key, kind in tenant.credentials.items()
        ],
        "rate_limited": tenant.rate_limited,
        "program": program,
        "extra": vendor.save_extra(held),
    }


def export_document(
    vendor: Vendor, registry: TenantRegistry[Any], names: Iterable[str] | None = None
) -> dict[str, Any]:
    """A seed document holding `names` (default: every tenant) of one vendor fake."""
    tenants = (
        registry.tenants() if names is None else [registry.tenant(name) for name in names]
    )
    return {
        "format": FORMAT,
        vendor.name: {"tenants": [export_tenant(vendor, t) for t in tenants]},
    }


def tenant_seeder(vendor: Vendor, data: Mapping[str, Any]) -> Any:
    """A registry seeder that rebuilds the tenant from its seed data (so a reset returns
    to exactly the seeded state)."""
    snapshot = data["program"]
    extra = data.get("extra") or {}

    def seed(tenant: Tenant[Any]) -> None:
        from loyaltykit import Program

        program: Program = Program.restore(snapshot, tenant.clock)
        tenant.program = vendor.load_extra(program, extra)

    return seed


@attrs.frozen
class _Prepared:
    """One tenant of a document, checked and built on its own clock, not yet installed."""

    name: str
    credentials: dict[Credential, str]
    rate_limited: bool
    clock: TenantClock
    held: Any
    seeder: Any


def _section(vendor: Vendor, document: Mapping[str, Any]) -> list[Any]:
    check_keys(document, ("format", *VENDORS), "the seed document")
    require(
        document.get("format") == FORMAT, f"not a seed file: format must be {FORMAT!r}"
    )
    section = document.get(vendor.name)
    if section is None:
        return []
    check_keys(section, ("tenants",), vendor.name)
    tenants = section.get("tenants")
    require(isinstance(tenants, list), f"{vendor.name}.tenants must be a list")
    return list(tenants)


def _snapshot(data: Any, where: str, tenant: str, now: datetime) -> dict[str, Any]:
    """The tenant's program snapshot with its settings checked and completed: a missing
    `started_at` is the first event's instant (or now, for an empty journal), a missing
    `name` the tenant's."""
    check_keys(data, SNAPSHOT_KEYS, where)
    require(data.get("format") == SNAPSHOT_FORMAT, f"{where}.format must be {SNAPSHOT_FORMAT!r}")
    settings = dict(check_keys(data.get("settings", {}), SETTINGS_KEYS, f"{where}.settings"))
    for key in SETTINGS_KEYS:
        value = settings.get(key)
        require(
            value is None or (isinstance(value, str) and len(value) <= MAX_CODE),
            f"{where}.settings.{key} must be a string of at most {MAX_CODE} characters",
        )
    journal = data.get("journal", [])
    require(isinstance(journal, list), f"{where}.journal must be a list")
    for index, event in enumerate(journal):
        require(
            isinstance(event, Mapping) and isinstance(event.get("type"), str),
            f"{where}.journal[{index}] must be an object with a type",
        )
    if settings.get("started_at") is None:
        first = journal[0].get("at") if journal else None
        settings["started_at"] = first if isinstance(first, str) else now.isoformat()
    settings.setdefault("name", tenant)
    return {"format": SNAPSHOT_FORMAT, "settings": settings, "journal": journal}


def _prepare(
    vendor: Vendor, registry: TenantRegistry[Any], data: Any, index: int
) -> tuple[_Prepared, dict[str, Any]]:
    """Check one tenant's data and build it on a scratch clock: replayed, its extra state
    loaded, audited, exported as strict JSON. Any failure is a `SeedError`."""
    where = f"{vendor.name}.tenants[{index}]"
    check_keys(data, TENANT_KEYS, where)
    name = data.get("name")
    require(
        isinstance(name, str) and 0 < len(name) <= MAX_CODE,
        f"{where}.name must be a string of 1 to {MAX_CODE} characters",
    )
    where = f"tenant {name!r}"
    credentials = read_credentials(data.get("credentials", []), f"{where}: credentials")
    for kind in credentials.values():
        require(
            kind in registry.credential_kinds,
            f"{where}: credential kinds are {', '.join(registry.credential_kinds)}, not {kind!r}",
        )
    rate_limited = data.get("rate_limited", False)
    require(isinstance(rate_limited, bool), f"{where}: rate_limited must be true or false")
    require("program" in data, f"{where} has no program snapshot")
    clock = TenantClock(registry.clock)
    snapshot = _snapshot(data["program"], f"{where}: program", name, clock.now())
    extra = data.get("extra")
    require(extra is None or isinstance(extra, Mapping), f"{where}: extra must be an object")
    completed = {**data, "program": snapshot, "extra": dict(extra or {})}
    held = _build(vendor, completed, clock, where)
    seeder = tenant_seeder(vendor, completed)
    return _Prepared(name, credentials, rate_limited, clock, held, seeder), completed


def _build(vendor: Vendor, data: Mapping[str, Any], clock: TenantClock, where: str) -> Any:
    from loyaltykit import Program, audit
    from loyaltykit.serialization import event_from_data

    snapshot = data["program"]
    for index, raw in enumerate(snapshot["journal"]):
        try:
            event = event_from_data(raw)
        except Exception as exc:  # the core's refusal of a malformed event
            raise SeedError(f"{where}: journal[{index}]: {_reason(exc)}") from None
        check_values(event, f"{where}: journal[{index}] ({raw['type']})")
    try:
        program = Program.restore(snapshot, clock)
    except Exception as exc:  # replay takes events as facts: any failure is the document's
        raise SeedError(f"{where}: the program cannot be replayed: {_reason(exc)}") from None
    try:
        held = vendor.load_extra(program, data["extra"])
    except (ValueError, TypeError, KeyError, LookupError) as exc:
        raise SeedError(f"{where}: extra: {_reason(exc)}") from None
    check_values(held, f"{where}: extra")
    broken = audit(program)
    require(not broken, f"{where}: the journal does not add up: {broken[0]}" if broken else "")
    try:
        program.state()
        strictjson.dumps(vendor.save_extra(held))
    except Exception as exc:  # what a later read or export would meet
        raise SeedError(f"{where}: the tenant could not be read back: {_reason(exc)}") from None
    return held


def _reason(exc: BaseException) -> str:
    message = str(exc) or type(exc).__name__
    return message if len(message) <= 500 else message[:500] + "..."


def load_document(
    vendor: Vendor, registry: TenantRegistry[Any], document: Mapping[str, Any]
) -> list[str]:
    """Create (or replace) the document's tenants of this vendor; returns their names.

    All or nothing: the whole document is checked and every tenant built first
    (`SeedError` otherwise, with nothing changed); then they are installed at once. A
    tenant that already exists is replaced by the document's (its seeder too, so a later
    reset returns to the document's state) and keeps its credentials besides the
    document's; a credential may not move from one tenant to another.
    """
    prepared: list[_Prepared] = []
    names: set[str] = set()
    owners: dict[Credential, str] = {}
    for index, data in enumerate(_section(vendor, document)):
        tenant, _ = _prepare(vendor, registry, data, index)
        require(tenant.name not in names, f"tenant {tenant.name!r} appears twice")
        names.add(tenant.name)
        for credential in tenant.credentials:
            other = owners.setdefault(credential, tenant.name)
            require(other == tenant.name, f"tenants {other!r} and {tenant.name!r} share a key")
            found = registry.authenticate(credential)
            require(
                found is None or found[0].name == tenant.name,
                f"tenant {tenant.name!r}: a key already belongs to tenant "
                f"{found[0].name if found else ''!r}",
            )
        prepared.append(tenant)
    registry.install(
        [
            Tenant(t.name, t.held, t.clock, dict(t.credentials), t.seeder, t.rate_limited)
            for t in prepared
        ]
    )
    return [t.name for t in prepared]


def read_seed_file(path: str | Path) -> dict[str, Any]:
    """A seed document from a file, read strictly (no NaN, at most `SEED_DEPTH` levels)."""
    try:
        document = strictjson.loads(Path(path).read_bytes(), max_depth=SEED_DEPTH)
    except (OSError, strictjson.JSONRefused) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SeedError(f"{path}: not a seed file (format must be {FORMAT!r})")
    return document


def write_seed_file(path: str | Path, document: Mapping[str, Any]) -> None:
    Path(path).write_text(strictjson.encoder(indent=1, sort_keys=True).encode(document) + "\n",
                          "utf-8")


def core_program(vendor: Vendor, tenant: Tenant[Any]) -> Program:
    return vendor.core(tenant.program)
