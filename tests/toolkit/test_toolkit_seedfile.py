"""Seed files: whole tenants as JSON; export after seed gives the same document."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from werkzeug.test import Client

from fakeservers.toolkit import FORMAT, Fake, SeedError, read_seed_file, write_seed_file
from loyaltykit import ManualClock


@pytest.mark.parametrize("vendor", ["smile", "shopsocially"])
def test_export_after_seed_gives_the_same_document(vendor: str, tmp_path: Path) -> None:
    original = Fake(vendor, ManualClock())
    document = original.export()
    assert document["format"] == FORMAT
    assert [t["name"] for t in document[vendor]["tenants"]] == ["demo"]
    path = tmp_path / "seed.json"
    write_seed_file(path, document)
    seeded = Fake(vendor, ManualClock(datetime(2031, 1, 1, tzinfo=UTC)), seed=read_seed_file(path))
    assert seeded.export() == document
    assert seeded.program().state() == original.program().state()
    seeded.reset()
    assert seeded.export() == document  # a reset goes back to the seed


def test_history_survives_the_round_trip() -> None:
    clock = ManualClock(datetime(2024, 3, 1, tzinfo=UTC))
    source = Fake("smile", clock)
    client = Client(source)
    client.post("/v1/points_products/1/purchase", json={"customer_id": 1}, headers=source.headers())
    clock.advance(timedelta(days=2))
    client.post(
        "/v1/activities",
        json={"activity": {"customer_id": 2, "token": "activity_f57a9b5a8d0ac5",
                           "distinct_id": "evt-1"}},
        headers=source.headers(),
    )  # fmt: skip
    document = json.loads(json.dumps(source.export()))  # through real JSON text
    copy = Fake("smile", ManualClock(clock.now()), seed=document)
    for path in ("/v1/customers/1", "/v1/points_transactions?customer_id=1",
                 "/v1/points_purchases", "/v1/customers/2?include=vip_status"):  # fmt: skip
        assert Client(copy).get(path, headers=copy.headers()).json == client.get(
            path, headers=source.headers()
        ).json
    # the Smile-only records (activities with their distinct ids) came along: a repeat
    # of the same distinct_id awards nothing more
    repeat = {"activity": {"customer_id": 2, "token": "activity_f57a9b5a8d0ac5",
                           "distinct_id": "evt-1"}}  # fmt: skip
    before = copy.program().member(2).balance
    Client(copy).post("/v1/activities", json=repeat, headers=copy.headers())
    assert copy.program().member(2).balance == before


def test_several_tenants_credentials_and_settings() -> None:
    source = Fake("shopsocially", ManualClock(), demo=False)
    source.control.create_tenant("acme", [("acme-partner", "k1")], rate_limited=True)
    source.control.add_credential("acme", ("acme-partner", "k2"))
    source.control.create_tenant("zeta", [("zeta-partner", "k3")])
    document = source.export()
    tenants = document["shopsocially"]["tenants"]
    assert [t["name"] for t in tenants] == ["acme", "zeta"]
    assert tenants[0]["credentials"] == [
        {"key": ["acme-partner", "k1"], "kind": "secret"},
        {"key": ["acme-partner", "k2"], "kind": "secret"},
    ]
    copy = Fake("shopsocially", ManualClock(), seed=document)
    assert copy.export() == document
    assert copy.tenant("acme").rate_limited
    assert copy.export(["zeta"])["shopsocially"]["tenants"] == [tenants[1]]


def test_a_file_for_both_vendors_keeps_demo_where_absent() -> None:
    smile_only = Fake("smile", ManualClock()).export()
    shopsocially = Fake("shopsocially", ManualClock(), seed=smile_only)
    assert [t.name for t in shopsocially.registry.tenants()] == ["demo"]
    both = {**smile_only, **Fake("shopsocially", ManualClock()).export()}
    assert set(both) == {"format", "smile", "shopsocially"}


def test_export_and_seed_over_the_control_plane(smile_url: str) -> None:
    document = requests.get(f"{smile_url}/_fake/export").json()
    assert document["format"] == FORMAT
    tenant = document["smile"]["tenants"][0]
    tenant["name"] = "copy"
    tenant["credentials"] = [{"key": "copy_key", "kind": "secret"}]
    loaded = requests.post(f"{smile_url}/_fake/seed", json=document)
    assert (loaded.status_code, loaded.json()) == (201, {"loaded": ["copy"]})
    headers = {"Authorization": "Bearer copy_key"}
    customer = requests.get(f"{smile_url}/v1/customers/1", headers=headers).json()["customer"]
    assert customer["last_name"] == "Bond"
    only = requests.get(f"{smile_url}/_fake/export", params={"tenant": "copy"}).json()
    assert [t["name"] for t in only["smile"]["tenants"]] == ["copy"]
    # loading over an existing tenant replaces its state
    requests.post(
        f"{smile_url}/v1/points_products/1/purchase", json={"customer_id": 1}, headers=headers
    )
    requests.post(f"{smile_url}/_fake/seed", json=document)
    customer = requests.get(f"{smile_url}/v1/customers/1", headers=headers).json()["customer"]
    assert customer["points_balance"] == 5000


def test_tenants_added_in_a_test_are_gone_in_the_next(smile_fake: Fake) -> None:
    assert [t.name for t in smile_fake.registry.tenants()] == ["demo"]
    assert smile_fake.registry.authenticate("copy_key") is None


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"format": "nope"}, "not a seed file"),
        ({"format": FORMAT, "smile": {"tenants": {}}}, "must be a list"),
        ({"format": FORMAT, "smile": {"tenants": [{"name": "x"}]}}, "no program snapshot"),
        ({"format": FORMAT, "smile": {"tenants": [{"program": {}}]}}, "name must be a string"),
    ],
)
def test_bad_documents_are_refused(document: dict[str, object], message: str) -> None:
    with pytest.raises(SeedError, match=message):
        Fake("smile", ManualClock()).load(document)


def test_bad_file(tmp_path: Path) -> None:
    path = tmp_path / "x.json"
    path.write_text("{not json")
    with pytest.raises(SeedError, match="cannot read seed file"):
        read_seed_file(path)
    with pytest.raises(SeedError, match="cannot read seed file"):
        read_seed_file(tmp_path / "missing.json")


def test_reset_returns_to_the_baseline_tenants() -> None:
    fake = Fake("smile", ManualClock())
    fake.control.add_credential("demo", "extra_key")
    fake.control.set_rate_limited("demo", True)
    fake.control.create_tenant("temp", ["temp_key"])
    fake.program().earn(1, 5, description="during the test")
    fake.reset()
    assert [t.name for t in fake.registry.tenants()] == ["demo"]
    demo = fake.tenant()
    assert "extra_key" not in demo.credentials and not demo.rate_limited
    assert fake.registry.authenticate("temp_key") is None
    assert fake.registry.authenticate("extra_key") is None
    assert fake.program().member(1).balance == 5000
    fake.reset(rate_limited=True)
    assert fake.tenant().rate_limited
