"""The documented bounds of every number, text and structure the engine accepts.

One place for them, so the core, both fakes, the control plane and seed files refuse the
same values with the same words. Each bound is far beyond any real loyalty program and far
below what would make a later read, a JSON export or a JavaScript client break:

- points: a transaction moves at most `MAX_POINTS`; every balance and running total stays
  within `MAX_TOTAL_POINTS` (2**53 - 1, the largest integer a JSON reader using doubles
  still holds exactly), so no sum ever needs more digits than a client can print;
- money: at most `MAX_MONEY_DIGITS` digits before the point and `MAX_MONEY_PLACES` after,
  finite (no NaN, no Infinity), so `1e5000` is refused instead of costing seconds of CPU;
- multipliers: finite, between 0 and `MAX_MULTIPLIER`, at most `MAX_MULTIPLIER_PLACES`
  decimal places;
- text: at most `MAX_TEXT` characters per string field (`MAX_CODE` for coupon codes and
  external keys), metadata at most `MAX_METADATA_BYTES` as JSON and `MAX_DEPTH` levels deep.
"""

from __future__ import annotations

from decimal import Decimal

__all__ = [
    "MAX_CODE",
    "MAX_DEPTH",
    "MAX_METADATA_BYTES",
    "MAX_MONEY",
    "MAX_MONEY_DIGITS",
    "MAX_MONEY_PLACES",
    "MAX_MULTIPLIER",
    "MAX_MULTIPLIER_PLACES",
    "MAX_POINTS",
    "MAX_TEXT",
    "MAX_TOTAL_POINTS",
]

MAX_POINTS = 10**12
"""The most points one transaction, award, price or adjustment may move (either sign)."""
MAX_TOTAL_POINTS = 2**53 - 1
"""The bound of every balance and running total (earned, spent, ...): exact in a double."""
MAX_MONEY_DIGITS = 12
"""Digits before the decimal point of an amount of money (under a trillion)."""
MAX_MONEY_PLACES = 6
"""Digits after the decimal point of an amount of money."""
MAX_MONEY = Decimal(10) ** MAX_MONEY_DIGITS
"""Amounts are strictly below this (and above its negation where negatives are allowed)."""
MAX_MULTIPLIER = Decimal(1000)
"""The largest earning multiplier (rule or tier)."""
MAX_MULTIPLIER_PLACES = 6
"""Decimal places of a multiplier."""
MAX_TEXT = 10_000
"""Characters of a free-text field (names, descriptions, notes, emails)."""
MAX_CODE = 255
"""Characters of a code or key (coupon codes, idempotency keys, order ids, tokens)."""
MAX_METADATA_BYTES = 64 * 1024
"""Bytes of one metadata mapping once written as JSON."""
MAX_DEPTH = 32
"""Nesting levels of metadata and of any JSON document the fakes read."""
