"""A stateful fake of the ShopSocially Loyalty API v2 over the loyaltykit core.

`create_app()` returns the WSGI app; see docs/shopsocially.md for every route, wire shape,
error reason and the choices made where the vendor's docs are ambiguous.
"""

from fakeservers.shopsocially.app import ShopSociallyApp, create_app, new_program, new_registry
from fakeservers.shopsocially.seed import DEMO_API_KEY, DEMO_PARTNER_ID, DEMO_TENANT

__all__ = [
    "DEMO_API_KEY",
    "DEMO_PARTNER_ID",
    "DEMO_TENANT",
    "ShopSociallyApp",
    "create_app",
    "new_program",
    "new_registry",
]
