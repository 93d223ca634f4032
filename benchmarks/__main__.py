"""`python -m benchmarks`: discover the groups, run the chosen ones, print tables and targets."""

from __future__ import annotations

import argparse
import gc
import importlib
import os
import pkgutil
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType

import benchmarks
from benchmarks._harness import GC_MODES, Context


@dataclass(frozen=True)
class Group:
    name: str
    module: ModuleType

    @property
    def title(self) -> str:
        return str(getattr(self.module, "TITLE", self.name))

    @property
    def run(self) -> Callable[[Context], None]:
        run: Callable[[Context], None] = self.module.run
        return run

    @property
    def profile(self) -> Callable[[Context], None] | None:
        profile: Callable[[Context], None] | None = getattr(self.module, "profile", None)
        return profile


def group_names() -> list[str]:
    """Every `benchmarks/<name>.py` not starting with an underscore, core first."""
    names = [
        info.name
        for info in pkgutil.iter_modules(benchmarks.__path__)
        if not info.name.startswith("_")
    ]
    return sorted(names, key=lambda n: (n != "core", n))


def load(name: str) -> Group:
    module = importlib.import_module(f"benchmarks.{name}")
    if not callable(getattr(module, "run", None)):
        raise SystemExit(f"benchmarks/{name}.py defines no run(ctx) function")
    return Group(name, module)


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="loyaltykit benchmarks: microseconds per operation, side by side.",
    )
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes")
    parser.add_argument("--only", default="", help="comma-separated groups to run")
    parser.add_argument("--list", action="store_true", help="list the groups and exit")
    parser.add_argument(
        "--profile", action="store_true", help="profile the groups' hot paths instead"
    )
    parser.add_argument(
        "--gc",
        default="default,bulk",
        help=f"comma-separated gc settings to measure under ({', '.join(GC_MODES)})",
    )
    parser.add_argument("--repeats", type=int, default=0, help="timed repeats (default 7)")
    parser.add_argument("--silent", action="store_true", help="no progress lines on stderr")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse(argv)
    available = group_names()
    if args.list:
        for name in available:
            print(f"{name:14} {load(name).title}")
        return 0
    chosen = [n.strip() for n in args.only.split(",") if n.strip()] or available
    unknown = [n for n in chosen if n not in available]
    if unknown:
        print(f"unknown group(s) {', '.join(unknown)}; found {', '.join(available)}")
        return 2
    modes = tuple(m.strip() for m in args.gc.split(",") if m.strip())
    bad = [m for m in modes if m not in GC_MODES]
    if bad or not modes:
        print(f"unknown gc setting(s) {', '.join(bad)}; choose from {', '.join(GC_MODES)}")
        return 2
    repeats = args.repeats or (3 if args.quick else 7)
    ctx = Context(
        quick=args.quick,
        repeats=repeats,
        warmup=1,
        gc_modes=modes,
        verbose=not args.silent,
    )
    print(
        f"loyaltykit benchmarks: Python {platform.python_version()}"
        f" ({platform.python_implementation()}) on {platform.machine()},"
        f" {os.cpu_count()} CPUs; gc thresholds {gc.get_threshold()};"
        f" {'profile' if args.profile else 'quick' if args.quick else 'full'} run,"
        f" median of {repeats} timed repeats"
        f" after 1 warm-up; gc settings: {', '.join(modes)};"
        f" load average {load_average()} (other processes inflate wall times; compare"
        " the cpu column)\n",
        flush=True,
    )
    started = time.perf_counter()
    for name in chosen:
        group = load(name)
        ctx.group = name
        print(f"== {name}: {group.title}\n", flush=True)
        if args.profile:
            if group.profile is None:
                print(f"(group {name} has no profile())\n")
                continue
            group.profile(ctx)
        else:
            group.run(ctx)
    if ctx.targets:
        print("Targets (reported, never asserted):")
        for name, target in ctx.targets:
            print(f"{target.line()}  [{name}]")
    print(f"\ntotal wall time {time.perf_counter() - started:.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
