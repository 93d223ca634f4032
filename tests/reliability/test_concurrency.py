"""Concurrency: 8 client threads x 500 mixed operations against both fakes served live.

Both fakes run on loopback ports (`fakeservers._http.serve_in_thread`); each client thread
keeps one keep-alive `http.client` connection per server and sends a seeded random mix of
credits, debits, activity awards, redemptions from finite and generated coupon pools,
paid orders and their refunds or returns, and reads, all on the same few shared members.

Afterwards:

* no 5xx, every refusal in the vendor's error format, and only the refusals the operation
  allows (not enough points, no code left);
* no lost update: each member's balance equals the sum of the changes the server reported
  as done (for ShopSocially, minus what a return left owing, which later earnings settle);
* no coupon code issued twice, and no more codes issued than a pool holds;
* every transaction id a success reported is distinct and present in the journal;
* the final state equals a sequential replay of the journal, and `audit()` is clean.

Also here: the same run with the fake's clock moving underneath (expiry and auto-approval
racing the commands), the leaky-bucket rate limiter under concurrent clients, and
idempotent requests repeated by 8 threads at the same instant.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import pytest
from reliability_kit import (
    SMILE_KEY,
    SS_KEY,
    SS_PARTNER,
    is_smile_error,
    is_ss_error,
    smile_program,
    ss_program,
)

from fakeservers._http import serve_in_thread
from fakeservers.shopsocially import create_app as ss_create_app
from fakeservers.shopsocially import new_registry
from fakeservers.smile import create_app as smile_create_app
from fakeservers.smile import create_registry
from loyaltykit import ManualClock, Program, audit

START = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TENANT = "conc"
THREADS = 8
OPERATIONS = 2000 if os.environ.get("HYPOTHESIS_PROFILE") == "deep" else 500
"""Per thread: 500 in CI, 2,000 in the deep profile."""
MEMBERS = 4
TEE_CODES = [f"TEE-{n:04d}" for n in range(150)]
SS_CODES = [f"SS-{n:04d}" for n in range(150)]


class Conn:
    """One keep-alive connection; reopened (never retried) when the server closes it."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.headers = headers
        self.conn: http.client.HTTPConnection | None = None
        self.sent = 0

    def request(self, method: str, path: str, body: Any = None, *,
                form: bool = False) -> tuple[int, Any]:
        if self.conn is None:
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = dict(self.headers)
        payload: bytes | None = None
        if body is not None:
            if form:
                from urllib.parse import urlencode

                payload = urlencode(body).encode()
                headers["Content-Type"] = "application/x-www-form-urlencoded"
            else:
                payload = json.dumps(body).encode()
                headers["Content-Type"] = "application/json"
        self.conn.request(method, path, body=payload, headers=headers)
        response = self.conn.getresponse()
        data = response.read()
        self.sent += 1
        if response.will_close:
            self.conn.close()
            self.conn = None
        return response.status, json.loads(data) if data else None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


