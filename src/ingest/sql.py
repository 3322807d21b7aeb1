"""Enum values in this package's SQL: bound parameters named after the enum member, never spelled in the SQL.

A statement names the value it means (`:requisition_linked`, `:connection_expired`) and `text_with_enums` binds
every such name the statement uses, once, at import, from the member in `src/models/enums.py`. The SQL then reads
as the rule it applies, the enum alone says how a value is spelled, and a misspelt name is a missing parameter
at the statement's first run.

Why bound parameters rather than literals rendered into the text: PostgreSQL types each parameter from where it
stands (psycopg sends a `str` untyped), the values never need quoting, and psycopg's prepared statements (from the
sixth run of a statement on one connection) and PostgreSQL's generic plans (from the sixth run of a prepared one)
treat them like any other parameter; tests/ingest/test_sql.py runs every derivation past both thresholds on one
connection. One name keeps one kind of place within a statement (compared with a column, or the result of a CASE):
PostgreSQL refuses a parameter it would have to type two ways. The one exception lives outside this package: a
partial index's predicate that an `ON CONFLICT` must infer has to be literal text (`UNFINISHED_JOB_PREDICATE`).
"""

from enum import StrEnum

from sqlalchemy import String, TextClause, bindparam, text

from src.models.enums import (
    AccountStatus,
    ConnectionStatus,
    EbSessionStatus,
    EbTransactionStatus,
    GcAccessState,
    GcAccountStatus,
    GcRequisitionStatus,
    GcTransactionStatus,
    Provider,
    SyncOutcomeKind,
    TransactionStatus,
)

# The parameter name is `<prefix>_<member name>`: `:connection_expired` is ConnectionStatus.expired.
ENUM_PREFIXES: dict[type[StrEnum], str] = {
    ConnectionStatus: "connection",
    AccountStatus: "account",
    TransactionStatus: "transaction",
    SyncOutcomeKind: "outcome",
    GcRequisitionStatus: "requisition",
    GcAccessState: "access",
    GcAccountStatus: "gc_account",
    GcTransactionStatus: "gc_transaction",
    Provider: "provider",
    EbSessionStatus: "eb_session",
    EbTransactionStatus: "eb_transaction",
}

ENUM_VALUES: dict[str, str] = {
    f"{prefix}_{member.name}": member.value for enum, prefix in ENUM_PREFIXES.items() for member in enum
}
if len(ENUM_VALUES) != sum(len(enum) for enum in ENUM_PREFIXES):
    raise RuntimeError("two enum parameters share a name")


def text_with_enums(sql: str) -> TextClause:
    """`text(sql)` with every enum parameter it names bound to its value (the other parameters stay free)."""
    statement = text(sql)
    names = statement.compile().params
    return statement.bindparams(
        *(bindparam(name, ENUM_VALUES[name], type_=String()) for name in names if name in ENUM_VALUES)
    )
