"""The contract runner, run against the fake itself on a live server: no difference; and
against a deliberately broken fake (canned responses, faults): every difference named."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from fakeservers._http.serving import serve_in_thread
from fakeservers.contract import compare, shape_differences
from fakeservers.contract.__main__ import main
from fakeservers.contract.runner import Answer
from fakeservers.toolkit import Fake
from loyaltykit import ManualClock


@pytest.fixture
def smile() -> Iterator[Fake]:
    with Fake("smile", ManualClock()).serve() as fake:
        yield fake


@pytest.fixture
def shopsocially() -> Iterator[Fake]:
    with Fake("shopsocially", ManualClock()).serve() as fake:
        yield fake


def _smile_args(fake: Fake, *more: str) -> list[str]:
    return ["smile", "--base-url", fake.url, "--key", fake.credentials().api_key, *more]


def test_the_fake_matches_itself_read_only(smile: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_smile_args(smile)) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"contract check: smile at {smile.url} against the fake's demo tenant")
    assert "ok   GET /v1/customers/{customer_id} [customer_show] -> 200" in out
    assert "ok   GET /v1/customers/{customer_id} [customer_show: invalid key] -> 401" in out
    assert out.rstrip().endswith("16 requests: 16 ok, 0 with differences, 0 skipped")
    assert "POST" not in out  # read-only unless --writes
    assert smile.journal.count("points_transaction_create") == 0
    assert smile.journal.count("customer_show") == 4  # one with the invalid key


def test_writes_leave_the_account_as_it_was(
    smile: Fake, capsys: pytest.CaptureFixture[str]
) -> None:
    before = smile.program().member(10).balance
    assert main(_smile_args(smile, "--writes")) == 0
    assert "21 requests: 21 ok" in capsys.readouterr().out
    assert smile.program().member(10).balance == before  # the first customer listed is 10
    assert smile.journal.count("points_transaction_create", status=201) == 2


def test_shopsocially_matches_itself_with_writes_from_the_environment(
    shopsocially: Fake, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    partner_id, api_key = shopsocially.credential()
    monkeypatch.setenv("SHOPSOCIALLY_PARTNER_ID", partner_id)
    monkeypatch.setenv("SHOPSOCIALLY_API_KEY", api_key)
    program = shopsocially.program()
    before = ([(m.email, m.balance) for m in program.members()], len(program.transactions()))
    assert main(["shopsocially", "--base-url", shopsocially.url, "--writes", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert {c["outcome"] for c in report["checks"]} == {"ok"}
    assert len(report["checks"]) == 18
    # the writes were refused, as the vendor must refuse them
    assert (
        [(m.email, m.balance) for m in program.members()],
        len(program.transactions()),
    ) == before


def test_a_broken_fake_is_reported(smile: Fake, capsys: pytest.CaptureFixture[str]) -> None:
    broken = {"customer": {"id": "1", "first_name": "Jane", "tier": None}}
    smile.faults.respond("GET /v1/customers/10", body=broken, tenant="demo", times=10)
    smile.faults.error("points_settings_show", status=502, times=10)
    smile.faults.respond("GET /v1/no_such_resource", status=404,
                         body={"error": {"message": "Nope."}}, times=10)  # fmt: skip
    assert main(_smile_args(smile)) == 1
    out = capsys.readouterr().out
    assert "DIFF GET /v1/customers/{customer_id} [customer_show] -> 200" in out
    assert "       body.customer.id: integer in the fake, string at the vendor" in out
    assert "       body.customer.last_name: sent by the fake, not by the vendor" in out
    assert "       body.customer.tier: sent by the vendor, not by the fake" in out
    assert "DIFF GET /v1/points_settings [points_settings_show] -> 502" in out
    assert "       status: 200 from the fake, 502 from the vendor" in out
    assert "       error message: 'Not found.' from the fake, 'Nope.' from the vendor" in out
    assert "16 requests: 12 ok, 4 with differences, 0 skipped" in out


class LenientVendor:
    """A vendor that accepts a points transaction without a description (it fills one
    in): what A8 asks of a real account."""

    def __init__(self, fake: Fake) -> None:
        self.fake = fake

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if (
            environ["PATH_INFO"] == "/v1/points_transactions"
            and environ["REQUEST_METHOD"] == "POST"
        ):
            length = int(environ.get("CONTENT_LENGTH") or 0)
            body = json.loads(environ["wsgi.input"].read(length))
            body["points_transaction"].setdefault("description", "(none)")
            raw = json.dumps(body).encode()
            environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(raw), str(len(raw))
        return self.fake(environ, start_response)


def test_a_vendor_that_carries_out_what_the_fake_refuses_is_undone(
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake = Fake("smile", ManualClock())
    before = fake.program().member(10).balance
    server = serve_in_thread(LenientVendor(fake))
    try:
        code = main(["smile", "--base-url", server.url, "--key", fake.credentials().api_key,
                     "--writes"])  # fmt: skip
    finally:
        server.stop()
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "DIFF POST /v1/points_transactions [points_transaction_create: no description (A8)]" in out
    )
    assert "       status: 400 from the fake, 201 from the vendor" in out
    assert "       the vendor carried it out; undone (points_transaction_create: undo: 201)" in out
    assert fake.program().member(10).balance == before


def test_unreachable_and_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["smile", "--base-url", "http://127.0.0.1:9", "--key", "k"]) == 2
    assert capsys.readouterr().err.startswith("error: cannot reach http://127.0.0.1:9")
    assert main(["smile", "--base-url", "ftp://x", "--key", "k"]) == 2
    assert main(["shopsocially", "--key", "k"]) == 2
    assert "needs --partner-id and --key" in capsys.readouterr().err


def test_skipped_when_an_account_has_nothing_to_read(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with Fake("smile", ManualClock(), demo=False).serve() as empty:
        empty.control.create_tenant("shop", ["shop_key"])
        code = main(["smile", "--base-url", empty.url, "--key", "shop_key"])
    out = capsys.readouterr().out
    assert code == 0  # an empty list has no items to compare, and no customer to show
    assert "skip GET /v1/customers/{customer_id} [customer_show]" in out
    assert "needs customer_id, which an earlier step did not give" in out


def test_shapes() -> None:
    assert shape_differences({"a": 1, "b": [{"c": "x"}]}, {"a": 2, "b": [{"c": "y"}]}) == []
    assert shape_differences({"a": None}, {"a": {"deep": 1}}) == []  # nullable
    assert shape_differences([{"t": "fixed", "fixed": {}}, {"t": "variable", "variable": {}}],
                             [{"t": "variable", "variable": {}}]) == []  # fmt: skip
    assert shape_differences({"a": 1}, {"a": 1.5}) == [
        "body.a: integer in the fake, number at the vendor"
    ]
    assert shape_differences({"a": [1]}, {"a": ["x", "y"]}) == [
        "body.a[]: integer in the fake, string at the vendor"
    ]


def test_compare_statuses_and_bodies() -> None:
    ok = Answer(200, {"a": 1}, '{"a":1}')
    assert compare(ok, ok) == []
    assert compare(ok, Answer(500, None, "<html>oops</html>")) == [
        "status: 200 from the fake, 500 from the vendor",
        "vendor body (not JSON): '<html>oops</html>'",
    ]
    assert compare(ok, Answer(200, None, "plain")) == [
        "body: JSON from the fake, not JSON from the vendor: 'plain'"
    ]


def test_runs_as_a_module() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "fakeservers.contract", "--help"],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0
    assert done.stdout.startswith("usage: python -m fakeservers.contract ")
    assert "CHANGE THE ACCOUNT" in done.stdout and "SMILE_API_KEY" in done.stdout