class Tally:
    """What one thread saw succeed."""

    def __init__(self) -> None:
        self.smile = Counter[int]()
        self.ss = Counter[int]()
        self.codes: list[str] = []
        self.txn_ids: dict[str, list[int]] = {"smile": [], "ss": []}
        self.refusals = Counter[str]()
        self.problems: list[Any] = []
        self.requests = 0


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, Any]]:
    smile = smile_create_app(create_registry(ManualClock(START), demo=False))
    control = smile.control
    control.create_tenant(TENANT, [SMILE_KEY])
    control.create_earning_rule(TENANT, name="Visit", token="visit", points=50)
    control.create_earning_rule(TENANT, name="Order", token="order",
                                points_per_dollar=Decimal(2))
    control.create_points_product(TENANT, name="Tee", points_price=100, codes=TEE_CODES)
    control.create_points_product(TENANT, name="Gen", points_price=60, code_prefix="gen")
    smile_members = [
        control.create_customer(TENANT, email=f"c{n}@example.com", external_id=f"x{n}",
                                points_balance=1000).id
        for n in range(MEMBERS)
    ]
    ss = ss_create_app(new_registry(ManualClock(START), demo=False))
    ss.registry.create(TENANT, [(SS_PARTNER, SS_KEY)])
    smile_server = serve_in_thread(smile, "127.0.0.1", 0)
    ss_server = serve_in_thread(ss, "127.0.0.1", 0)
    try:
        admin = Conn(ss_server.port, {"partner-id": SS_PARTNER, "api-key": SS_KEY})
        setup = [
            ("/v2/loyalty/activities", {
                "activity_id": "visit", "activity_name": "Visit", "activity_description": "v",
                "activity_type": "fixed", "approval_method": "immediate",
                "max_award_frequency": 0, "max_award_frequency_interval": "lifetime",
                "points_per_activity": 10, "is_active": "true"}),
            ("/v2/loyalty/activities", {
                "activity_id": "purchase", "activity_name": "Purchase",
                "activity_description": "p", "activity_type": "bonus_multiplier",
                "bonus_multiplier": 1, "approval_method": "immediate",
                "max_award_frequency": 0, "max_award_frequency_interval": "lifetime",
                "is_active": "true"}),
            ("/v2/loyalty/redemptions", {
                "redemption_id": "r20", "redemption_name": "Twenty",
                "allowed_redeem_points": 20, "redemption_value": "$2",
                "giftcard_description": "g", "terms_and_conds_text": "t",
                "giftcard_coupon_codes": ",".join(SS_CODES), "coupon_expiry": "31-Dec-2099",
                "is_active": "true"}),
        ]
        emails = []
        for n in range(MEMBERS):
            email = f"u{n}@example.com"
            setup.append(("/v2/loyalty/users", {"first_name": "U", "last_name": str(n),
                                                "email": email, "uid": f"uid{n}"}))
            emails.append(email)
        for path, body in setup:
            status, answer = admin.request("POST", path, body, form=True)
            assert status == 200, (path, answer)
        ss_members = [ss_program(ss, TENANT).member_by_email(e).id for e in emails]
        admin.close()
        yield {
            "smile": smile, "ss": ss, "smile_port": smile_server.port,
            "ss_port": ss_server.port, "smile_members": smile_members,
            "ss_members": ss_members, "ss_emails": emails,
        }
    finally:
        smile_server.stop()
        ss_server.stop()


def _floor(amount: Decimal) -> int:
    return int(amount.to_integral_value(rounding=ROUND_FLOOR))


