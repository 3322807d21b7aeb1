"""The page query behind `GET /api/transactions`: which rows, in which order, found how.

Order is `booking_date DESC, id DESC`, and a page starts strictly after the cursor's (booking_date, id).

How a page is found (figures from `python -m bench`: one user, 100 accounts, 1,000,000 rows):
- Across several accounts, `WHERE account_id IN (…) ORDER BY booking_date DESC, id DESC LIMIT n` has no index
  in that order (`(account_id, booking_date, id)` leads with the account), so PostgreSQL would read and sort
  every row. Instead each account is walked down that index from the cursor, and the walks are merged lazily: a
  UNION ALL of ordered, limited per-account branches under one ORDER BY … LIMIT becomes a Merge Append, which
  reads about page + accounts rows (divided by the filters' selectivity), however deep the cursor. A LATERAL
  join with a LIMIT per account reads page × accounts rows instead, and with a 1 % search term 100 × more.
- A text search has three ways, and `_choose` takes the cheapest by the planner's row estimates (statistics
  only, no rows read), reckoning with the search's rarest word rather than all words together (words in a
  search are rarely independent: "card payment"):
  - a common word: the walk above, the search a filter on the rows walked;
  - a rare word: the GIN index on `search_vector` hands over every match, and they are sorted (a walk would
    pass over nearly every row);
  - in between (around 1 %, where both of those read ~10,000 rows): the GIN index's matches ANDed, as bitmaps,
    with a recent window of `(account_id, booking_date, id)` sized to hold about two pages of matches, so that
    only those are fetched; when the window holds less than a page, every match is sorted after all.
- A page's keys are found first; full rows are read for those `limit` + 1 keys only.
- The summary (`fetch_summary`: count and sums per currency of every row the listing would list) is one
  aggregate over the same WHERE (`_conditions`), answered by whichever of the accounts' index, the GIN index or a
  scan the planner finds cheapest: it visits every match, so there is no order to keep and no walk to merge.
- Statements are built once per shape (which filters are present, how many accounts) and their values bound:
  building a hundred-branch statement costs more than running it, and one SQL text per shape lets the driver
  prepare it (parsed once per connection; planned once too for a plain walk, see `_run`).
"""

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from decimal import Decimal
from enum import StrEnum
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    BigInteger,
    BindParameter,
    ColumnClause,
    ColumnElement,
    Date,
    Select,
    SQLColumnExpression,
    Subquery,
    Text,
    any_,
    bindparam,
    false,
    func,
    literal,
    literal_column,
    select,
    text,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import ARRAY, UUID
from sqlalchemy.orm import Session, load_only

from src.models import Transaction
from src.models.accounts import Money
from src.models.enums import TransactionStatus
from src.models.transactions import folded_sql

# Costs of a search's ways, in rows fetched and sorted out of the GIN index's matches (about a microsecond each),
# measured on the benchmark's data: a row walked (index entry, heap row, filter); planning and sending a walk's
# branch per account; a GIN posting and a B-tree entry read into a bitmap.
WALKED_ROW_COST = 0.55
BRANCH_COST = 60.0
POSTING_COST = 0.08
WINDOW_ENTRY_COST = 0.02
# The rarest of the first few words bounds the matches well enough; probing each costs planner time.
_PROBED_WORDS = 4
# Rows looked at to measure a many-word search's selectivity (about a millisecond's worth).
_SAMPLE = 1000
# A window is sized to hold this many pages of matches, and the density of rows per day taken from this many days.
_WINDOW_MARGIN = 2
_RECENT_DAYS = 30
_BOUNDS = frozenset({"date_from", "date_to", "min_amount", "max_amount", "min_size", "max_size"})
_SIMPLE: ColumnClause[Any] = literal_column("'simple'::regconfig")
_CUSTOM_PLANS = text("SET LOCAL plan_cache_mode = force_custom_plan")
_ZERO: ColumnClause[Any] = literal_column("0")  # in the SQL text: a constant, not a parameter to type
_ACCOUNT_IDS = bindparam("account_ids", type_=ARRAY(UUID(as_uuid=True)))

# What the API shows; `search_vector` and the bank's other ids stay in the database.
_COLUMNS = (
    Transaction.id,
    Transaction.account_id,
    Transaction.status,
    Transaction.booking_date,
    Transaction.value_date,
    Transaction.date_is_estimated,
    Transaction.amount,
    Transaction.currency,
    Transaction.description,
    Transaction.counterparty_name,
    Transaction.counterparty_account,
    Transaction.transaction_id,
    Transaction.booked_as_id,
)


