"""One bounded range for points, money, multipliers, text and codes (loyaltykit.limits).

Every command refuses a value out of range with `InvalidArgument` naming the field, before
anything is written, and a program can always be written out as strict JSON.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from loyaltykit import (
    Approval,
    InvalidArgument,
    Member,
    OrderStatus,
    PriceKind,
    Program,
    RuleKind,
    audit,
)
from loyaltykit.limits import (
    MAX_CODE,
    MAX_MONEY,
    MAX_MULTIPLIER,
    MAX_POINTS,
    MAX_TEXT,
    MAX_TOTAL_POINTS,
)

NOW = datetime(2024, 1, 1, 12, tzinfo=UTC)


def refused(program: Program, call: Callable[[], Any], field: str) -> InvalidArgument:
    """`call` is refused naming `field`, and the program is exactly as it was."""
    journal, state = program.journal(), program.state()
    with pytest.raises(InvalidArgument) as info:
        call()
    assert info.value.field == field, info.value
    assert program.journal() == journal
    assert program.state() == state
    return info.value


def writable(program: Program) -> None:
    text = json.dumps(program.snapshot(), allow_nan=False)
    assert Program.restore(json.loads(text), program.clock).state() == program.state()


# -- points -------------------------------------------------------------------------


def test_earn_of_a_5000_digit_number_is_refused_and_printable(
    program: Program, member: Member
) -> None:
    error = refused(program, lambda: program.earn(member.id, 10**5000), "points")
    assert "about 5,001 digits" in str(error)
    writable(program)


@pytest.mark.parametrize("command", ["earn", "spend"])
def test_one_transaction_moves_at_most_max_points(
    program: Program, member: Member, command: str
) -> None:
    program.adjust(member.id, MAX_POINTS)
    call = getattr(program, command)
    refused(program, lambda: call(member.id, MAX_POINTS + 1), "points")
    assert call(member.id, MAX_POINTS).points in (MAX_POINTS, -MAX_POINTS)


def test_adjust_award_and_returns_are_bounded(program: Program, member: Member) -> None:
    refused(program, lambda: program.adjust(member.id, -MAX_POINTS - 1), "points_change")
    fixed = program.add_rule(name="r", points=10)
    refused(program, lambda: program.award(member.id, fixed.id, points=MAX_POINTS + 1), "points")
    refused(program, lambda: program.add_rule(name="big", points=MAX_POINTS + 1), "points")
    refused(
        program, lambda: program.set_referral_rewards(sender_points=MAX_POINTS + 1), "sender_points"
    )
    refused(
        program, lambda: program.add_offer(name="o", points_price=MAX_POINTS + 1), "points_price"
    )


def test_balances_never_pass_max_total_points(program: Program, member: Member) -> None:
    full, rest = divmod(MAX_TOTAL_POINTS, MAX_POINTS)
    for _ in range(full):
        program.earn(member.id, MAX_POINTS)
    program.earn(member.id, rest)
    assert program.member(member.id).earned == MAX_TOTAL_POINTS
    error = refused(program, lambda: program.earn(member.id, 1), "points")
    assert "past the limit" in str(error)
    refused(program, lambda: program.adjust(member.id, 1), "points_change")
    rule = program.add_rule(name="r", points=1)
    refused(program, lambda: program.award(member.id, rule.id), "points")
    program.spend(member.id, MAX_POINTS)  # spending never lowers what was earned
    refused(program, lambda: program.earn(member.id, 1), "points")
    assert audit(program, replay=False) == []
    writable(program)


def test_pending_awards_count_towards_the_total(program: Program, member: Member) -> None:
    manual = program.add_rule(name="m", points=MAX_POINTS, approval=Approval.MANUAL)
    full = MAX_TOTAL_POINTS // MAX_POINTS
    for _ in range(full):
        program.award(member.id, manual.id)
    assert program.member(member.id).pending == full * MAX_POINTS
    refused(program, lambda: program.earn(member.id, MAX_TOTAL_POINTS % MAX_POINTS + 1), "points")


def test_a_multiplier_award_beyond_max_points_is_refused(program: Program, member: Member) -> None:
    rule = program.add_rule(
        name="x", kind=RuleKind.MULTIPLIER, multiplier=MAX_MULTIPLIER, trigger="order"
    )
    refused(program, lambda: program.award(member.id, rule.id, amount=MAX_MONEY - 1), "amount")
    refused(
        program,
        lambda: program.record_order(
            "big",
            member_id=member.id,
            amount=MAX_MONEY - 1,
            status=OrderStatus.PAID,
            updated_at=NOW,
        ),
        "amount",
    )
    assert program.orders() == []


def test_a_paid_order_that_would_pass_the_total_is_refused_whole(
    program: Program, member: Member
) -> None:
    program.add_rule(name="x", kind=RuleKind.MULTIPLIER, multiplier=1000, trigger="order")
    program.adjust(member.id, MAX_POINTS)
    full = MAX_TOTAL_POINTS // MAX_POINTS
    for _ in range(full - 1):
        program.earn(member.id, MAX_POINTS)
    refused(
        program,
        lambda: program.record_order(
            "o", member_id=member.id, amount=10**9, status=OrderStatus.PAID, updated_at=NOW
        ),
        "amount",
    )


# -- money and multipliers ----------------------------------------------------------


@pytest.mark.parametrize(
    "amount",
    ["NaN", "Infinity", "-Infinity", "1e5000", "1e800000", 10**5000, "0.0000001", MAX_MONEY],
    ids=["nan", "inf", "-inf", "1e5000", "1e800000", "10**5000", "7-places", "max-money"],
)
def test_order_amounts_out_of_range_are_refused_fast(program: Program, amount: object) -> None:
    started = time.process_time()
    refused(
        program,
        lambda: program.record_order(
            "o",
            member_id=None,
            amount=amount,
            status=OrderStatus.PAID,
            updated_at=NOW,  # type: ignore[arg-type]
        ),
        "amount",
    )
    assert time.process_time() - started < 0.5


def test_trailing_zeros_are_not_places(program: Program) -> None:
    order = program.record_order(
        "o",
        member_id=None,
        amount=Decimal("12.5000000000"),
        status=OrderStatus.PAID,
        updated_at=NOW,
    )
    assert order.amount == Decimal("12.5")


def test_an_order_raised_past_max_money_is_refused(program: Program, member: Member) -> None:
    program.record_order(
        "o", member_id=member.id, amount=MAX_MONEY - 1, status=OrderStatus.PAID, updated_at=NOW
    )
    program.record_order(
        "o", member_id=member.id, amount=1, status=OrderStatus.PAID, updated_at=NOW
    )
    refused(
        program,
        lambda: program.record_order(
            "o", member_id=member.id, amount=MAX_MONEY - 1, status=OrderStatus.PAID, updated_at=NOW
        ),
        "amount",
    )


@pytest.mark.parametrize(
    "multiplier", ["NaN", "1e999999", -1, MAX_MULTIPLIER + 1, Decimal("1.0000001"), 1.5]
)
def test_rule_and_tier_multipliers_out_of_range_are_refused(
    program: Program, multiplier: object
) -> None:
    refused(
        program,
        lambda: program.add_rule(name="r", kind=RuleKind.MULTIPLIER, multiplier=multiplier),  # type: ignore[arg-type]
        "multiplier",
    )
    track = program.add_track(name="t")
    refused(
        program,
        lambda: program.add_tier(track.id, name="t", threshold=1, multiplier=multiplier),  # type: ignore[arg-type]
        "multiplier",
    )
    rule = program.add_rule(name="ok", kind=RuleKind.MULTIPLIER, multiplier=2)
    refused(program, lambda: program.update_rule(rule.id, multiplier=multiplier), "multiplier")


def test_tier_thresholds_are_running_totals(program: Program) -> None:
    track = program.add_track(name="t")
    assert program.add_tier(track.id, name="big", threshold=MAX_TOTAL_POINTS).threshold == (
        MAX_TOTAL_POINTS
    )
    refused(program, lambda: program.add_tier(track.id, name="t", threshold="NaN"), "threshold")
    refused(
        program,
        lambda: program.add_tier(track.id, name="t", threshold=MAX_TOTAL_POINTS + 1),
        "threshold",
    )


def test_a_variable_reward_worth_too_much_is_refused(program: Program, member: Member) -> None:
    offer = program.add_offer(
        name="v", price_kind=PriceKind.VARIABLE, step=1, value_per_step=MAX_MONEY - 1
    )
    program.earn(member.id, 10)
    refused(program, lambda: program.redeem(member.id, offer.id, points=2), "points")
    refused(program, lambda: program.redeem(member.id, offer.id, points=MAX_POINTS + 1), "points")


# -- text and codes -----------------------------------------------------------------


def test_text_and_codes_are_bounded(program: Program, member: Member) -> None:
    refused(program, lambda: program.add_rule(name="n" * (MAX_TEXT + 1)), "name")
    refused(program, lambda: program.earn(member.id, 1, note="n" * (MAX_TEXT + 1)), "note")
    refused(
        program,
        lambda: program.earn(member.id, 1, idempotency_key="k" * (MAX_CODE + 1)),
        "idempotency_key",
    )
    refused(program, lambda: program.add_pool(name="p", codes=["c" * (MAX_CODE + 1)]), "codes")
    refused(
        program,
        lambda: program.record_order(
            "o" * (MAX_CODE + 1), member_id=None, amount=1, status=OrderStatus.PAID, updated_at=NOW
        ),
        "external_id",
    )
    refused(program, lambda: program.add_member(external_id="x" * (MAX_CODE + 1)), "external_id")


def test_generated_codes_fit_max_code(program: Program) -> None:
    refused(
        program,
        lambda: program.add_pool(name="p", prefix="abc", suffix_length=10**12),
        "suffix_length",
    )
    pool = program.add_pool(name="p", prefix="abc", suffix_length=MAX_CODE - 4)
    assert pool.suffix_length == MAX_CODE - 4


def test_the_program_stays_writable_after_hostile_input(program: Program, member: Member) -> None:
    attempts: list[Callable[[], Any]] = [
        lambda: program.earn(member.id, 10**5000),
        lambda: program.adjust(member.id, -(10**4400)),
        lambda: program.add_rule(name="r", kind=RuleKind.MULTIPLIER, multiplier="1e999999"),
        lambda: program.add_member(metadata={"n": float("nan")}),
        lambda: program.add_member(metadata={"o": object()}),
        lambda: program.update_member(member.id, metadata={"n": 10**5000}),
    ]
    for call in attempts:
        with pytest.raises(InvalidArgument):
            call()
    program.earn(member.id, 5)
    writable(program)


def test_an_order_whose_first_award_lifts_the_tier_past_the_limit_is_undone(
    program: Program, member: Member
) -> None:
    track = program.add_track(name="life")
    program.add_tier(track.id, name="gold", threshold=100, multiplier=MAX_MULTIPLIER)
    program.add_rule(name="welcome", points=100, trigger="order")  # lifts the member to gold
    program.add_rule(name="x", kind=RuleKind.MULTIPLIER, multiplier=2, trigger="order")
    refused(
        program,
        lambda: program.record_order(
            "o", member_id=member.id, amount=10**9, status=OrderStatus.PAID, updated_at=NOW
        ),
        "amount",
    )
    assert program.orders() == [] and program.member(member.id).tiers[track.id] is None
