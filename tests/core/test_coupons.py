"""Coupon pools: uploaded one-time codes and generated codes, each issued at most once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from loyaltykit import (
    InvalidArgument,
    ManualClock,
    Member,
    PoolExhausted,
    PoolExpired,
    PoolNotFound,
    Program,
)

DAY = timedelta(days=1)


def test_list_pool_issues_in_upload_order_until_exhausted(program: Program, member: Member) -> None:
    pool = program.add_pool(name="gift cards", codes=["A1", "A2", "A3"])
    assert pool.codes == ("A1", "A2", "A3")
    assert not pool.generated
    offer = program.add_offer(name="o", points_price=10, pool_id=pool.id)
    program.earn(member.id, 100)
    codes = []
    for left in (2, 1, 0):
        codes.append(program.redeem(member.id, offer.id).code)
        assert program.pool_remaining(pool.id) == left
    assert codes == ["A1", "A2", "A3"]
    assert program.member(member.id).balance == 70


def test_exhausted_pool_takes_no_points(program: Program, member: Member) -> None:
    pool = program.add_pool(name="p", codes=["ONLY"])
    offer = program.add_offer(name="o", points_price=10, pool_id=pool.id)
    program.earn(member.id, 100)
    program.redeem(member.id, offer.id)
    before = program.snapshot()
    state = program.state()
    with pytest.raises(PoolExhausted) as info:
        program.redeem(member.id, offer.id)
    assert not isinstance(info.value, PoolExpired)
    assert str(pool.id) in str(info.value)
    assert program.snapshot() == before
    assert program.state() == state
    assert program.member(member.id).balance == 90
    assert len(program.fulfillments()) == 1


def test_exhausted_pool_refuses_grant_too(program: Program, member: Member) -> None:
    pool = program.add_pool(name="p", codes=[])
    offer = program.add_offer(name="o", pool_id=pool.id)
    with pytest.raises(PoolExhausted):
        program.grant(member.id, offer.id)
    assert program.fulfillments() == []


def test_add_codes_refills(program: Program, member: Member) -> None:
    pool = program.add_pool(name="p", codes=["A"])
    offer = program.add_offer(name="o", pool_id=pool.id)
    program.grant(member.id, offer.id)
    assert program.add_codes(pool.id, ["B", "C"]) == 2
    assert program.pool_remaining(pool.id) == 2
    assert [program.grant(member.id, offer.id).code for _ in range(2)] == ["B", "C"]


def test_a_pool_lists_every_code_uploaded(program: Program) -> None:
    pool = program.add_pool(name="p", codes=["A"])
    program.add_codes(pool.id, ["B", "C"])
    program.update_pool(pool.id, name="renamed")
    assert program.pool(pool.id).codes == ("A", "B", "C")
    replayed = Program.replay(program.journal(), **program.settings())
    assert replayed.pool(pool.id) == program.pool(pool.id)
    assert replayed.pool_remaining(pool.id) == 3


@pytest.mark.parametrize("again", ["A", "B"])
def test_no_code_is_uploaded_or_issued_twice(program: Program, member: Member, again: str) -> None:
    pool = program.add_pool(name="p", codes=["A", "B"])
    offer = program.add_offer(name="o", pool_id=pool.id)
    program.grant(member.id, offer.id)  # issues A; B is still available
    before = program.snapshot()
    with pytest.raises(InvalidArgument) as info:
        program.add_codes(pool.id, [again])
    assert info.value.field == "codes"
    assert again in str(info.value)
    assert program.snapshot() == before


def test_code_issued_by_another_pool_cannot_be_uploaded(program: Program, member: Member) -> None:
    first = program.add_pool(name="p1", codes=["X"])
    program.grant(member.id, program.add_offer(name="o", pool_id=first.id).id)
    with pytest.raises(InvalidArgument):
        program.add_pool(name="p2", codes=["X"])


def test_duplicate_codes_in_one_upload(program: Program) -> None:
    with pytest.raises(InvalidArgument) as info:
        program.add_pool(name="p", codes=["A", "B", "A"])
    assert info.value.field == "codes"
    assert program.pools() == []


def test_codes_must_be_a_list_of_strings(program: Program) -> None:
    with pytest.raises(InvalidArgument) as info:
        program.add_pool(name="p", codes="ABC")
    assert info.value.field == "codes"
    with pytest.raises(InvalidArgument):
        program.add_pool(name="p", codes=["A", 7])  # type: ignore[list-item]
    with pytest.raises(InvalidArgument):
        program.add_pool(name="p", codes=["A", "  "])


def test_codes_and_prefix_are_exclusive(program: Program) -> None:
    with pytest.raises(InvalidArgument) as info:
        program.add_pool(name="p", codes=["A"], prefix="x")
    assert info.value.field == "codes"


def test_generated_codes(program: Program, member: Member) -> None:
    pool = program.add_pool(name="five off", prefix="5off", suffix_length=12)
    assert pool.generated
    assert program.pool_remaining(pool.id) is None
    offer = program.add_offer(name="o", pool_id=pool.id)
    codes = [program.grant(member.id, offer.id).code for _ in range(200)]
    assert all(re.fullmatch(r"5off-[0-9a-f]{12}", c) for c in codes)  # type: ignore[arg-type]
    assert len(set(codes)) == 200


def test_generated_codes_never_repeat_even_with_a_tiny_suffix(
    program: Program, member: Member
) -> None:
    pool = program.add_pool(name="tiny", prefix="t", suffix_length=1)
    offer = program.add_offer(name="o", pool_id=pool.id)
    codes = [program.grant(member.id, offer.id).code for _ in range(16)]
    assert sorted(codes) == [f"t-{n:x}" for n in range(16)]  # type: ignore[type-var]


def test_cannot_add_codes_to_a_generator(program: Program) -> None:
    pool = program.add_pool(name="g", prefix="g")
    with pytest.raises(InvalidArgument) as info:
        program.add_codes(pool.id, ["A"])
    assert info.value.field == "codes"


def test_pool_expiry_at_exactly_t(program: Program, member: Member, clock: ManualClock) -> None:
    expires = clock.now() + DAY
    pool = program.add_pool(name="p", codes=["A", "B"], expires_at=expires)
    offer = program.add_offer(name="o", points_price=5, pool_id=pool.id)
    program.earn(member.id, 100)
    clock.set(expires - timedelta(microseconds=1))
    program.redeem(member.id, offer.id)
    clock.set(expires)
    before = program.snapshot()
    with pytest.raises(PoolExpired) as info:
        program.redeem(member.id, offer.id)
    assert info.value.code == "pool_expired"
    assert str(pool.id) in str(info.value)
    assert program.snapshot() == before
    assert program.member(member.id).balance == 95
    assert program.pool_remaining(pool.id) == 1


def test_generated_pool_expires_too(program: Program, member: Member, clock: ManualClock) -> None:
    pool = program.add_pool(name="g", prefix="g", expires_at=clock.now() + DAY)
    offer = program.add_offer(name="o", pool_id=pool.id)
    clock.advance(DAY)
    with pytest.raises(PoolExpired):
        program.grant(member.id, offer.id)


def test_update_pool_extends_expiry(program: Program, member: Member, clock: ManualClock) -> None:
    pool = program.add_pool(name="p", codes=["A"], expires_at=clock.now() + DAY)
    offer = program.add_offer(name="o", pool_id=pool.id)
    clock.advance(2 * DAY)
    with pytest.raises(PoolExpired):
        program.grant(member.id, offer.id)
    updated = program.update_pool(pool.id, expires_at=None)
    assert updated.expires_at is None
    assert program.grant(member.id, offer.id).code == "A"


def test_update_pool_refuses_codes(program: Program) -> None:
    pool = program.add_pool(name="p", codes=["A"])
    with pytest.raises(InvalidArgument) as info:
        program.update_pool(pool.id, codes=("B",))
    assert info.value.field == "codes"


def test_unknown_pool(program: Program) -> None:
    with pytest.raises(PoolNotFound):
        program.pool_remaining(9)
    with pytest.raises(PoolNotFound):
        program.add_offer(name="o", pool_id=9)
    assert program.offers() == []


def test_pool_lookup(program: Program) -> None:
    pool = program.add_pool(name="p", codes=["A"])
    assert program.pool(pool.id) == pool
    assert program.pools() == [pool]


def test_a_code_is_never_issued_twice_across_pools(program: Program, member: Member) -> None:
    first = program.add_pool(name="a", codes=["SAME"])
    try:
        second = program.add_pool(name="b", codes=["SAME"])
    except InvalidArgument:
        return  # refusing the upload is one correct behaviour
    offer_a = program.add_offer(name="a", pool_id=first.id)
    offer_b = program.add_offer(name="b", pool_id=second.id)
    program.grant(member.id, offer_a.id)
    program.grant(member.id, offer_b.id)  # the other correct one: PoolExhausted here
    codes = [f.code for f in program.fulfillments()]
    assert len(codes) == len(set(codes)), codes


def test_codes_from_an_iterator_are_all_kept(program: Program) -> None:
    pool = program.add_pool(name="p", codes=iter(["A", "B"]))  # type: ignore[arg-type]
    assert program.pool_remaining(pool.id) == 2
