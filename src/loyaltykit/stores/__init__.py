"""Where a durable program's journal lives: a SQLite file or a PostgreSQL database.

`open_store(url)` picks the store from the URL's scheme:

- `sqlite:///relative/path.db`, `sqlite:////absolute/path.db` (SQLAlchemy's convention:
  the path is what follows the third slash), with optional query parameters
  `synchronous=full|normal|extra` (default `full`: a command is on disk when it returns)
  and `timeout=SECONDS` (how long a writer waits for another's lock, default 30);
- `postgresql://user:password@host/dbname` or any libpq connection URL
  (`postgresql:///dbname?host=/var/run/postgresql` for a Unix socket); needs the optional
  `loyaltykit[postgres]` extra (psycopg 3).
"""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

from loyaltykit.errors import InvalidArgument, StoreError
from loyaltykit.stores.base import SCHEMA_VERSION, ProgramRecord, Snapshot, Store

__all__ = ["SCHEMA_VERSION", "ProgramRecord", "Snapshot", "Store", "open_store"]


def open_store(url: str) -> Store:
    """A new connection to the store at `url` (see the module docstring)."""
    if not isinstance(url, str):
        raise InvalidArgument("url", f"url must be a string, got {url!r}")
    scheme = url.split(":", 1)[0].lower()
    if scheme == "sqlite":
        return _sqlite(url)
    if scheme in ("postgresql", "postgres"):
        try:
            from loyaltykit.stores.postgres import PostgresStore
        except ImportError:
            raise StoreError(
                "PostgreSQL stores need psycopg 3: pip install 'loyaltykit[postgres]'"
            ) from None
        return PostgresStore(url)
    raise InvalidArgument(
        "url",
        f"unknown store URL {url!r}: use 'memory:', 'sqlite:///path/to/file.db' "
        "or 'postgresql://...'",
    )


def _sqlite(url: str) -> Store:
    from loyaltykit.stores.sqlite import SQLiteStore

    parts = urlsplit(url)
    if parts.netloc:
        raise InvalidArgument(
            "url", f"a SQLite URL has no host: write sqlite:///{parts.netloc}{parts.path}"
        )
    path = unquote(parts.path[1:] if parts.path.startswith("/") else parts.path)
    options = dict(parse_qsl(parts.query, keep_blank_values=True))
    synchronous = options.pop("synchronous", "full").lower()
    timeout_text = options.pop("timeout", "30")
    if options:
        raise InvalidArgument(
            "url", f"unknown SQLite URL option(s): {', '.join(sorted(options))}"
        )
    try:
        timeout = float(timeout_text)
    except ValueError:
        raise InvalidArgument(
            "url", f"timeout must be a number of seconds, got {timeout_text!r}"
        ) from None
    if not 0 <= timeout <= 3600:
        raise InvalidArgument("url", "timeout must be between 0 and 3600 seconds")
    return SQLiteStore(path, synchronous=synchronous, timeout=timeout)
