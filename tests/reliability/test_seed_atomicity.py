"""Issue 11, section 2: a seed document or a control command is validated whole before
anything changes; a refusal changes nothing and says what is wrong (400 in the control
plane's format over HTTP, `error: ...` and exit status 2 on the command line).

The issue's examples first (a `demo` tenant whose journal holds `{"type": "Bogus"}` wiped
the demo tenant and broke every later reset; the guide's own example failed with
`KeyError: 'started_at'`; malformed documents answered 500 after creating part of
themselves; a misspelled vendor section was ignored), then the class: every field of a
valid export damaged in turn, and generated damage to any field.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from reliability_kit import is_control_error
from werkzeug.test import Client

from fakeservers.__main__ import main
from fakeservers.toolkit import Fake, SeedError
from loyaltykit import ManualClock

START = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "testing-guide.md"
GUIDE_SEED = json.loads(next(
    block for block in re.findall(r"```json\n(.*?)```", GUIDE.read_text("utf-8"), re.S)
    if "fakeservers.seed/1" in block))
ROOT = Path(__file__).resolve().parents[2]


def fake(vendor: str = "smile") -> Fake:
    return Fake(vendor, ManualClock(START))


def exported(vendor: str = "smile") -> dict[str, Any]:
    return fake(vendor).export()


def _tenant(doc: dict[str, Any], vendor: str = "smile") -> dict[str, Any]:
    tenant: dict[str, Any] = doc[vendor]["tenants"][0]
    return tenant


def _program(doc: dict[str, Any]) -> dict[str, Any]:
    program: dict[str, Any] = _tenant(doc)["program"]
    return program


def _event(doc: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(e for e in _program(doc)["journal"] if e["type"] == kind)


def _set(path: Callable[[dict[str, Any]], dict[str, Any]], key: str, value: Any) -> Any:
    def damage(doc: dict[str, Any]) -> None:
        path(doc)[key] = value

    return damage


def _second_tenant(name: str, same_key: bool) -> Any:
    def damage(doc: dict[str, Any]) -> None:
        twin = copy.deepcopy(_tenant(doc))
        twin["name"] = twin["program"]["settings"]["name"] = name
        if not same_key:
            twin["credentials"] = [{"key": "another-key", "kind": "secret"}]
        doc["smile"]["tenants"].append(twin)

    return damage


def _deep_metadata(doc: dict[str, Any]) -> None:
    value: Any = 1
    for _ in range(400):
        value = {"m": value}
    _event(doc, "RuleDefined")["rule"]["metadata"] = value


DAMAGE: dict[str, Any] = {
    "demo journal holds Bogus": _set(_program, "journal", [{"type": "Bogus"}]),
    "settings: 5": _set(_program, "settings", 5),
    "journal: [5]": _set(_program, "journal", [5]),
    "journal: 5": _set(_program, "journal", 5),
    "timezone: 5": lambda d: _program(d)["settings"].update(timezone=5),
    "timezone unknown": lambda d: _program(d)["settings"].update(timezone="Mars/Olympus"),
    "clawback unknown": lambda d: _program(d)["settings"].update(clawback="never"),
    "settings unknown key": lambda d: _program(d)["settings"].update(colour="blue"),
    "start before year 1": lambda d: _program(d)["settings"].update(
        started_at="0001-01-01T00:00:00+01:00"),
    "start not a date": lambda d: _program(d)["settings"].update(started_at="yesterday"),
    "start: 5": lambda d: _program(d)["settings"].update(started_at=5),
    "two tenants share a key": _second_tenant("twin", same_key=True),
    "two tenants share a name": lambda d: d["smile"]["tenants"].append(
        {**copy.deepcopy(_tenant(d)), "credentials": []}),
    "tenants: 5": lambda d: d["smile"].update(tenants=5),
    "section: 5": lambda d: d.update(smile=5),
    "section unknown key": lambda d: d["smile"].update(tenant=[]),
    "misspelled vendor": lambda d: d.update(smlie=d.pop("smile")),
    "format missing": lambda d: d.pop("format"),
    "format wrong": lambda d: d.update(format="fakeservers.seed/2"),
    "tenant name: 5": _set(_tenant, "name", 5),
    "tenant name empty": _set(_tenant, "name", ""),
    "tenant name too long": _set(_tenant, "name", "n" * 300),
    "tenant unknown key": _set(_tenant, "nmae", "demo"),
    "credentials: [5]": _set(_tenant, "credentials", [5]),
    "credentials: text": _set(_tenant, "credentials", "key"),
    "credential kind: 5": _set(_tenant, "credentials", [{"key": "k", "kind": 5}]),
    "credential unknown key": _set(_tenant, "credentials", [{"key": "k", "kid": "secret"}]),
    "rate_limited: yes": _set(_tenant, "rate_limited", "yes"),
    "program: 5": _set(_tenant, "program", 5),
    "program missing": lambda d: _tenant(d).pop("program"),
    "program format wrong": lambda d: _program(d).update(format="nope"),
    "extra: 5": _set(_tenant, "extra", 5),
    "extra unknown key": lambda d: _tenant(d)["extra"].update(notes=[]),
    "extra activities malformed": lambda d: _tenant(d)["extra"].update(activities=[[1, 5]]),
    "points label malformed": lambda d: _tenant(d)["extra"].update(points_label=["Pin"]),
    "multiplier NaN": lambda d: _event(d, "RuleDefined")["rule"].update(multiplier="NaN"),
    "multiplier 1e999999": lambda d: _event(d, "RuleDefined")["rule"].update(
        multiplier="1e999999"),
    "points 10**40": lambda d: _event(d, "RuleDefined")["rule"].update(points=10**40),
    "rule name too long": lambda d: _event(d, "RuleDefined")["rule"].update(name="n" * 10_001),
    "metadata 400 deep": _deep_metadata,
    "event time not a date": lambda d: _event(d, "RuleDefined").update(at="soon"),
    "event field missing": lambda d: _event(d, "RuleDefined").pop("rule"),
}


def _damaged(name: str) -> dict[str, Any]:
    doc = exported()
    DAMAGE[name](doc)
    return doc


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_seed_is_refused_whole_and_changes_nothing(damage: str) -> None:
    built = fake()
    client = Client(built)
    before = built.export()
    response = client.post("/_fake/seed", json=_damaged(damage))
    assert response.status_code == 400, (response.status_code, response.get_data()[:300])
    assert is_control_error(response.json), response.json
    assert built.export() == before
    reset = client.post("/_fake/reset")
    assert reset.status_code == 200, reset.get_data()[:300]
    assert built.export() == before
    assert client.get("/v1/customers/1", headers=built.headers()).status_code == 200


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_a_damaged_seed_is_refused_by_the_python_twin(damage: str) -> None:
    built = fake()
    before = built.export()
    with pytest.raises(SeedError):
        built.load(_damaged(damage))
    assert built.export() == before
    with pytest.raises(SeedError):
        Fake("smile", ManualClock(START), seed=_damaged(damage))


def test_the_shopsocially_demo_survives_a_bogus_journal() -> None:
    built = fake("shopsocially")
    client = Client(built)
    before = built.export()
    doc = copy.deepcopy(before)
    _tenant(doc, "shopsocially")["program"]["journal"].append({"type": "Bogus"})
    response = client.post("/_fake/seed", json=doc)
    assert response.status_code == 400 and is_control_error(response.json)
    assert "Bogus" in response.json["error"]["message"]
    assert built.export() == before
    assert client.post("/_fake/reset").status_code == 200
    # (the ShopSocially demo draws its referral codes afresh on every reset)
    assert [(m.email, m.balance) for m in built.program().members()] == [
        (p["email"], p["balance"]) for p in _members(before)]


def _members(document: dict[str, Any]) -> list[dict[str, Any]]:
    again = Fake("shopsocially", ManualClock(START), demo=False)
    again.load(document)
    return [{"email": m.email, "balance": m.balance} for m in again.program().members()]


def test_a_second_tenant_cannot_take_a_key_of_a_tenant_it_does_not_replace() -> None:
    built = fake()
    before = built.export()
    doc = exported()
    _tenant(doc)["name"] = "thief"  # keeps the demo tenant's keys
    response = Client(built).post("/_fake/seed", json=doc)
    assert response.status_code == 400 and is_control_error(response.json)
    assert built.export() == before


def test_a_valid_seed_still_replaces_and_adds_tenants() -> None:
    built = fake()
    doc = exported()
    _second_tenant("copy", same_key=False)(doc)
    response = Client(built).post("/_fake/seed", json=doc)
    assert response.status_code == 201 and response.json == {"loaded": ["demo", "copy"]}
    assert built.export() == doc


# ------------------------------------------------------------------ the guide's example


def test_the_guides_seed_example_loads() -> None:
    for vendor in ("smile", "shopsocially"):
        built = Fake(vendor, ManualClock(START), seed=GUIDE_SEED)
        assert [t.name for t in built.registry.tenants()] == ["demo"]
        program = built.program("demo")
        assert program.members() == []
        assert program.started_at == datetime(2024, 1, 1, tzinfo=UTC)  # the guide's start
        assert Client(built).post("/_fake/reset").status_code == 200
        response = Client(fake(vendor)).post("/_fake/seed", json=GUIDE_SEED)
        assert response.status_code == 201, response.json


def test_settings_may_be_left_empty() -> None:
    """The guide's example once read `"settings": {}` and failed with
    `KeyError: 'started_at'`: a program without a start starts at its first event, or at
    the fakes' clock when its journal is empty; its name is the tenant's."""
    empty = copy.deepcopy(GUIDE_SEED)
    for vendor in ("smile", "shopsocially"):
        _tenant(empty, vendor)["program"]["settings"] = {}
    built = Fake("smile", ManualClock(START), seed=empty)
    assert built.program("demo").started_at == START
    assert built.program("demo").name == "demo"
    full = exported()
    first = _program(full)["journal"][0]["at"]
    _program(full)["settings"] = {}
    again = Fake("smile", ManualClock(START), seed=full)
    assert again.program("demo").started_at == datetime.fromisoformat(first)


def test_the_guides_seed_example_serves_from_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(GUIDE_SEED), "utf-8")
    stop = threading.Event()
    result: list[int] = []
    runner = threading.Thread(target=lambda: result.append(main(
        ["--seed", str(path), "--smile-port", "0", "--shopsocially-port", "0",
         "--log-level", "WARNING"], stop)))
    runner.start()
    stop.set()
    runner.join(15)
    assert result == [0]


# ------------------------------------------------------------------ the command line


@pytest.mark.parametrize("damage", ["demo journal holds Bogus", "settings: 5", "journal: [5]",
                                    "timezone: 5", "two tenants share a key",
                                    "start before year 1", "misspelled vendor",
                                    "multiplier NaN", "extra unknown key", "tenants: 5"])
def test_a_damaged_seed_file_is_an_error_and_exit_status_2(
    damage: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(_damaged(damage)), "utf-8")
    assert main(["--seed", str(path), "--smile-port", "0", "--shopsocially-port", "0"]) == 2
    captured = capsys.readouterr()
    printed = captured.out + captured.err
    assert "error: " in printed and "Traceback" not in printed


@pytest.mark.parametrize("content", ["{", "[]", "5", '{"format": "fakeservers.seed/1", "x": 1}',
                                     "[" * 100_000, '{"format": NaN}'])
def test_an_unreadable_seed_file_is_an_error_and_exit_status_2(
    content: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "seed.json"
    path.write_text(content, "utf-8")
    assert main(["--seed", str(path)]) == 2
    captured = capsys.readouterr()
    assert "error: " in captured.out + captured.err


def test_no_traceback_from_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "seed.json"
    path.write_text(json.dumps(_damaged("demo journal holds Bogus")), "utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "fakeservers", "--seed", str(path), "--smile-port", "0",
         "--shopsocially-port", "0"],
        capture_output=True, text=True, timeout=60, cwd=ROOT,
    )
    assert done.returncode == 2, (done.stdout, done.stderr)
    assert "Traceback" not in done.stdout + done.stderr
    assert "error: " in done.stdout + done.stderr


# ------------------------------------------------------------------ control commands


def test_a_refused_customer_leaves_no_member_behind() -> None:
    built = fake()
    program = built.program()
    before = len(program.journal())
    response = Client(built).post("/_fake/tenants/demo/customers", json={
        "email": "ghost@example.com", "state": "disabled", "points_balance": 100})
    assert response.status_code == 400 and is_control_error(response.json), response.json
    assert len(program.journal()) == before


def test_a_refused_points_product_leaves_no_pool_behind() -> None:
    built = fake()
    program = built.program()
    before = len(program.journal())
    response = Client(built).post("/_fake/tenants/demo/points_products", json={
        "name": "Broken", "exchange_type": "variable", "variable_points_step": 100,
        "variable_points_min": 500, "variable_points_max": 100})
    assert response.status_code == 400 and is_control_error(response.json), response.json
    assert len(program.journal()) == before


def test_a_refused_first_vip_tier_leaves_no_track_behind() -> None:
    built = Fake("smile", ManualClock(START), demo=False)
    built.control.create_tenant("empty", ["empty-key"])
    program = built.program("empty")
    response = Client(built).post("/_fake/tenants/empty/vip_tiers", json={
        "name": "Broken", "milestone": -5})
    assert response.status_code == 400 and is_control_error(response.json), response.json
    assert program.journal() == []


@pytest.mark.parametrize("body", [
    {"name": "new", "credentials": ["test_cnzGMghxTmPzK1spPraT"]},
    {"name": "new", "credentials": ["fresh"], "rate_limited": "maybe"},
    {"name": "new", "credentials": ["fresh"], "seed": "nope"},
    {"name": "new", "credentials": [["a", 5]]},
])
def test_a_refused_tenant_is_not_created(body: dict[str, Any]) -> None:
    built = fake()
    client = Client(built)
    response = client.post("/_fake/tenants", json=body)
    assert 400 <= response.status_code < 500 and is_control_error(response.json)
    assert [t.name for t in built.registry.tenants()] == ["demo"]
    assert built.registry.authenticate("fresh") is None


def test_a_credential_kind_the_vendor_lacks_is_refused() -> None:
    # Smile keys are "secret" or "public_app"; ShopSocially has only secret ones
    from fakeservers.shopsocially import create_app as shopsocially_app

    client = Client(shopsocially_app())
    body = {"name": "new", "credentials": [{"key": ["p", "k"], "kind": "public_app"}]}
    response = client.post("/_fake/tenants", json=body)
    assert response.status_code == 400 and is_control_error(response.json)
    assert "kind must be one of secret" in response.json["error"]["message"]
    built = fake()
    response = Client(built).post("/_fake/tenants", json={
        "name": "new", "credentials": [{"key": "fresh", "kind": "public_app"}]})
    assert response.status_code == 201


# ------------------------------------------------------------------ the class, generated


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [prefix]
    if isinstance(value, dict):
        for key, inner in value.items():
            found.extend(_paths(inner, (*prefix, key)))
    elif isinstance(value, list):
        for index, inner in enumerate(value[:6]):
            found.extend(_paths(inner, (*prefix, index)))
    return found


BASE = exported()
PATHS = [p for p in _paths(BASE) if p]
JUNK = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8),
    st.sampled_from(["NaN", "1e999999", "-1", "0001-01-01T00:00:00+05:00", "UTC", "secret",
                     "9999-12-31T23:59:59+00:00", "demo", [], {}, [5], {"type": "Bogus"}]),
)


@given(path=st.sampled_from(PATHS), value=JUNK, delete=st.booleans())
@example(path=("smile", "tenants", 0, "credentials", 0, "kind"), value="0", delete=False)
def test_any_damage_loads_whole_or_changes_nothing(path: tuple[Any, ...], value: Any,
                                                   delete: bool) -> None:
    built = fake()
    client = Client(built)
    before = built.export()
    doc = copy.deepcopy(BASE)
    parent: Any = doc
    for key in path[:-1]:
        parent = parent[key]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    response = client.post("/_fake/seed", json=doc)
    assert response.status_code in (201, 400), response.get_data()[:300]
    if response.status_code == 400:
        assert is_control_error(response.json)
        assert built.export() == before
    else:
        after = built.export()
        assert json.loads(json.dumps(after, allow_nan=False)) == after
        assert client.get("/v1/customers", headers=built.headers()).status_code == 200
    assert client.post("/_fake/reset").status_code == 200
