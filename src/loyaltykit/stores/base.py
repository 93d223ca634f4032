"""What a durable program needs from a database, and the schema every store shares.

A store keeps, per program (one row per name), its settings, its journal as an
append-only table of (sequence, type, JSON body, recorded time), and state snapshots.
A store object is one connection, used by one program under that program's lock, so it
needs no locking of its own; the database serialises the writers of a program across
processes (`begin`).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

from loyaltykit.errors import SchemaTooNew, StoreError

__all__ = ["SCHEMA_VERSION", "ProgramRecord", "Snapshot", "Store"]

SCHEMA_VERSION = 1
"""The schema this version of loyaltykit writes; a database of a newer one is refused."""

TABLES = (
    "loyaltykit_meta",
    "loyaltykit_programs",
    "loyaltykit_events",
    "loyaltykit_snapshots",
)


class ProgramRecord(NamedTuple):
    """A program's row: its key in the store's other tables and its stored settings."""

    id: int
    name: str
    settings: dict[str, Any]


class Snapshot(NamedTuple):
    seq: int
    format: str
    blob: bytes


class Store(abc.ABC):
    """One connection to a database holding programs (see the module docstring)."""

    url: str
    """Where the store is, with any password removed (for messages and repr)."""

    # -- programs ----------------------------------------------------------------------

    @abc.abstractmethod
    def program(self, name: str, settings: Mapping[str, Any]) -> ProgramRecord:
        """The program called `name`, created with `settings` if it does not exist yet."""

    @abc.abstractmethod
    def programs(self) -> list[str]:
        """The names of every program in the store."""

    @abc.abstractmethod
    def delete_program(self, name: str) -> bool:
        """Delete the program called `name` with its journal and snapshots, in one
        transaction holding its write lock; False if there was none. Close every handle
        on it first: one still open fails its next command (the program is gone)."""

    # -- the journal -------------------------------------------------------------------

    @abc.abstractmethod
    def events(self, program_id: int, after: int, upto: int | None = None) -> Iterator[
        tuple[int, str, str]
    ]:
        """(seq, type, body) of the program's events with after < seq <= upto, in order."""

    @abc.abstractmethod
    def news(self, program_id: int, after: int) -> list[tuple[int, str, str]]:
        """The events others committed after `after` (cheap when there are none: SQLite
        answers from `PRAGMA data_version` without reading a table)."""

    @abc.abstractmethod
    def begin(self, program_id: int, after: int) -> list[tuple[int, str, str]]:
        """Start a transaction holding the program's write lock (until `commit` or
        `rollback`, no other connection can append to this program's journal) and return
        the events committed after `after` (all of them: nobody can add more now)."""

    @abc.abstractmethod
    def commit(
        self, program_id: int, first_seq: int, events: Sequence[tuple[str, str, str]]
    ) -> None:
        """Insert events (type, body, recorded at), numbered from `first_seq`, and commit
        the transaction; on failure nothing is inserted and the transaction is over."""

    @abc.abstractmethod
    def rollback(self) -> None:
        """End the transaction without writing (harmless when none is open)."""

    # -- snapshots ---------------------------------------------------------------------

    @abc.abstractmethod
    def snapshot(self, program_id: int, format: str, upto: int | None = None) -> Snapshot | None:
        """The newest snapshot of `format` taken at a sequence <= upto (any if None)."""

    @abc.abstractmethod
    def save_snapshot(self, program_id: int, snapshot: Snapshot, keep: int) -> None:
        """Store a snapshot in its own transaction and drop all but the newest `keep`."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.url}>"


def check_schema_version(found: int | None) -> None:
    if found is not None and found > SCHEMA_VERSION:
        raise SchemaTooNew(found, SCHEMA_VERSION)


def settings_text(settings: Mapping[str, Any]) -> str:
    return json.dumps(dict(settings), sort_keys=True, allow_nan=False)


def settings_from_text(text: str) -> dict[str, Any]:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise StoreError("the store holds malformed program settings")
    return data
