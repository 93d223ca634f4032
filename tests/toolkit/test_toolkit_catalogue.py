"""The route catalogue: discoverable route names, and misspelled ones refused."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
from werkzeug.test import Client

from fakeservers.toolkit import Fake
from fakeservers.toolkit.catalogue import SUMMARIES, UnknownRoute, closest
from loyaltykit import ManualClock

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "testing-guide.md"


@pytest.fixture(params=["smile", "shopsocially"])
def fake(request: pytest.FixtureRequest) -> Fake:
    return Fake(request.param, ManualClock())


def test_every_api_route_is_catalogued_with_a_summary(fake: Fake) -> None:
    routes = fake.routes()
    names = [r.name for r in routes]
    assert len(names) == len(set(names))
    assert set(names) == fake.route_names == set(SUMMARIES[fake.name])
    assert all(r.summary and r.methods and r.paths for r in routes)
    assert not any(p.startswith("/_fake") for r in routes for p in r.paths)


def test_route_details() -> None:
    smile = {r.name: r for r in Fake("smile", ManualClock()).routes()}
    show = smile["customer_show"]
    assert (show.methods, show.paths, show.glob) == (
        ("GET",), ("/v1/customers/{customer_id}",), "/v1/customers/*"
    )
    assert smile["event_create"].paths == ("/v1/events", "/v1/events/")
    ss = {r.name: r for r in Fake("shopsocially", ManualClock()).routes()}
    assert ss["get_user"].paths == ("/v2/loyalty/users/{user_email}", "/loyalty/users/{user_email}")
    assert ss["award"].methods == ("POST",)


def test_the_guide_has_a_table_per_vendor_matching_the_catalogue(fake: Fake) -> None:
    text = GUIDE.read_text(encoding="utf-8")
    rows = re.findall(r"^\| `(\w+)` \| `(\w+) ([^`]+)` \| (.+?) \|$", text, flags=re.M)
    documented = {name: (method, path, summary) for name, method, path, summary in rows}
    for route in fake.routes():
        assert documented.get(route.name) == (route.methods[0], route.paths[0], route.summary), (
            route.name
        )


def test_routes_and_index_over_http(smile_url: str, shopsocially_url: str) -> None:
    body = requests.get(f"{smile_url}/_fake/routes").json()
    assert body["vendor"] == "smile"
    assert {"name": "customer_show", "methods": ["GET"], "paths": ["/v1/customers/{customer_id}"],
            "summary": "one customer by id"} in body["routes"]  # fmt: skip
    index = requests.get(f"{shopsocially_url}/_fake/")
    assert index.status_code == 200 and index.json()["api_routes"] == "/_fake/routes"
    control = {c["name"]: c for c in index.json()["control"]}
    assert control["fault_add"]["paths"] == ["/_fake/faults"]
    assert control["fake_clock_advance"]["methods"] == ["POST"]
    assert "fake_customer_create" not in control  # a Smile-only route
    smile_control = {c["name"] for c in requests.get(f"{smile_url}/_fake/").json()["control"]}
    assert {"fake_customer_create", "routes", "journal", "seed"} <= smile_control
    assert all(c["summary"] for c in index.json()["control"])


def test_a_misspelled_fault_route_is_refused_with_the_closest_names() -> None:
    smile = Fake("smile", ManualClock())
    with pytest.raises(UnknownRoute, match="did you mean customer_show") as caught:
        smile.faults.error("custmer_show")
    assert caught.value.suggestions[0] == "customer_show"
    assert smile.faults.faults() == []
    response = Client(smile).post("/_fake/faults", json={"kind": "error", "route": "custmer_show"})
    assert response.status_code == 400
    error = response.json["error"]
    assert error["code"] == "unknown_route" and error["did_you_mean"][0] == "customer_show"
    assert "GET /_fake/routes" in error["message"]
    smile.faults.error("GET /v1/custmers/*")  # a path glob is not a name: accepted


def test_a_misspelled_journal_route_is_refused() -> None:
    ss = Fake("shopsocially", ManualClock())
    with pytest.raises(UnknownRoute, match="did you mean get_user"):
        ss.journal.assert_called("get_usr")
    with pytest.raises(UnknownRoute):
        ss.journal.entries("awrd")
    with pytest.raises(UnknownRoute):
        ss.journal.count("awards")
    response = Client(ss).get("/_fake/journal", query_string={"route": "awrd"})
    assert response.status_code == 400 and response.json["error"]["did_you_mean"] == ["award"]
    assert Client(ss).get("/_fake/journal", query_string={"route": "award"}).status_code == 200


def test_no_suggestion_for_a_name_like_nothing() -> None:
    assert closest("zzzz", ["award", "redeem"]) == []
    with pytest.raises(UnknownRoute) as caught:
        Fake("smile", ManualClock()).faults.drop("zzzz")
    assert "did you mean" not in str(caught.value)
