"""Hypothesis profiles: `ci` (default, bounded), `dev`, and `deep` (100,000+ steps).

Choose with HYPOTHESIS_PROFILE=deep (see README, "Deep runs").
"""

import itertools
import os
import re
from collections.abc import Callable, Iterator
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    # derandomized: the same examples on every run, so a CI run reproduces what passed
    # here; `dev` and `deep` explore new ones (and pinned @examples keep what they found)
    "ci", max_examples=15, stateful_step_count=25, deadline=None, derandomize=True,
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


# -- stores: a SQLite file per test, one PostgreSQL cluster per session (a schema per test)

_schemas = itertools.count(1)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[object]:
    """A throwaway PostgreSQL server for the session (see loyaltykit.testing.postgres); fails,
    never skips, when the server binaries are missing."""
    from loyaltykit.testing.postgres import Cluster

    try:
        cluster = Cluster()
    except RuntimeError as exc:
        pytest.fail(str(exc).splitlines()[0], pytrace=False)
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: object) -> str:
    """A URL whose tables live in a fresh schema of the session's cluster."""
    import psycopg

    from loyaltykit.testing.postgres import Cluster

    assert isinstance(pg_cluster, Cluster)
    schema = f"t{os.getpid()}_{next(_schemas)}"
    with psycopg.connect(pg_cluster.url(), autocommit=True) as db:
        db.execute(f"CREATE SCHEMA {schema}")
    return pg_cluster.url() + "&options=" + quote(f"-csearch_path={schema}")


@pytest.fixture
def sqlite_url(tmp_path: object) -> str:
    return f"sqlite:///{tmp_path}/loyalty.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each durable test runs on both stores."""
    name = "sqlite_url" if request.param == "sqlite" else "pg_url"
    url: str = request.getfixturevalue(name)
    return url