class Direction(StrEnum):
    """Which way money went: `in` a positive amount, `out` a negative one (a zero amount is neither)."""

    incoming = "in"
    outgoing = "out"


@dataclass(frozen=True, kw_only=True)
class RowFilter:
    """Which rows: the listing's filters, on accounts already known to be the caller's. The listing's pages and the
    summary read the same filter, so that the summary always adds up what the pages list."""

    account_ids: Sequence[uuid.UUID]
    statuses: frozenset[TransactionStatus]
    include_superseded: bool = False
    date_from: date | None = None
    date_to: date | None = None
    min_amount: Decimal | None = None  # signed
    max_amount: Decimal | None = None
    direction: Direction | None = None
    min_size: Decimal | None = None  # the amount without its sign
    max_size: Decimal | None = None
    q: str | None = None


@dataclass(frozen=True, kw_only=True)
class PageQuery(RowFilter):
    """One page's worth of filters."""

    after: tuple[date, int] | None = None  # (booking_date, id) of the previous page's last row
    limit: int


@dataclass(frozen=True)
class CurrencyTotal:
    """The rows of one currency: how many, and the sums of their positive and negative amounts (exact)."""

    currency: str
    count: int
    amount_in: Decimal
    amount_out: Decimal
    net: Decimal


@dataclass(frozen=True)
class _Shape:
    """Everything that changes the SQL of a page query; values travel as bind parameters."""

    walk: bool  # merged per-account walks, else one filtered and sorted query
    accounts: int  # branches of a walk (0 otherwise: the ids are one array parameter)
    statuses: tuple[TransactionStatus, ...]
    include_superseded: bool
    bounds: frozenset[str]  # which of date_from, date_to, min_amount, max_amount, min_size, max_size are set
    direction: Direction | None
    search: bool
    after: bool
    limit: int


def _matches(query: ColumnElement[Any]) -> ColumnElement[bool]:
    return Transaction.search_vector.bool_op("@@")(query)


def _conditions(shape: _Shape) -> list[ColumnElement[bool]]:
    t = Transaction
    conditions: list[ColumnElement[bool]] = [t.status.in_(shape.statuses)]
    if not shape.include_superseded:
        conditions.append(t.booked_as_id.is_(None))
    if "date_from" in shape.bounds:
        conditions.append(t.booking_date >= bindparam("date_from"))
    if "date_to" in shape.bounds:
        conditions.append(t.booking_date <= bindparam("date_to"))
    if "min_amount" in shape.bounds:
        conditions.append(t.amount >= bindparam("min_amount"))
    if "max_amount" in shape.bounds:
        conditions.append(t.amount <= bindparam("max_amount"))
    if shape.direction is Direction.incoming:
        conditions.append(t.amount > _ZERO)
    elif shape.direction is Direction.outgoing:
        conditions.append(t.amount < _ZERO)
    if "min_size" in shape.bounds:
        conditions.append(func.abs(t.amount) >= bindparam("min_size", type_=Money))
    if "max_size" in shape.bounds:
        conditions.append(func.abs(t.amount) <= bindparam("max_size", type_=Money))
    if shape.search:
        search = _matches(func.to_tsquery(_SIMPLE, bindparam("q", type_=Text())))
        # In a walk, a branch must not fetch and sort every match of its account through the GIN index instead
        # of walking (its LIMIT makes that look cheap to the planner): wrapped, the search is a plain filter.
        conditions.append(func.coalesce(search, false()) if shape.walk else search)
    if shape.after:
        after = tuple_(bindparam("after_date", type_=Date()), bindparam("after_id", type_=BigInteger()))
        conditions.append(tuple_(t.booking_date, t.id) < after)
    return conditions


def _newest_first(
    id_column: SQLColumnExpression[int], date_column: SQLColumnExpression[date]
) -> tuple[ColumnElement[Any], ...]:
    return (date_column.desc(), id_column.desc())


