"""Several processes on one program, and writers killed with SIGKILL at random moments,
on SQLite and PostgreSQL (workers: tests/durable/workers.py)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from loyaltykit import Program, RewardOffer, Transaction, audit
from loyaltykit.events import RewardIssued
from tests.durable.workers import FileClock, setup

ROOT = Path(__file__).resolve().parents[2]
WORKERS = 4
COMMANDS = 500
KILLS = 6


def spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "tests.durable.workers", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_four_processes_share_one_ledger(store_url: str, tmp_path: Path) -> None:
    clock_path = str(tmp_path / "clock")
    FileClock.create(clock_path)
    clock = FileClock(clock_path)
    with Program.open(store_url, clock=clock) as program:  # type: ignore[arg-type]
        setup(program)
    workers = [
        spawn("mixed", store_url, clock_path, str(w), str(COMMANDS), str(1000 + w))
        for w in range(WORKERS)
    ]
    outputs = [w.communicate(timeout=300) for w in workers]
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err[-3000:]
        assert len(out.splitlines()) == COMMANDS
    with Program.open(store_url, clock=clock) as program:  # type: ignore[arg-type]
        journal = program.journal()
        replay = Program.replay(journal, clock, **program.settings())  # type: ignore[arg-type]
        assert program.state() == replay.state()
        assert audit(program) == []
        codes = [e.fulfillment.code for e in journal if isinstance(e, RewardIssued)]
        assert len(codes) == len(set(codes)) and codes  # no code twice
        offer: RewardOffer = program.offers()[0]
        assert program.pool_remaining(offer.pool_id or 0) == 40 - len(codes)
        # every command a worker saw return is in the journal, once
        described = Counter(e.description for e in journal if isinstance(e, Transaction))
        keys = program.raw_state.keys
        kinds: Counter[str] = Counter()
        for out, _ in outputs:
            for line in out.splitlines():
                status, tag, kind, *_ = line.split()
                kinds[f"{status} {kind}"] += 1
                if status != "ok":
                    continue
                if kind in ("earn", "spend"):
                    assert described[tag] == 1, tag
                elif kind == "redeem":
                    assert tag in keys, tag
                elif kind == "order":
                    assert program.order(tag).member_id is not None
        assert all(n == 1 for tag, n in described.items() if tag.startswith("w"))
        assert kinds["ok redeem"] == len(codes)  # every successful redeem took one code
        assert kinds["ok earn"] and kinds["ok order"] and kinds["ok return"]


@pytest.mark.parametrize("round_", range(KILLS))
def test_sigkill_loses_no_returned_command_and_leaves_no_half(
    store_url: str, round_: int
) -> None:
    rng = random.Random(round_)
    returned: list[str] = []
    for attempt in range(2):  # two writers killed in turn, the second on the first's data
        worker = spawn("crash", store_url, str(attempt))
        deadline = time.monotonic() + 30
        wanted = rng.randint(5, 120)
        assert worker.stdout is not None
        while len(returned) < wanted * (attempt + 1) and time.monotonic() < deadline:
            line = worker.stdout.readline()
            if not line:
                break
            returned.append(line.split()[1])
        time.sleep(rng.random() * 0.05)  # somewhere in the middle of the next command
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait()
        assert worker.stdout is not None
        returned += [line.split()[1] for line in worker.stdout.read().splitlines()]
        assert returned, worker.stderr.read() if worker.stderr else ""
    with Program.open(store_url) as program:
        journal = program.journal()
        described = Counter(
            e.description for e in journal if isinstance(e, Transaction) and e.description
        )
        for tag in returned:  # every command that returned is there, whole
            assert described[f"{tag} a"] == 1 and described[f"{tag} b"] == 1, tag
        halves = {d.rsplit(" ", 1)[0] for d in described}
        for tag in halves:  # and no command is half there
            assert described[f"{tag} a"] == described[f"{tag} b"] == 1, tag
        assert audit(program) == []
        replay = Program.replay(journal, program.clock, **program.settings()).state()
        opened = program.state()
        differing = [key for key in opened if opened[key] != replay[key]]
        assert not differing, (differing, program.sequence, program._base)
