"""The GoCardless token pair and where it is kept.

`token/new` is allowed 100 times an hour for the whole company, and every Dagster run is a process of its own,
so the pair lives behind a small store interface: in memory here, in the database (`gc_tokens`) for the app.
`TokenManager` hands out a valid access token: it reuses the stored one, refreshes it shortly before it
expires (`token/refresh` returns only a new access token), and asks `token/new` again once the refresh token
has expired. It is safe across threads; the store's own lock makes it safe across processes.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

REFRESH_MARGIN = timedelta(seconds=60)


@dataclass(frozen=True)
class TokenPair:
    access: str
    access_expires_at: datetime
    refresh: str
    refresh_expires_at: datetime

    def __repr__(self) -> str:  # never print a token
        return f"TokenPair(access_expires_at={self.access_expires_at}, refresh_expires_at={self.refresh_expires_at})"

    def access_valid(self, now: datetime) -> bool:
        return self.access_expires_at - REFRESH_MARGIN > now

    def refresh_valid(self, now: datetime) -> bool:
        return self.refresh_expires_at - REFRESH_MARGIN > now


class TokenStore(Protocol):
    def load(self) -> TokenPair | None: ...

    def save(self, pair: TokenPair) -> None: ...

    def locked(self) -> AbstractContextManager[None]:
        """Held while a token is obtained, so that concurrent processes do not all call token/new."""
        ...


class InMemoryTokenStore:
    def __init__(self) -> None:
        self._pair: TokenPair | None = None

    def load(self) -> TokenPair | None:
        return self._pair

    def save(self, pair: TokenPair) -> None:
        self._pair = pair

    @contextmanager
    def locked(self) -> Iterator[None]:
        yield


class TokenManager:
    def __init__(
        self,
        store: TokenStore,
        *,
        obtain_new: Callable[[], TokenPair],
        refresh: Callable[[str], tuple[str, datetime]],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._store = store
        self._obtain_new = obtain_new
        self._refresh = refresh
        self._now = now
        self._lock = threading.Lock()

    def access_token(self) -> str:
        pair = self._store.load()
        if pair is not None and pair.access_valid(self._now()):
            return pair.access
        with self._lock, self._store.locked():
            pair = self._store.load()  # another thread or process may have renewed it meanwhile
            now = self._now()
            if pair is not None and pair.access_valid(now):
                return pair.access
            if pair is not None and pair.refresh_valid(now):
                try:
                    access, expires_at = self._refresh(pair.refresh)
                    pair = replace(pair, access=access, access_expires_at=expires_at)
                except InvalidRefreshError:
                    pair = self._obtain_new()
            else:
                pair = self._obtain_new()
            self._store.save(pair)
            return pair.access

    def invalidate(self, access: str) -> None:
        """The server refused `access`: forget it, so the next call refreshes."""
        with self._lock, self._store.locked():
            pair = self._store.load()
            if pair is not None and pair.access == access:
                self._store.save(replace(pair, access_expires_at=datetime(1970, 1, 1, tzinfo=UTC)))


class InvalidRefreshError(Exception):
    """token/refresh refused the refresh token: fall back to token/new."""
