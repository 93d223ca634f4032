"""Earning rules: how many points an event is worth, how often, and when they settle."""

from __future__ import annotations

import enum
from datetime import datetime, timedelta, tzinfo
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import attrs

__all__ = [
    "Approval",
    "Cap",
    "EarningRule",
    "RuleKind",
    "Window",
    "award_basis",
    "award_basis_of",
    "points_for",
    "window_end",
    "window_start",
]


class RuleKind(enum.StrEnum):
    FIXED = "fixed"
    """Awards the rule's `points` (or an explicit override) per event."""
    MULTIPLIER = "multiplier"
    """Awards floor(amount * multiplier), e.g. points per currency unit."""


class Approval(enum.StrEnum):
    IMMEDIATE = "immediate"
    """Points are posted and spendable at once."""
    MANUAL = "manual"
    """Points stay pending until someone approves or rejects them."""
    DELAYED = "delayed"
    """Points stay pending until a due date, then approve themselves (unless resolved)."""


class Window(enum.StrEnum):
    """Calendar windows in the program's timezone; weeks start on Monday."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    YEAR = "year"
    LIFETIME = "lifetime"


@attrs.frozen
class Cap:
    """At most `max_awards` awards of one rule per member per `window`."""

    max_awards: int
    window: Window


@attrs.frozen
class EarningRule:
    id: int
    name: str
    kind: RuleKind = RuleKind.FIXED
    points: int = 0
    multiplier: Decimal = Decimal(0)
    trigger: str = "custom"
    active: bool = True
    cap: Cap | None = None
    points_lifetime: timedelta | None = None
    approval: Approval = Approval.IMMEDIATE
    approval_delay: timedelta | None = None
    metadata: dict[str, Any] = attrs.field(factory=dict)


def points_for(
    rule: EarningRule, amount: Decimal | None, override: int | None, tier_multiplier: Decimal
) -> int:
    """Points one award of `rule` is worth, rounded down (never a fraction of a point).

    A FIXED rule awards `override` if given, else its own points; a MULTIPLIER rule awards
    amount * multiplier. The member's tier multiplier applies to both.
    """
    if rule.kind is RuleKind.FIXED:
        base = Decimal(override if override is not None else rule.points)
    else:
        base = (amount or Decimal(0)) * rule.multiplier
    return int((base * tier_multiplier).to_integral_value(rounding=ROUND_FLOOR))


def award_basis(rule: EarningRule, amount: Decimal | None, override: int | None) -> str:
    """What an award was computed from, kept in its transaction's `reference`: the points
    of a FIXED rule ("points:25", the override or the rule's points) or the amount a
    MULTIPLIER rule multiplied ("amount:12.50"). With it the journal alone tells whether
    the award got the member's tier multiplier (see `audit`)."""
    if rule.kind is RuleKind.FIXED:
        return f"points:{override if override is not None else rule.points}"
    return f"amount:{amount if amount is not None else Decimal(0)}"


def award_basis_of(reference: str | None) -> tuple[Decimal | None, int | None] | None:
    """(amount, points override) as `points_for` takes them, from an award's reference;
    None if the reference records no basis (journals written before it did)."""
    kind, _, value = (reference or "").partition(":")
    try:
        if kind == "points":
            return None, int(value)
        if kind == "amount" and Decimal(value).is_finite():
            return Decimal(value), None
    except (ArithmeticError, ValueError):
        return None
    return None


def window_start(window: Window, moment: datetime, zone: tzinfo) -> datetime | None:
    """The instant the calendar window holding `moment` began (None for lifetime)."""
    if window is Window.LIFETIME:
        return None
    local = moment.astimezone(zone)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    if window is Window.DAY:
        start = day
    elif window is Window.WEEK:
        start = day - timedelta(days=day.weekday())
    elif window is Window.MONTH:
        start = day.replace(day=1)
    else:
        start = day.replace(month=1, day=1)
    return start


def window_end(window: Window, start: datetime) -> datetime | None:
    """The first instant after the window that began at `start`; None when the window never
    ends, which is also the answer for a window that would end past the calendar (year 9999)."""
    try:
        if window is Window.LIFETIME:
            return None
        if window is Window.DAY:
            return start + timedelta(days=1)
        if window is Window.WEEK:
            return start + timedelta(days=7)
        if window is Window.MONTH:
            year, month = (
                (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
            )
            return start.replace(year=year, month=month)
        return start.replace(year=start.year + 1)
    except (OverflowError, ValueError):
        return None
