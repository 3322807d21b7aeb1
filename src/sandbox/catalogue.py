"""The sandbox's banks and their test customers.

Histories and IBANs derive from (institution, customer, account index), so re-consenting as the same customer
gives new GoCardless account ids with the same IBANs and the same history, as real banks do.
"""

from dataclasses import dataclass, field

SANDBOX_INSTITUTION_ID = "SANDBOXFINANCE_SFIN0000"
SERVED_COUNTRIES = ("GB", "DE", "FR", "ES", "NL", "PL", "SE")


@dataclass(frozen=True)
class Institution:
    id: str
    name: str
    bic: str
    countries: tuple[str, ...]
    currency: str
    transaction_total_days: int = 730
    max_access_valid_for_days: int = 180
    features: tuple[str, ...] = ("account_selection", "business_accounts", "pending_transactions", "private_accounts")
    balance_types: tuple[str, ...] = ("closingBooked", "interimAvailable", "expected", "openingBooked")
    remittance_as_array: bool = False
    supports_ssn: bool = False
    identification_codes: tuple[str, ...] = field(default_factory=tuple)

    def integration(self, logo_base: str, *, detailed: bool = False) -> dict[str, object]:
        payload: dict[str, object] = {
            "id": self.id,
            "name": self.name,
            "bic": self.bic,
            "transaction_total_days": str(self.transaction_total_days),
            "max_access_valid_for_days": str(self.max_access_valid_for_days),
            "max_access_valid_for_days_reconfirmation": "730",
            "countries": list(self.countries),
            "logo": f"{logo_base}/logos/{self.id}.png",
        }
        if detailed:
            payload["supported_features"] = list(self.features)
            payload["identification_codes"] = list(self.identification_codes)
        return payload


INSTITUTIONS: tuple[Institution, ...] = (
    Institution(
        id=SANDBOX_INSTITUTION_ID,
        name="Sandbox Finance",
        bic="SFIN0000",
        countries=(*SERVED_COUNTRIES, "XX"),
        currency="EUR",
    ),
    Institution(
        id="THISTLE_THSTGB2L",
        name="Thistle Bank",
        bic="THSTGB2L",
        countries=("GB",),
        currency="GBP",
        balance_types=("closingBooked", "interimAvailable", "interimBooked"),
    ),
    Institution(
        id="ALBION_ALBNGB21",
        name="Albion Building Society",
        bic="ALBNGB21",
        countries=("GB",),
        currency="GBP",
        transaction_total_days=540,
        max_access_valid_for_days=90,
        features=("private_accounts",),
        balance_types=("closingBooked", "expected"),
    ),
    Institution(
        id="RHEINBANK_RHBKDEFF",
        name="Rheinbank",
        bic="RHBKDEFF",
        countries=("DE",),
        currency="EUR",
        transaction_total_days=365,
        remittance_as_array=True,
    ),
    Institution(
        id="SPARKASSE_SUED_SPSDDE7S",
        name="Sparkasse Süd",
        bic="SPSDDE7S",
        countries=("DE",),
        currency="EUR",
        transaction_total_days=90,
        max_access_valid_for_days=90,
    ),
    Institution(id="LUMIERE_BLUMFRPP", name="Banque Lumière", bic="BLUMFRPP", countries=("FR",), currency="EUR"),
    Institution(
        id="BANCOSOL_BSOLESMM", name="Banco Sol", bic="BSOLESMM", countries=("ES",), currency="EUR", supports_ssn=True
    ),
    Institution(id="POLDER_PLDRNL2A", name="Polder Bank", bic="PLDRNL2A", countries=("NL",), currency="EUR"),
    Institution(
        id="WISLA_WSLAPLPW",
        name="Bank Wisła",
        bic="WSLAPLPW",
        countries=("PL",),
        currency="PLN",
        remittance_as_array=True,
    ),
    Institution(id="NORDSJO_NRDSSESS", name="Nordsjö Sparbank", bic="NRDSSESS", countries=("SE",), currency="SEK"),
)

INSTITUTIONS_BY_ID = {institution.id: institution for institution in INSTITUTIONS}


@dataclass(frozen=True)
class Customer:
    id: str
    name: str
    accounts: int = 2


CUSTOMERS: tuple[Customer, ...] = (
    Customer("alice", "Alice Martin"),
    Customer("bartek", "Bartłomiej Żółkiewski"),
    Customer("chloe", "Chloé Dubois", accounts=3),
    Customer("dmitri", "Dmitri Ivanov", accounts=1),
)
CUSTOMERS_BY_ID = {customer.id: customer for customer in CUSTOMERS}
DEFAULT_CUSTOMER = CUSTOMERS[0].id

# Each customer's second and third accounts hold another currency, so every customer with several accounts
# sees at least two currencies.
SECOND_CURRENCY = {"EUR": "USD", "GBP": "EUR", "PLN": "EUR", "SEK": "EUR"}
