"""The requests a contract check sends, per vendor: documented, read-only by default.

A `Step` is one request. Ids come from earlier answers (`captures`): the first customer
of the list, then that customer, ... so the same steps run against the fake's demo
tenant and against any real account. Steps marked `writes` change the account and run
only when asked (`--writes`); each is built to leave the balance as it was (a credit is
followed by a debit, refused requests change nothing, and `undo` runs when a request the
fake refuses was carried out by the vendor).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

__all__ = ["SHOPSOCIALLY", "SMILE", "STEPS", "Step"]

Vars = Mapping[str, Any]


@attrs.frozen
class Step:
    """One request of a contract check."""

    name: str
    """The route name (see `fake.routes()`) and, after a colon, what is checked."""
    method: str
    path: str
    """A path under the base URL; `{var}` is filled from earlier captures (quoted)."""
    query: Mapping[str, str] = attrs.field(factory=dict)
    json: Callable[[Vars], Any] | None = None
    form: Callable[[Vars], Mapping[str, str]] | None = None
    bad_credentials: bool = False
    """Send credentials that cannot be valid (checks the 401 and its body)."""
    captures: Callable[[Any], dict[str, Any]] | None = None
    """Values for later steps, read from this step's JSON answer."""
    writes: bool = False
    undo: Step | None = None
    """Run against the vendor when it answered 2xx where the fake did not (the vendor
    carried out what the fake refuses): puts the account back."""


def first(*path: str | int, name: str) -> Callable[[Any], dict[str, Any]]:
    """A capture: the value at `path` in the answer (keys and list indexes), as `name`."""

    def capture(body: Any) -> dict[str, Any]:
        value = body
        for key in path:
            value = value[key]
        if value is None or isinstance(value, dict | list):
            raise TypeError(f"no {name} at {path}")
        return {name: value}

    return capture


def _transaction(points: int, description: str | None) -> Callable[[Vars], Any]:
    def body(found: Vars) -> Any:
        transaction: dict[str, Any] = {"customer_id": found["customer_id"], "points_change": points}
        if description is not None:
            transaction["description"] = description
        return {"points_transaction": transaction}

    return body


CHECK = "loyaltykit contract check"
CREDIT_DEBIT = "/v1/points_transactions"
_DEBIT_ONE = Step(
    "points_transaction_create: undo", "POST", CREDIT_DEBIT, json=_transaction(-1, CHECK),
    writes=True,
)  # fmt: skip

SMILE: tuple[Step, ...] = (
    Step("customers_list", "GET", "/v1/customers", {"limit": "2"},
         captures=first("customers", 0, "id", name="customer_id")),
    Step("customer_show", "GET", "/v1/customers/{customer_id}"),
    Step("customer_show: include", "GET", "/v1/customers/{customer_id}",
         {"include": "vip_tier,vip_status"}),
    Step("points_transactions_list", "GET", "/v1/points_transactions", {"limit": "2"},
         captures=first("points_transactions", 0, "id", name="transaction_id")),
    Step("points_transaction_show", "GET", "/v1/points_transactions/{transaction_id}"),
    Step("points_products_list", "GET", "/v1/points_products",
         captures=first("points_products", 0, "id", name="product_id")),
    Step("points_product_show", "GET", "/v1/points_products/{product_id}"),
    Step("reward_fulfillments_list", "GET", "/v1/reward_fulfillments", {"limit": "2"}),
    Step("earning_rules_list", "GET", "/v1/earning_rules"),
    Step("points_settings_show", "GET", "/v1/points_settings"),
    Step("vip_tiers_list", "GET", "/v1/vip_tiers", {"include": "perks,entry_rewards"}),
    Step("customer_show: unknown id", "GET", "/v1/customers/2147483647"),
    Step("customers_list: limit above 250", "GET", "/v1/customers", {"limit": "251"}),
    Step("customers_list: blank updated_at_min", "GET", "/v1/customers",
         {"updated_at_min": ""}),
    Step("customer_show: invalid key", "GET", "/v1/customers/{customer_id}",
         bad_credentials=True),
    Step("no route", "GET", "/v1/no_such_resource"),
    Step("points_transaction_create: credit 1", "POST", CREDIT_DEBIT,
         json=_transaction(1, CHECK), writes=True),
    Step("points_transaction_create: debit 1", "POST", CREDIT_DEBIT,
         json=_transaction(-1, CHECK), writes=True),
    Step("points_transaction_create: zero", "POST", CREDIT_DEBIT,
         json=_transaction(0, CHECK), writes=True),
    Step("points_transaction_create: more than the balance", "POST", CREDIT_DEBIT,
         json=_transaction(-1_000_000_000, CHECK), writes=True, undo=Step(
             "points_transaction_create: undo", "POST", CREDIT_DEBIT,
             json=_transaction(1_000_000_000, CHECK), writes=True)),
    Step("points_transaction_create: no description (A8)", "POST", CREDIT_DEBIT,
         json=_transaction(1, None), writes=True, undo=_DEBIT_ONE),
)  # fmt: skip
"""Every GET of the reference (with its ids taken from the lists), its documented errors,
and, with `--writes`, points transactions that leave the balance as it was."""

