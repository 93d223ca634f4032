"""Timing, gc settings, tables and targets shared by every benchmark group."""

from __future__ import annotations

import cProfile
import gc
import io
import pstats
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field

__all__ = [
    "BULK_THRESHOLD",
    "GC_MODES",
    "Context",
    "Table",
    "Target",
    "Timing",
    "fmt_bytes",
    "fmt_ratio",
    "fmt_us",
]

BULK_THRESHOLD = 50_000
"""Generation-0 threshold of the ``bulk`` gc setting (with ``gc.freeze()`` after setup)."""

GC_MODES = ("default", "bulk", "off")

Batch = Callable[[], int]
"""Does a batch of operations and returns how many it did."""


@dataclass(frozen=True)
class Timing:
    """Nanoseconds per operation over several timed batches of `ops` operations each.

    `samples` is wall time (`time.perf_counter_ns`), the number reported; `cpu_samples`
    is this thread's CPU time over the same batches (`time.thread_time_ns`), which a busy
    machine inflates much less: when the two disagree, other processes were running.
    """

    samples: tuple[float, ...]
    cpu_samples: tuple[float, ...]
    ops: int

    @property
    def median_ns(self) -> float:
        return statistics.median(self.samples)

    @property
    def us(self) -> float:
        """The median wall time, in microseconds per operation."""
        return self.median_ns / 1000.0

    @property
    def mean_us(self) -> float:
        """The mean wall time: includes the rare batch that hit a full gc collection."""
        return statistics.fmean(self.samples) / 1000.0

    @property
    def cpu_us(self) -> float:
        """The median CPU time of this thread, in microseconds per operation."""
        return statistics.median(self.cpu_samples) / 1000.0

    @property
    def low_us(self) -> float:
        return min(self.samples) / 1000.0

    @property
    def high_us(self) -> float:
        return max(self.samples) / 1000.0

    @property
    def spread(self) -> str:
        return f"{self.low_us:.2f}-{self.high_us:.2f}"


@dataclass(frozen=True)
class Target:
    description: str
    measured: float
    limit: float
    higher_is_better: bool
    unit: str
    note: str = ""

    @property
    def met(self) -> bool:
        if self.higher_is_better:
            return self.measured >= self.limit
        return self.measured <= self.limit

    def line(self) -> str:
        sign = ">=" if self.higher_is_better else "<="
        status = "met" if self.met else "MISSED"
        return (
            f"  [{status:>6}] {self.description}: {self.measured:.2f}{self.unit}"
            f" (target {sign} {self.limit:g}{self.unit})"
            + (f"; {self.note}" if self.note else "")
        )


class Table:
    """A plain-text table printed with aligned columns."""

    def __init__(self, title: str, headers: Sequence[str]) -> None:
        self.title = title
        self.headers = list(headers)
        self.rows: list[list[str]] = []

    def add(self, *cells: object) -> None:
        if len(cells) != len(self.headers):
            raise ValueError(f"expected {len(self.headers)} cells, got {len(cells)}")
        self.rows.append([str(c) for c in cells])

    def render(self) -> str:
        widths = [len(h) for h in self.headers]
        for row in self.rows:
            widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]

        def line(cells: Sequence[str]) -> str:
            first, *rest = cells
            parts = [first.ljust(widths[0])]
            parts += [c.rjust(w) for c, w in zip(rest, widths[1:], strict=True)]
            return "  ".join(parts).rstrip()

        rule = "-" * (sum(widths) + 2 * (len(widths) - 1))
        body = [line(r) for r in self.rows]
        return "\n".join([self.title, rule, line(self.headers), rule, *body, rule])

    def show(self) -> None:
        print(self.render() + "\n", flush=True)


