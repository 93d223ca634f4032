"""The fakes' own tables in a data dir's SQLite file, beside loyaltykit's.

loyaltykit keeps each tenant's core program (`loyaltykit_*` tables, one durable program per
tenant); these tables keep the rest of a tenant and the fakes' clock:

- `fakeservers_meta`: the schema version, the clock's offset, which vendors were filled;
- `fakeservers_tenants`: one row per tenant: vendor, name, the name of its core program,
  credentials, rate-limit switch, what a reset rebuilds it from, and the vendor's own
  records (`extra`, as in a seed file) as of its last seeding;
- `fakeservers_records`: the vendor's records stored since (one row per record, replaced
  when the record changes), laid over `extra` when the tenant is reopened.

Every write is its own transaction. `DataFile` is one connection shared by the threads of
one process under a lock; the lock file next to the database keeps a second process out.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any, NamedTuple

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no lock against a second process
    fcntl = None  # type: ignore[assignment]

__all__ = ["DATABASE", "SCHEMA_VERSION", "DataDirError", "DataFile", "TenantRow", "canonical"]

DATABASE = "fakes.db"
LOCK_FILE = "fakes.lock"
SCHEMA_VERSION = 1
"""The version of the `fakeservers_*` tables this code writes; a newer file is refused."""
SYNCHRONOUS = "normal"
"""WAL with synchronous=NORMAL: a commit survives the process being killed at any moment;
a power cut or OS crash may lose the last commits (never half of one)."""
BUSY_TIMEOUT = 30.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS fakeservers_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS fakeservers_tenants (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    vendor TEXT NOT NULL,
    name TEXT NOT NULL,
    program TEXT NOT NULL UNIQUE,
    credentials TEXT NOT NULL,
    rate_limited INTEGER NOT NULL,
    reset_to TEXT NOT NULL,
    extra TEXT NOT NULL,
    UNIQUE (vendor, name)
);
CREATE TABLE IF NOT EXISTS fakeservers_records (
    tenant_id INTEGER NOT NULL REFERENCES fakeservers_tenants (id) ON DELETE CASCADE,
    field TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (tenant_id, field, key)
);
"""


class DataDirError(Exception):
    """A data dir that cannot be used: not writable, in use by another process, written
    by a newer version, or not a database."""


class TenantRow(NamedTuple):
    id: int
    vendor: str
    name: str
    program: str
    credentials: list[dict[str, Any]]
    rate_limited: bool
    reset_to: Any
    extra: dict[str, Any]


