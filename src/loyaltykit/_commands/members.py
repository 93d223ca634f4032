"""Commands on members: enrolment, profile changes, and the member views reads return.

Each function is a method of `Program` (bound there by name, see `loyaltykit.program`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import attrs

from loyaltykit import _validate as v
from loyaltykit._kernel import ProgramKernel, _enum, _evolve
from loyaltykit.errors import DuplicateMember, InvalidArgument, MemberNotFound
from loyaltykit.events import MemberRecorded
from loyaltykit.limits import MAX_CODE
from loyaltykit.members import Member, MemberProfile, MemberState
from loyaltykit.metadata import checked_metadata
from loyaltykit.orders import ClawbackPolicy


def add_member(
    self: ProgramKernel,
    *,
    email: str | None = None,
    external_id: str | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    birthday: date | None = None,
    state: MemberState = MemberState.MEMBER,
    metadata: Mapping[str, Any] | None = None,
    referral_code: str | None = None,
    idempotency_key: str | None = None,
) -> Member:
    """Enrol a member; email (case-insensitive), external id and referral code are unique.

    Without `referral_code` one is generated (`ref-` and 8 hex digits).
    """
    with self._lock:
        now = self._begin()
        fingerprint = (
            email,
            external_id,
            first_name,
            last_name,
            birthday,
            str(state),
            sorted((metadata or {}).items()) if isinstance(metadata, Mapping) else metadata,
            referral_code,
        )

        def run() -> Member:
            profile = _checked_profile(
                self,
                MemberProfile(
                    self._state.peek_id("member"),
                    now,
                    now,
                    email,
                    external_id,
                    first_name,
                    last_name,
                    birthday,
                    state,
                    None,
                    checked_metadata(metadata),
                ),
            )
            code = referral_code
            if code is None:
                code = _new_referral_code(self)
            else:
                v.code(code, "referral_code")
                owner = self._state.by_referral_code.get(code)
                if owner is not None:
                    raise DuplicateMember(
                        f"referral_code {code!r} already belongs to member {owner}"
                    )
            profile = attrs.evolve(profile, referral_code=code)
            self._emit(MemberRecorded(profile))
            return member_view(self, profile.id)

        return self._idempotent(
            idempotency_key,
            fingerprint,
            "add_member",
            run,
            lambda m: f"member:{m.id}",
            lambda ref: member_view(self, int(ref.split(":")[1])),
        )


def update_member(self: ProgramKernel, member_id: int, **changes: Any) -> Member:
    """Change profile fields; balances change only through ledger commands."""
    with self._lock:
        now = self._begin()
        self._account(member_id, active=False)
        old = self._state.profiles[member_id]
        for fixed in ("id", "created_at", "updated_at", "referral_code"):
            if fixed in changes:
                raise InvalidArgument(fixed, f"{fixed} cannot be changed")
        profile = _checked_profile(self, _evolve(old, changes, "member"))
        if profile != old:
            self._emit(MemberRecorded(attrs.evolve(profile, updated_at=now)))
        return member_view(self, member_id)


def remove_member(self: ProgramKernel, member_id: int) -> Member:
    """Disable a member: history is kept, new transactions are refused."""
    return update_member(self, member_id, state=MemberState.DISABLED)


def _checked_profile(self: ProgramKernel, profile: MemberProfile) -> MemberProfile:
    state = _enum(MemberState, profile.state, "state")
    email = v.optional_text(profile.email, "email")
    if email is not None and "@" not in email:
        raise InvalidArgument("email", f"email {email!r} is not an email address")
    xid = v.optional_text(profile.external_id, "external_id", bound=MAX_CODE)
    for field in ("first_name", "last_name"):
        value = getattr(profile, field)
        if value is not None:
            v.text(value, field)
    if profile.birthday is not None and (
        not isinstance(profile.birthday, date) or isinstance(profile.birthday, datetime)
    ):
        raise InvalidArgument("birthday", f"birthday must be a date, got {profile.birthday!r}")
    metadata = checked_metadata(profile.metadata)
    owner = self._state.by_email.get(email.lower()) if email else None
    if owner is not None and owner != profile.id:
        raise DuplicateMember(f"email {email!r} already belongs to member {owner}")
    owner = self._state.by_external_id.get(xid) if xid else None
    if owner is not None and owner != profile.id:
        raise DuplicateMember(f"external_id {xid!r} already belongs to member {owner}")
    return attrs.evolve(profile, state=state, metadata=metadata)


def _new_referral_code(self: ProgramKernel) -> str:
    while True:
        code = f"ref-{self._rng.getrandbits(32):08x}"
        if code not in self._state.by_referral_code:
            return code


def member_view(self: ProgramKernel, member_id: int) -> Member:
    st = self._state
    account = st.accounts[member_id]
    balance = account.available
    if self.clawback is ClawbackPolicy.NEGATIVE_BALANCE:
        balance -= account.debt
    return Member(
        st.profiles[member_id],
        balance,
        account.pending,
        account.earned,
        account.spent,
        account.expired,
        account.clawed_back,
        account.debt,
        account.written_off,
        account.amount_spent,
        dict(account.tiers),
        account.redeemed,
        account.recovered,
        account.newest_credit(),
    )


def member(self: ProgramKernel, member_id: int) -> Member:
    with self._lock:
        self._begin_read()
        self._account(member_id, active=False)
        return member_view(self, member_id)


def member_by_email(self: ProgramKernel, email: str) -> Member:
    with self._lock:
        self._begin_read()
        member_id = self._state.by_email.get(email.lower()) if isinstance(email, str) else None
        if member_id is None:
            raise MemberNotFound(email)
        return member_view(self, member_id)


def member_by_external_id(self: ProgramKernel, external_id: str) -> Member:
    with self._lock:
        self._begin_read()
        member_id = self._state.by_external_id.get(external_id)
        if member_id is None:
            raise MemberNotFound(external_id)
        return member_view(self, member_id)


def members(self: ProgramKernel) -> list[Member]:
    with self._lock:
        self._begin_read()
        return [member_view(self, mid) for mid in self._state.profiles]
