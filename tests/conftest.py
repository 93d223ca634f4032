"""Hypothesis profiles: `ci` (default, bounded), `dev`, and `deep` (100,000+ steps).

Choose with HYPOTHESIS_PROFILE=deep (see README, "Deep runs").
"""

import os

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
