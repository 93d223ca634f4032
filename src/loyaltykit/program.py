"""`Program`: one merchant's loyalty program, the single stateful facade of the core.

Every public command takes the program's lock, applies the time-driven events that are
due (auto-approvals, lot expiry, period-tier rollovers), validates all its arguments and
only then emits events into the journal. A command that raises has changed nothing.

This module is the table of contents: the commands live in `loyaltykit._commands`, one
module per concern, and the state, journal, lock and emit path they share in
`loyaltykit._kernel`. Each command is bound here by name, so it is a method of `Program`
with its own signature and docstring and no call in between.
"""

from __future__ import annotations

from loyaltykit._commands import configuration as _configuration
from loyaltykit._commands import ledger as _ledger
from loyaltykit._commands import members as _members
from loyaltykit._commands import orders as _orders
from loyaltykit._commands import persistence as _persistence
from loyaltykit._commands import queries as _queries
from loyaltykit._commands import referrals as _referrals
from loyaltykit._commands import rewards as _rewards
from loyaltykit._commands import tiers as _tiers
from loyaltykit._commands.orders import ORDER_TRIGGER
from loyaltykit._kernel import ProgramKernel

__all__ = ["ORDER_TRIGGER", "Program"]


class Program(ProgramKernel):
    """One tenant's loyalty program: configuration, members, ledger and clock.

    Thread-safe: one re-entrant lock serialises commands and reads, and undoes a command
    that fails half-way (see `AtomicLock`). `clawback` chooses what
    happens when points to claw back were already spent (see `ClawbackPolicy`); `timezone`
    is where calendar windows (caps, period tiers) begin; `started_at` is the instant the
    program started (activities dated before it earn nothing in the Smile fake).
    """

    # From ProgramKernel: the constructor, atomic(), journal(), settings(), the
    # classmethods replay() and restore(), and the raw_state property.

    # ------------------------------------------------------------ configuration
    add_rule = _configuration.add_rule
    update_rule = _configuration.update_rule
    rule = _configuration.rule
    rules = _configuration.rules
    set_referral_rewards = _configuration.set_referral_rewards
    referral_rewards = _configuration.referral_rewards

    # ------------------------------------------------------------ members
    add_member = _members.add_member
    update_member = _members.update_member
    remove_member = _members.remove_member
    member = _members.member
    member_by_email = _members.member_by_email
    member_by_external_id = _members.member_by_external_id
    members = _members.members

    # ------------------------------------------------------------ ledger
    earn = _ledger.earn
    spend = _ledger.spend
    adjust = _ledger.adjust
    award = _ledger.award
    approve = _ledger.approve
    reject = _ledger.reject
    expire_due = _ledger.expire_due
    transaction = _ledger.transaction
    transactions = _ledger.transactions
    lots = _ledger.lots
    expiry_schedule = _ledger.expiry_schedule
    award_usage = _ledger.award_usage

    # ------------------------------------------------------------ rewards
    add_pool = _rewards.add_pool
    add_codes = _rewards.add_codes
    update_pool = _rewards.update_pool
    pool = _rewards.pool
    pools = _rewards.pools
    pool_remaining = _rewards.pool_remaining
    add_offer = _rewards.add_offer
    update_offer = _rewards.update_offer
    offer = _rewards.offer
    offers = _rewards.offers
    redeem = _rewards.redeem
    grant = _rewards.grant
    use_code = _rewards.use_code
    fulfillment = _rewards.fulfillment
    fulfillment_by_code = _rewards.fulfillment_by_code
    fulfillment_by_transaction = _rewards.fulfillment_by_transaction
    fulfillments = _rewards.fulfillments

    # ------------------------------------------------------------ tiers
    add_track = _tiers.add_track
    add_tier = _tiers.add_tier
    update_tier = _tiers.update_tier
    track = _tiers.track
    tracks = _tiers.tracks
    tier = _tiers.tier
    tiers = _tiers.tiers
    tier_progress = _tiers.tier_progress
    tier_changes = _tiers.tier_changes
    set_tier = _tiers.set_tier

    # ------------------------------------------------------------ orders
    record_order = _orders.record_order
    return_order = _orders.return_order
    order = _orders.order
    orders = _orders.orders

    # ------------------------------------------------------------ referrals
    refer = _referrals.refer
    referral = _referrals.referral
    referrals = _referrals.referrals

    # ------------------------------------------------------------ paged reads
    transactions_page = _queries.transactions_page
    count_transactions = _queries.count_transactions
    members_page = _queries.members_page
    count_members = _queries.count_members
    fulfillments_page = _queries.fulfillments_page
    count_fulfillments = _queries.count_fulfillments

    # ------------------------------------------------------------ persistence
    snapshot = _persistence.snapshot
    state = _persistence.state
