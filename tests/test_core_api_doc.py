"""Every Python example in docs/core-api.md runs as written."""

import re
from pathlib import Path

import pytest

DOC = Path(__file__).resolve().parent.parent / "docs" / "core-api.md"
BLOCKS = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)


def test_the_core_api_doc_has_examples() -> None:
    assert BLOCKS


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_core_api_example_runs(source: str) -> None:
    exec(compile(source, str(DOC), "exec"), {"__name__": "core_api_example"})
