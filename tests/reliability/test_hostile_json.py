"""Issue 11, section 1: strict JSON in and out, and a nesting bound checked without recursion.

Every route of both fakes that reads a JSON body (vendor APIs, the control plane, the
toolkit's routes) is sent the non-standard constants (`NaN`, `Infinity`), a number that
only overflow makes finite-looking (`1e400`), a document 450 levels deep holding a lone
surrogate (a RecursionError in the surrogate check on main), and one 100,000 levels deep:
each is refused in the door's own format, never a 500. What is stored can always be read
back and exported as strict JSON.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from reliability_kit import is_control_error, is_smile_error, is_ss_error, settled_state
from werkzeug.routing import Map, Rule
from werkzeug.test import Client

from fakeservers.shopsocially import DEMO_API_KEY, DEMO_PARTNER_ID
from fakeservers.smile import DEMO_KEY
from fakeservers.toolkit import Fake
from fakeservers.toolkit.fake import _toolkit_rules as toolkit_rules
from loyaltykit import ManualClock
from loyaltykit.limits import MAX_DEPTH

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
SMILE_AUTH = {"Authorization": f"Bearer {DEMO_KEY}"}
SS_AUTH = {"partner-id": DEMO_PARTNER_ID, "api-key": DEMO_API_KEY}
PATH_VALUES = {"customer_id": "1", "product_id": "1", "purchase_id": "1", "transaction_id": "1",
               "name": "demo", "txn_id": "1", "user_email": "bob@shopsocially.com",
               "uid": "merc", "activity_id": "made_a_purchase", "redemption_id": "coupon_1k",
               "level_id": "leopard", "ident": "1"}
IGNORE_BODIES = {"/_fake/tenants/<name>/reset", "/_fake/journal/clear", "/_fake/faults/clear",
                 "/_fake/faults/<int:ident>", "/_fake/journal", "/_fake/faults"}
"""Routes (with their body-less methods) that read no body: any body is ignored."""


def deep(levels: int, inner: str = '"\\ud800"') -> str:
    return "[" * levels + inner + "]" * levels


HOSTILE = {
    "nan": '{"a": NaN}',
    "infinity": '{"a": [1, -Infinity]}',
    "overflow": '{"a": 1e400}',
    "deep surrogate": '{"a": ' + deep(450) + "}",
    "very deep": deep(100_000, "1"),
    "just too deep": '{"a": ' + deep(MAX_DEPTH, "1") + "}",
}


def fake(vendor: str) -> Fake:
    return Fake(vendor, ManualClock(START))


def _routes(url_map: Map) -> list[tuple[Rule, str]]:
    found = []
    for rule in sorted(url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS", "GET"}):
            found.append((rule, method))
    return found


def _path(rule: Rule) -> str:
    path = rule.rule
    for name in rule.arguments:
        path = path.replace(f"<int:{name}>", PATH_VALUES[name]).replace(
            f"<{name}>", PATH_VALUES[name])
    return path


def _targets() -> list[tuple[str, str, str, str]]:
    targets = []
    for vendor in ("smile", "shopsocially"):
        built = fake(vendor)
        for rule, method in _routes(built.app.url_map):
            targets.append((vendor, method, rule.rule, _path(rule)))
        for rule, method in _routes(toolkit_rules()):
            targets.append((vendor, method, rule.rule, _path(rule)))
    return targets


TARGETS = _targets()


def _shape(vendor: str, path: str) -> Any:
    if path.startswith("/_fake/"):
        return is_control_error
    return is_smile_error if vendor == "smile" else is_ss_error


def send_raw(client: Client, method: str, path: str, text: str,
             headers: dict[str, str]) -> tuple[int, Any]:
    try:
        response = client.open(path, method=method, data=text.encode("utf-8", "surrogatepass"),
                               headers=headers, content_type="application/json")
    except Exception as exc:  # what a real server would answer with a 500
        return 500, repr(exc)
    return response.status_code, response.get_json(silent=True)


@pytest.mark.parametrize("kind", sorted(HOSTILE))
@pytest.mark.parametrize(("vendor", "method", "rule", "path"), TARGETS,
                         ids=[f"{v}:{m} {r}" for v, m, r, _ in TARGETS])
def test_every_json_route_refuses_hostile_json(
    vendor: str, method: str, rule: str, path: str, kind: str
) -> None:
    built = fake(vendor)
    client = Client(built)
    program = built.program()
    before = settled_state(program)
    headers = SMILE_AUTH if vendor == "smile" else SS_AUTH
    status, body = send_raw(client, method, path, HOSTILE[kind], headers)
    assert status < 500, (status, body)
    if rule in IGNORE_BODIES and status < 400:
        return
    assert 400 <= status < 500 and _shape(vendor, path)(body), (status, body)
    assert settled_state(built.program()) == before


@pytest.mark.parametrize("route", ["/_fake/seed", "/_fake/faults", "/_fake/tenants"])
def test_a_hundred_thousand_levels_get_a_json_400(route: str) -> None:
    """On main: `/_fake/seed` and `/_fake/faults` answered a text/plain 500."""
    built = fake("smile")
    response = Client(built).post(route, data=deep(100_000, "1"),
                                  content_type="application/json")
    assert response.status_code == 400 and response.mimetype == "application/json"
    assert is_control_error(response.json)
    assert "deep" in response.json["error"]["message"]


def test_activity_properties_too_deep_are_refused_and_export_still_works() -> None:
    """On main: stored (201), then `GET /_fake/export` was a 500 for the whole fake."""
    built = fake("smile")
    client = Client(built)
    properties: Any = "leaf"
    for _ in range(400):
        properties = {"p": properties}
    activity = {"customer_id": 1, "token": "activity_f57a9b5a8d0ac5", "properties": properties}
    text = json.dumps({"activity": activity})
    status, body = send_raw(client, "POST", "/v1/activities", text, SMILE_AUTH)
    assert status == 400 and is_smile_error(body), (status, body)
    export = client.get("/_fake/export")
    assert export.status_code == 200
    strict_loads(export.get_data(as_text=True))


def test_properties_as_deep_as_allowed_round_trip_through_export_and_seed() -> None:
    built = fake("smile")
    client = Client(built)
    properties: Any = 1.5
    for _ in range(MAX_DEPTH - 3):  # the body wraps them in two objects
        properties = {"p": properties}
    activity = {"customer_id": 1, "token": "activity_f57a9b5a8d0ac5", "properties": properties}
    response = client.post("/v1/activities", json={"activity": activity}, headers=SMILE_AUTH)
    assert response.status_code == 201, response.json
    document = strict_loads(client.get("/_fake/export").get_data(as_text=True))
    again = fake("smile")
    response = Client(again).post("/_fake/seed", json=document)
    assert response.status_code == 201, response.json
    assert again.export() == document


def strict_loads(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_smile_properties_never_echo_non_standard_json(value: str) -> None:
    built = fake("smile")
    client = Client(built)
    for path, body in [
        ("/v1/activities", '{"activity": {"customer_id": 1, "token": '
                           f'"activity_f57a9b5a8d0ac5", "properties": {{"x": {value}}}}}}}'),
        ("/v1/customer_identities/create_or_update",
         '{"customer_identity": {"distinct_id": "d", "email": "jane@smile.io", '
         f'"properties": {{"x": {value}}}}}}}'),
    ]:
        status, answer = send_raw(client, "POST", path, body, SMILE_AUTH)
        assert status == 400 and is_smile_error(answer), (status, answer)
    strict_loads(client.get("/_fake/export").get_data(as_text=True))


def test_a_fault_body_is_strict_json() -> None:
    built = fake("smile")
    client = Client(built)
    status, body = send_raw(client, "POST", "/_fake/faults",
                            '{"kind": "error", "body": {"x": NaN}}', {})
    assert status == 400 and is_control_error(body)
    with pytest.raises(ValueError, match="JSON"):
        built.faults.error(body={"x": float("nan")})
    assert built.faults.faults() == []


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=12,
)


@given(properties=st.dictionaries(st.text(max_size=5), JSON_VALUES, max_size=4))
def test_whatever_properties_are_accepted_export_as_strict_json(properties: Any) -> None:
    built = fake("smile")
    client = Client(built)
    text = json.dumps({"activity": {"customer_id": 1, "token": "activity_f57a9b5a8d0ac5",
                                    "properties": properties}}, allow_nan=True)
    status, body = send_raw(client, "POST", "/v1/activities", text, SMILE_AUTH)
    assert status in (201, 400), (status, body)
    if status == 400:
        assert is_smile_error(body)
    export = client.get("/_fake/export")
    assert export.status_code == 200
    strict_loads(export.get_data(as_text=True))
    response = client.get("/v1/customers/1", headers=SMILE_AUTH)
    assert response.status_code == 200
