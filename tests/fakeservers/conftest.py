"""Make `import fakeservers` mean the real package while these tests run.

pytest's default (prepend) import mode puts `tests/` on sys.path for tests/conftest.py, and
`tests/fakeservers` (no __init__.py) then answers `import fakeservers` as a namespace package
when the repository root is not on sys.path (the editable install's finder runs after the
path scan). Appending the root lets the path scan find the regular package first. The
project-level fix is `pythonpath = ["."]` (or `--import-mode=importlib`) in pytest's config.
"""

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