def _merged_walks(shape: _Shape, page_limit: BindParameter[int]) -> Subquery:
    t = Transaction
    conditions = _conditions(shape)
    branches = [
        select(t.id, t.booking_date)
        .where(t.account_id == bindparam(f"account_{n}", type_=UUID(as_uuid=True)), *conditions)
        .order_by(*_newest_first(t.id, t.booking_date))
        .limit(page_limit)
        for n in range(shape.accounts)
    ]
    merged = branches[0].subquery("walk") if len(branches) == 1 else union_all(*branches).subquery("walks")
    return (
        select(merged.c.id, merged.c.booking_date)
        .order_by(*_newest_first(merged.c.id, merged.c.booking_date))
        .limit(page_limit)
        .subquery("top")
    )


def _filtered_then_sorted(shape: _Shape, page_limit: BindParameter[int]) -> Subquery:
    t = Transaction
    return (
        select(t.id, t.booking_date)
        .where(t.account_id == any_(_ACCOUNT_IDS), *_conditions(shape))
        .order_by(*_newest_first(t.id, t.booking_date))
        .limit(page_limit)
        .subquery("top")
    )


@lru_cache(maxsize=512)
def _page_statement(shape: _Shape) -> Select[tuple[Transaction]]:
    # The limit is inlined, not bound: a prepared statement's generic plan would otherwise have to guess it.
    page_limit: BindParameter[int] = bindparam("page_limit", shape.limit + 1, literal_execute=True)
    keys = _merged_walks(shape, page_limit) if shape.walk else _filtered_then_sorted(shape, page_limit)
    t = Transaction
    return (
        select(t)
        .join(keys, keys.c.id == t.id)
        .order_by(*_newest_first(keys.c.id, keys.c.booking_date))
        .options(load_only(*_COLUMNS))
    )


@lru_cache(maxsize=16)
def _probe_statement(words: int) -> Select[tuple[int]]:
    """For EXPLAIN only, as UNION ALL members: all rows; the accounts' rows; the accounts' rows in the month up to
    where the page starts; then the rows containing each word."""
    t = Transaction
    recent = t.booking_date.between(bindparam("recent_from", type_=Date()), bindparam("recent_to", type_=Date()))
    members = [
        select(literal(1)).select_from(t),
        select(literal(1)).where(t.account_id == any_(_ACCOUNT_IDS)),
        select(literal(1)).where(t.account_id == any_(_ACCOUNT_IDS), recent),
        *(
            select(literal(1)).where(_matches(func.to_tsquery(_SIMPLE, bindparam(f"word_{n}", type_=Text()))))
            for n in range(words)
        ),
    ]
    return union_all(*members)  # type: ignore[return-value]


_WORDS = text(f"SELECT tsvector_to_array(to_tsvector('simple'::regconfig, {folded_sql('CAST(:q AS text)')}))")


def search_words(session: Session, q: str) -> list[str]:
    """The words PostgreSQL makes of `q` (its parser, accents folded as the stored vector's are, lower-cased,
    deduplicated)."""
    words = session.scalar(_WORDS, {"q": q})
    return list(words or [])


def _prefix(word: str) -> str:
    """One word as a prefix in `to_tsquery`'s syntax: quoted (the parser's words may hold `.`, `-` or `@`), so that
    "coff" finds "coffee" and the text as typed finds its words while the person is still typing."""
    return "'" + word.replace("\\", "\\\\").replace("'", "''") + "':*"


def prefix_query(words: Sequence[str]) -> str:
    """Every word, each as a prefix (a search of several words finds rows holding all of them)."""
    return " & ".join(_prefix(word) for word in words)


@lru_cache(maxsize=512)
def _sample_statement(shape: _Shape) -> Select[tuple[int, int]]:
    """Of some of the accounts' rows after the cursor (every filter but the search applied), how many were looked
    at and how many match the search."""
    t = Transaction
    unsearched = replace(shape, walk=False, accounts=0, search=False)
    rows = (
        select(t.search_vector)
        .where(t.account_id == any_(_ACCOUNT_IDS), *_conditions(unsearched))
        .limit(bindparam("sample_size", _SAMPLE, literal_execute=True))
        .subquery("sample")
    )
    search = rows.c.search_vector.bool_op("@@")(func.to_tsquery(_SIMPLE, bindparam("q", type_=Text())))
    return select(func.count(), func.count().filter(search)).select_from(rows)


@dataclass(frozen=True)
class _Strategy:
    walk: bool
    window_from: date | None = None  # sorting: first only the matches booked since this day


