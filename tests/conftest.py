"""Hypothesis profiles: `ci` (default, bounded), `dev`, and `deep` (100,000+ steps).

Choose with HYPOTHESIS_PROFILE=deep (see README, "Deep runs").
"""

import os
import re
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci", max_examples=15, stateful_step_count=25, deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", max_examples=60, stateful_step_count=50, deadline=None)
settings.register_profile(
    "deep", max_examples=1000, stateful_step_count=100, deadline=None,
    suppress_health_check=list(HealthCheck),
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture
def docs_servers() -> Iterator[Callable[[str], str]]:
    """Both fakes served on free ports (wall clock, demo tenants, as `python -m fakeservers`
    serves them); gives the function that points a docs shell block's
    `http://127.0.0.1:8001` / `:8002` at them."""
    from fakeservers._http import OffsetClock
    from fakeservers.toolkit import build_fakes
    from loyaltykit import SystemClock

    fakes = build_fakes(OffsetClock(SystemClock()))
    for fake in fakes.values():
        fake.serve()
    ports = {"8001": fakes["smile"].url, "8002": fakes["shopsocially"].url}
    try:
        yield lambda block: re.sub(
            r"http://127\.0\.0\.1:(8001|8002)", lambda m: ports[m.group(1)], block
        )
    finally:
        for fake in fakes.values():
            fake.stop()
