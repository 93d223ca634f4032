"""Reliability suite (issue 6): differential machine, HTTP fuzzer, concurrency against live
servers, credentials matrix, and the bugs they found (test_found_bugs.py).

    pytest tests/reliability -s                          # CI profile, prints the figures
    HYPOTHESIS_PROFILE=deep pytest tests/reliability -s  # deep: ~100,000 differential steps

This conftest makes `import fakeservers` mean the real package (see
tests/fakeservers/conftest.py for why)."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _use_real_fakeservers() -> None:
    if str(ROOT) not in sys.path:
        sys.path.append(str(ROOT))
    module = sys.modules.get("fakeservers")
    if module is not None and getattr(module, "__file__", None) is None:
        for name in [n for n in sys.modules if n == "fakeservers" or n.startswith("fakeservers.")]:
            del sys.modules[name]
        importlib.import_module("fakeservers")


_use_real_fakeservers()
