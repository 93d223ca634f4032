"""Group `durable`: durable programs against hand-written transactions and `eventsourcing`.

Each write is the same logical command: credit 10 points to one of 1,000 members, durable
when it returns.

- hand-written: one transaction updating the member's balance row and inserting a ledger
  row (sqlite3 in WAL mode; psycopg 3 over a Unix socket, synchronous_commit on);
- loyaltykit: `Program.open(url).earn` (a commit per command);
- eventsourcing 9.5 (the most used Python event-sourcing library): an aggregate per
  member with an `earn` event, aggregate cache on, on the same SQLite / PostgreSQL.

Then: opening a SQLite program holding 10^6 transactions (newest snapshot 10^4 events back),
8 threads earning at once against one (group commit), and the memory a durable program
keeps per transaction at 10^6. PostgreSQL runs in a throwaway cluster started here
(`loyaltykit.testing.postgres`), as the tests do.
"""

from __future__ import annotations

import gc
import shutil
import sqlite3
import tempfile
import threading
import time
import tracemalloc
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from benchmarks._harness import Context, Timing, fmt_bytes, fmt_ratio, fmt_us
from loyaltykit import ManualClock, Program
from loyaltykit.durable import DurableProgram
from loyaltykit.stores import open_store
from loyaltykit.stores.base import Snapshot
from loyaltykit.stores.codec import encode_event, state_format, state_to_bytes

TITLE = "durable programs (SQLite, PostgreSQL) vs hand-written transactions and eventsourcing"

START = datetime(2025, 1, 1, tzinfo=UTC)
MEMBERS = 1_000

# Targets from issue 10.
SQLITE_FULL_LIMIT = 1.15
SQLITE_NORMAL_LIMIT = 1.5
POSTGRES_LIMIT = 1.2
EVENTSOURCING_FACTOR = 3.0
OPEN_SECONDS = 2.0
THREADS_FACTOR = 4.0
BYTES_LIMIT = 400.0

SQLITE_SCHEMA = (
    "CREATE TABLE account (member_id INTEGER PRIMARY KEY, available INTEGER NOT NULL)",
    "CREATE TABLE txn (id INTEGER PRIMARY KEY, member_id INTEGER NOT NULL, kind TEXT NOT NULL,"
    " points INTEGER NOT NULL, created_at TEXT NOT NULL, description TEXT NOT NULL)",
)
POSTGRES_SCHEMA = (
    "CREATE TABLE account (member_id integer PRIMARY KEY, available bigint NOT NULL)",
    "CREATE TABLE txn (id bigserial PRIMARY KEY, member_id integer NOT NULL, kind text NOT NULL,"
    " points bigint NOT NULL, created_at timestamptz NOT NULL, description text NOT NULL)",
)


# ====================================================================== the contenders


class HandSqlite:
    """The hand-written durable earn on SQLite: one transaction, an update and an insert."""

    def __init__(self, path: str, synchronous: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        for statement in SQLITE_SCHEMA:
            self.db.execute(statement)
        self.db.executemany(
            "INSERT INTO account VALUES (?, 0)", [(m,) for m in range(1, MEMBERS + 1)]
        )
        self.now = START.isoformat()

    def earn(self, member_id: int, points: int) -> None:
        execute = self.db.execute
        execute("BEGIN")
        execute("UPDATE account SET available = available + ? WHERE member_id = ?",
                (points, member_id))
        execute("INSERT INTO txn (member_id, kind, points, created_at, description)"
                " VALUES (?, 'earn', ?, ?, '')", (member_id, points, self.now))
        execute("COMMIT")


class HandPostgres:
    """The same on PostgreSQL: BEGIN, UPDATE, INSERT, COMMIT (autocommit off)."""

    def __init__(self, url: str) -> None:
        import psycopg

        self.db = psycopg.connect(url)
        for statement in POSTGRES_SCHEMA:
            self.db.execute(statement)
        with self.db.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO account VALUES (%s, 0)", [(m,) for m in range(1, MEMBERS + 1)]
            )
        self.db.commit()

    def earn(self, member_id: int, points: int) -> None:
        db = self.db
        db.execute("UPDATE account SET available = available + %s WHERE member_id = %s",
                   (points, member_id))
        db.execute("INSERT INTO txn (member_id, kind, points, created_at, description)"
                   " VALUES (%s, 'earn', %s, now(), '')", (member_id, points))
        db.commit()


