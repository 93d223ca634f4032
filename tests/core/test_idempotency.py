"""Idempotency keys: a retry with the same payload returns the first result."""

from __future__ import annotations

import pytest

from loyaltykit import IdempotencyConflict, InvalidArgument, Member, Program


def test_earn_retry_returns_the_first_transaction(program: Program, member: Member) -> None:
    first = program.earn(member.id, 10, idempotency_key="k1")
    state = program.state()
    again = program.earn(member.id, 10, idempotency_key="k1")
    assert again == first
    assert program.state() == state
    assert program.member(member.id).balance == 10


def test_earn_key_with_a_different_payload_conflicts(program: Program, member: Member) -> None:
    program.earn(member.id, 10, idempotency_key="k1")
    before = program.snapshot()
    with pytest.raises(IdempotencyConflict) as info:
        program.earn(member.id, 11, idempotency_key="k1")
    assert "k1" in str(info.value)
    assert program.snapshot() == before


def test_key_reused_by_another_command_conflicts(program: Program, member: Member) -> None:
    program.earn(member.id, 10, idempotency_key="k")
    with pytest.raises(IdempotencyConflict):
        program.spend(member.id, 10, idempotency_key="k")
    assert program.member(member.id).balance == 10


def test_spend_adjust_award_redeem_add_member_are_idempotent(
    program: Program, member: Member
) -> None:
    program.earn(member.id, 1000)
    rule = program.add_rule(name="r", points=5)
    offer = program.add_offer(name="o", points_price=100)
    calls = [
        lambda: program.spend(member.id, 10, idempotency_key="s"),
        lambda: program.adjust(member.id, -3, idempotency_key="a"),
        lambda: program.award(member.id, rule.id, idempotency_key="w"),
        lambda: program.redeem(member.id, offer.id, idempotency_key="r"),
        lambda: program.add_member(email="new@example.com", idempotency_key="m"),
    ]
    for call in calls:
        first = call()
        state = program.state()
        assert call() == first
        assert program.state() == state
    assert program.member(member.id).balance == 1000 - 10 - 3 + 5 - 100


def test_different_payloads_conflict_for_each_command(program: Program, member: Member) -> None:
    program.earn(member.id, 1000)
    rule = program.add_rule(name="r", points=5)
    offer = program.add_offer(name="o", points_price=100)
    variable = program.add_offer(name="v", price_kind="variable", step=10)  # type: ignore[arg-type]
    pairs = [
        (
            lambda: program.spend(member.id, 10, idempotency_key="s"),
            lambda: program.spend(member.id, 10, description="x", idempotency_key="s"),
        ),
        (
            lambda: program.adjust(member.id, 3, idempotency_key="a"),
            lambda: program.adjust(member.id, -3, idempotency_key="a"),
        ),
        (
            lambda: program.award(member.id, rule.id, idempotency_key="w"),
            lambda: program.award(member.id, rule.id, points=6, idempotency_key="w"),
        ),
        (
            lambda: program.redeem(member.id, offer.id, idempotency_key="r"),
            lambda: program.redeem(member.id, variable.id, points=10, idempotency_key="r"),
        ),
        (
            lambda: program.add_member(email="n@example.com", idempotency_key="m"),
            lambda: program.add_member(email="o@example.com", idempotency_key="m"),
        ),
    ]
    for first, conflicting in pairs:
        first()
        before = program.snapshot()
        with pytest.raises(IdempotencyConflict):
            conflicting()
        assert program.snapshot() == before


def test_failed_call_does_not_burn_the_key(program: Program, member: Member) -> None:
    from loyaltykit import InsufficientPoints

    with pytest.raises(InsufficientPoints):
        program.spend(member.id, 10, idempotency_key="k")
    program.earn(member.id, 10)
    txn = program.spend(member.id, 10, idempotency_key="k")
    assert txn.points == -10


def test_keys_are_independent(program: Program, member: Member) -> None:
    a = program.earn(member.id, 10, idempotency_key="a")
    b = program.earn(member.id, 10, idempotency_key="b")
    assert a.id != b.id
    assert program.member(member.id).balance == 20


@pytest.mark.parametrize("key", ["", "   ", 7, b"k"])
def test_bad_keys_are_refused(program: Program, member: Member, key: object) -> None:
    before = program.snapshot()
    with pytest.raises(InvalidArgument) as info:
        program.earn(member.id, 10, idempotency_key=key)  # type: ignore[arg-type]
    assert info.value.field == "idempotency_key"
    assert program.snapshot() == before


def test_retry_survives_snapshot_and_restore(program: Program, member: Member) -> None:
    first = program.earn(member.id, 10, idempotency_key="k")
    restored = Program.restore(program.snapshot(), program.clock)
    assert restored.earn(member.id, 10, idempotency_key="k") == first
    with pytest.raises(IdempotencyConflict):
        restored.earn(member.id, 12, idempotency_key="k")
    assert restored.member(member.id).balance == 10


def test_add_member_retry_returns_the_first_member(program: Program) -> None:
    first = program.add_member(email="n@example.com", idempotency_key="m")
    assert program.add_member(email="n@example.com", idempotency_key="m") == first
    assert len(program.members()) == 1


def test_add_member_key_with_different_metadata_conflicts(program: Program) -> None:
    program.add_member(email="n@example.com", metadata={"tier": "a"}, idempotency_key="m")
    with pytest.raises(IdempotencyConflict):
        program.add_member(email="n@example.com", metadata={"tier": "b"}, idempotency_key="m")


def test_retry_returns_the_current_record_of_the_first_result(
    program: Program, member: Member
) -> None:
    """Contract silent: a retry returns the same object (same id) as it is now, e.g. a
    pending award approved in the meantime comes back approved."""
    from loyaltykit import Approval, TxnStatus

    rule = program.add_rule(name="r", points=5, approval=Approval.MANUAL)
    first = program.award(member.id, rule.id, idempotency_key="w")
    program.approve(first.id)
    again = program.award(member.id, rule.id, idempotency_key="w")
    assert again.id == first.id
    assert again.status is TxnStatus.POSTED
    assert program.member(member.id).balance == 5