def _choose(session: Session, query: PageQuery, words: list[str], params: dict[str, Any]) -> _Strategy:
    """Choose a way of answering a search, by its estimated cost in rows, from the planner's row estimates
    (statistics only, no rows read):

    - sorting every match out of the GIN index: about as many rows as match (the rarest word bounds that);
    - walking: about (page + accounts) ÷ selectivity rows of the accounts (at most all of them);
    - sorting the matches of a recent window: the words' postings in the GIN index (cheap each), the window's
      entries in `(account_id, booking_date, id)` (cheap each) and the few matches in both, the window being
      sized to hold about twice a page of matches (else all matches are sorted after all).

    When a walk looks cheapest for a search of several words, statistics cannot tell "card payment" (always
    together: walk) from "card contactless" (never together: a walk would read every row), so the selectivity
    is measured on a sample of the accounts' rows.
    """
    anchor = min(d for d in (query.after[0] if query.after else date.today(), query.date_to) if d is not None)
    probed = words[:_PROBED_WORDS]
    compiled = _probe_statement(len(probed)).compile(dialect=session.get_bind().dialect)
    probe_params = compiled.construct_params(
        {
            "account_ids": list(query.account_ids),
            "recent_from": anchor - timedelta(days=_RECENT_DAYS),
            "recent_to": anchor,
            **{f"word_{n}": _prefix(word) for n, word in enumerate(probed)},
        }
    )
    plan = session.connection().exec_driver_sql(f"EXPLAIN (FORMAT JSON) {compiled.string}", probe_params)
    members = plan.scalar_one()[0]["Plan"]["Plans"]
    table_rows, account_rows, recent_rows, *word_rows = (max(float(m["Plan Rows"]), 1.0) for m in members)
    matches = min(word_rows)
    selectivity = matches / table_rows
    wanted = query.limit + 1
    window_rows = min(account_rows, _WINDOW_MARGIN * wanted / selectivity)
    costs = {
        "sorted": matches,
        "walk": WALKED_ROW_COST * min(account_rows, (wanted + len(query.account_ids)) / selectivity)
        + BRANCH_COST * len(query.account_ids),
        "window": POSTING_COST * sum(word_rows) + WINDOW_ENTRY_COST * window_rows + _WINDOW_MARGIN * wanted,
    }
    best = min(costs, key=lambda way: costs[way])
    if best == "walk" and len(words) > 1 and not _walk_confirmed(session, query, params, account_rows):
        best = "sorted"
    if best == "walk":
        return _Strategy(walk=True)
    if best == "sorted" or window_rows >= account_rows:
        return _Strategy(walk=False)
    days = math.ceil(window_rows / (recent_rows / _RECENT_DAYS))
    return _Strategy(walk=False, window_from=anchor - timedelta(days=min(days, (anchor - date.min).days)))


def _walk_confirmed(session: Session, query: PageQuery, params: dict[str, Any], account_rows: float) -> bool:
    """Measure the search's selectivity on a sample of the accounts' rows: is a walk still the cheaper way?"""
    shape = _shape(query, params, walk=False)
    sample_params = {name: value for name, value in params.items() if not name.startswith("account_")}
    sample = session.execute(_sample_statement(shape), {**sample_params, "account_ids": list(query.account_ids)})
    sampled, matched = (int(value) for value in sample.one())
    if sampled < _SAMPLE:
        return True  # fewer rows left than the sample: a walk reads no more than these
    if not matched:
        return False
    selectivity = matched / sampled
    reach = query.limit + 1 + len(query.account_ids)
    return WALKED_ROW_COST * min(account_rows, reach / selectivity) < selectivity * account_rows


def _shape(query: PageQuery, params: dict[str, Any], *, walk: bool) -> _Shape:
    return _Shape(
        walk=walk,
        accounts=len(query.account_ids) if walk else 0,
        statuses=tuple(sorted(query.statuses)),
        include_superseded=query.include_superseded,
        bounds=frozenset(params.keys() & _BOUNDS),
        direction=query.direction,
        search=bool(query.q),
        after=query.after is not None,
        limit=query.limit,
    )


def _bound_params(rows: RowFilter) -> dict[str, Any]:
    """The filter's values that travel as bind parameters (the set ones only: the shape says which)."""
    bounds = {
        "date_from": rows.date_from,
        "date_to": rows.date_to,
        "min_amount": rows.min_amount,
        "max_amount": rows.max_amount,
        "min_size": rows.min_size,
        "max_size": rows.max_size,
    }
    return {name: value for name, value in bounds.items() if value is not None}


