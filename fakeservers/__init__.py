"""Stateful fakes of the Smile.io v1 and ShopSocially Loyalty v2 REST APIs.

Thin werkzeug apps over the loyaltykit core: every rule lives in the core.
"""
