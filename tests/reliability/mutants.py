"""Hand-made mutations of the core, and how many of them the audited state machine kills.

Each mutation is one small, plausible bug: an exact piece of the core's source and what it
becomes. The run copies `src/loyaltykit` once per mutation, applies the change to the copy,
and runs the state machines of `tests/test_machine.py` against it in a fresh interpreter
(the copy first on PYTHONPATH), under the `ci` example budget with shrinking off, no example
database and derandomized examples, so two runs over the same trees give the same figure.
A mutation is killed when any machine fails. `--tests DIR` runs a pytest directory instead
(e.g. the unit tests, for comparison).

    .venv/bin/python tests/reliability/mutants.py               # this worktree
    .venv/bin/python tests/reliability/mutants.py --root /tmp/old  # another tree (src, tests)
    .venv/bin/python tests/reliability/mutants.py --check       # every mutation applies once

Snippets are found by text in any module of the package (exactly one occurrence), so the
set survives modules being split or moved as long as the mutated lines stay as they are.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Mutation:
    name: str
    why: str
    old: str
    new: str
    others: tuple[tuple[str, str], ...] = ()
    """The same change as the code read at other times (before a module split, ...)."""

    def changes(self) -> list[tuple[str, str]]:
        return [(self.old, self.new), *self.others]


def M(name: str, why: str, old: str, new: str, *others: tuple[str, str]) -> Mutation:
    return Mutation(name, why, old, new, others)

MUTATIONS: list[Mutation] = [
    # -- the fold (state.py) -----------------------------------------------------------
    M("pending_untracked", "pending total never grows",
      "account.pending += points", "account.pending += 0"),
    M("credit_metric_lost", "credits do not count in the lifetime points metric",
      "        account.points_metric += points\n        if self.tracks:",
      "        if self.tracks:"),
    M("debt_never_repaid", "later credits do not pay back a negative balance",
      "settled = min(points, account.debt)", "settled = 0"),
    M("expiry_counted_as_spend", "expired points counted as spent",
      "            account.expired += need\n            expires_at = self.txns",
      "            account.spent += need\n            expires_at = self.txns"),
    M("settle_keeps_debt", "a settlement does not lower the debt",
      "            account.debt -= need\n            account.clawed_back += need",
      "            account.clawed_back += need"),
    M("rejected_award_still_capped", "a rejected award still counts towards the cap",
      "times.remove(row[CREATED_AT])", "pass"),
    M("approved_lot_never_expires", "an approved award's lot gets no expiry",
      "resolved[EXPIRES_AT] = event.expires_at", "resolved[EXPIRES_AT] = None"),
    M("approval_not_in_order", "an approved order award is not counted in the order",
      "awarded=order.awarded + row[POINTS])", "awarded=order.awarded)"),
    M("order_clawback_uncounted", "a clawback is not counted against its order",
      "clawed -= row[POINTS]", "clawed -= 0"),
    M("shortfall_policy_swapped", "write-off and pending deduction swapped",
      "if self.policy is ClawbackPolicy.WRITE_OFF:\n            account.written_off",
      "if self.policy is ClawbackPolicy.PENDING_DEDUCTION:\n            account.written_off"),
    M("shortfall_metric_kept", "a shortfall leaves the points metric",
      "        account.points_metric -= event.points\n", ""),
    M("new_track_ignores_history", "a new lifetime track starts at zero",
      "account.metrics[track.id] = (None, Decimal(history))",
      "account.metrics[track.id] = (None, Decimal(0))"),
    M("ladder_by_id", "tiers ordered by id, not threshold",
      "ladder.sort(key=lambda t: (t.threshold, t.id))", "ladder.sort(key=lambda t: t.id)"),
    M("refund_counts_in_new_period", "a refund of an earlier period's order counts now",
      "            if origin is not None and window_start(track.window, origin, self.zone)"
      " != start:\n                continue\n            period, value = account.metrics.get("
      "track.id, (None, Decimal(0)))\n            if start is not None",
      "            period, value = account.metrics.get("
      "track.id, (None, Decimal(0)))\n            if start is not None"),
    M("past_period_counts", "a change dated in an earlier period counts in the current one",
      "                if period is not None and start < period:\n"
      "                    continue  # a change dated in a past period no longer counts",
      "                if False:\n                    continue"),
    M("rollover_unscheduled", "a period tier never rolls over",
      "heapq.heappush(self.due, (end, DUE_ROLLOVER, account.member_id, track.id))", "pass"),
    M("issued_code_not_marked", "an issued list code stays available",
      "self.pools[event.pool_id].mark_issued(fulfillment.code)", "pass"),
    M("last_track_wins", "the tier multiplier of the last track, not the best",
      "best = max(best, self.tiers[tier_id].multiplier)",
      "best = self.tiers[tier_id].multiplier"),
    M("floor_never_lifted", "lifting a manual tier floor does nothing",
      "account.tier_floors.pop(event.track_id, None)", "pass"),
    M("refund_adds_spend", "a refund adds to the amount spent",
      "account.amount_spent += delta", "account.amount_spent += abs(delta)"),
    M("plain_credit_metric_lost", "fast-path credits skip the lifetime points metric",
      "        account.available += points\n        account.points_metric += points\n",
      "        account.available += points\n"),
    M("plain_spend_uncounted", "fast-path spends are not counted as spent",
      "            account.consume(need, self.remaining)\n        account.spent += need",
      "            account.consume(need, self.remaining)"),
    M("plain_spend_keeps_empty_lot", "a spend that empties its lot leaves it live at 0",
      "if left > need:", "if left >= need:"),
    # -- ledger, rules, tiers, orders, coupons, rewards --------------------------------
    M("lots_appended_unsorted", "a shorter-lived lot is consumed after a longer-lived one",
      "        if not lots or lots[-1] < key:\n            lots.append(key)",
      "        if True:\n            lots.append(key)"),
    M("perpetual_lots_first", "never-expiring lots consumed before expiring ones",
      "for lots, keyed in ((self.expiring, True), (self.perpetual, False)):",
      "for lots, keyed in ((self.perpetual, False), (self.expiring, True)):"),
    M("points_rounded_up", "fractional points rounded up",
      "return int((base * tier_multiplier).to_integral_value(rounding=ROUND_FLOOR))",
      "return int((base * tier_multiplier).to_integral_value(rounding=\"ROUND_CEILING\"))"),
    M("override_skips_tier", "an explicit points override skips the tier multiplier",
      "        base = Decimal(override if override is not None else rule.points)",
      "        if override is not None:\n            return override\n"
      "        base = Decimal(rule.points)"),
    M("week_starts_sunday", "calendar weeks start on Sunday",
      "start = day - timedelta(days=day.weekday())",
      "start = day - timedelta(days=(day.weekday() + 1) % 7)"),
    M("windows_ignore_timezone", "calendar windows in UTC, not the program's timezone",
      "local = moment.astimezone(zone)", "local = moment"),
    M("december_rolls_to_january_same_year", "a December window ends in January of its year",
      "(start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)",
      "(start.year, start.month % 12 + 1)"),
    M("threshold_exclusive", "reaching a threshold exactly is not enough",
      "if value >= tier.threshold:", "if value > tier.threshold:"),
    M("floor_only_without_tier", "a manual floor counts only when no tier is reached",
      "if floor is not None and (reached is None or _rank(floor) > _rank(reached)):",
      "if floor is not None and reached is None:"),
    M("outstanding_ignores_clawed", "a refund claws back what was already clawed back",
      "return self.awarded - self.clawed_back", "return self.awarded"),
    M("proportional_clawback_rounds_up", "partial clawbacks round up",
      "return min(awarded, int(share.to_integral_value(rounding=ROUND_HALF_UP)))",
      "return min(awarded, int(share.to_integral_value(rounding=\"ROUND_UP\")))"),
    M("pool_expiry_exclusive", "a pool still issues at its expiry instant",
      "if self.pool.expires_at is not None and now >= self.pool.expires_at:",
      "if self.pool.expires_at is not None and now > self.pool.expires_at:"),
    M("wrong_code_marked", "issuing marks the last available code, not the issued one",
      "            self.available.pop(0)\n", "            self.available.pop()\n"),
    M("variable_above_max", "a variable offer accepts one step above its maximum",
      "if offer.max_points is not None and points > offer.max_points:",
      "if offer.max_points is not None and points > offer.max_points + offer.step:"),
    M("fixed_price_ignores_caller", "a fixed-price offer takes any points the caller names",
      "if points is not None and points != offer.points_price:",
      "if points is not None and points < 0:"),
    # -- commands (program.py) ---------------------------------------------------------
    M("cap_window_exclusive", "an award at the window's first instant is not counted",
      "sum(1 for t in times if t >= start)", "sum(1 for t in times if t > start)"),
    M("cap_off_by_one", "one award more than the cap",
      "if count >= cap.max_awards:", "if count > cap.max_awards:"),
    M("inactive_rule_awards", "an inactive rule still awards",
      'raise RuleInactive(f"rule {rule.id} ({rule.name}) is inactive")', "pass"),
    M("tier_restriction_ignored", "a tier-restricted offer is open to everyone",
      "if offer.eligible_tiers and not set(offer.eligible_tiers) & set(account.tiers.values()):",
      "if False:"),
    M("inactive_offer_redeems", "an inactive offer can still be redeemed",
      'raise OfferInactive(f"offer {offer.id} ({offer.name}) is inactive")', "pass"),
    M("pending_is_spendable", "pending points can be spent",
      "if points > account.available:\n", "if points > account.available + account.pending:\n"),
    M("redeem_overdraft", "a redemption may overdraw by 50 points",
      "if price > account.available:", "if price > account.available + 50:"),
    M("due_work_exclusive_on_read", "commands see lots due now as still live",
      "if due and due[0][0] <= now:", "if due and due[0][0] < now:"),
    M("catch_up_exclusive", "expire_due leaves the lots due this very instant",
      "while due and due[0][0] <= now:", "while due and due[0][0] < now:"),
    M("lifetime_from_award", "an approved award's lifetime starts at the award, not approval",
      "expires_at = at + lifetime if lifetime is not None else None",
      "expires_at = row[CREATED_AT] + lifetime if lifetime is not None else None"),
    M("award_never_expires", "awards of a rule with a points lifetime never expire",
      "now + lifetime if lifetime else None,", "None,"),
    M("delay_ignored", "delayed approval always waits 30 days",
      "due = now + (rule.approval_delay or timedelta(days=30))",
      "due = now + timedelta(days=30)"),
    M("half_settlement", "a settlement pays off half of what it could",
      "amount = min(account.debt, account.available)\n        if amount > 0:",
      "amount = min(account.debt, account.available) // 2\n        if amount > 0:"),
    M("clawback_repeated", "a partial return claws back again what was already taken",
      "points = max(0, target - order.clawed_back)", "points = max(0, target)"),
    M("refund_keeps_pending", "a refund leaves the order's pending awards pending",
      'self._emit_resolution(row, False, now, "order revoked")', "pass"),
    M("idempotency_conflict_ignored", "a key reused with another payload returns the first",
      "if known[0] != printed:", "if False:"),
    M("expired_coupon_used_by_order", "an order uses a reward code past its expiry",
      "expired = fulfillment.expires_at is not None and fulfillment.expires_at <= now",
      "expired = False"),
    M("code_usable_at_expiry", "use_code accepts a code at its expiry instant",
      "if fulfillment.expires_at is not None and when >= fulfillment.expires_at:",
      "if fulfillment.expires_at is not None and when > fulfillment.expires_at:"),
    M("self_referral_allowed", "a member can refer themselves",
      'raise SelfReferral(f"member {sender_id} cannot refer themselves")', "pass"),
    M("second_referral_allowed", "a member can be referred twice",
      "if receiver_id in st.referral_by_receiver:", "if False:"),
    M("increase_earns_whole_amount", "an order's increase earns on its whole new amount",
      "increase = money - held", "increase = money"),
    M("over_return_allowed", "a return may exceed what is left of the order",
      "if money > order.remaining_amount:", "if money > order.amount:"),
    M("points_return_beyond_outstanding", "a points return may exceed what the order holds",
      "if points > order.outstanding:", "if points > order.awarded:"),
    M("fixed_rule_earns_on_increase", "an order increase earns the fixed order rules again",
      "and (first or rule.kind is not RuleKind.FIXED)", "and True",
      ("if not first and rule.kind is RuleKind.FIXED:", "if False:")),
    M("referral_completed_late", "a referral completes on a later order, not the first",
      "if paid_before:", "if False:"),
    M("zero_point_earn", "an earn of zero points is recorded",
      "    if type(points) is not int or points <= 0 or points > _FAST:\n"
      "        v.points(points)\n    if account.earned",
      "    if type(points) is not int or points < 0 or points > _FAST:\n"
      "        v.points(points)\n    if account.earned",
      ("    if type(points) is not int or points <= 0:\n        v.points(points)\n"
       "    if type(description) is not str:\n        v.text(description, \"description\")"
       "\n    expires_at = None",
       "    if type(points) is not int or points < 0:\n        v.points(points)\n"
       "    if type(description) is not str:\n        v.text(description, \"description\")"
       "\n    expires_at = None"),
      ("        if type(points) is not int or points <= 0:\n            v.points(points)\n"
       "        if type(description) is not str:\n"
       "            v.text(description, \"description\")\n        expires_at = None",
       "        if type(points) is not int or points < 0:\n            v.points(points)\n"
       "        if type(description) is not str:\n"
       "            v.text(description, \"description\")\n        expires_at = None")),
    M("negative_adjust_overdraws", "a negative adjustment may overdraw the balance",
      "if points_change < 0 and -points_change > account.available:",
      "if points_change < 0 and -points_change > account.available + account.pending:"),
]


def _core_modules(package: Path) -> list[Path]:
    """The core's modules: not the audit and not the testing kit, which judge it."""
    return [
        path
        for path in sorted(package.rglob("*.py"))
        if not path.name.startswith(("_audit", "auditing")) and "testing" not in path.parts
    ]


