"""Group `core`: the ledger's earn and spend against sqlite3 and a bare-Python floor.

Three implementations of the same logical write, each called once per operation through
a bound method, with 10^4 members:

- floor: update a balance in a dict, append a tuple to a list;
- sqlite: the standard library's sqlite3 on ``:memory:`` in autocommit mode, inserting a
  transaction row (with an index on member_id) and updating a balance row (spend first
  reads the balance to refuse an overdraft);
- core: `Program.earn` / `Program.spend` with a `ManualClock` (advanced once per batch).

Then the core's earn with 10^4, 10^5 and 10^6 transactions already in the ledger, and the
bytes each transaction keeps alive (tracemalloc) at 10^6.
"""

from __future__ import annotations

import gc
import sqlite3
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from benchmarks._harness import Context, Timing, fmt_bytes, fmt_ratio, fmt_us
from loyaltykit import ManualClock, Program

TITLE = "ledger earn/spend vs sqlite3 :memory: vs a bare-Python floor; scaling; memory"

START = datetime(2025, 1, 1, tzinfo=UTC)
MEMBERS = 10_000
EARN_POINTS = 10
SPEND_POINTS = 3

BULK_REFREEZE = 100_000
"""Under the bulk gc setting a growing ledger calls `gc.freeze()` after every this many."""

# Targets from issue 2, item 6.
EARN_VS_SQLITE = 2.0
EARN_VS_FLOOR = 8.0
GROWTH_LIMIT = 1.5
BYTES_LIMIT = 400.0


# ====================================================================== fixtures


class FloorLedger:
    """The least a ledger can do: a balance per member and a list of tuples."""

    __slots__ = ("balances", "now", "txns")

    def __init__(self, member_ids: list[int]) -> None:
        self.balances: dict[int, int] = dict.fromkeys(member_ids, 0)
        self.txns: list[tuple[int, int, str, int, datetime]] = []
        self.now = START

    def earn(self, member_id: int, points: int) -> None:
        self.balances[member_id] += points
        txns = self.txns
        txns.append((len(txns) + 1, member_id, "earn", points, self.now))

    def spend(self, member_id: int, points: int) -> None:
        balances = self.balances
        if balances[member_id] < points:
            raise ValueError("insufficient points")
        balances[member_id] -= points
        txns = self.txns
        txns.append((len(txns) + 1, member_id, "spend", -points, self.now))


SCHEMA = """
CREATE TABLE account (member_id INTEGER PRIMARY KEY, available INTEGER NOT NULL);
CREATE TABLE txn (
    id INTEGER PRIMARY KEY,
    member_id INTEGER NOT NULL,
    kind TEXT NOT NULL,
    points INTEGER NOT NULL,
    created_at TEXT NOT NULL,
    description TEXT NOT NULL
);
CREATE INDEX txn_member ON txn (member_id);
"""
INSERT = (
    "INSERT INTO txn (member_id, kind, points, created_at, description) VALUES (?, ?, ?, ?, '')"
)
CREDIT = "UPDATE account SET available = available + ? WHERE member_id = ?"
BALANCE = "SELECT available FROM account WHERE member_id = ?"


class SqliteLedger:
    """The same writes through sqlite3 on :memory:, autocommit (one transaction each)."""

    __slots__ = ("conn", "now_text")

    def __init__(self, member_ids: list[int]) -> None:
        self.conn = sqlite3.connect(":memory:", isolation_level=None)
        self.conn.executescript(SCHEMA)
        self.conn.executemany(
            "INSERT INTO account (member_id, available) VALUES (?, 0)",
            [(m,) for m in member_ids],
        )
        self.now_text = START.isoformat()

    def earn(self, member_id: int, points: int) -> None:
        execute = self.conn.execute
        execute(INSERT, (member_id, "earn", points, self.now_text))
        execute(CREDIT, (points, member_id))

    def spend(self, member_id: int, points: int) -> None:
        execute = self.conn.execute
        (available,) = execute(BALANCE, (member_id,)).fetchone()
        if available < points:
            raise ValueError("insufficient points")
        execute(INSERT, (member_id, "spend", -points, self.now_text))
        execute(CREDIT, (-points, member_id))


def new_program(members: int) -> tuple[Program, ManualClock, list[int]]:
    clock = ManualClock(START)
    program = Program(clock, name="bench", seed=1)
    ids = [program.add_member().id for _ in range(members)]
    return program, clock, ids


Op = Callable[[int, int], object]


