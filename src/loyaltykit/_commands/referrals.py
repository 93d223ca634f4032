"""Commands on referrals: recording one, rewarding both sides, completing it on the
receiver's first paid order.

Each function is a method of `Program` (bound there by name, see `loyaltykit.program`).
"""

from __future__ import annotations

from datetime import datetime

import attrs

from loyaltykit import _validate as v
from loyaltykit._commands.ledger import check_room
from loyaltykit._commands.rewards import can_issue, issue
from loyaltykit._kernel import ProgramKernel
from loyaltykit.errors import InvalidArgument, MemberNotFound, ReferralNotFound, SelfReferral
from loyaltykit.events import ReferralRecorded
from loyaltykit.ledger import Account, Transaction, TxnKind, TxnStatus
from loyaltykit.members import MemberState
from loyaltykit.orders import Order, OrderStatus
from loyaltykit.referrals import Referral, ReferralStatus

_POSTED = TxnStatus.POSTED


def refer(
    self: ProgramKernel,
    sender_id: int,
    *,
    receiver_id: int | None = None,
    receiver_email: str | None = None,
) -> Referral:
    """Record that `sender_id` referred a member (by id or email); rewards the receiver
    now and the sender when the receiver's first paid order uses the referral code."""
    with self._lock:
        now = self._begin()
        sender = self._account(sender_id)
        st = self._state
        if receiver_id is None and receiver_email is None:
            raise InvalidArgument("receiver_id", "give receiver_id or receiver_email")
        if receiver_id is None:
            v.text(receiver_email, "receiver_email", required=True)
            assert receiver_email is not None
            receiver_id = st.by_email.get(receiver_email.lower())
            if receiver_id is None:
                raise MemberNotFound(receiver_email)
        receiver = self._account(receiver_id)
        profile = st.profiles[receiver_id]
        sender_email = (st.profiles[sender_id].email or "").lower()
        if receiver_id == sender_id or (
            sender_email and sender_email == (profile.email or "").lower()
        ):
            raise SelfReferral(f"member {sender_id} cannot refer themselves")
        if receiver_id in st.referral_by_receiver:
            raise InvalidArgument("receiver_id", f"member {receiver_id} was already referred")
        if any(
            o.member_id == receiver_id and o.status is OrderStatus.PAID for o in st.orders.values()
        ):
            raise InvalidArgument("receiver_id", f"member {receiver_id} already ordered")
        check_room(receiver, st.referral_rewards.receiver_points, "receiver_id")
        sender_code = st.profiles[sender_id].referral_code
        assert sender_code is not None
        referral = Referral(
            st.peek_id("referral"),
            sender.member_id,
            profile.email,
            receiver_id,
            sender_code,
            now,
        )
        self._emit(ReferralRecorded(referral))
        _reward_side(
            self,
            receiver,
            st.referral_rewards.receiver_points,
            st.referral_rewards.receiver_offer_id,
            now,
            "referral receiver",
        )
        return referral


def _reward_side(
    self: ProgramKernel,
    account: Account,
    points: int,
    offer_id: int | None,
    now: datetime,
    why: str,
) -> None:
    if points:
        check_room(account, points)
        self._emit(
            Transaction(
                self._next_txn(),
                account.member_id,
                TxnKind.EARN,
                points,
                _POSTED,
                now,
                description=why,
            )
        )
        if account.debt:
            self._settle(account.member_id, now)
    if offer_id is not None:
        offer = self._state.offers[offer_id]
        if can_issue(self, offer, now):  # an empty pool must not undo the referral
            issue(self, account, offer, 0, offer.value, now, why)


def complete_referral(self: ProgramKernel, order: Order, now: datetime) -> None:
    st = self._state
    assert order.member_id is not None
    referral_id = st.referral_by_receiver.get(order.member_id)
    if referral_id is None:
        return
    referral = st.referrals[referral_id]
    if referral.status is not ReferralStatus.PENDING:
        return
    receiver_codes = {
        f.code
        for f in st.fulfillments.values()
        if f.member_id == order.member_id and f.source == "referral receiver"
    }
    if not ({referral.code} | receiver_codes) & set(order.coupons):
        return
    paid_before = any(
        o.member_id == order.member_id
        and o.status is OrderStatus.PAID
        and o.external_id != order.external_id
        for o in st.orders.values()
    )
    if paid_before:
        return
    self._emit(
        ReferralRecorded(
            attrs.evolve(
                referral,
                status=ReferralStatus.COMPLETED,
                completed_at=now,
                order_id=order.external_id,
            )
        )
    )
    sender = st.accounts[referral.sender_id]
    if st.profiles[referral.sender_id].state is not MemberState.DISABLED:
        _reward_side(
            self,
            sender,
            st.referral_rewards.sender_points,
            st.referral_rewards.sender_offer_id,
            now,
            "referral sender",
        )


def referral(self: ProgramKernel, referral_id: int) -> Referral:
    with self._lock:
        self._begin_read()
        found = self._state.referrals.get(referral_id)
        if found is None:
            raise ReferralNotFound(referral_id)
        return found


def referrals(self: ProgramKernel, member_id: int | None = None) -> list[Referral]:
    with self._lock:
        self._begin_read()
        return [
            r
            for r in self._state.referrals.values()
            if member_id is None or member_id in (r.sender_id, r.receiver_id)
        ]
