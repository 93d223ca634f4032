"""Differential machine: both fakes over HTTP against plain core programs, step by step.

One hypothesis `RuleBasedStateMachine` drives, with the same logical commands,

* the Smile fake (werkzeug test `Client`, in-process) and a core `Program` configured like
  its tenant (negative-balance clawback, as `SmileBackend.create` builds it), and
* the ShopSocially fake and a core `Program` configured like its tenant (pending-deduction
  clawback, the two level ladders of `fakeservers.shopsocially.mapping`).

Commands: customers / users, points adjustments and deductions, activity awards (capped,
manual approval, idempotent distinct ids), redemptions (listed, generated and variable
coupon pools, a level-restricted option), orders, refunds and partial returns, approvals,
and clock advances through each fake's control plane. After every step the machine
compares, over HTTP, every member's balance, pending points and tiers and the whole listed
ledger (ids, kinds, points, statuses) with the reference programs, and checks `audit()` on
both fakes' tenant programs (reached through `app.registry`) and on the references.
A command must succeed on the fake exactly when it succeeds on the reference.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)
from reliability_kit import (
    QUERY_DATES,
    SMILE_KEY,
    SS_KEY,
    SS_PARTNER,
    is_smile_error,
    is_ss_error,
    smile_program,
    ss_program,
)
from werkzeug.test import Client, TestResponse

from fakeservers.shopsocially import create_app as ss_create_app
from fakeservers.shopsocially import new_registry
from fakeservers.shopsocially.wire import next_month
from fakeservers.smile import create_app as smile_create_app
from fakeservers.smile import create_registry
from loyaltykit import (
    Approval,
    Cap,
    ClawbackPolicy,
    LoyaltyError,
    ManualClock,
    Metric,
    OrderStatus,
    PriceKind,
    Program,
    RuleKind,
    Transaction,
    TxnKind,
    TxnStatus,
    Window,
    audit,
)

START = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
TENANT = "diff"
STATS = {"steps": 0, "runs": 0, "http": 0}

SS_HIDDEN = {TxnKind.EXPIRE, TxnKind.SETTLE}
SS_TYPES = {
    TxnKind.AWARD: "award",
    TxnKind.EARN: "award",
    TxnKind.REDEEM: "redeem",
    TxnKind.SPEND: "deduct",
    TxnKind.CLAWBACK: "deduct",
}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


class Reference:
    """Run a core command; None when the core refuses it."""

    def __init__(self, program: Program) -> None:
        self.program = program

    def __call__(self, command: str, *args: Any, **kwargs: Any) -> Any:
        try:
            return getattr(self.program, command)(*args, **kwargs)
        except LoyaltyError:
            return None


class DifferentialMachine(RuleBasedStateMachine):
    smile_members = Bundle("smile_members")
    smile_orders = Bundle("smile_orders")
    ss_members = Bundle("ss_members")
    ss_orders = Bundle("ss_orders")
    ss_pending = Bundle("ss_pending")

    def __init__(self) -> None:
        super().__init__()
        STATS["runs"] += 1
        self.ref_clock = ManualClock(START)
        self.seq = 0
        self._setup_smile()
        self._setup_ss()

    # ------------------------------------------------------------------ plumbing

    def smile_call(self, method: str, path: str, body: Any = None, **query: Any) -> TestResponse:
        STATS["http"] += 1
        return self.smile.open(
            path,
            method=method,
            json=body,
            query_string=query or None,
            headers={"Authorization": f"Bearer {SMILE_KEY}"},
        )

    def ss_call(self, method: str, path: str, data: Any = None, **query: Any) -> TestResponse:
        STATS["http"] += 1
        return self.ss.open(
            "/v2/loyalty" + path,
            method=method,
            data=data,
            query_string=query or None,
            headers={"partner-id": SS_PARTNER, "api-key": SS_KEY},
        )

    def control(self, client: Client, path: str, body: Any) -> Any:
        STATS["http"] += 1
        response = client.post("/_fake" + path, json=body)
        assert response.status_code in (200, 201), (path, response.status_code, response.json)
        return response.json

    @staticmethod
    def agree(response: TestResponse, result: Any, vendor: str) -> bool:
        """The fake succeeded exactly when the reference did; rejections in vendor format."""
        assert response.status_code < 500, (vendor, response.status_code, response.data)
        ok = response.status_code in (200, 201, 202)
        if not ok:
            check = is_smile_error if vendor == "smile" else is_ss_error
            assert check(response.json), (vendor, response.status_code, response.json)
        assert ok == (result is not None), (
            f"{vendor}: fake answered {response.status_code} {response.json!r}, "
            f"reference {'succeeded' if result is not None else 'refused'}: {result!r}"
        )
        return ok

    # ------------------------------------------------------------------ Smile setup

    def _setup_smile(self) -> None:
        self.smile_app = smile_create_app(create_registry(ManualClock(START), demo=False))
        self.smile = Client(self.smile_app)
        self.control(self.smile, "/tenants", {"name": TENANT, "credentials": [SMILE_KEY]})
        ref = Program(self.ref_clock, name=TENANT)
        self.smile_ref = ref
        self.sref = Reference(ref)
        base = f"/tenants/{TENANT}"
        self.control(self.smile, base + "/earning_rules", {"name": "Visit", "token": "visit",
                                                           "points": 50})
        self.control(self.smile, base + "/earning_rules", {
            "name": "Review", "token": "review", "points": 30, "max_awards": 2, "window": "day"})
        self.control(self.smile, base + "/earning_rules", {
            "name": "Order", "token": "order", "points_per_dollar": "2"})
        self.smile_rules = {
            "visit": ref.add_rule(name="Visit", points=50, trigger="visit").id,
            "review": ref.add_rule(
                name="Review", points=30, trigger="review", cap=Cap(2, Window.DAY)
            ).id,
        }
        ref.add_rule(name="Order", kind=RuleKind.MULTIPLIER, multiplier=Decimal(2),
                     trigger="order")
        self.control(self.smile, base + "/points_products", {
            "name": "Tee", "points_price": 200, "codes": ["TEE-1", "TEE-2", "TEE-3"]})
        self.control(self.smile, base + "/points_products", {
            "name": "Five off", "points_price": 120, "value": "5", "code_prefix": "five"})
        self.control(self.smile, base + "/points_products", {
            "name": "Var", "exchange_type": "variable", "variable_points_step": 50,
            "variable_points_step_reward_value": "1", "variable_points_min": 50,
            "variable_points_max": 300, "code_prefix": "var"})
        tee = ref.add_pool(name="Tee", codes=["TEE-1", "TEE-2", "TEE-3"])
        ref.add_offer(name="Tee", points_price=200, pool_id=tee.id)
        five = ref.add_pool(name="Five off", prefix="five")
        ref.add_offer(name="Five off", points_price=120, value=Decimal(5), pool_id=five.id)
        var = ref.add_pool(name="Var", prefix="var")
        ref.add_offer(name="Var", price_kind=PriceKind.VARIABLE, step=50,
                      value_per_step=Decimal(1), min_points=50, max_points=300, pool_id=var.id)
        self.control(self.smile, base + "/vip_tiers", {"name": "Silver", "milestone": "300",
                                                       "multiplier": "1.5"})
        self.control(self.smile, base + "/vip_tiers", {"name": "Gold", "milestone": "900",
                                                       "multiplier": "2"})
        track = ref.add_track(name="VIP", metric=Metric.POINTS_EARNED, window=Window.LIFETIME)
        ref.add_tier(track.id, name="Silver", threshold=Decimal(300), multiplier=Decimal("1.5"))
        ref.add_tier(track.id, name="Gold", threshold=Decimal(900), multiplier=Decimal(2))
        self.smile_track = track.id
        self.smile_order_amounts: dict[str, Decimal] = {}
        self.identities: dict[str, int] = {}
        self.smile_order_members: dict[str, str] = {}

    # ------------------------------------------------------------------ ShopSocially setup

    def _setup_ss(self) -> None:
        self.ss_app = ss_create_app(new_registry(ManualClock(START), demo=False))
        self.ss = Client(self.ss_app)
        self.control(self.ss, "/tenants", {"name": TENANT, "credentials": [[SS_PARTNER, SS_KEY]]})
        ref = Program(self.ref_clock, name=TENANT, clawback=ClawbackPolicy.PENDING_DEDUCTION)
        self.ss_ref = ref
        self.rref = Reference(ref)
        levels = [
            ("bronze", "Bronze", "period", 150, "1.5"),
            ("star", "Star", "lifetime", 400, "2"),
        ]
        self.level_ids: dict[int, str] = {}
        for vendor_id, name, kind, minimum, multiplier in levels:
            self.ss_ok("POST", "/levels", {
                "level_id": vendor_id, "level_name": name, "level_description": name,
                "level_type": kind, "level_position": 1, "level_minimum_points": minimum,
                "level_bonus_multiplier": multiplier, "is_active": "true"})
            track = ref.add_track(
                name=f"ShopSocially {kind} levels",
                window=Window.YEAR if kind == "period" else Window.LIFETIME,
            )
            tier = ref.add_tier(track.id, name=name, threshold=Decimal(minimum),
                                multiplier=Decimal(multiplier))
            self.level_ids[tier.id] = vendor_id
        self.ss_tracks = [t.id for t in ref.tracks()]
        activities = [
            ("visit", "Visit", "fixed", 40, "immediate", 3, "day", 30),
            ("photo", "Photo", "fixed", 25, "manual", 0, "lifetime", 0),
            ("purchase", "Purchase", "bonus_multiplier", 0, "immediate", 0, "lifetime", 90),
            ("survey", "Survey", "fixed", 60, "monthly", 2, "month", 20),
        ]
        self.ss_rules: dict[str, int] = {}
        for vendor_id, name, kind, points, method, freq, interval, days in activities:
            self.ss_ok("POST", "/activities", {
                "activity_id": vendor_id, "activity_name": name, "activity_description": name,
                "activity_type": kind, "approval_method": method, "max_award_frequency": freq,
                "max_award_frequency_interval": interval, "points_per_activity": points,
                "bonus_multiplier": 1, "points_expiration_period": days, "is_active": "true"})
            created = ref.add_rule(
                name=name,
                kind=RuleKind.MULTIPLIER if kind == "bonus_multiplier" else RuleKind.FIXED,
                points=points,
                multiplier=Decimal(1),
                active=True,
                cap=Cap(freq, Window(interval)) if freq else None,
                points_lifetime=timedelta(days=days) if days else None,
                approval={"manual": Approval.MANUAL, "monthly": Approval.DELAYED}.get(
                    method, Approval.IMMEDIATE),
                approval_delay=timedelta(days=31) if method == "monthly" else None,
            )
            self.ss_rules[vendor_id] = created.id
        star = next(t for t, v in self.level_ids.items() if v == "star")
        redemptions = [
            ("r100", "Ten off", 100, ["C1", "C2", "C3", "C4", "C5"], "all", ()),
            ("r250", "Gift", 250, ["G1", "G2", "G3"], "star", (star,)),
        ]
        self.ss_offers: dict[str, int] = {}
        expires = datetime(2100, 1, 1, tzinfo=UTC)
        for vendor_id, name, price, codes, levels_text, tiers in redemptions:
            self.ss_ok("POST", "/redemptions", {
                "redemption_id": vendor_id, "redemption_name": name,
                "allowed_redeem_points": price, "redemption_value": "$10",
                "giftcard_description": name, "terms_and_conds_text": "none",
                "giftcard_coupon_codes": ",".join(codes), "coupon_expiry": "31-Dec-2099",
                "is_active": "true", "associated_levels": levels_text})
            pool = ref.add_pool(name=f"redemption {vendor_id}", codes=codes, expires_at=expires)
            offer = ref.add_offer(name=name, points_price=price, value=Decimal(10),
                                  pool_id=pool.id, active=True, eligible_tiers=tiers)
            self.ss_offers[vendor_id] = offer.id
        self.ss_emails: dict[int, str] = {}
        self.ss_order_amounts: dict[str, Decimal] = {}

    def ss_ok(self, method: str, path: str, data: Any) -> Any:
        response = self.ss_call(method, path, data)
        assert response.status_code == 200, (path, response.json)
        return response.json["data"]

    # ------------------------------------------------------------------ Smile commands

    @initialize(target=smile_members)
    def smile_first(self) -> Any:
        return multiple(self._smile_customer(1, 500), self._smile_customer(2, 0))

    def _smile_customer(self, n: int, balance: int) -> Any:
        body = {"email": f"c{n}@example.com", "external_id": f"x{n}", "points_balance": balance}
        STATS["http"] += 1
        response = self.smile.post(f"/_fake/tenants/{TENANT}/customers", json=body)
        member = self.sref("add_member", email=body["email"], external_id=body["external_id"])
        if member is not None and balance:
            self.sref("earn", member.id, balance, description="Opening balance")
        assert (response.status_code == 201) == (member is not None), response.json
        if member is None:
            return multiple()
        assert response.json["customer"]["id"] == member.id
        return member.id

    @rule(target=smile_members, n=st.integers(3, 40), balance=st.integers(0, 1500))
    def smile_customer(self, n: int, balance: int) -> Any:
        return self._smile_customer(n, balance)

    @rule(member=smile_members, change=st.integers(-400, 400))
    def smile_adjust(self, member: int, change: int) -> None:
        response = self.smile_call("POST", "/v1/points_transactions", {"points_transaction": {
            "customer_id": member, "points_change": change, "description": "differential"}})
        txn = self.sref("adjust", member, change, description="differential")
        if self.agree(response, txn, "smile"):
            wire = response.json["points_transaction"]
            assert (wire["id"], wire["points_change"]) == (txn.id, txn.points)

    @rule(member=smile_members, token=st.sampled_from(["visit", "review"]),
          distinct=st.none() | st.sampled_from(["d1", "d2", "d3"]))
    def smile_activity(self, member: int, token: str, distinct: str | None) -> None:
        activity: dict[str, Any] = {"customer_id": member, "token": token}
        if distinct is not None:
            activity["distinct_id"] = distinct
        response = self.smile_call("POST", "/v1/activities", {"activity": activity})
        key = f"activity:{member}:{token}:{distinct}" if distinct is not None else None
        rule_id = self.smile_rules[token]
        name = self.smile_ref.rule(rule_id).name
        txn = self.sref("award", member, rule_id, description=name, idempotency_key=key)
        self.agree(response, txn, "smile")

    @rule(member=smile_members, product=st.integers(1, 4),
          points=st.none() | st.integers(0, 350))
    def smile_purchase(self, member: int, product: int, points: int | None) -> None:
        found = self.sref("offer", product)
        variable = found is not None and found.price_kind is PriceKind.VARIABLE
        body: dict[str, Any] = {"customer_id": member}
        if points is not None and (variable or points >= 1):
            # BUG 7 (test_found_bugs.py): a fixed product refuses points_to_spend < 1,
            # which docs/smile.md A14 says is ignored; not sent until fixed
            body["points_to_spend"] = points
        response = self.smile_call("POST", f"/v1/points_products/{product}/purchase", body)
        if variable and (points is None or points < 1):
            fulfillment = None  # the wire refuses a missing or non-positive points_to_spend
        else:
            fulfillment = self.sref("redeem", member, product, points=points if variable else None)
        if self.agree(response, fulfillment, "smile"):
            purchase = response.json["points_purchase"]
            assert purchase["id"] == fulfillment.id
            assert purchase["points_spent"] == fulfillment.points
            if product == 1:  # a listed pool: the very same code
                assert purchase["reward_fulfillment"]["code"] == fulfillment.code

    @rule(target=smile_orders, member=smile_members,
          amount=st.decimals(0, 400, places=2, allow_nan=False, allow_infinity=False))
    def smile_order(self, member: int, amount: Decimal) -> Any:
        self.seq += 1
        xid = f"o{self.seq}"
        now = self.ref_clock.now()
        external = self.smile_ref.member(member).external_id
        response = self.smile_call("POST", "/v1/events", {"event": {
            "topic": "order/updated", "data": {
                "external_id": xid, "rewardable_total": str(amount), "payment_status": "paid",
                "external_updated_at": _iso(now), "customer": {"external_id": external}}}})
        order = self.sref("record_order", xid, member_id=member, amount=amount,
                          status=OrderStatus.PAID, updated_at=now)
        if not self.agree(response, order, "smile"):
            return multiple()
        self.smile_order_amounts[xid] = amount
        self.smile_order_members[xid] = external
        return xid

    @rule(order=smile_orders,
          amount=st.decimals(0, 400, places=2, allow_nan=False, allow_infinity=False),
          hours_back=st.sampled_from([0, 1, 24 * 400]))
    def smile_order_change(self, order: str, amount: Decimal, hours_back: int) -> None:
        """A later (or stale) update of a paid order with a new total."""
        when = self.ref_clock.now() - timedelta(hours=hours_back)
        response = self.smile_call("POST", "/v1/events", {"event": {
            "topic": "order/updated", "data": {
                "external_id": order, "rewardable_total": str(amount),
                "payment_status": "paid", "external_updated_at": _iso(when),
                "customer": {"external_id": self.smile_order_members[order]}}}})
        known = self.smile_ref.order(order)
        result = self.sref("record_order", order, member_id=known.member_id, amount=amount,
                           status=OrderStatus.PAID, updated_at=when)
        if self.agree(response, result, "smile"):
            self.smile_order_amounts[order] = self.smile_ref.order(order).amount

    @rule(order=consumes(smile_orders))
    def smile_refund(self, order: str) -> None:
        now = self.ref_clock.now()
        amount = self.smile_order_amounts[order]
        response = self.smile_call("POST", "/v1/events", {"event": {
            "topic": "order/updated", "data": {
                "external_id": order, "rewardable_total": str(amount),
                "payment_status": "refunded", "external_updated_at": _iso(now),
                "customer": {"external_id": self.smile_order_members[order]}}}})
        known = self.smile_ref.order(order)
        result = self.sref("record_order", order, member_id=known.member_id, amount=amount,
                           status=OrderStatus.REFUNDED, updated_at=now)
        self.agree(response, result, "smile")

    # ------------------------------------------------------------------ ShopSocially commands

    @initialize(target=ss_members)
    def ss_first(self) -> Any:
        return multiple(self._ss_user(1), self._ss_user(2))

    def _ss_user(self, n: int) -> Any:
        email = f"u{n}@example.com"
        response = self.ss_call("POST", "/users", {
            "first_name": f"F{n}", "last_name": f"L{n}", "email": email, "uid": f"uid{n}"})
        member = self.rref("add_member", email=email, external_id=f"uid{n}",
                           first_name=f"F{n}", last_name=f"L{n}")
        if not self.agree(response, member, "shopsocially"):
            return multiple()
        assert response.json["data"]["user_id"] == str(member.id)
        self.ss_emails[member.id] = email
        return member.id

    @rule(target=ss_members, n=st.integers(3, 40))
    def ss_user(self, n: int) -> Any:
        return self._ss_user(n)

    @rule(target=ss_pending, member=ss_members,
          activity=st.sampled_from(["visit", "photo", "survey"]),
          points=st.none() | st.integers(1, 120))
    def ss_award(self, member: int, activity: str, points: int | None) -> Any:
        data: dict[str, Any] = {"user_email": self.ss_emails[member], "activity_id": activity}
        if points is not None:
            data["points_passed"] = points
        response = self.ss_call("POST", "/award", data)
        rule_id = self.ss_rules[activity]
        name = self.ss_ref.rule(rule_id).name
        due = next_month(self.ref_clock.now()) if activity == "survey" else None
        txn = self.rref("award", member, rule_id, points=points, description=name,
                        auto_approve_at=due)
        if not self.agree(response, txn, "shopsocially"):
            return multiple()
        wire = response.json["data"]
        assert (wire["id"], wire["points"]) == (str(txn.id), txn.points)
        return txn.id if txn.status is TxnStatus.PENDING else multiple()

    @rule(txn=consumes(ss_pending), approve=st.booleans())
    def ss_resolve(self, txn: int, approve: bool) -> None:
        status = "approved" if approve else "rejected"
        response = self.ss_call("PUT", f"/transactions/{txn}", {"points_status": status})
        result = self.rref("approve" if approve else "reject", txn, by="api")
        self.agree(response, result, "shopsocially")

    @rule(target=ss_orders, member=ss_members,
          amount=st.decimals(0, 300, places=2, allow_nan=False, allow_infinity=False))
    def ss_order(self, member: int, amount: Decimal) -> Any:
        self.seq += 1
        xid = f"s{self.seq}"
        response = self.ss_call("POST", "/award", {
            "user_email": self.ss_emails[member], "activity_id": "purchase",
            "points_passed": str(amount), "order_id": xid})
        txn = self.rref("award", member, self.ss_rules["purchase"], amount=amount, order_id=xid,
                        description="Purchase")
        if not self.agree(response, txn, "shopsocially"):
            return multiple()
        self.ss_order_amounts[xid] = amount
        return xid

    @rule(order=ss_orders, member=ss_members,
          amount=st.decimals(0, 300, places=2, allow_nan=False, allow_infinity=False))
    def ss_order_again(self, order: str, member: int, amount: Decimal) -> None:
        """A repeat of an order id returns the first award, whatever the new amount."""
        first = self.ss_ref.order(order)
        response = self.ss_call("POST", "/award", {
            "user_email": self.ss_emails[first.member_id], "activity_id": "purchase",
            "points_passed": str(amount), "order_id": order})
        txn = self.rref("award", first.member_id, self.ss_rules["purchase"], amount=amount,
                        order_id=order, description="Purchase")
        if self.agree(response, txn, "shopsocially"):
            assert response.json["data"]["id"] == str(txn.id)

    @rule(order=ss_orders, fraction=st.none() | st.sampled_from(["0.1", "0.25", "0.5", "1"]))
    def ss_return(self, order: str, fraction: str | None) -> None:
        data: dict[str, Any] = {"order_id": order}
        amount = None
        if fraction is not None:
            amount = (self.ss_order_amounts[order] * Decimal(fraction)).quantize(Decimal("0.01"))
            data["returned_amount"] = str(amount)
        response = self.ss_call("POST", "/transaction/return", data)
        if amount is not None and amount <= 0:
            result = None  # the wire refuses a returned amount that is not positive
        else:
            result = self.rref("return_order", order, amount=amount)
        self.agree(response, result, "shopsocially")

    @rule(member=ss_members, points=st.integers(1, 300))
    def ss_deduct(self, member: int, points: int) -> None:
        response = self.ss_call("POST", "/deduct", {
            "user_email": self.ss_emails[member], "reason": "differential",
            "points_passed": points})
        txn = self.rref("spend", member, points, description="differential")
        if self.agree(response, txn, "shopsocially"):
            assert response.json["data"]["available_points"] == self.ss_ref.member(member).balance

    @rule(member=ss_members, redemption=st.sampled_from(["r100", "r250"]))
    def ss_redeem(self, member: int, redemption: str) -> None:
        response = self.ss_call("POST", "/redeem", {
            "user_email": self.ss_emails[member], "redemption_id": redemption})
        fulfillment = self.rref("redeem", member, self.ss_offers[redemption])
        if self.agree(response, fulfillment, "shopsocially"):
            assert response.json["data"]["coupon_code"] == fulfillment.code

    @rule(member=ss_members, level=st.sampled_from(["bronze", "star", "nope"]))
    def ss_level_floor(self, member: int, level: str) -> None:
        uid = self.ss_ref.member(member).external_id
        response = self.ss_call("PUT", f"/users/{uid}", {"loyalty_level_id": level})
        tier = next((t for t, v in self.level_ids.items() if v == level), None)
        result = None
        if tier is not None:
            track = self.ss_ref.tier(tier).track_id
            result = self.rref("set_tier", member, track, tier)
        self.agree(response, result, "shopsocially")

    # ------------------------------------------------------------------ Smile: more

    @rule(member=smile_members)
    def smile_delete_customer(self, member: int) -> None:
        external = self.smile_ref.member(member).external_id
        response = self.smile_call("POST", "/v1/events", {"event": {
            "topic": "customer/deleted", "data": {"external_id": external}}})
        result = self.sref("remove_member", member)
        self.agree(response, result, "smile")

    @rule(target=smile_members, n=st.integers(1, 50), distinct=st.sampled_from(["i1", "i2"]))
    def smile_identity(self, n: int, distinct: str) -> Any:
        email = f"c{n}@example.com"
        response = self.smile_call("POST", "/v1/customer_identities/create_or_update", {
            "customer_identity": {"email": email, "distinct_id": distinct}})
        if distinct in self.identities:
            result: Any = self.identities[distinct]  # a known identity: nothing changes
        else:
            try:
                result = self.smile_ref.member_by_email(email).id
            except LoyaltyError:
                created = self.sref("add_member", email=email, external_id=distinct)
                result = created.id if created is not None else None
        if not self.agree(response, result, "smile"):
            return multiple()
        assert response.json["customer_identity"]["customer_id"] == result
        self.identities.setdefault(distinct, result)
        return result

    # ------------------------------------------------------------------ time

    @rule(hours=st.sampled_from([1, 6, 23, 24, 24 * 7, 24 * 31, 24 * 100]))
    def advance(self, hours: int) -> None:
        seconds = hours * 3600
        for client in (self.smile, self.ss):
            self.control(client, "/clock/advance", {"seconds": seconds})
        self.ref_clock.advance(timedelta(seconds=seconds))

    # ------------------------------------------------------------------ comparisons

    def _smile_walk(self, path: str, name: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(100):
            query: dict[str, Any] = {"limit": 250}
            if cursor:
                query["cursor"] = cursor
            response = self.smile_call("GET", path, **query)
            assert response.status_code == 200, response.json
            items.extend(response.json[name])
            cursor = response.json["metadata"]["next_cursor"]
            if not cursor:
                return items
        raise AssertionError("cursor walk did not end")

    @invariant()
    def smile_agrees(self) -> None:
        STATS["steps"] += 1
        ref = self.smile_ref
        ref.expire_due()
        customers = {c["id"]: c for c in self._smile_walk("/v1/customers", "customers")}
        members = {m.id: m for m in ref.members()}
        assert set(customers) == set(members)
        for mid, member in members.items():
            wire = customers[mid]
            assert wire["points_balance"] == member.balance, (mid, wire, member)
            assert wire["vip_tier_id"] == member.tiers.get(self.smile_track), (mid, wire, member)
        listed = {
            t["id"]: (t["customer_id"], t["points_change"])
            for t in self._smile_walk("/v1/points_transactions", "points_transactions")
        }
        expected = {
            t.id: (t.member_id, t.points)
            for t in ref.transactions()
            if t.status is TxnStatus.POSTED
        }
        assert listed == expected
        program = smile_program(self.smile_app, TENANT)
        assert audit(program) == []
        assert audit(ref) == []

    def _ss_status_class(self, txn: Transaction) -> str:
        if txn.status is TxnStatus.PENDING:
            return "pending"
        if txn.status is TxnStatus.REJECTED:
            return "rejected"
        return "posted"

    @invariant()
    def ss_agrees(self) -> None:
        ref = self.ss_ref
        ref.expire_due()
        response = self.ss_call("GET", "/users", count=1000, **QUERY_DATES)
        assert response.status_code == 200, response.json
        users = {int(u["user_id"]): u for u in response.json["data"]["loyalty_users"]}
        members = {m.id: m for m in ref.members()}
        assert set(users) == set(members)
        period, lifetime = self.ss_tracks
        for mid, member in members.items():
            wire = users[mid]
            expected = {
                "available_points": member.balance,
                "pending_points": member.pending,
                "loyalty_level_id": self.level_ids.get(member.tiers.get(period) or 0, ""),
                "loyalty_lifetime_level_id": self.level_ids.get(
                    member.tiers.get(lifetime) or 0, ""),
            }
            assert {k: wire[k] for k in expected} == expected, (mid, member)
            schedule = [p for _, p in ref.expiry_schedule(mid)]
            assert [e["points"] for e in wire["expiration_schedule"]] == schedule
        for mid, member in list(members.items())[:4]:
            points = self.ss_call("GET", "/users/points", user_id=mid)
            assert points.status_code == 200, points.json
            data = points.json["data"]
            expected_points = {
                "available": member.balance, "pending_points": member.pending,
                "expired_points": member.expired, "qualified_points": member.earned,
            }
            assert {k: data[k] for k in expected_points} == expected_points, (mid, member)
        listed: dict[int, tuple[str, int, str]] = {}
        for start in range(0, 10_000, 10):
            page = self.ss_call("GET", "/transactions", start_index=start, **QUERY_DATES)
            assert page.status_code == 200, page.json
            data = page.json["data"]
            for t in data["transactions"]:
                status = t["points_status"]
                klass = status if status in ("pending",) else (
                    "rejected" if status in ("rejected", "auto_rejected") else "posted")
                listed[int(t["id"])] = (t["transaction_type"], t["points"], klass)
            if not data["more"]:
                break
        expected_txns = {
            t.id: (SS_TYPES[t.kind], abs(t.points), self._ss_status_class(t))
            for t in ref.transactions()
            if t.kind not in SS_HIDDEN
        }
        assert listed == expected_txns
        assert audit(ss_program(self.ss_app, TENANT)) == []
        assert audit(ref) == []


TestDifferential = DifferentialMachine.TestCase


@pytest.fixture(scope="module", autouse=True)
def _report() -> Any:
    yield
    print(
        f"\n[differential] runs={STATS['runs']} steps={STATS['steps']} "
        f"http_requests={STATS['http']}"
    )