def _client(index: int, env: dict[str, Any], tally: Tally) -> None:
    rng = random.Random(index)
    smile = Conn(env["smile_port"], {"Authorization": f"Bearer {SMILE_KEY}"})
    ss = Conn(env["ss_port"], {"partner-id": SS_PARTNER, "api-key": SS_KEY})
    smile_orders: list[tuple[str, int, Decimal, str, int]] = []
    ss_orders: list[tuple[str, int, Decimal]] = []
    serial = 0

    def expect(vendor: str, status: int, body: Any, allowed: set[str], what: str) -> bool:
        if status in (200, 201, 202):
            return True
        ok_shape = is_smile_error(body) if vendor == "smile" else is_ss_error(body)
        reason = (body or {}).get("error", {}).get("message") if vendor == "smile" else (
            body or {}).get("reason")
        if status >= 500 or not ok_shape or reason not in allowed:
            tally.problems.append((vendor, what, status, body))
        else:
            tally.refusals[f"{vendor}: {reason}"] += 1
        return False

    try:
        for _ in range(OPERATIONS):
            serial += 1
            if rng.random() < 0.5:
                member = rng.choice(env["smile_members"])
                xid = f"x{env['smile_members'].index(member)}"
                op = rng.choice(["credit", "debit", "visit", "tee", "gen", "order", "refund",
                                 "read"])
                if op in ("credit", "debit"):
                    change = rng.randint(1, 200) * (1 if op == "credit" else -1)
                    status, body = smile.request("POST", "/v1/points_transactions", {
                        "points_transaction": {"customer_id": member, "points_change": change,
                                               "description": op}})
                    if expect("smile", status, body, {"Customer does not have enough points."},
                              op):
                        tally.smile[member] += change
                        tally.txn_ids["smile"].append(body["points_transaction"]["id"])
                elif op == "visit":
                    status, body = smile.request("POST", "/v1/activities", {
                        "activity": {"customer_id": member, "token": "visit"}})
                    if expect("smile", status, body, set(), op):
                        tally.smile[member] += 50
                elif op in ("tee", "gen"):
                    product = 1 if op == "tee" else 2
                    status, body = smile.request(
                        "POST", f"/v1/points_products/{product}/purchase", {"customer_id": member})
                    if expect("smile", status, body, {"Customer does not have enough points.",
                                                      "This reward is no longer available."}, op):
                        purchase = body["points_purchase"]
                        tally.smile[member] -= purchase["points_spent"]
                        tally.codes.append(purchase["reward_fulfillment"]["code"])
                elif op == "order" or (op == "refund" and not smile_orders):
                    amount = Decimal(rng.randint(0, 20000)) / 100
                    order_id = f"t{index}-o{serial}"
                    status, body = smile.request("POST", "/v1/events", {"event": {
                        "topic": "order/updated", "data": {
                            "external_id": order_id, "rewardable_total": str(amount),
                            "payment_status": "paid", "customer": {"external_id": xid}}}})
                    if expect("smile", status, body, set(), "order"):
                        earned = _floor(amount * 2)
                        tally.smile[member] += earned
                        smile_orders.append((order_id, member, amount, xid, earned))
                elif op == "refund":
                    order_id, owner, amount, owner_xid, earned = smile_orders.pop(
                        rng.randrange(len(smile_orders)))
                    status, body = smile.request("POST", "/v1/events", {"event": {
                        "topic": "order/updated", "data": {
                            "external_id": order_id, "rewardable_total": str(amount),
                            "payment_status": "refunded",
                            "customer": {"external_id": owner_xid}}}})
                    if expect("smile", status, body, set(), op):
                        tally.smile[owner] -= earned  # negative balance allowed (Smile)
                else:
                    status, body = smile.request("GET", f"/v1/customers/{member}")
                    expect("smile", status, body, set(), op)
            else:
                position = rng.randrange(MEMBERS)
                member, email = env["ss_members"][position], env["ss_emails"][position]
                op = rng.choice(["visit", "deduct", "redeem", "order", "return", "read"])
                if op == "visit":
                    status, body = ss.request("POST", "/v2/loyalty/award", {
                        "user_email": email, "activity_id": "visit"}, form=True)
                    if expect("ss", status, body, set(), op):
                        tally.ss[member] += body["data"]["points"]
                        tally.txn_ids["ss"].append(int(body["data"]["id"]))
                elif op == "deduct":
                    points = rng.randint(1, 60)
                    status, body = ss.request("POST", "/v2/loyalty/deduct", {
                        "user_email": email, "reason": "c", "points_passed": points}, form=True)
                    if expect("ss", status, body, {"Insufficient points"}, op):
                        tally.ss[member] -= points
                        tally.txn_ids["ss"].append(int(body["data"]["id"]))
                elif op == "redeem":
                    status, body = ss.request("POST", "/v2/loyalty/redeem", {
                        "user_email": email, "redemption_id": "r20"}, form=True)
                    if expect("ss", status, body, {
                            "Insufficient points",
                            "No coupon codes available for the Redemption ID"}, op):
                        tally.ss[member] -= body["data"]["points"]
                        tally.codes.append(body["data"]["coupon_code"])
                        tally.txn_ids["ss"].append(int(body["data"]["id"]))
                elif op == "order" or (op == "return" and not ss_orders):
                    amount = Decimal(rng.randint(100, 9000)) / 100
                    order_id = f"t{index}-s{serial}"
                    status, body = ss.request("POST", "/v2/loyalty/award", {
                        "user_email": email, "activity_id": "purchase",
                        "points_passed": str(amount), "order_id": order_id}, form=True)
                    if expect("ss", status, body, set(), "order"):
                        tally.ss[member] += body["data"]["points"]
                        tally.txn_ids["ss"].append(int(body["data"]["id"]))
                        ss_orders.append((order_id, member, amount))
                elif op == "return":
                    order_id, owner, amount = ss_orders.pop(rng.randrange(len(ss_orders)))
                    status, body = ss.request("POST", "/v2/loyalty/transaction/return", {
                        "order_id": order_id}, form=True)
                    if expect("ss", status, body, set(), op):
                        # points = taken now + left owing (settled by later earnings)
                        tally.ss[owner] -= body["data"]["points"]
                else:
                    status, body = ss.request("GET", f"/v2/loyalty/users/{email}")
                    expect("ss", status, body, set(), op)
    except Exception as exc:  # a crash in a thread must fail the test, not vanish
        tally.problems.append(("thread", index, repr(exc)))
    finally:
        tally.requests = smile.sent + ss.sent
        smile.close()
        ss.close()


