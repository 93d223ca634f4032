"""The route catalogue: every route name a fake answers, with its method, paths and purpose.

Route names are what faults, canned responses and journal assertions take
(`faults.error("customer_show")`, `journal.assert_called("award")`); the catalogue makes
them discoverable (`fake.routes()`, `GET /_fake/routes`, the tables of
docs/testing-guide.md) and lets a misspelled name be refused with the closest ones
instead of silently never matching. It is read from the vendor app's own `url_map`, so it
cannot drift from what the fake routes; the one-line summaries live here.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Collection, Iterable

import attrs
from werkzeug.routing import Map

__all__ = [
    "CONTROL_SUMMARIES",
    "SUMMARIES",
    "RouteInfo",
    "UnknownRoute",
    "api_routes",
    "closest",
    "control_routes",
]


class UnknownRoute(ValueError):
    """A route name the fake does not have; `suggestions` are the closest known names."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        hint = f"; did you mean {' or '.join(suggestions)}?" if suggestions else ""
        super().__init__(
            f"unknown route name {name!r}{hint} (fake.routes() or GET /_fake/routes lists them)"
        )
        self.name = name
        self.suggestions = suggestions


def closest(name: str, names: Iterable[str], n: int = 3) -> list[str]:
    """The known names most like `name` (difflib's ratio, best first)."""
    return difflib.get_close_matches(name, sorted(names), n=n, cutoff=0.6)


def check_name(name: str, names: Collection[str]) -> None:
    """Refuse a route name that is not in `names`, naming the closest ones."""
    if name not in names:
        raise UnknownRoute(name, closest(name, names))


@attrs.frozen
class RouteInfo:
    """One named route: its methods, its paths (werkzeug rule syntax shown as `{name}`)
    and what it does."""

    name: str
    methods: tuple[str, ...]
    paths: tuple[str, ...]
    summary: str

    @property
    def glob(self) -> str:
        """A path glob for the first path (`/v1/customers/*`), as route specs take."""
        return re.sub(r"\{[^}]*\}", "*", self.paths[0])

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "methods": list(self.methods),
            "paths": list(self.paths),
            "summary": self.summary,
        }


_VARIABLE = re.compile(r"<(?:[^:<>]+:)?([^<>]+)>")


def _display(rule: str) -> str:
    """`/v1/customers/<int:customer_id>` -> `/v1/customers/{customer_id}`."""
    return _VARIABLE.sub(r"{\1}", rule)


def _routes(url_map: Map, summaries: dict[str, str], control: bool) -> list[RouteInfo]:
    methods: dict[str, list[str]] = {}
    paths: dict[str, list[str]] = {}
    for rule in url_map.iter_rules():
        if rule.rule.startswith("/_fake") != control:
            continue
        name = str(rule.endpoint)
        shown = methods.setdefault(name, [])
        for method in sorted(rule.methods or ()):
            if method not in ("HEAD", "OPTIONS") and method not in shown:
                shown.append(method)
        path = _display(rule.rule)
        if path not in paths.setdefault(name, []):
            paths[name].append(path)
    return [
        RouteInfo(name, tuple(methods[name]), tuple(paths[name]), summaries.get(name, ""))
        for name in methods
    ]


def api_routes(vendor: str, url_map: Map) -> list[RouteInfo]:
    """The vendor API's named routes, in the order the vendor's routing table lists them."""
    return _routes(url_map, SUMMARIES.get(vendor, {}), control=False)


def control_routes(url_maps: Iterable[Map]) -> list[RouteInfo]:
    """The control plane's routes (`/_fake/...`) of the given maps, by name."""
    found: dict[str, RouteInfo] = {}
    for url_map in url_maps:
        for info in _routes(url_map, CONTROL_SUMMARIES, control=True):
            known = found.get(info.name)
            if known is None:
                found[info.name] = info
            else:  # the same name on two maps (e.g. /_fake/journal/clear): merge
                found[info.name] = attrs.evolve(
                    known,
                    methods=tuple(dict.fromkeys(known.methods + info.methods)),
                    paths=tuple(dict.fromkeys(known.paths + info.paths)),
                )
    return list(found.values())


