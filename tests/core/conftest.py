"""Fixtures shared by the core unit tests: a frozen clock and a program on it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from loyaltykit import ManualClock, Member, Program

START = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
"""A Monday, noon UTC: every test starts here unless it moves the clock."""


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def program(clock: ManualClock) -> Program:
    return Program(clock, name="test", seed=1234)


@pytest.fixture
def member(program: Program) -> Member:
    return program.add_member(email="alice@example.com", external_id="alice")


@pytest.fixture
def other(program: Program) -> Member:
    return program.add_member(email="bob@example.com", external_id="bob")