def locate(package: Path, mutation: Mutation) -> tuple[Path, str, str]:
    """The one core module holding one of the mutation's snippets (exactly once overall),
    with that snippet and its replacement."""
    modules = [(path, path.read_text()) for path in _core_modules(package)]
    tried = []
    for old, new in mutation.changes():
        hits = [(path, text.count(old)) for path, text in modules if old in text]
        total = sum(count for _, count in hits)
        if total == 1:
            return hits[0][0], old, new
        where = ", ".join(f"{p.name} x{c}" for p, c in hits) or "nowhere"
        tried.append(f"found {total} times ({where}): {old[:60]!r}")
    raise LookupError("; ".join(tried))


RUNNER = """
import importlib.util, sys
from hypothesis import HealthCheck, Phase, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test
import loyaltykit
assert loyaltykit.__file__.startswith(sys.argv[1]), loyaltykit.__file__
spec = importlib.util.spec_from_file_location("machine_tests", sys.argv[2])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
machines = [
    value for value in vars(module).values()
    if isinstance(value, type) and issubclass(value, RuleBasedStateMachine)
    and value.__module__ == "machine_tests"
]
assert machines, "no state machine found"
budget = settings(
    max_examples=15, stateful_step_count=25, deadline=None, database=None,
    derandomize=True, phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck), report_multiple_bugs=False,
)
for machine in machines:
    run_state_machine_as_test(machine, settings=budget)
"""


