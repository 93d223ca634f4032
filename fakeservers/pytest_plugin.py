"""pytest fixtures for the Smile.io and ShopSocially fakes (registered through `pytest11`).

Installed with loyaltykit, this plugin loads in every pytest run but does nothing until a
test asks for one of its fixtures by name (importing it costs nothing more than pytest).

Per vendor (`smile_...` and `shopsocially_...`):

* `<vendor>_fake_server` (session): the `Fake`, served by waitress on 127.0.0.1, port 0.
  Under pytest-xdist every worker process starts its own servers.
* `<vendor>_fake` (function): the same `Fake`, reset for this test: every tenant rebuilt
  from its seed, journal and faults cleared, the clock back at `fake_start`.
* `<vendor>_url`, `<vendor>_credentials` (`.headers`, `.api_key`, `.partner_id`),
  `<vendor>_program` (the tenant's core `Program`), `<vendor>_journal`, `<vendor>_faults`.

Shared: `fake_clock` (the one `ManualClock` of both fakes, reset to `fake_start`),
`fake_servers` (both fakes, reset) and `fake_hosts` (both fakes, reset, with requests for
`api.smile.io` / `api.shopsocially.com` routed to them in-process while the test runs).
Settings are session fixtures a `conftest.py` may override: `fake_start`, `fake_seed` (a
seed file path or document; None = demo tenants), `fake_rate_limited` (None = as seeded),
`fake_journal_size`, `fake_host`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from fakeservers.toolkit import Credentials, Fake, FaultInjector, Journal
    from loyaltykit import ManualClock, Program

DEFAULT_START = datetime(2024, 1, 1, tzinfo=UTC)

# --- settings ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_start() -> datetime:
    """Where the fakes' clock stands when each test starts."""
    return DEFAULT_START


@pytest.fixture(scope="session")
def fake_seed() -> str | Path | Mapping[str, Any] | None:
    """A seed file (path) or seed document for the fakes; None keeps the demo tenants."""
    return None


@pytest.fixture(scope="session")
def fake_rate_limited() -> bool | None:
    """Switch the vendors' rate limiting on or off for every tenant; None = as seeded."""
    return None


@pytest.fixture(scope="session")
def fake_journal_size() -> int:
    """How many requests each tenant's journal keeps."""
    return 1000


@pytest.fixture(scope="session")
def fake_host() -> str:
    return "127.0.0.1"


# --- the clock -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_session_clock(fake_start: datetime) -> ManualClock:
    from loyaltykit import ManualClock

    return ManualClock(fake_start)


@pytest.fixture
def fake_clock(fake_session_clock: ManualClock, fake_start: datetime) -> ManualClock:
    """The clock both fakes (and their programs) read, back at `fake_start`."""
    fake_session_clock.set(fake_start)
    return fake_session_clock


# --- servers -------------------------------------------------------------------------------


def _serve(
    name: str,
    clock: ManualClock,
    seed: str | Path | Mapping[str, Any] | None,
    journal_size: int,
    host: str,
) -> Iterator[Fake]:
    from fakeservers.toolkit import Fake, read_seed_file

    document = read_seed_file(seed) if isinstance(seed, str | Path) else seed
    fake = Fake(name, clock, seed=document, journal_size=journal_size).serve(host, 0)
    try:
        yield fake
    finally:
        fake.stop()


def _reset(fake: Fake, rate_limited: bool | None) -> Fake:
    fake.reset(rate_limited=rate_limited)
    return fake


@pytest.fixture(scope="session")
def smile_fake_server(
    fake_session_clock: ManualClock,
    fake_seed: str | Path | Mapping[str, Any] | None,
    fake_journal_size: int,
    fake_host: str,
) -> Iterator[Fake]:
    """The Smile fake on a live loopback server for the whole session (not reset)."""
    yield from _serve("smile", fake_session_clock, fake_seed, fake_journal_size, fake_host)


@pytest.fixture(scope="session")
def shopsocially_fake_server(
    fake_session_clock: ManualClock,
    fake_seed: str | Path | Mapping[str, Any] | None,
    fake_journal_size: int,
    fake_host: str,
) -> Iterator[Fake]:
    """The ShopSocially fake on a live loopback server for the whole session (not reset)."""
    yield from _serve("shopsocially", fake_session_clock, fake_seed, fake_journal_size, fake_host)


@pytest.fixture
def smile_fake(
    smile_fake_server: Fake, fake_clock: ManualClock, fake_rate_limited: bool | None
) -> Fake:
    """The live Smile fake, reset for this test."""
    return _reset(smile_fake_server, fake_rate_limited)


@pytest.fixture
def shopsocially_fake(
    shopsocially_fake_server: Fake, fake_clock: ManualClock, fake_rate_limited: bool | None
) -> Fake:
    """The live ShopSocially fake, reset for this test."""
    return _reset(shopsocially_fake_server, fake_rate_limited)


@pytest.fixture
def fake_servers(smile_fake: Fake, shopsocially_fake: Fake) -> dict[str, Fake]:
    """Both fakes, reset, by vendor name."""
    return {"smile": smile_fake, "shopsocially": shopsocially_fake}


@pytest.fixture
def fake_hosts(fake_servers: dict[str, Fake]) -> Iterator[dict[str, Fake]]:
    """Both fakes, reset; `requests` and `httpx` calls to the vendors' real hosts reach
    them (in-process, no socket) for the duration of the test."""
    from fakeservers.toolkit.transports import intercept

    with intercept(*fake_servers.values()):
        yield fake_servers


# --- conveniences --------------------------------------------------------------------------


@pytest.fixture
def smile_url(smile_fake: Fake) -> str:
    """Base URL of the live Smile fake (the API is under /v1)."""
    return smile_fake.url


@pytest.fixture
def smile_credentials(smile_fake: Fake) -> Credentials:
    """The Smile tenant's API key (`.api_key`) and its `Authorization` header (`.headers`)."""
    return smile_fake.credentials()


@pytest.fixture
def smile_program(smile_fake: Fake) -> Program:
    """The Smile tenant's core `Program`, to arrange and assert state directly."""
    return smile_fake.program()


@pytest.fixture
def smile_journal(smile_fake: Fake) -> Journal:
    return smile_fake.journal


@pytest.fixture
def smile_faults(smile_fake: Fake) -> FaultInjector:
    return smile_fake.faults


@pytest.fixture
def shopsocially_url(shopsocially_fake: Fake) -> str:
    """Base URL of the live ShopSocially fake (the API is under /v2/loyalty)."""
    return shopsocially_fake.url


@pytest.fixture
def shopsocially_credentials(shopsocially_fake: Fake) -> Credentials:
    """`.partner_id`, `.api_key` and the two headers (`.headers`)."""
    return shopsocially_fake.credentials()


@pytest.fixture
def shopsocially_program(shopsocially_fake: Fake) -> Program:
    return shopsocially_fake.program()


@pytest.fixture
def shopsocially_journal(shopsocially_fake: Fake) -> Journal:
    return shopsocially_fake.journal


@pytest.fixture
def shopsocially_faults(shopsocially_fake: Fake) -> FaultInjector:
    return shopsocially_fake.faults
