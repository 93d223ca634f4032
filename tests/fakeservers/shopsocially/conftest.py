"""Fixtures for the ShopSocially fake: a manual clock, an empty tenant and a thin HTTP client."""

from __future__ import annotations

import pytest
from ss_client import KEY, PARTNER, START, Api
from werkzeug.test import Client

from fakeservers._http import TenantRegistry
from fakeservers.shopsocially import create_app, new_registry
from loyaltykit import ManualClock, Program


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def registry(clock: ManualClock) -> TenantRegistry[Program]:
    registry = new_registry(clock, demo=False)
    registry.create("acme", [(PARTNER, KEY)])
    return registry


@pytest.fixture
def client(registry: TenantRegistry[Program]) -> Client:
    return Client(create_app(registry))


@pytest.fixture
def api(client: Client) -> Api:
    return Api(client)


@pytest.fixture
def program(registry: TenantRegistry[Program]) -> Program:
    return registry.tenant("acme").program
