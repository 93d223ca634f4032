"""pytest fixtures for the Smile.io and ShopSocially fakes (registered through `pytest11`).

Installed with loyaltykit, this plugin loads in every pytest run but does nothing until a
test asks for one of its fixtures by name (importing it costs nothing more than pytest).

Per vendor (`smile_...` and `shopsocially_...`):

* `<vendor>_fake_server` (session): the `Fake`, served by waitress on 127.0.0.1, port 0,
  started by the first test that needs it. Under pytest-xdist every worker process starts
  its own servers.
* `<vendor>_fake` (function): the same `Fake`, reset for this test: every tenant rebuilt
  from its seed, journal and faults cleared, the clock back at `fake_start`; served,
  unless the test reaches it only through `fake_hosts`.
* `<vendor>_url`, `<vendor>_credentials` (`.headers`, `.api_key`, `.partner_id`),
  `<vendor>_program` (the tenant's core `Program`), `<vendor>_journal`, `<vendor>_faults`.

Shared: `fake_clock` (the one `ManualClock` of both fakes, reset to `fake_start`),
`fake_servers` (both fakes, reset) and `fake_hosts` (both fakes, reset, with requests for
`api.smile.io` / `api.shopsocially.com` routed to them in-process while the test runs; no
server is started for it).
Settings are session fixtures a `conftest.py` may override: `fake_start`, `fake_seed` (a
seed file path or document; None = demo tenants; refused when dated after `fake_start`),
`fake_rate_limited` (None = as seeded), `fake_journal_size`, `fake_host`,
`fake_control_token`, `fake_strict`.

Strict mode (`fake_strict` returning True, or `@pytest.mark.fakes_strict(allow=...)` on a
test, class or module) fails a test at teardown on requests a fake answered 401, 404 or
405 and on armed faults that never fired, as pytest-httpserver's `check_assertions()` and
responses' `assert_all_requests_are_fired` do.
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
    """The interface the live servers bind."""
    return "127.0.0.1"


@pytest.fixture(scope="session")
def fake_control_token() -> str | None:
    """A token the fakes' control plane then requires over HTTP (`X-Fake-Control-Token`);
    needed when `fake_host` is not a loopback address. In-process calls need none."""
    return None


@pytest.fixture(scope="session")
def fake_strict() -> bool:
    """Strict mode for every test (else per test with `@pytest.mark.fakes_strict`): a test
    fails at teardown on requests a fake answered 401, 404 or 405 and on armed faults that
    never fired."""
    return False


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fakes_strict(allow=()): fail the test at teardown on requests the Smile or "
        "ShopSocially fakes answered 401, 404 or 405 (but the statuses or route specs in "
        "`allow`) and on armed faults that never fired",
    )


# --- the clock -----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def fake_session_clock(fake_start: datetime) -> ManualClock:
    """The one clock of the session (not reset: `fake_clock` is)."""
    from loyaltykit import ManualClock

    return ManualClock(fake_start)


@pytest.fixture
def fake_clock(fake_session_clock: ManualClock, fake_start: datetime) -> ManualClock:
    """The clock both fakes (and their programs) read, back at `fake_start`."""
    fake_session_clock.set(fake_start)
    return fake_session_clock


# --- the fakes and their servers ------------------------------------------------------------


def _build(
    name: str,
    clock: ManualClock,
    seed: str | Path | Mapping[str, Any] | None,
    journal_size: int,
    control_token: str | None = None,
) -> Fake:
    """The session's fake of one vendor, not served yet; a seed dated after the clock's
    start is refused (its awards would lie in the future of every test)."""
    from fakeservers.toolkit import Fake, read_seed_file
    from fakeservers.toolkit.seedfile import clock_mismatch

    document = read_seed_file(seed) if isinstance(seed, str | Path) else seed
    if document is not None:
        mismatch = clock_mismatch(document, name, clock.now())
        if mismatch is not None:
            pytest.fail(f"fake_seed: {mismatch}", pytrace=False)
    return Fake(
        name, clock, seed=document, journal_size=journal_size, control_token=control_token
    )


@pytest.fixture(scope="session")
def _smile_session_fake(
    fake_session_clock: ManualClock,
    fake_seed: str | Path | Mapping[str, Any] | None,
    fake_journal_size: int,
    fake_control_token: str | None,
) -> Fake:
    return _build(
        "smile", fake_session_clock, fake_seed, fake_journal_size, fake_control_token
    )


@pytest.fixture(scope="session")
def _shopsocially_session_fake(
    fake_session_clock: ManualClock,
    fake_seed: str | Path | Mapping[str, Any] | None,
    fake_journal_size: int,
    fake_control_token: str | None,
) -> Fake:
    return _build(
        "shopsocially", fake_session_clock, fake_seed, fake_journal_size, fake_control_token
    )


def _served(fake: Fake, host: str) -> Iterator[Fake]:
    fake.serve(host, 0)
    try:
        yield fake
    finally:
        fake.stop()


@pytest.fixture(scope="session")
def smile_fake_server(_smile_session_fake: Fake, fake_host: str) -> Iterator[Fake]:
    """The Smile fake on a live loopback server for the whole session (not reset)."""
    yield from _served(_smile_session_fake, fake_host)


@pytest.fixture(scope="session")
def shopsocially_fake_server(_shopsocially_session_fake: Fake, fake_host: str) -> Iterator[Fake]:
    """The ShopSocially fake on a live loopback server for the whole session (not reset)."""
    yield from _served(_shopsocially_session_fake, fake_host)


def _for_test(
    request: pytest.FixtureRequest,
    vendor: str,
    fake: Fake,
    rate_limited: bool | None,
    strict: bool,
) -> Iterator[Fake]:
    """Reset `fake` for this test, serve it unless the test reaches it only through
    `fake_hosts` (in-process), and check it at teardown in strict mode."""
    names = request.fixturenames
    if "fake_hosts" not in names or f"{vendor}_url" in names:
        request.getfixturevalue(f"{vendor}_fake_server")
    fake.reset(rate_limited=rate_limited)
    yield fake
    marker = request.node.get_closest_marker("fakes_strict")
    if strict or marker is not None:
        allow = marker.kwargs.get("allow", ()) if marker is not None else ()
        found = fake.problems(allow)
        if found:
            pytest.fail(
                "\n".join(["strict fakes:", *(f"  {line}" for line in found)]), pytrace=False
            )


@pytest.fixture
def smile_fake(
    request: pytest.FixtureRequest,
    _smile_session_fake: Fake,
    fake_clock: ManualClock,
    fake_rate_limited: bool | None,
    fake_strict: bool,
) -> Iterator[Fake]:
    """The Smile fake, reset for this test, on its live server (unless the test reaches it
    only through `fake_hosts`); checked at teardown in strict mode."""
    yield from _for_test(request, "smile", _smile_session_fake, fake_rate_limited, fake_strict)


@pytest.fixture
def shopsocially_fake(
    request: pytest.FixtureRequest,
    _shopsocially_session_fake: Fake,
    fake_clock: ManualClock,
    fake_rate_limited: bool | None,
    fake_strict: bool,
) -> Iterator[Fake]:
    """The ShopSocially fake, reset for this test, on its live server (unless the test
    reaches it only through `fake_hosts`); checked at teardown in strict mode."""
    yield from _for_test(
        request, "shopsocially", _shopsocially_session_fake, fake_rate_limited, fake_strict
    )


@pytest.fixture
def fake_servers(smile_fake: Fake, shopsocially_fake: Fake) -> dict[str, Fake]:
    """Both fakes, reset, by vendor name."""
    return {"smile": smile_fake, "shopsocially": shopsocially_fake}


@pytest.fixture
def fake_hosts(fake_servers: dict[str, Fake]) -> Iterator[dict[str, Fake]]:
    """Both fakes, reset; `requests` and `httpx` calls to the vendors' real hosts reach
    them in-process (no server, no socket) for the duration of the test."""
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
    """The Smile fake's request journal (`assert_called`, `entries`, `last`, `count`)."""
    return smile_fake.journal


@pytest.fixture
def smile_faults(smile_fake: Fake) -> FaultInjector:
    """The Smile fake's fault injector (`error`, `rate_limit`, `latency`, `drop`,
    `respond`)."""
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
    """The ShopSocially tenant's core `Program`, to arrange and assert state directly."""
    return shopsocially_fake.program()


@pytest.fixture
def shopsocially_journal(shopsocially_fake: Fake) -> Journal:
    """The ShopSocially fake's request journal (`assert_called`, `entries`, `last`,
    `count`)."""
    return shopsocially_fake.journal


@pytest.fixture
def shopsocially_faults(shopsocially_fake: Fake) -> FaultInjector:
    """The ShopSocially fake's fault injector (`error`, `rate_limit`, `latency`, `drop`,
    `respond`)."""
    return shopsocially_fake.faults