def _run(session: Session, shape: _Shape, params: dict[str, Any]) -> list[Transaction]:
    if not shape.walk or shape.bounds or shape.search or shape.accounts == 1:
        # Plans for the actual values: how selective a word or a date range is decides between plans, and the
        # generic plan of a prepared statement (the driver prepares statements it sees repeatedly) cannot know
        # it. A plain walk of several accounts has one sensible plan, and keeps the generic one: that saves
        # planning a branch per account. Transaction-scoped: it ends with the request's unit of work.
        session.execute(_CUSTOM_PLANS)
    return list(session.scalars(_page_statement(shape), params))


def fetch_page(session: Session, query: PageQuery) -> list[Transaction]:
    """Up to `limit` + 1 rows after the cursor, newest first (the extra row says another page follows)."""
    params = _bound_params(query)
    if query.after is not None:
        params["after_date"], params["after_id"] = query.after
    walk_params = {f"account_{n}": account_id for n, account_id in enumerate(query.account_ids)}
    if not query.q:
        return _run(session, _shape(query, params, walk=True), {**params, **walk_params})
    words = search_words(session, query.q)
    if not words:
        return []  # only punctuation: no word to look for, nothing matches
    params["q"] = prefix_query(words)
    strategy = _choose(session, query, words, params)
    if strategy.walk:
        return _run(session, _shape(query, params, walk=True), {**params, **walk_params})
    params["account_ids"] = list(query.account_ids)
    if strategy.window_from is not None and (query.date_from is None or strategy.window_from > query.date_from):
        windowed = {**params, "date_from": strategy.window_from}
        rows = _run(session, _shape(query, windowed, walk=False), windowed)
        if len(rows) > query.limit:
            return rows
        # Fewer matches in the window than a page: the words are rarer there than estimated; sort them all.
    return _run(session, _shape(query, params, walk=False), params)


@lru_cache(maxsize=256)
def summary_statement(shape: _Shape) -> Select[tuple[str, int, Decimal, Decimal, Decimal]]:
    """Per currency: how many rows, the sum of the positive amounts, of the negative ones, and of all; one
    aggregate over the listing's own WHERE (a zero amount counts, and adds nothing)."""
    t = Transaction
    incoming = func.coalesce(func.sum(t.amount).filter(t.amount > _ZERO), _ZERO)
    outgoing = func.coalesce(func.sum(t.amount).filter(t.amount < _ZERO), _ZERO)
    # The accounts one parameter each, as in a walk: a generic plan then knows how many of them there are (an array
    # parameter's length it cannot know, and it would scan the whole table for one account).
    accounts = [bindparam(f"account_{n}", type_=UUID(as_uuid=True)) for n in range(shape.accounts)]
    return (
        select(t.currency, func.count(), incoming, outgoing, func.sum(t.amount))
        .where(t.account_id.in_(accounts), *_conditions(shape))
        .group_by(t.currency)
        .order_by(t.currency)
    )


def _summary_shape_and_params(session: Session, rows: RowFilter) -> tuple[_Shape, dict[str, Any]] | None:
    """The summary's statement shape and its values; None when the search holds no word (nothing matches)."""
    params = _bound_params(rows)
    if rows.q:
        words = search_words(session, rows.q)
        if not words:
            return None
        params["q"] = prefix_query(words)
    params.update({f"account_{n}": account_id for n, account_id in enumerate(rows.account_ids)})
    shape = _Shape(
        walk=False,
        accounts=len(rows.account_ids),
        statuses=tuple(sorted(rows.statuses)),
        include_superseded=rows.include_superseded,
        bounds=frozenset(params.keys() & _BOUNDS),
        direction=rows.direction,
        search=bool(rows.q),
        after=False,
        limit=0,
    )
    return shape, params


def fetch_summary(session: Session, rows: RowFilter) -> list[CurrencyTotal]:
    """Every row the listing would list for `rows`, counted and summed per currency, by currency code.

    Planned as PostgreSQL chooses (a generic plan once it is as good): every match is visited whatever the plan,
    so the value of a word or a range matters far less than in a page, where it decides between a walk and a
    sort."""
    prepared = _summary_shape_and_params(session, rows)
    if prepared is None:
        return []
    shape, params = prepared
    return [
        CurrencyTotal(currency, int(count), Decimal(amount_in), Decimal(amount_out), Decimal(net))
        for currency, count, amount_in, amount_out, net in session.execute(summary_statement(shape), params)
    ]
