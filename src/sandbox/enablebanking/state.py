"""The Enable Banking sandbox's world: authorisations, sessions and their accounts, continuation keys, the clock,
faults, the application's status, the banks' daily allowances and counters.

All of it lives in memory and is touched only from the event loop (handlers are async and never await while
changing state), so no lock is needed. With a state file, the clock, the application's status, authorizations and
sessions are saved after every change and read back at start, so that `make dev` keeps its connections across a
restart (continuation keys, counters, faults and bank switches start afresh).
"""

import hashlib
import random
import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from src.sandbox.common import World, dump_row, new_id, undump_row
from src.sandbox.enablebanking.catalogue import Catalogue
from src.sandbox.enablebanking.config import EnableBankingConfig

ENDPOINTS = ("details", "balances", "transactions")
AUTHORIZATION_CODE_LIFETIME = timedelta(minutes=10)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


@dataclass
class Authorization:
    """A `POST /auth` waiting for the person at the consent page (or a control) to approve or deny it."""

    id: str
    aspsp: tuple[str, str]
    state: str
    redirect_url: str
    valid_until: datetime
    psu_type: str
    psu_id_hash: str
    created: datetime
    balances: bool = True
    transactions: bool = True
    status: str = "PENDING_AUTHORIZATION"  # · RETURNED_FROM_BANK (approved, code issued) · CANCELLED · AUTHORIZED
    customer_id: str | None = None
    code: str | None = None
    code_issued: datetime | None = None
    session_id: str | None = None


@dataclass
class SessionAccount:
    uid: str
    position: int


@dataclass
class Session:
    id: str
    authorization_id: str
    aspsp: tuple[str, str]
    customer_id: str
    psu_type: str
    psu_id_hash: str
    valid_until: datetime
    balances: bool
    transactions: bool
    created: datetime
    authorized: datetime
    accounts: list[SessionAccount] = field(default_factory=list)
    closed: datetime | None = None
    status_override: str | None = None  # CLOSED (DELETE) · REVOKED · EXPIRED (controls)

    def status(self, now: datetime) -> str:
        if self.status_override is not None:
            return self.status_override
        return "EXPIRED" if now >= self.valid_until else "AUTHORIZED"


@dataclass
class Cursor:
    """Where a transactions listing stands: the next page starts at `offset` of the same query."""

    session_id: str
    uid: str
    query: tuple[str | None, ...]
    offset: int


@dataclass
class Faults:
    path_prefix: str | None = None  # default: the account paths
    methods: list[str] | None = None  # default: every method
    error_status: int = 500  # 400 ASPSP_ERROR · 408 ASPSP_TIMEOUT · 429 · 500 · 502 · 503 · 504
    error_count: int = 0  # the next N matching calls fail, then calls succeed again
    error_rate: float = 0.0
    latency_ms: int = 0


@dataclass
class Counter:
    calls: int = 0
    ok: int = 0
    attended: int = 0  # calls that carried Psu-Ip-Address (not counted against the daily allowance)
    rate_limited: int = 0


class EnableBankingState(World[EnableBankingConfig]):
    def reset(self) -> None:
        self.clock_offset = timedelta(0)
        self.catalogue = Catalogue()
        self.authorizations: dict[str, Authorization] = {}
        self.codes: dict[str, str] = {}  # code → authorization id
        self.sessions: dict[str, Session] = {}
        self.accounts: dict[str, tuple[str, int]] = {}  # uid → (session id, position)
        self.cursors: dict[str, Cursor] = {}
        self.active = True
        self.account_daily_limit = self.config.account_daily_limit
        self.usage: dict[tuple[str, str, date], int] = {}  # (uid, endpoint, day) → unattended calls
        self.faults = Faults()
        self.rng = random.Random(0)  # noqa: S311 - fault injection, not cryptography
        self.reset_counters()

    def reset_counters(self) -> None:
        self.endpoint_calls: dict[str, int] = {}
        self.counters: dict[str, dict[str, Counter]] = {}

    # -- the consent flow -------------------------------------------------------------------------------------
    def approve(self, authorization: Authorization, customer_id: str) -> str:
        """The person logged in as `customer_id` and approved: a single-use code for `POST /sessions`."""
        code = secrets.token_urlsafe(24)
        authorization.status = "RETURNED_FROM_BANK"
        authorization.customer_id = customer_id
        authorization.code = code
        authorization.code_issued = self.now()
        self.codes[code] = authorization.id
        return code

    def open_session(self, authorization: Authorization, account_count: int) -> Session:
        now = self.now()
        session = Session(
            id=new_id(),
            authorization_id=authorization.id,
            aspsp=authorization.aspsp,
            customer_id=authorization.customer_id or "",
            psu_type=authorization.psu_type,
            psu_id_hash=authorization.psu_id_hash,
            valid_until=authorization.valid_until,
            balances=authorization.balances,
            transactions=authorization.transactions,
            created=authorization.created,
            authorized=now,
            accounts=[SessionAccount(uid=new_id(), position=position) for position in range(account_count)],
        )
        self.sessions[session.id] = session
        for account in session.accounts:
            self.accounts[account.uid] = (session.id, account.position)
        authorization.status = "AUTHORIZED"
        authorization.session_id = session.id
        return session

    # -- paging -----------------------------------------------------------------------------------------------
    def new_cursor(self, cursor: Cursor) -> str:
        key = secrets.token_urlsafe(18)
        self.cursors[key] = cursor
        return key

    # -- counters and allowances ------------------------------------------------------------------------------
    def counter(self, uid: str, endpoint: str) -> Counter:
        return self.counters.setdefault(uid, {}).setdefault(endpoint, Counter())

    def take_allowance(self, uid: str, endpoint: str) -> bool:
        """Count one unattended call of `endpoint` on account `uid` today; False once the bank's four are spent."""
        key = (uid, endpoint, self.today())
        used = self.usage.get(key, 0)
        if used >= self.account_daily_limit:
            return False
        self.usage[key] = used + 1
        return True

    # -- persistence ------------------------------------------------------------------------------------------
    def saved(self) -> dict[str, Any]:
        return {
            "active": self.active,
            "authorizations": [dump_row(asdict(authorization)) for authorization in self.authorizations.values()],
            "sessions": [dump_row(asdict(session)) for session in self.sessions.values()],
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.active = bool(data.get("active", True))
        for row in data.get("authorizations", []):
            authorization = Authorization(**{**_undump(row), "aspsp": tuple(row["aspsp"])})
            self.authorizations[authorization.id] = authorization
            if authorization.code is not None:
                self.codes[authorization.code] = authorization.id
        for row in data.get("sessions", []):
            accounts = [SessionAccount(**account) for account in row["accounts"]]
            session = Session(**{**_undump(row), "aspsp": tuple(row["aspsp"]), "accounts": accounts})
            self.sessions[session.id] = session
            for account in accounts:
                self.accounts[account.uid] = (session.id, account.position)


_DATETIME_FIELDS = frozenset({"valid_until", "created", "code_issued", "authorized", "closed"})


def _undump(row: dict[str, Any]) -> dict[str, Any]:
    return undump_row(row, _DATETIME_FIELDS)


def psu_id_hash(value: str) -> str:
    return hashlib.sha256(f"psu|{value}".encode()).hexdigest()
