"""`python -m fakeservers`: binds the fakes, prints URLs and demo credentials, stops cleanly."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

import pytest

from fakeservers.__main__ import main, parse_args, program_name


def test_defaults() -> None:
    args = parse_args([])
    assert (args.host, args.smile_port, args.shopsocially_port) == ("127.0.0.1", 8001, 8002)


def test_main_serves_and_prints_the_demo_credentials(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    stop = threading.Event()
    started = threading.Event()
    servers: list[object] = []

    import fakeservers.__main__ as cli

    real_start = cli.start

    def spy(*args: object, **kwargs: object) -> list[object]:
        found = real_start(*args, **kwargs)  # type: ignore[arg-type]
        servers.extend(found)
        started.set()
        return found  # type: ignore[return-value]

    monkeypatch.setattr(cli, "start", spy)
    runner = threading.Thread(
        target=main, args=(["--smile-port", "0", "--shopsocially-port", "0"], stop)
    )
    runner.start()
    assert started.wait(10)
    smile_url = servers[0].url  # type: ignore[attr-defined]
    request = urllib.request.Request(
        smile_url + "/v1/customers/1",
        headers={"Authorization": "Bearer test_cnzGMghxTmPzK1spPraT"},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        assert json.loads(response.read())["customer"]["last_name"] == "Bond"
    stop.set()
    runner.join(10)
    assert not runner.is_alive()
    printed = capsys.readouterr().out
    assert f"smile: {smile_url}" in printed
    assert "Bearer test_cnzGMghxTmPzK1spPraT" in printed


def test_a_port_in_use_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["--smile-port", "0", "--shopsocially-port", str(port)], threading.Event())
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""  # nothing printed before every server listens
    assert captured.err == (
        f"error: shopsocially: cannot listen on 127.0.0.1:{port}: address already in use "
        "(choose another port with --smile-port or --shopsocially-port; 0 picks a free one)\n"
    )


def test_help_names_the_command_it_was_started_as() -> None:
    script = Path(sys.executable).with_name("loyaltykit-fakes")
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=30)
    assert done.stdout.startswith("usage: loyaltykit-fakes ")
    done = subprocess.run(
        [sys.executable, "-m", "fakeservers", "--help"], capture_output=True, text=True, timeout=30
    )
    assert done.stdout.startswith("usage: python -m fakeservers ")
    assert program_name("/usr/bin/loyaltykit-fakes") == "loyaltykit-fakes"
