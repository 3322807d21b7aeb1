"""How often sign-in and registration may be tried, and what locks an account.

Sign-in is throttled per client address before anything else, so that a stranger cannot lock an account: an
address gets `SIGN_IN_FAILURES_PER_ADDRESS` failures (then 429 with Retry-After, before any password is checked or
any account's counter moves), and an account locks only after more failures within the same time than one address
may make (`FAILURES_TO_LOCK_AN_ACCOUNT`), counting only attempts the address limit let through. Locking an account
therefore takes several addresses at once; the lock itself is stored on the account (`users.locked_until`), so
every API process honours it.

Registration is limited per address, so that asking "is this address taken?" is no cheap oracle (it also costs a
password hash, whatever the answer: see `AuthService.register`).
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from src.ratelimit import RateLimiter, rule

# Every attempt counts, the successful ones too, before the password hash: a burst of parallel guesses from one
# address costs at most this many hashes.
SIGN_IN_ATTEMPTS_PER_ADDRESS = rule(
    "sign-in attempts per address",
    per="client_address",
    limit="30/minute",
    refusal="Too many sign-in attempts from your network.",
)
SIGN_IN_FAILURES_PER_ADDRESS = rule(
    "failed sign-ins per address",
    per="client_address",
    limit="10/15 minutes",
    refusal="Too many failed sign-ins from your network.",
)
# Four addresses' worth of failures: one address alone can never reach it.
FAILURES_TO_LOCK_AN_ACCOUNT = rule(
    "failed sign-ins per account",
    per="user_id",
    limit="40/15 minutes",
    refusal="",  # never a 429: reaching it locks the account (an ordinary 401 from then on)
)
LOCK_DURATION = timedelta(minutes=15)

REGISTRATIONS_PER_ADDRESS = rule(
    "registrations per address",
    per="client_address",
    limit="10/hour",
    refusal="Too many accounts were registered from your network.",
)


@dataclass(frozen=True)
class SignInThrottle:
    """The sign-in counters of one request, from one client address."""

    limiter: RateLimiter
    address: str

    def admit(self) -> None:
        """Before any work: 429 when the address has used up its failures or its attempts."""
        self.limiter.check(SIGN_IN_FAILURES_PER_ADDRESS, self.address)
        self.limiter.hit(SIGN_IN_ATTEMPTS_PER_ADDRESS, self.address)

    def confirm(self) -> None:
        """Again, once the account's row is locked: parallel guesses at one account wait for each other there, so
        each sees the failures of those before it and one address cannot slip extra guesses through together."""
        self.limiter.check(SIGN_IN_FAILURES_PER_ADDRESS, self.address)

    def failed(self, account_id: uuid.UUID | None) -> bool:
        """Count a failure against the address and, when given, the account; True when the account must lock."""
        self.limiter.record(SIGN_IN_FAILURES_PER_ADDRESS, self.address)
        if account_id is None:
            return False
        return not self.limiter.record(FAILURES_TO_LOCK_AN_ACCOUNT, str(account_id))

    def locked(self, account_id: uuid.UUID) -> None:
        """The account was locked: its failures start afresh when the lock ends."""
        self.limiter.reset(FAILURES_TO_LOCK_AN_ACCOUNT, str(account_id))

    def succeeded(self, account_id: uuid.UUID) -> None:
        self.limiter.reset(FAILURES_TO_LOCK_AN_ACCOUNT, str(account_id))