def batch_of(op: Op, ids: list[int], points: int, tick: Callable[[], None]) -> Callable[[], int]:
    """A batch: move time once, then one call of `op` per member."""

    def batch() -> int:
        tick()
        for member_id in ids:
            op(member_id, points)
        return len(ids)

    return batch


def prefill(program: Program, clock: ManualClock, ids: list[int], until: int, done: int) -> int:
    """Earn round-robin over `ids` until the ledger holds `until` transactions."""
    earn = program.earn
    members = len(ids)
    while done < until:
        step = min(1000, until - done)
        clock.advance(1)
        for i in range(done, done + step):
            earn(ids[i % members], EARN_POINTS)
        done += step
    return done


# ====================================================================== the group


def run(ctx: Context) -> None:
    compare(ctx)
    scaling(ctx)
    memory(ctx)


def compare(ctx: Context) -> None:
    """(a) core, (b) sqlite3, (c) floor: earn and spend side by side, per gc setting."""
    table = ctx.table(
        f"Ledger writes, {MEMBERS:,} members, one call per op, {MEMBERS:,} ops per timed batch,"
        " the six cases interleaved",
        ["op", "implementation", "gc", "us/op", "min-max", "cpu us/op", "vs floor", "vs sqlite3"],
    )
    results: dict[tuple[str, str, str], Timing] = {}
    for mode in ctx.gc_modes:
        ctx.log(f"compare: building fixtures ({mode} gc)")
        program, clock, ids = new_program(MEMBERS)
        floor = FloorLedger(ids)
        sql = SqliteLedger(ids)

        def tick_floor(floor: FloorLedger = floor, clock: ManualClock = clock) -> None:
            floor.now = clock.advance(1)

        def tick_sql(sql: SqliteLedger = sql, clock: ManualClock = clock) -> None:
            sql.now_text = clock.advance(1).isoformat()

        def tick_core(clock: ManualClock = clock) -> None:
            clock.advance(1)

        cases: dict[str, Callable[[], int]] = {}
        for op, points in (("earn", EARN_POINTS), ("spend", SPEND_POINTS)):
            cases[f"{op} floor"] = batch_of(getattr(floor, op), ids, points, tick_floor)
            cases[f"{op} sqlite3"] = batch_of(getattr(sql, op), ids, points, tick_sql)
            cases[f"{op} core"] = batch_of(getattr(program, op), ids, points, tick_core)
        with ctx.gc_mode(mode) as label:
            ctx.log(f"compare: earn and spend, floor / sqlite3 / core ({label})")
            timings = ctx.measure_many(cases)
        for op in ("earn", "spend"):
            base = timings[f"{op} floor"].us
            sqlite_us = timings[f"{op} sqlite3"].us
            for impl in ("floor", "sqlite3", "core"):
                t = timings[f"{op} {impl}"]
                results[(op, impl, mode)] = t
                table.add(
                    op,
                    impl,
                    label,
                    fmt_us(t.us),
                    t.spread,
                    fmt_us(t.cpu_us),
                    fmt_ratio(t.us / base),
                    fmt_ratio(t.us / sqlite_us),
                )
        sql.conn.close()
        del program, floor, sql
    table.show()
    for mode in ctx.gc_modes:
        core = results[("earn", "core", mode)]
        sqlite = results[("earn", "sqlite3", mode)]
        floor_t = results[("earn", "floor", mode)]
        ctx.target(
            f"earn speed-up over sqlite3 ({mode} gc)",
            sqlite.us / core.us,
            EARN_VS_SQLITE,
            higher_is_better=True,
            note=f"by cpu time {sqlite.cpu_us / core.cpu_us:.2f}x",
        )
        ctx.target(
            f"earn cost / floor ({mode} gc)",
            core.us / floor_t.us,
            EARN_VS_FLOOR,
            note=f"by cpu time {core.cpu_us / floor_t.cpu_us:.2f}x",
        )


@dataclass(frozen=True)
class Chunk:
    """One timed chunk of a growth run: ledger size after it, wall and cpu ns, full gcs."""

    end: int
    wall_ns: int
    cpu_ns: int
    full_gcs: int


