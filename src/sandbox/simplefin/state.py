"""The SimpleFIN sandbox's world: setup tokens, the Access URLs claimed with them, the clock, faults, per-account and
per-connection errors, the versions offered, and the request counts per Access URL and day.

All of it lives in memory and is touched only from the event loop (handlers are async and never await while
changing state), so no lock is needed. With a state file, the clock, tokens and Access URLs are saved after every
change and read back at start, so that `make dev` keeps its connections across a restart.
"""

import random
import secrets
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from src.sandbox.common import World, dump_row, undump_row
from src.sandbox.simplefin.catalogue import DEFAULT_CUSTOMER, DEMO_USERNAME
from src.sandbox.simplefin.config import SimpleFinConfig


@dataclass
class SetupToken:
    token: str  # the one-time code in the claim URL
    customer_id: str
    created: datetime
    claimed: datetime | None = None


@dataclass
class Grant:
    """An Access URL's credentials and what they read."""

    username: str
    password: str
    customer_id: str
    created: datetime
    revoked: bool = False
    payment_required: bool = False


@dataclass
class Faults:
    path_prefix: str = "/simplefin/accounts"
    error_status: int = 500  # 500 · 502 · 503 · 504
    error_count: int = 0  # the next N matching calls fail, then calls succeed again
    error_rate: float = 0.0
    latency_ms: int = 0


@dataclass
class Problem:
    """An error the Bridge reports for one connection (`con.*`) or one account (`act.*`); its accounts or the
    account are left out of the answer until the problem is cleared."""

    code: str
    conn_id: str | None = None
    account_id: str | None = None


@dataclass
class Usage:
    requests: dict[str, int] = field(default_factory=dict)  # day (ISO) → `/accounts` requests


class SimpleFinState(World[SimpleFinConfig]):
    def reset(self) -> None:
        self.clock_offset = timedelta(0)
        self.tokens: dict[str, SetupToken] = {}
        self.grants: dict[str, Grant] = {}
        self.versions: list[str] = ["1.0", "2.0"]
        self.problems: list[Problem] = []
        self.faults = Faults()
        self.warn_after = self.config.warn_after
        self.block_after = self.config.block_after
        self.rng = random.Random(0)  # noqa: S311 - fault injection, not cryptography
        self.reset_counters()

    def reset_counters(self) -> None:
        self.endpoint_calls: dict[str, int] = {}
        self.usage: dict[str, Usage] = {}
        self.claims = {"ok": 0, "refused": 0}

    # -- tokens and Access URLs -------------------------------------------------------------------------------
    def new_token(self, customer_id: str) -> SetupToken:
        token = SetupToken(token=secrets.token_hex(24), customer_id=customer_id, created=self.now())
        self.tokens[token.token] = token
        return token

    def claim(self, code: str) -> Grant | None:
        """The grant a claim gives, once per token (the demo token's, every time); None: unknown or already used."""
        if code == DEMO_USERNAME:
            self.claims["ok"] += 1
            return self.grants.setdefault(
                DEMO_USERNAME, Grant(DEMO_USERNAME, DEMO_USERNAME, DEFAULT_CUSTOMER, self.now())
            )
        token = self.tokens.get(code)
        if token is None or token.claimed is not None:
            self.claims["refused"] += 1
            return None
        token.claimed = self.now()
        grant = Grant(
            username=f"user{secrets.token_hex(6)}",
            password=secrets.token_urlsafe(24),
            customer_id=token.customer_id,
            created=token.claimed,
        )
        self.grants[grant.username] = grant
        self.claims["ok"] += 1
        return grant

    def authenticate(self, username: str, password: str) -> Grant | None:
        grant = self.grants.get(username)
        if grant is None and username == DEMO_USERNAME and password == DEMO_USERNAME:
            grant = self.claim(DEMO_USERNAME)  # the demo Access URL is public knowledge: it works unclaimed
        if grant is None or not secrets.compare_digest(grant.password, password):
            return None
        return grant

    def count_request(self, username: str, today: date) -> int:
        """Count one `/accounts` request of this Access URL today; the count so far, this one included."""
        usage = self.usage.setdefault(username, Usage())
        day = today.isoformat()
        usage.requests[day] = usage.requests.get(day, 0) + 1
        return usage.requests[day]

    # -- persistence ------------------------------------------------------------------------------------------
    def saved(self) -> dict[str, Any]:
        return {
            "versions": self.versions,
            "tokens": [dump_row(asdict(token)) for token in self.tokens.values()],
            "grants": [dump_row(asdict(grant)) for grant in self.grants.values()],
        }

    def restore(self, data: dict[str, Any]) -> None:
        self.versions = list(data.get("versions", self.versions))
        for row in data.get("tokens", []):
            token = SetupToken(**undump_row(row, frozenset({"created", "claimed"})))
            self.tokens[token.token] = token
        for row in data.get("grants", []):
            grant = Grant(**undump_row(row, frozenset({"created"})))
            self.grants[grant.username] = grant
