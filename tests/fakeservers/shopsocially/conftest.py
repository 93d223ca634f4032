"""Fixtures for the ShopSocially fake: a manual clock, an empty tenant and a thin HTTP client."""

from __future__ import annotations

import sys
from pathlib import Path


def _unshadow_fakeservers() -> None:
    """tests/conftest.py puts `tests/` on sys.path (pytest's prepend import mode), where
    `tests/fakeservers` can win as a namespace package over the real `fakeservers`, making
    `fakeservers.shopsocially` this very test directory. Point the name back at the real
    package (see the issue note: a project-level fix belongs in the pytest config)."""
    root = Path(__file__).resolve().parents[3]
    module = sys.modules.get("fakeservers")
    if module is None:
        if str(root) not in sys.path:
            sys.path.append(str(root))
    elif getattr(module, "__file__", None) is None:
        module.__path__ = [str(root / "fakeservers")]
        sys.modules.pop("fakeservers.shopsocially", None)


_unshadow_fakeservers()

import pytest  # noqa: E402
from ss_client import KEY, PARTNER, START, Api  # noqa: E402
from werkzeug.test import Client  # noqa: E402

from fakeservers._http import TenantRegistry  # noqa: E402
from fakeservers.shopsocially import create_app, new_registry  # noqa: E402
from loyaltykit import ManualClock, Program  # noqa: E402


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
