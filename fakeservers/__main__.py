"""`python -m fakeservers` (or `loyaltykit-fakes`): serve the Smile.io and ShopSocially fakes.

Both fakes share one clock (wall time that `/_fake/clock` can still set and advance) and
are served by waitress (HTTP/1.1 keep-alive), one log line per request. The actual URLs
and every tenant's credentials are printed once the sockets are bound; Ctrl-C stops.
Tenants live in memory unless `--data-dir DIR` keeps them (and the clock) in DIR/fakes.db.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import logging
import os
import signal
import sys
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from fakeservers._http import Clock, OffsetClock, ServerThread
from loyaltykit import SystemClock

if TYPE_CHECKING:
    from fakeservers.toolkit import DataDir

__all__ = ["CannotListen", "main", "program_name"]

VENDORS = ("smile", "shopsocially")


def program_name(argv0: str | None = None) -> str:
    """How the user started us: `loyaltykit-fakes` (the script), else `python -m fakeservers`."""
    name = os.path.basename(sys.argv[0] if argv0 is None else argv0)
    return "python -m fakeservers" if name in ("", "__main__.py", "-c") else name


def parse_args(argv: Sequence[str] | None, prog: str | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=prog or program_name(), description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--smile-port", type=int, default=8001, help="0 picks a free port")
    parser.add_argument("--shopsocially-port", type=int, default=8002, help="0 picks a free port")
    parser.add_argument(
        "--seed",
        metavar="FILE",
        help="a seed file (fakeservers.seed/1 JSON, e.g. from GET /_fake/export): its tenants "
        "replace the demo tenant of each vendor it holds",
    )
    parser.add_argument(
        "--rate-limit",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="switch the vendors' rate limiting on (or off) for every tenant "
        "(default: as seeded; the demo tenants are not limited)",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="INFO logs one line per request (default); WARNING silences them",
    )
    parser.add_argument("--threads", type=int, default=8, help="worker threads per server")
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep every tenant (configuration, credentials, ledger) and the clock across "
        "restarts in DIR/fakes.db (created if needed; a DIR already holding tenants is "
        "reopened as it was, and --seed only fills a new one). Default: in memory",
    )
    return parser.parse_args(argv)


class CannotListen(Exception):
    """A server could not bind its address (port in use, no such interface, ...)."""


def _reason(exc: OSError) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            "address already in use (choose another port with --smile-port or "
            "--shopsocially-port; 0 picks a free one)"
        )
    if exc.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    return exc.strerror or str(exc)


def _available(name: str) -> bool:
    try:
        __import__(f"fakeservers.{name}")
    except ImportError:
        return False
    return True


def _credential_lines(fake: Any) -> list[str]:
    lines = []
    for tenant in fake.registry.tenants():
        for credential, kind in tenant.credentials.items():
            if fake.name == "smile" and kind != "secret":
                lines.append(f"  tenant {tenant.name}: {kind} token: {credential}")
                continue
            shown = "; ".join(f"{k}: {v}" for k, v in fake.vendor.headers(credential).items())
            lines.append(f"  tenant {tenant.name}: {shown}")
    return lines


def start(
    host: str,
    ports: Mapping[str, int],
    clock: Clock,
    echo: Callable[[str], None] = print,
    *,
    seed: Mapping[str, Any] | None = None,
    rate_limited: bool | None = None,
    threads: int = 8,
    started: list[ServerThread] | None = None,
    data: DataDir | None = None,
) -> list[ServerThread]:
    """Build, bind and start every available fake; print where each one listens. Each
    server is appended to `started` (a new list by default) as soon as it runs, so the
    caller can stop those when a later one cannot listen (`CannotListen`). With `data`,
    the fakes keep their tenants there (reopened if it holds them already)."""
    from fakeservers.toolkit import Fake

    servers = [] if started is None else started
    lines = []
    reopened = []
    for name in VENDORS:
        if not _available(name):
            lines.append(f"{name}: not available (package missing)")
            continue
        fake = Fake(name, clock, seed=seed, data=data)
        if fake.reopened:
            reopened.append(name)
        if rate_limited is not None:
            for tenant in fake.registry.tenants():
                fake.registry.set_rate_limited(tenant.name, rate_limited)
        try:
            fake.serve(host, ports[name], threads=threads)
        except OSError as exc:
            where = f"{host}:{ports[name]}"
            raise CannotListen(f"{name}: cannot listen on {where}: {_reason(exc)}") from None
        assert fake.server is not None
        servers.append(fake.server)
        lines.append(f"{name}: {fake.url}")
        lines.extend(_credential_lines(fake))
    lines.append(_data_line(data, reopened, seed))
    for line in lines:  # once every server listens
        echo(line)
    return servers


def _data_line(data: DataDir | None, reopened: list[str], seed: object) -> str:
    """Where the tenants live, for the banner."""
    if data is None:
        return "data: in memory (lost when the fakes stop; --data-dir DIR keeps it)"
    if not reopened:
        return f"data: kept in {data.path} (new)"
    line = f"data: kept in {data.path} (reopened: {', '.join(reopened)})"
    if seed is not None:
        line += "; --seed not loaded into the reopened fakes (a seed fills a new data dir)"
    return line


def _allow_open_files() -> None:
    """Raise this process's open-file limit to the system's ceiling: every kept tenant
    holds a SQLite connection (two file descriptors), and a common default of 1,024 would
    stop a data dir at about 500 tenants."""
    try:
        import resource
    except ImportError:  # pragma: no cover - not POSIX
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        with contextlib.suppress(ValueError, OSError):  # refused: keep the soft limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def main(argv: Sequence[str] | None = None, stop: threading.Event | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("fakeservers.access").setLevel(args.log_level)
    seed = None
    if args.seed:
        from fakeservers.toolkit.seedfile import SeedError, read_seed_file

        try:
            seed = read_seed_file(args.seed)
        except SeedError as exc:
            print(f"error: {exc}", flush=True)
            return 2
    ports = {"smile": args.smile_port, "shopsocially": args.shopsocially_port}
    from fakeservers.toolkit.datafile import DataDirError

    data = None
    if args.data_dir is not None:
        from fakeservers.toolkit import DataDir

        try:
            data = DataDir.open(args.data_dir)
        except DataDirError as exc:
            print(f"error: {exc}", file=sys.stderr, flush=True)
            return 2
        _allow_open_files()
    done = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: done.set())
    servers: list[ServerThread] = []
    try:
        servers = start(
            args.host,
            ports,
            data.clock() if data is not None else OffsetClock(SystemClock()),
            seed=seed,
            rate_limited=args.rate_limit,
            threads=args.threads,
            started=servers,
            data=data,
        )
        print("control plane: <url>/_fake/ ; press Ctrl-C to stop", flush=True)
        while not done.wait(0.5):
            pass
    except (CannotListen, DataDirError) as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 2
    except KeyboardInterrupt:
        print("stopping", flush=True)
    finally:
        for server in servers:
            server.stop()
        if data is not None:
            data.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
