"""Issue 11's closing figures: a real `python -m fakeservers` process under hostile traffic.

    python tests/reliability/hostile_load.py [REQUESTS]     # default 100,000

Starts the fakes in a child process, then sends REQUESTS hostile requests over keep-alive
connections from four threads, cycling through the attacks of issue 11: huge and deep
JSON, NaN and out-of-range numbers, long paths and header values, 1 MB+ and 10 MB bodies
(unauthenticated too), bad seeds and fault parameters, cross-site and rebound control
requests, and a page's simple POSTs. It reports how many were sent, the status classes,
the 5xx count (must be 0), whether any tenant changed (the demo tenants are exported
before and after: "poisoned" counts tenants whose export differs or whose reads fail),
and the child's resident memory before, at its peak and after.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
SMILE_AUTH = {"Authorization": "Bearer test_cnzGMghxTmPzK1spPraT"}
SS_AUTH = {"partner-id": "demo-partner", "api-key": "demo-api-key"}
JSON = {"Content-Type": "application/json"}
MB = 1 << 20

Attack = tuple[str, str, str, dict[str, str], bytes]
"""(vendor, method, path, headers, body)"""


def _deep(levels: int) -> bytes:
    return b"[" * levels + b'"\\ud800"' + b"]" * levels


def attacks() -> list[Callable[[int], Attack]]:
    """One function per kind of attack; each gets a counter to vary its request."""
    nines = "9" * 4300
    big = b'{"a":"' + b"x" * (MB + 10) + b'"}'
    huge = b"x" * (10 * MB)
    return [
        lambda n: ("smile", "POST", "/v1/events", {**SMILE_AUTH, **JSON}, json.dumps(
            {"event": {"topic": "order/updated", "data": {
                "external_id": f"h{n}", "payment_status": "paid", "rewardable_total": "1e800000",
                "customer": {"external_id": "c1", "email": "jane@smile.io"}}}}).encode()),
        lambda n: ("smile", "POST", "/v1/points_transactions", {**SMILE_AUTH, **JSON},
                   f'{{"points_transaction": {{"customer_id": 1, "points_change": {nines}, '
                   f'"description": "x"}}}}'.encode()),
        lambda n: ("smile", "POST", "/v1/activities", {**SMILE_AUTH, **JSON},
                   b'{"activity": {"customer_id": 1, "token": "activity_f57a9b5a8d0ac5", '
                   b'"properties": {"x": NaN}}}'),
        lambda n: ("smile", "POST", "/v1/activities", {**SMILE_AUTH, **JSON},
                   b'{"activity": {"customer_id": 1, "token": "activity_f57a9b5a8d0ac5", '
                   b'"properties": ' + _deep(400) + b"}}"),
        lambda n: ("smile", "POST", "/v1/customer_identities/create_or_update",
                   {**SMILE_AUTH, **JSON}, _deep(450)),
        lambda n: ("shopsocially", "POST", "/v2/loyalty/award", SS_AUTH,
                   f"user_email=bob@shopsocially.com&activity_id=made_a_purchase"
                   f"&points_passed=1e{800000 + n}".encode()),
        lambda n: ("shopsocially", "GET", f"/v2/loyalty/transactions/{nines}", SS_AUTH, b""),
        lambda n: ("shopsocially", "GET", f"/v2/loyalty/users/{n}-" + "a" * 60_000, {}, b""),
        lambda n: ("shopsocially", "GET", f"/v2/loyalty/users/{n}-" + "a" * 60_000, SS_AUTH,
                   b""),
        lambda n: ("smile", "GET", "/v1/customers/1", {"Authorization": "Bearer " + "k" * 60_000},
                   b""),
        lambda n: ("smile", "POST", "/v1/points_transactions", JSON, big),
        lambda n: ("shopsocially", "POST", "/v2/loyalty/award", SS_AUTH, big),
        lambda n: ("smile", "POST", "/_fake/seed", JSON, b"[" * 100_000),
        lambda n: ("smile", "POST", "/_fake/seed", JSON, json.dumps({
            "format": "fakeservers.seed/1", "smile": {"tenants": [{
                "name": "demo", "credentials": [], "program": {
                    "format": "loyaltykit.snapshot/1", "settings": {},
                    "journal": [{"type": "Bogus"}]}}]}}).encode()),
        lambda n: ("shopsocially", "POST", "/_fake/seed", JSON, json.dumps({
            "format": "fakeservers.seed/1", "smlie": {}}).encode()),
        lambda n: ("smile", "POST", "/_fake/faults", JSON,
                   b'{"kind": "latency", "delay": NaN}'),
        lambda n: ("smile", "POST", "/_fake/faults", JSON,
                   b'{"kind": "rate_limit", "retry_after": 1e400}'),
        lambda n: ("smile", "GET", "/_fake/tenants", {"Origin": "http://evil.example"}, b""),
        lambda n: ("smile", "POST", "/_fake/reset", {"Content-Type": "text/plain"},
                   b'{"tenant": "demo"}'),
        lambda n: ("shopsocially", "POST", "/_fake/tenants",
                   {"Host": "rebound.evil.example", **JSON},
                   b'{"name": "evil", "credentials": ["evil"]}'),
        lambda n: ("smile", "GET", "/_fake/journal", {"Host": f"evil{n}.example"}, b""),
        lambda n: ("smile", "POST", "/_fake/clock/advance", JSON, b'{"seconds": "1e800000"}'),
        lambda n: ("smile", "POST", "/_fake/tenants/demo/customers", JSON,
                   b'{"points_balance": 10000000000000}'),
        lambda n: ("shopsocially", "POST", "/v2/loyalty/activities", SS_AUTH,
                   b"activity_id=x&activity_name=x&activity_description=d&activity_type=fixed"
                   b"&approval_method=immediate&max_award_frequency=0"
                   b"&max_award_frequency_interval=lifetime&bonus_multiplier=1e999999"),
        lambda n: ("smile", "GET", f"/v1/customers?limit={nines}", SMILE_AUTH, b""),
        lambda n: ("smile", "POST", "/v1/points_transactions", {}, huge),
    ]


HEAVY = 25
"""Index of the 10 MB attack: sent only once in every 50 rounds (it is 10 MB each)."""


def rss(pid: int) -> int:
    """Resident memory of a process, in bytes (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


class Connection:
    def __init__(self, port: int) -> None:
        self.port = port
        self.http = http.client.HTTPConnection("127.0.0.1", port, timeout=60)

    def send(self, method: str, path: str, headers: dict[str, str], body: bytes) -> int:
        for attempt in range(2):
            try:
                self.http.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
                self.http.putheader("Host", headers.get("Host", f"127.0.0.1:{self.port}"))
                for name, value in headers.items():
                    if name != "Host":
                        self.http.putheader(name, value)
                self.http.putheader("Content-Length", str(len(body)))
                self.http.endheaders(body or None)
                response = self.http.getresponse()
                response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self.reopen()
                return response.status
            except (OSError, http.client.HTTPException):
                self.reopen()
                if attempt:
                    return -1  # the server closed the connection (e.g. a refused body)
        return -1

    def reopen(self) -> None:
        self.http.close()
        self.http = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)


