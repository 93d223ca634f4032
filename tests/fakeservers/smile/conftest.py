"""Fixtures for the Smile fake: a manual clock, the app with its demo tenant, a client."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from smile_client import Api
from werkzeug.test import Client

from fakeservers._http import serve_in_thread
from fakeservers._http.serving import ServerThread
from fakeservers.smile import DEMO_KEY, SmileApp, create_app
from loyaltykit import ManualClock

START = datetime(2024, 1, 1, tzinfo=UTC)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def app(clock: ManualClock) -> SmileApp:
    return create_app(clock=clock)


@pytest.fixture
def api(app: SmileApp) -> Api:
    """The demo tenant's client (secret key)."""
    return Api(Client(app), DEMO_KEY)


@pytest.fixture(scope="session")
def live_server() -> Iterator[tuple[ServerThread, SmileApp]]:
    """One real server on a free loopback port for the whole session."""
    smile = create_app(clock=ManualClock(START))
    server = serve_in_thread(smile, "127.0.0.1", 0)
    yield server, smile
    server.stop()


@pytest.fixture
def live(live_server: tuple[ServerThread, SmileApp]) -> ServerThread:
    """The session server, its demo tenant reset for each test."""
    server, smile = live_server
    smile.control.reset()
    return server
