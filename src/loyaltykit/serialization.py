"""Snapshot, restore and state documents: the program as JSON-safe data, through cattrs.

A snapshot is the program's settings plus its journal; restoring replays the journal, so
a restored program is the same program (same ids, balances, lots, tiers, codes).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from decimal import Decimal
from typing import TYPE_CHECKING, Any, get_type_hints
from zoneinfo import ZoneInfo

import cattrs

from loyaltykit.clock import Clock
from loyaltykit.errors import InvalidArgument
from loyaltykit.events import EVENT_TYPES
from loyaltykit.ledger import Transaction, from_row
from loyaltykit.metadata import FrozenDict, FrozenList
from loyaltykit.orders import ClawbackPolicy

if TYPE_CHECKING:
    from loyaltykit._kernel import ProgramKernel
    from loyaltykit.program import Program
    from loyaltykit.state import State

__all__ = [
    "FORMAT",
    "converter",
    "event_from_data",
    "event_to_data",
    "restore",
    "snapshot",
    "state_document",
]

FORMAT = "loyaltykit.snapshot/1"

converter = cattrs.Converter()
converter.register_unstructure_hook(Decimal, str)
# Frozen metadata is written out as plain, changeable JSON data (a document is the caller's).
converter.register_unstructure_hook(
    FrozenDict, lambda d: {key: converter.unstructure(value) for key, value in d.items()}
)
converter.register_unstructure_hook(
    FrozenList, lambda items: [converter.unstructure(i) for i in items]
)
converter.register_structure_hook(Decimal, lambda value, _: Decimal(str(value)))
converter.register_unstructure_hook(datetime, lambda d: d.isoformat())
converter.register_structure_hook(
    datetime, lambda value, _: datetime.fromisoformat(value).astimezone(UTC)
)
converter.register_unstructure_hook(date, lambda d: d.isoformat())
converter.register_structure_hook(date, lambda value, _: date.fromisoformat(value))
converter.register_unstructure_hook(timedelta, lambda d: d // timedelta(microseconds=1))
converter.register_structure_hook(timedelta, lambda value, _: timedelta(microseconds=int(value)))

_TXN_TYPES = get_type_hints(Transaction)


def _txn_to_data(txn: Transaction) -> dict[str, Any]:
    return {
        name: converter.unstructure(value) for name, value in zip(txn._fields, txn, strict=True)
    }


def _txn_from_data(data: Mapping[str, Any], _: object = None) -> Transaction:
    return Transaction(
        **{name: converter.structure(value, _TXN_TYPES[name]) for name, value in data.items()}
    )


converter.register_unstructure_hook(Transaction, _txn_to_data)
converter.register_structure_hook(Transaction, _txn_from_data)

_BY_NAME: dict[str, type] = {cls.__name__: cls for cls in EVENT_TYPES}


def event_to_data(event: object) -> dict[str, Any]:
    """One journal event as a JSON-safe dict tagged with its type."""
    data: dict[str, Any] = converter.unstructure(event)
    return {"type": type(event).__name__, **data}


def event_from_data(data: Mapping[str, Any]) -> object:
    body = dict(data)
    name = body.pop("type", None)
    cls = _BY_NAME.get(str(name))
    if cls is None:
        raise InvalidArgument("type", f"unknown event type {name!r}")
    try:
        return converter.structure(body, cls)
    except (cattrs.BaseValidationError, KeyError, TypeError, ValueError) as exc:
        raise InvalidArgument("journal", f"malformed {name} event: {exc}") from None


def zone_to_data(zone: tzinfo) -> str:
    """An IANA zone by its key, a fixed offset as "+HH:MM", UTC as "UTC"."""
    key = getattr(zone, "key", None)
    if isinstance(key, str):
        return key
    offset = zone.utcoffset(None)
    if offset is None or offset == timedelta(0):
        return "UTC"
    sign = "-" if offset < timedelta(0) else "+"
    minutes = abs(offset) // timedelta(minutes=1)
    return f"{sign}{minutes // 60:02d}:{minutes % 60:02d}"


def zone_from_data(name: str) -> tzinfo:
    if not isinstance(name, str):
        raise InvalidArgument("timezone", f"a timezone is a name, got {type(name).__name__}")
    if name == "UTC":
        return UTC
    if name[:1] in "+-" and len(name) == 6:
        try:
            if name[3] != ":" or not (name[1:3] + name[4:6]).isdigit():
                raise ValueError(name)
            offset = timedelta(hours=int(name[1:3]), minutes=int(name[4:6]))
            return timezone(-offset if name[0] == "-" else offset)
        except ValueError:  # "+ab:cd", or an offset of a day or more
            raise InvalidArgument("timezone", f"unknown timezone {name!r}") from None
    try:
        return ZoneInfo(name)
    except (ValueError, KeyError, OSError) as exc:
        raise InvalidArgument("timezone", f"unknown timezone {name!r}") from exc


def snapshot(program: ProgramKernel) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "settings": {
            "name": program.name,
            "clawback": str(program.clawback),
            "timezone": zone_to_data(program.timezone),
            "started_at": program.started_at.isoformat(),
        },
        "journal": [event_to_data(e) for e in program.journal()],
    }


def restore(document: Mapping[str, Any], clock: Clock | None = None) -> Program:
    """Any document is checked before anything is built: a malformed one raises
    `InvalidArgument` naming what is wrong. Settings left out take their defaults, and a
    missing `started_at` is the first event's instant (the clock's now for an empty
    journal), as the fakes' seed files have it."""
    from loyaltykit.program import Program

    if not isinstance(document, Mapping):
        raise InvalidArgument("document", f"a snapshot is a mapping, got {type(document).__name__}")
    if document.get("format") != FORMAT:
        raise InvalidArgument("format", f"not a loyaltykit snapshot: {document.get('format')!r}")
    settings = document.get("settings", {})
    if not isinstance(settings, Mapping):
        raise InvalidArgument("settings", "settings must be a mapping")
    journal = document.get("journal", [])
    if not isinstance(journal, list):
        raise InvalidArgument("journal", "journal must be a list")
    for index, data in enumerate(journal):
        if not isinstance(data, Mapping):
            raise InvalidArgument("journal", f"journal[{index}] must be a mapping (an event)")
    zone = zone_from_data(_setting(settings, "timezone", "UTC"))
    clawback_name = _setting(settings, "clawback", ClawbackPolicy.NEGATIVE_BALANCE.value)
    try:
        clawback = ClawbackPolicy(clawback_name)
    except ValueError:
        choices = ", ".join(p.value for p in ClawbackPolicy)
        raise InvalidArgument(
            "clawback", f"clawback must be one of {choices}, got {clawback_name!r}"
        ) from None
    started: str | None = _setting(settings, "started_at", "") or None
    if started is None and journal and isinstance(journal[0].get("at"), str):
        started = journal[0]["at"]
    started_at = None
    if started is not None:
        try:
            started_at = datetime.fromisoformat(started)
        except ValueError:
            raise InvalidArgument(
                "started_at", f"started_at must be an ISO 8601 instant, got {started!r}"
            ) from None
    events = [event_from_data(e) for e in journal]
    return Program.replay(
        events,
        clock,
        name=_setting(settings, "name", ""),
        clawback=clawback,
        timezone=zone,
        started_at=started_at,
    )


