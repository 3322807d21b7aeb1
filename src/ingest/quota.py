"""The quota planner: when the background sync may call each account's scopes, so that it never spends a call the
bank would refuse and always leaves the person's own Sync now its call.

Banks allow a few reads a day per account and scope (details, balances, transactions): GoCardless says how many in
each answer's headers (usually four a day); PSD2 banks behind Enable Banking allow four unattended reads a day, and
finsync counts its own. The rule, one function per provider (`QuotaPolicy`), the same shape for both:

- **The allowance.** A scope has `limit` calls until `reset_at`, `remaining` of them left. A reset that has passed
  gives the whole allowance back; a scope never called has the policy's daily limit, all left. A refusal (429) is
  stored as none left until the bank's reset (or the back-off), whatever the headers said before: a bank that
  answers 429 earlier than its headers promised is believed.
- **The reserve.** The background may spend `remaining - reserve`: GoCardless keeps one call per scope for Sync now
  (the person's call counts against the same allowance); Enable Banking keeps none, because a person's own read is
  attended and banks do not count it. Once the person has synced within the current allowance, their call is spent
  and the reserve is released to the background.
- **Spreading.** The calls the background may spend are spread evenly over what is left of the allowance: after a
  call at `t` with `b` calls left to spend, the next is due at `t + (reset - t) / (b + 1)`; with none left to spend,
  at the reset. With four a day that is three background reads eight hours apart, and the person's fourth.
- **Details** are read only when missing (a new account, or a re-authorisation: its accounts are new rows), or a
  week after the last read, and only when the scope has a call to spend.
- **Due.** An account is due when its transactions or balances scope is; a connection when any of its accounts is
  (a connection without accounts yet is due at once: its accounts are discovered by the run). A run started a little
  before the due time (`EARLY`) still counts as due, so that the sensor's tick and the launch do not cost a slot.

Nothing here reads the database or the clock: `src/ingest/allowances.py` gathers the inputs, callers pass `now`.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from src.models.enums import GcScope

DAY = timedelta(days=1)
DETAILS_EVERY = timedelta(days=7)
EARLY = timedelta(minutes=10)
"""How far ahead of its due time a scope may be called: the sensor ticks and runs start a few minutes late or early."""


@dataclass(frozen=True)
class QuotaPolicy:
    """One provider's allowance rule."""

    provider: str
    daily_limit: int
    """Calls a day per account and scope when the bank has not said (GoCardless's usual four; PSD2's four)."""
    reserve: int
    """Calls per scope the background leaves for the person's Sync now."""
    window: timedelta = DAY
    """How long an allowance lasts when the bank gives no reset time."""


GOCARDLESS_POLICY = QuotaPolicy(provider="gocardless", daily_limit=4, reserve=1)
ENABLEBANKING_POLICY = QuotaPolicy(provider="enablebanking", daily_limit=4, reserve=0)
POLICIES: Mapping[str, QuotaPolicy] = {p.provider: p for p in (GOCARDLESS_POLICY, ENABLEBANKING_POLICY)}


@dataclass(frozen=True)
class Allowance:
    """What finsync knows of one account's scope: the bank's last word (or finsync's own count)."""

    limit: int | None = None
    remaining: int | None = None
    reset_at: datetime | None = None
    last_call_at: datetime | None = None
    """When the scope was last called (successfully or refused)."""


@dataclass(frozen=True)
class ScopeState:
    """A scope's allowance as of `now`, for the plan and for the page."""

    limit: int
    remaining: int
    resets_at: datetime | None
    """When the calls come back (None: the scope has not been called in the current allowance)."""
    next_call_at: datetime
    """When the background may call it next (`now` or earlier: now)."""
    spendable: int
    """Calls the background may spend before the reset (beyond the reserve)."""

    def due(self, now: datetime) -> bool:
        """Due now: a little early is fine while there are calls to spend; a reset is never anticipated (the bank
        would refuse the call)."""
        if self.spendable <= 0:
            return self.next_call_at <= now
        return self.next_call_at <= now + EARLY


