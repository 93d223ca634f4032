"""Group `scale`: reads as history grows (P7), and what the indexes cost writes (P8).

P7 (issue 13): the reads of the issue's table, through werkzeug's test `Client` on the
demo tenants of both fakes, and the core's paged queries called directly, each timed on
one process at every history size (interleaved, so a busy moment hurts all sizes alike):

- "issue": the issue's setup: the demo tenant, one member with 10 transactions;
- "page": the same, with every page full (110 more customers / users; the member with 60
  transactions, a third of them redemptions on the Smile side), so a page holds as many
  records as it will at any size;
- "20,000": the member with 20,000 transactions and 1,000 more customers / users;
- "10^5": the member with 10^5 transactions and 10^4 more customers / users.

A transaction mix: awards of an activity without expiry (half), manual earns (a quarter),
deductions (a quarter); on the Smile side every fifth is a redemption (a points purchase
and a reward fulfillment). The clock moves a second per transaction. The issue's table is
printed as it stands (its ratio at 10 mixes history with page size: at 10 the demo's few
customers do not fill a page of 50); the target is judged against the "page" fixture:
cost at 10^5 <= 1.5x the cost with the same page over a short history.

Also: `sortedcontainers.SortedList` against `bisect` on plain lists, for the two ways the
indexes receive ids (in order at the tail; out of order, a record moving to the tail as
its time of last change moves), at 10^4 to 10^6 entries.

P8: the core group's write benchmarks run again here (earn vs sqlite3 and vs the floor,
earn at 10^6 vs 10^4, bytes per transaction), judged as P8.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from bisect import bisect_left, insort
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sortedcontainers import SortedList
from werkzeug.test import Client

from benchmarks import core, shopsocially
from benchmarks._harness import Context, Timing, fmt_ratio, fmt_us
from fakeservers.shopsocially import create_app as shopsocially_app
from fakeservers.shopsocially.seed import DEMO_API_KEY, DEMO_PARTNER_ID
from fakeservers.smile import create_app as smile_app
from fakeservers.smile.seed import DEMO_KEY
from loyaltykit import ManualClock, Program, TxnKind

TITLE = "reads at 10 / 20,000 / 10^5 transactions (P7), indexes vs writes (P8)"

START = datetime(2025, 1, 1, tzinfo=UTC)
SECOND = timedelta(seconds=1)
P7_LIMIT = 1.5
SIZES = {"issue": (10, 0), "page": (60, 110), "20,000": (20_000, 1_000), "10^5": (100_000, 10_000)}
"""Fixture name -> (transactions of the member, customers / users added)."""
QUICK_SIZES = {"issue": (10, 0), "page": (60, 110), "20,000": (2_000, 200), "10^5": (10_000, 1_000)}

SMILE_HEADERS = {"Authorization": f"Bearer {DEMO_KEY}"}
SS_HEADERS = {"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY}
SS_USER = "subhtestshop@gmail.com"
RANGE = "from_date=01/01/2015&to_date=12/31/2026"
SS_ACTIVITY = {**shopsocially.ACTIVITY, "activity_id": "bench_scale"}
"""The shopsocially group's activity (5 points, immediate, no limit, no expiry)."""

