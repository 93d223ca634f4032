"""Commands on tiers: tracks, their ladders of tiers, progress and hand-set tiers.

Each function is a method of `Program` (bound there by name, see `loyaltykit.program`).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import attrs

from loyaltykit import _validate as v
from loyaltykit._commands.members import member_view
from loyaltykit._kernel import ProgramKernel, _enum, _evolve, _is_id, _lookup
from loyaltykit.errors import InvalidArgument, TierNotFound, TrackNotFound
from loyaltykit.events import TierDefined, TierFloorSet, TrackDefined
from loyaltykit.members import Member
from loyaltykit.metadata import checked_metadata
from loyaltykit.rules import Window, window_end, window_start
from loyaltykit.tiers import Metric, Tier, TierChange, TierProgress, TierTrack


def add_track(
    self: ProgramKernel,
    *,
    name: str,
    metric: Metric = Metric.POINTS_EARNED,
    window: Window = Window.LIFETIME,
) -> TierTrack:
    """A ladder of tiers on one metric, over the lifetime or a calendar period."""
    with self._lock:
        now = self._begin()
        v.text(name, "name")
        track = TierTrack(
            self._state.peek_id("track"),
            name,
            _enum(Metric, metric, "metric"),
            _enum(Window, window, "window"),
        )
        if track.window is Window.DAY:
            raise InvalidArgument("window", "a tier period must be a week or longer")
        self._emit(TrackDefined(track, now))
        return track


def add_tier(
    self: ProgramKernel,
    track_id: int,
    *,
    name: str,
    threshold: Decimal | int,
    multiplier: Decimal | int = Decimal(1),
    metadata: Mapping[str, Any] | None = None,
) -> Tier:
    with self._lock:
        now = self._begin()
        if not _is_id(track_id) or track_id not in self._state.tracks:
            raise TrackNotFound(track_id)
        tier = _checked_tier(
            self,
            Tier(
                self._state.peek_id("tier"),
                track_id,
                name,
                threshold,  # type: ignore[arg-type]  # checked below
                multiplier,  # type: ignore[arg-type]
                checked_metadata(metadata),
            ),
        )
        self._emit(TierDefined(tier, now))
        return tier


def update_tier(self: ProgramKernel, tier_id: int, **changes: Any) -> Tier:
    with self._lock:
        now = self._begin()
        tier = _lookup(self._state.tiers, tier_id)
        if tier is None:
            raise TierNotFound(tier_id)
        if "track_id" in changes and changes["track_id"] != tier.track_id:
            raise InvalidArgument("track_id", "a tier cannot move to another track")
        tier = _checked_tier(self, _evolve(tier, changes, "tier"))
        self._emit(TierDefined(tier, now))
        return tier


def _checked_tier(self: ProgramKernel, tier: Tier) -> Tier:
    v.text(tier.name, "name")
    return attrs.evolve(
        tier,
        threshold=v.threshold(tier.threshold, "threshold"),
        multiplier=v.multiplier(tier.multiplier, "multiplier"),
        metadata=checked_metadata(tier.metadata),
    )


def track(self: ProgramKernel, track_id: int) -> TierTrack:
    with self._lock:
        self._read_configuration()
        track = _lookup(self._state.tracks, track_id)
        if track is None:
            raise TrackNotFound(track_id)
        return track


def tracks(self: ProgramKernel) -> list[TierTrack]:
    with self._lock:
        self._read_configuration()
        return list(self._state.tracks.values())


def tier(self: ProgramKernel, tier_id: int) -> Tier:
    with self._lock:
        self._read_configuration()
        tier = _lookup(self._state.tiers, tier_id)
        if tier is None:
            raise TierNotFound(tier_id)
        return tier


def tiers(self: ProgramKernel, track_id: int | None = None) -> list[Tier]:
    """Tiers in ladder order (lowest threshold first), of one track or of all."""
    with self._lock:
        self._read_configuration()
        ids = [track_id] if track_id is not None else list(self._state.ladders)
        if track_id is not None and (not _is_id(track_id) or track_id not in self._state.tracks):
            raise TrackNotFound(track_id)
        return [t for tid in ids for t in self._state.ladders[tid]]


def tier_progress(self: ProgramKernel, member_id: int, track_id: int) -> TierProgress:
    """The member's metric on a track in its current window, and the next tier up."""
    with self._lock:
        now = self._begin()
        account = self._account(member_id, active=False)
        track = _lookup(self._state.tracks, track_id)
        if track is None:
            raise TrackNotFound(track_id)
        value = self._state.metric_value(account, track)
        start = window_start(track.window, now, self.timezone)
        end = window_end(track.window, start) if start is not None else None
        ladder = self._state.ladders.get(track.id, [])
        next_tier = next((t for t in ladder if t.threshold > value), None)
        return TierProgress(
            track.id,
            value,
            account.tiers.get(track.id),
            next_tier.id if next_tier else None,
            next_tier.threshold - value if next_tier else None,
            start,
            end,
        )


def tier_changes(self: ProgramKernel, member_id: int | None = None) -> list[TierChange]:
    with self._lock:
        self._begin_read()
        return [
            c for c in self._state.tier_changes if member_id is None or c.member_id == member_id
        ]


def set_tier(self: ProgramKernel, member_id: int, track_id: int, tier_id: int | None) -> Member:
    """Assign a tier by hand: the member never falls below it on that track (None lifts it)."""
    with self._lock:
        now = self._begin()
        self._account(member_id, active=False)
        if not _is_id(track_id) or track_id not in self._state.tracks:
            raise TrackNotFound(track_id)
        if tier_id is not None:
            tier = _lookup(self._state.tiers, tier_id)
            if tier is None or tier.track_id != track_id:
                raise TierNotFound(tier_id)
        self._emit(TierFloorSet(member_id, track_id, tier_id, now))
        return member_view(self, member_id)
