"""Members: profiles, lookups, updates, disabling."""

from __future__ import annotations

from datetime import date

import pytest

from loyaltykit import (
    DuplicateMember,
    ManualClock,
    MemberDisabled,
    MemberNotFound,
    MemberState,
    Program,
)


def test_add_member_returns_a_view(program: Program, clock: ManualClock) -> None:
    m = program.add_member(
        email="Alice@Example.com", external_id="x-1", first_name="Alice", last_name="Liddell",
        birthday=date(1990, 5, 17), metadata={"vip": True},
    )  # fmt: skip
    assert m.id == 1
    assert (m.email, m.external_id, m.state) == ("Alice@Example.com", "x-1", MemberState.MEMBER)
    assert (m.profile.first_name, m.profile.last_name) == ("Alice", "Liddell")
    assert m.profile.birthday == date(1990, 5, 17)
    assert m.profile.metadata == {"vip": True}
    assert m.profile.created_at == m.profile.updated_at == clock.now()
    assert m.profile.referral_code
    assert (m.balance, m.pending, m.earned, m.spent, m.expired, m.debt) == (0, 0, 0, 0, 0, 0)


def test_lookups(program: Program) -> None:
    a = program.add_member(email="Alice@Example.com", external_id="x-1")
    b = program.add_member(external_id="x-2")
    assert program.member(a.id) == a
    assert program.member_by_email("alice@example.COM").id == a.id
    assert program.member_by_external_id("x-2").id == b.id
    assert [m.id for m in program.members()] == [a.id, b.id]
    with pytest.raises(MemberNotFound):
        program.member_by_external_id("X-2")  # external ids are case-sensitive


def test_update_member_changes_the_profile(program: Program, clock: ManualClock) -> None:
    m = program.add_member(email="old@example.com")
    clock.advance(60)
    updated = program.update_member(m.id, email="new@example.com", first_name="Ann")
    assert (updated.email, updated.profile.first_name) == ("new@example.com", "Ann")
    assert updated.profile.updated_at == clock.now()
    assert updated.profile.created_at == m.profile.created_at
    assert program.member_by_email("new@example.com").id == m.id
    with pytest.raises(MemberNotFound):
        program.member_by_email("old@example.com")
    # the old email is free again
    assert program.add_member(email="old@example.com").id == 2


def test_update_without_change_keeps_updated_at(program: Program, clock: ManualClock) -> None:
    m = program.add_member(email="a@example.com", first_name="A")
    clock.advance(60)
    journal = program.journal()
    same = program.update_member(m.id, first_name="A")
    assert same.profile.updated_at == m.profile.updated_at
    assert program.journal() == journal


def test_duplicates(program: Program) -> None:
    program.add_member(email="a@example.com", external_id="x")
    with pytest.raises(DuplicateMember):
        program.add_member(email="A@EXAMPLE.COM")
    with pytest.raises(DuplicateMember):
        program.add_member(external_id="x")
    assert len(program.members()) == 1


def test_remove_member_keeps_history_and_refuses_transactions(program: Program) -> None:
    m = program.add_member(email="a@example.com")
    program.earn(m.id, 10)
    removed = program.remove_member(m.id)
    assert removed.state is MemberState.DISABLED
    assert removed.balance == 10
    assert [t.points for t in program.transactions(m.id)] == [10]
    with pytest.raises(MemberDisabled) as info:
        program.earn(m.id, 1)
    assert str(m.id) in str(info.value)
    with pytest.raises(MemberDisabled):
        program.spend(m.id, 1)
    assert program.member(m.id).balance == 10
    program.update_member(m.id, state=MemberState.MEMBER)  # re-enabled
    assert program.spend(m.id, 10).points == -10


def test_candidate_members_can_transact(program: Program) -> None:
    m = program.add_member(email="c@example.com", state=MemberState.CANDIDATE)
    assert program.earn(m.id, 5).points == 5