def run_one(root: Path, mutation: Mutation | None, tests: str | None) -> tuple[bool, float, str]:
    """Apply `mutation` (None: the unmutated core) to a copy and run; (killed, s, tail)."""
    with tempfile.TemporaryDirectory(prefix="mutant-") as tmp:
        package = Path(tmp) / "loyaltykit"
        shutil.copytree(root / "src" / "loyaltykit", package)
        if mutation is not None:
            path, old, new = locate(package, mutation)
            path.write_text(path.read_text().replace(old, new))
        env = {**os.environ, "PYTHONPATH": tmp, "PYTHONDONTWRITEBYTECODE": "1"}
        if tests is None:
            command = [sys.executable, "-c", RUNNER, tmp, str(root / "tests" / "test_machine.py")]
        else:
            env["HYPOTHESIS_PROFILE"] = "ci"
            command = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider",
                       str(root / tests)]
        started = time.perf_counter()
        done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=root)
        took = time.perf_counter() - started
        tail = (done.stdout + done.stderr).strip().splitlines()[-1:] or [""]
        return done.returncode != 0, took, tail[0][:110]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="tree with src/ and tests/")
    parser.add_argument("--tests", help="run this pytest directory instead of the machines")
    parser.add_argument("--only", default="", help="comma-separated mutation names")
    parser.add_argument("--check", action="store_true", help="only check that each applies")
    args = parser.parse_args()
    chosen = [m for m in MUTATIONS if not args.only or m.name in args.only.split(",")]
    package = args.root / "src" / "loyaltykit"
    missing = 0
    for mutation in chosen:
        try:
            locate(package, mutation)
        except LookupError as exc:
            missing += 1
            print(f"{mutation.name}: {exc}")
    if args.check or missing:
        print(f"{len(chosen) - missing} of {len(chosen)} mutations apply")
        return 1 if missing else 0
    killed, took, _ = run_one(args.root, None, args.tests)
    if killed:
        print("the unmutated core already fails: fix that first")
        return 1
    print(f"unmutated core passes ({took:.1f} s)")
    kills = 0
    for mutation in chosen:
        killed, took, tail = run_one(args.root, mutation, args.tests)
        kills += killed
        verdict = "killed " if killed else "SURVIVED"
        print(f"{verdict} {mutation.name:40s} {took:5.1f} s  {tail if killed else mutation.why}")
    print(f"\n{kills} of {len(chosen)} mutations killed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
