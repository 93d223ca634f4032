"""The shared store: PostgreSQL through psycopg 3 (the optional `loyaltykit[postgres]`).

Writers of a program are serialised by a transaction-scoped advisory lock on the program's
id (`pg_advisory_xact_lock`), taken first thing in the transaction and released by its
commit or rollback, so a crashed writer can never leave it held. It serialises the
writers of one program only: programs in one database write side by side. Reading the new
events after taking the lock, in the next statement, sees every commit that released it
(READ COMMITTED takes a fresh snapshot per statement). The primary key (program, seq)
stays as a second guard: two writers can never store two events under one number.

The events table has no foreign key to the programs table: checking one locks the
program's row on every insert, a write of its own that cost a quarter of a command.
Instead a writer checks, under the lock, that its program still exists (deleting a program
takes the same lock), so a handle on a deleted program fails instead of writing orphans.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import psycopg

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

__all__ = ["PostgresStore"]

LOCK_CLASS = 0x4C4B5401
"""The first key of loyaltykit's advisory locks ("LKT" 1), the second being a program id
(0 for schema creation), so they never collide with an application's own locks."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS loyaltykit_meta (
    key text PRIMARY KEY,
    value text NOT NULL
);
CREATE TABLE IF NOT EXISTS loyaltykit_programs (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE,
    settings text NOT NULL
);
CREATE TABLE IF NOT EXISTS loyaltykit_events (
    program_id bigint NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    body text NOT NULL,
    recorded_at timestamptz NOT NULL,
    PRIMARY KEY (program_id, seq)
);
CREATE TABLE IF NOT EXISTS loyaltykit_snapshots (
    program_id bigint NOT NULL REFERENCES loyaltykit_programs (id),
    seq bigint NOT NULL,
    format text NOT NULL,
    state bytea NOT NULL,
    PRIMARY KEY (program_id, seq)
);
"""
_NEWS = (
    "SELECT seq, type, body FROM loyaltykit_events "
    "WHERE program_id = %s AND seq > %s ORDER BY seq"
)
_PREPARED = (
    "PREPARE loyaltykit_news (bigint, bigint) AS SELECT seq, type, body FROM "
    "loyaltykit_events WHERE program_id = $1 AND seq > $2 UNION ALL SELECT 0, '', '' "
    "WHERE NOT EXISTS (SELECT FROM loyaltykit_programs WHERE id = $1) ORDER BY 1; "
    "PREPARE loyaltykit_append (bigint, bigint, text, text, timestamptz) AS INSERT INTO "
    "loyaltykit_events (program_id, seq, type, body, recorded_at) VALUES ($1, $2, $3, $4, $5)"
)
"""The two statements of every command, prepared once per connection: parsing and planning
them afresh cost about a tenth of a command."""


class PostgresStore(Store):
    """A connection to a PostgreSQL database (see the module docstring)."""

    def __init__(self, url: str) -> None:
        self._dsn = url
        self.url = _without_password(url)
        self._pid = os.getpid()
        self._db = self._connect()
        self._prepared = False
        self._create_schema()

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            return psycopg.connect(self._dsn, autocommit=True)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to {self.url}: {exc}") from None

    def _conn(self) -> psycopg.Connection[Any]:
        """The connection, reopened in a child process (a forked connection is shared)."""
        if self._pid != os.getpid():
            self._pid = os.getpid()
            self._db = self._connect()
            self._prepared = False
        return self._db

    def _writer(self) -> psycopg.Cursor[Any]:
        """The writing cursor, with the command statements prepared on its connection
        (after the schema exists: they name its table)."""
        db = self._conn()
        if not self._prepared:
            with _errors("prepare the statements"):
                db.execute(_PREPARED)
            self._cursor = db.cursor()
            self._escaping = psycopg.pq.Escaping(db.pgconn)
            self._prepared = True
        return self._cursor

    def _create_schema(self) -> None:
        db = self._conn()
        with _errors("create the schema"), db.transaction():
            db.execute("SELECT pg_advisory_xact_lock(%s, 0)", (LOCK_CLASS,))
            db.execute(_SCHEMA)
            row = db.execute(
                "SELECT value FROM loyaltykit_meta WHERE key = 'schema_version'"
            ).fetchone()
            check_schema_version(int(row[0]) if row else None)
            if row is None:
                db.execute(
                    "INSERT INTO loyaltykit_meta (key, value) VALUES ('schema_version', %s)",
                    (str(SCHEMA_VERSION),),
                )

    # -- programs ----------------------------------------------------------------------

    def program(self, name: str, settings: Mapping[str, Any]) -> ProgramRecord:
        db = self._conn()
        with _errors("open the program"):
            db.execute(
                "INSERT INTO loyaltykit_programs (name, settings) VALUES (%s, %s) "
                "ON CONFLICT (name) DO NOTHING",
                (name, settings_text(settings)),
            )
            row = db.execute(
                "SELECT id, settings FROM loyaltykit_programs WHERE name = %s", (name,)
            ).fetchone()
        assert row is not None
        return ProgramRecord(int(row[0]), name, settings_from_text(row[1]))

    def programs(self) -> list[str]:
        with _errors("list the programs"):
            rows = self._conn().execute("SELECT name FROM loyaltykit_programs ORDER BY id")
            return [str(r[0]) for r in rows]

    def delete_program(self, name: str) -> bool:
        db = self._conn()
        with _errors("delete the program"), db.transaction():
            row = db.execute(
                "SELECT id FROM loyaltykit_programs WHERE name = %s", (name,)
            ).fetchone()
            if row is None:
                return False
            db.execute("SELECT pg_advisory_xact_lock(%s, %s)", (LOCK_CLASS, row[0]))
            for table in ("loyaltykit_events", "loyaltykit_snapshots"):
                db.execute(f"DELETE FROM {table} WHERE program_id = %s", (row[0],))
            db.execute("DELETE FROM loyaltykit_programs WHERE id = %s", (row[0],))
        return True

    # -- the journal -------------------------------------------------------------------

    def events(
        self, program_id: int, after: int, upto: int | None = None
    ) -> Iterator[tuple[int, str, str]]:
        with _errors("read the journal"):
            cursor = self._conn().execute(
                "SELECT seq, type, body FROM loyaltykit_events "
                "WHERE program_id = %s AND seq > %s AND seq <= %s ORDER BY seq",
                (program_id, after, upto if upto is not None else 2**62),
            )
            yield from cursor

    def news(self, program_id: int, after: int) -> list[tuple[int, str, str]]:
        with _errors("read the journal"):
            return self._conn().execute(_NEWS, (program_id, after)).fetchall()

    def begin(self, program_id: int, after: int) -> list[tuple[int, str, str]]:
        """BEGIN, the lock and the read of new events (with a row of seq 0 if the program
        no longer exists) go out as one simple query: one round trip. The numbers are
        ints, formatted by this code, never user text; the read runs after the lock is
        granted, so it sees every commit."""
        cursor = self._writer()
        pid = int(program_id)
        try:
            with _errors("start a write"):
                cursor.execute(
                    b"BEGIN; SELECT pg_advisory_xact_lock(%d, %d); EXECUTE loyaltykit_news "
                    b"(%d, %d)" % (LOCK_CLASS, pid, pid, int(after)),
                    prepare=False,
                )
                cursor.nextset()
                cursor.nextset()
                news: list[tuple[int, str, str]] = cursor.fetchall()
                if news and news[0][0] == 0:  # the row that says the program is gone
                    raise StoreError(f"program {program_id} was deleted from the store")
                return news
        except BaseException:
            self.rollback()
            raise

    def commit(
        self, program_id: int, first_seq: int, events: Sequence[tuple[str, str, str]]
    ) -> None:
        """The inserts and the COMMIT go out as one simple query, one round trip: the
        prepared insert executed once per event, its text arguments quoted by libpq's
        `PQescapeLiteral` (psycopg's `sql.Literal` composition cost 18 us a command; a
        pipeline sends as few packets but costs more CPU in psycopg than the round trip it
        saves)."""
        cursor = self._cursor
        escape = self._escaping.escape_literal
        statements = [
            b"EXECUTE loyaltykit_append (%d, %d, %s, %s, %s)"
            % (
                int(program_id),
                seq,
                escape(kind.encode()),
                escape(body.encode()),
                escape(at.encode()),
            )
            for seq, (kind, body, at) in enumerate(events, first_seq)
        ]
        statements.append(b"COMMIT")
        try:
            with _errors("commit"):
                cursor.execute(b"; ".join(statements), prepare=False)
        except BaseException:
            self.rollback()
            raise

    def rollback(self) -> None:
        if self._db.closed:
            return
        if self._db.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            with _errors("roll back"):
                self._db.execute("ROLLBACK")

    # -- snapshots ---------------------------------------------------------------------

    def snapshot(self, program_id: int, format: str, upto: int | None = None) -> Snapshot | None:
        with _errors("read a snapshot"):
            row = (
                self._conn()
                .execute(
                    "SELECT seq, format, state FROM loyaltykit_snapshots "
                    "WHERE program_id = %s AND format = %s AND seq <= %s "
                    "ORDER BY seq DESC LIMIT 1",
                    (program_id, format, upto if upto is not None else 2**62),
                )
                .fetchone()
            )
        return Snapshot(int(row[0]), str(row[1]), bytes(row[2])) if row else None

    def save_snapshot(self, program_id: int, snapshot: Snapshot, keep: int) -> None:
        db = self._conn()
        with _errors("write a snapshot"), db.transaction():
            db.execute(
                "INSERT INTO loyaltykit_snapshots (program_id, seq, format, state) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT (program_id, seq) DO UPDATE "
                "SET format = EXCLUDED.format, state = EXCLUDED.state",
                (program_id, snapshot.seq, snapshot.format, snapshot.blob),
            )
            db.execute(
                "DELETE FROM loyaltykit_snapshots WHERE program_id = %s AND seq NOT IN "
                "(SELECT seq FROM loyaltykit_snapshots WHERE program_id = %s "
                "ORDER BY seq DESC LIMIT %s)",
                (program_id, program_id, keep),
            )

    def close(self) -> None:
        self._db.close()


def _without_password(url: str) -> str:
    """The URL as it may be shown: a password in it is replaced by ***."""
    try:
        info = psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.Error:
        raise InvalidArgument("url", "malformed PostgreSQL URL") from None
    password = info.get("password")
    return url.replace(str(password), "***") if password else url


class _errors:
    """Turn psycopg's errors into `StoreError`s that say what was being done."""

    __slots__ = ("_doing",)

    def __init__(self, doing: str) -> None:
        self._doing = doing

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if isinstance(exc, psycopg.Error):
            raise StoreError(f"PostgreSQL store: cannot {self._doing}: {exc}") from exc