def grow(ctx: Context, mode: str, until: int, chunk: int) -> tuple[str, list[Chunk], Chunk]:
    """Grow a fresh ledger to `until` transactions by earns, timing every `chunk` of them.

    Also returns one forced full collection at the end (its `end` is the number of objects
    the collector tracks), to show what each automatic full collection costs at that size.
    """
    program, clock, ids = new_program(MEMBERS)
    earn = program.earn
    chunks: list[Chunk] = []
    with ctx.gc_mode(mode) as label:
        ctx.log(f"scaling: growing a ledger to {until:,} transactions ({label})")
        done = 0
        while done < until:
            clock.advance(1)
            full = gc.get_stats()[2]["collections"]
            cpu_start = time.thread_time_ns()
            start = time.perf_counter_ns()
            for i in range(done, done + chunk):
                earn(ids[i % MEMBERS], EARN_POINTS)
            wall = time.perf_counter_ns() - start
            cpu = time.thread_time_ns() - cpu_start
            done += chunk
            chunks.append(Chunk(done, wall, cpu, gc.get_stats()[2]["collections"] - full))
            if mode == "bulk" and done % BULK_REFREEZE == 0:
                gc.freeze()  # a bulk load freezes as it goes: O(1), about 5 us
        tracked = len(gc.get_objects())
        cpu_start = time.thread_time_ns()
        start = time.perf_counter_ns()
        gc.collect()
        pause = Chunk(tracked, time.perf_counter_ns() - start, time.thread_time_ns() - cpu_start, 1)
    del program
    return label, chunks, pause


@dataclass(frozen=True)
class WindowCost:
    """Earn cost over the chunks of one growth window, microseconds per operation."""

    mean: float
    """Amortized wall time: everything, full collections included (and any noise)."""
    median: float
    low: float
    """The 20th-percentile chunk: the cost without collections, little hurt by a busy host."""
    pauses: float
    """Wall time of chunks with a full collection beyond the median chunk, spread over all."""
    worst: float
    cpu: float
    full_gcs: int

    @property
    def steady(self) -> float:
        """A load-robust amortized cost: the low chunk plus the full-collection pauses."""
        return self.low + self.pauses

    @classmethod
    def of(cls, window: list[Chunk], chunk: int) -> WindowCost:
        ops = chunk * len(window)
        walls = [c.wall_ns for c in window]
        median = statistics.median(walls)
        pauses = sum(c.wall_ns - median for c in window if c.full_gcs and c.wall_ns > median)
        return cls(
            mean=sum(walls) / ops / 1000,
            median=median / chunk / 1000,
            low=statistics.quantiles(walls, n=5)[0] / chunk / 1000,
            pauses=pauses / ops / 1000,
            worst=max(walls) / chunk / 1000,
            cpu=sum(c.cpu_ns for c in window) / ops / 1000,
            full_gcs=sum(c.full_gcs for c in window),
        )


