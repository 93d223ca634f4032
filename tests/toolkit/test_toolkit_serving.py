"""Live serving through waitress and the command line (`python -m fakeservers`)."""

from __future__ import annotations

import http.client
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from fakeservers.__main__ import main, parse_args
from fakeservers._http.serving import DroppedConnection, serve_in_thread
from fakeservers.smile import DEMO_KEY
from fakeservers.toolkit import Fake, write_seed_file
from loyaltykit import ManualClock

AUTH = {"Authorization": f"Bearer {DEMO_KEY}"}


def test_keep_alive_many_requests_on_one_connection() -> None:
    fake = Fake("smile", ManualClock()).serve()
    try:
        assert fake.server is not None
        connection = http.client.HTTPConnection(fake.server.host, fake.server.port, timeout=5)
        sockets = set()
        for _ in range(5):
            connection.request("GET", "/v1/customers/1", headers=AUTH)
            response = connection.getresponse()
            assert response.status == 200
            assert response.getheader("Connection") != "close"
            json.loads(response.read())
            assert connection.sock is not None
            sockets.add(id(connection.sock))
        assert len(sockets) == 1  # the same TCP connection answered all five
        connection.close()
    finally:
        fake.stop()


def test_one_access_log_line_per_request(caplog: pytest.LogCaptureFixture) -> None:
    with Fake("smile", ManualClock()).serve() as fake:
        assert fake.server is not None
        with caplog.at_level(logging.INFO, logger="fakeservers.access"):
            connection = http.client.HTTPConnection(fake.server.host, fake.server.port, timeout=5)
            for path in ("/v1/customers/1", "/v1/customers/999"):
                connection.request("GET", path, headers=AUTH)
                connection.getresponse().read()
            connection.close()
            deadline = time.monotonic() + 5
            while len(caplog.records) < 2 and time.monotonic() < deadline:
                time.sleep(0.01)
    lines = [r.getMessage() for r in caplog.records if r.name == "fakeservers.access"]
    assert len(lines) == 2
    assert '"GET /v1/customers/1" 200' in lines[0] and lines[0].startswith("smile 127.0.0.1")
    assert '"GET /v1/customers/999" 404' in lines[1]


def test_dropped_connection_closes_the_socket_without_a_response() -> None:
    def app(environ: object, start_response: object) -> list[bytes]:
        raise DroppedConnection()

    server = serve_in_thread(app)  # type: ignore[arg-type]
    try:
        connection = http.client.HTTPConnection(server.host, server.port, timeout=5)
        connection.request("GET", "/")
        with pytest.raises(http.client.RemoteDisconnected):
            connection.getresponse()
    finally:
        server.stop()


def test_stop_frees_the_port_and_the_thread() -> None:
    fake = Fake("shopsocially", ManualClock()).serve()
    assert fake.server is not None
    port, thread = fake.server.port, fake.server.thread
    fake.stop()
    assert not thread.is_alive()
    with pytest.raises(OSError):
        http.client.HTTPConnection("127.0.0.1", port, timeout=2).request("GET", "/")


def test_command_line_options() -> None:
    args = parse_args(["--seed", "x.json", "--rate-limit", "--log-level", "warning"])
    assert (args.seed, args.rate_limit, args.log_level) == ("x.json", True, "WARNING")
    assert parse_args(["--no-rate-limit"]).rate_limit is False
    assert parse_args([]).rate_limit is None


def test_console_script_is_registered() -> None:
    scripts = {e.name: e.value for e in entry_points(group="console_scripts")}
    assert scripts["loyaltykit-fakes"] == "fakeservers.__main__:main"
    plugins = {e.name: e.value for e in entry_points(group="pytest11")}
    assert plugins["loyaltykit_fakes"] == "fakeservers.pytest_plugin"


def test_main_with_seed_and_rate_limit(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    source = Fake("smile", ManualClock())
    source.control.create_tenant("acme", ["acme_key"])
    source.control.create_customer("acme", email="ann@acme.test", points_balance=70)
    seed = tmp_path / "seed.json"
    write_seed_file(seed, source.export(["acme"]))

    import fakeservers.__main__ as cli

    servers: list[object] = []
    started = threading.Event()
    real_start = cli.start

    def spy(*args: object, **kwargs: object) -> list[object]:
        found = real_start(*args, **kwargs)  # type: ignore[arg-type]
        servers.extend(found)
        started.set()
        return found  # type: ignore[return-value]

    monkeypatch.setattr(cli, "start", spy)
    stop = threading.Event()
    argv = ["--smile-port", "0", "--shopsocially-port", "0", "--seed", str(seed), "--rate-limit"]
    runner = threading.Thread(target=main, args=(argv, stop))
    runner.start()
    try:
        assert started.wait(10)
        url = servers[0].url  # type: ignore[attr-defined]
        host, port = url.removeprefix("http://").split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        statuses = []
        for _ in range(15):
            headers = {"Authorization": "Bearer acme_key"}
            connection.request("GET", "/v1/customers?email=ann@acme.test", headers=headers)
            response = connection.getresponse()
            body = json.loads(response.read())
            statuses.append(response.status)
        # --rate-limit: Smile's leaky bucket, 10 requests a second (on wall time here)
        assert statuses[:10] == [200] * 10 and statuses[-1] == 429
        connection.request("GET", "/v1/customers/1", headers=AUTH)
        assert connection.getresponse().status == 401  # the seed replaced the demo tenant
        connection.close()
    finally:
        stop.set()
        runner.join(10)
    assert not runner.is_alive()
    printed = capsys.readouterr().out
    assert "tenant acme: Authorization: Bearer acme_key" in printed
    assert "tenant demo: partner-id: demo-partner; api-key: demo-api-key" in printed
    assert body == {"error": {"message": "Too many requests."}}


def test_bad_seed_file_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}')
    assert main(["--seed", str(bad), "--smile-port", "0", "--shopsocially-port", "0"]) == 2
    assert "not a seed file" in capsys.readouterr().out


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT delivery")
def test_ctrl_c_shuts_down_cleanly() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "fakeservers", "--smile-port", "0", "--shopsocially-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        lines = []
        for _ in range(50):
            line = process.stdout.readline()
            lines.append(line)
            if line.startswith("control plane"):
                break
        smile = next(line for line in lines if line.startswith("smile: "))
        host, port = smile.split("http://")[1].strip().split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=5)
        connection.request("GET", "/v1/customers/1", headers=AUTH)
        assert connection.getresponse().status == 200
        connection.close()
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 0
    assert "stopping" in out
    assert '"GET /v1/customers/1" 200' in out  # the access log line (INFO by default)
    assert "Traceback" not in out


def test_sigint_stops_the_fakes_even_when_started_with_it_ignored() -> None:
    # a shell's `python -m fakeservers &` (or nohup) starts it with SIGINT ignored
    def ignore_sigint() -> None:
        signal.signal(signal.SIGINT, signal.SIG_IGN)

    process = subprocess.Popen(
        [sys.executable, "-m", "fakeservers", "--smile-port", "0", "--shopsocially-port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        preexec_fn=ignore_sigint,
    )
    try:
        assert process.stdout is not None
        for _ in range(50):
            if process.stdout.readline().startswith("control plane"):
                break
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 0
    assert "stopping" in out