SUMMARIES: dict[str, dict[str, str]] = {
    "smile": {
        "customers_list": "list customers (email, state, updated_at_min; cursor or pages)",
        "customer_show": "one customer by id",
        "customer_identity_upsert": "create or update a customer identity by distinct_id",
        "activity_create": "record an activity; its earning rule awards points",
        "points_products_list": "list active points products",
        "points_product_show": "one points product by id",
        "points_product_purchase": "spend points on a product: a points purchase",
        "points_purchases_list": "list points purchases (fake-only convenience)",
        "points_purchase_show": "one points purchase (fake-only convenience)",
        "points_transactions_list": "list points transactions",
        "points_transaction_create": "credit or debit a customer's points",
        "points_transaction_show": "one points transaction by id",
        "reward_fulfillments_list": "list reward fulfillments",
        "earning_rules_list": "list active earning rules",
        "points_settings_show": "the points label",
        "vip_tiers_list": "list VIP tiers",
        "event_create": "an order or customer event (order/updated, customer/deleted, ...)",
    },
    "shopsocially": {
        "award": "award points for an activity (order_id: once per order)",
        "redeem": "redeem points for a redemption option (a coupon code)",
        "deduct": "deduct points from a user",
        "list_transactions": "list transactions (dates, status, start_index paging)",
        "get_transaction": "one transaction",
        "update_transaction": "approve or reject a pending transaction",
        "list_users": "list users",
        "get_user": "one user by email, with points and expiration schedule",
        "create_user": "create a user",
        "update_user": "update a user by uid",
        "user_transactions": "one user's transactions",
        "list_activities": "list activities",
        "create_activity": "create an activity",
        "get_activity": "one activity",
        "update_activity": "update an activity",
        "list_redemptions": "list redemption options",
        "create_redemption": "create a redemption option",
        "get_redemption": "one redemption option",
        "update_redemption": "update a redemption option",
        "list_levels": "list levels",
        "create_level": "create a level",
        "update_level": "update a level",
        "get_level": "one level",
        "return_order": "return an order, fully or partly: claws points back",
        "user_redemptions": "one user's redemptions (2017 page)",
        "user_points": "a user's points (2017 page)",
    },
}
"""One line per API route name, per vendor (a test checks every route has one)."""

CONTROL_SUMMARIES: dict[str, str] = {
    "index": "this index: the control routes and where the API routes are listed",
    "routes": "the API's route names (for faults and journal assertions)",
    "fake_tenants": "list tenants",
    "fake_tenant_create": "create a tenant (name, credentials, seed, rate_limited)",
    "fake_tenant": "one tenant",
    "fake_credential_create": "add a credential to a tenant",
    "fake_tenant_settings": "change a tenant's settings (rate_limited)",
    "fake_tenant_reset": "rebuild one tenant from its seed",
    "fake_reset": "rebuild every tenant; clear journal and faults",
    "fake_clock": "read the clock",
    "fake_clock_set": "set the clock (now)",
    "fake_clock_advance": "advance the clock (seconds)",
    "fake_customer_create": "create a customer (Smile has no API for it)",
    "fake_points_product_create": "create a points product",
    "fake_earning_rule_create": "create an earning rule",
    "fake_vip_tier_create": "create a VIP tier",
    "journal": "the request journal (route, tenant, limit)",
    "journal_clear": "clear the request journal",
    "faults": "armed faults and canned responses",
    "fault_add": "arm a fault or a canned response",
    "faults_clear": "disarm every fault",
    "fault_remove": "disarm one fault",
    "export": "a seed document of the tenants",
    "seed": "load a seed document",
}
