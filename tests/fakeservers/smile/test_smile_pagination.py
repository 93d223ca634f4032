"""Cursor pagination: newest first, stable across inserts, forward and back."""

from __future__ import annotations

from typing import Any

import pytest
from smile_client import Api

from fakeservers.smile import SmileApp


def walk(api: Api, path: str, name: str, limit: int, **query: str) -> list[int]:
    """Follow next_cursor to the end; returns the ids seen, in order."""
    seen: list[int] = []
    body = api.ok(path, limit=str(limit), **query)
    while True:
        seen += [item["id"] for item in body[name]]
        cursor = body["metadata"]["next_cursor"]
        if cursor is None:
            return seen
        body = api.ok(path, limit=str(limit), cursor=cursor, **query)


def test_forward_and_back_across_inserts(app: SmileApp, api: Api) -> None:
    first = api.ok("/v1/customers", limit="3")
    assert [c["id"] for c in first["customers"]] == [10, 9, 8]
    assert first["metadata"]["previous_cursor"] is None
    for n in range(2):  # created between two page fetches
        app.control.create_customer("demo", email=f"new{n}@smile.io")
    second = api.ok("/v1/customers", limit="3", cursor=first["metadata"]["next_cursor"])
    assert [c["id"] for c in second["customers"]] == [7, 6, 5]
    third = api.ok("/v1/customers", limit="3", cursor=second["metadata"]["next_cursor"])
    fourth = api.ok("/v1/customers", limit="3", cursor=third["metadata"]["next_cursor"])
    assert [c["id"] for c in third["customers"]] == [4, 3, 2]
    assert [c["id"] for c in fourth["customers"]] == [1]
    assert fourth["metadata"]["next_cursor"] is None

    back = api.ok("/v1/customers", limit="3", cursor=fourth["metadata"]["previous_cursor"])
    assert [c["id"] for c in back["customers"]] == [4, 3, 2]
    up = api.ok("/v1/customers", limit="3", cursor=second["metadata"]["previous_cursor"])
    assert [c["id"] for c in up["customers"]] == [10, 9, 8]
    top = api.ok("/v1/customers", limit="3", cursor=up["metadata"]["previous_cursor"])
    assert [c["id"] for c in top["customers"]] == [12, 11]
    assert top["metadata"]["previous_cursor"] is None


def test_default_and_maximum_limits(app: SmileApp, api: Api) -> None:
    for n in range(250):
        app.control.create_customer("demo", email=f"bulk{n}@smile.io")
    default = api.ok("/v1/customers")
    assert len(default["customers"]) == 50
    assert default["customers"][0]["id"] == 260
    widest = api.ok("/v1/customers", limit="250")
    assert len(widest["customers"]) == 250 and widest["metadata"]["next_cursor"] is not None
    assert walk(api, "/v1/customers", "customers", 250) == list(range(260, 0, -1))


@pytest.mark.parametrize(
    ("path", "name", "setup"),
    [
        ("/v1/points_transactions", "points_transactions", "txns"),
        ("/v1/reward_fulfillments", "reward_fulfillments", "purchases"),
        ("/v1/points_purchases", "points_purchases", "purchases"),
        ("/v1/earning_rules", "earning_rules", "rules"),
    ],
)
def test_every_cursor_list_walks_all_records_once(
    app: SmileApp, api: Api, path: str, name: str, setup: str
) -> None:
    for n in range(7):
        if setup == "txns":
            body: dict[str, Any] = {
                "points_transaction": {"customer_id": 1, "points_change": n + 1, "description": "x"}
            }
            api.created("/v1/points_transactions", body)
        elif setup == "purchases":
            api.created("/v1/points_products/1/purchase", {"customer_id": 1})
        else:
            app.control.create_earning_rule("demo", name=f"r{n}", token=f"t{n}", points=1)
    everything = api.ok(path, limit="250")[name]
    ids = [item["id"] for item in everything]
    assert ids == sorted(ids, reverse=True) and len(ids) >= 7
    assert walk(api, path, name, 2) == ids
    first = api.ok(path, limit="2")
    second = api.ok(path, limit="2", cursor=first["metadata"]["next_cursor"])
    back = api.ok(path, limit="2", cursor=second["metadata"]["previous_cursor"])
    assert back[name] == first[name]
