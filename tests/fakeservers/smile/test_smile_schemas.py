"""Wire shapes not reachable through a documented endpoint: referrals, tier changes, times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from smile_client import Api

from fakeservers.smile import SmileApp, schemas
from loyaltykit import OrderStatus

REFERRAL_KEYS = {
    "id",
    "receiver_customer",
    "receiver_customer_email",
    "receiver_reward_fulfillment",
    "sender_customer",
    "sender_reward_fulfillment",
    "created_at",
    "updated_at",
}
"""Keys of the referral object example in smile-api-reference.txt."""


def test_timestamp_is_utc_with_milliseconds_and_z() -> None:
    moment = datetime(2017, 4, 4, 17, 10, 42, 30999, tzinfo=timezone(timedelta(hours=2)))
    assert schemas.timestamp(moment) == "2017-04-04T15:10:42.030Z"
    assert schemas.timestamp(None) is None
    assert schemas.timestamp(datetime(2020, 1, 1, tzinfo=UTC)) == "2020-01-01T00:00:00.000Z"


def test_referral_object_before_and_after_completion(app: SmileApp, api: Api) -> None:
    control = app.control
    program = control.backend("demo").program
    gift = control.create_points_product("demo", name="$25 off coupon", code_prefix="25off")
    program.update_offer(gift.id, metadata={**gift.metadata, "points_product": False})
    program.set_referral_rewards(sender_offer_id=gift.id, receiver_offer_id=gift.id)
    carmen = control.create_customer("demo", email="carmen@smile.io", external_id="carmen")
    referral = program.refer(1, receiver_id=carmen.id)

    pending = schemas.referral(program, referral)
    assert set(pending) == REFERRAL_KEYS
    assert pending["receiver_customer"] is None  # only after the receiver's order
    assert pending["receiver_customer_email"] == "carmen@smile.io"
    assert pending["receiver_reward_fulfillment"]["code"].startswith("25off-")
    assert pending["sender_customer"]["id"] == 1
    assert pending["sender_reward_fulfillment"] is None

    program.record_order(
        "r-1",
        member_id=carmen.id,
        amount=Decimal(60),
        status=OrderStatus.PAID,
        updated_at=program.clock.now(),
        coupons=[pending["receiver_reward_fulfillment"]["code"]],
    )
    done = schemas.referral(program, program.referral(referral.id))
    assert done["receiver_customer"]["email"] == "carmen@smile.io"
    assert done["sender_reward_fulfillment"]["code"].startswith("25off-")
    listed = api.ok("/v1/points_products")["points_products"]
    assert gift.id not in [p["id"] for p in listed]  # a referral reward is not for sale
    assert api.error(api.get(f"/v1/points_products/{gift.id}"), 404)


def test_vip_tier_change_object(app: SmileApp) -> None:
    program = app.control.backend("demo").program
    silver, gold = program.tiers()
    program.earn(2, 6000, description="bonus")  # Abe: 10,200 earned -> Silver
    program.earn(2, 15000, description="bonus")  # 25,200 -> Gold
    changes = program.tier_changes(2)
    assert [(c.from_tier, c.to_tier) for c in changes] == [(None, silver.id), (silver.id, gold.id)]
    body = schemas.vip_tier_change(program, 2, changes[1])
    assert body == {
        "id": 2,
        "previous_vip_tier": schemas.vip_tier(silver),
        "current_vip_tier": schemas.vip_tier(gold),
        "description": "Achieved Gold",
    }
