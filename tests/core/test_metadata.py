"""What a program hands out cannot change it: metadata is JSON data, checked and frozen;
the clock a program reads is checked."""

from __future__ import annotations

import copy
import json
import pickle
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from loyaltykit import InvalidArgument, ManualClock, Member, Program, audit
from loyaltykit.events import MemberRecorded, RuleDefined
from loyaltykit.limits import MAX_DEPTH, MAX_METADATA_BYTES, MAX_TOTAL_POINTS
from loyaltykit.metadata import FrozenDict, FrozenList

META = {"tags": ["a", "b"], "nested": {"n": 1, "ok": True, "f": 1.5, "none": None}}


def owners(program: Program, member: Member) -> list[Any]:
    """One object of each kind that carries metadata, as the program hands it out."""
    rule = program.add_rule(name="r", points=1, metadata=META)
    offer = program.add_offer(name="o", metadata=META)
    track = program.add_track(name="t")
    tier = program.add_tier(track.id, name="t", threshold=1, metadata=META)
    program.update_member(member.id, metadata=META)
    return [
        rule,
        program.rule(rule.id),
        program.rules()[0],
        offer,
        program.offer(offer.id),
        tier,
        program.tier(tier.id),
        program.member(member.id).profile,
        program.members()[0].profile,
        *(e.rule for e in program.journal() if isinstance(e, RuleDefined)),
        *(e.profile for e in program.journal() if isinstance(e, MemberRecorded)),
    ]


def test_handed_out_metadata_cannot_change_the_program(program: Program, member: Member) -> None:
    handed = owners(program, member)
    state, journal = program.state(), program.journal()
    for owner in handed:
        metadata = owner.metadata
        assert metadata in (META, {})
        with pytest.raises(TypeError):
            metadata["tags"] = []
        if "tags" in metadata:
            with pytest.raises(TypeError):
                metadata["tags"].append("X")
            with pytest.raises(TypeError):
                metadata["nested"]["n"] = 2
            with pytest.raises(TypeError):
                metadata["tags"] += ["X"]
        for change, args in (("clear", ()), ("popitem", ()), ("update", ({},)), ("pop", ("t",))):
            with pytest.raises(TypeError):
                getattr(metadata, change)(*args)
    assert program.state() == state and program.journal() == journal
    assert audit(program) == []


def test_the_callers_mapping_is_copied_in(program: Program) -> None:
    mine = {"tags": ["a"]}
    rule = program.add_rule(name="r", points=1, metadata=mine)
    mine["tags"].append("b")
    assert program.rule(rule.id).metadata == {"tags": ["a"]}


def test_frozen_metadata_is_plain_json_data(program: Program, member: Member) -> None:
    rule = program.add_rule(name="r", points=1, metadata={"t": ("x", "y")})
    assert rule.metadata == {"t": ["x", "y"]}
    assert isinstance(rule.metadata, dict) and isinstance(rule.metadata["t"], list)
    assert isinstance(rule.metadata, FrozenDict) and isinstance(rule.metadata["t"], FrozenList)
    assert json.loads(json.dumps(rule.metadata)) == {"t": ["x", "y"]}
    assert copy.deepcopy(rule.metadata) is rule.metadata
    assert pickle.loads(pickle.dumps(rule.metadata)) == rule.metadata
    assert hash(rule) == hash(program.rule(rule.id))
    restored = Program.restore(program.snapshot(), program.clock)
    assert isinstance(restored.rule(rule.id).metadata["t"], FrozenList)
    assert restored.state() == program.state()


def test_update_replaces_metadata_through_the_program(program: Program, member: Member) -> None:
    rule = program.add_rule(name="r", points=1, metadata={"a": 1})
    updated = program.update_rule(rule.id, metadata={"a": 2})
    assert updated.metadata == {"a": 2} and rule.metadata == {"a": 1}


BAD: list[tuple[str, Any]] = [
    ("int-key", {1: 2}),
    ("object", {"o": object()}),
    ("decimal", {"d": Decimal("1.5")}),
    ("datetime", {"d": datetime(2024, 1, 1, tzinfo=UTC)}),
    ("nan", {"n": float("nan")}),
    ("infinity", {"n": float("inf")}),
    ("huge-int", {"n": MAX_TOTAL_POINTS + 1}),
    ("surrogate", {"s": "\ud800"}),
    ("set", {"s": {1, 2}}),
    ("not-a-mapping", [1, 2]),
    ("too-big", {"s": "x" * MAX_METADATA_BYTES}),
]


