"""`python -m fakeservers` (or `loyaltykit-fakes`): serve the Smile.io and ShopSocially fakes.

Both fakes share one clock (wall time that `/_fake/clock` can still set and advance) and
are served by waitress (HTTP/1.1 keep-alive), one log line per request. The actual URLs
and every tenant's credentials are printed once the sockets are bound; Ctrl-C stops.
Tenants live in memory unless `--data-dir DIR` keeps them (and the clock) in DIR/fakes.db.

The control plane (`/_fake/`) answers loopback Host names only (`--allowed-host` adds
more) and, with `--control-token`, only requests carrying the token; serving beyond
loopback (`--host 0.0.0.0`) requires the token. A bad option or seed file is reported as
`error: ...` with exit status 2.
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

from fakeservers._http import Clock, OffsetClock, ServerOptions, ServerThread
from fakeservers._http.access import is_loopback_bind
from fakeservers._http.serving import MAX_CHANNEL_TIMEOUT, MAX_CONNECTIONS, MAX_THREADS
from loyaltykit import SystemClock

if TYPE_CHECKING:
    from fakeservers.toolkit import DataDir

__all__ = ["CannotListen", "main", "program_name"]

VENDORS = ("smile", "shopsocially")
TOKEN_VARIABLE = "FAKESERVERS_CONTROL_TOKEN"
HOSTS_VARIABLE = "FAKESERVERS_ALLOWED_HOSTS"


def _bounded(upper: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if not 1 <= value <= upper:
            raise argparse.ArgumentTypeError(f"must be between 1 and {upper}")
        return value

    return parse


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
    defaults = ServerOptions()
    parser.add_argument(
        "--threads",
        type=_bounded(MAX_THREADS),
        default=defaults.threads,
        help=f"worker threads per server (default {defaults.threads})",
    )
    parser.add_argument(
        "--connection-limit",
        type=_bounded(MAX_CONNECTIONS),
        default=defaults.connection_limit,
        help="open connections per server; more wait in the listen backlog "
        f"(default {defaults.connection_limit})",
    )
    parser.add_argument(
        "--channel-timeout",
        type=_bounded(MAX_CHANNEL_TIMEOUT),
        default=defaults.channel_timeout,
        metavar="SECONDS",
        help="close a connection idle this long, e.g. one that sent half a request "
        f"(default {defaults.channel_timeout})",
    )
    parser.add_argument(
        "--control-token",
        default=os.environ.get(TOKEN_VARIABLE) or None,
        help="require this token in the X-Fake-Control-Token header of every /_fake/ "
        f"request (default: ${TOKEN_VARIABLE}); needed to serve beyond loopback",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        metavar="NAME",
        help="a Host name the control plane answers besides loopback names (repeatable; "
        f"'*' for any; default: ${HOSTS_VARIABLE}, comma-separated)",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="keep every tenant (configuration, credentials, ledger) and the clock across "
        "restarts in DIR/fakes.db (created if needed; a DIR already holding tenants is "
        "reopened as it was, and --seed only fills a new one). Default: in memory",
    )
    args = parser.parse_args(argv)
    if args.allowed_host is None:
        listed = os.environ.get(HOSTS_VARIABLE, "")
        args.allowed_host = [name.strip() for name in listed.split(",") if name.strip()]
    return args


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
    options: ServerOptions | None = None,
    control_token: str | None = None,
    allowed_hosts: Sequence[str] = (),
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
        fake = Fake(
            name,
            clock,
            seed=seed,
            data=data,
            control_token=control_token,
            allowed_hosts=allowed_hosts,
        )
        if fake.reopened:
            reopened.append(name)
        if rate_limited is not None:
            for tenant in fake.registry.tenants():
                fake.registry.set_rate_limited(tenant.name, rate_limited)
        try:
            fake.serve(host, ports[name], options=options or ServerOptions(threads=threads))
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
    from fakeservers.toolkit.seedfile import SeedError, read_seed_file

    seed = None
    if args.seed:
        try:
            seed = read_seed_file(args.seed)
        except SeedError as exc:
            print(f"error: {exc}", flush=True)
            return 2
    if not is_loopback_bind(args.host) and not args.control_token:
        print(
            f"error: --host {args.host} serves the control plane beyond this machine; give it "
            f"a token with --control-token (or ${TOKEN_VARIABLE})",
            file=sys.stderr,
            flush=True,
        )
        return 2
    if not is_loopback_bind(args.host) and not args.allowed_host:
        print(
            "warning: the control plane answers loopback Host names only; add the name "
            "clients use with --allowed-host",
            flush=True,
        )
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
        # A process started in the background by a shell (`cmd &`, nohup) inherits an
        # ignored SIGINT, and Python then leaves it ignored: `kill -INT` must still stop
        # the fakes (cleanly, as Ctrl-C does).
        signal.signal(signal.SIGINT, signal.default_int_handler)
    servers: list[ServerThread] = []
    try:
        servers = start(
            args.host,
            ports,
            data.clock() if data is not None else OffsetClock(SystemClock()),
            seed=seed,
            rate_limited=args.rate_limit,
            started=servers,
            data=data,
            options=ServerOptions(
                threads=args.threads,
                connection_limit=args.connection_limit,
                channel_timeout=args.channel_timeout,
            ),
            control_token=args.control_token,
            allowed_hosts=args.allowed_host,
        )
        print("control plane: <url>/_fake/ ; press Ctrl-C to stop", flush=True)
        while not done.wait(0.5):
            pass
    except (CannotListen, DataDirError, SeedError) as exc:
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
