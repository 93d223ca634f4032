"""A random walk through the API: what the wire reports must always add up.

After every step: each user's `available_points` is the sum of their awards'
`available_points`; every approved award splits into used + expired + available; no
coupon code went out twice; and the core's own audit finds nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule
from ss_client import KEY, PARTNER, Api
from werkzeug.test import Client

from fakeservers.shopsocially import create_app, new_registry
from loyaltykit import ManualClock, audit

EMAILS = ("ann@example.com", "bob@example.com")
ACTIVITIES = ("fixed", "bonus", "manual", "monthly", "capped", "fading")


class ShopSociallyWalk(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(datetime(2024, 1, 1, 12, tzinfo=UTC))
        self.registry = new_registry(self.clock, demo=False)
        self.registry.create("acme", [(PARTNER, KEY)])
        self.api = Api(Client(create_app(self.registry)))
        api = self.api
        api.level("silver", 200, multiplier="1.5")
        api.level("veteran", 500, level_type="lifetime", multiplier=2)
        for email in EMAILS:
            api.user(email)
        api.activity("fixed", points_per_activity=40)
        api.activity("bonus", activity_type="bonus_multiplier", bonus_multiplier="1.5")
        api.activity("manual", approval_method="manual", points_per_activity=25)
        api.activity("monthly", approval_method="monthly", points_per_activity=30)
        api.activity("capped", points_per_activity=10, max_award_frequency=2,
                     max_award_frequency_interval="week")
        api.activity("fading", points_per_activity=50, points_expiration_period=3)
        api.redemption("small", points=30, codes="S1,S2,S3,S4")
        api.redemption("silver_only", points=60, codes="V1,V2", associated_levels="silver")
        self.orders: list[str] = []
        self.pending: list[str] = []

    @rule(email=st.sampled_from(EMAILS), activity=st.sampled_from(ACTIVITIES),
          amount=st.integers(min_value=1, max_value=300), with_order=st.booleans())
    def award(self, email: str, activity: str, amount: int, with_order: bool) -> None:
        fields: dict[str, Any] = {}
        if activity == "bonus":
            fields["points_passed"] = amount
        if with_order:
            fields["order_id"] = f"O-{len(self.orders)}"
        status, body = self.api.award(email, activity, **fields)
        assert status in (200, 400), body
        if status == 200:
            if with_order:
                self.orders.append(fields["order_id"])
            if body["data"]["points_status"] == "pending":
                self.pending.append(body["data"]["id"])

    @rule(email=st.sampled_from(EMAILS), option=st.sampled_from(("small", "silver_only")))
    def redeem(self, email: str, option: str) -> None:
        before = self.api.balance(email)
        status, body = self.api.post("/redeem", {"user_email": email, "redemption_id": option})
        assert status in (200, 400), body
        assert self.api.balance(email) == before - (body["data"]["points"] if status == 200
                                                    else 0)

    @rule(email=st.sampled_from(EMAILS), points=st.integers(min_value=1, max_value=120))
    def deduct(self, email: str, points: int) -> None:
        before = self.api.balance(email)
        status, _ = self.api.post("/deduct", {"user_email": email, "reason": "walk",
                                              "points_passed": points})
        assert status == (200 if points <= before else 400)

    @rule(data=st.data(), share=st.sampled_from((None, "0.25", "0.5", "1")))
    def return_order(self, data: st.DataObject, share: str | None) -> None:
        if not self.orders:
            return
        order_id = data.draw(st.sampled_from(self.orders))
        values: dict[str, Any] = {"order_id": order_id}
        if share is not None:
            values["returned_amount"] = share
        status, body = self.api.post("/transaction/return", values)
        assert status in (200, 400), body

    @rule(data=st.data(), verdict=st.sampled_from(("approved", "rejected")))
    def resolve(self, data: st.DataObject, verdict: str) -> None:
        if not self.pending:
            return
        txn_id = data.draw(st.sampled_from(self.pending))
        status, body = self.api.put(f"/transactions/{txn_id}", {"points_status": verdict})
        assert status in (200, 400), body

    @rule(hours=st.integers(min_value=1, max_value=24 * 40))
    def wait(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))

    @invariant()
    def wire_adds_up(self) -> None:
        rows = []
        start = 0
        while True:
            page = self.api.transactions(start_index=start)
            rows.extend(page["transactions"])
            if not page["more"]:
                break
            start = page["next_start_index"]
        codes = [row["coupon_code"] for row in rows if row["transaction_type"] == "redeem"]
        assert len(codes) == len(set(codes))
        for email in EMAILS:
            awards = [row for row in rows
                      if row["user_email"] == email and row["transaction_type"] == "award"]
            assert self.api.balance(email) == sum(row["available_points"] for row in awards)
            for row in awards:
                if row["points_status"] in ("approved", "auto_approved", "exhausted",
                                            "expired"):
                    assert (row["points_used"] + row["points_expired"]
                            + row["available_points"]) == row["points"]
                else:
                    assert row["available_points"] == 0

    @invariant()
    def core_audit_is_clean(self) -> None:
        assert audit(self.registry.tenant("acme").program) == []


TestShopSociallyWalk = ShopSociallyWalk.TestCase
