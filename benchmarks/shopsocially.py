"""Group `shopsocially`: the ShopSocially fake's award and get-user in-process vs a floor.

The vendor app `fakeservers.shopsocially.create_app()` (demo tenant, `partner-id` /
`api-key` headers, a `ManualClock`) answers:

- ``POST /v2/loyalty/award``: form fields ``user_email=subhtestshop@gmail.com`` and
  ``activity_id=bench_award``, an activity the setup creates through the API (5 points,
  immediate approval, no award limit), so every request earns and the ledger grows by one
  transaction (and one lot) each;
- ``GET /v2/loyalty/users/bob@shopsocially.com``: another seeded user, whose history stays
  as seeded (a user's GET costs time in proportion to their lots and transactions, which
  the awards would otherwise grow while the cases are measured; see `profile`).

Each is sent through werkzeug's test `Client` and as a bare WSGI call with a prebuilt
environ (the apps' own cost), to the fake and to `MinimalApp` (a `Request`, a `Map` routing
the same path, a `Response` of the same body bytes the fake answered in setup), all cases
interleaved (see `Context.measure_many`), under each gc setting asked for.

Target (issue 4, item 8): through the test client, the fake within 1.5x of the minimal app.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from werkzeug.test import Client

from benchmarks._harness import Context, Timing, fmt_ratio, fmt_us
from benchmarks._wsgi import MinimalApp, client_batch, direct_batch, paired_ratio
from fakeservers.shopsocially import create_app
from fakeservers.shopsocially.seed import DEMO_API_KEY, DEMO_PARTNER_ID
from loyaltykit import ManualClock

TITLE = "ShopSocially fake in-process: award / get user vs a minimal werkzeug app"

START = datetime(2025, 1, 1, tzinfo=UTC)
HEADERS = {"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY}
USER = "bob@shopsocially.com"
AWARDED = "subhtestshop@gmail.com"
ACTIVITY = {
    "activity_id": "bench_award",
    "activity_name": "Benchmark award",
    "activity_description": "earned by the benchmark",
    "activity_type": "fixed",
    "points_per_activity": "5",
    "approval_method": "immediate",
    "max_award_frequency": "0",
    "max_award_frequency_interval": "lifetime",
    "is_active": "true",
}

VS_MINIMAL = 1.5

# (label, method, path, rule of the minimal app, form fields)
Case = tuple[str, str, str, str, Mapping[str, str] | None]
REQUESTS: tuple[Case, ...] = (
    (
        "POST award",
        "POST",
        "/v2/loyalty/award",
        "/v2/loyalty/award",
        {"user_email": AWARDED, "activity_id": "bench_award"},
    ),
    ("GET user", "GET", f"/v2/loyalty/users/{USER}", "/v2/loyalty/users/<user_email>", None),
)
CLIENTS = {"client": "werkzeug test Client", "direct": "bare WSGI call"}


def fixtures(count: int) -> dict[str, Callable[[], int]]:
    """Every case's batch, `count` requests each, over a fresh fake."""
    app = create_app(clock=ManualClock(START))
    client = Client(app)
    made = client.post("/v2/loyalty/activities", headers=HEADERS, data=ACTIVITY)
    if made.status_code != 200:
        raise RuntimeError(f"creating the activity: {made.status_code} {made.get_data()!r}")
    answers: dict[str, tuple[int, bytes]] = {}
    for label, method, path, _rule, form in REQUESTS:
        answer = client.open(path, method=method, headers=HEADERS, data=form)
        if answer.status_code != 200:
            raise RuntimeError(f"{label}: {answer.status_code} {answer.get_data()!r}")
        answers[label] = (answer.status_code, answer.get_data())
    minimal = MinimalApp(
        (method, rule, *answers[label]) for label, method, _path, rule, _form in REQUESTS
    )
    cases: dict[str, Callable[[], int]] = {}
    for label, method, path, _rule, form in REQUESTS:
        for kind, target in (("fake", app), ("minimal", minimal)):
            cases[f"{label}|client|{kind}"] = client_batch(
                target, method, path, count, expect=200, headers=HEADERS, data=form
            )
            cases[f"{label}|direct|{kind}"] = direct_batch(
                target, method, path, count, expect=200, headers=HEADERS, data=form
            )
    return cases


