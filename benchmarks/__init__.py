"""Side-by-side performance harness for loyaltykit (never part of the test run).

Run everything from the repository root with one command::

    python -m benchmarks                 # full run (a few minutes at most)
    python -m benchmarks --quick         # smoke run: fewer repeats, smaller sizes (seconds)
    python -m benchmarks --only core     # one group (comma-separated for several)
    python -m benchmarks --list          # the groups found
    python -m benchmarks --only core --profile   # cProfile of the group's hot paths
    python -m benchmarks --gc default,bulk,off   # which gc settings to measure under

Nothing here asserts a timing. Each group prints microseconds per operation (median of
several repeats, measured with `time.perf_counter_ns` after a warm-up), ratios against
baselines measured in the same run, and its targets marked "met" or "MISSED". Numbers are
only comparable within one run on one machine.

Garbage-collector settings (stated in every table row):

- ``default``: gc enabled with the interpreter's default thresholds.
- ``bulk``: the setting recommended for bulk loads and long-lived processes holding big
  ledgers: ``gc.set_threshold(50_000)`` and ``gc.freeze()`` after setup (long-lived
  objects move to the permanent generation and are never traversed again); a growing
  ledger calls ``gc.freeze()`` again every 100,000 writes (it is O(1), a few
  microseconds). Ledger entries are gc-tracked, so without the re-freeze every full
  collection walks the whole ledger (about half a second at 10^6 transactions).
- ``off``: ``gc.disable()``, a floor for what the collector costs.

Adding a group (for example ``smile`` or ``shopsocially``)
---------------------------------------------------------
Groups are discovered, not listed: every module ``benchmarks/<name>.py`` whose name does
not start with an underscore is the group ``<name>``. Such a module defines::

    TITLE = "Smile.io fake: REST round trips"        # one line, shown by --list

    def run(ctx: benchmarks.Context) -> None:         # required
        ...

    def profile(ctx: benchmarks.Context) -> None:     # optional, used by --profile
        ...

Inside ``run``, build the fixtures, then for each thing to time write a function that does
a batch of operations and returns how many it did, and hand it to the context::

    def batch() -> int:
        for member_id in member_ids:
            client.post(f"/v1/points_transactions", json={...})
        return len(member_ids)

    with ctx.gc_mode("default") as gc_label:
        timing = ctx.measure(batch)               # Timing.us is the median in microseconds
    table = ctx.table("Smile: create a points transaction", ["case", "gc", "us/op"])
    table.add("POST /points_transactions", gc_label, fmt_us(timing.us))
    table.show()
    ctx.target("POST within 10x of the core's earn", ratio, 10.0)

``ctx.quick`` tells a smoke run (use smaller sizes), ``ctx.repeats`` / ``ctx.warmup`` are
the defaults ``measure`` uses, ``ctx.gc_modes`` are the settings the user asked for, and
``ctx.log`` prints a progress line. Keep a group's full run under a minute or so.
"""

from benchmarks._harness import Context, Table, Timing, fmt_bytes, fmt_ratio, fmt_us

__all__ = ["Context", "Table", "Timing", "fmt_bytes", "fmt_ratio", "fmt_us"]
