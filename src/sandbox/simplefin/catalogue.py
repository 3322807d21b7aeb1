"""The SimpleFIN sandbox's banks (connections at the Bridge), their accounts and the test customers.

A customer is one SimpleFIN Bridge user: one Access URL reads every account of every bank they connected there.
The banks differ the way real ones do: US dollars and Canadian dollars, different depths of history, and one
(`Granite Card Services`) that re-issues its transaction ids for a block of recent dates, as some US card issuers
do (SimpleFIN's peers report it), so a client cannot trust a posted id to stay.
"""

from dataclasses import dataclass


@dataclass(frozen=True)
class Org:
    org_id: str
    name: str
    domain: str
    history_days: int  # how far back the bank lets the Bridge read
    reissues_ids: bool = False


@dataclass(frozen=True)
class AccountSpec:
    org: Org
    name: str
    currency: str
    kind: str  # checking · savings · card: what the history of the account looks like


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    accounts: tuple[AccountSpec, ...]


LIBERTY = Org("ORG-LIBERTY-NATIONAL", "Liberty National Bank", "libertynational.example", history_days=730)
MAPLE = Org("ORG-MAPLE-LEAF-CU", "Maple Leaf Credit Union", "mapleleafcu.example", history_days=365)
GRANITE = Org("ORG-GRANITE-CARD", "Granite Card Services", "granitecard.example", history_days=540, reissues_ids=True)

CUSTOMERS: tuple[Customer, ...] = (
    Customer(
        "jordan",
        "Jordan Rivera",
        (
            AccountSpec(LIBERTY, "Everyday Checking", "USD", "checking"),
            AccountSpec(LIBERTY, "High-Yield Savings", "USD", "savings"),
            AccountSpec(MAPLE, "Chequing", "CAD", "checking"),
            AccountSpec(GRANITE, "Granite Rewards Visa", "USD", "card"),
        ),
    ),
    Customer(
        "amelie",
        "Amélie Tremblay",
        (
            AccountSpec(MAPLE, "Compte chèques", "CAD", "checking"),
            AccountSpec(MAPLE, "US Dollar Account", "USD", "savings"),
        ),
    ),
    Customer("nobody", "No accounts yet", ()),
)
CUSTOMERS_BY_ID = {customer.id: customer for customer in CUSTOMERS}
DEFAULT_CUSTOMER = "jordan"
DEMO_USERNAME = "demo"
"""The reusable demo token's Access URL is `…://demo:demo@host/simplefin` and reads the default customer's banks."""
