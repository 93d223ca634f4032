"""Property-based testing kit (needs hypothesis, from the `test` extra).

`LoyaltyMachine` drives random command sequences against a program and audits it after
every step; `strategies` generates amounts, points and member profiles.
"""

from loyaltykit.testing.machine import LoyaltyMachine, default_configuration
from loyaltykit.testing.strategies import money, points, profiles

__all__ = ["LoyaltyMachine", "default_configuration", "money", "points", "profiles"]
