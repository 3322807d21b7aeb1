"""The SimpleFIN client: one pooled httpx client, typed results, typed errors, no secret in any log line.

- `claim(claim_url)`: `POST` with no body, redirects not followed (a retired host answers 302 to an HTML page),
  never retried (the token is single-use: a second POST after a lost answer meets 403). The caller checks the claim
  URL's address first (https, public) and the Access URL it answers.
- `info(access)`: the protocol versions the server offers; finsync asks for v2 when offered, v1 otherwise.
- `read(access, start=…, end=…)`: `GET /accounts` with `pending=1`, windows of at most `WINDOW` (the Bridge caps a
  longer range), newest window first, merged into one `AccountSet` (each transaction once, by account and id; the
  balances and problems of the newest answer, problems of older windows added).

Each request is logged as one line (method, host, path, status, milliseconds): never the Access URL's credentials,
which travel only as the request's Basic auth. GETs are retried on time-outs and 5xx with the backoff every provider
shares (src/providers/retry.py); 402, 403 and other 4xx are not.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from src.providers.retry import backoff_seconds, parse_retry_after, should_retry
from src.providers.simplefin import errors
from src.providers.simplefin.access import AccessUrl
from src.providers.simplefin.models import Account, AccountSet, Problem, Transaction

log = logging.getLogger(__name__)

DEFAULT_TIMEOUT = httpx.Timeout(60.0, connect=10.0)  # the Bridge can take most of a minute to gather accounts
RETRIED_METHODS = frozenset({"GET"})
WINDOW = timedelta(days=90)
"""The longest range one `/accounts` request may ask for: the Bridge caps a longer one (a `gen.api` message)."""
_LAST = datetime.max.replace(tzinfo=UTC)


class SimpleFinClient:
    def __init__(
        self,
        *,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        max_attempts: int = 3,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self._http = httpx.Client(
            timeout=timeout,
            follow_redirects=False,
            headers={"Accept": "application/json", "User-Agent": "finsync"},
            transport=transport,
        )
        self._max_attempts = max_attempts
        self._sleep = sleep
        self._jitter = jitter

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "SimpleFinClient":
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- connecting ---------------------------------------------------------------------------------------------
    def claim(self, claim_url: str) -> AccessUrl:
        response = self._send("POST", claim_url, headers={"Content-Length": "0"})
        if response.status_code == 403:
            raise errors.ClaimRefusedError(
                "This SimpleFIN setup token was already used or does not exist. If you did not use it yourself, "
                "someone else may have: disable it at the SimpleFIN Bridge and make a new one.",
                status_code=403,
            )
        if response.status_code != 200:
            raise errors.ClaimFailedError(
                f"The SimpleFIN Bridge did not hand out an Access URL (HTTP {response.status_code}).",
                status_code=response.status_code,
            )
        try:
            return AccessUrl.parse(response.text)
        except ValueError:
            raise errors.ClaimFailedError("The SimpleFIN Bridge answered the claim without an Access URL.") from None

    def info(self, access: AccessUrl) -> list[str]:
        response = self._send("GET", f"{access.root}/info")
        body = self._json(response)
        versions = body.get("versions") if isinstance(body, dict) else None
        return [str(v) for v in versions] if isinstance(versions, list) else []

    @staticmethod
    def best_version(versions: list[str]) -> int:
        return 2 if any(v == "2" or v.startswith("2.") for v in versions) else 1

    # -- reading ------------------------------------------------------------------------------------------------
    def accounts(
        self,
        access: AccessUrl,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        version: int = 1,
        pending: bool = True,
        balances_only: bool = False,
        account_ids: tuple[str, ...] = (),
    ) -> AccountSet:
        """One `GET /accounts`. `start` inclusive, `end` exclusive."""
        params: list[tuple[str, str]] = [("version", str(version))]
        if start is not None:
            params.append(("start-date", str(int(start.timestamp()))))
        if end is not None:
            params.append(("end-date", str(int(end.timestamp()))))
        if pending:
            params.append(("pending", "1"))
        if balances_only:
            params.append(("balances-only", "1"))
        params.extend(("account", account_id) for account_id in account_ids)
        response = self._send("GET", f"{access.root}/accounts", params=params, auth=(access.username, access.password))
        if response.status_code == 402:
            raise errors.PaymentRequiredError(
                "The SimpleFIN Bridge subscription needs paying before it gives more data.", status_code=402
            )
        if response.status_code == 403:
            raise errors.AccessRevokedError(
                "The SimpleFIN Bridge refused this connection's access: it was revoked, or disabled after too many "
                "requests. Connect it again with a new setup token.",
                status_code=403,
            )
        if response.status_code != 200:
            raise errors.UpstreamServerError(
                f"SimpleFIN answered HTTP {response.status_code}.", status_code=response.status_code
            )
        return AccountSet.parse(self._json(response), version)

    def read(self, access: AccessUrl, *, start: datetime, end: datetime, version: int = 1) -> AccountSet:
        """Every account's transactions from `start` (inclusive) to `end` (exclusive), pending ones included, in
        windows of at most `WINDOW`, newest first, merged."""
        answers: list[AccountSet] = []
        window_end = end
        while True:
            window_start = max(start, window_end - WINDOW)
            answers.append(self.accounts(access, start=window_start, end=window_end, version=version))
            if window_start <= start:
                break
            window_end = window_start
        return merge(answers)

    # -- transport ----------------------------------------------------------------------------------------------
    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            started = time.monotonic()
            try:
                response = self._http.request(method, url, **kwargs)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                host = httpx.URL(url).host
                log.warning(
                    "simplefin request failed", extra={"method": method, "host": host, "error": type(exc).__name__}
                )
                if should_retry(
                    method=method,
                    status_code=None,
                    attempt=attempt,
                    max_attempts=self._max_attempts,
                    retried_methods=RETRIED_METHODS,
                ):
                    self._sleep(backoff_seconds(attempt, jitter=self._jitter))
                    continue
                raise errors.ConnectionFailedError(f"SimpleFIN at {host} did not answer.") from None
            log.info(
                "simplefin request",
                extra={
                    "method": method,
                    "host": response.url.host,
                    "path": response.url.path,
                    "status": response.status_code,
                    "ms": round((time.monotonic() - started) * 1000),
                },
            )
            if should_retry(
                method=method,
                status_code=response.status_code,
                attempt=attempt,
                max_attempts=self._max_attempts,
                retried_methods=RETRIED_METHODS,
            ):
                retry_after = parse_retry_after(response.headers.get("retry-after"))
                self._sleep(backoff_seconds(attempt, retry_after=retry_after, jitter=self._jitter))
                continue
            return response

    @staticmethod
    def _json(response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise errors.UpstreamServerError(
                "SimpleFIN answered something that is not JSON.", status_code=response.status_code
            ) from None


def merge(answers: list[AccountSet]) -> AccountSet:
    """Windows of one read as one answer: the newest answer's accounts, balances and connections; every window's
    transactions once per (account, id), the newest window's copy kept; every distinct problem."""
    if not answers:
        raise ValueError("nothing to merge")
    newest: dict[str, Account] = {}  # each account as the newest window that lists it says it
    transactions: dict[str, dict[str, Transaction]] = {}
    for answer in answers:
        for account in answer.accounts:
            newest.setdefault(account.id, account)
            seen = transactions.setdefault(account.id, {})
            for transaction in account.transactions:
                seen.setdefault(transaction.id, transaction)
    accounts = tuple(
        replace(
            account,
            transactions=tuple(
                sorted(transactions[account.id].values(), key=lambda t: (t.posted or t.transacted_at or _LAST, t.id))
            ),
        )
        for account in newest.values()
    )
    problems: list[Problem] = []
    for answer in answers:
        problems.extend(p for p in answer.problems if p not in problems)
    return AccountSet(
        version=answers[0].version, accounts=accounts, connections=answers[0].connections, problems=tuple(problems)
    )
