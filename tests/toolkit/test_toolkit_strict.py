"""Strict mode: unexpected requests and faults that never fired fail the test at teardown;
and the plugin's lazier fixtures (fake_hosts starts no server), docstrings, seed clock."""

from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path

import pytest
from werkzeug.test import Client

from fakeservers.toolkit import Fake
from loyaltykit import ManualClock

pytest_plugins = ["pytester"]

LEAN = ("-p", "no:hypothesispytest", "-p", "no:cacheprovider")

STRICT_TESTS = """
import pytest
import requests

H = {"Authorization": "Bearer test_cnzGMghxTmPzK1spPraT"}


@pytest.mark.fakes_strict
def test_unknown_route(smile_url):
    assert requests.get(smile_url + "/v1/customer/1", headers=H).status_code == 404


@pytest.mark.fakes_strict
def test_wrong_method(smile_url):
    assert requests.delete(smile_url + "/v1/customers/1", headers=H).status_code == 405


@pytest.mark.fakes_strict
def test_bad_key(smile_url):
    requests.get(smile_url + "/v1/customers/1", headers={"Authorization": "Bearer nope"})


@pytest.mark.fakes_strict
def test_unfired_fault(smile_url, smile_faults):
    smile_faults.error("GET /v1/customer/*")
    assert requests.get(smile_url + "/v1/customers/1", headers=H).status_code == 200


@pytest.mark.fakes_strict(allow=[404])
def test_allowed_status(smile_url):
    assert requests.get(smile_url + "/v1/customers/999", headers=H).status_code == 404


@pytest.mark.fakes_strict(allow=["customer_show"])
def test_allowed_route(smile_url):
    assert requests.get(smile_url + "/v1/customers/999", headers=H).status_code == 404


@pytest.mark.fakes_strict
def test_clean(smile_url, smile_faults):
    smile_faults.respond("customer_show", status=404)   # asked for: not unexpected
    assert requests.get(smile_url + "/v1/customers/1", headers=H).status_code == 404
    assert requests.get(smile_url + "/v1/customers/1", headers=H).status_code == 200


def test_not_strict(smile_url, smile_faults):
    smile_faults.error("GET /v1/nothing/*")
    assert requests.get(smile_url + "/v1/customer/1", headers=H).status_code == 404
"""


def test_strict_marker(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_strict=STRICT_TESTS)
    result = pytester.runpytest_subprocess(*LEAN, "-q", "-rE")
    result.assert_outcomes(passed=8, errors=4)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_unknown_route*",
            "*smile: GET /v1/customer/1 [[]no such route[]] answered 404: *Not found.*",
            "*ERROR at teardown of test_wrong_method*",
            "*smile: DELETE /v1/customers/1 [[]no such route[]] answered 405*",
            "*ERROR at teardown of test_bad_key*",
            "*answered 401: *Invalid credentials.*",
            "*ERROR at teardown of test_unfired_fault*",
            "*smile: fault 1 (error on GET /v1/customer/[*]) never fired*",
        ]
    )
    assert "test_clean" not in result.stdout.str().split("short test summary")[-1]


def test_strict_for_the_whole_suite(pytester: pytest.Pytester) -> None:
    pytester.makeconftest(
        """
        import pytest

        @pytest.fixture(scope="session")
        def fake_strict():
            return True
        """
    )
    pytester.makepyfile(
        test_all="""
        import requests

        def test_unknown_user(shopsocially_url, shopsocially_credentials):
            requests.get(shopsocially_url + "/v2/loyalty/users/nobody@example.com",
                         headers=shopsocially_credentials.headers)

        def test_fine(shopsocially_url, shopsocially_credentials):
            requests.get(shopsocially_url + "/v2/loyalty/levels",
                         headers=shopsocially_credentials.headers)
        """
    )
    result = pytester.runpytest_subprocess(*LEAN, "-q")
    result.assert_outcomes(passed=2, errors=1)
    result.stdout.fnmatch_lines(
        ["*shopsocially: GET /v2/loyalty/users/nobody@example.com [[]get_user[]] answered 404*"]
    )


def test_verify_outside_pytest() -> None:
    fake = Fake("smile", ManualClock())
    fake.verify()
    Client(fake).get("/v1/nothing", headers=fake.headers())
    fake.faults.drop("points_product_purchase", tenant="demo")
    assert fake.problems() == [
        'smile: GET /v1/nothing [no such route] answered 404: {"error":{"message":"Not found."}}',
        "smile: fault 1 (drop on points_product_purchase, tenant 'demo') never fired",
    ]
    with pytest.raises(AssertionError, match="strict fakes:"):
        fake.verify()
    assert len(fake.problems(allow=[404])) == 1
    assert len(fake.problems(allow=["/v1/*"])) == 1