def _replay_equal(program: Program) -> bool:
    replayed = Program.replay(program.journal(), program.clock, **program.settings())
    return replayed.state() == program.state()


def test_eight_threads_on_shared_members(servers: dict[str, Any]) -> None:
    tallies = [Tally() for _ in range(THREADS)]
    threads = [
        threading.Thread(target=_client, args=(i, servers, tallies[i]), daemon=True)
        for i in range(THREADS)
    ]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    elapsed = time.perf_counter() - started
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    problems = [p for t in tallies for p in t.problems]
    assert problems == [], problems[:10]

    smile = smile_program(servers["smile"], TENANT)
    ss = ss_program(servers["ss"], TENANT)

    # no lost update
    for member in servers["smile_members"]:
        expected = 1000 + sum(t.smile[member] for t in tallies)
        assert smile.member(member).balance == expected, member
    for member in servers["ss_members"]:
        seen = sum(t.ss[member] for t in tallies)
        account = ss.member(member)
        assert account.balance - account.debt == seen, (member, account)

    # every reported transaction is distinct and journaled
    for vendor, program in (("smile", smile), ("ss", ss)):
        ids = [i for t in tallies for i in t.txn_ids[vendor]]
        assert len(ids) == len(set(ids)), vendor
        known = {txn.id for txn in program.transactions()}
        assert set(ids) <= known, vendor

    # coupon codes: each issued once, within the pools
    codes = [c for t in tallies for c in t.codes]
    duplicates = [c for c, n in Counter(codes).items() if n > 1]
    assert duplicates == []
    for program in (smile, ss):
        issued = [f.code for f in program.fulfillments() if f.code]
        assert len(issued) == len(set(issued))
    assert sum(c.startswith("TEE-") for c in codes) <= len(TEE_CODES)
    assert sum(c.startswith("SS-") for c in codes) <= len(SS_CODES)
    assert set(codes) == {f.code for p in (smile, ss) for f in p.fulfillments() if f.code}

    # sequential replay and audit
    for program in (smile, ss):
        assert _replay_equal(program)
        assert audit(program) == []

    requests = sum(t.requests for t in tallies)
    refusals = sum((t.refusals for t in tallies), Counter[str]())
    print(f"\n[concurrency] threads={THREADS} operations={THREADS * OPERATIONS} "
          f"requests={requests} in {elapsed:.1f}s; smile journal={len(smile.journal())} "
          f"ss journal={len(ss.journal())}; codes issued={len(codes)}; "
          f"refusals={dict(refusals)}")


