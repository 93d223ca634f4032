"""Helpers shared by the reliability tests (a uniquely named module, importable beside them).

Wire helpers for both fakes, the vendor error-shape checks, and the in-process "state"
of a tenant that a rejected request must leave untouched.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import attrs

from fakeservers.shopsocially import ShopSociallyApp
from fakeservers.smile import SmileApp, SmileBackend
from loyaltykit import Program, audit

SMILE_KEY = "rel-smile-key"
SS_PARTNER = "rel-partner"
SS_KEY = "rel-api-key"
QUERY_DATES = {"from_date": "01/01/2000", "to_date": "12/31/2099"}


def is_smile_error(body: Any) -> bool:
    """`{"error": {"message": "..."}}` and nothing else."""
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and isinstance(body["error"], dict)
        and set(body["error"]) == {"message"}
        and isinstance(body["error"]["message"], str)
        and bool(body["error"]["message"])
    )


def is_ss_error(body: Any) -> bool:
    """`{"reason": "...", "success": false}` and nothing else."""
    return (
        isinstance(body, dict)
        and set(body) == {"reason", "success"}
        and body["success"] is False
        and isinstance(body["reason"], str)
        and bool(body["reason"])
    )


def is_control_error(body: Any) -> bool:
    """The control plane's own error body: `{"error": {"message", "code"}}`."""
    return (
        isinstance(body, dict)
        and set(body) == {"error"}
        and isinstance(body["error"], dict)
        and set(body["error"]) == {"message", "code"}
    )


def decode(data: bytes) -> Any:
    try:
        return json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None


def smile_program(app: SmileApp, tenant: str) -> Program:
    backend: SmileBackend = app.registry.tenant(tenant).program
    return backend.program


def ss_program(app: ShopSociallyApp, tenant: str) -> Program:
    return app.registry.tenant(tenant).program


def smile_extras(app: SmileApp, tenant: str) -> Any:
    """What a Smile tenant keeps beside its core program (activity records, identities, ...):
    every attrs field of the backend but the program and its lock, copied."""
    backend: SmileBackend = app.registry.tenant(tenant).program
    kept = []
    for field in attrs.fields(type(backend)):
        if field.name in ("program", "_lock"):
            continue
        value = getattr(backend, field.name)
        kept.append((field.name, dict(value) if isinstance(value, dict) else value))
    return kept


def settled_state(program: Program) -> dict[str, Any]:
    """The program's state after applying what time made due (that belongs to the clock,
    not to the request under test)."""
    program.expire_due()
    return program.state()


def journal_length(program: Program) -> int:
    return len(program.journal())


def clean_audit(program: Program) -> list[Any]:
    return list(audit(program))


def form(values: Mapping[str, Any]) -> dict[str, str]:
    return {k: str(v) for k, v in values.items()}
