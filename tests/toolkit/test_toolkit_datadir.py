"""Persistent fakes in-process: `DataDir` + `Fake(data=...)`, driven over HTTP through the
werkzeug test client. Everything a fake holds survives closing and reopening the data dir:
tenants, credentials, switches, ledgers, vendor records, the clock, and what a reset
rebuilds. (tests/fakeservers/test_fakeservers_data_dir.py runs the real command.)"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from fakeservers.smile.backend import Activity
from fakeservers.toolkit import DataDir, DataDirError, Fake
from fakeservers.toolkit.datafile import DATABASE
from loyaltykit import ManualClock, Program, audit

SMILE_KEY = {"Authorization": "Bearer test_cnzGMghxTmPzK1spPraT"}
SS_KEY = {"partner-id": "demo-partner", "api-key": "demo-api-key"}
TOKEN = "activity_f57a9b5a8d0ac5"  # the Smile demo's 100-point activity
WALL = datetime(2031, 5, 5, 12, 0, tzinfo=UTC)


class Fakes:
    """Both fakes over one data dir, on a wall clock the test moves by hand."""

    def __init__(self, folder: Path, wall: ManualClock) -> None:
        self.data = DataDir.open(folder)
        self.clock = self.data.clock(wall)
        self.smile = Fake("smile", self.clock, data=self.data)
        self.shopsocially = Fake("shopsocially", self.clock, data=self.data)
        self.sm = Client(self.smile)
        self.ss = Client(self.shopsocially)

    def smile_json(self, method: str, path: str, body: Any = None, **headers: str) -> Any:
        response = self.sm.open(path, method=method, json=body, headers={**SMILE_KEY, **headers})
        assert response.status_code < 300, response.get_data(as_text=True)
        return response.json

    def ss_call(self, method: str, path: str, **values: Any) -> Any:
        kwargs: dict[str, Any] = {"query_string": values} if method == "GET" else {"data": values}
        response = self.ss.open("/v2/loyalty" + path, method=method, headers=SS_KEY, **kwargs)
        assert response.status_code < 300, response.get_data(as_text=True)
        return response.json["data"]

    def exports(self) -> dict[str, Any]:
        return {"smile": self.smile.export(), "shopsocially": self.shopsocially.export()}

    def close(self) -> None:
        self.data.close()


@pytest.fixture
def wall() -> ManualClock:
    return ManualClock(WALL)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def opened(folder: Path, wall: ManualClock) -> Iterator[list[Fakes]]:
    """Opens `Fakes` on demand (each closes the previous one); all closed at the end."""
    made: list[Fakes] = []
    yield made
    for fakes in made:
        fakes.close()


def reopen(made: list[Fakes], folder: Path, wall: ManualClock) -> Fakes:
    if made:
        made[-1].close()
    made.append(Fakes(folder, wall))
    return made[-1]


def test_a_new_data_dir_starts_with_the_demo_tenants(
    opened: list[Fakes], folder: Path, wall: ManualClock
) -> None:
    fakes = reopen(opened, folder, wall)
    assert not fakes.smile.reopened
    memory = Fake("smile", ManualClock(WALL))
    assert fakes.smile.export() == memory.export()
    assert (folder / DATABASE).exists()
    fakes = reopen(opened, folder, wall)
    assert fakes.smile.reopened and fakes.shopsocially.reopened
    assert fakes.smile.export() == memory.export()


def test_everything_survives_a_restart(
    opened: list[Fakes], folder: Path, wall: ManualClock
) -> None:
    fakes = reopen(opened, folder, wall)
    # Smile: the API, the control plane, vendor records
    txn = fakes.smile_json(
        "POST", "/v1/points_transactions",
        {"points_transaction": {"customer_id": 1, "points_change": 25, "description": "gift"}},
    )["points_transaction"]  # fmt: skip
    ann = fakes.sm.post("/_fake/tenants/demo/customers", json={"email": "ann@x.io",
                        "points_balance": 30}).json["customer"]  # fmt: skip
    activity = fakes.smile_json(
        "POST", "/v1/activities",
        {"activity": {"customer_id": 2, "token": TOKEN, "distinct_id": "A1",
                      "properties": {"note": "first"}}},
    )["activity"]  # fmt: skip
    identity = fakes.smile_json(
        "POST", "/v1/customer_identities/create_or_update",
        {"customer_identity": {"distinct_id": "crm-7", "email": "zed@x.io"}},
    )["customer_identity"]  # fmt: skip
    assert fakes.sm.post("/_fake/tenants", json={"name": "acme",
                         "credentials": ["acme_key"]}).status_code == 201  # fmt: skip
    assert fakes.sm.post("/_fake/tenants/demo/credentials", json={"key": "second_key"}
                         ).status_code == 201  # fmt: skip
    assert fakes.sm.post("/_fake/tenants/acme/settings", json={"rate_limited": True}
                         ).status_code == 200  # fmt: skip
    product = fakes.sm.post("/_fake/tenants/demo/points_products", json={
        "name": "Mug", "points_price": 100, "codes": ["MUG-1", "MUG-2"]}).json["points_product"]
    purchase = fakes.smile_json(
        "POST", f"/v1/points_products/{product['id']}/purchase", {"customer_id": 1}
    )["points_purchase"]
    # ShopSocially: configuration and ledger through its own API
    fakes.ss_call("POST", "/activities", activity_id="review", activity_name="Review",
                  activity_description="a review", activity_type="fixed",
                  points_per_activity=40, approval_method="immediate",
                  max_award_frequency=5, max_award_frequency_interval="day",
                  is_active="true")  # fmt: skip
    fakes.ss_call("POST", "/levels", level_id="gold", level_name="Gold",
                  level_description="gold", level_type="lifetime", level_position=3,
                  level_minimum_points=300, level_bonus_multiplier=2,
                  is_active="true")  # fmt: skip
    fakes.ss_call("POST", "/redemptions", redemption_id="five_off", redemption_name="5 off",
                  allowed_redeem_points=10, redemption_value="5", giftcard_description="c",
                  terms_and_conds_text="t", giftcard_coupon_codes="FIVE-1,FIVE-2,FIVE-3",
                  coupon_expiry="31-Dec-2099", is_active="true")  # fmt: skip
    fakes.ss_call("POST", "/users", first_name="Ann", last_name="Lee", email="ann@ss.io",
                  uid="ann")  # fmt: skip
    award = fakes.ss_call("POST", "/award", user_email="ann@ss.io", activity_id="review")
    redeemed = fakes.ss_call("POST", "/redeem", user_email="ann@ss.io", redemption_id="five_off")
    # the shared clock, a week on
    now = fakes.sm.post("/_fake/clock/advance", json={"seconds": 7 * 86400}).json["now"]
    before = fakes.exports()

    wall.advance(timedelta(minutes=5))  # the restart takes five minutes of wall time
    fakes = reopen(opened, folder, wall)
    assert fakes.exports() == before
    after = fakes.sm.get("/_fake/clock").json["now"]
    assert datetime.fromisoformat(after) == datetime.fromisoformat(now) + timedelta(minutes=5)
    assert fakes.smile_json("GET", f"/v1/points_transactions/{txn['id']}")[
        "points_transaction"] == txn  # fmt: skip
    assert fakes.smile_json("GET", f"/v1/customers/{ann['id']}")["customer"][
        "points_balance"] == 30  # fmt: skip
    assert fakes.smile_json("GET", f"/v1/points_purchases/{purchase['id']}")[
        "points_purchase"] == purchase  # fmt: skip
    assert fakes.smile_json("GET", "/v1/customers/1", Authorization="Bearer second_key")[
        "customer"]["points_balance"] == 5000 + 25 - 100  # fmt: skip
    acme = fakes.sm.get("/_fake/tenants/acme").json["tenant"]
    assert acme == {"name": "acme", "credentials": [{"key": "acme_key", "kind": "secret"}],
                    "rate_limited": True}  # fmt: skip
    # Smile's records: the same activity again awards nothing and is the stored one
    again = fakes.sm.post("/v1/activities", headers=SMILE_KEY, json={"activity": {
        "customer_id": 2, "token": TOKEN, "distinct_id": "A1"}})
    assert again.status_code == 200 and again.json["activity"]["id"] == activity["id"]
    assert again.json["activity"]["properties"] == {"note": "first"}
    assert fakes.smile_json(
        "POST", "/v1/customer_identities/create_or_update",
        {"customer_identity": {"distinct_id": "crm-7", "email": "zed@x.io"}},
    )["customer_identity"] == identity  # fmt: skip
    # ShopSocially
    user = fakes.ss_call("GET", "/users/ann@ss.io")
    assert int(user["available_points"]) == 40 - 10
    assert fakes.ss_call("GET", f"/transactions/{award['id']}")["points"] == 40
    assert fakes.ss_call("GET", "/levels/gold")["level_minimum_points"] == 300
    assert fakes.ss_call("GET", "/activities/review")["points_per_activity"] == 40
    second = fakes.ss_call("POST", "/redeem", user_email="ann@ss.io", redemption_id="five_off")
    assert second["coupon_code"] != redeemed["coupon_code"]
    for fake in (fakes.smile, fakes.shopsocially):
        for tenant in fake.registry.tenants():
            assert audit(fake.vendor.core(tenant.program)) == []


def test_resets_rebuild_from_the_kept_seeders(
    opened: list[Fakes], folder: Path, wall: ManualClock
) -> None:
    fakes = reopen(opened, folder, wall)
    demo = fakes.smile.export(["demo"])
    fakes.sm.post("/_fake/tenants", json={"name": "blank", "credentials": ["blank_key"]})
    fakes.sm.post("/_fake/tenants", json={"name": "shop", "credentials": ["shop_key"],
                                          "seed": "demo"})  # fmt: skip
    seeded = {"format": "fakeservers.seed/1", "smile": {"tenants": [{
        "name": "seeded", "credentials": [{"key": "seeded_key", "kind": "secret"}],
        "program": Fake("smile", ManualClock(WALL)).export(["demo"])["smile"]["tenants"][0][
            "program"], "extra": {"points_label": ["Star", "Stars"]}}]}}  # fmt: skip
    assert fakes.sm.post("/_fake/seed", json=seeded).json["loaded"] == ["seeded"]
    for name, key in (("demo", "test_cnzGMghxTmPzK1spPraT"), ("blank", "blank_key"),
                      ("shop", "shop_key"), ("seeded", "seeded_key")):  # fmt: skip
        fakes.sm.post(f"/_fake/tenants/{name}/customers", json={"email": "new@x.io"})
        assert fakes.sm.get("/v1/customers", headers={"Authorization": f"Bearer {key}"}
                            ).json["customers"]  # fmt: skip
    fakes = reopen(opened, folder, wall)
    assert fakes.sm.post("/_fake/reset", json={}).json["reset"] == [
        "demo", "blank", "shop", "seeded"]  # fmt: skip
    assert fakes.smile.export(["demo"]) == demo
    assert fakes.smile.program("blank").members() == []
    shop = fakes.smile.export(["shop"])["smile"]["tenants"][0]
    assert shop["program"] == {**demo["smile"]["tenants"][0]["program"],
                               "settings": shop["program"]["settings"]}  # fmt: skip
    assert shop["program"]["settings"]["name"] == "shop"
    assert fakes.smile.tenant("seeded").program.points_label == ("Star", "Stars")
    assert len(fakes.smile.program("seeded").members()) == 10
    kept = reopen(opened, folder, wall)  # and the resets themselves are kept
    assert kept.smile.export(["demo"]) == demo
    assert kept.smile.program("blank").members() == []


def test_only_the_current_programs_stay_in_the_file(
    opened: list[Fakes], folder: Path, wall: ManualClock
) -> None:
    fakes = reopen(opened, folder, wall)
    fakes.sm.post("/_fake/tenants", json={"name": "gone", "credentials": ["gone_key"]})
    fakes.smile.baseline()
    for _ in range(3):
        fakes.sm.post("/_fake/reset", json={})
    fakes.smile.registry.remove("gone")
    names = sorted(n for (n,) in sqlite3.connect(folder / DATABASE).execute(
        "SELECT name FROM loyaltykit_programs"))  # fmt: skip
    assert [n.rsplit("/", 1)[0] for n in names] == ["shopsocially/demo", "smile/demo"]
    fakes = reopen(opened, folder, wall)
    assert [t.name for t in fakes.smile.registry.tenants()] == ["demo"]


def test_a_program_no_tenant_names_is_dropped_on_opening(
    opened: list[Fakes], folder: Path, wall: ManualClock
) -> None:
    reopen(opened, folder, wall).close()
    url = f"sqlite:///{folder / DATABASE}"
    with Program.open(url, name="smile/demo/99", clock=wall) as orphan:  # a crashed reset's
        orphan.add_member(email="half@x.io")
    with Program.open(url, name="mine", clock=wall) as other:  # not the fakes' own
        other.add_member(email="other@x.io")
    fakes = reopen(opened, folder, wall)
    names = {n for (n,) in sqlite3.connect(folder / DATABASE).execute(
        "SELECT name FROM loyaltykit_programs")}  # fmt: skip
    assert "smile/demo/99" not in names and "mine" in names
    created = fakes.smile.control.create_tenant("next", ["next_key"])
    assert fakes.smile.program("next").name.endswith("/100")  # never reuses a number
    assert created.name == "next"


def test_smile_records_are_folded_into_the_tenant_on_reopening(
    opened: list[Fakes], folder: Path, wall: ManualClock
) -> None:
    fakes = reopen(opened, folder, wall)
    for n in range(3):
        fakes.smile_json("POST", "/v1/activities", {"activity": {
            "customer_id": 2, "token": TOKEN, "distinct_id": f"D{n}"}})  # fmt: skip
    db = sqlite3.connect(folder / DATABASE)
    assert db.execute("SELECT count(*) FROM fakeservers_records").fetchone()[0] == 6
    fakes = reopen(opened, folder, wall)
    assert db.execute("SELECT count(*) FROM fakeservers_records").fetchone()[0] == 0
    (extra,) = db.execute("SELECT extra FROM fakeservers_tenants WHERE vendor = 'smile'"
                          ).fetchone()  # fmt: skip
    assert len(json.loads(extra)["activities"]) == 3
    assert len(fakes.smile.tenant().program.activities) == 3


def test_a_record_of_a_reset_program_is_not_kept(
    opened: list[Fakes], folder: Path, wall: ManualClock
) -> None:
    """A request that ran its core command on the old program just before a reset and
    writes its record just after it."""
    fakes = reopen(opened, folder, wall)
    listener = fakes.smile.tenant().program._listener
    fakes.sm.post("/_fake/reset", json={})
    late = Activity(1, 2, TOKEN, {}, "late", None, None, WALL, WALL)
    listener("activities", late.id, late)
    fakes = reopen(opened, folder, wall)
    assert fakes.smile.tenant().program.activities == {}


def test_the_clock_set_backwards_is_kept(
    opened: list[Fakes], folder: Path, wall: ManualClock
) -> None:
    fakes = reopen(opened, folder, wall)
    response = fakes.ss.post("/_fake/clock", json={"now": "2020-02-02T00:00:00Z"})
    assert response.json["now"] == "2020-02-02T00:00:00Z"
    wall.advance(timedelta(hours=1))
    fakes = reopen(opened, folder, wall)
    assert fakes.ss.get("/_fake/clock").json["now"] == "2020-02-02T01:00:00Z"


def test_a_seed_or_demo_fills_only_a_new_data_dir(
    opened: list[Fakes], folder: Path, wall: ManualClock
) -> None:
    fakes = reopen(opened, folder, wall)
    fakes.sm.post("/_fake/tenants/demo/customers", json={"email": "kept@x.io"})
    seed = fakes.smile.export()
    fakes.close()
    data = DataDir.open(folder)
    try:
        again = Fake("smile", data.clock(wall), data=data, seed={**seed, "smile": {
            "tenants": []}})  # fmt: skip
        assert again.reopened
        assert again.program().member_by_email("kept@x.io")
        with pytest.raises(ValueError, match="empty registry"):
            data.attach(again.vendor, Fake("smile", wall).registry)
    finally:
        data.close()


def test_unusable_data_dirs_are_refused(tmp_path: Path, wall: ManualClock) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(DataDirError, match=r"cannot use .*file/sub as the data dir"):
        DataDir.open(tmp_path / "file" / "sub")
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    (corrupt / DATABASE).write_bytes(b"this is no database" * 100)
    with pytest.raises(DataDirError, match="not a usable fakes data file"):
        DataDir.open(corrupt)
    newer = tmp_path / "newer"
    DataDir.open(newer).close()
    db = sqlite3.connect(newer / DATABASE)
    with db:
        db.execute("UPDATE fakeservers_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(DataDirError, match="newer fakeservers"):
        DataDir.open(newer)
    with db:
        db.execute("UPDATE fakeservers_meta SET value = '1' WHERE key = 'schema_version'")
        db.execute("UPDATE loyaltykit_meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(DataDirError, match="newer loyaltykit"):
        DataDir.open(newer)
    db.close()


def test_one_process_at_a_time(folder: Path) -> None:
    first = DataDir.open(folder)
    try:
        with pytest.raises(DataDirError, match="in use by another fakes server"):
            DataDir.open(folder)
    finally:
        first.close()
    DataDir.open(folder).close()  # free again once closed


def test_without_a_data_dir_nothing_is_written(tmp_path: Path, wall: ManualClock) -> None:
    fake = Fake("smile", wall)
    fake.control.create_tenant("acme", ["acme_key"])
    assert fake.data is None and not fake.reopened
    assert list(tmp_path.iterdir()) == []
