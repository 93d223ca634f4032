"""Persistent fakes: every tenant of both fakes, and their clock, kept in `DIR/fakes.db`.

`python -m fakeservers --data-dir DIR` (or `Fake(vendor, data.clock(), data=data)` from
Python) keeps, across restarts:

- each tenant's core program as a durable loyaltykit program in the file (named
  `<vendor>/<tenant>/<n>`; `n` changes when a reset rebuilds it): every command is
  committed before the request that ran it answers;
- the tenant's credentials, rate-limit switch and what a reset rebuilds it from (its
  seeder: the vendor's demo, the seed file it was loaded from, or nothing);
- the vendor's own records (Smile's activities and customer identities), each written when
  the request that stored it has run its core command;
- the shared clock's offset from wall time, written when the clock is set or advanced.

A tenant is built and seeded in memory, then copied into the file in one transaction
(`loyaltykit.durable.copy_program`) before anyone sees it; a reset builds the new program
aside, switches the tenant's row to it, then deletes the old one. Kept out: the request
journal, armed faults and rate-limit buckets (a restart clears them).

A crash (even `kill -9`) loses no request that was answered. One that hits between a
request's core commit and the write of its Smile record loses that record (the points or
customer it produced stay): a retry of the request with the same `distinct_id` records it
again without awarding twice. A crash inside a reset keeps the tenant as it was before.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import quote

from fakeservers._http import (
    Clock,
    Credential,
    OffsetClock,
    Seeder,
    Tenant,
    TenantClock,
    TenantKeeper,
    TenantRegistry,
)
from fakeservers.toolkit import seedfile
from fakeservers.toolkit.datafile import DataDirError, DataFile, TenantRow, canonical
from fakeservers.toolkit.vendors import VENDORS, Vendor
from loyaltykit import Program, SystemClock
from loyaltykit.durable import copy_program
from loyaltykit.errors import LoyaltyError
from loyaltykit.serialization import converter
from loyaltykit.stores import Store, open_store

__all__ = ["DataDir", "DataDirError"]

CLOCK_OFFSET = "clock_offset_us"
FILLED = "filled:{}"
"""Meta key marking a vendor's tenants as kept (reopened, never re-seeded, from then on)."""


