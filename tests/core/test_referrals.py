"""Referrals: the receiver is rewarded on creation, the sender on the first paid order."""

from __future__ import annotations

from decimal import Decimal

import pytest

from loyaltykit import (
    InvalidArgument,
    ManualClock,
    Member,
    MemberNotFound,
    OrderStatus,
    Program,
    ReferralNotFound,
    ReferralStatus,
    SelfReferral,
    TxnKind,
)


@pytest.fixture
def rewards(program: Program) -> None:
    program.set_referral_rewards(sender_points=200, receiver_points=50)


def paid(program: Program, clock: ManualClock, xid: str, member_id: int, coupons=()) -> None:  # type: ignore[no-untyped-def]
    program.record_order(
        xid,
        member_id=member_id,
        amount=Decimal(10),
        status=OrderStatus.PAID,
        updated_at=clock.now(),
        coupons=coupons,
    )


def test_every_member_has_a_unique_referral_code(program: Program) -> None:
    codes = {program.add_member(email=f"m{i}@example.com").profile.referral_code for i in range(50)}
    assert None not in codes
    assert len(codes) == 50


@pytest.mark.usefixtures("rewards")
def test_receiver_rewarded_on_creation(
    program: Program, member: Member, other: Member, clock: ManualClock
) -> None:
    ref = program.refer(member.id, receiver_id=other.id)
    assert (ref.sender_id, ref.receiver_id, ref.receiver_email) == (
        member.id,
        other.id,
        "bob@example.com",
    )
    assert ref.status is ReferralStatus.PENDING
    assert ref.code == member.profile.referral_code
    assert ref.created_at == clock.now()
    assert program.member(other.id).balance == 50
    assert program.member(member.id).balance == 0
    assert program.referral(ref.id) == ref
    assert program.referrals(member.id) == [ref]
    assert program.referrals(other.id) == [ref]


@pytest.mark.usefixtures("rewards")
def test_refer_by_email_is_case_insensitive(
    program: Program, member: Member, other: Member
) -> None:
    ref = program.refer(member.id, receiver_email="BOB@Example.com")
    assert ref.receiver_id == other.id


@pytest.mark.usefixtures("rewards")
def test_sender_rewarded_on_first_paid_order_with_the_code(
    program: Program, member: Member, other: Member, clock: ManualClock
) -> None:
    ref = program.refer(member.id, receiver_id=other.id)
    clock.advance(60)
    paid(program, clock, "A", other.id, coupons=[ref.code])
    done = program.referral(ref.id)
    assert (done.status, done.completed_at, done.order_id) == (
        ReferralStatus.COMPLETED,
        clock.now(),
        "A",
    )
    assert program.member(member.id).balance == 200
    last = program.transactions(member.id)[-1]
    assert (last.kind, last.points) == (TxnKind.EARN, 200)
    clock.advance(60)
    paid(program, clock, "B", other.id, coupons=[ref.code])  # a second order pays nothing more
    assert program.member(member.id).balance == 200


@pytest.mark.usefixtures("rewards")
def test_order_without_the_code_does_not_complete(
    program: Program, member: Member, other: Member, clock: ManualClock
) -> None:
    ref = program.refer(member.id, receiver_id=other.id)
    paid(program, clock, "A", other.id)
    assert program.referral(ref.id).status is ReferralStatus.PENDING
    assert program.member(member.id).balance == 0
    clock.advance(60)
    paid(program, clock, "B", other.id, coupons=[ref.code])  # no longer the first order
    assert program.referral(ref.id).status is ReferralStatus.PENDING
    assert program.member(member.id).balance == 0


@pytest.mark.usefixtures("rewards")
def test_unpaid_order_does_not_complete(
    program: Program, member: Member, other: Member, clock: ManualClock
) -> None:
    ref = program.refer(member.id, receiver_id=other.id)
    program.record_order(
        "A",
        member_id=other.id,
        amount=Decimal(10),
        status=OrderStatus.UNPAID,
        updated_at=clock.now(),
        coupons=[ref.code],
    )
    assert program.referral(ref.id).status is ReferralStatus.PENDING


def test_offer_rewards_on_both_sides(
    program: Program, member: Member, other: Member, clock: ManualClock
) -> None:
    pool = program.add_pool(name="p", prefix="ref")
    offer = program.add_offer(name="$5", value=Decimal(5), pool_id=pool.id)
    program.set_referral_rewards(sender_offer_id=offer.id, receiver_offer_id=offer.id)
    ref = program.refer(member.id, receiver_id=other.id)
    [gift] = program.fulfillments(other.id)
    assert (gift.points, gift.value, gift.source) == (0, Decimal(5), "referral receiver")
    # the receiver's reward code also counts as "the code" of the referral
    paid(program, clock, "A", other.id, coupons=[gift.code])
    assert program.referral(ref.id).status is ReferralStatus.COMPLETED
    [sender_gift] = program.fulfillments(member.id)
    assert sender_gift.source == "referral sender"


def test_exhausted_receiver_pool_does_not_undo_the_referral(
    program: Program, member: Member, other: Member
) -> None:
    pool = program.add_pool(name="p", codes=[])
    offer = program.add_offer(name="$5", pool_id=pool.id)
    program.set_referral_rewards(receiver_offer_id=offer.id, receiver_points=10)
    ref = program.refer(member.id, receiver_id=other.id)
    assert program.referral(ref.id).status is ReferralStatus.PENDING
    assert program.member(other.id).balance == 10
    assert program.fulfillments() == []


def test_self_referral_is_refused(program: Program, member: Member) -> None:
    before = program.snapshot()
    with pytest.raises(SelfReferral) as info:
        program.refer(member.id, receiver_id=member.id)
    assert str(member.id) in str(info.value)
    with pytest.raises(SelfReferral):
        program.refer(member.id, receiver_email="ALICE@example.com")
    assert program.snapshot() == before


@pytest.mark.usefixtures("rewards")
def test_a_member_is_referred_at_most_once(program: Program, member: Member, other: Member) -> None:
    program.refer(member.id, receiver_id=other.id)
    third = program.add_member(email="carol@example.com")
    before = program.snapshot()
    with pytest.raises(InvalidArgument) as info:
        program.refer(third.id, receiver_id=other.id)
    assert info.value.field == "receiver_id"
    assert program.snapshot() == before


def test_a_member_who_already_ordered_cannot_be_referred(
    program: Program, member: Member, other: Member, clock: ManualClock
) -> None:
    paid(program, clock, "A", other.id)
    with pytest.raises(InvalidArgument) as info:
        program.refer(member.id, receiver_id=other.id)
    assert info.value.field == "receiver_id"


def test_refer_validation(program: Program, member: Member) -> None:
    with pytest.raises(InvalidArgument) as info:
        program.refer(member.id)
    assert info.value.field == "receiver_id"
    with pytest.raises(MemberNotFound) as nf:
        program.refer(member.id, receiver_email="ghost@example.com")
    assert "ghost@example.com" in str(nf.value)
    with pytest.raises(MemberNotFound):
        program.refer(member.id, receiver_id=99)
    with pytest.raises(ReferralNotFound):
        program.referral(1)
    assert program.referrals() == []
