"""Worker processes for the durable tests: `python -m tests.durable.workers MODE ...`.

`mixed URL CLOCKFILE WORKER COUNT SEED`: COUNT random commands (earn, spend, redeem from a
small pool, orders, returns, clock moves) on the shared program `default`, each reported
on stdout as `ok <tag> <kind>` once it returned (`refused <tag> <kind> <code>` for a
LoyaltyError).

`crash URL WORKER`: commands forever, each reported on stdout once it returned, until the
parent kills the process with SIGKILL. Every command is a pair of ledger entries made
atomic with `program.atomic()`, tagged so that the parent can tell a whole command from
half of one.
"""

from __future__ import annotations

import fcntl
import os
import random
import struct
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from loyaltykit import LoyaltyError, OrderStatus, Program

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
START = datetime(2025, 1, 6, 12, 0, tzinfo=UTC)


class FileClock:
    """A clock shared by processes: the instant is a count of microseconds in a file,
    moved forward only (under an flock), read on every `now()`."""

    def __init__(self, path: str) -> None:
        self.path = path

    @staticmethod
    def create(path: str, start: datetime = START) -> None:
        with open(path, "wb") as f:
            f.write(struct.pack("<q", (start - EPOCH) // timedelta(microseconds=1)))

    def now(self) -> datetime:
        with open(self.path, "rb") as f:
            (micros,) = struct.unpack("<q", f.read(8))
        return EPOCH + timedelta(microseconds=micros)

    def advance(self, delta: timedelta) -> None:
        with open(self.path, "r+b") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            (micros,) = struct.unpack("<q", f.read(8))
            f.seek(0)
            f.write(struct.pack("<q", micros + delta // timedelta(microseconds=1)))
            f.flush()


def setup(program: Program) -> None:
    """The shared configuration (run once, before the workers start)."""
    program.add_rule(
        name="per $",
        kind="multiplier",
        multiplier=Decimal(1),
        trigger="order",
        points_lifetime=timedelta(days=20),
    )
    pool = program.add_pool(name="small pool", codes=[f"CODE-{i:03d}" for i in range(40)])
    program.add_offer(name="$5 off", points_price=25, value=Decimal(5), pool_id=pool.id)
    for i in range(6):
        program.add_member(email=f"member{i}@example.com")


def mixed(url: str, clock_path: str, worker: int, count: int, seed: int) -> None:
    rng = random.Random(seed)
    clock = FileClock(clock_path)
    with Program.open(url, clock=clock) as program:  # type: ignore[arg-type]
        members = [m.profile.id for m in program.members()]
        offer = program.offers()[0].id
        orders: list[str] = []
        for i in range(count):
            tag = f"w{worker}-{i}"
            member = rng.choice(members)
            roll = rng.random()
            kind = "read"
            try:
                if roll < 0.3:
                    kind = "earn"
                    program.earn(member, rng.randint(1, 60), description=tag,
                                 lifetime=timedelta(days=rng.randint(1, 10)))
                elif roll < 0.45:
                    kind = "spend"
                    program.spend(member, rng.randint(1, 40), description=tag)
                elif roll < 0.6:
                    kind = "redeem"
                    program.redeem(member, offer, idempotency_key=tag)
                elif roll < 0.75:
                    kind = "order"
                    program.record_order(tag, member_id=member,
                                         amount=Decimal(rng.randint(1, 200)),
                                         status=OrderStatus.PAID, updated_at=clock.now())
                    orders.append(tag)
                elif roll < 0.85 and orders:
                    kind = "return"
                    program.return_order(rng.choice(orders), amount=Decimal(rng.randint(1, 30)))
                elif roll < 0.95:
                    kind = "clock"
                    clock.advance(timedelta(hours=rng.randint(1, 48)))
                    program.expire_due()
                else:
                    program.member(member)
                print(f"ok {tag} {kind}", flush=True)
            except LoyaltyError as exc:
                print(f"refused {tag} {kind} {exc.code}", flush=True)


def crash(url: str, worker: int) -> None:
    from loyaltykit import ManualClock

    clock = ManualClock(START)
    with Program.open(url, clock=clock, snapshot_every=50) as program:
        member = program.add_member(email=f"crash{worker}-{os.getpid()}@example.com").id
        i = 0
        while True:
            tag = f"c{worker}-{os.getpid()}-{i}"
            with program.atomic():
                program.earn(member, 10, description=f"{tag} a")
                program.spend(member, 4, description=f"{tag} b")
            print(f"ok {tag}", flush=True)
            i += 1


def main(argv: list[str]) -> None:
    mode, *args = argv
    if mode == "mixed":
        url, clock_path, worker, count, seed = args
        mixed(url, clock_path, int(worker), int(count), int(seed))
    elif mode == "crash":
        url, worker = args
        crash(url, int(worker))
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main(sys.argv[1:])