def canonical(value: Any) -> str:
    """The one JSON text of `value` (sorted keys, no spaces): record keys compare as text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class DataFile:
    """The data dir's lock and its `fakeservers_*` tables (see the module docstring)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / DATABASE
        self._lock = threading.RLock()
        self._lockfile = _lock_folder(folder)
        try:
            self._db = self._connect()
        except BaseException:
            self._lockfile.close()
            raise

    def _connect(self) -> sqlite3.Connection:
        db: sqlite3.Connection | None = None
        try:
            db = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={SYNCHRONOUS}")
            db.execute("PRAGMA foreign_keys=ON")
            _create_schema(db)
        except sqlite3.Error as exc:
            if db is not None:
                db.close()
            raise DataDirError(f"{self.path} is not a usable fakes data file: {exc}") from None
        except BaseException:
            if db is not None:
                db.close()
            raise
        return db

    def close(self) -> None:
        with self._lock:
            self._db.close()
            self._lockfile.close()

    # -- meta --------------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM fakeservers_meta WHERE key = ?", (key,)
            ).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO fakeservers_meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    # -- tenants -----------------------------------------------------------------------

    def tenants(self, vendor: str | None = None) -> list[TenantRow]:
        """The kept tenants (of one vendor), in the order they were created."""
        query = (
            "SELECT id, vendor, name, program, credentials, rate_limited, reset_to, extra "
            "FROM fakeservers_tenants"
        )
        where, values = (" WHERE vendor = ?", (vendor,)) if vendor is not None else ("", ())
        with self._lock:
            rows = self._db.execute(query + where + " ORDER BY id", values).fetchall()
        return [
            TenantRow(
                int(r[0]), r[1], r[2], r[3], json.loads(r[4]), bool(r[5]),
                json.loads(r[6]), json.loads(r[7]),
            )
            for r in rows
        ]  # fmt: skip

    def insert_tenant(
        self,
        vendor: str,
        name: str,
        program: str,
        credentials: list[dict[str, Any]],
        rate_limited: bool,
        reset_to: Any,
        extra: Mapping[str, Any],
    ) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO fakeservers_tenants "
                "(vendor, name, program, credentials, rate_limited, reset_to, extra) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (vendor, name, program, json.dumps(credentials), int(rate_limited),
                 json.dumps(reset_to), json.dumps(extra)),
            )  # fmt: skip

    def rebuild_tenant(
        self, vendor: str, name: str, program: str, reset_to: Any, extra: Mapping[str, Any]
    ) -> None:
        """A reset (or a record compaction): the tenant's new program and records."""
        with self._lock, self._transaction() as db:
            tenant_id = self._tenant_id(db, vendor, name)
            db.execute(
                "UPDATE fakeservers_tenants SET program = ?, reset_to = ?, extra = ? "
                "WHERE id = ?",
                (program, json.dumps(reset_to), json.dumps(extra), tenant_id),
            )
            db.execute("DELETE FROM fakeservers_records WHERE tenant_id = ?", (tenant_id,))

    def update_settings(
        self, vendor: str, name: str, credentials: list[dict[str, Any]], rate_limited: bool
    ) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE fakeservers_tenants SET credentials = ?, rate_limited = ? "
                "WHERE vendor = ? AND name = ?",
                (json.dumps(credentials), int(rate_limited), vendor, name),
            )

    def delete_tenant(self, vendor: str, name: str) -> None:
        with self._lock:
            self._db.execute(
                "DELETE FROM fakeservers_tenants WHERE vendor = ? AND name = ?", (vendor, name)
            )

    def delete_vendor(self, vendor: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM fakeservers_tenants WHERE vendor = ?", (vendor,))

    # -- records -----------------------------------------------------------------------

    def put_record(self, program: str, field: str, key: str, value: str) -> None:
        """Store one record of the tenant whose core program is `program` (nothing if the
        tenant was reset or removed since: the record belonged to the old program)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO fakeservers_records (tenant_id, field, key, value) "
                "SELECT id, ?, ?, ? FROM fakeservers_tenants WHERE program = ? "
                "ON CONFLICT (tenant_id, field, key) DO UPDATE SET value = excluded.value",
                (field, key, value, program),
            )

    def records(self, tenant_id: int) -> list[tuple[str, str, str]]:
        """(field, key, value) of the tenant's records, oldest first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT field, key, value FROM fakeservers_records WHERE tenant_id = ? "
                "ORDER BY rowid",
                (tenant_id,),
            ).fetchall()
        return [(str(f), str(k), str(v)) for f, k, v in rows]

    # -- helpers -----------------------------------------------------------------------

    def _tenant_id(self, db: sqlite3.Connection, vendor: str, name: str) -> int:
        row = db.execute(
            "SELECT id FROM fakeservers_tenants WHERE vendor = ? AND name = ?", (vendor, name)
        ).fetchone()
        if row is None:
            raise DataDirError(f"no kept {vendor} tenant named {name!r}")
        return int(row[0])

    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    """`BEGIN IMMEDIATE` ... `COMMIT`, rolled back on any exception."""

    __slots__ = ("_db",)

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> sqlite3.Connection:
        self._db.execute("BEGIN IMMEDIATE")
        return self._db

    def __exit__(self, kind: type[BaseException] | None, exc: object, tb: object) -> None:
        if kind is None:
            self._db.execute("COMMIT")
        elif self._db.in_transaction:
            self._db.execute("ROLLBACK")


def _create_schema(db: sqlite3.Connection) -> None:
    with _Transaction(db):
        for statement in _SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        row = db.execute(
            "SELECT value FROM fakeservers_meta WHERE key = 'schema_version'"
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO fakeservers_meta (key, value) VALUES ('schema_version', ?)",
                (str(SCHEMA_VERSION),),
            )
        elif int(row[0]) > SCHEMA_VERSION:
            raise DataDirError(
                f"the data dir was written by a newer fakeservers (its tables are version "
                f"{row[0]}; this one knows up to {SCHEMA_VERSION}): upgrade loyaltykit"
            )


def _lock_folder(folder: Path) -> IO[str]:
    """Create the folder if needed and take its lock file (a second process using the same
    data dir would keep its own copy of every tenant in memory and overwrite the other's)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle = open(folder / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise DataDirError(f"cannot use {folder} as the data dir: {exc.strerror or exc}") from None
    if fcntl is None:  # pragma: no cover
        return handle
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        handle.seek(0)
        holder = handle.read().strip() or "another process"
        handle.close()
        raise DataDirError(
            f"the data dir {folder} is in use by another fakes server (pid {holder})"
        ) from None
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle

