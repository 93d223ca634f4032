"""The demo tenant: the activities, redemptions, levels, users and awards of the docs' examples.

Everything is made through the same operations the HTTP API runs, with the tenant's clock
pinned to the instants the docs print, so `GET /v2/loyalty/transactions?from_date=01/01/2016
&to_date=01/31/2016` shows Ezio's January 2016 awards. Coupon expiries are far in the
future (the docs' 2015/2016 dates would make every demo redemption fail).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fakeservers._http.tenants import Tenant
from fakeservers.shopsocially.params import Params
from fakeservers.shopsocially.views import Operations, call_for
from loyaltykit import Program

__all__ = ["DEMO_API_KEY", "DEMO_PARTNER_ID", "DEMO_TENANT", "seed_demo"]

DEMO_TENANT = "demo"
DEMO_PARTNER_ID = "demo-partner"
DEMO_API_KEY = "demo-api-key"
FAR_EXPIRY = "31-Dec-2099"

LEVELS: tuple[dict[str, Any], ...] = (
    {"level_id": "leopard", "level_name": "Leopard", "level_description": "1k points a year",
     "level_type": "period", "level_position": 1, "level_minimum_points": 1000,
     "level_bonus_multiplier": 1, "is_active": True},
    {"level_id": "period_3.3_k", "level_name": "Period 3.3 k", "level_description": "3.3k",
     "level_type": "period", "level_position": 9, "level_minimum_points": 3300,
     "level_bonus_multiplier": 2, "is_active": True},
    {"level_id": "platinum", "level_name": "Platinum", "level_description": "5k points a year",
     "level_type": "period", "level_position": 11, "level_minimum_points": 5000,
     "level_bonus_multiplier": 3, "is_active": True},
    {"level_id": "platinum_lifetime", "level_name": "Platinum Lifetime",
     "level_description": "10k points ever", "level_type": "lifetime", "level_position": 1,
     "level_minimum_points": 10000, "level_bonus_multiplier": 1, "is_active": True},
    {"level_id": "all_star_level", "level_name": "all star level",
     "level_description": "all star level for users", "level_type": "lifetime",
     "level_position": 10, "level_minimum_points": 15000, "level_bonus_multiplier": "2.5",
     "is_active": True},
)


def _activity(activity_id: str, name: str, description: str, *, kind: str = "fixed",
              points: int = 0, method: str = "immediate", frequency: int, interval: str,
              active: bool = True, **extra: Any) -> dict[str, Any]:
    return {"activity_id": activity_id, "activity_name": name,
            "activity_description": description, "activity_type": kind,
            "points_per_activity": points, "approval_method": method,
            "max_award_frequency": frequency, "max_award_frequency_interval": interval,
            "is_active": active, **extra}


ACTIVITIES: tuple[dict[str, Any], ...] = (
    _activity("made_a_purchase", "Made a Purchase", "Earn a point per dollar spent",
              kind="bonus_multiplier", bonus_multiplier=1, frequency=100, interval="day",
              is_sale_activity=True),
    _activity("shared_photo_via_desktop_or_mobile", "Shared Photo via Mobile or Desktop",
              "Share a photo of your purchase", points=55, frequency=10, interval="day",
              points_expiration_period=60),
    _activity("Referred_via_facebook", "Referred friend via facebook",
              "Referred friend via Facebook", points=50, method="manual", frequency=10,
              interval="day", active=False),
    _activity("email_subscriber", "email subscriber", "subscribe to newsletter", points=100,
              frequency=10, interval="day", active=False),
    _activity("share_via_email_API", "share_via_email_API", "grab_it", points=100,
              frequency=2, interval="day"),
    _activity("connected_via_facebook", "Connected via Facebook",
              "When someone shares profile via facebook connect", points=20, frequency=2,
              interval="lifetime", active=False),
    _activity("shared_via_email", "Share via Email",
              "Earn points when you share our website with your friends via email.",
              points=100, frequency=100, interval="day"),
    _activity("became_a_twitter_follower", "Became a Twitter Follower",
              "Follow us on Twitter", points=300, frequency=1, interval="lifetime"),
)

REDEMPTIONS: tuple[dict[str, Any], ...] = (
    {"redemption_id": "$50_gift_card", "redemption_name": "$50 Gift Card",
     "allowed_redeem_points": 1000, "redemption_value": "$50",
     "giftcard_description": "$50 Gift Card", "terms_and_conds_text": "redeem code at checkout",
     "redemption_instructions": "redeem code at checkout",
     "giftcard_coupon_codes": "GET50OFF,50off,50off2,50off3", "is_active": True},
    {"redemption_id": "coupon_1k", "redemption_name": "coupon_1k",
     "allowed_redeem_points": 1000, "redemption_value": "50",
     "giftcard_description": "1k points",
     "terms_and_conds_text": "check terms and conditions on site",
     "giftcard_coupon_codes": "a,b,c,d", "is_active": True, "associated_levels": "all"},
    {"redemption_id": "testcoupon", "redemption_name": "test_coupon",
     "allowed_redeem_points": 1, "redemption_value": "YES",
     "giftcard_description": "Redeem It",
     "terms_and_conds_text": "The above code may be used as per terms of usage.",
     "giftcard_coupon_codes": "A1,B1,C1,D1,E1,F1,G1,H1,I1,J1,K1,L1,M1,O1,P1,Q1,R1,S1,T1,U1,"
                              "V1,W1,X1,Y1,Z1",
     "is_active": True},
    {"redemption_id": "test_redemption", "redemption_name": "redemption_name",
     "allowed_redeem_points": 100, "redemption_value": "10",
     "giftcard_description": "giftcard_description",
     "terms_and_conds_text": "terms_and_conds_text",
     "redemption_instructions": "redemption_instructions",
     "giftcard_coupon_codes": "e,f,g,h,i", "is_active": False},
)

USERS: tuple[dict[str, Any], ...] = (
    {"first_name": "Rohit", "last_name": "B", "email": "Rohit@shopsocially.com",
     "uid": "ajk12k34", "gender": "male"},
    {"first_name": "Bob", "last_name": "Baker", "email": "bob@shopsocially.com", "uid": "merc",
     "gender": "Male", "profile_image_url": "https://some_link_to_ss_logo"},
    {"first_name": "Ezio", "last_name": "Auditore", "email": "subhrajyoti@shopsocially.com",
     "uid": "ezio"},
    {"first_name": "Brandon", "last_name": "Flores", "email": "Brandon.wafc@hotmail.co.uk",
     "uid": "brandon"},
    {"first_name": "Samuel", "last_name": "Williams",
     "email": "sam@acosproductionservices.co.uk", "uid": "samuel"},
    {"first_name": "Raijin", "last_name": "Thunderkeg", "email": "subhtestshop@gmail.com",
     "uid": "raijin"},
)

# (when, operation, parameters): the docs' example transactions, in time order.
HISTORY: tuple[tuple[datetime, str, dict[str, Any]], ...] = (
    (datetime(2015, 3, 20, 19, 20, 22, tzinfo=UTC), "award",
     {"user_email": "Rohit@shopsocially.com", "activity_id": "made_a_purchase",
      "points_passed": 100, "order_id": "1254aeb7b4f"}),
    (datetime(2015, 12, 7, 13, 23, 35, tzinfo=UTC), "award",
     {"user_email": "bob@shopsocially.com", "activity_id": "became_a_twitter_follower"}),
    (datetime(2016, 1, 14, 6, 32, 47, tzinfo=UTC), "award",
     {"user_email": "subhrajyoti@shopsocially.com",
      "activity_id": "shared_photo_via_desktop_or_mobile"}),
    (datetime(2016, 1, 14, 6, 33, 13, tzinfo=UTC), "award",
     {"user_email": "subhrajyoti@shopsocially.com",
      "activity_id": "shared_photo_via_desktop_or_mobile", "order_id": "1452749387649368175"}),
    (datetime(2016, 1, 14, 6, 33, 22, tzinfo=UTC), "award",
     {"user_email": "subhrajyoti@shopsocially.com",
      "activity_id": "shared_photo_via_desktop_or_mobile", "points_passed": 22}),
    (datetime(2016, 2, 15, 12, 0, 0, tzinfo=UTC), "award",
     {"user_email": "sam@acosproductionservices.co.uk", "activity_id": "made_a_purchase",
      "points_passed": 700, "order_id": "sam-0001"}),
    (datetime(2016, 3, 1, 23, 51, 58, tzinfo=UTC), "award",
     {"user_email": "sam@acosproductionservices.co.uk", "activity_id": "made_a_purchase",
      "points_passed": 340, "order_id": "sam-0002"}),
    (datetime(2016, 10, 6, 10, 0, 0, tzinfo=UTC), "award",
     {"user_email": "subhtestshop@gmail.com", "activity_id": "made_a_purchase",
      "points_passed": 10, "order_id": "raijin-0001"}),
    (datetime(2016, 10, 6, 10, 5, 0, tzinfo=UTC), "redeem",
     {"user_email": "subhtestshop@gmail.com", "redemption_id": "testcoupon"}),
)

CONFIGURED_AT = datetime(2015, 3, 1, 9, 0, 0, tzinfo=UTC)


def seed_demo(tenant: Tenant[Program]) -> None:
    """Fill `tenant` with the demo program (the registry unpins its clock afterwards)."""
    operations = Operations()

    def run(operation: str, values: dict[str, Any]) -> None:
        call = call_for(tenant, DEMO_PARTNER_ID, Params(values))
        getattr(operations, operation)(call)

    tenant.clock.pin(CONFIGURED_AT)
    for level in LEVELS:
        run("create_level", level)
    for activity in ACTIVITIES:
        run("create_activity", activity)
    for redemption in REDEMPTIONS:
        run("create_redemption", {**redemption, "coupon_expiry": FAR_EXPIRY})
    for user in USERS:
        run("create_user", user)
    for moment, operation, values in HISTORY:
        tenant.clock.pin(moment)
        run(operation, values)
