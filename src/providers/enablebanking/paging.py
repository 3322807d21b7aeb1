"""Reading every page of a `continuation_key` listing, guarded.

The API's rule: follow `continuation_key` until it is null, repeating the same query with it. Banks bend it: a page
may be empty and still carry a key (keep going), and a key may come back that was already followed (a loop: stop,
keep what was read). A bound on the number of pages stops any other endless listing. A guard that stops the reading
says so (`complete` False) so the caller can tell a full history from a cut one.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass

from src.providers.enablebanking.models import Transaction, TransactionsPage

log = logging.getLogger(__name__)

# Mock banks give pages of 10; a thousand pages is years of a busy account's history, and still a bound.
MAX_PAGES = 1000


@dataclass(frozen=True, slots=True)
class Pages:
    transactions: list[Transaction]
    pages: int
    complete: bool


def read_all_pages(fetch: Callable[[str | None], TransactionsPage], *, max_pages: int = MAX_PAGES) -> Pages:
    """Call `fetch(None)`, then `fetch(key)` for each new continuation key, until a page has none."""
    transactions: list[Transaction] = []
    followed: set[str] = set()
    key: str | None = None
    pages = 0
    while True:
        page = fetch(key)
        pages += 1
        transactions.extend(page.transactions)
        key = page.continuation_key or None
        if key is None:
            return Pages(transactions, pages, complete=True)
        if key in followed:
            log.warning("transaction paging stopped: the bank repeated a continuation key after %d pages", pages)
            return Pages(transactions, pages, complete=False)
        if pages >= max_pages:
            log.warning("transaction paging stopped after %d pages, the bound", pages)
            return Pages(transactions, pages, complete=False)
        followed.add(key)
