"""The sandbox's world: agreements, requisitions, accounts, tokens, the clock, faults, limits and counters.

All of it lives in memory and is touched only from the event loop (handlers are async and never await while
changing state), so no lock is needed. It can be saved to a JSON file so that `make dev` survives a restart.
"""

import random
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from src.sandbox.common import World, dump_row, undump_row
from src.sandbox.config import SandboxConfig

SCOPES = ("details", "balances", "transactions")


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Agreement:
    id: str
    created: datetime
    institution_id: str
    max_historical_days: int
    access_valid_for_days: int
    access_scope: list[str]
    reconfirmation: bool = False
    accepted: datetime | None = None

    def expires_at(self) -> datetime | None:
        if self.accepted is None:
            return None
        return self.accepted + timedelta(days=self.access_valid_for_days)

    def payload(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "created": iso(self.created),
            "institution_id": self.institution_id,
            "max_historical_days": self.max_historical_days,
            "access_valid_for_days": self.access_valid_for_days,
            "access_scope": list(self.access_scope),
            "accepted": iso(self.accepted) if self.accepted else None,
            "reconfirmation": self.reconfirmation,
        }


@dataclass
class Requisition:
    id: str
    created: datetime
    redirect: str
    institution_id: str
    agreement: str
    reference: str
    status: str = "CR"
    accounts: list[str] = field(default_factory=list)
    user_language: str = "EN"
    ssn: str | None = None
    account_selection: bool = False
    redirect_immediate: bool = False
    customer_id: str | None = None


@dataclass
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    error_status: int = 503
    burst_429: int = 0
    error_count: int = 0  # the next N matching calls fail with error_status, then calls succeed again
    path_prefix: str | None = None
    methods: list[str] | None = None  # only these HTTP methods (default: all)


@dataclass
class Account:
    id: str
    requisition_id: str
    institution_id: str
    customer_id: str
    index: int
    created: datetime
    last_accessed: datetime | None = None
    # ok · access_expired (bank revoked) · inactive (closed at the bank) · suspended
    access: str = "ok"
    id_mode: str = "stable"  # stable · reissued (new ids on every fetch) · blank (no ids at all)
    hidden: list[str] = field(default_factory=list)
    fetches: int = 0
    bank_daily_limit: int | None = None
    # "scope|YYYY-MM-DD" → successful calls that day (the per-account daily allowance counts only successes)
    usage: dict[str, int] = field(default_factory=dict)


@dataclass
class Counter:
    calls: int = 0
    ok: int = 0
    rate_limited: int = 0
    over_quota_calls: int = 0  # calls made although the remaining count was already zero


@dataclass
class Token:
    kind: str
    expires_at: datetime


class SandboxState(World[SandboxConfig]):
    def reset(self) -> None:
        self.clock_offset = timedelta(0)
        self.agreements: dict[str, Agreement] = {}
        self.requisitions: dict[str, Requisition] = {}
        self.accounts: dict[str, Account] = {}
        self.tokens: dict[str, Token] = {}
        self.account_daily_limit = self.config.account_daily_limit
        self.general_limits = dict(self.config.general_limits)
        self.access_lifetime = self.config.access_lifetime_seconds
        self.refresh_lifetime = self.config.refresh_lifetime_seconds
        self.windows: dict[str, tuple[float, int]] = {}
        self.global_faults = Faults()
        self.account_faults: dict[str, Faults] = {}
        # institution id → how its logo URL answers instead of its PNG (`/_sandbox/logos`, src/sandbox/logos.py)
        self.logo_answers: dict[str, str] = {}
        self.rng = random.Random(0)  # noqa: S311 - fault injection, not cryptography
        self.reset_counters()

    def reset_counters(self) -> None:
        self.counters: dict[str, dict[str, Counter]] = {}
        self.endpoint_calls: dict[str, int] = {}
        self.in_flight = 0
        self.max_in_flight = 0

    # -- tokens -----------------------------------------------------------------------------------------------
    def issue_token(self, kind: str, lifetime: int) -> str:
        header = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
        value = f"{header}.{secrets.token_urlsafe(48)}.{secrets.token_urlsafe(32)}"
        self.tokens[value] = Token(kind=kind, expires_at=self.now() + timedelta(seconds=lifetime))
        return value

    def token_valid(self, value: str, kind: str) -> bool:
        token = self.tokens.get(value)
        return token is not None and token.kind == kind and token.expires_at > self.now()

    # -- counters ---------------------------------------------------------------------------------------------
    def counter(self, account_id: str, scope: str) -> Counter:
        return self.counters.setdefault(account_id, {}).setdefault(scope, Counter())

    # -- persistence ------------------------------------------------------------------------------------------
    def saved(self) -> dict[str, Any]:
        return {
            "agreements": [_dump(agreement) for agreement in self.agreements.values()],
            "requisitions": [_dump(requisition) for requisition in self.requisitions.values()],
            "accounts": [_dump(account) for account in self.accounts.values()],
            "tokens": {value: _dump(token) for value, token in self.tokens.items() if token.expires_at > self.now()},
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.agreements = {row["id"]: Agreement(**_undump(row)) for row in data.get("agreements", [])}
        self.requisitions = {row["id"]: Requisition(**_undump(row)) for row in data.get("requisitions", [])}
        self.accounts = {row["id"]: Account(**_undump(row)) for row in data.get("accounts", [])}
        self.tokens = {value: Token(**_undump(row)) for value, row in data.get("tokens", {}).items()}


_DATETIME_FIELDS = frozenset({"created", "accepted", "last_accessed", "expires_at"})


def _dump(obj: object) -> dict[str, Any]:
    return dump_row(asdict(obj))  # type: ignore[call-overload]


def _undump(row: dict[str, Any]) -> dict[str, Any]:
    return undump_row(row, _DATETIME_FIELDS)
