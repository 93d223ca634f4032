"""Tenants (one merchant each: credentials plus a program) and the registry that finds them.

All tenants share one clock. Each sees it through a `TenantClock`, which seeding may pin to
historical instants (to reproduce the vendor docs' timestamps) without moving anyone else.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Generic, TypeAlias, TypeVar

import attrs

from fakeservers._http.clock import Clock
from fakeservers._http.errors import Conflict, ParseError, UnknownTenant
from fakeservers._http.ratelimit import LeakyBucket

__all__ = [
    "MAX_TENANTS",
    "MAX_TENANT_CREDENTIALS",
    "SECRET",
    "Credential",
    "ProgramFactory",
    "Seeder",
    "Tenant",
    "TenantClock",
    "TenantKeeper",
    "TenantRegistry",
]

P = TypeVar("P")
Credential: TypeAlias = str | tuple[str, ...]
"""A Bearer key (`str`) or a multi-part key such as (partner id, api key)."""

SECRET = "secret"
MAX_TENANTS = 1000
"""Tenants one registry holds (each is a whole program): the control plane refuses more."""
MAX_TENANT_CREDENTIALS = 100
"""Credentials one tenant holds."""


class TenantClock:
    """The shared clock as one tenant sees it; `pin` freezes it for that tenant only."""

    __slots__ = ("_pinned", "shared")

    def __init__(self, shared: Clock) -> None:
        self.shared = shared
        self._pinned: datetime | None = None

    def now(self) -> datetime:
        pinned = self._pinned
        return pinned if pinned is not None else self.shared.now()

    def pin(self, moment: datetime) -> None:
        self._pinned = moment

    def unpin(self) -> None:
        self._pinned = None


@attrs.define(eq=False)
class Tenant(Generic[P]):
    """One merchant: a name, credentials (credential -> kind), and its loyalty program."""

    name: str
    program: P
    clock: TenantClock
    credentials: dict[Credential, str] = attrs.field(factory=dict)
    seeder: Seeder[P] | None = None
    rate_limited: bool = False


Seeder: TypeAlias = Callable[[Tenant[P]], None]
"""Fills a fresh tenant's program (pinning `tenant.clock` as it goes)."""

ProgramFactory: TypeAlias = Callable[[Clock, str], P]
"""Builds an empty program for a tenant, given the tenant's clock and name."""


class TenantKeeper(Generic[P]):
    """Keeps a registry's tenants beyond its memory, told of every change the registry
    makes. This base keeps nothing (the fakes live in memory);
    `fakeservers.toolkit.DataDir` keeps them in a SQLite file. A keeper that raises
    refuses the change: the registry is left as it was."""

    def seeded(self, tenant: Tenant[P], replacing: Tenant[P] | None) -> None:
        """`tenant` was just built and seeded, new or (`replacing`) rebuilt by a reset,
        and nobody sees it yet: keep it. The keeper may swap `tenant.program` for an
        equivalent of its own."""

    def retired(self, program: P) -> None:
        """`program` was replaced by a reset; the registry no longer hands it out."""

    def changed(self, tenant: Tenant[P]) -> None:
        """The tenant's credentials or rate-limit switch changed."""

    def removed(self, tenant: Tenant[P]) -> None:
        """The tenant was removed."""


