"""The demo tenant: the objects of smile-api-reference.txt's examples, at their timestamps.

Each object is created with the core's commands while the tenant's clock is pinned to the
example's instant, so `GET /v1/customers/1` answers Jane Bond exactly as documented.
Documented ids the core cannot allocate (133577, 228015, ...) are replaced by the core's
own (see docs/smile.md, A1).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from fakeservers._http import Tenant
from fakeservers.smile.backend import SmileBackend
from loyaltykit import Metric, PriceKind, RuleKind, Window

__all__ = ["DEMO_KEY", "DEMO_PUBLIC_APP_TOKEN", "DEMO_TENANT", "SEED_START", "seed_demo"]

DEMO_TENANT = "demo"
DEMO_KEY = "test_cnzGMghxTmPzK1spPraT"
"""The sample key of every example in smile-api-reference.txt."""
DEMO_PUBLIC_APP_TOKEN = "public_app_demo_token"
"""An OAuth-style token of a public Smile app, for the "not available to public apps" rule."""
SEED_START = datetime(2017, 1, 1, tzinfo=UTC)
"""When the demo program started: activities dated earlier earn nothing."""
ACTIVITY_TOKEN = "activity_f57a9b5a8d0ac5"


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text)


# (first, last, email, birthday, balance, referral code, created_at)
CUSTOMERS = [
    ("Jane", "Bond", "jane@smile.io", "1967-10-29", 5000, "j2Fw55", "2017-04-04T15:10:42.030Z"),
    ("Abe", "Erb", "abe@smile.io", "1967-10-29", 4200, "7vz3Rs", "2017-04-06T11:18:23.131Z"),
    ("Sam", "Spade", "sam@smile.io", None, 0, "Sp4d3x", "2017-06-12T09:00:00.000Z"),
    ("Nancy", "Drew", "nancy@smile.io", "1990-03-01", 150, "Dr3wNy", "2017-09-21T17:45:10.500Z"),
    ("Hercule", "Poirot", "hercule@smile.io", None, 800, "P0ir0t", "2018-01-15T08:30:00.000Z"),
    ("Jane", "Marple", "marple@smile.io", "1950-09-15", 0, "M4rpl3", "2018-04-02T10:10:10.100Z"),
    ("Philip", "Marlowe", "philip@smile.io", None, 60, "M4rl0w", "2018-07-07T07:07:07.070Z"),
    ("Jessica", "Fletcher", "jessica@smile.io", None, 0, "Fl3tch", "2018-09-30T23:59:59.999Z"),
    ("Arthur", "Read", "arthur@smile.io", "1999-02-14", 2300, "5ps3Pk", "2018-11-03T12:05:29.121Z"),
    (
        "Fred",
        "Flinstone",
        "fred@smile.io",
        "1988-07-24",
        4700,
        "9qr5Pw",
        "2019-01-08T11:12:14.111Z",
    ),
]

IMAGE = "https://platform-images.smilecdn.co/3755938.png"
PRODUCTS = [
    # name, price, exchange description, code prefix, reward created, created, updated
    (
        "Free T-shirt",
        500,
        "500 Pins",
        "tshirt",
        "2017-12-07T20:15:27.881Z",
        "2017-12-07T20:15:27.893Z",
        "2017-12-07T20:15:27.893Z",
    ),
    (
        "Free Blue Sunglasses",
        1000,
        "1000 Pins",
        "sunglasses",
        "2017-08-16T16:51:54.736Z",
        "2017-08-16T16:51:54.748Z",
        "2017-09-08T00:11:19.000Z",
    ),
]
ORDER_TXN_AT = "2017-12-07T20:15:27.893Z"


def seed_demo(tenant: Tenant[SmileBackend]) -> None:
    """Fill a fresh tenant with the reference's example objects."""
    clock = tenant.clock
    clock.pin(SEED_START)
    backend = SmileBackend.create(clock, tenant.name, started_at=SEED_START)
    backend.points_label = ("Pin", "Pins")
    tenant.program = backend
    program = backend.program

    program.add_rule(
        name="Complete an activity",
        points=100,
        trigger=ACTIVITY_TOKEN,
        metadata={"image_url": None},
    )
    program.add_rule(
        name="Place an order",
        kind=RuleKind.MULTIPLIER,
        multiplier=Decimal(5),
        trigger="order",
        metadata={"image_url": "https://platform.smile.io/images/earning/order-online.svg"},
    )
    track = program.add_track(name="VIP", metric=Metric.POINTS_EARNED, window=Window.LIFETIME)
    program.add_tier(
        track.id,
        name="Silver",
        threshold=Decimal(10000),
        metadata={"image_url": "https://platform-images.smilecdn.co/582j2kd82k2j.png"},
    )
    program.add_tier(
        track.id,
        name="Gold",
        threshold=Decimal(25000),
        multiplier=Decimal("1.5"),
        metadata={
            "image_url": "https://platform-images.smilecdn.co/582j2kd82k2j.png",
            "perks": ["Early access to new product releases"],
        },
    )

    for name, price, described, prefix, reward_at, created, updated in PRODUCTS:
        clock.pin(_at(created))
        pool = program.add_pool(name=name, prefix=prefix)
        program.add_offer(
            name=name,
            price_kind=PriceKind.FIXED,
            points_price=price,
            pool_id=pool.id,
            metadata={
                "exchange_description": described,
                "reward_description": None,
                "image_url": IMAGE,
                "reward_created_at": reward_at,
                "reward_updated_at": reward_at,
                "created_at": created,
                "updated_at": updated,
            },
        )

    ids = []
    for first, last, email, birthday, _, code, created in CUSTOMERS:
        clock.pin(_at(created))
        member = program.add_member(
            email=email,
            first_name=first,
            last_name=last,
            birthday=date.fromisoformat(birthday) if birthday else None,
            referral_code=code,
        )
        ids.append(member.id)

    # points transactions 1 and 2 of the reference (133577 and 133578 there)
    clock.pin(_at(ORDER_TXN_AT))
    jane = ids[0]
    program.earn(jane, 500, description="Placed an order")
    program.spend(jane, 500, description="Spent points on reward - $5 off")

    for member_id, (*_, balance, _code, created) in zip(ids, CUSTOMERS, strict=True):
        if balance:
            clock.pin(_at(created))
            program.earn(member_id, balance, description="Opening balance")