# (label, path, in the issue's table). Smile paths are relative to the fake's root.
SMILE_READS: tuple[tuple[str, str, bool], ...] = (
    ("Smile GET /v1/customers/1", "/v1/customers/1", True),
    ("Smile GET /v1/customers?limit=50", "/v1/customers?limit=50", True),
    (
        "Smile GET /v1/points_transactions?customer_id=1&limit=50",
        "/v1/points_transactions?customer_id=1&limit=50",
        True,
    ),
    ("Smile GET /v1/points_transactions?limit=50", "/v1/points_transactions?limit=50", True),
    (
        "Smile GET /v1/points_transactions?page=2&page_size=25 (classic)",
        "/v1/points_transactions?page=2&page_size=25",
        False,
    ),
    (
        "Smile GET /v1/points_transactions?customer_id=1&updated_at_min=<first>&limit=50",
        "/v1/points_transactions?customer_id=1&updated_at_min=2025-01-01T00:00:00Z&limit=50",
        False,
    ),
    (
        "Smile GET /v1/customers?updated_at_min=<first>&limit=50",
        "/v1/customers?updated_at_min=2025-01-01T00:00:00Z&limit=50",
        False,
    ),
    (
        "Smile GET /v1/reward_fulfillments?customer_id=1&limit=10",
        "/v1/reward_fulfillments?customer_id=1&limit=10",
        False,
    ),
    ("Smile GET /v1/points_purchases?limit=10", "/v1/points_purchases?limit=10", False),
)
SS_READS: tuple[tuple[str, str, bool], ...] = (
    ("ShopSocially GET /v2/loyalty/users/{email}", f"/v2/loyalty/users/{SS_USER}", True),
    (
        "ShopSocially GET .../users/{email}/transactions (date range)",
        f"/v2/loyalty/users/{SS_USER}/transactions?{RANGE}",
        True,
    ),
    (
        "ShopSocially GET .../transactions (date range)",
        f"/v2/loyalty/transactions?{RANGE}",
        True,
    ),
    ("ShopSocially GET .../users (date range)", f"/v2/loyalty/users?{RANGE}", True),
    (
        "ShopSocially GET .../transactions (date range, start_index=50)",
        f"/v2/loyalty/transactions?{RANGE}&start_index=50",
        False,
    ),
    (
        "ShopSocially GET .../users/points",
        "/v2/loyalty/users/points?user_id=6",
        False,
    ),
)


@dataclasses.dataclass
class Fixture:
    """One history size: both fakes and a bare core program, with their clients."""

    smile: Client
    shopsocially: Client
    program: Program
    member: int
    recent: datetime


def grow_smile(client: Client, clock: ManualClock, txns: int, customers: int) -> None:
    program = client.application.registry.tenant("demo").program.program  # type: ignore[attr-defined]
    offer = program.offers()[0].id
    rule = program.rules()[0].id
    for n in range(customers):
        program.add_member(email=f"bench{n}@example.com", first_name="Bench")
    program.earn(1, 600 * txns)  # enough for every redemption (500 points) and deduction
    for n in range(txns - 1):
        clock.advance(SECOND)
        if n % 5 == 4:
            program.redeem(1, offer)
        elif n % 4 == 0:
            program.spend(1, 3, description="deduction")
        elif n % 4 == 1:
            program.earn(1, 7, description="manual")
        else:
            program.award(1, rule)


def grow_shopsocially(client: Client, clock: ManualClock, txns: int, users: int) -> None:
    made = client.post("/v2/loyalty/activities", headers=SS_HEADERS, data=SS_ACTIVITY)
    assert made.status_code == 200, made.get_data()
    program: Program = client.application.registry.tenant("demo").program  # type: ignore[attr-defined]
    member = program.member_by_email(SS_USER).id
    rule = next(r.id for r in program.rules() if r.metadata.get("activity_id") == "bench_scale")
    for n in range(users):
        program.add_member(
            email=f"bench{n}@example.com",
            external_id=f"bench{n}",
            first_name="Bench",
            last_name="User",
        )
    program.earn(member, 10 * txns)
    for n in range(txns - 1):
        clock.advance(SECOND)
        if n % 4 == 0:
            program.spend(member, 3, description="deduction")
        elif n % 4 == 1:
            program.earn(member, 7, description="manual")
        else:
            program.award(member, rule)


def grow_core(clock: ManualClock, txns: int, members: int) -> tuple[Program, datetime]:
    """A plain program: `members` + 1 members, the first with `txns` transactions (of them
    a redemption every fifth), the others with one earn each, 50 of them renamed at the
    end; returns it and a recent instant (55 transactions before the end)."""
    program = Program(clock, seed=1)
    pool = program.add_pool(name="codes", prefix="b")
    offer = program.add_offer(name="$1", points_price=5, pool_id=pool.id).id
    rule = program.add_rule(name="visit", points=5).id
    first = program.add_member(email="first@example.com").id
    for n in range(members):
        program.earn(program.add_member(email=f"m{n}@example.com").id, 1)
    program.earn(first, 10 * txns)
    recent = clock.now()
    for n in range(txns - 1):
        clock.advance(SECOND)
        if n == txns - 56:
            recent = clock.now()
        if n % 5 == 4:
            program.redeem(first, offer)
        elif n % 4 == 0:
            program.spend(first, 3)
        elif n % 4 == 1:
            program.earn(first, 7)
        else:
            program.award(first, rule)
    for member_id in range(2, min(members, 50) + 2):
        program.update_member(member_id, first_name="Changed")
    return program, recent


