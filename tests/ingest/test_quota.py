"""The quota planner against quota tables: which scopes the background calls, when, and what it leaves for Sync now."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from src.ingest.quota import (
    ENABLEBANKING_POLICY,
    GOCARDLESS_POLICY,
    AccountAllowances,
    Allowance,
    QuotaPolicy,
    plan_account,
    plan_connection,
)
from src.models.enums import GcScope

MIDNIGHT = datetime(2026, 12, 1, tzinfo=UTC)
NEXT_MIDNIGHT = MIDNIGHT + timedelta(days=1)
BOTH = (GcScope.balances, GcScope.transactions)


def account(
    remaining: int | None,
    *,
    last: datetime | None = None,
    reset: datetime | None = NEXT_MIDNIGHT,
    limit: int | None = 4,
    details_at: datetime | None = MIDNIGHT,
    person_at: datetime | None = None,
) -> AccountAllowances:
    allowance = (
        Allowance()
        if remaining is None
        else Allowance(limit=limit, remaining=remaining, reset_at=reset, last_call_at=last)
    )
    return AccountAllowances(
        key="acc-1",
        scopes={scope: allowance for scope in GcScope},
        details_fetched_at=details_at,
        person_synced_at=person_at,
    )


def at(hours: float) -> datetime:
    return MIDNIGHT + timedelta(hours=hours)


class TestOneScope:
    def test_a_scope_never_called_is_due_at_once_with_its_details(self) -> None:
        plan = plan_account(account(None, details_at=None), at(3), GOCARDLESS_POLICY)
        assert plan.call_now == {GcScope.details, GcScope.balances, GcScope.transactions}
        assert plan.scopes[GcScope.transactions].remaining == 4

    @pytest.mark.parametrize(
        ("remaining", "last_hour", "next_hour"),
        [
            (3, 0, 8),  # two to spend over 24 h: the next a third of the way
            (2, 8, 16),  # one to spend over 16 h: half way
            (1, 16, 24),  # only the person's call is left: at the reset
            (0, 16, 24),  # none left: at the reset
        ],
    )
    def test_gocardless_spreads_what_it_may_spend_and_keeps_one_for_sync_now(
        self, remaining: int, last_hour: float, next_hour: float
    ) -> None:
        plan = plan_account(account(remaining, last=at(last_hour)), at(last_hour), GOCARDLESS_POLICY)
        assert plan.next_at == at(next_hour)
        assert plan.call_now == frozenset()

    def test_enable_banking_keeps_no_reserve_because_the_persons_read_is_attended(self) -> None:
        plan = plan_account(account(1, last=at(16)), at(20), ENABLEBANKING_POLICY)
        assert plan.next_at == at(20)  # 16 + (24 - 16) / 2
        assert set(BOTH) <= plan.call_now

    def test_a_bank_that_refused_earlier_than_its_headers_said_is_believed_until_its_reset(self) -> None:
        # Headers had promised four; the bank answered 429 after two: stored as none left until the reset.
        refused = account(0, last=at(9), reset=at(24))
        assert plan_account(refused, at(23.9), GOCARDLESS_POLICY).call_now == frozenset()
        assert plan_account(refused, at(24), GOCARDLESS_POLICY).call_now >= set(BOTH)

    def test_a_refusal_without_reset_rests_for_the_policys_window(self) -> None:
        refused = account(0, last=at(9), reset=None)
        assert plan_account(refused, at(20), GOCARDLESS_POLICY).next_at == at(33)

    def test_the_reserve_is_released_once_the_person_has_synced_within_the_allowance(self) -> None:
        kept = plan_account(account(1, last=at(12)), at(14), GOCARDLESS_POLICY)
        released = plan_account(account(1, last=at(12), person_at=at(12)), at(14), GOCARDLESS_POLICY)
        yesterday = plan_account(account(1, last=at(12), person_at=at(-2)), at(14), GOCARDLESS_POLICY)
        assert kept.next_at == at(24)
        assert released.next_at == at(18)
        assert yesterday.next_at == at(24)


class TestDetails:
    @pytest.mark.parametrize(
        ("details_at", "read"),
        [(None, True), (at(-3 * 24), False), (at(-7 * 24), True)],
        ids=["missing", "three days old", "a week old"],
    )
    def test_details_are_read_when_missing_or_weekly(self, details_at: datetime | None, read: bool) -> None:
        plan = plan_account(account(None, details_at=details_at), at(1), GOCARDLESS_POLICY)
        assert (GcScope.details in plan.call_now) is read

    def test_details_wait_when_their_scope_has_nothing_to_spend(self) -> None:
        plan = plan_account(account(1, last=at(1), details_at=None), at(2), GOCARDLESS_POLICY)
        assert GcScope.details not in plan.call_now


class TestConnection:
    def test_a_connection_without_accounts_yet_is_due(self) -> None:
        assert plan_connection([], at(5), GOCARDLESS_POLICY).due

    def test_a_connection_is_due_when_any_account_is_and_says_when_otherwise(self) -> None:
        spent = replace(account(1, last=at(16)), key="spent")
        fresh = replace(account(3, last=at(0)), key="fresh")
        assert plan_connection([spent, fresh], at(8), GOCARDLESS_POLICY).due
        later = plan_connection([spent, fresh], at(5), GOCARDLESS_POLICY)
        assert not later.due
        assert later.next_sync_at == at(8)


def simulate_days(
    policy: QuotaPolicy, days: int, *, sync_now_hour: float | None, step_minutes: int = 15
) -> list[dict[str, int]]:
    """A bank with the policy's daily allowance, reset at midnight, and the planner asked every `step_minutes`:
    the background calls what the plan says; the person presses Sync now once a day. Per day: calls by whom."""
    remaining = policy.daily_limit
    state = Allowance()
    person_at: datetime | None = None
    days_out: list[dict[str, int]] = []
    for day in range(days):
        counts = {"background": 0, "person": 0, "refused": 0}
        start = MIDNIGHT + timedelta(days=day)
        remaining = policy.daily_limit
        for step in range(24 * 60 // step_minutes):
            now = start + timedelta(minutes=step * step_minutes)
            reset = start + timedelta(days=1)
            if sync_now_hour is not None and now == start + timedelta(hours=sync_now_hour):
                counted = policy.reserve > 0  # an attended read is not counted (Enable Banking)
                if counted and remaining == 0:
                    counts["refused"] += 1
                else:
                    remaining -= 1 if counted else 0
                    counts["person"] += 1
                    person_at = now
                    state = Allowance(policy.daily_limit, remaining, reset, now)
            current = AccountAllowances(key="a", scopes={GcScope.transactions: state}, person_synced_at=person_at)
            if GcScope.transactions in plan_account(current, now, policy).call_now:
                assert remaining > 0, f"the planner called a scope with none left at {now}"
                remaining -= 1
                counts["background"] += 1
                state = Allowance(policy.daily_limit, remaining, reset, now)
        days_out.append(counts)
    return days_out


@pytest.mark.parametrize("sync_now_hour", [None, 7.5, 12, 23])
def test_a_week_of_gocardless_days_syncs_three_times_and_leaves_the_person_their_call(
    sync_now_hour: float | None,
) -> None:
    for counts in simulate_days(GOCARDLESS_POLICY, 7, sync_now_hour=sync_now_hour):
        assert counts["refused"] == 0
        assert counts["background"] + counts["person"] >= 3
        assert counts["background"] + counts["person"] <= 4
        assert counts["person"] == (0 if sync_now_hour is None else 1)


def test_a_week_of_enable_banking_days_spends_the_four_unattended_reads() -> None:
    for counts in simulate_days(ENABLEBANKING_POLICY, 7, sync_now_hour=12):
        assert counts == {"background": 4, "person": 1, "refused": 0}