def test_clock_moves_while_clients_work() -> None:
    """6 client threads award expiring and monthly-approved points, deduct and redeem while
    a 7th thread moves the fake's clock through its control plane (6 hours a step), so
    expiry and auto-approval race the commands. Every acknowledged write must be in the
    journal with the acknowledged points, codes unique, replay equal, audit clean."""
    app = ss_create_app(new_registry(ManualClock(START), demo=False))
    app.registry.create(TENANT, [(SS_PARTNER, SS_KEY)])
    server = serve_in_thread(app, "127.0.0.1", 0)
    clients, operations, advances = 6, 150, 150
    try:
        admin = Conn(server.port, {"partner-id": SS_PARTNER, "api-key": SS_KEY})
        for path, body in [
            ("/v2/loyalty/activities", {
                "activity_id": "visit", "activity_name": "Visit", "activity_description": "v",
                "activity_type": "fixed", "approval_method": "immediate",
                "max_award_frequency": 0, "max_award_frequency_interval": "lifetime",
                "points_per_activity": 10, "points_expiration_period": 2,
                "is_active": "true"}),
            ("/v2/loyalty/activities", {
                "activity_id": "survey", "activity_name": "Survey",
                "activity_description": "s", "activity_type": "fixed",
                "approval_method": "monthly", "max_award_frequency": 0,
                "max_award_frequency_interval": "lifetime", "points_per_activity": 30,
                "points_expiration_period": 5, "is_active": "true"}),
            ("/v2/loyalty/levels", {
                "level_id": "gold", "level_name": "Gold", "level_description": "g",
                "level_type": "period", "level_position": 1, "level_minimum_points": 200,
                "level_bonus_multiplier": "1.5", "is_active": "true"}),
            ("/v2/loyalty/redemptions", {
                "redemption_id": "r5", "redemption_name": "Five",
                "allowed_redeem_points": 5, "redemption_value": "$1",
                "giftcard_description": "g", "terms_and_conds_text": "t",
                "giftcard_coupon_codes": ",".join(f"T-{n}" for n in range(200)),
                "coupon_expiry": "31-Dec-2099", "is_active": "true"}),
            *[("/v2/loyalty/users", {"first_name": "U", "last_name": str(n),
                                     "email": f"u{n}@example.com", "uid": f"uid{n}"})
              for n in range(3)],
        ]:
            status, answer = admin.request("POST", path, body, form=True)
            assert status == 200, (path, answer)
        admin.close()
        acknowledged: list[list[tuple[int, int]]] = [[] for _ in range(clients)]
        codes: list[list[str]] = [[] for _ in range(clients)]
        problems: list[Any] = []

        def work(index: int) -> None:
            rng = random.Random(100 + index)
            conn = Conn(server.port, {"partner-id": SS_PARTNER, "api-key": SS_KEY})
            try:
                for _ in range(operations):
                    email = f"u{rng.randrange(3)}@example.com"
                    op = rng.choice(["visit", "visit", "survey", "deduct", "redeem", "read"])
                    if op in ("visit", "survey"):
                        status, body = conn.request("POST", "/v2/loyalty/award", {
                            "user_email": email, "activity_id": op}, form=True)
                    elif op == "deduct":
                        status, body = conn.request("POST", "/v2/loyalty/deduct", {
                            "user_email": email, "reason": "r",
                            "points_passed": rng.randint(1, 15)}, form=True)
                    elif op == "redeem":
                        status, body = conn.request("POST", "/v2/loyalty/redeem", {
                            "user_email": email, "redemption_id": "r5"}, form=True)
                    else:
                        status, body = conn.request("GET", f"/v2/loyalty/users/{email}")
                    if status == 200:
                        if op != "read":
                            sign = 1 if op in ("visit", "survey") else -1
                            acknowledged[index].append(
                                (int(body["data"]["id"]), sign * body["data"]["points"]))
                        if op == "redeem":
                            codes[index].append(body["data"]["coupon_code"])
                    elif status >= 500 or not is_ss_error(body) or body["reason"] not in (
                            "Insufficient points",
                            "No coupon codes available for the Redemption ID"):
                        problems.append((op, status, body))
            except Exception as exc:
                problems.append(("thread", index, repr(exc)))
            finally:
                conn.close()

        def tick() -> None:
            conn = Conn(server.port, {})
            try:
                for _ in range(advances):
                    status, body = conn.request("POST", "/_fake/clock/advance",
                                                {"seconds": 6 * 3600})
                    if status != 200:
                        problems.append(("clock", status, body))
                    time.sleep(0.002)
            except Exception as exc:
                problems.append(("clock thread", repr(exc)))
            finally:
                conn.close()

        threads = [threading.Thread(target=work, args=(i,), daemon=True)
                   for i in range(clients)]
        threads.append(threading.Thread(target=tick, daemon=True))
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not any(t.is_alive() for t in threads), "a thread hung"
        assert problems == [], problems[:10]

        program = ss_program(app, TENANT)
        program.expire_due()
        txns = {t.id: t for t in program.transactions()}
        seen = [entry for entries in acknowledged for entry in entries]
        assert len({i for i, _ in seen}) == len(seen), "a transaction id acknowledged twice"
        for txn_id, points in seen:
            assert txn_id in txns and txns[txn_id].points == points, (txn_id, points)
        issued = [c for entries in codes for c in entries]
        assert len(issued) == len(set(issued))
        assert _replay_equal(program)
        assert audit(program) == []
        print(f"\n[concurrency+clock] writes acknowledged={len(seen)} journal="
              f"{len(program.journal())} clock={program.clock.now().isoformat()}")
    finally:
        server.stop()


