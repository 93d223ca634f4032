"""Reliability suite: make `import fakeservers` mean the real package (see
tests/fakeservers/conftest.py for why), and share a few fixtures."""

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