DATES = {"from_date": "01/01/2000", "to_date": "12/31/2099"}
LOYALTY = "/v2/loyalty"

SHOPSOCIALLY: tuple[Step, ...] = (
    Step("list_users", "GET", f"{LOYALTY}/users", {**DATES, "count": "2"},
         captures=lambda body: {
             **first("data", "loyalty_users", 0, "user_email", name="user_email")(body),
             **first("data", "loyalty_users", 0, "user_id", name="user_id")(body),
         }),
    Step("get_user", "GET", f"{LOYALTY}/users/{{user_email}}"),
    Step("user_transactions", "GET", f"{LOYALTY}/users/{{user_email}}/transactions", DATES),
    Step("user_redemptions", "GET", f"{LOYALTY}/users/{{user_email}}/redemptions"),
    Step("list_transactions", "GET", f"{LOYALTY}/transactions", DATES,
         captures=first("data", "transactions", 0, "id", name="transaction_id")),
    Step("get_transaction", "GET", f"{LOYALTY}/transactions/{{transaction_id}}"),
    Step("list_activities", "GET", f"{LOYALTY}/activities",
         captures=first("data", 0, "activity_id", name="activity_id")),
    Step("get_activity", "GET", f"{LOYALTY}/activities/{{activity_id}}"),
    Step("list_redemptions", "GET", f"{LOYALTY}/redemptions",
         captures=first("data", 0, "redemption_id", name="redemption_id")),
    Step("get_redemption", "GET", f"{LOYALTY}/redemptions/{{redemption_id}}"),
    Step("list_levels", "GET", f"{LOYALTY}/levels",
         captures=first("data", 0, "level_id", name="level_id")),
    Step("get_level", "GET", f"{LOYALTY}/levels/{{level_id}}"),
    Step("get_user: unknown email", "GET", f"{LOYALTY}/users/nobody@contract-check.invalid"),
    Step("list_transactions: no dates", "GET", f"{LOYALTY}/transactions"),
    Step("list_activities: invalid credentials", "GET", f"{LOYALTY}/activities",
         bad_credentials=True),
    Step("no route", "GET", f"{LOYALTY}/no_such_resource"),
    Step("deduct: zero points", "POST", f"{LOYALTY}/deduct",
         form=lambda found: {"user_email": found["user_email"], "points_passed": "0",
                             "reason": CHECK}, writes=True),
    Step("award: unknown activity", "POST", f"{LOYALTY}/award",
         form=lambda found: {"user_email": found["user_email"],
                             "activity_id": "loyaltykit_contract_check_no_such_activity"},
         writes=True),
)  # fmt: skip
"""The documented GET functions (ids from the lists), their documented errors, and, with
`--writes`, requests the vendor must refuse (they change nothing when it does)."""

STEPS = {"smile": SMILE, "shopsocially": SHOPSOCIALLY}
