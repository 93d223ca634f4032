"""`python -m fakeservers`: serve the Smile.io and ShopSocially fakes on loopback ports.

Both fakes share one clock (wall time that `/_fake/clock` can still set and advance). The
actual URLs and the demo credentials are printed once the sockets are bound.
"""

from __future__ import annotations

import argparse
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from fakeservers._http import Clock, OffsetClock, ServerThread, serve_in_thread
from loyaltykit import SystemClock

if TYPE_CHECKING:
    from _typeshed.wsgi import WSGIApplication

__all__ = ["main"]


def _smile(clock: Clock) -> tuple[WSGIApplication, list[str]]:
    from fakeservers.smile import DEMO_KEY, DEMO_PUBLIC_APP_TOKEN, create_app

    lines = [
        f"  Authorization: Bearer {DEMO_KEY}",
        f"  public-app token: {DEMO_PUBLIC_APP_TOKEN}",
    ]
    return create_app(clock=clock), lines


def _shopsocially(clock: Clock) -> tuple[WSGIApplication, list[str]] | None:
    """The ShopSocially fake, if that package is present and importable."""
    try:
        from fakeservers.shopsocially import DEMO_API_KEY, DEMO_PARTNER_ID, create_app
    except ImportError:
        return None
    lines = [f"  partner-id: {DEMO_PARTNER_ID}", f"  api-key: {DEMO_API_KEY}"]
    return create_app(clock=clock), lines


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m fakeservers", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--smile-port", type=int, default=8001, help="0 picks a free port")
    parser.add_argument("--shopsocially-port", type=int, default=8002, help="0 picks a free port")
    return parser.parse_args(argv)


def start(
    host: str, ports: dict[str, int], clock: Clock, echo: Callable[[str], None] = print
) -> list[ServerThread]:
    """Bind and start every available fake; print where each one listens."""
    builders = {"smile": _smile, "shopsocially": _shopsocially}
    servers = []
    for name, build in builders.items():
        built = build(clock)
        if built is None:
            echo(f"{name}: not available (package missing)")
            continue
        app, lines = built
        server = serve_in_thread(app, host, ports[name])
        servers.append(server)
        echo(f"{name}: {server.url}")
        for line in lines:
            echo(line)
    return servers


def main(argv: Sequence[str] | None = None, stop: threading.Event | None = None) -> int:
    args = parse_args(argv)
    ports = {"smile": args.smile_port, "shopsocially": args.shopsocially_port}
    servers = start(args.host, ports, OffsetClock(SystemClock()))
    print("control plane: <url>/_fake/ ; press Ctrl-C to stop", flush=True)
    try:
        (stop or threading.Event()).wait()
    except KeyboardInterrupt:
        pass
    finally:
        for server in servers:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
