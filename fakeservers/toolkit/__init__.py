"""The test-double toolkit around the vendor fakes (see docs/testing-guide.md).

* `Fake` / `build_fakes`: a vendor fake with its request journal, fault injector, seed and
  export, served in-process or on a port (`Fake.serve()`: waitress, keep-alive).
* `transports`: a `requests` adapter, an `httpx` transport, and `intercept()`, which sends
  requests for `api.smile.io` / `api.shopsocially.com` to the fakes.
* `seedfile`: the JSON seed/export format.
* `DataDir` (`datadir`): persistent fakes, every tenant and the clock kept in a SQLite file.
* `catalogue`: the route names faults and journal assertions take (`fake.routes()`).
* `fakeservers.pytest_plugin`: the pytest fixtures (loaded automatically).
"""

from fakeservers.toolkit.catalogue import RouteInfo, UnknownRoute
from fakeservers.toolkit.datadir import DataDir, DataDirError
from fakeservers.toolkit.fake import DEFAULT_JOURNAL_SIZE, Fake, build_fakes
from fakeservers.toolkit.faults import Fault, FaultInjector
from fakeservers.toolkit.journal import Entry, Journal, Route
from fakeservers.toolkit.seedfile import (
    FORMAT,
    SeedClockWarning,
    SeedError,
    read_seed_file,
    write_seed_file,
)
from fakeservers.toolkit.vendors import SHOPSOCIALLY, SMILE, VENDORS, Credentials, Vendor

__all__ = [
    "DEFAULT_JOURNAL_SIZE",
    "FORMAT",
    "SHOPSOCIALLY",
    "SMILE",
    "VENDORS",
    "Credentials",
    "DataDir",
    "DataDirError",
    "Entry",
    "Fake",
    "Fault",
    "FaultInjector",
    "Journal",
    "Route",
    "RouteInfo",
    "SeedClockWarning",
    "SeedError",
    "UnknownRoute",
    "Vendor",
    "build_fakes",
    "read_seed_file",
    "write_seed_file",
]
