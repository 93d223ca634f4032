"""The pytest plugin's fixtures: live servers, per-test reset, settings, xdist."""

from __future__ import annotations

import textwrap
from datetime import UTC, datetime, timedelta

import pytest
import requests

from fakeservers.toolkit import Credentials, Fake, FaultInjector, Journal
from loyaltykit import ManualClock, Program

pytest_plugins = ["pytester"]


def test_smile_fixtures_give_a_live_server(
    smile_url: str, smile_credentials: Credentials, smile_program: Program
) -> None:
    assert smile_url.startswith("http://127.0.0.1:")
    response = requests.get(f"{smile_url}/v1/customers/1", headers=smile_credentials.headers)
    assert response.status_code == 200
    customer = response.json()["customer"]
    assert customer["points_balance"] == smile_program.member(1).balance == 5000
    assert smile_credentials.api_key == "test_cnzGMghxTmPzK1spPraT"


def test_state_changes_in_one_test_are_gone_in_the_next(
    smile_url: str, smile_credentials: Credentials, smile_program: Program
) -> None:
    # the previous test ran against the same server; arrange through the core directly
    smile_program.earn(1, 250, description="arranged")
    body = requests.get(f"{smile_url}/v1/customers/1", headers=smile_credentials.headers).json()
    assert body["customer"]["points_balance"] == 5250


def test_and_the_balance_is_back(smile_program: Program, smile_journal: Journal) -> None:
    assert smile_program.member(1).balance == 5000
    assert len(smile_journal) == 0


def test_shopsocially_fixtures(
    shopsocially_url: str,
    shopsocially_credentials: Credentials,
    shopsocially_program: Program,
    shopsocially_journal: Journal,
) -> None:
    assert shopsocially_credentials.partner_id == "demo-partner"
    assert shopsocially_credentials.headers == {
        "partner-id": "demo-partner",
        "api-key": "demo-api-key",
    }
    response = requests.get(
        f"{shopsocially_url}/v2/loyalty/users/bob@shopsocially.com",
        headers=shopsocially_credentials.headers,
    )
    bob = shopsocially_program.member_by_email("bob@shopsocially.com")
    assert response.json()["data"]["available_points"] == bob.balance
    shopsocially_journal.assert_called_once("get_user", tenant="demo")


def test_one_clock_for_both_fakes_and_the_core(
    fake_servers: dict[str, Fake], fake_clock: ManualClock, fake_start: datetime
) -> None:
    assert fake_clock.now() == fake_start == datetime(2024, 1, 1, tzinfo=UTC)
    fake_clock.advance(timedelta(days=3))
    for fake in fake_servers.values():
        assert fake.now() == fake.program().clock.now() == fake_start + timedelta(days=3)
    # moved over one fake's control plane: the other one sees it too
    smile, shopsocially = fake_servers["smile"], fake_servers["shopsocially"]
    requests.post(f"{smile.url}/_fake/clock/advance", json={"seconds": 3600})
    got = requests.get(f"{shopsocially.url}/_fake/clock").json()["now"]
    assert got == "2024-01-04T01:00:00Z"


def test_the_clock_is_back_at_the_start(fake_clock: ManualClock, fake_start: datetime) -> None:
    assert fake_clock.now() == fake_start


def test_faults_fixture_is_cleared_between_tests(
    smile_faults: FaultInjector, smile_url: str, smile_credentials: Credentials
) -> None:
    assert smile_faults.faults() == []
    smile_faults.error("customer_show", status=500, times=5)
    response = requests.get(f"{smile_url}/v1/customers/1", headers=smile_credentials.headers)
    assert response.status_code == 500


def test_no_fault_left_over(smile_url: str, smile_credentials: Credentials) -> None:
    response = requests.get(f"{smile_url}/v1/customers/1", headers=smile_credentials.headers)
    assert response.status_code == 200


LEAN = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider")
"""Subprocess runs skip hypothesis' plugin (seconds of start-up, unused here)."""

PROJECT_TEST = """
import os
import pathlib

import requests

def test_{n}(smile_url, smile_credentials, smile_program, fake_clock):
    smile_program.earn(1, 1, description="mine")
    customer = requests.get(smile_url + "/v1/customers/1",
                            headers=smile_credentials.headers).json()["customer"]
    assert customer["points_balance"] == 5001
    worker = os.environ.get("PYTEST_XDIST_WORKER", "main")
    with pathlib.Path(worker + ".urls").open("a") as seen:
        seen.write(smile_url + "\\n")
"""


def test_safe_under_xdist_one_server_per_worker(pytester: pytest.Pytester) -> None:
    for n in range(4):
        pytester.makepyfile(**{f"test_mine_{n}": PROJECT_TEST.format(n=n)})
    result = pytester.runpytest_subprocess(*LEAN, "-p", "xdist", "-n", "2", "-q")
    result.assert_outcomes(passed=4)
    seen = {p.stem: set(p.read_text().split()) for p in pytester.path.glob("*.urls")}
    assert sorted(seen) == ["gw0", "gw1"]
    assert all(len(urls) == 1 for urls in seen.values())  # one server per worker ...
    assert seen["gw0"] != seen["gw1"]  # ... on its own port


def test_settings_are_overridable(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        textwrap.dedent(
            """
            from datetime import UTC, datetime
            import pytest

            @pytest.fixture(scope="session")
            def fake_start():
                return datetime(2030, 6, 1, tzinfo=UTC)

            @pytest.fixture(scope="session")
            def fake_rate_limited():
                return True

            @pytest.fixture(scope="session")
            def fake_journal_size():
                return 3
            """
        )
    )
    pytester.makepyfile(
        textwrap.dedent(
            """
            import sys

            import requests

            def test_plugin_import_is_light():
                # the plugin is loaded, but nothing heavy until a fixture is asked for
                assert "fakeservers.pytest_plugin" in sys.modules
                heavy = {"fakeservers.toolkit", "fakeservers.smile", "waitress", "loyaltykit"}
                assert heavy.isdisjoint(sys.modules)

            def test_settings(smile_fake, smile_url, smile_credentials, fake_clock):
                assert fake_clock.now().year == 2030
                assert smile_fake.tenant().rate_limited
                statuses = [
                    requests.get(smile_url + "/v1/customers/1",
                                 headers=smile_credentials.headers).status_code
                    for _ in range(11)
                ]
                assert statuses == [200] * 10 + [429]
                assert len(smile_fake.journal.entries(tenant="demo")) == 3
            """
        )
    )
    result = pytester.runpytest_subprocess(*LEAN, "-q")
    result.assert_outcomes(passed=2)



def test_the_plugin_keeps_its_fakes_in_memory(
    smile_fake: Fake, shopsocially_fake: Fake, smile_program: Program
) -> None:
    assert smile_fake.data is None and shopsocially_fake.data is None
    assert type(smile_program) is Program  # not a durable program