def nested(levels: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(levels - 1):
        value = {"d": value}
    return value


@pytest.mark.parametrize(("value"), [v for _, v in BAD], ids=[n for n, _ in BAD])
def test_metadata_that_is_not_bounded_json_is_refused(
    program: Program, member: Member, value: Any
) -> None:
    rule = program.add_rule(name="ok", points=1)
    state = program.state()
    calls = [
        lambda: program.add_member(email="x@example.com", metadata=value),
        lambda: program.update_member(member.id, metadata=value),
        lambda: program.add_rule(name="r", metadata=value),
        lambda: program.update_rule(rule.id, metadata=value),
        lambda: program.add_offer(name="o", metadata=value),
    ]
    for call in calls:
        with pytest.raises(InvalidArgument) as info:
            call()
        assert info.value.field == "metadata"
    assert program.state() == state


def test_nesting_is_bounded(program: Program) -> None:
    assert program.add_rule(name="deep", metadata=nested(MAX_DEPTH)).metadata == nested(MAX_DEPTH)
    with pytest.raises(InvalidArgument, match="deeper"):
        program.add_rule(name="deeper", metadata=nested(MAX_DEPTH + 1))
    loop: dict[str, Any] = {"l": []}
    loop["l"].append(loop)  # a cycle is infinitely deep: refused, not a RecursionError
    with pytest.raises(InvalidArgument, match="deeper"):
        program.add_rule(name="cycle", metadata=loop)


def test_a_journal_with_unsafe_metadata_is_refused_on_restore(program: Program) -> None:
    program.add_rule(name="r", metadata={"k": 1})
    document = program.snapshot()
    for event in document["journal"]:
        if event["type"] == "RuleDefined":
            event["rule"]["metadata"] = {"k": float("nan")}
    with pytest.raises(InvalidArgument) as info:
        Program.restore(document, program.clock)
    assert info.value.field == "metadata"


# -- the clock ------------------------------------------------------------------------


class NaiveClock:
    def now(self) -> datetime:
        return datetime(2024, 1, 1, 12)


class WrongTypeClock:
    def now(self) -> Any:
        return "2024-01-01"


class TokyoClock:
    def __init__(self) -> None:
        self.moment = datetime(2024, 1, 1, 21, tzinfo=timezone(timedelta(hours=9)))

    def now(self) -> datetime:
        return self.moment


class NaiveManualClock(ManualClock):
    def now(self) -> datetime:
        return super().now().replace(tzinfo=None)


@pytest.mark.parametrize("clock_type", [NaiveClock, WrongTypeClock, NaiveManualClock])
def test_a_clock_that_answers_no_aware_instant_is_refused(clock_type: type) -> None:
    clock = clock_type()
    with pytest.raises(InvalidArgument) as info:
        Program(clock)
    assert info.value.field == "clock"
    program = Program(clock, started_at=datetime(2024, 1, 1, tzinfo=UTC))
    with pytest.raises(InvalidArgument, match="clock") as info:
        program.add_member(email="a@example.com")
    assert info.value.field == "clock"
    assert program.journal() == []
    with pytest.raises(InvalidArgument):
        program.expire_due()


def test_a_clock_swapped_in_later_is_checked_too(program: Program) -> None:
    program.clock = NaiveClock()
    with pytest.raises(InvalidArgument):
        program.add_member(email="a@example.com")


def test_an_aware_non_utc_clock_is_read_in_utc() -> None:
    program = Program(TokyoClock())
    member = program.add_member(email="a@example.com")
    txn = program.earn(member.id, 5, lifetime=timedelta(days=1))
    assert txn.created_at == datetime(2024, 1, 1, 12, tzinfo=UTC)
    assert txn.created_at.tzinfo is UTC and program.started_at.tzinfo is UTC
    assert audit(program) == []


def test_documents_hold_plain_data(program: Program) -> None:
    """A snapshot or state document is the caller's to change: no frozen containers."""
    program.add_rule(name="r", metadata={"perks": ["a", {"b": [1]}]})
    for document in (program.snapshot(), program.state()):
        text = json.dumps(document)
        copy_ = json.loads(text)
        assert copy_ == document

        def plain(value: Any) -> None:
            assert not isinstance(value, FrozenDict | FrozenList), value
            for inner in (
                value.values()
                if isinstance(value, dict)
                else (value if isinstance(value, list) else ())
            ):
                plain(inner)

        plain(document)