class TenantRegistry(Generic[P]):
    """Credentials -> tenant, one shared clock, and the per-credential rate limiter.

    `keeper` is told of every change (see `TenantKeeper`); the default keeps nothing.
    """

    def __init__(
        self,
        factory: ProgramFactory[P],
        clock: Clock,
        *,
        rate: float = 10.0,
        capacity: float = 10.0,
        credential_kinds: Sequence[str] = (SECRET,),
    ) -> None:
        self.factory = factory
        self.clock = clock
        self.credential_kinds = tuple(credential_kinds)
        """The kinds a credential may have (the vendor's: Smile has "public_app" too).
        Any other kind is refused: it would authenticate, yet be nothing the vendor
        knows and nothing the toolkit's `credential()` looks for."""
        self.limiter = LeakyBucket(clock, rate=rate, capacity=capacity)
        self.keeper: TenantKeeper[P] = TenantKeeper()
        self._tenants: dict[str, Tenant[P]] = {}
        self._by_credential: dict[Credential, Tenant[P]] = {}
        self._lock = threading.RLock()

    def create(
        self,
        name: str,
        credentials: Iterable[Credential] | Mapping[Credential, str] = (),
        *,
        seeder: Seeder[P] | None = None,
        rate_limited: bool = False,
    ) -> Tenant[P]:
        """Add a tenant, seeded by `seeder` if given; credentials default to kind "secret"."""
        kinds = (
            dict(credentials)
            if isinstance(credentials, Mapping)
            else dict.fromkeys(credentials, SECRET)
        )
        self.check_kinds(kinds.values())
        with self._lock:
            if name in self._tenants:
                raise Conflict(f"tenant {name!r} already exists")
            if len(self._tenants) >= MAX_TENANTS:
                raise Conflict(f"a fake holds at most {MAX_TENANTS} tenants")
            if len(kinds) > MAX_TENANT_CREDENTIALS:
                raise Conflict(f"a tenant holds at most {MAX_TENANT_CREDENTIALS} credentials")
            for credential in kinds:
                self._check_free(credential)
            clock = TenantClock(self.clock)
            tenant = Tenant(name, self.factory(clock, name), clock, kinds, seeder, rate_limited)
            self._seed(tenant)
            self.keeper.seeded(tenant, None)
            self._register(tenant)
            return tenant

    def check_kinds(self, kinds: Iterable[str], field: str = "kind") -> None:
        """Refuse a credential kind the vendor does not have (`ParseError`)."""
        for kind in kinds:
            if kind not in self.credential_kinds:
                raise ParseError(
                    field,
                    "invalid",
                    f"{field} must be one of {', '.join(self.credential_kinds)}, got {kind!r}",
                )

    def add(self, tenant: Tenant[P]) -> None:
        """Register a tenant built elsewhere, as it is (no seeding, nothing told to the
        keeper): a persistent fake's reopened tenants."""
        with self._lock:
            if tenant.name in self._tenants:
                raise Conflict(f"tenant {tenant.name!r} already exists")
            for credential in tenant.credentials:
                self._check_free(credential)
            self._register(tenant)

    def install(self, tenants: Iterable[Tenant[P]]) -> None:
        """Add or replace these tenants, already built (a seed document's), all at once.

        A tenant of the same name is replaced in place (same `Tenant` object): it takes the
        new program, clock, seeder and settings and keeps its credentials besides the new
        ones. Nothing changes when a credential belongs to another tenant or the bounds
        would be passed (`Conflict`). The keeper is told of each tenant (`seeded`) before
        any is installed."""
        chosen = list(tenants)
        for tenant in chosen:
            self.check_kinds(tenant.credentials.values())
        with self._lock:
            added = sum(1 for tenant in chosen if tenant.name not in self._tenants)
            if len(self._tenants) + added > MAX_TENANTS:
                raise Conflict(f"a fake holds at most {MAX_TENANTS} tenants")
            for tenant in chosen:
                kept = self._tenants.get(tenant.name)
                total = {**(kept.credentials if kept else {}), **tenant.credentials}
                if len(total) > MAX_TENANT_CREDENTIALS:
                    raise Conflict(f"a tenant holds at most {MAX_TENANT_CREDENTIALS} credentials")
                for credential in tenant.credentials:
                    owner = self._by_credential.get(credential)
                    if owner is not None and owner.name != tenant.name:
                        raise Conflict("credential already in use")
                tenant.credentials = total
            for tenant in chosen:
                self.keeper.seeded(tenant, self._tenants.get(tenant.name))
            for tenant in chosen:
                kept = self._tenants.get(tenant.name)
                if kept is None:
                    self._register(tenant)
                    continue
                old = kept.program
                kept.program, kept.clock = tenant.program, tenant.clock
                kept.seeder, kept.rate_limited = tenant.seeder, tenant.rate_limited
                kept.credentials = tenant.credentials
                self.keeper.retired(old)
                self.keeper.changed(kept)
                for credential in kept.credentials:
                    self._by_credential[credential] = kept
                    self.limiter.forget(credential)

    def add_credential(self, name: str, credential: Credential, kind: str = SECRET) -> None:
        self.check_kinds((kind,))
        with self._lock:
            tenant = self.tenant(name)
            if len(tenant.credentials) >= MAX_TENANT_CREDENTIALS:
                raise Conflict(f"a tenant holds at most {MAX_TENANT_CREDENTIALS} credentials")
            self._check_free(credential)
            tenant.credentials[credential] = kind
            try:
                self.keeper.changed(tenant)
            except BaseException:
                del tenant.credentials[credential]
                raise
            self._by_credential[credential] = tenant

    def tenant(self, name: str) -> Tenant[P]:
        try:
            return self._tenants[name]
        except KeyError:
            raise UnknownTenant(f"no tenant named {name!r}") from None

    def tenants(self) -> list[Tenant[P]]:
        return list(self._tenants.values())

    def authenticate(self, credential: Credential) -> tuple[Tenant[P], str] | None:
        """The tenant owning `credential` and the credential's kind, or None."""
        tenant = self._by_credential.get(credential)
        if tenant is None:
            return None
        return tenant, tenant.credentials[credential]

    def throttle(self, tenant: Tenant[P], key: Hashable) -> None:
        """Count a request against `key`; RateLimited when the tenant is limited and full."""
        if tenant.rate_limited:
            self.limiter.hit(key)

    def reset(self, name: str | None = None) -> list[Tenant[P]]:
        """Rebuild one tenant's program (or every tenant's) from its seeder. The new
        program is built and seeded aside, then replaces the old one in one step, so a
        request never sees a half-seeded program."""
        with self._lock:
            targets = [self.tenant(name)] if name is not None else self.tenants()
            for tenant in targets:
                clock = TenantClock(self.clock)
                fresh = Tenant(
                    tenant.name,
                    self.factory(clock, tenant.name),
                    clock,
                    dict(tenant.credentials),
                    tenant.seeder,
                    tenant.rate_limited,
                )
                self._seed(fresh)
                self.keeper.seeded(fresh, tenant)
                old = tenant.program
                tenant.program, tenant.clock = fresh.program, fresh.clock
                self.keeper.retired(old)
                for credential in tenant.credentials:
                    self.limiter.forget(credential)
            return targets

    def set_rate_limited(self, name: str, enabled: bool) -> None:
        with self._lock:
            tenant = self.tenant(name)
            before, tenant.rate_limited = tenant.rate_limited, enabled
            try:
                self.keeper.changed(tenant)
            except BaseException:
                tenant.rate_limited = before
                raise

    def remove(self, name: str) -> Tenant[P]:
        """Forget a tenant and its credentials (the test toolkit's reset uses it)."""
        with self._lock:
            tenant = self.tenant(name)
            self.keeper.removed(tenant)
            del self._tenants[name]
            for credential in tenant.credentials:
                self._by_credential.pop(credential, None)
                self.limiter.forget(credential)
            return tenant

    def _register(self, tenant: Tenant[P]) -> None:
        self._tenants[tenant.name] = tenant
        for credential in tenant.credentials:
            self._by_credential[credential] = tenant

    def _seed(self, tenant: Tenant[P]) -> None:
        if tenant.seeder is None:
            return
        try:
            tenant.seeder(tenant)
        finally:
            tenant.clock.unpin()

    def _check_free(self, credential: Credential) -> None:
        if credential in self._by_credential:
            raise Conflict("credential already in use")
