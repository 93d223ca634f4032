"""Routes of the Smile.io v1 fake: the vendor API under /v1 and the control plane under /_fake."""

from __future__ import annotations

from werkzeug.routing import Map, Rule

from fakeservers._http import control_rules

__all__ = ["API_RULES", "CONTROL_RULES", "PUBLIC_APP_FORBIDDEN", "url_map"]

API_RULES = [
    Rule("/v1/customers", methods=["GET"], endpoint="customers_list"),
    Rule("/v1/customers/<int:customer_id>", methods=["GET"], endpoint="customer_show"),
    Rule(
        "/v1/customer_identities/create_or_update",
        methods=["POST"],
        endpoint="customer_identity_upsert",
    ),
    Rule("/v1/activities", methods=["POST"], endpoint="activity_create"),
    Rule("/v1/points_products", methods=["GET"], endpoint="points_products_list"),
    Rule("/v1/points_products/<int:product_id>", methods=["GET"], endpoint="points_product_show"),
    Rule(
        "/v1/points_products/<int:product_id>/purchase",
        methods=["POST"],
        endpoint="points_product_purchase",
    ),
    Rule("/v1/points_purchases", methods=["GET"], endpoint="points_purchases_list"),
    Rule(
        "/v1/points_purchases/<int:purchase_id>", methods=["GET"], endpoint="points_purchase_show"
    ),
    Rule("/v1/points_transactions", methods=["GET"], endpoint="points_transactions_list"),
    Rule("/v1/points_transactions", methods=["POST"], endpoint="points_transaction_create"),
    Rule(
        "/v1/points_transactions/<int:transaction_id>",
        methods=["GET"],
        endpoint="points_transaction_show",
    ),
    Rule("/v1/reward_fulfillments", methods=["GET"], endpoint="reward_fulfillments_list"),
    Rule("/v1/earning_rules", methods=["GET"], endpoint="earning_rules_list"),
    Rule("/v1/points_settings", methods=["GET"], endpoint="points_settings_show"),
    Rule("/v1/vip_tiers", methods=["GET"], endpoint="vip_tiers_list"),
    Rule("/v1/events", methods=["POST"], endpoint="event_create"),
    Rule("/v1/events/", methods=["POST"], endpoint="event_create"),
]

PUBLIC_APP_FORBIDDEN = frozenset(
    {
        "points_products_list",
        "points_product_show",
        "points_product_purchase",
        "points_transactions_list",
        "points_transaction_create",
        "points_transaction_show",
    }
)
"""Endpoints the reference marks "This endpoint is not available to public Smile apps"."""

CONTROL_RULES = [
    *control_rules(),
    Rule("/_fake/tenants/<name>/customers", methods=["POST"], endpoint="fake_customer_create"),
    Rule(
        "/_fake/tenants/<name>/points_products",
        methods=["POST"],
        endpoint="fake_points_product_create",
    ),
    Rule(
        "/_fake/tenants/<name>/earning_rules", methods=["POST"], endpoint="fake_earning_rule_create"
    ),
    Rule("/_fake/tenants/<name>/vip_tiers", methods=["POST"], endpoint="fake_vip_tier_create"),
]


def url_map() -> Map:
    """A fresh Map (werkzeug binds rules to one Map, so each app gets its own copies)."""
    return Map([rule.empty() for rule in (*API_RULES, *CONTROL_RULES)])