@dataclass(frozen=True)
class AccountAllowances:
    """One account's scopes, and what decides its details and reserve."""

    key: str
    """The provider's account id (GoCardless account id, Enable Banking uid)."""
    scopes: Mapping[GcScope, Allowance]
    account_id: uuid.UUID | None = None
    """The unified account it feeds, once derived."""
    details_fetched_at: datetime | None = None
    person_synced_at: datetime | None = None
    """The person's last Sync now of the connection: spent from the current allowance when it falls within it."""


@dataclass(frozen=True)
class AccountPlan:
    key: str
    account_id: uuid.UUID | None
    call_now: frozenset[GcScope]
    next_at: datetime
    """When the account's transactions or balances are due next (`now` or earlier when due now)."""
    scopes: Mapping[GcScope, ScopeState]


@dataclass(frozen=True)
class ConnectionPlan:
    due: bool
    next_sync_at: datetime
    accounts: Mapping[str, AccountPlan]


def scope_state(allowance: Allowance, now: datetime, policy: QuotaPolicy, *, reserve: int) -> ScopeState:
    """The scope as of `now` and when the background may call it next (the module's rule)."""
    limit = allowance.limit or policy.daily_limit
    if allowance.remaining is None or (allowance.reset_at is not None and allowance.reset_at <= now):
        # Never called, or the allowance came back: all of it, due at once.
        return ScopeState(limit=limit, remaining=limit, resets_at=None, next_call_at=now, spendable=limit - reserve)
    remaining = max(0, allowance.remaining)
    last = allowance.last_call_at or now
    resets_at = allowance.reset_at or last + policy.window
    if resets_at <= now:
        return ScopeState(limit=limit, remaining=limit, resets_at=None, next_call_at=now, spendable=limit - reserve)
    to_spend = remaining - reserve
    if to_spend <= 0:
        return ScopeState(limit, remaining, resets_at, next_call_at=resets_at, spendable=0)
    return ScopeState(
        limit, remaining, resets_at, next_call_at=last + (resets_at - last) / (to_spend + 1), spendable=to_spend
    )


def plan_account(account: AccountAllowances, now: datetime, policy: QuotaPolicy) -> AccountPlan:
    """Which of the account's scopes the background calls now, and when the account is due next."""
    states: dict[GcScope, ScopeState] = {}
    for scope in GcScope:
        allowance = account.scopes.get(scope, Allowance())
        states[scope] = scope_state(allowance, now, policy, reserve=_reserve(account, allowance, now, policy))
    call_now = {scope for scope in (GcScope.balances, GcScope.transactions) if states[scope].due(now)}
    details_wanted = account.details_fetched_at is None or account.details_fetched_at + DETAILS_EVERY <= now
    if details_wanted and states[GcScope.details].due(now):
        call_now.add(GcScope.details)
    next_at = min(states[GcScope.balances].next_call_at, states[GcScope.transactions].next_call_at)
    return AccountPlan(
        key=account.key, account_id=account.account_id, call_now=frozenset(call_now), next_at=next_at, scopes=states
    )


def _reserve(account: AccountAllowances, allowance: Allowance, now: datetime, policy: QuotaPolicy) -> int:
    """The policy's reserve, released once the person has synced within the scope's current allowance."""
    synced = account.person_synced_at
    if policy.reserve == 0 or synced is None or allowance.reset_at is None or allowance.reset_at <= now:
        return policy.reserve
    window_start = allowance.reset_at - policy.window
    return 0 if synced >= window_start else policy.reserve


def plan_connection(accounts: Iterable[AccountAllowances], now: datetime, policy: QuotaPolicy) -> ConnectionPlan:
    """The connection's plan: due when any account's transactions or balances are due (or it has no account yet)."""
    plans = {account.key: plan_account(account, now, policy) for account in accounts}
    if not plans:
        return ConnectionPlan(due=True, next_sync_at=now, accounts={})
    next_sync_at = min(plan.next_at for plan in plans.values())
    due = any(GcScope.transactions in p.call_now or GcScope.balances in p.call_now for p in plans.values())
    return ConnectionPlan(due=due, next_sync_at=max(next_sync_at, now) if due else next_sync_at, accounts=plans)