def _setting(settings: Mapping[str, Any], key: str, default: str) -> str:
    value = settings.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidArgument(key, f"settings.{key} must be a string, got {type(value).__name__}")
    return value


def state_document(state: State) -> dict[str, Any]:
    """Everything a program knows now, as plain data, for comparison and inspection."""
    u = converter.unstructure
    members = {}
    for member_id, account in state.accounts.items():
        members[str(member_id)] = {
            "profile": u(state.profiles[member_id]),
            "available": account.available,
            "pending": account.pending,
            "earned": account.earned,
            "spent": account.spent,
            "expired": account.expired,
            "clawed_back": account.clawed_back,
            "debt": account.debt,
            "written_off": account.written_off,
            "amount_spent": str(account.amount_spent),
            "lots": [[lot_id, state.remaining[lot_id]] for lot_id in account.lot_ids()],
            "tiers": {str(k): t for k, t in account.tiers.items()},
            "tier_floors": {str(k): t for k, t in account.tier_floors.items()},
            "metrics": {str(k): [u(p), str(val)] for k, (p, val) in account.metrics.items()},
            "award_times": {str(k): [u(t) for t in ts] for k, ts in account.award_times.items()},
        }
    return {
        "members": members,
        "transactions": [u(from_row(row)) for row in state.txns],
        "expired_of": {str(k): n for k, n in state.expired_of.items()},
        "rules": [u(r) for r in state.rules.values()],
        "offers": [u(o) for o in state.offers.values()],
        "pools": [
            {"pool": u(p.pool), "available": list(p.available), "issued": sorted(p.issued)}
            for p in state.pools.values()
        ],
        "tracks": [u(t) for t in state.tracks.values()],
        "tiers": [u(t) for t in state.tiers.values()],
        "tier_changes": [u(c) for c in state.tier_changes],
        "fulfillments": [u(f) for f in state.fulfillments.values()],
        "orders": [u(o) for o in state.orders.values()],
        "referrals": [u(r) for r in state.referrals.values()],
        "referral_rewards": u(state.referral_rewards),
        "keys": {k: list(v) for k, v in state.keys.items()},
        "counters": dict(state.counters),
    }
