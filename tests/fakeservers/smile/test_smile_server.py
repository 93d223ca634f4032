"""The same app on a real loopback socket (port 0), spoken to with the standard library."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from fakeservers._http.serving import ServerThread
from fakeservers.smile import DEMO_KEY


def call(
    server: ServerThread,
    method: str,
    path: str,
    body: Any = None,
    key: str | None = DEMO_KEY,
    origin: str | None = "https://shop.example",
) -> tuple[int, dict[str, str], Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(server.url + path, data=data, method=method)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if origin is not None:  # a shop's page calling the vendor API
        request.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), json.loads(error.read())


def test_docs_curl_example_over_a_socket(live: ServerThread) -> None:
    assert live.host == "127.0.0.1" and live.port > 0
    status, headers, body = call(live, "GET", "/v1/customers/1")
    assert status == 200
    assert body["customer"]["first_name"] == "Jane" and body["customer"]["points_balance"] == 5000
    assert headers["Access-Control-Allow-Origin"] == "https://shop.example"
    assert call(live, "GET", "/v1/customers/1", key=None)[:3:2] == (
        401,
        {"error": {"message": "Invalid credentials."}},
    )


def test_purchase_over_a_socket_then_reset(live: ServerThread) -> None:
    status, _, body = call(live, "POST", "/v1/points_products/1/purchase", {"customer_id": 1})
    assert status == 201 and body["points_purchase"]["points_spent"] == 500
    assert call(live, "GET", "/v1/customers/1")[2]["customer"]["points_balance"] == 4500
    status, _, reset = call(live, "POST", "/_fake/reset", {}, key=None, origin=None)
    assert (status, reset) == (200, {"reset": ["demo"]})
    # the shop's page may not drive the control plane
    assert call(live, "POST", "/_fake/reset", {}, key=None)[0] == 403
    assert call(live, "GET", "/v1/customers/1")[2]["customer"]["points_balance"] == 5000