def fixture(ctx: Context, name: str, txns: int, extra: int) -> Fixture:
    ctx.log(f"scale: building the {name} fixture ({txns:,} transactions, {extra:,} members)")
    clock = ManualClock(START)
    smile = Client(smile_app(clock=clock))
    grow_smile(smile, clock, txns, extra)
    clock = ManualClock(START)
    shopsocially = Client(shopsocially_app(clock=clock))
    grow_shopsocially(shopsocially, clock, txns, extra)
    program, recent = grow_core(ManualClock(START), txns, extra)
    return Fixture(smile, shopsocially, program, 1, recent)


def http_batch(client: Client, path: str, headers: dict[str, str], count: int) -> Callable[[], int]:
    def batch() -> int:
        status = 200
        for _ in range(count):
            status = client.get(path, headers=headers).status_code
        if status != 200:
            raise RuntimeError(f"{path}: status {status}")
        return count

    return batch


CoreRead = Callable[[Program, int, datetime], object]
CORE_READS: tuple[tuple[str, CoreRead], ...] = (
    ("core transactions_page(member, limit=20)", lambda p, m, t: p.transactions_page(m, limit=20)),
    ("core transactions_page(limit=50)", lambda p, m, t: p.transactions_page(limit=50)),
    (
        "core transactions_page(member, since=recent, by_time, offset=20, limit=20)",
        lambda p, m, t: p.transactions_page(m, since=t, by_time=True, offset=20, limit=20),
    ),
    (
        "core count_transactions(member, since=recent, kinds=no redeem)",
        lambda p, m, t: p.count_transactions(m, since=t, kinds=set(TxnKind) - {TxnKind.REDEEM}),
    ),
    (
        "core transactions_page(posted_since=recent, limit=50)",
        lambda p, m, t: p.transactions_page(posted_since=t, limit=50),
    ),
    ("core members_page(limit=50)", lambda p, m, t: p.members_page(limit=50)),
    (
        "core members_page(updated_since=recent, limit=50)",
        lambda p, m, t: p.members_page(updated_since=t, limit=50),
    ),
    ("core count_members(since=start)", lambda p, m, t: p.count_members(since=START)),
    ("core fulfillments_page(member, limit=10)", lambda p, m, t: p.fulfillments_page(m, limit=10)),
    ("core member(member) (running totals)", lambda p, m, t: p.member(m)),
)


def core_batch(fix: Fixture, read: CoreRead, count: int) -> Callable[[], int]:
    program, member, recent = fix.program, fix.member, fix.recent

    def batch() -> int:
        for _ in range(count):
            read(program, member, recent)
        return count

    return batch


def reads(ctx: Context) -> None:
    sizes = QUICK_SIZES if ctx.quick else SIZES
    fixtures = {name: fixture(ctx, name, *size) for name, size in sizes.items()}
    count = 5 if ctx.quick else 20
    cases: dict[str, Callable[[], int]] = {}
    rows: list[tuple[str, bool]] = []
    for label, path, in_issue in SMILE_READS:
        rows.append((label, in_issue))
        for name, fix in fixtures.items():
            cases[f"{label}|{name}"] = http_batch(fix.smile, path, SMILE_HEADERS, count)
    for label, path, in_issue in SS_READS:
        rows.append((label, in_issue))
        for name, fix in fixtures.items():
            cases[f"{label}|{name}"] = http_batch(fix.shopsocially, path, SS_HEADERS, count)
    for label, read in CORE_READS:
        rows.append((label, False))
        for name, fix in fixtures.items():
            cases[f"{label}|{name}"] = core_batch(fix, read, count * 5)
    with ctx.gc_mode("default") as gc_label:
        ctx.log(f"scale: {len(cases)} read cases x {count} ({gc_label})")
        timings = ctx.measure_many(cases, repeats=3 if ctx.quick else 7)
    names = list(sizes)
    issue_table = ctx.table(
        "The issue's table as it stands (us per read through the werkzeug test Client; the"
        " ratio at 10 also counts the page filling up: the demo has a handful of customers)",
        ["read", "at 10", "at 20,000", "ratio", "at 10^5", "ratio"],
    )
    table = ctx.table(
        f"P7: each read with full pages, at {sizes['page'][0]} transactions / "
        f"{sizes['page'][1]} more members vs 20,000 / 1,000 vs 10^5 / 10^4"
        f" (us per read, median of the repeats; {gc_label})",
        ["read", "page", "20,000", "ratio", "10^5", "ratio", "cpu ratio"],
    )
    for label, in_issue in rows:
        found = {name: timings[f"{label}|{name}"] for name in names}
        base, mid, big = found["page"], found["20,000"], found["10^5"]
        if in_issue:
            issue_table.add(label, *_growth(found["issue"], mid, big))
        table.add(label, *_growth(base, mid, big), fmt_ratio(big.cpu_us / base.cpu_us))
        ctx.target(
            f"P7 {label}: 10^5 / page",
            big.us / base.us,
            P7_LIMIT,
            note=f"by cpu time {big.cpu_us / base.cpu_us:.2f}x",
        )
    issue_table.show()
    table.show()