@dataclass
class Context:
    """What a group's `run` gets: settings, and helpers to time, tabulate and judge."""

    quick: bool = False
    repeats: int = 7
    warmup: int = 1
    gc_modes: tuple[str, ...] = ("default", "bulk")
    verbose: bool = True
    targets: list[tuple[str, Target]] = field(default_factory=list)
    group: str = ""
    started: float = field(default_factory=time.perf_counter)

    # -- timing ----------------------------------------------------------------------

    def measure(
        self, batch: Batch, *, repeats: int | None = None, warmup: int | None = None
    ) -> Timing:
        """Run `batch` `warmup` times untimed, then `repeats` times timed; ns per op each."""
        return self.measure_many({"": batch}, repeats=repeats, warmup=warmup)[""]

    def measure_many(
        self,
        batches: Mapping[str, Batch],
        *,
        repeats: int | None = None,
        warmup: int | None = None,
    ) -> dict[str, Timing]:
        """Time several batches interleaved: each repeat runs every batch once, in an order
        shuffled per repeat (seeded, so runs are comparable).

        Interleaving spreads a busy machine's slow moments over all the cases alike, so
        ratios between them stay meaningful. The shuffle keeps a case from always following
        the same neighbour: a batch can leave work behind for the next one (the werkzeug
        dev server closes a connection per request, and whatever runs right after it paid
        about 40 us a request more in the serving group).
        """
        for _ in range(self.warmup if warmup is None else warmup):
            for batch in batches.values():
                batch()
        wall: dict[str, list[float]] = {name: [] for name in batches}
        cpu: dict[str, list[float]] = {name: [] for name in batches}
        ops: dict[str, int] = dict.fromkeys(batches, 0)
        order = list(batches)
        shuffler = random.Random(20261201)
        for _ in range(self.repeats if repeats is None else repeats):
            shuffler.shuffle(order)
            for name in order:
                batch = batches[name]
                cpu_start = time.thread_time_ns()
                start = time.perf_counter_ns()
                done = batch()
                elapsed = time.perf_counter_ns() - start
                cpu_elapsed = time.thread_time_ns() - cpu_start
                wall[name].append(elapsed / done)
                cpu[name].append(cpu_elapsed / done)
                ops[name] = done
        return {name: Timing(tuple(wall[name]), tuple(cpu[name]), ops[name]) for name in batches}

    @contextmanager
    def gc_mode(self, mode: str) -> Iterator[str]:
        """Measure under one gc setting; everything alive now counts as setup.

        Yields the label to print. The previous thresholds, freeze state and enabled flag
        are restored afterwards.
        """
        if mode not in GC_MODES:
            raise ValueError(f"unknown gc mode {mode!r}; choose from {', '.join(GC_MODES)}")
        thresholds = gc.get_threshold()
        enabled = gc.isenabled()
        gc.collect()
        label = f"default{thresholds[0]}"
        if mode == "bulk":
            gc.freeze()
            gc.set_threshold(BULK_THRESHOLD, thresholds[1], thresholds[2])
            label = f"freeze+{BULK_THRESHOLD}"
        elif mode == "off":
            gc.disable()
            label = "off"
        try:
            yield label
        finally:
            gc.set_threshold(*thresholds)
            gc.unfreeze()
            if enabled:
                gc.enable()
            else:
                gc.disable()

    # -- output ----------------------------------------------------------------------

    def log(self, message: str) -> None:
        """A progress line on stderr, stamped with seconds since the context was made."""
        if self.verbose:
            elapsed = time.perf_counter() - self.started
            print(f"  .. {elapsed:6.1f}s {message}", file=sys.stderr, flush=True)

    def table(self, title: str, headers: Sequence[str]) -> Table:
        return Table(title, headers)

    def target(
        self,
        description: str,
        measured: float,
        limit: float,
        *,
        higher_is_better: bool = False,
        unit: str = "x",
        note: str = "",
    ) -> Target:
        """Record a target to report against (never asserted)."""
        target = Target(description, measured, limit, higher_is_better, unit, note)
        self.targets.append((self.group, target))
        return target

    def profile(self, label: str, batch: Batch, *, top: int = 18) -> None:
        """Run `batch` once under cProfile and print the costliest functions (own time)."""
        profiler = cProfile.Profile()
        profiler.enable()
        ops = batch()
        profiler.disable()
        buffer = io.StringIO()
        stats = pstats.Stats(profiler, stream=buffer)
        stats.sort_stats(pstats.SortKey.TIME).print_stats(top)
        print(f"cProfile: {label} ({ops} ops; times are totals for the batch)", flush=True)
        lines = buffer.getvalue().splitlines()
        start = next((i for i, text in enumerate(lines) if "ncalls" in text), 0)
        print("\n".join(lines[start:]).rstrip() + "\n", flush=True)


def fmt_us(us: float) -> str:
    return f"{us:.2f}" if us < 100 else f"{us:.0f}"


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.2f}x"


def fmt_bytes(count: float) -> str:
    return f"{count:.0f} B"