def start_fakes() -> tuple[subprocess.Popen[str], dict[str, int]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "fakeservers", "--smile-port", "0", "--shopsocially-port", "0",
         "--log-level", "WARNING"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    ports: dict[str, int] = {}
    assert process.stdout is not None
    for line in process.stdout:
        for vendor in ("smile", "shopsocially"):
            if line.startswith(f"{vendor}: http://"):
                ports[vendor] = int(line.rsplit(":", 1)[1])
        if line.startswith("control plane"):
            break
    threading.Thread(target=lambda: [None for _ in process.stdout or ()], daemon=True).start()
    return process, ports


def export(port: int) -> Any:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    connection.request("GET", "/_fake/export")
    return json.loads(connection.getresponse().read())


def reads_work(ports: dict[str, int]) -> bool:
    checks = [("smile", "/v1/customers", SMILE_AUTH), ("smile", "/v1/customers/1", SMILE_AUTH),
              ("shopsocially", "/v2/loyalty/users/bob@shopsocially.com", SS_AUTH)]
    for vendor, path, headers in checks:
        if Connection(ports[vendor]).send("GET", path, headers, b"") != 200:
            return False
    return True


def run(total: int) -> dict[str, Any]:
    process, ports = start_fakes()
    try:
        before_exports = {vendor: export(port) for vendor, port in ports.items()}
        rss_before = rss(process.pid)
        kinds = attacks()
        statuses: Counter[int] = Counter()
        lock = threading.Lock()
        peak = [rss_before]
        counter = iter(range(total))

        def worker() -> None:
            connections = {vendor: Connection(port) for vendor, port in ports.items()}
            local: Counter[int] = Counter()
            for n in counter:
                kind = n % len(kinds)
                if kind == HEAVY and (n // len(kinds)) % 50:
                    kind = 0
                vendor, method, path, headers, body = kinds[kind](n)
                local[connections[vendor].send(method, path, headers, body)] += 1
            with lock:
                statuses.update(local)

        def watch() -> None:
            while any(thread.is_alive() for thread in threads):
                peak[0] = max(peak[0], rss(process.pid))
                time.sleep(0.2)

        started = time.perf_counter()
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        watcher = threading.Thread(target=watch)
        watcher.start()
        for thread in threads:
            thread.join()
        watcher.join()
        elapsed = time.perf_counter() - started
        rss_after = rss(process.pid)
        after_exports = {vendor: export(port) for vendor, port in ports.items()}
        poisoned = sum(
            1
            for vendor in ports
            for old, new in zip(before_exports[vendor][vendor]["tenants"],
                                after_exports[vendor][vendor]["tenants"], strict=False)
            if old != new
        ) + sum(
            abs(len(before_exports[v][v]["tenants"]) - len(after_exports[v][v]["tenants"]))
            for v in ports
        )
        return {
            "requests": sum(statuses.values()),
            "seconds": round(elapsed, 1),
            "by_status": dict(sorted(statuses.items())),
            "5xx": sum(c for s, c in statuses.items() if s >= 500),
            "tenants_poisoned": poisoned,
            "reads_work_after": reads_work(ports),
            "rss_before_mb": round(rss_before / MB, 1),
            "rss_peak_mb": round(peak[0] / MB, 1),
            "rss_after_mb": round(rss_after / MB, 1),
        }
    finally:
        process.terminate()
        process.wait(10)


def main(argv: list[str]) -> int:
    total = int(argv[1]) if len(argv) > 1 else 100_000
    figures = run(total)
    print(json.dumps(figures, indent=1))
    return 0 if figures["5xx"] == 0 and figures["tenants_poisoned"] == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))