def test_fake_hosts_starts_no_server(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_hosts="""
        import requests

        def test_in_process(fake_hosts, smile_program):
            assert all(fake.server is None for fake in fake_hosts.values())
            key = fake_hosts["smile"].credentials().api_key
            body = requests.get("https://api.smile.io/v1/customers/1",
                                headers={"Authorization": "Bearer " + key}).json()
            assert body["customer"]["points_balance"] == smile_program.member(1).balance

        def test_url_too(fake_hosts, smile_url):
            assert fake_hosts["smile"].server is not None
            assert fake_hosts["shopsocially"].server is None

        def test_then_live(smile_fake):
            assert smile_fake.url.startswith("http://127.0.0.1:")
        """
    )
    pytester.runpytest_subprocess(*LEAN, "-q").assert_outcomes(passed=3)


def test_every_fixture_has_a_docstring(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*LEAN, "--fixtures")
    lines = result.stdout.str().splitlines()
    start = next(i for i, line in enumerate(lines) if "fakeservers.pytest_plugin" in line)
    ours = []
    for line in lines[start + 1 :]:
        if line.startswith("---") or line.startswith("==="):
            break
        ours.append(line)
    names = [line.split()[0] for line in ours if line and not line.startswith(" ")]
    assert {"fake_host", "fake_strict", "smile_journal", "shopsocially_faults"} <= set(names)
    assert len(names) >= 20
    assert not [line for line in ours if "no docstring available" in line]


def _future_seed(tmp: Path) -> Path:
    source = Fake("smile", ManualClock(), demo=False)
    source.set_clock(source.now().replace(year=2031))
    source.control.create_tenant("acme", ["acme_key"])
    source.control.create_customer("acme", email="ann@acme.test", points_balance=10)
    path = tmp / "future.json"
    path.write_text(json.dumps(source.export()), encoding="utf-8")
    return path


def test_a_seed_dated_after_the_clock_warns(tmp_path: Path) -> None:
    from fakeservers.toolkit import read_seed_file
    from fakeservers.toolkit.seedfile import SeedClockWarning, latest_instant

    document = read_seed_file(_future_seed(tmp_path))
    assert latest_instant(document, "smile") is not None
    assert latest_instant(document, "shopsocially") is None
    with pytest.warns(SeedClockWarning, match=r"events up to 2031-01-01T00:00:00Z.*fake_start"):
        Fake("smile", ManualClock(), seed=document)
    late = ManualClock()
    late.set(late.now().replace(year=2032))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        Fake("smile", late, seed=document)
    fake = Fake("smile", late, demo=False)
    response = Client(fake).post("/_fake/seed", json=document)
    assert response.status_code == 201 and "warnings" not in response.json
    fake.set_clock(fake.now().replace(year=2025))
    response = Client(fake).post("/_fake/seed", json=document)
    assert response.status_code == 201 and "2031-01-01" in response.json["warnings"][0]


def test_the_plugin_refuses_a_seed_dated_after_fake_start(
    pytester: pytest.Pytester, tmp_path: Path
) -> None:
    path = _future_seed(tmp_path)
    pytester.makeconftest(
        f"""
        import pytest

        @pytest.fixture(scope="session")
        def fake_seed():
            return {str(path)!r}
        """
    )
    pytester.makepyfile(test_seeded="def test_it(smile_program):\n    pass\n")
    result = pytester.runpytest_subprocess(*LEAN, "-q")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*fake_seed: the smile seed holds events up to 2031-01-01*"])
    pytester.makeconftest(
        textwrap.dedent(
            f"""
            from datetime import UTC, datetime
            import pytest

            @pytest.fixture(scope="session")
            def fake_seed():
                return {str(path)!r}

            @pytest.fixture(scope="session")
            def fake_start():
                return datetime(2031, 6, 1, tzinfo=UTC)
            """
        )
    )
    pytester.makepyfile(
        test_seeded="def test_it(smile_program, smile_fake):\n"
        "    assert smile_fake.tenant().name == 'acme'\n"
        "    assert smile_program.member(1).balance == 10\n"
    )
    pytester.runpytest_subprocess(*LEAN, "-q").assert_outcomes(passed=1)