def scaling(ctx: Context) -> None:
    """Earn cost with 10^4, 10^5 (and, in a full run, 10^6) transactions in the ledger.

    A fresh ledger grows by earns under each gc setting, timed in chunks. The cost "at N"
    is over the chunks that took the ledger from N/2 to N: the mean is the amortized cost
    (it includes the full collections that happened there), the median is the typical
    chunk, the max shows the worst pause. On a machine other processes keep busy, the mean
    of windows taken seconds apart mostly measures the load, so the target is judged on
    "p20+gc": the 20th-percentile chunk plus the full-collection pauses spread over the
    window. Under the bulk setting the loader also calls `gc.freeze()` after every
    `BULK_REFREEZE` transactions, as a bulk load should.
    """
    sizes = [10_000, 100_000] if ctx.quick else [10_000, 100_000, 1_000_000]
    chunk = 500
    table = ctx.table(
        f"Earn vs ledger size ({MEMBERS:,} members, round-robin earns, every credit an open"
        f" lot; timed in chunks of {chunk:,}; cost at N = chunks from N/2 to N; bulk also"
        f" calls gc.freeze() every {BULK_REFREEZE:,} transactions)",
        ["ledger txns", "gc", "mean us/op", "median", "p20", "+gc pauses", "p20+gc",
         "max chunk", "cpu us/op", "full gcs", "mean vs 10^4", "p20+gc vs 10^4"],
    )
    pauses = ctx.table(
        f"One full collection (gc.collect()) with the ledger at {sizes[-1]:,} transactions",
        ["gc", "objects tracked", "pause ms", "cpu ms"],
    )
    for mode in ctx.gc_modes:
        label, chunks, pause = grow(ctx, mode, sizes[-1], chunk)
        pauses.add(
            label, f"{pause.end:,}", f"{pause.wall_ns / 1e6:.0f}", f"{pause.cpu_ns / 1e6:.0f}"
        )
        base: WindowCost | None = None
        for size in sizes:
            cost = WindowCost.of([c for c in chunks if size // 2 < c.end <= size], chunk)
            base = base or cost
            table.add(
                f"{size // 2:,}->{size:,}",
                label,
                fmt_us(cost.mean),
                fmt_us(cost.median),
                fmt_us(cost.low),
                fmt_us(cost.pauses),
                fmt_us(cost.steady),
                fmt_us(cost.worst),
                fmt_us(cost.cpu),
                cost.full_gcs,
                fmt_ratio(cost.mean / base.mean),
                fmt_ratio(cost.steady / base.steady),
            )
            if size == sizes[-1]:
                ctx.target(
                    f"earn at {size:,} txns / earn at 10,000 ({mode} gc, p20+gc pauses)",
                    cost.steady / base.steady,
                    GROWTH_LIMIT,
                    note=f"amortized mean {cost.mean / base.mean:.2f}x,"
                    f" median chunk {cost.median / base.median:.2f}x",
                )
    table.show()
    pauses.show()


def memory(ctx: Context) -> None:
    """Bytes kept alive per transaction (tracemalloc), everything the core holds included."""
    count = 100_000 if ctx.quick else 1_000_000
    table = ctx.table(
        f"Memory kept per transaction (tracemalloc; {MEMBERS:,} members; the clock advances"
        " 1 s before every earn, so each transaction holds its own datetime)",
        ["implementation", "bytes/txn", "peak bytes/txn"],
    )
    floor_count = 100_000
    ctx.log(f"memory: floor, {floor_count:,} earns under tracemalloc")
    kept, peak, _ = traced(floor_fill(floor_count))
    table.add(
        f"floor (dict + list of 5-tuples), {floor_count:,} earns",
        fmt_bytes(kept / floor_count),
        fmt_bytes(peak / floor_count),
    )

    ctx.log(f"memory: core, {count:,} earns under tracemalloc")
    program, clock, ids = new_program(MEMBERS)
    earn = program.earn

    def core_fill() -> None:
        for i in range(count):
            clock.advance(1)
            earn(ids[i % MEMBERS], EARN_POINTS)

    with ctx.gc_mode("bulk"):  # only to fill faster; traced() collects before it measures
        kept, peak, top = traced(core_fill)
    per_txn = kept / count
    table.add(f"core (Program.earn), {count:,} earns", fmt_bytes(per_txn), fmt_bytes(peak / count))
    table.show()
    breakdown = ctx.table(
        "Where the core's bytes per transaction are allocated (tracemalloc, by line)",
        ["allocated at", "bytes/txn"],
    )
    for where, size in top:
        breakdown.add(where, fmt_bytes(size / count))
    breakdown.show()
    ctx.target(f"core bytes per transaction at {count:,}", per_txn, BYTES_LIMIT, unit=" B")
    del program


def floor_fill(count: int) -> Callable[[], None]:
    """A fill of the floor ledger that keeps it alive until the fill's closure goes."""
    floor_ids = list(range(1, MEMBERS + 1))
    floor = FloorLedger(floor_ids)
    clock = ManualClock(START)

    def fill() -> None:
        for i in range(count):
            floor.now = clock.advance(1)
            floor.earn(floor_ids[i % MEMBERS], EARN_POINTS)

    return fill


def traced(fill: Callable[[], None]) -> tuple[int, int, list[tuple[str, int]]]:
    """Bytes still allocated after `fill`, its peak, and the biggest allocation sites."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        fill()
        gc.collect()
        current, peak = tracemalloc.get_traced_memory()
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    ignore = [tracemalloc.Filter(False, tracemalloc.__file__)]
    diff = after.filter_traces(ignore).compare_to(before.filter_traces(ignore), "lineno")
    top: list[tuple[str, int]] = []
    for stat in diff[:8]:
        frame = stat.traceback[0]
        name = frame.filename.rsplit("/src/", 1)[-1].rsplit("/benchmarks/", 1)[-1]
        where = f"{name}:{frame.lineno}"
        if name == "<string>":
            where += " (a NamedTuple's generated __new__)"
        top.append((where, stat.size_diff))
    return current - base, peak - base, top


def profile(ctx: Context) -> None:
    """cProfile of Program.earn and Program.spend, 10^4 members, 10^4 ops each."""
    program, clock, ids = new_program(MEMBERS)
    tick = clock.advance
    earn = batch_of(program.earn, ids, EARN_POINTS, lambda: None)
    spend = batch_of(program.spend, ids, SPEND_POINTS, lambda: None)
    for _ in range(3):
        tick(1)
        earn()
    ctx.profile("Program.earn", earn)
    ctx.profile("Program.spend", spend)
