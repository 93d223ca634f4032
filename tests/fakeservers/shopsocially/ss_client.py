"""A thin HTTP client for the ShopSocially fake, shared by its tests (a uniquely named module,
so it cannot collide with other test directories' helpers)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from werkzeug.test import Client

START = datetime(2024, 1, 1, 12, 0, 0, tzinfo=UTC)  # a Monday
PARTNER = "acme-partner"
KEY = "acme-key"


class Api:
    """Calls the fake like a client would: credentials in headers, form-encoded bodies."""

    def __init__(self, client: Client, partner: str = PARTNER, key: str = KEY) -> None:
        self.client = client
        self.headers = {"partner-id": partner, "api-key": key}

    def _send(
        self,
        method: str,
        path: str,
        data: Mapping[str, Any] | None,
        *,
        as_json: bool = False,
        query: Mapping[str, Any] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        url = "/v2/loyalty" + path
        if query:
            url += "?" + urlencode({k: _text(v) for k, v in query.items()})
        if data is None:
            response = self.client.open(url, method=method, headers=self.headers)
        elif as_json:
            response = self.client.open(
                url,
                method=method,
                headers=self.headers,
                data=json.dumps(data),
                content_type="application/json",
            )
        else:
            response = self.client.open(
                url,
                method=method,
                headers=self.headers,
                data={k: _text(v) for k, v in data.items()},
            )
        body = response.get_json()
        assert isinstance(body, dict), response.get_data(as_text=True)
        if response.status_code == 200:
            assert body["success"] is True and "data" in body
        else:
            assert body["success"] is False and set(body) == {"reason", "success"}
        return response.status_code, body

    def get(self, path: str, **query: Any) -> tuple[int, dict[str, Any]]:
        return self._send("GET", path, None, query=query)

    def post(
        self, path: str, data: Mapping[str, Any], *, as_json: bool = False
    ) -> tuple[int, dict[str, Any]]:
        return self._send("POST", path, data, as_json=as_json)

    def put(
        self, path: str, data: Mapping[str, Any], *, as_json: bool = False
    ) -> tuple[int, dict[str, Any]]:
        return self._send("PUT", path, data, as_json=as_json)

    def ok(
        self, method: str, path: str, data: Mapping[str, Any] | None = None, **query: Any
    ) -> Any:
        """The `data` of a call that must succeed."""
        if method == "GET":
            status, body = self.get(path, **query)
        elif method == "POST":
            status, body = self.post(path, data or {})
        else:
            status, body = self.put(path, data or {})
        assert status == 200, body
        return body["data"]

    # --- builders with sensible defaults ------------------------------------------------
    def activity(self, activity_id: str = "signup", **fields: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "activity_id": activity_id,
            "activity_name": activity_id.title(),
            "activity_description": f"{activity_id} description",
            "activity_type": "fixed",
            "points_per_activity": 100,
            "approval_method": "immediate",
            "max_award_frequency": 0,
            "max_award_frequency_interval": "lifetime",
            "is_active": "true",
        }
        values.update(fields)
        return self.ok("POST", "/activities", values)  # type: ignore[no-any-return]

    def user(self, email: str = "ann@example.com", **fields: Any) -> dict[str, Any]:
        values: dict[str, Any] = {
            "first_name": "Ann",
            "last_name": "Lee",
            "email": email,
            "uid": "uid-" + email.split("@")[0],
        }
        values.update(fields)
        return self.ok("POST", "/users", values)  # type: ignore[no-any-return]

    def level(
        self,
        level_id: str,
        minimum: int,
        *,
        level_type: str = "period",
        multiplier: Any = 1,
        **fields: Any,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "level_id": level_id,
            "level_name": level_id.title(),
            "level_description": f"{level_id} level",
            "level_type": level_type,
            "level_position": minimum // 100,
            "level_minimum_points": minimum,
            "level_bonus_multiplier": multiplier,
            "is_active": "true",
        }
        values.update(fields)
        return self.ok("POST", "/levels", values)  # type: ignore[no-any-return]

    def redemption(
        self,
        redemption_id: str = "ten_off",
        *,
        points: int = 100,
        codes: str = "C1,C2,C3",
        **fields: Any,
    ) -> dict[str, Any]:
        values: dict[str, Any] = {
            "redemption_id": redemption_id,
            "redemption_name": redemption_id.title(),
            "allowed_redeem_points": points,
            "redemption_value": "10",
            "giftcard_description": "a coupon",
            "terms_and_conds_text": "terms",
            "giftcard_coupon_codes": codes,
            "coupon_expiry": "31-Dec-2030",
            "is_active": "true",
        }
        values.update(fields)
        return self.ok("POST", "/redemptions", values)  # type: ignore[no-any-return]

    def award(
        self, email: str = "ann@example.com", activity_id: str = "signup", **fields: Any
    ) -> tuple[int, dict[str, Any]]:
        return self.post("/award", {"user_email": email, "activity_id": activity_id, **fields})

    def balance(self, email: str = "ann@example.com") -> int:
        return int(self.ok("GET", f"/users/{email}")["available_points"])

    def transactions(self, email: str | None = None, **query: Any) -> dict[str, Any]:
        query.setdefault("from_date", "01/01/2000")
        query.setdefault("to_date", "12/31/2099")
        path = f"/users/{email}/transactions" if email else "/transactions"
        return self.ok("GET", path, **query)  # type: ignore[no-any-return]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value)
    return str(value)