def _growth(small: Timing, mid: Timing, big: Timing) -> list[str]:
    """Cells: the small cost, the middle cost and its ratio, the big cost and its ratio."""
    return [
        fmt_us(small.us),
        fmt_us(mid.us),
        fmt_ratio(mid.us / small.us),
        fmt_us(big.us),
        fmt_ratio(big.us / small.us),
    ]


Key = tuple[datetime, int]


def _ns_per(op: Callable[[Key], object], keys: list[Key]) -> float:
    """Nanoseconds per call of `op` over `keys`."""
    start = time.perf_counter_ns()
    for key in keys:
        op(key)
    return (time.perf_counter_ns() - start) / len(keys)


def sorted_vs_bisect(ctx: Context) -> None:
    """Adding ids in order at the tail, and moving an entry to the tail (remove, add)."""
    sizes = [10_000, 100_000] if ctx.quick else [10_000, 100_000, 1_000_000]
    table = ctx.table(
        "SortedList vs bisect on a plain list, ns per operation (keys: (datetime, id) tuples)",
        [
            "entries",
            "append at tail: list.append",
            "insort (tail)",
            "SortedList.add (tail)",
            "move to tail: list del+append",
            "SortedList remove+add",
        ],
    )
    ops = 20_000
    for size in sizes:
        keys = [(START + i * SECOND, i) for i in range(size)]
        head, tail = keys[: size - ops], keys[size - ops :]
        appended, inserted, tree = list(head), list(head), SortedList(head)
        results = [
            _ns_per(appended.append, tail),
            _ns_per(functools.partial(insort, inserted), tail),
            _ns_per(tree.add, tail),
        ]
        plain, tree = list(keys), SortedList(keys)
        later = START + 2 * size * SECOND
        moved = keys[:: max(1, size // ops)][:ops]

        def move_plain(key: Key, plain: list[Key] = plain, later: datetime = later) -> None:
            del plain[bisect_left(plain, key)]
            plain.append((later + key[1] * SECOND, key[1]))

        def move_tree(key: Key, tree: SortedList = tree, later: datetime = later) -> None:
            tree.remove(key)
            tree.add((later + key[1] * SECOND, key[1]))

        results += [_ns_per(move_plain, moved), _ns_per(move_tree, moved)]
        table.add(f"{size:,}", *(f"{r:.0f}" for r in results))
    table.show()


def writes(ctx: Context) -> None:
    """P8: the core group's write measurements, judged as P8."""
    first = len(ctx.targets)
    core.compare(ctx)
    core.scaling(ctx)
    core.memory(ctx)
    for index in range(first, len(ctx.targets)):
        group, target = ctx.targets[index]
        ctx.targets[index] = (
            group,
            dataclasses.replace(target, description=f"P8 {target.description}"),
        )


def run(ctx: Context) -> None:
    reads(ctx)
    sorted_vs_bisect(ctx)
    writes(ctx)


def profile(ctx: Context) -> None:
    """cProfile of the slowest reads at the 10^5 fixture."""
    sizes = QUICK_SIZES if ctx.quick else SIZES
    fix = fixture(ctx, "10^5", *sizes["10^5"])
    for label, path, _ in SMILE_READS[:4]:
        ctx.profile(label, http_batch(fix.smile, path, SMILE_HEADERS, 50), top=15)
    for label, path, _ in SS_READS[:4]:
        ctx.profile(label, http_batch(fix.shopsocially, path, SS_HEADERS, 50), top=15)