def durable(url: str) -> Callable[[int, int], object]:
    program = Program.open(url, clock=ManualClock(START), snapshot_every=0)
    for _ in range(MEMBERS):
        program.add_member()
    return program.earn


_ES_CLASSES: dict[str, Any] = {}


def _eventsourcing_classes() -> dict[str, Any] | None:
    """The aggregate and application, defined once (eventsourcing registers each class
    under its topic and refuses a second class of the same name)."""
    if _ES_CLASSES:
        return _ES_CLASSES
    try:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate, event
    except ImportError:
        return None

    class Account(Aggregate):  # type: ignore[misc]
        @event("Registered")  # type: ignore[misc]
        def __init__(self, number: int) -> None:
            self.number = number
            self.balance = 0

        @event("Earned")  # type: ignore[misc]
        def earn(self, points: int) -> None:
            self.balance += points

    class Loyalty(Application):  # type: ignore[misc]
        def register(self, number: int) -> Any:
            account = Account(number)
            self.save(account)
            return account.id

        def earn(self, account_id: Any, points: int) -> None:
            account = self.repository.get(account_id)
            account.earn(points)
            self.save(account)

    _ES_CLASSES["Loyalty"] = Loyalty
    return _ES_CLASSES


def eventsourcing_app(env: dict[str, str]) -> Callable[[int, int], object] | None:
    """The eventsourcing library's earn, or None when it is not installed."""
    classes = _eventsourcing_classes()
    if classes is None:
        return None
    app = classes["Loyalty"](env={**env, "AGGREGATE_CACHE_MAXSIZE": str(MEMBERS * 2)})
    ids = [app.register(n) for n in range(MEMBERS + 1)]

    def earn(member_id: int, points: int) -> None:
        app.earn(ids[member_id], points)

    return earn


def batch_of(earn: Callable[[int, int], object], ops: int) -> Callable[[], int]:
    state = {"next": 0}

    def batch() -> int:
        start = state["next"]
        for i in range(start, start + ops):
            earn(i % MEMBERS + 1, 10)
        state["next"] = start + ops
        return ops

    return batch


# ====================================================================== the group


