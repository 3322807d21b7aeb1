"""The mock banks (ASPSPs) and the test customers who log in to them.

One bank in each country, each with its own quirk, so that a client meets every behaviour it must cope with:
- Mock ASPSP (FI) ignores `date_from`/`date_to`, as Enable Banking's own Mock ASPSP does (it returns its whole
  history, ten items a page, newest first);
- Fjord Sparbank (SE) requires the PSU headers `Psu-Ip-Address` and `Psu-User-Agent` (all or none);
- Rhein Volksbank (DE) gives transactions a new `transaction_id` in every session, and keeps 90 days of history
  (an older `date_from` is `WRONG_TRANSACTIONS_PERIOD`, with the first date it allows);
- Thistle Bank (GB) allows consents of 90 days only;
- Bank Wisła (PL) requires `Psu-Ip-Address`, starts a listing with an empty page that carries a continuation key,
  and signs debit amounts (a negative amount beside `DBIT`).
Switches on any bank can be changed at run time through `/_sandbox/aspsps`.
"""

from dataclasses import dataclass, field, replace

DAY = 86_400


@dataclass(frozen=True)
class Aspsp:
    name: str
    country: str
    bic: str
    currency: str
    maximum_consent_validity: int  # seconds
    required_psu_headers: tuple[str, ...] = ()
    ignores_dates: bool = False
    session_transaction_ids: bool = False  # a new transaction_id for every item in every session
    history_days: int = 730  # the oldest day the bank can list, counted back from today
    refuses_older_history: bool = False  # an older date_from is WRONG_TRANSACTIONS_PERIOD, not silently cut
    empty_first_page: bool = False
    signed_debits: bool = False
    beta: bool = False

    @property
    def key(self) -> tuple[str, str]:
        return (self.name, self.country)


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    accounts: int
    password: str = "1234"  # noqa: S105 - the sandbox's published test login
    otp: str = "012345"


ASPSPS: tuple[Aspsp, ...] = (
    Aspsp("Mock ASPSP", "FI", "MOCKFIHH", "EUR", 180 * DAY, ignores_dates=True, history_days=150),
    Aspsp(
        "Fjord Sparbank",
        "SE",
        "FJRDSESS",
        "SEK",
        180 * DAY,
        required_psu_headers=("Psu-Ip-Address", "Psu-User-Agent"),
    ),
    Aspsp(
        "Rhein Volksbank",
        "DE",
        "RHVBDEFF",
        "EUR",
        180 * DAY,
        session_transaction_ids=True,
        history_days=90,
        refuses_older_history=True,
    ),
    Aspsp("Thistle Bank", "GB", "THSTGB2L", "GBP", 90 * DAY),
    Aspsp(
        "Bank Wisła",
        "PL",
        "WISLPLPW",
        "PLN",
        180 * DAY,
        required_psu_headers=("Psu-Ip-Address",),
        empty_first_page=True,
        signed_debits=True,
        beta=True,
    ),
)

# An account in a customer's second place is kept in another currency: every customer with two accounts or more
# has two currencies.
SECOND_CURRENCY = {"EUR": "USD", "SEK": "EUR", "GBP": "EUR", "PLN": "EUR"}

CUSTOMERS: tuple[Customer, ...] = (
    Customer("alice", "Alice Järvinen", 2),
    Customer("bob", "Bob Łukasiewicz", 1),
    Customer("carol", "Carol Ó Súilleabháin", 3),
    Customer("nobody", "Nora Tyhjä", 0),  # logs in, but has no account to share: NO_ACCOUNTS_ADDED
)
CUSTOMERS_BY_ID = {customer.id: customer for customer in CUSTOMERS}
DEFAULT_CUSTOMER = "alice"


@dataclass
class Catalogue:
    """The banks as this run sees them: the fixed list above, with any switches a test has changed."""

    aspsps: dict[tuple[str, str], Aspsp] = field(default_factory=lambda: {aspsp.key: aspsp for aspsp in ASPSPS})

    def find(self, name: str, country: str) -> Aspsp | None:
        return self.aspsps.get((name, country))

    def switch(self, name: str, country: str, **changes: object) -> Aspsp:
        aspsp = replace(self.aspsps[(name, country)], **changes)  # type: ignore[arg-type]
        self.aspsps[aspsp.key] = aspsp
        return aspsp


SWITCHES = frozenset(
    {
        "ignores_dates",
        "session_transaction_ids",
        "history_days",
        "refuses_older_history",
        "empty_first_page",
        "signed_debits",
        "required_psu_headers",
        "maximum_consent_validity",
    }
)