def run(ctx: Context) -> None:
    count = 50 if ctx.quick else 100
    for mode in ctx.gc_modes:
        cases = fixtures(count)
        with ctx.gc_mode(mode) as gc_label:
            ctx.log(f"shopsocially: {len(cases)} cases x {count} requests ({gc_label})")
            timings = ctx.measure_many(cases, repeats=5 if ctx.quick else 21)
        report(ctx, mode, gc_label, timings, count)


def report(
    ctx: Context, mode: str, gc_label: str, timings: dict[str, Timing], count: int
) -> None:
    repeats = len(next(iter(timings.values())).samples)
    table = ctx.table(
        f"ShopSocially fake in-process, one request per op, median of {repeats} batches of {count},"
        f" all cases interleaved (ratio = fake / minimal app in the same client), {mode} gc",
        ["request", "client", "implementation", "gc", "us/op", "min-max", "cpu us/op",
         "fake/minimal", "by cpu"],
    )
    for label, *_ in REQUESTS:
        for client, client_label in CLIENTS.items():
            fake = timings[f"{label}|{client}|fake"]
            base = timings[f"{label}|{client}|minimal"]
            for name, timing in (("ShopSocially fake", fake), ("minimal app", base)):
                ratio = timing is fake
                table.add(
                    label,
                    client_label,
                    name,
                    gc_label,
                    fmt_us(timing.us),
                    timing.spread,
                    fmt_us(timing.cpu_us),
                    fmt_ratio(fake.us / base.us) if ratio else "",
                    fmt_ratio(fake.cpu_us / base.cpu_us) if ratio else "",
                )
    table.show()
    for label, *_ in REQUESTS:
        fake = timings[f"{label}|client|fake"]
        base = timings[f"{label}|client|minimal"]
        ctx.target(
            f"{label}, test Client: ShopSocially fake / minimal werkzeug app ({mode} gc)",
            fake.us / base.us,
            VS_MINIMAL,
            note=f"by cpu time {fake.cpu_us / base.cpu_us:.2f}x,"
            f" paired per repeat {paired_ratio(fake, base):.2f}x",
        )


def profile(ctx: Context) -> None:
    """cProfile of the fake's award and get-user (bare WSGI calls, no client), then of the
    get-user of the awarded user, who holds one lot per award by then."""
    cases = fixtures(1000)
    for label, *_ in REQUESTS:
        batch = cases[f"{label}|direct|fake"]
        batch()
        ctx.profile(f"ShopSocially {label}, bare WSGI call", batch, top=30)
    app = create_app(clock=ManualClock(START))
    client = Client(app)
    client.post("/v2/loyalty/activities", headers=HEADERS, data=ACTIVITY)
    award = {"user_email": AWARDED, "activity_id": "bench_award"}
    for _ in range(2000):
        client.post("/v2/loyalty/award", headers=HEADERS, data=award)
    grown = direct_batch(
        app, "GET", f"/v2/loyalty/users/{AWARDED}", 200, expect=200, headers=HEADERS
    )
    seeded = direct_batch(
        app, "GET", f"/v2/loyalty/users/{USER}", 200, expect=200, headers=HEADERS
    )
    timings = ctx.measure_many({"seeded": seeded, "after 2,000 awards": grown}, repeats=5)
    for name, timing in timings.items():
        print(f"GET user, bare WSGI call, {name}: {fmt_us(timing.us)} us/op", flush=True)
    ctx.profile("ShopSocially GET user after 2,000 awards to that user", grown, top=12)