class DataDir:
    """A folder keeping the fakes' tenants and clock (see the module docstring).

    `DataDir.open(folder)` creates the folder and its `fakes.db` if needed and refuses one
    it cannot use (`DataDirError`). Give every fake the same `clock()` and the data dir:
    `Fake(vendor, data.clock(), data=data)`. A vendor already kept in the folder is
    reopened as it was (its demo or seed is not loaded again). `close()` (or `with`) closes
    the file; every change was already written when it returned.
    """

    def __init__(self, file: DataFile, store: Store) -> None:
        self._file = file
        self._store = store
        self._lock = threading.RLock()
        self._programs: dict[str, Program] = {}
        self._clock: OffsetClock | None = None
        self._closed = False
        self._generation = _last_generation(store.programs())

    @classmethod
    def open(cls, folder: str | Path) -> DataDir:
        file = DataFile(Path(folder))
        try:
            store = open_store(_url(file.path))
        except LoyaltyError as exc:
            file.close()
            raise DataDirError(f"{file.path}: {exc}") from None
        data = cls(file, store)
        try:
            data._drop_orphans()
        except BaseException:
            data.close()
            raise
        return data

    @property
    def folder(self) -> Path:
        return self._file.folder

    @property
    def path(self) -> Path:
        """The SQLite file everything lives in."""
        return self._file.path

    @property
    def url(self) -> str:
        return _url(self._file.path)

    def clock(self, base: Clock | None = None) -> OffsetClock:
        """The fakes' shared clock: wall time (`base`) plus the offset kept in the file,
        which every `set` and `advance` writes. One clock per data dir (`base` counts
        only the first time)."""
        with self._lock:
            if self._clock is None:
                stored = self._file.meta(CLOCK_OFFSET)
                offset = timedelta(microseconds=int(stored)) if stored else timedelta(0)
                self._clock = OffsetClock(
                    base if base is not None else SystemClock(), offset, self._save_offset
                )
            return self._clock

    def _save_offset(self, offset: timedelta) -> None:
        self._file.set_meta(CLOCK_OFFSET, str(offset // timedelta(microseconds=1)))

    def holds(self, vendor: str) -> bool:
        """Whether the vendor's tenants are kept here (a new data dir holds none)."""
        return self._file.meta(FILLED.format(vendor)) is not None

    def attach(
        self,
        vendor: Vendor,
        registry: TenantRegistry[Any],
        seeders: Mapping[str, Seeder[Any]] | None = None,
    ) -> list[str]:
        """Keep a fake's tenants here from now on; returns their names.

        If the vendor is kept here already, the registry must be empty: the kept tenants
        are reopened into it. Otherwise the tenants it holds (its demo, a seed) are copied
        in. `seeders` are the fake's named seeders (its control plane's, e.g. "demo"): a
        tenant seeded by one is rebuilt by it on reset, after a restart too.
        """
        named = dict(seeders or {})
        with self._lock:
            self._check_open()
            keeper = _Keeper(self, vendor, named)
            if self.holds(vendor.name):
                if registry.tenants():
                    raise ValueError(
                        f"the {vendor.name} tenants are kept in {self.path}: attach them to "
                        "an empty registry (a fake built with demo=False and no seed)"
                    )
                for row in self._file.tenants(vendor.name):
                    registry.add(keeper.reopen(row, registry))
            else:
                self._file.delete_vendor(vendor.name)  # rows of an interrupted first fill
                for tenant in registry.tenants():
                    keeper.seeded(tenant, None)
                self._file.set_meta(FILLED.format(vendor.name), "1")
            registry.keeper = keeper
            return [tenant.name for tenant in registry.tenants()]

    def close(self) -> None:
        """Close every kept program and the file. Safe to call twice."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                for program in self._programs.values():
                    program.close()
                self._programs.clear()
                self._store.close()
            finally:
                self._file.close()

    def __enter__(self) -> DataDir:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- programs ----------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise DataDirError(f"the data dir {self.folder} is closed")

    def _copy(self, vendor: str, tenant: Tenant[Any], core: Program) -> Program:
        """`core` copied into the file as the tenant's next program."""
        with self._lock:
            self._check_open()
            self._generation += 1
            name = f"{vendor}/{tenant.name}/{self._generation}"
            program = copy_program(core, self.url, name=name, clock=tenant.clock)
            self._programs[name] = program
            return program

    def _open(self, name: str, clock: Clock) -> Program:
        with self._lock:
            self._check_open()
            try:
                program = Program.open(self.url, name=name, clock=clock)
            except LoyaltyError as exc:
                raise DataDirError(f"{self.path}: cannot reopen {name!r}: {exc}") from None
            self._programs[name] = program
            return program

    def _drop(self, program: Program) -> None:
        """Close a program that nobody is given any more and delete it from the file."""
        with self._lock:
            if self._programs.pop(program.name, None) is not None:
                program.close()
            self._store.delete_program(program.name)

    def _drop_orphans(self) -> None:
        """Delete the programs no tenant names (left by a crash inside a create or reset)."""
        used = {row.program for row in self._file.tenants()}
        for name in self._store.programs():
            if name.split("/", 1)[0] in VENDORS and name not in used:
                self._store.delete_program(name)


class _Keeper(TenantKeeper[Any]):
    """One vendor fake's registry, kept in a data dir."""

    def __init__(self, data: DataDir, vendor: Vendor, seeders: dict[str, Seeder[Any]]) -> None:
        self.data = data
        self.vendor = vendor
        self.seeders = seeders
        self.file = data._file

    # -- the registry's changes ----------------------------------------------------------

    def seeded(self, tenant: Tenant[Any], replacing: Tenant[Any] | None) -> None:
        vendor = self.vendor
        held = tenant.program
        extra = vendor.save_extra(held)
        reset_to = self._reset_target(tenant, held, extra)
        program = self.data._copy(vendor.name, tenant, vendor.core(held))
        try:
            if replacing is None:
                self.file.insert_tenant(
                    vendor.name, tenant.name, program.name, _credentials(tenant),
                    tenant.rate_limited, reset_to, extra,
                )  # fmt: skip
            else:
                self.file.rebuild_tenant(vendor.name, tenant.name, program.name, reset_to, extra)
        except BaseException:
            self.data._drop(program)
            raise
        tenant.program = vendor.load_extra(program, extra)
        vendor.watch(tenant.program, self._listener(program.name))

    def retired(self, program: Any) -> None:
        self.vendor.watch(program, None)
        self.data._drop(self.vendor.core(program))

    def changed(self, tenant: Tenant[Any]) -> None:
        self.file.update_settings(
            self.vendor.name, tenant.name, _credentials(tenant), tenant.rate_limited
        )

    def removed(self, tenant: Tenant[Any]) -> None:
        self.file.delete_tenant(self.vendor.name, tenant.name)
        self.retired(tenant.program)

    # -- reopening -----------------------------------------------------------------------

    def reopen(self, row: TenantRow, registry: TenantRegistry[Any]) -> Tenant[Any]:
        """A kept tenant as it was: its program, records, credentials and settings."""
        vendor = self.vendor
        clock = TenantClock(registry.clock)
        program = self.data._open(row.program, clock)
        records = self.file.records(row.id)
        held = vendor.load_extra(program, _with_records(row.extra, records))
        if records:  # fold them into `extra`, so they never pile up
            self.file.rebuild_tenant(
                vendor.name, row.name, row.program, row.reset_to, vendor.save_extra(held)
            )
        vendor.watch(held, self._listener(row.program))
        return Tenant(
            row.name, held, clock, _credentials_from(row.credentials),
            self._seeder(row), row.rate_limited,
        )  # fmt: skip

    def _reset_target(self, tenant: Tenant[Any], held: Any, extra: dict[str, Any]) -> Any:
        """What a reset rebuilds the tenant from, as it is kept: nothing (None), a named
        seeder, or the seeded tenant itself (a seed file's, or a seeder without a name)."""
        if tenant.seeder is None:
            return None
        for name, seeder in self.seeders.items():
            if seeder is tenant.seeder:
                return {"seeder": name}
        snapshot = self.vendor.core(held).snapshot()
        snapshot["settings"]["name"] = tenant.name
        return {"program": snapshot, "extra": extra}

    def _seeder(self, row: TenantRow) -> Seeder[Any] | None:
        target = row.reset_to
        if target is None:
            return None
        if "seeder" in target:
            try:
                return self.seeders[target["seeder"]]
            except KeyError:
                raise DataDirError(
                    f"{row.vendor} tenant {row.name!r} is reset by seeder "
                    f"{target['seeder']!r}, which this fake does not have"
                ) from None
        seeder: Seeder[Any] = seedfile.tenant_seeder(self.vendor, target)
        return seeder

    def _listener(self, program: str) -> Callable[[str, Any, Any], None]:
        put = self.file.put_record
        unstructure = converter.unstructure

        def stored(field: str, key: Any, value: Any) -> None:
            put(
                program,
                field,
                canonical(unstructure(key)),
                json.dumps(unstructure(value)),
            )

        return stored


def _credentials(tenant: Tenant[Any]) -> list[dict[str, Any]]:
    return [
        {"key": list(key) if isinstance(key, tuple) else key, "kind": kind}
        for key, kind in tenant.credentials.items()
    ]


def _credentials_from(kept: list[dict[str, Any]]) -> dict[Credential, str]:
    found: dict[Credential, str] = {}
    for item in kept:
        key = item["key"]
        found[tuple(key) if isinstance(key, list) else str(key)] = str(item["kind"])
    return found


def _with_records(extra: dict[str, Any], records: list[tuple[str, str, str]]) -> dict[str, Any]:
    """A seed file's `extra` with the records stored since laid over it: each replaces the
    entry with its key in its field's [key, value] pairs, or is added after them."""
    merged = dict(extra)
    fields: dict[str, dict[str, tuple[Any, Any]]] = {}
    for field, key, value in records:
        entries = fields.get(field)
        if entries is None:
            entries = fields[field] = {
                canonical(k): (k, v) for k, v in _pairs(merged.get(field))
            }
        entries[key] = (json.loads(key), json.loads(value))
    for field, entries in fields.items():
        merged[field] = [list(pair) for pair in entries.values()]
    return merged


def _pairs(pairs: Any) -> Iterator[tuple[Any, Any]]:
    """The [key, value] pairs of a seed file's dict field (anything else: none)."""
    if isinstance(pairs, list):
        for pair in pairs:
            if isinstance(pair, list) and len(pair) == 2:
                yield pair[0], pair[1]


def _last_generation(names: list[str]) -> int:
    """The highest `n` of the `<vendor>/<tenant>/<n>` programs in the file (0: none)."""
    found = 0
    for name in names:
        tail = name.rsplit("/", 1)[-1]
        if name.split("/", 1)[0] in VENDORS and tail.isdigit():
            found = max(found, int(tail))
    return found


def _url(path: Path) -> str:
    return f"sqlite:///{quote(str(path.resolve()))}?synchronous=normal"