def run(ctx: Context) -> None:
    folder = tempfile.mkdtemp(prefix="loyaltykit-bench-")
    try:
        sqlite_writes(ctx, folder)
        reads(ctx, f"sqlite:///{folder}/reads.db?synchronous=normal", "SQLite")
        postgres_writes(ctx)
        threads(ctx, folder)
        opening(ctx, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def compare(
    ctx: Context, title: str, cases: dict[str, Callable[[], int]], base: str
) -> dict[str, Timing]:
    timings = ctx.measure_many(cases, repeats=max(3, ctx.repeats // 2 + 1))
    table = ctx.table(title, ["implementation", "us/op", "min-max", "cpu us/op", f"vs {base}"])
    for name, t in timings.items():
        ratio = fmt_ratio(t.us / timings[base].us)
        table.add(name, fmt_us(t.us), t.spread, fmt_us(t.cpu_us), ratio)
    table.show()
    return timings


def cpu_note(timings: dict[str, Timing]) -> str:
    return f"by cpu {timings['loyaltykit'].cpu_us / timings['hand-written'].cpu_us:.2f}x"


def sqlite_writes(ctx: Context, folder: str) -> None:
    for sync, ops, limit in (("full", 40 if ctx.quick else 150, SQLITE_FULL_LIMIT),
                             ("normal", 200 if ctx.quick else 1000, SQLITE_NORMAL_LIMIT)):
        ctx.log(f"sqlite synchronous={sync}: building")
        cases = {
            "hand-written": batch_of(HandSqlite(f"{folder}/hand-{sync}.db", sync).earn, ops),
            "loyaltykit": batch_of(durable(f"sqlite:///{folder}/lk-{sync}.db?synchronous={sync}"),
                                   ops),
        }
        es = eventsourcing_app({
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": f"{folder}/es-{sync}.db",
        }) if sync == "full" else None
        if es is not None:
            cases["eventsourcing"] = batch_of(es, ops)
        ctx.log(f"sqlite synchronous={sync}: measuring")
        timings = compare(ctx, f"Durable earn on SQLite (WAL, synchronous={sync}), {MEMBERS:,}"
                          f" members, {ops} commands per batch", cases, "hand-written")
        ratio = timings["loyaltykit"].us / timings["hand-written"].us
        ctx.target(f"durable earn on SQLite {sync.upper()} / hand-written", ratio, limit,
                   note=cpu_note(timings))
        if "eventsourcing" in timings:
            ctx.target("eventsourcing / durable earn on SQLite FULL",
                       timings["eventsourcing"].us / timings["loyaltykit"].us,
                       EVENTSOURCING_FACTOR, higher_is_better=True)


def reads(ctx: Context, url: str, label: str) -> None:
    """A member read: in memory, durable (looks for others' commits first), stale()."""
    ops = 500 if ctx.quick else 5_000
    memory = Program(ManualClock(START))
    opened = Program.open(url, clock=ManualClock(START), snapshot_every=0)
    for program in (memory, opened):
        for _ in range(MEMBERS):
            program.add_member()

    def reading(program: Program, stale: bool) -> Callable[[], int]:
        def batch() -> int:
            member = program.member
            if stale:
                with program.stale():
                    for i in range(ops):
                        member(i % MEMBERS + 1)
            else:
                for i in range(ops):
                    member(i % MEMBERS + 1)
            return ops

        return batch

    compare(ctx, f"Reading a member ({ops:,} reads per batch)", {
        "in memory": reading(memory, False),
        f"durable {label}": reading(opened, False),
        f"durable {label}, stale()": reading(opened, True),
    }, "in memory")
    opened.close()


def postgres_writes(ctx: Context) -> None:
    try:
        from loyaltykit.testing.postgres import Cluster

        cluster = Cluster()
    except (ImportError, RuntimeError) as exc:
        print(f"(PostgreSQL skipped: {exc})\n")
        return
    try:
        ops = 40 if ctx.quick else 150
        ctx.log("postgresql: building")
        cases = {
            "hand-written": batch_of(HandPostgres(cluster.create_database("hand")).earn, ops),
            "loyaltykit": batch_of(durable(cluster.create_database("lk")), ops),
        }
        es_url = cluster.create_database("es")
        es = eventsourcing_app({
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": "es",
            "POSTGRES_HOST": str(cluster.socket_dir),
            "POSTGRES_PORT": "5432",
            "POSTGRES_USER": "postgres",
            "POSTGRES_PASSWORD": "",
        }) if es_url else None
        if es is not None:
            cases["eventsourcing"] = batch_of(es, ops)
        reads(ctx, cluster.create_database("reads"), "PostgreSQL")
        ctx.log("postgresql: measuring")
        timings = compare(ctx, f"Durable earn on PostgreSQL (Unix socket, synchronous_commit on),"
                          f" {MEMBERS:,} members, {ops} commands per batch", cases, "hand-written")
        ctx.target("durable earn on PostgreSQL / hand-written",
                   timings["loyaltykit"].us / timings["hand-written"].us, POSTGRES_LIMIT,
                   note=cpu_note(timings))
        if "eventsourcing" in timings:
            ctx.target("eventsourcing / durable earn on PostgreSQL",
                       timings["eventsourcing"].us / timings["loyaltykit"].us,
                       EVENTSOURCING_FACTOR, higher_is_better=True)
    finally:
        cluster.stop()


def threads(ctx: Context, folder: str) -> None:
    """Throughput of 8 threads earning at once vs one thread, SQLite synchronous=FULL."""
    per_thread = 25 if ctx.quick else 120
    results: dict[int, float] = {}
    for count in (1, 8):
        earn = durable(f"sqlite:///{folder}/threads-{count}.db?synchronous=full")
        total = per_thread * 8

        def work(offset: int, n: int, earn: Callable[[int, int], object] = earn) -> None:
            for i in range(n):
                earn((offset * 97 + i) % MEMBERS + 1, 1)

        ctx.log(f"threads: {count} thread(s), {total} durable earns")
        workers = [threading.Thread(target=work, args=(t, total // count)) for t in range(count)]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        results[count] = total / (time.perf_counter() - start)
    table = ctx.table("Durable earns per second on SQLite FULL (group commit)",
                      ["threads", "earns/s", "vs 1 thread"])
    for count, rate in results.items():
        table.add(count, f"{rate:,.0f}", fmt_ratio(rate / results[1]))
    table.show()
    ctx.target("8 threads / 1 thread throughput, SQLite FULL", results[8] / results[1],
               THREADS_FACTOR, higher_is_better=True)


def opening(ctx: Context, folder: str) -> None:
    """Open a program of 10^6 transactions (10^5 quick) whose newest snapshot is 10^4
    events back; compare with replaying without a snapshot; memory per transaction."""
    size = 100_000 if ctx.quick else 1_000_000
    tail = 10_000
    url = f"sqlite:///{folder}/big.db?synchronous=normal"
    ctx.log(f"open: building a program of {size:,} transactions in memory")
    clock = ManualClock(START)
    program = Program(clock, name="default")
    ids = [program.add_member().id for _ in range(10_000)]
    snapshot: Snapshot | None = None
    gc.freeze()
    for i in range(size):
        if i % 1000 == 0:
            clock.advance(1)
        program.earn(ids[i % 10_000], 10)
        if i == size - tail:
            snapshot = Snapshot(len(program._journal), state_format(),
                                state_to_bytes(program.raw_state))
    gc.unfreeze()
    ctx.log("open: writing it to SQLite")
    store = open_store(url)
    from loyaltykit.durable import stored_settings

    record = store.program("default", stored_settings(clock, started_at=program.started_at))
    at = START.isoformat()
    store.begin(record.id, 0)
    store.commit(record.id, 1, [(*encode_event(e), at) for e in program._journal])
    assert snapshot is not None
    store.save_snapshot(record.id, snapshot, keep=2)
    store.close()
    del program
    gc.collect()

    def open_once() -> tuple[float, DurableProgram]:
        start = time.perf_counter()
        opened = Program.open(url, clock=clock)
        assert isinstance(opened, DurableProgram)
        return time.perf_counter() - start, opened

    ctx.log("open: timing")
    times = []
    for _ in range(3):
        seconds, opened = open_once()
        times.append(seconds)
        assert opened.sequence == size + 10_000
        opened.close()
        del opened
        gc.collect()
    best = min(times)
    ctx.log("open: replay of 10^5 events without a snapshot, for comparison")
    small = f"sqlite:///{folder}/replay.db?synchronous=normal"
    per_event = replay_cost(small, min(size, 100_000))
    tracemalloc.start()
    seconds, opened = open_once()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    per_txn = held / size
    opened.close()
    table = ctx.table("Opening a durable SQLite program", ["case", "value"])
    table.add(f"open, {size:,} transactions, snapshot {tail:,} events back (best of 3)",
              f"{best:.2f} s")
    table.add("open, each of 3 runs", ", ".join(f"{t:.2f} s" for t in times))
    table.add("replay without a snapshot, per event", f"{fmt_us(per_event)} us")
    table.add(f"replay of {size:,} events without a snapshot (estimated)",
              f"{per_event * size / 1e6:.1f} s")
    table.add(f"memory held per transaction at {size:,} (tracemalloc)", fmt_bytes(per_txn))
    table.show()
    ctx.target(f"open {size:,} transactions (SQLite)", best, OPEN_SECONDS, unit=" s")
    ctx.target(f"memory per transaction in a durable program at {size:,}", per_txn,
               BYTES_LIMIT, unit=" B")


def replay_cost(url: str, size: int) -> float:
    """Microseconds per event to open a program with no snapshot (a full replay)."""
    clock = ManualClock(START)
    program = Program(clock)
    ids = [program.add_member().id for _ in range(1000)]
    for i in range(size):
        program.earn(ids[i % 1000], 1)
    store = open_store(url)
    from loyaltykit.durable import stored_settings

    record = store.program("default", stored_settings(clock, started_at=program.started_at))
    store.begin(record.id, 0)
    at = START.isoformat()
    store.commit(record.id, 1, [(*encode_event(e), at) for e in program._journal])
    store.close()
    count = len(program._journal)
    del program
    start = time.perf_counter()
    Program.open(url, clock=clock).close()
    return (time.perf_counter() - start) / count * 1e6
