"""Group `persist`: what `--data-dir` costs: a request on a kept tenant vs the same in memory.

The same toolkit `Fake` (what `python -m fakeservers` serves), built twice over one
`OffsetClock`: in memory, and kept in a fresh data dir (`DataDir`, SQLite WAL with
synchronous=NORMAL: every command committed before the request answers). Requests go
through werkzeug's test `Client` to the demo tenants, interleaved:

- Smile ``POST /v1/points_transactions`` (one core command: one commit);
- Smile ``POST /v1/activities`` without a `distinct_id` (a core award, then Smile's own
  activity record written in a second statement);
- ShopSocially ``POST /v2/loyalty/award`` (one core command);
- Smile ``GET /v1/customers/1`` (a read: one `PRAGMA data_version` to see whether another
  connection wrote).

Also timed once each: filling a new data dir with both demo tenants, and reopening it.
No target: the figures are reported for the docs (README, testing guide section 3).
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks._harness import Context, Timing, fmt_ratio, fmt_us
from benchmarks._wsgi import client_batch
from benchmarks.shopsocially import ACTIVITY
from fakeservers._http import OffsetClock
from fakeservers.smile.seed import DEMO_KEY
from fakeservers.toolkit import DataDir, Fake
from loyaltykit import SystemClock

TITLE = "Persistent fakes (--data-dir): write and read requests kept in SQLite vs in memory"

SMILE_HEADERS = {"Authorization": f"Bearer {DEMO_KEY}"}
SS_HEADERS = {"partner-id": "demo-partner", "api-key": "demo-api-key"}

# (label, vendor, method, path, headers, json body, form, status)
Case = tuple[str, str, str, str, dict[str, str], Any, dict[str, str] | None, int]
REQUESTS: tuple[Case, ...] = (
    ("Smile POST points_transaction", "smile", "POST", "/v1/points_transactions",
     SMILE_HEADERS, {"points_transaction": {"customer_id": 1, "points_change": 10,
                                            "description": "bench"}}, None, 201),
    ("Smile POST activity (+ record)", "smile", "POST", "/v1/activities", SMILE_HEADERS,
     {"activity": {"customer_id": 2, "token": "activity_f57a9b5a8d0ac5"}}, None, 201),
    ("ShopSocially POST award", "shopsocially", "POST", "/v2/loyalty/award", SS_HEADERS,
     None, {"user_email": "subhtestshop@gmail.com", "activity_id": "bench_award"}, 200),
    ("Smile GET customer", "smile", "GET", "/v1/customers/1", SMILE_HEADERS, None, None, 200),
)  # fmt: skip


def fakes(data: DataDir | None) -> dict[str, Fake]:
    clock = data.clock() if data is not None else OffsetClock(SystemClock())
    built = {name: Fake(name, clock, data=data) for name in ("smile", "shopsocially")}
    answer = client_batch(built["shopsocially"], "POST", "/v2/loyalty/activities", 1,
                          expect=200, headers=SS_HEADERS, data=ACTIVITY)  # fmt: skip
    answer()
    return built


def cases(count: int, folder: Path) -> tuple[dict[str, Callable[[], int]], DataDir]:
    data = DataDir.open(folder)
    kinds = {"memory": fakes(None), "kept": fakes(data)}
    batches: dict[str, Callable[[], int]] = {}
    for label, vendor, method, path, headers, body, form, status in REQUESTS:
        for kind, built in kinds.items():
            batches[f"{label}|{kind}"] = client_batch(
                built[vendor], method, path, count, expect=status, headers=headers,
                json=body, data=form,
            )  # fmt: skip
    return batches, data


def run(ctx: Context) -> None:
    count = 20 if ctx.quick else 50
    root = Path(tempfile.mkdtemp(prefix="bench-persist-"))
    try:
        for mode in ctx.gc_modes:
            batches, data = cases(count, root / f"requests-{mode}")
            try:
                with ctx.gc_mode(mode) as gc_label:
                    ctx.log(f"persist: {len(batches)} cases x {count} requests ({gc_label})")
                    timings = ctx.measure_many(batches, repeats=5 if ctx.quick else 15)
            finally:
                data.close()
            report(mode, gc_label, timings, count, ctx)
        fill, reopen = open_times(root, 3 if ctx.quick else 7)
        table = ctx.table(
            "Opening a data dir (both fakes, demo tenants), median", ["what", "ms"]
        )
        table.add("new data dir: build, seed and copy both demo tenants", f"{fill:.1f}")
        table.add("reopen it: both tenants, their programs and records", f"{reopen:.1f}")
        table.add("for scale: both fakes in memory", f"{memory_time(7):.1f}")
        table.show()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def report(mode: str, gc_label: str, timings: dict[str, Timing], count: int,
           ctx: Context) -> None:  # fmt: skip
    repeats = len(next(iter(timings.values())).samples)
    table = ctx.table(
        f"One request per op through the test Client, median of {repeats} batches of {count},"
        f" interleaved, {mode} gc",
        ["request", "data", "gc", "us/op", "min-max", "cpu us/op", "kept/memory", "by cpu",
         "extra us"],
    )  # fmt: skip
    for label, *_ in REQUESTS:
        memory = timings[f"{label}|memory"]
        kept = timings[f"{label}|kept"]
        for name, timing in (("memory", memory), ("kept (--data-dir)", kept)):
            mine = timing is kept
            table.add(
                label, name, gc_label, fmt_us(timing.us), timing.spread, fmt_us(timing.cpu_us),
                fmt_ratio(kept.us / memory.us) if mine else "",
                fmt_ratio(kept.cpu_us / memory.cpu_us) if mine else "",
                fmt_us(kept.us - memory.us) if mine else "",
            )  # fmt: skip
    table.show()


def open_times(root: Path, repeats: int) -> tuple[float, float]:
    """Median ms to fill a new data dir, and to reopen it."""
    fills, reopens = [], []
    for n in range(repeats):
        folder = root / f"open-{n}"
        start = time.perf_counter()
        with DataDir.open(folder) as data:
            fakes(data)
        fills.append(time.perf_counter() - start)
        start = time.perf_counter()
        with DataDir.open(folder) as data:
            for name in ("smile", "shopsocially"):
                Fake(name, data.clock(), data=data)
        reopens.append(time.perf_counter() - start)
    return _median(fills) * 1000, _median(reopens) * 1000


def memory_time(repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fakes(None)
        times.append(time.perf_counter() - start)
    return _median(times) * 1000


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[len(ordered) // 2]
