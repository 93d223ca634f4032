"""A thin test client: Bearer auth, JSON in, JSON out (status checked by the caller)."""

from __future__ import annotations

from typing import Any

from werkzeug.test import Client, TestResponse


class Api:
    def __init__(self, client: Client, key: str | None) -> None:
        self.client = client
        self.key = key

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"} if self.key is not None else {}

    def as_key(self, key: str | None) -> Api:
        return Api(self.client, key)

    def get(self, path: str, **query: Any) -> TestResponse:
        return self.client.get(path, query_string=query or None, headers=self.headers())

    def post(self, path: str, body: Any = None, **kwargs: Any) -> TestResponse:
        if body is None and "data" not in kwargs:
            return self.client.post(path, headers=self.headers(), **kwargs)
        if "data" in kwargs:
            return self.client.post(path, headers=self.headers(), **kwargs)
        return self.client.post(path, json=body, headers=self.headers())

    def ok(self, path: str, **query: Any) -> Any:
        """GET that must answer 200; returns the JSON body."""
        response = self.get(path, **query)
        assert response.status_code == 200, (path, response.status_code, response.json)
        return response.json

    def created(self, path: str, body: Any) -> Any:
        """POST that must answer 201; returns the JSON body."""
        response = self.post(path, body)
        assert response.status_code == 201, (path, response.status_code, response.json)
        return response.json

    def error(self, response: TestResponse, status: int) -> str:
        """Assert the Smile error shape and status; return the message."""
        assert response.status_code == status, (response.status_code, response.json)
        body = response.json
        assert isinstance(body, dict) and set(body) == {"error"}
        assert set(body["error"]) == {"message"}
        message = body["error"]["message"]
        assert isinstance(message, str) and message
        return message
