"""ManualClock and SystemClock: time as an injected dependency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from loyaltykit import Clock, InvalidArgument, ManualClock, SystemClock

START = datetime(2024, 3, 1, 8, 30, tzinfo=UTC)


def test_manual_clock_starts_where_told_and_stays() -> None:
    clock = ManualClock(START)
    assert clock.now() == START
    assert clock.now() == START


def test_manual_clock_default_start_is_aware_utc() -> None:
    now = ManualClock().now()
    assert now.tzinfo is not None
    assert now.utcoffset() == timedelta(0)


def test_advance_by_timedelta_and_by_seconds() -> None:
    clock = ManualClock(START)
    assert clock.advance(timedelta(days=1)) == START + timedelta(days=1)
    assert clock.advance(90) == START + timedelta(days=1, seconds=90)
    assert clock.advance(0.5) == START + timedelta(days=1, seconds=90.5)
    assert clock.now() == START + timedelta(days=1, seconds=90.5)


def test_advance_by_zero_is_allowed() -> None:
    clock = ManualClock(START)
    assert clock.advance() == START
    assert clock.advance(timedelta(0)) == START


@pytest.mark.parametrize("delta", [-1, -0.001, timedelta(seconds=-1)])
def test_advance_backwards_is_refused(delta: object) -> None:
    clock = ManualClock(START)
    with pytest.raises(InvalidArgument) as info:
        clock.advance(delta)  # type: ignore[arg-type]
    assert info.value.field == "delta"
    assert clock.now() == START


def test_set_jumps_both_ways() -> None:
    clock = ManualClock(START)
    later = START + timedelta(days=400)
    assert clock.set(later) == later
    earlier = START - timedelta(days=400)
    assert clock.set(earlier) == earlier
    assert clock.now() == earlier


def test_set_converts_other_zones_to_utc() -> None:
    clock = ManualClock(START)
    paris = timezone(timedelta(hours=2))
    moment = datetime(2024, 6, 1, 14, 0, tzinfo=paris)
    result = clock.set(moment)
    assert result == moment
    assert result.utcoffset() == timedelta(0)
    assert result.hour == 12


def test_naive_start_and_set_are_refused() -> None:
    with pytest.raises(InvalidArgument) as info:
        ManualClock(datetime(2024, 1, 1))
    assert info.value.field == "start"
    assert "naive" in str(info.value)
    clock = ManualClock(START)
    with pytest.raises(InvalidArgument) as info:
        clock.set(datetime(2024, 1, 1))
    assert info.value.field == "moment"
    assert clock.now() == START


def test_system_clock_is_aware_utc_and_a_clock() -> None:
    now = SystemClock().now()
    assert now.utcoffset() == timedelta(0)
    assert isinstance(SystemClock(), Clock)
    assert isinstance(ManualClock(START), Clock)


def test_repr_shows_the_instant() -> None:
    assert START.isoformat() in repr(ManualClock(START))


def test_the_clock_keeps_to_the_range_the_core_can_compute_in() -> None:
    """Past LATEST, an expiry a century away or a calendar window's end would overflow."""
    from loyaltykit.clock import EARLIEST, LATEST

    clock = ManualClock(LATEST - timedelta(days=1))
    with pytest.raises(InvalidArgument, match="would pass 9000") as info:
        clock.advance(timedelta(days=2))
    assert info.value.field == "delta"
    assert clock.now() == LATEST - timedelta(days=1)
    assert clock.advance(timedelta(days=1)) == LATEST
    for moment in (LATEST + timedelta(microseconds=1), EARLIEST - timedelta(microseconds=1)):
        with pytest.raises(InvalidArgument, match="between 1900") as info:
            clock.set(moment)
        assert info.value.field == "moment"
    with pytest.raises(InvalidArgument):
        ManualClock(datetime(9999, 12, 31, tzinfo=UTC))
    assert clock.set(EARLIEST) == EARLIEST
    assert isinstance(info.value, ValueError)  # catchable as the builtin too
