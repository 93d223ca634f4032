"""The routes: the 24 functions of the v2 docs plus the 2017 page's user redemptions/points.

Every route exists under `/v2/loyalty/...` (the docs' full URLs) and `/loyalty/...` (the
docs' "Endpoint" lines). Endpoint `x` is served by `Views.on_x`.
"""

from __future__ import annotations

from collections.abc import Iterable

from werkzeug.routing import Map, Rule

__all__ = ["ENDPOINTS", "PREFIXES", "url_map"]

# (path under the prefix, HTTP method, endpoint). Order is irrelevant: werkzeug ranks
# static parts above variables, so /users/points wins over /users/<user_email>.
ENDPOINTS: tuple[tuple[str, str, str], ...] = (
    ("/award", "POST", "award"),  # 1
    ("/redeem", "POST", "redeem"),  # 2
    ("/deduct", "POST", "deduct"),  # 3
    ("/transactions", "GET", "list_transactions"),  # 4
    ("/transactions/<txn_id>", "GET", "get_transaction"),  # 5
    ("/transactions/<txn_id>", "PUT", "update_transaction"),  # 6
    ("/users", "GET", "list_users"),  # 7
    ("/users/<user_email>", "GET", "get_user"),  # 8
    ("/users", "POST", "create_user"),  # 9
    ("/users/<uid>", "PUT", "update_user"),  # 10
    ("/users/<user_email>/transactions", "GET", "user_transactions"),  # 11
    ("/activities", "GET", "list_activities"),  # 12
    ("/activities", "POST", "create_activity"),  # 13
    ("/activities/<activity_id>", "GET", "get_activity"),  # 14
    ("/activities/<activity_id>", "PUT", "update_activity"),  # 15
    ("/redemptions", "GET", "list_redemptions"),  # 16
    ("/redemptions", "POST", "create_redemption"),  # 17
    ("/redemptions/<redemption_id>", "GET", "get_redemption"),  # 18
    ("/redemptions/<redemption_id>", "PUT", "update_redemption"),  # 19
    ("/levels", "GET", "list_levels"),  # 20
    ("/levels", "POST", "create_level"),  # 21
    ("/levels/<level_id>", "PUT", "update_level"),  # 22
    ("/levels/<level_id>", "GET", "get_level"),  # 23
    ("/transaction/return", "POST", "return_order"),  # 24
    ("/users/<user_email>/redemptions", "GET", "user_redemptions"),  # 2017 page
    ("/users/points", "GET", "user_points"),  # 2017 page
)

PREFIXES = ("/v2/loyalty", "/loyalty")


def url_map(extra: Iterable[Rule] = ()) -> Map:
    """A fresh Map of every vendor route, plus `extra` rules (the `/_fake/` control plane)."""
    rules = [
        Rule(prefix + path, methods=[method], endpoint=endpoint)
        for prefix in PREFIXES
        for path, method, endpoint in ENDPOINTS
    ]
    return Map([*rules, *extra], strict_slashes=False, merge_slashes=True)
