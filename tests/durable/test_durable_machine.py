"""The audited state machine on a durable program (SQLite), with a second handle on the
same program writing in between, snapshots every few events, and reopening checked
against a full replay: snapshot + tail must equal replaying the whole journal."""

from __future__ import annotations

import shutil
import tempfile

from hypothesis import strategies as st
from hypothesis.stateful import invariant, rule

from loyaltykit import ManualClock, Program
from loyaltykit.durable import DurableProgram
from loyaltykit.testing import LoyaltyMachine


class DurableMachine(LoyaltyMachine):
    check_replay_every = 4

    def new_program(self, clock: ManualClock) -> Program:
        self.folder = tempfile.mkdtemp(prefix="loyaltykit-machine-")
        self.url = f"sqlite:///{self.folder}/machine.db?synchronous=normal"
        self.handles: list[Program] = []
        program = Program.open(self.url, clock=clock, clawback=self.clawback, seed=0,
                               snapshot_every=5)
        self.handles.append(program)
        return program

    def other(self) -> Program:
        """A second handle on the same program, as another process would hold."""
        if len(self.handles) == 1:
            self.handles.append(Program.open(self.url, clock=self.clock, snapshot_every=0))
        return self.handles[1]

    @rule(member=LoyaltyMachine.members, points=st.integers(1, 300))
    def another_process_earns(self, member: int, points: int) -> None:
        self.attempt(self.other().earn, member, points)

    @rule(member=LoyaltyMachine.members, points=st.integers(1, 300))
    def another_process_spends(self, member: int, points: int) -> None:
        self.attempt(self.other().spend, member, points)

    @rule()
    def checkpoint(self) -> None:
        program = self.program
        assert isinstance(program, DurableProgram)
        assert program.checkpoint() == program.sequence

    @invariant()
    def reopening_gives_the_same_program(self) -> None:
        if self.steps % self.check_replay_every:
            return
        with Program.open(self.url, clock=self.clock) as again:
            state = again.state()
            assert state == self.program.state()
            replay = Program.replay(again.journal(), self.clock, **again.settings())
            assert replay.state() == state

    def teardown(self) -> None:
        for handle in self.handles:
            handle.close()
        shutil.rmtree(self.folder, ignore_errors=True)


TestDurableMachine = DurableMachine.TestCase
