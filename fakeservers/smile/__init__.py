"""A stateful fake of the Smile.io REST API v1 over the loyaltykit core (see docs/smile.md)."""

from fakeservers.smile.app import SmileApp, create_app, create_registry
from fakeservers.smile.backend import SmileBackend
from fakeservers.smile.control import SmileControl
from fakeservers.smile.seed import DEMO_KEY, DEMO_PUBLIC_APP_TOKEN, DEMO_TENANT, seed_demo

__all__ = [
    "DEMO_KEY",
    "DEMO_PUBLIC_APP_TOKEN",
    "DEMO_TENANT",
    "SmileApp",
    "SmileBackend",
    "SmileControl",
    "create_app",
    "create_registry",
    "seed_demo",
]
