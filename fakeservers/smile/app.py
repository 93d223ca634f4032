"""`create_app()`: the Smile.io v1 fake as one WSGI application."""

from __future__ import annotations

from fakeservers._http import (
    SECRET,
    BaseApp,
    Clock,
    ControlViews,
    OffsetClock,
    TenantRegistry,
)
from fakeservers.smile.backend import SmileBackend
from fakeservers.smile.control import SmileControl, SmileControlViews
from fakeservers.smile.errors import render_error
from fakeservers.smile.seed import DEMO_KEY, DEMO_PUBLIC_APP_TOKEN, DEMO_TENANT, seed_demo
from fakeservers.smile.urls import url_map
from fakeservers.smile.views import PUBLIC_APP, SmileViews
from loyaltykit import SystemClock

__all__ = ["SmileApp", "create_app", "create_registry"]


def create_registry(
    clock: Clock | None = None, *, demo: bool = True
) -> TenantRegistry[SmileBackend]:
    """A registry over `clock` (default: wall time that the control plane can still move),
    holding the seeded demo tenant unless `demo` is False."""
    registry = TenantRegistry(
        SmileBackend.create,
        clock or OffsetClock(SystemClock()),
        credential_kinds=(SECRET, PUBLIC_APP),
    )
    if demo:
        registry.create(
            DEMO_TENANT,
            {DEMO_KEY: "secret", DEMO_PUBLIC_APP_TOKEN: PUBLIC_APP},
            seeder=seed_demo,
        )
    return registry


class SmileApp(BaseApp):
    """The WSGI app; `control` is the Python twin of its `/_fake/` routes."""

    def __init__(self, registry: TenantRegistry[SmileBackend]) -> None:
        self.registry = registry
        self.control = SmileControl(registry, {"demo": seed_demo})
        super().__init__(
            url_map(),
            [SmileViews(registry), ControlViews(self.control), SmileControlViews(self.control)],
            render_error,
        )


def create_app(
    registry: TenantRegistry[SmileBackend] | None = None, clock: Clock | None = None
) -> SmileApp:
    """The Smile fake over `registry` (default: a new one on `clock` with the demo tenant)."""
    return SmileApp(registry if registry is not None else create_registry(clock))
