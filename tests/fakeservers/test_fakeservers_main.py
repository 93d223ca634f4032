"""`python -m fakeservers`: binds the fakes, prints URLs and demo credentials, stops cleanly."""

from __future__ import annotations

import json
import threading
import urllib.request

import pytest

from fakeservers.__main__ import main, parse_args


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
