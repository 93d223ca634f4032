"""Every Python example in the README runs as written."""

import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{n}" for n in range(len(BLOCKS))])
def test_readme_example_runs(source: str) -> None:
    namespace: dict[str, object] = {"__name__": "readme_example"}
    exec(compile(source, str(README), "exec"), namespace)
    machine = namespace.get("TestMyProgram")
    if machine is not None:
        machine().runTest()  # type: ignore[operator]


SHELL = [
    block
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S)
    if "curl " in block
]


def test_readme_has_curl_sessions() -> None:
    assert len(SHELL) >= 2


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_readme_curl_sessions_run_in_posix_sh(
    tmp_path: Path, docs_servers: Callable[[str], str]
) -> None:
    """Each curl session runs under plain `sh` (no bash arrays) against both fakes; every
    `# ` line after a command is its expected output, `...` standing for anything."""
    for block in SHELL:
        done = subprocess.run(
            ["sh", "-eu", "-c", docs_servers(block).replace("\ncurl ", "\necho; curl ")],
            cwd=tmp_path, capture_output=True, text=True, timeout=30,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outputs = [line for line in done.stdout.split("\n") if line]
        expected = re.findall(r"^# (.*)$", block, flags=re.M)
        assert len(outputs) == len(expected), (outputs, expected)
        for want, got in zip(expected, outputs, strict=True):
            pattern = ".*".join(re.escape(part.strip()) for part in want.split("..."))
            assert re.fullmatch(pattern, got.strip()), (want, got)
