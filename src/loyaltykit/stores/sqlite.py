"""The embedded store: one SQLite file (standard-library sqlite3) in WAL mode.

Writers of a program are serialised by `BEGIN IMMEDIATE`, which takes SQLite's single
write lock at once (a deferred transaction would find out about a competing writer only at
its first write, after the command already ran). The lock covers the whole file, so
programs sharing a file share its write throughput; give busy programs a file each.
WAL lets readers of other processes go on while one process writes. `PRAGMA data_version`
tells, without reading a table, whether another connection committed since the last look,
so a read that finds nothing new costs one pragma.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from loyaltykit.errors import InvalidArgument, StoreError
from loyaltykit.stores.base import (
    SCHEMA_VERSION,
    ProgramRecord,
    Snapshot,
    Store,
    check_schema_version,
    settings_from_text,
    settings_text,
)

__all__ = ["SQLiteStore"]

SYNCHRONOUS = ("full", "normal", "extra")
"""`synchronous` settings accepted in the URL (`off` would lose committed commands)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS loyaltykit_meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS loyaltykit_programs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL UNIQUE,
    settings TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS loyaltykit_events (
    program_id INTEGER NOT NULL REFERENCES loyaltykit_programs (id),
    seq INTEGER NOT NULL,
    type TEXT NOT NULL,
    body TEXT NOT NULL,
    recorded_at TEXT NOT NULL,
    PRIMARY KEY (program_id, seq)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS loyaltykit_snapshots (
    program_id INTEGER NOT NULL REFERENCES loyaltykit_programs (id),
    seq INTEGER NOT NULL,
    format TEXT NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (program_id, seq)
);
"""
_NEWS = (
    "SELECT seq, type, body FROM loyaltykit_events "
    "WHERE program_id = ? AND seq > ? ORDER BY seq"
)
_INSERT = (
    "INSERT INTO loyaltykit_events (program_id, seq, type, body, recorded_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


class SQLiteStore(Store):
    """A connection to one SQLite file (see the module docstring)."""

    def __init__(self, path: str, *, synchronous: str = "full", timeout: float = 30.0) -> None:
        if synchronous not in SYNCHRONOUS:
            raise InvalidArgument(
                "synchronous", f"synchronous must be one of {', '.join(SYNCHRONOUS)}"
            )
        if path in ("", ":memory:") or path.startswith("file:"):
            raise InvalidArgument(
                "url", "a SQLite store needs a file path; use 'memory:' for a program in memory"
            )
        self.path = path
        self.url = f"sqlite:///{path}"
        self._synchronous = synchronous
        self._timeout = timeout
        self._pid = os.getpid()
        self._db = self._connect()
        self._version = -1
        self._create_schema()

    def _connect(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(f"PRAGMA synchronous={self._synchronous}")
            db.execute("PRAGMA foreign_keys=ON")
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the SQLite store {self.path!r}: {exc}") from exc
        return db

    def _conn(self) -> sqlite3.Connection:
        """The connection, reopened in a child process: a connection inherited through
        `fork` (e.g. a pre-loading web server) must not be used by both processes."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._db = self._connect()
            self._version = -1
        return self._db

    def _create_schema(self) -> None:
        db = self._conn()
        with _errors("create the schema"):
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                row = db.execute(
                    "SELECT value FROM loyaltykit_meta WHERE key = 'schema_version'"
                ).fetchone()
                check_schema_version(int(row[0]) if row else None)
                if row is None:
                    db.execute(
                        "INSERT INTO loyaltykit_meta (key, value) VALUES ('schema_version', ?)",
                        (str(SCHEMA_VERSION),),
                    )
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise

    # -- programs ----------------------------------------------------------------------

    def program(self, name: str, settings: Mapping[str, Any]) -> ProgramRecord:
        db = self._conn()
        with _errors("open the program"):
            db.execute(
                "INSERT INTO loyaltykit_programs (name, settings) VALUES (?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (name, settings_text(settings)),
            )
            row = db.execute(
                "SELECT id, settings FROM loyaltykit_programs WHERE name = ?", (name,)
            ).fetchone()
        return ProgramRecord(int(row[0]), name, settings_from_text(row[1]))

    def programs(self) -> list[str]:
        with _errors("list the programs"):
            rows = self._conn().execute("SELECT name FROM loyaltykit_programs ORDER BY id")
            return [str(r[0]) for r in rows]

    def delete_program(self, name: str) -> bool:
        db = self._conn()
        with _errors("delete the program"):
            db.execute("BEGIN IMMEDIATE")
            try:
                row = db.execute(
                    "SELECT id FROM loyaltykit_programs WHERE name = ?", (name,)
                ).fetchone()
                if row is not None:
                    for table in ("loyaltykit_events", "loyaltykit_snapshots"):
                        db.execute(f"DELETE FROM {table} WHERE program_id = ?", (row[0],))
                    db.execute("DELETE FROM loyaltykit_programs WHERE id = ?", (row[0],))
                db.execute("COMMIT")
            except BaseException:
                if db.in_transaction:
                    db.execute("ROLLBACK")
                raise
        return row is not None

    # -- the journal -------------------------------------------------------------------

    def events(
        self, program_id: int, after: int, upto: int | None = None
    ) -> Iterator[tuple[int, str, str]]:
        with _errors("read the journal"):
            cursor = self._conn().execute(
                "SELECT seq, type, body FROM loyaltykit_events "
                "WHERE program_id = ? AND seq > ? AND seq <= ? ORDER BY seq",
                (program_id, after, upto if upto is not None else 2**62),
            )
            yield from cursor

    def news(self, program_id: int, after: int) -> list[tuple[int, str, str]]:
        db = self._conn()
        try:
            version = db.execute("PRAGMA data_version").fetchone()[0]
            if version == self._version:
                return []  # nobody else committed since we last looked
            self._version = version
            rows: list[tuple[int, str, str]] = db.execute(_NEWS, (program_id, after)).fetchall()
        except sqlite3.Error as exc:
            raise _failure("read the journal", exc) from exc
        return rows

    def begin(self, program_id: int, after: int) -> list[tuple[int, str, str]]:
        db = self._conn()
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise _failure("start a write", exc) from exc
        try:
            return self.news(program_id, after)
        except BaseException:
            self.rollback()
            raise

    def commit(
        self, program_id: int, first_seq: int, events: Sequence[tuple[str, str, str]]
    ) -> None:
        db = self._db
        try:
            if len(events) == 1:
                kind, body, at = events[0]
                db.execute(_INSERT, (program_id, first_seq, kind, body, at))
            elif events:
                db.executemany(
                    _INSERT,
                    [
                        (program_id, seq, kind, body, at)
                        for seq, (kind, body, at) in enumerate(events, first_seq)
                    ],
                )
            db.execute("COMMIT")
        except BaseException as exc:
            self.rollback()
            if isinstance(exc, sqlite3.Error):
                raise _failure("commit", exc) from exc
            raise

    def rollback(self) -> None:
        if self._db.in_transaction:
            with _errors("roll back"):
                self._db.execute("ROLLBACK")

    # -- snapshots ---------------------------------------------------------------------

    def snapshot(self, program_id: int, format: str, upto: int | None = None) -> Snapshot | None:
        with _errors("read a snapshot"):
            row = (
                self._conn()
                .execute(
                    "SELECT seq, format, state FROM loyaltykit_snapshots "
                    "WHERE program_id = ? AND format = ? AND seq <= ? ORDER BY seq DESC LIMIT 1",
                    (program_id, format, upto if upto is not None else 2**62),
                )
                .fetchone()
            )
        return Snapshot(int(row[0]), str(row[1]), bytes(row[2])) if row else None

    def save_snapshot(self, program_id: int, snapshot: Snapshot, keep: int) -> None:
        db = self._conn()
        with _errors("write a snapshot"):
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute(
                    "INSERT OR REPLACE INTO loyaltykit_snapshots (program_id, seq, format, state) "
                    "VALUES (?, ?, ?, ?)",
                    (program_id, snapshot.seq, snapshot.format, snapshot.blob),
                )
                db.execute(
                    "DELETE FROM loyaltykit_snapshots WHERE program_id = ? AND seq NOT IN "
                    "(SELECT seq FROM loyaltykit_snapshots WHERE program_id = ? "
                    "ORDER BY seq DESC LIMIT ?)",
                    (program_id, program_id, keep),
                )
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def close(self) -> None:
        self._db.close()


def _failure(doing: str, exc: sqlite3.Error) -> StoreError:
    return StoreError(f"SQLite store: cannot {doing}: {exc}")


class _errors:
    """Turn sqlite3's errors into `StoreError`s that say what was being done."""

    __slots__ = ("_doing",)

    def __init__(self, doing: str) -> None:
        self._doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, sqlite3.Error):
            raise _failure(self._doing, exc) from exc
