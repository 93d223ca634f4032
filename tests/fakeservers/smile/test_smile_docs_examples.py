"""Every GET example of smile-api-reference.txt, replayed verbatim against the demo tenant.

Keys must be identical and values equal, except ids the core cannot allocate (the docs
show 133577 and the like); `DOC_IDS` maps each to the demo tenant's id (docs/smile.md, A1).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from smile_client import Api

EXAMPLES = json.loads((Path(__file__).parent / "docs_get_examples.json").read_text())["examples"]

DOC_IDS = {
    "/v1/points_products": {133577: 1, 228015: 1, 113700: 2, 162070: 2},
    "/v1/points_transactions": {133577: 1, 133578: 2},
}


def _map_ids(value: Any, ids: dict[int, int], key: str | None = None) -> Any:
    if isinstance(value, dict):
        return {k: _map_ids(v, ids, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_map_ids(v, ids) for v in value]
    if key == "id" and isinstance(value, int):
        return ids.get(value, value)
    return value


def _by_id(items: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    return {item["id"]: item for item in items}


def test_the_docs_file_still_has_eight_get_examples() -> None:
    assert len(EXAMPLES) == 8


@pytest.mark.parametrize("as_curl", [True, False], ids=["curl-d-body", "query-string"])
@pytest.mark.parametrize("example", EXAMPLES, ids=[e["path"] for e in EXAMPLES])
def test_get_example_replays(api: Api, example: dict[str, Any], as_curl: bool) -> None:
    """`curl -X GET -d "limit=2"` sends a form body; a client library sends a query string."""
    path, _, query = example["path"].partition("?")
    params = dict(part.split("=", 1) for part in query.split("&") if part)
    base = "/" + "/".join(path.split("/")[1:3])
    expected = _map_ids(example["response"], DOC_IDS.get(base, {}))
    if as_curl:
        response = api.client.get(
            path,
            data=query,
            content_type="application/x-www-form-urlencoded",
            headers=api.headers(),
        )
        assert response.status_code == 200
        actual = response.json
    else:
        actual = api.ok(path, **params)
    assert set(actual) == set(expected)
    for name, documented in expected.items():
        got = actual[name]
        if name == "metadata":
            assert set(got) == set(documented)
            assert (got["previous_cursor"] is None) == (documented["previous_cursor"] is None)
            if not example["truncated"]:
                assert (got["next_cursor"] is None) == (documented["next_cursor"] is None)
        elif isinstance(documented, list) and example["truncated"]:
            # the docs abbreviate with "...": every documented item must be present as is
            # (in the same relative order; other seeded records may come between them)
            found = _by_id(got)
            for item in documented:
                assert found[item["id"]] == item
            wanted = [i["id"] for i in documented]
            assert [i["id"] for i in got if i["id"] in wanted] == wanted
        else:
            assert got == documented


def test_docs_sample_cursor_is_accepted(api: Api) -> None:
    """The docs' cursor decodes to `id:2,direction:next`: customers older than id 2."""
    body = api.ok("/v1/customers", cursor="aWQ6MixkaXJlY3Rpb246bmV4dA==")
    assert [c["id"] for c in body["customers"]] == [1]
    assert body["metadata"]["next_cursor"] is None
    assert body["metadata"]["previous_cursor"] is not None
