"""ShopSocially lists and users read from the core's indexes: the answers a scan gives."""

from __future__ import annotations

from datetime import timedelta

from ss_client import Api

from fakeservers.shopsocially import mapping
from loyaltykit import ManualClock, Program

DAY = timedelta(days=1)


def listed(program: Program, member: int | None, start_day: int, days: int) -> list[str]:
    """Ids a scan lists: transactions with a type, created in the day range, newest first."""
    from ss_client import START

    start = START.replace(hour=0) + start_day * DAY
    end = start + days * DAY
    rows = [
        t
        for t in program.transactions(member)
        if mapping.transaction_type(t) is not None and start <= t.created_at < end
    ]
    rows.sort(key=lambda t: (t.created_at, t.id), reverse=True)
    return [str(t.id) for t in rows]


def every_page(api: Api, email: str | None, **query: str) -> tuple[list[str], int]:
    seen: list[str] = []
    start = 0
    while True:
        data = api.transactions(email, start_index=start, **query)
        seen += [row["id"] for row in data["transactions"]]
        if not data["more"]:
            return seen, data["total"]
        start = data["next_start_index"]


def test_pages_follow_creation_time_when_the_clock_went_back(
    api: Api, clock: ManualClock, program: Program
) -> None:
    api.user("ann@example.com")
    api.user("bob@example.com")
    api.activity("signup", points_per_activity=10)
    for n in range(30):
        clock.advance(timedelta(hours=5))
        api.award("ann@example.com" if n % 3 else "bob@example.com")
        if n == 20:
            clock.set(clock.now() - 3 * DAY)  # later awards are dated before earlier ones
    ann = program.member_by_email("ann@example.com").id
    program.expire_due()  # nothing due, but a read after it must still list the same
    for email, member in (("ann@example.com", ann), (None, None)):
        seen, total = every_page(api, email, from_date="01/01/2024", to_date="01/09/2024")
        expected = listed(program, member, 0, 8)
        assert seen == expected and total == len(expected)
        some, total = every_page(api, email, from_date="01/03/2024", to_date="01/04/2024")
        assert some == listed(program, member, 2, 2) and total == len(some)


def test_expiries_and_settlements_are_not_listed_nor_counted(
    api: Api, clock: ManualClock, program: Program
) -> None:
    api.user("ann@example.com")
    api.activity("photo", points_per_activity=30, points_expiration_period=1)
    for _ in range(12):
        api.award(activity_id="photo")
    clock.advance(3 * DAY)
    program.expire_due()
    data = api.transactions("ann@example.com")
    assert data["total"] == 12 and len(program.transactions()) == 24
    assert {row["points_status"] for row in data["transactions"]} == {"expired"}
    second = api.transactions("ann@example.com", start_index=10)
    assert len(second["transactions"]) == 2 and second["more"] is False
    wanted = api.transactions("ann@example.com", points_status='["expired"]', start_index=10)
    assert wanted["total"] == 12 and len(wanted["transactions"]) == 2


def test_user_totals_and_last_award_come_from_running_totals(
    api: Api, clock: ManualClock, program: Program
) -> None:
    api.user("ann@example.com")
    api.activity("signup", points_per_activity=500)
    api.activity("review", approval_method="manual", points_per_activity=7, activity_name="Rev")
    held = api.award(activity_id="review")[1]["data"]["id"]
    clock.advance(DAY)
    api.award()
    api.redemption("ten_off", points=100)
    api.ok("POST", "/redeem", {"user_email": "ann@example.com", "redemption_id": "ten_off"})
    api.ok("POST", "/deduct", {"user_email": "ann@example.com", "reason": "x", "points_passed": 50})
    clock.advance(DAY)
    api.ok("PUT", f"/transactions/{held}", {"points_status": "approved"})
    user = api.ok("GET", "/users/ann@example.com")
    # the approval posts an older award: the later signup stays the last award
    assert user["last_award_transaction"]["name"] == "Signup"
    assert user["redeemed_points"] == 100
    points = api.ok("GET", "/users/points", user_id=user["user_id"])
    assert (points["redeemed"], points["deducted_points"]) == (100, 50)


def test_users_listed_by_enrolment_with_deep_pages(api: Api, clock: ManualClock) -> None:
    for n in range(25):
        api.user(f"u{n:02d}@example.com")
        clock.advance(timedelta(hours=6))
    page = api.ok(
        "GET", "/users", from_date="01/02/2024", to_date="01/05/2024", start_index=3, count=4
    )
    # 1 Jan noon + 6 h steps: users 2..17 enrolled on 2-5 January
    assert page["total_loyalty_users"] == 16
    assert [u["user_email"] for u in page["loyalty_users"]] == [
        f"u{n:02d}@example.com" for n in range(5, 9)
    ]
    assert (page["next_start_index"], page["more"]) == (7, True)
    beyond = api.ok(
        "GET", "/users", from_date="01/02/2024", to_date="01/05/2024", start_index=10**12
    )
    assert beyond["loyalty_users"] == [] and beyond["more"] is False
