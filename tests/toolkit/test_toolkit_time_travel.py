"""One virtual clock for both fakes and the core: time-dependent behaviour follows it.

Each test moves the clock over the control plane of one fake (the way a non-Python client
would) or from Python, then looks through the vendor API.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from fakeservers.toolkit import Credentials, Fake
from loyaltykit import FulfillmentExpired, ManualClock

BOB = "bob@shopsocially.com"


class SS:
    """A tiny ShopSocially client over the live fake."""

    def __init__(self, url: str, credentials: Credentials) -> None:
        self.base = f"{url}/v2/loyalty"
        self.url = url
        self.session = requests.Session()
        self.session.headers.update(credentials.headers)

    def get(self, path: str) -> Any:
        return self.session.get(self.base + path).json()

    def post(self, path: str, **data: Any) -> Any:
        return self.session.post(self.base + path, data=data).json()

    def user(self) -> Any:
        return self.get(f"/users/{BOB}")["data"]

    def advance(self, **delta: float) -> str:
        seconds = timedelta(**delta).total_seconds()
        response = requests.post(f"{self.url}/_fake/clock/advance", json={"seconds": seconds})
        return str(response.json()["now"])

    def set(self, moment: str) -> None:
        requests.post(f"{self.url}/_fake/clock", json={"now": moment}).raise_for_status()


@pytest.fixture
def ss(shopsocially_url: str, shopsocially_credentials: Credentials) -> SS:
    return SS(shopsocially_url, shopsocially_credentials)


def test_points_expire_when_the_clock_passes_their_date(ss: SS) -> None:
    before = ss.user()["available_points"]
    award = ss.post("/award", user_email=BOB, activity_id="shared_photo_via_desktop_or_mobile")
    assert award["data"]["points"] == 55  # this activity's points last 60 days
    assert ss.user()["expiration_schedule"] == [
        {"expiration_date": "01-Mar-2024 00:00:00", "points": 55}
    ]
    assert ss.advance(days=59, hours=23) == "2024-02-29T23:00:00Z"
    assert ss.user()["available_points"] == before + 55
    ss.advance(hours=1)
    user = ss.user()
    assert (user["available_points"], user["expiration_schedule"]) == (before, [])


def test_monthly_approval_happens_on_its_auto_approval_date(ss: SS) -> None:
    ss.post("/activities", activity_id="review", activity_name="Review",
            activity_description="Write a review", activity_type="fixed",
            points_per_activity=40, approval_method="monthly", max_award_frequency=5,
            max_award_frequency_interval="day", is_active="true")  # fmt: skip
    award = ss.post("/award", user_email=BOB, activity_id="review")["data"]
    assert (award["points_status"], award["auto_approval_date"]) == (
        "pending",
        "01-Feb-2024 00:00:00",
    )
    available = ss.user()["available_points"]
    assert ss.user()["pending_points"] == 40
    ss.advance(days=30, hours=23)
    assert ss.user()["pending_points"] == 40
    ss.advance(hours=1)
    user = ss.user()
    assert (user["pending_points"], user["available_points"]) == (0, available + 40)
    status = ss.get(f"/transactions/{award['id']}")["data"]["points_status"]
    assert status != "pending"


def test_period_levels_follow_the_calendar_year(ss: SS) -> None:
    ss.post("/award", user_email=BOB, activity_id="made_a_purchase", points_passed=1200,
            order_id="o-1")  # fmt: skip
    assert ss.user()["loyalty_level_id"] == "leopard"
    ss.set("2024-12-31T23:59:59Z")
    assert ss.user()["loyalty_level_id"] == "leopard"
    ss.advance(seconds=1)  # a new period: the year's points start again from zero
    assert ss.user()["loyalty_level_id"] == ""


def test_coupon_codes_expire_with_their_redemption(ss: SS) -> None:
    created = ss.post("/redemptions", redemption_id="soon", redemption_name="Soon",
                      allowed_redeem_points=10, redemption_value="5",
                      giftcard_description="d", terms_and_conds_text="t",
                      giftcard_coupon_codes="SOON1,SOON2", coupon_expiry="10-Jan-2024",
                      is_active="true")  # fmt: skip
    assert created["success"] is True
    ss.set("2024-01-10T23:59:00Z")  # the expiry day itself still counts
    assert ss.post("/redeem", user_email=BOB, redemption_id="soon")["success"] is True
    ss.advance(minutes=1)
    refused = ss.post("/redeem", user_email=BOB, redemption_id="soon")
    assert refused == {"reason": "Coupon codes for the Redemption ID have expired",
                       "success": False}  # fmt: skip


def test_smile_reward_codes_expire(smile_fake: Fake, smile_url: str) -> None:
    smile_fake.control.create_points_product(
        "demo", name="Short-lived", points_price=100, expires_in_days=7
    )
    product_id = smile_fake.program().offers()[-1].id

    def buy() -> str:
        purchase = requests.post(
            f"{smile_url}/v1/points_products/{product_id}/purchase",
            json={"customer_id": 1},
            headers=smile_fake.headers(),
        ).json()["points_purchase"]
        assert purchase["reward_fulfillment"]["expires_at"] == "2024-01-08T00:00:00.000Z"
        return str(purchase["reward_fulfillment"]["code"])

    first, second = buy(), buy()
    # Smile's wire shows only expires_at; the core's use of a code follows the clock
    smile_fake.advance_clock(timedelta(days=7) - timedelta(seconds=1))  # from Python
    assert smile_fake.program().use_code(first).used_at is not None
    smile_fake.advance_clock(1)
    with pytest.raises(FulfillmentExpired):
        smile_fake.program().use_code(second)


def test_rate_limit_buckets_drain_with_the_virtual_clock(
    smile_fake: Fake, smile_url: str, fake_clock: ManualClock
) -> None:
    smile_fake.control.set_rate_limited("demo", True)
    session = requests.Session()
    session.headers.update(smile_fake.headers())

    def status() -> int:
        return session.get(f"{smile_url}/v1/customers/1").status_code

    assert [status() for _ in range(11)] == [200] * 10 + [429]
    # no real time passes for the bucket: it only drains when the clock moves
    assert status() == 429
    fake_clock.advance(0.1)  # one request's worth (10 per second)
    assert [status(), status()] == [200, 429]
    fake_clock.advance(1.0)
    assert [status() for _ in range(11)] == [200] * 10 + [429]


def test_both_fakes_and_the_core_read_one_clock(fake_servers: dict[str, Fake]) -> None:
    smile, shopsocially = fake_servers["smile"], fake_servers["shopsocially"]
    moment = datetime(2026, 5, 17, 8, 30, tzinfo=UTC)
    requests.post(f"{shopsocially.url}/_fake/clock", json={"now": "2026-05-17T08:30:00Z"})
    assert smile.now() == shopsocially.now() == moment
    assert smile.program().clock.now() == shopsocially.program().clock.now() == moment
    smile.program().earn(1, 10, description="now")
    assert smile.program().transactions(1)[-1].created_at == moment
