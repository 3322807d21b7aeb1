"""Typed Enable Banking payloads (the API's own schema names in docstrings), tolerant of extra and missing optional
fields: banks fill the optional ones unevenly.

Each model keeps the verbatim payload it was built from (`payload`), because the raw tables store what Enable
Banking said, unchanged. Amounts stay decimal strings on the wire and become `Decimal` here, never float.
"""

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

# When a bank reports no maximum consent validity, finsync asks for what GoCardless gives by default.
DEFAULT_CONSENT_SECONDS = 90 * 24 * 3600


class PsuType(StrEnum):
    personal = "personal"
    business = "business"


class SessionStatus(StrEnum):
    INVALID = "INVALID"
    PENDING_AUTHORIZATION = "PENDING_AUTHORIZATION"
    RETURNED_FROM_BANK = "RETURNED_FROM_BANK"
    AUTHORIZED = "AUTHORIZED"
    EXPIRED = "EXPIRED"
    CLOSED = "CLOSED"
    REVOKED = "REVOKED"
    CANCELLED = "CANCELLED"


class TransactionStatus(StrEnum):
    BOOK = "BOOK"
    PDNG = "PDNG"
    HOLD = "HOLD"
    SCHD = "SCHD"
    CNCL = "CNCL"
    RJCT = "RJCT"
    OTHR = "OTHR"


class EnableBankingModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    payload: dict[str, Any] = Field(default_factory=dict, exclude=True, repr=False)

    @model_validator(mode="before")
    @classmethod
    def _keep_payload(cls, value: Any) -> Any:
        """Every model, nested ones too (each transaction of a page), keeps the object it was read from. Banks send
        `null` for what they do not fill: it means the field's default (None, or an empty list)."""
        if isinstance(value, dict) and "payload" not in value:
            fields = {key: item for key, item in value.items() if item is not None}
            return {**fields, "payload": value}
        return value

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Self:
        return cls.model_validate(payload)


class Amount(EnableBankingModel):
    """AmountType: a decimal string with a `.` separator and its currency."""

    currency: str
    amount: Decimal


class AspspRef(EnableBankingModel):
    """ASPSP: a bank named by name and country (the pair is its id at Enable Banking)."""

    name: str
    country: str


class Application(EnableBankingModel):
    """GetApplicationResponse: what `GET /application` says about the key's application."""

    name: str
    kid: str
    environment: str
    active: bool
    redirect_urls: list[str] = Field(default_factory=list)
    countries: list[str] = Field(default_factory=list)
    services: list[str] = Field(default_factory=list)
    description: str | None = None


class Aspsp(EnableBankingModel):
    """ASPSPData: one bank from `GET /aspsps`."""

    name: str
    country: str
    logo: str | None = None
    psu_types: list[str] = Field(default_factory=list)
    maximum_consent_validity: int | None = None  # seconds
    beta: bool = False
    bic: str | None = None
    required_psu_headers: list[str] = Field(default_factory=list)

    @property
    def ref(self) -> AspspRef:
        return AspspRef(name=self.name, country=self.country)


class Authorization(EnableBankingModel):
    """StartAuthorizationResponse: where to send the person, and the authorisation's id."""

    url: str
    authorization_id: str
    psu_id_hash: str | None = None


class Access(EnableBankingModel):
    valid_until: datetime
    balances: bool = True
    transactions: bool = True


class AccountIdentification(EnableBankingModel):
    iban: str | None = None
    other: dict[str, Any] | None = None


class Account(EnableBankingModel):
    """AccountResource (from `POST /sessions` and `GET /accounts/{uid}/details`). `uid` is valid only while its
    session is authorised and changes with every session; `identification_hash` is the stable key."""

    uid: str | None = None
    identification_hash: str
    identification_hashes: list[str] = Field(default_factory=list)
    account_id: AccountIdentification | None = None
    name: str | None = None
    details: str | None = None
    usage: str | None = None
    product: str | None = None
    cash_account_type: str | None = None
    currency: str | None = None

    @property
    def iban(self) -> str | None:
        return self.account_id.iban if self.account_id is not None else None


class AuthorizedSession(EnableBankingModel):
    """AuthorizeSessionResponse: the session `POST /sessions` opened with the redirect's code."""

    session_id: str
    accounts: list[Account] = Field(default_factory=list)
    aspsp: AspspRef
    psu_type: PsuType
    access: Access


class SessionAccount(EnableBankingModel):
    uid: str
    identification_hash: str
    identification_hashes: list[str] = Field(default_factory=list)


class Session(EnableBankingModel):
    """GetSessionResponse."""

    status: SessionStatus
    accounts: list[str] = Field(default_factory=list)
    accounts_data: list[SessionAccount] = Field(default_factory=list)
    aspsp: AspspRef
    psu_type: PsuType
    psu_id_hash: str | None = None
    access: Access
    created: datetime
    authorized: datetime | None = None
    closed: datetime | None = None


class Balance(EnableBankingModel):
    """BalanceResource; `balance_type` is an ISO 20022 code (CLBD, ITAV, XPCD, …)."""

    name: str
    balance_amount: Amount
    balance_type: str
    last_change_date_time: datetime | None = None
    reference_date: date | None = None
    last_committed_transaction: str | None = None


class Transaction(EnableBankingModel):
    """Transaction: the amount is a magnitude, its sign is `credit_debit_indicator`; every date is optional."""

    entry_reference: str | None = None
    transaction_id: str | None = None
    transaction_amount: Amount
    credit_debit_indicator: str
    status: str
    booking_date: date | None = None
    value_date: date | None = None
    transaction_date: date | None = None
    remittance_information: list[str] = Field(default_factory=list)


class TransactionsPage(EnableBankingModel):
    """HalTransactions: one page; `continuation_key` None when it is the last."""

    transactions: list[Transaction] = Field(default_factory=list)
    continuation_key: str | None = None


class AccountTransactions(BaseModel):
    """Every page of one `account_transactions` read, with the period actually read (the bank may have asked for
    another) and whether the paging ran to its end (False: a guard stopped it; what was read is kept)."""

    transactions: list[Transaction]
    date_from: date | None
    date_to: date | None
    pages: int
    complete: bool