@pytest.mark.parametrize("vendor", ["smile", "shopsocially"])
def test_rate_limit_holds_under_concurrency(vendor: str) -> None:
    """With rate limiting on and the clock still, a key's leaky bucket (10 requests) admits
    exactly 10 of 8 x 15 concurrent requests; the rest are 429 in the vendor's format, with
    Retry-After, and change nothing."""
    if vendor == "smile":
        app: Any = smile_create_app(create_registry(ManualClock(START), demo=False))
        app.control.create_tenant(TENANT, [SMILE_KEY])
        app.control.create_customer(TENANT, email="c@example.com", points_balance=5)
        headers = {"Authorization": f"Bearer {SMILE_KEY}"}
        path, body, form = "/v1/points_transactions", {"points_transaction": {
            "customer_id": 1, "points_change": 1, "description": "r"}}, False
        program = smile_program(app, TENANT)
        shape: Any = is_smile_error
    else:
        app = ss_create_app(new_registry(ManualClock(START), demo=False))
        app.registry.create(TENANT, [(SS_PARTNER, SS_KEY)])
        program = ss_program(app, TENANT)
        program.add_member(email="c@example.com", external_id="c")
        headers = {"partner-id": SS_PARTNER, "api-key": SS_KEY}
        path, body, form = "/v2/loyalty/users", {"first_name": "A", "last_name": "B",
                                                  "email": "", "uid": ""}, True
        shape = is_ss_error
    app.control.set_rate_limited(TENANT, True)
    server = serve_in_thread(app, "127.0.0.1", 0)
    statuses: list[int] = []
    problems: list[Any] = []
    lock = threading.Lock()

    def hammer(index: int) -> None:
        conn = Conn(server.port, headers)
        try:
            for n in range(15):
                payload = dict(body)
                if vendor == "shopsocially":
                    payload.update(email=f"t{index}-{n}@example.com", uid=f"t{index}-{n}")
                status, answer = conn.request("POST", path, payload, form=form)
                with lock:
                    statuses.append(status)
                if status == 429 and not shape(answer):
                    problems.append(answer)
                elif status not in (200, 201, 429):
                    problems.append((status, answer))
        except Exception as exc:
            problems.append(repr(exc))
        finally:
            conn.close()

    try:
        journal = len(program.journal())
        threads = [threading.Thread(target=hammer, args=(i,), daemon=True) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        assert problems == [], problems[:5]
        admitted = sum(s != 429 for s in statuses)
        assert (admitted, len(statuses)) == (10, 120)
        assert len(program.journal()) - journal == 10  # one event per admitted write
        assert audit(program) == []
    finally:
        server.stop()


def test_concurrent_repeats_apply_once() -> None:
    """The same idempotent request sent by 8 threads at once is applied exactly once:
    a ShopSocially award with one order_id, a Smile activity with one distinct_id and a
    Smile order event with one external_id; and 8 redemptions racing for a pool's last
    code give it to exactly one of them."""
    smile = smile_create_app(create_registry(ManualClock(START), demo=False))
    control = smile.control
    control.create_tenant(TENANT, [SMILE_KEY])
    control.create_earning_rule(TENANT, name="Visit", token="visit", points=50)
    control.create_earning_rule(TENANT, name="Order", token="order",
                                points_per_dollar=Decimal(1))
    control.create_points_product(TENANT, name="Last", points_price=1, codes=["LAST-1"])
    control.create_customer(TENANT, email="c@example.com", external_id="x", points_balance=50)
    ss = ss_create_app(new_registry(ManualClock(START), demo=False))
    ss.registry.create(TENANT, [(SS_PARTNER, SS_KEY)])
    smile_server = serve_in_thread(smile, "127.0.0.1", 0)
    ss_server = serve_in_thread(ss, "127.0.0.1", 0)
    try:
        admin = Conn(ss_server.port, {"partner-id": SS_PARTNER, "api-key": SS_KEY})
        for path, body in [
            ("/v2/loyalty/activities", {
                "activity_id": "purchase", "activity_name": "Purchase",
                "activity_description": "p", "activity_type": "bonus_multiplier",
                "bonus_multiplier": 1, "approval_method": "immediate",
                "max_award_frequency": 0, "max_award_frequency_interval": "lifetime",
                "is_active": "true"}),
            ("/v2/loyalty/users", {"first_name": "U", "last_name": "U",
                                   "email": "u@example.com", "uid": "u"}),
        ]:
            status, answer = admin.request("POST", path, body, form=True)
            assert status == 200, answer
        admin.close()
        requests: list[tuple[str, int, dict[str, str], str, Any, bool]] = [
            ("ss award", ss_server.port, {"partner-id": SS_PARTNER, "api-key": SS_KEY},
             "/v2/loyalty/award", {"user_email": "u@example.com", "activity_id": "purchase",
                                   "points_passed": "40", "order_id": "same-order"}, True),
            ("smile activity", smile_server.port, {"Authorization": f"Bearer {SMILE_KEY}"},
             "/v1/activities", {"activity": {"customer_id": 1, "token": "visit",
                                             "distinct_id": "same"}}, False),
            ("smile order", smile_server.port, {"Authorization": f"Bearer {SMILE_KEY}"},
             "/v1/events", {"event": {"topic": "order/updated", "data": {
                 "external_id": "same-order", "rewardable_total": "30",
                 "payment_status": "paid", "external_updated_at": "2024-05-01T12:00:00Z",
                 "customer": {"external_id": "x"}}}}, False),
            ("smile last code", smile_server.port, {"Authorization": f"Bearer {SMILE_KEY}"},
             "/v1/points_products/1/purchase", {"customer_id": 1}, False),
        ]
        results: dict[str, list[tuple[int, Any]]] = {}
        for label, port, headers, path, body, form in requests:
            barrier = threading.Barrier(8)
            answers: list[tuple[int, Any]] = []
            lock = threading.Lock()

            def send(port: int = port, headers: dict[str, str] = headers, path: str = path,
                     body: Any = body, form: bool = form, barrier: Any = barrier,
                     answers: list[tuple[int, Any]] = answers, lock: Any = lock) -> None:
                conn = Conn(port, headers)
                try:
                    barrier.wait(timeout=60)
                    answer = conn.request("POST", path, body, form=form)
                except Exception as exc:
                    answer = (0, repr(exc))
                finally:
                    conn.close()
                with lock:
                    answers.append(answer)

            threads = [threading.Thread(target=send, daemon=True) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join(timeout=30)
            results[label] = answers

        ss_prog = ss_program(ss, TENANT)
        awards = [t for t in ss_prog.transactions() if t.order_id == "same-order"]
        assert len(awards) == 1, awards
        ids = {a[1]["data"]["id"] for a in results["ss award"] if a[0] == 200}
        assert ids == {str(awards[0].id)}, results["ss award"]

        program = smile_program(smile, TENANT)
        member = program.member(1)
        # 50 opening + one activity (50) + one order (30) - one purchase (1)
        assert all(a[0] in (200, 201, 202) for label in ("smile activity", "smile order")
                   for a in results[label]), results
        won = [a for a in results["smile last code"] if a[0] == 201]
        lost = [a for a in results["smile last code"] if a[0] != 201]
        assert len(won) == 1 and all(
            a[0] == 402 and is_smile_error(a[1]) for a in lost), results["smile last code"]
        assert member.balance == 50 + 50 + 30 - 1, member
        for prog in (program, ss_prog):
            assert _replay_equal(prog)
            assert audit(prog) == []
    finally:
        smile_server.stop()
        ss_server.stop()
