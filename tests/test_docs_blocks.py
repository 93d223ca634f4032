"""Every JSON block of the docs (and the README) is valid and does what the text says:
a seed document loads into both fakes and exports back the tenants it holds; a core
snapshot restores. Python blocks of the vendor docs run as scripts (the testing guide's
own blocks run in tests/toolkit/test_toolkit_guide.py)."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path

import pytest

from fakeservers.toolkit import FORMAT, Fake
from loyaltykit import ManualClock, Program

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def _blocks(language: str, skip: tuple[str, ...] = ()) -> list[tuple[str, str]]:
    found = []
    for path in DOCS:
        if path.name in skip:
            continue
        text = path.read_text(encoding="utf-8")
        for n, block in enumerate(re.findall(rf"```{language}\n(.*?)```", text, flags=re.S)):
            found.append((f"{path.name}#{n}", block))
    return found


JSON_BLOCKS = _blocks("json")
PYTHON_BLOCKS = _blocks("python", skip=("README.md", "testing-guide.md"))


def test_the_docs_have_json_and_python_blocks() -> None:
    assert JSON_BLOCKS and PYTHON_BLOCKS


@pytest.mark.parametrize(("where", "block"), JSON_BLOCKS, ids=[w for w, _ in JSON_BLOCKS])
def test_json_block(where: str, block: str) -> None:
    document = json.loads(block)
    if isinstance(document, dict) and document.get("format") == FORMAT:
        for vendor in ("smile", "shopsocially"):
            if vendor not in document:
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("error")  # no SeedClockWarning either
                fake = Fake(vendor, ManualClock(), seed=document)
            names = [t["name"] for t in document[vendor]["tenants"]]
            assert [t.name for t in fake.registry.tenants()] == names
            exported = fake.export()[vendor]["tenants"]
            assert [t["name"] for t in exported] == names
    elif isinstance(document, dict) and document.get("format") == "loyaltykit.snapshot/1":
        Program.restore(document, ManualClock())


@pytest.mark.parametrize(("where", "block"), PYTHON_BLOCKS, ids=[w for w, _ in PYTHON_BLOCKS])
def test_python_block(where: str, block: str) -> None:
    exec(compile(block, where, "exec"), {"__name__": "docs_example"})
