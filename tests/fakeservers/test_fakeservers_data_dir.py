"""`python -m fakeservers --data-dir DIR` as a user runs it: a real process, changed over
HTTP, stopped with SIGTERM, SIGINT and SIGKILL, started again on the same DIR, and checked
over HTTP. Without --data-dir nothing is kept; bad data dirs exit 2 with one line."""

from __future__ import annotations

import json
import queue
import signal
import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from fakeservers.__main__ import main
from fakeservers.toolkit import DataDir

SMILE = {"Authorization": "Bearer test_cnzGMghxTmPzK1spPraT"}
SS = {"partner-id": "demo-partner", "api-key": "demo-api-key"}
TOKEN = "activity_f57a9b5a8d0ac5"


class Server:
    """One `python -m fakeservers` process; `banner` holds what it printed on start."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "fakeservers", "--smile-port", "0",
             "--shopsocially-port", "0", "--log-level", "WARNING", *args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        lines: queue.Queue[str] = queue.Queue()
        assert self.process.stdout is not None
        stdout = self.process.stdout
        self.reader = threading.Thread(target=lambda: [lines.put(x) for x in stdout], daemon=True)
        self.reader.start()
        self.banner: list[str] = []
        while not self.banner or not self.banner[-1].startswith("control plane:"):
            try:
                self.banner.append(lines.get(timeout=30).rstrip("\n"))
            except queue.Empty:
                self.process.kill()
                raise AssertionError(f"no banner: {self.banner}") from None
        urls = dict(line.split(": ", 1) for line in self.banner if line.startswith(("smile:",
                    "shopsocially:")))  # fmt: skip
        self.smile, self.shopsocially = urls["smile"], urls["shopsocially"]

    def data_line(self) -> str:
        return next(line for line in self.banner if line.startswith("data: "))

    def stop(self, how: signal.Signals) -> int:
        self.process.send_signal(how)
        code = self.process.wait(timeout=30)
        self.reader.join(timeout=30)  # reads to the end of the output, then stops
        assert self.process.stdout is not None and self.process.stderr is not None
        self.process.stderr.close()
        self.process.stdout.close()
        return code


def call(url: str, method: str = "GET", *, headers: dict[str, str] | None = None,
         json_body: Any = None, form: dict[str, Any] | None = None) -> Any:  # fmt: skip
    data = None
    sent = dict(headers or {})
    if json_body is not None:
        data = json.dumps(json_body).encode()
        sent["Content-Type"] = "application/json"
    elif form is not None:
        data = urllib.parse.urlencode(form).encode()
    request = urllib.request.Request(url, data=data, method=method, headers=sent)
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def smile_customer(server: Server, customer_id: int, headers: dict[str, str] = SMILE) -> Any:
    return call(f"{server.smile}/v1/customers/{customer_id}", headers=headers)["customer"]


def ss(server: Server, method: str, path: str, **form: Any) -> Any:
    url = f"{server.shopsocially}/v2/loyalty{path}"
    return call(url, method, headers=SS, form=form if method != "GET" else None)["data"]


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process.poll() is None:
            server.stop(signal.SIGKILL)


def test_every_tenant_survives_sigterm_sigint_and_sigkill(
    tmp_path: Path, servers: list[Server]
) -> None:
    folder = str(tmp_path / "data")
    first = Server("--data-dir", folder)
    servers.append(first)
    assert first.data_line() == f"data: kept in {tmp_path / 'data' / 'fakes.db'} (new)"
    # changes on both fakes, over HTTP
    call(f"{first.smile}/v1/points_transactions", "POST", headers=SMILE, json_body={
        "points_transaction": {"customer_id": 1, "points_change": 250, "description": "x"}})
    ann = call(f"{first.smile}/_fake/tenants/demo/customers", "POST",
               json_body={"email": "ann@x.io", "points_balance": 70})["customer"]
    call(f"{first.smile}/_fake/tenants/demo/credentials", "POST", json_body={"key": "k2"})
    ss(first, "POST", "/activities", activity_id="review", activity_name="Review",
       activity_description="a review", activity_type="fixed", points_per_activity=40,
       approval_method="immediate", max_award_frequency=5,
       max_award_frequency_interval="day", is_active="true")  # fmt: skip
    ss(first, "POST", "/levels", level_id="gold", level_name="Gold", level_description="g",
       level_type="lifetime", level_position=3, level_minimum_points=300,
       level_bonus_multiplier=2, is_active="true")  # fmt: skip
    ss(first, "POST", "/redemptions", redemption_id="five_off", redemption_name="5 off",
       allowed_redeem_points=10, redemption_value="5", giftcard_description="c",
       terms_and_conds_text="t", giftcard_coupon_codes="FIVE-1,FIVE-2",
       coupon_expiry="31-Dec-2099", is_active="true")  # fmt: skip
    ss(first, "POST", "/users", first_name="Bo", last_name="Li", email="bo@ss.io", uid="bo")
    award = ss(first, "POST", "/award", user_email="bo@ss.io", activity_id="review")
    coupon = ss(first, "POST", "/redeem", user_email="bo@ss.io", redemption_id="five_off")
    moved = call(f"{first.shopsocially}/_fake/clock", "POST",
                 json_body={"now": "2040-01-01T00:00:00Z"})["now"]  # fmt: skip
    assert first.stop(signal.SIGTERM) == 0

    second = Server("--data-dir", folder)
    servers.append(second)
    assert second.data_line().endswith("(reopened: smile, shopsocially)")
    assert smile_customer(second, 1)["points_balance"] == 5250
    assert smile_customer(second, ann["id"], {"Authorization": "Bearer k2"}) == {
        **ann, "points_balance": 70, "updated_at": smile_customer(second, ann["id"])[
            "updated_at"]}  # fmt: skip
    now = datetime.fromisoformat(call(f"{second.smile}/_fake/clock")["now"])
    assert timedelta(0) <= now - datetime.fromisoformat(moved) < timedelta(minutes=1)
    assert ss(second, "GET", f"/transactions/{award['id']}")["points"] == 40
    assert int(ss(second, "GET", "/users/bo@ss.io")["available_points"]) == 30
    assert ss(second, "GET", "/levels/gold")["level_minimum_points"] == 300
    again = ss(second, "POST", "/redeem", user_email="bo@ss.io", redemption_id="five_off")
    assert {again["coupon_code"], coupon["coupon_code"]} == {"FIVE-1", "FIVE-2"}
    activity = call(f"{second.smile}/v1/activities", "POST", headers=SMILE, json_body={
        "activity": {"customer_id": 2, "token": TOKEN, "distinct_id": "A1"}})["activity"]
    assert second.stop(signal.SIGINT) == 0

    third = Server("--data-dir", folder)
    servers.append(third)
    assert smile_customer(third, 2)["points_balance"] == 4300  # the activity's 100 points
    repeat = call(f"{third.smile}/v1/activities", "POST", headers=SMILE, json_body={
        "activity": {"customer_id": 2, "token": TOKEN, "distinct_id": "A1"}})["activity"]
    assert repeat == {**activity, "updated_at": repeat["updated_at"]}
    assert smile_customer(third, 2)["points_balance"] == 4300  # awarded once
    call(f"{third.smile}/v1/points_transactions", "POST", headers=SMILE, json_body={
        "points_transaction": {"customer_id": 1, "points_change": -50, "description": "y"}})
    ss(third, "POST", "/award", user_email="bo@ss.io", activity_id="review")
    assert third.stop(signal.SIGKILL) == -signal.SIGKILL  # answered requests are on disk

    fourth = Server("--data-dir", folder)
    servers.append(fourth)
    assert smile_customer(fourth, 1)["points_balance"] == 5200
    assert int(ss(fourth, "GET", "/users/bo@ss.io")["available_points"]) == 60
    assert fourth.stop(signal.SIGTERM) == 0


def test_without_a_data_dir_nothing_is_kept(tmp_path: Path, servers: list[Server]) -> None:
    first = Server()
    servers.append(first)
    assert first.data_line() == (
        "data: in memory (lost when the fakes stop; --data-dir DIR keeps it)"
    )
    call(f"{first.smile}/v1/points_transactions", "POST", headers=SMILE, json_body={
        "points_transaction": {"customer_id": 1, "points_change": 250, "description": "x"}})
    assert smile_customer(first, 1)["points_balance"] == 5250
    assert first.stop(signal.SIGTERM) == 0
    second = Server()
    servers.append(second)
    assert smile_customer(second, 1)["points_balance"] == 5000
    assert second.stop(signal.SIGTERM) == 0


def run_main(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["--smile-port", "0", "--shopsocially-port", "0", *args], threading.Event())
    captured = capsys.readouterr()
    assert captured.out == ""
    return code, captured.err


def test_bad_data_dirs_are_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "file").write_text("")
    code, err = run_main(["--data-dir", str(tmp_path / "file" / "sub")], capsys)
    assert (code, err) == (
        2, f"error: cannot use {tmp_path / 'file' / 'sub'} as the data dir: Not a directory\n"
    )
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / "fakes.db").write_bytes(b"no database here" * 100)
    code, err = run_main(["--data-dir", str(corrupt)], capsys)
    assert code == 2
    assert err.startswith(f"error: {corrupt / 'fakes.db'} is not a usable fakes data file: ")
    assert err.count("\n") == 1
    with DataDir.open(tmp_path / "busy"):
        code, err = run_main(["--data-dir", str(tmp_path / "busy")], capsys)
    assert code == 2 and "is in use by another fakes server (pid " in err
    newer = tmp_path / "newer"
    DataDir.open(newer).close()
    import sqlite3

    db = sqlite3.connect(newer / "fakes.db")
    with db:
        db.execute("UPDATE fakeservers_meta SET value = '7' WHERE key = 'schema_version'")
    db.close()
    code, err = run_main(["--data-dir", str(newer)], capsys)
    assert code == 2 and "written by a newer fakeservers" in err and err.count("\n") == 1
