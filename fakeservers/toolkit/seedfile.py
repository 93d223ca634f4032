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

import json
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fakeservers._http import Credential, Tenant, TenantRegistry
from fakeservers.toolkit.vendors import Vendor

if TYPE_CHECKING:
    from loyaltykit import Program

__all__ = [
    "FORMAT",
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


class SeedError(ValueError):
    """The document is not a usable seed file."""


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


def _credentials(data: Mapping[str, Any]) -> dict[Credential, str]:
    raw = data.get("credentials", [])
    if not isinstance(raw, list):
        raise SeedError("credentials must be a list")
    result: dict[Credential, str] = {}
    for item in raw:
        entry = item if isinstance(item, Mapping) else {"key": item}
        key = entry.get("key")
        if isinstance(key, list) and key and all(isinstance(k, str) for k in key):
            credential: Credential = tuple(key)
        elif isinstance(key, str) and key:
            credential = key
        else:
            raise SeedError(f"bad credential key {key!r}")
        result[credential] = str(entry.get("kind") or "secret")
    return result


def _tenants(vendor: Vendor, document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if document.get("format") != FORMAT:
        raise SeedError(f"not a seed file: format must be {FORMAT!r}")
    section = document.get(vendor.name)
    if section is None:
        return []
    tenants = section.get("tenants") if isinstance(section, Mapping) else None
    if not isinstance(tenants, list):
        raise SeedError(f"{vendor.name}.tenants must be a list")
    for data in tenants:
        if not isinstance(data, Mapping) or not isinstance(data.get("name"), str):
            raise SeedError("every tenant needs a name")
        if not isinstance(data.get("program"), Mapping):
            raise SeedError(f"tenant {data.get('name')!r} has no program snapshot")
    return tenants


def load_document(
    vendor: Vendor, registry: TenantRegistry[Any], document: Mapping[str, Any]
) -> list[str]:
    """Create (or replace) the document's tenants of this vendor; returns their names.

    A tenant that already exists is rebuilt from the document (its seeder replaced, so a
    later reset returns to the document's state) and gains the document's credentials.
    """
    names = []
    for data in _tenants(vendor, document):
        name = data["name"]
        credentials = _credentials(data)
        seeder = tenant_seeder(vendor, data)
        rate_limited = bool(data.get("rate_limited", False))
        existing = {t.name: t for t in registry.tenants()}.get(name)
        if existing is None:
            registry.create(name, credentials, seeder=seeder, rate_limited=rate_limited)
        else:
            existing.seeder = seeder
            registry.reset(name)
            for credential, kind in credentials.items():
                if credential not in existing.credentials:
                    registry.add_credential(name, credential, kind)
            registry.set_rate_limited(name, rate_limited)
        names.append(name)
    return names


def read_seed_file(path: str | Path) -> dict[str, Any]:
    try:
        document = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise SeedError(f"cannot read seed file {path}: {exc}") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SeedError(f"{path}: not a seed file (format must be {FORMAT!r})")
    return document


def write_seed_file(path: str | Path, document: Mapping[str, Any]) -> None:
    Path(path).write_text(json.dumps(document, indent=1, sort_keys=True) + "\n", "utf-8")


def core_program(vendor: Vendor, tenant: Tenant[Any]) -> Program:
    return vendor.core(tenant.program)
