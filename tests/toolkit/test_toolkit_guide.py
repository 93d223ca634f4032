"""Every example of docs/testing-guide.md runs as written.

* `python` blocks starting with `# test_file: NAME` are files of a user's test suite: they
  are written to a fresh directory and run by pytest (in a subprocess, the plugin loaded
  through its entry point, as a user's run would).
* Other `python` blocks are scripts: executed.
* `sh` blocks using curl run in order against both fakes served on free ports (the guide's
  8001 / 8002 replaced); each `# => text` line must appear in that block's output.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

pytest_plugins = ["pytester"]

GUIDE = Path(__file__).resolve().parents[2] / "docs" / "testing-guide.md"
TEXT = GUIDE.read_text(encoding="utf-8")
PYTHON = re.findall(r"```python\n(.*?)```", TEXT, flags=re.S)
FILES = [b for b in PYTHON if b.startswith("# test_file: ")]
SCRIPTS = [b for b in PYTHON if not b.startswith("# test_file: ")]
SHELL = [b for b in re.findall(r"```sh\n(.*?)```", TEXT, flags=re.S) if "curl " in b]


def test_the_guide_has_every_kind_of_example() -> None:
    assert len(FILES) >= 5 and len(SCRIPTS) >= 3 and len(SHELL) >= 4


def test_pytest_examples_pass_in_a_users_suite(pytester: pytest.Pytester) -> None:
    tests = 0
    for block in FILES:
        name = block.splitlines()[0].removeprefix("# test_file: ").strip()
        (pytester.path / name).write_text(block, encoding="utf-8")
        tests += len(re.findall(r"^def test_", block, flags=re.M))
    result = pytester.runpytest_subprocess(
        "-p", "no:hypothesispytest", "-p", "no:cacheprovider", "-q"
    )
    result.assert_outcomes(passed=tests)


@pytest.mark.parametrize("source", SCRIPTS, ids=[f"script{n}" for n in range(len(SCRIPTS))])
def test_script_examples_run(source: str) -> None:
    exec(compile(source, str(GUIDE), "exec"), {"__name__": "guide_example"})


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_curl_examples(tmp_path: Path, docs_servers: Callable[[str], str]) -> None:
    for block in SHELL:
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", docs_servers(block)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr
        for expected in re.findall(r"^# => (.*)$", block, flags=re.M):
            assert expected in done.stdout, (expected, done.stdout)
