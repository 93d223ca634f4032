"""`python -m loyaltykit`: a short guided tour of the engine on a virtual clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from loyaltykit import (
    ORDER_TRIGGER,
    InsufficientPoints,
    ManualClock,
    OrderStatus,
    Program,
    RuleKind,
)
from loyaltykit.auditing import audit


def main() -> None:
    clock = ManualClock(datetime(2025, 3, 1, 9, 0, tzinfo=UTC))
    program = Program(clock, name="demo shop", seed=7)
    program.add_rule(
        name="1 point per $1",
        kind=RuleKind.MULTIPLIER,
        multiplier=Decimal(1),
        trigger=ORDER_TRIGGER,
        points_lifetime=timedelta(days=365),
    )
    birthday = program.add_rule(name="birthday", points=250)
    pool = program.add_pool(name="$5 codes", prefix="5off")
    offer = program.add_offer(
        name="$5 off coupon", points_price=300, value=Decimal(5), pool_id=pool.id
    )
    big = program.add_offer(
        name="$20 off coupon", points_price=1000, value=Decimal(20), pool_id=pool.id
    )
    track = program.add_track(name="VIP")
    program.add_tier(track.id, name="Bronze", threshold=0)
    gold = program.add_tier(track.id, name="Gold", threshold=600, multiplier=Decimal(2))

    jane = program.add_member(email="jane@example.com", first_name="Jane", last_name="Bond")
    say = print
    say(f"{clock.now():%Y-%m-%d} Jane joins: tier {_tier(program, jane.id, track.id)}")
    program.record_order(
        "1001",
        member_id=jane.id,
        amount=Decimal("420.00"),
        status=OrderStatus.PAID,
        updated_at=clock.now(),
    )
    say(
        f"{clock.now():%Y-%m-%d} order #1001 $420 paid -> balance {program.member(jane.id).balance}"
    )
    program.award(jane.id, birthday.id)
    member = program.member(jane.id)
    say(
        f"{clock.now():%Y-%m-%d} birthday bonus -> balance {member.balance}, tier "
        f"{_tier(program, jane.id, track.id)}"
        + (" (Gold doubles future earnings)" if member.tiers[track.id] == gold.id else "")
    )
    reward = program.redeem(jane.id, offer.id)
    say(
        f"{clock.now():%Y-%m-%d} redeems '{offer.name}': code {reward.code}, balance "
        f"{program.member(jane.id).balance}"
    )
    try:
        program.redeem(jane.id, big.id)
    except InsufficientPoints as exc:
        say(f"{clock.now():%Y-%m-%d} '{big.name}' refused, nothing taken: {exc}")
    program.return_order("1001", amount=Decimal("105.00"))
    say(
        f"{clock.now():%Y-%m-%d} $105 of #1001 returned -> balance "
        f"{program.member(jane.id).balance} (clawback in proportion)"
    )
    clock.advance(timedelta(days=366))
    expired = program.expire_due()
    say(
        f"{clock.now():%Y-%m-%d} a year later: {sum(-t.points for t in expired)} points "
        f"expired -> balance {program.member(jane.id).balance}"
    )
    say("ledger:")
    for txn in program.transactions(jane.id):
        say(
            f"  #{txn.id:<3} {txn.created_at:%Y-%m-%d} {txn.kind:<9} {txn.points:+6d}  "
            f"{txn.description}"
        )
    say(f"audit: {audit(program) or 'clean'}")


def _tier(program: Program, member_id: int, track_id: int) -> str:
    tier_id = program.member(member_id).tiers[track_id]
    return program.tier(tier_id).name if tier_id is not None else "none"


if __name__ == "__main__":
    main()
