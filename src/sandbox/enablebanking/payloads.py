"""The JSON bodies of the official API, built from the sandbox's state and histories (the OpenAPI schemas'
names in brackets). Optional fields a bank does not fill are left out, not sent as null."""

from datetime import date
from decimal import Decimal
from typing import Any

from src.sandbox.enablebanking import history
from src.sandbox.enablebanking.catalogue import CUSTOMERS_BY_ID, Aspsp
from src.sandbox.enablebanking.history import AccountProfile, Item
from src.sandbox.enablebanking.logos import logo_url
from src.sandbox.enablebanking.state import Session, iso


def amount(value: Decimal, currency: str) -> dict[str, str]:
    """[AmountType]: a decimal string with a dot, two places."""
    return {"currency": currency, "amount": f"{value.quantize(Decimal('0.01'))}"}


def aspsp_data(aspsp: Aspsp, public_url: str) -> dict[str, Any]:
    """[ASPSPData] with the sandbox's test customers as `sandbox.users`; its `logo` is served by the sandbox itself
    (src/sandbox/enablebanking/logos.py)."""
    body: dict[str, Any] = {
        "name": aspsp.name,
        "country": aspsp.country,
        "logo": logo_url(public_url, aspsp),
        "psu_types": ["personal", "business"],
        "auth_methods": [
            {
                "name": "redirect",
                "title": "Sandbox login",
                "psu_type": "personal",
                "approach": "REDIRECT",
                "hidden_method": False,
            },
            {
                "name": "redirect-business",
                "title": "Sandbox login (business)",
                "psu_type": "business",
                "approach": "REDIRECT",
                "hidden_method": False,
            },
        ],
        "maximum_consent_validity": aspsp.maximum_consent_validity,
        "sandbox": {
            "users": [
                {"username": customer.id, "password": customer.password, "otp": customer.otp}
                for customer in CUSTOMERS_BY_ID.values()
            ]
        },
        "beta": aspsp.beta,
        "bic": aspsp.bic,
    }
    if aspsp.required_psu_headers:
        body["required_psu_headers"] = list(aspsp.required_psu_headers)
    return body


def access(session_valid_until: str, balances: bool, transactions: bool) -> dict[str, Any]:
    return {"valid_until": session_valid_until, "balances": balances, "transactions": transactions}


def account_resource(aspsp: Aspsp, account: AccountProfile, uid: str | None) -> dict[str, Any]:
    """[AccountResource]: `uid` is this session's; `identification_hash` is the account's, in every session."""
    body: dict[str, Any] = {
        "account_id": {"iban": account.iban},
        "all_account_ids": [{"identification": account.iban[4:], "scheme_name": "BBAN"}],
        "account_servicer": {"bic_fi": aspsp.bic, "name": aspsp.name},
        "name": account.owner_name,
        "details": account.name,
        "usage": "PRIV",
        "cash_account_type": account.cash_account_type,
        "product": account.product,
        "currency": account.currency,
        "identification_hash": account.identification_hash,
        "identification_hashes": [account.identification_hash],
    }
    if uid is not None:
        body["uid"] = uid
    return body


def session_response(session: Session, status: str, hashes: list[str]) -> dict[str, Any]:
    """[GetSessionResponse]; `hashes` are the identification hashes of the session's accounts, in order."""
    body: dict[str, Any] = {
        "status": status,
        "accounts": [account.uid for account in session.accounts],
        "accounts_data": [
            {"uid": account.uid, "identification_hash": value, "identification_hashes": [value]}
            for account, value in zip(session.accounts, hashes, strict=True)
        ],
        "aspsp": {"name": session.aspsp[0], "country": session.aspsp[1]},
        "psu_type": session.psu_type,
        "psu_id_hash": session.psu_id_hash,
        "access": access(iso(session.valid_until), session.balances, session.transactions),
        "created": iso(session.created),
        "authorized": iso(session.authorized),
    }
    if session.closed is not None:
        body["closed"] = iso(session.closed)
    return body


def balances(account: AccountProfile, today: date, now_iso: str) -> dict[str, Any]:
    """[HalBalances]: CLBD = opening + booked; ITAV = CLBD + pending (the module docstring of history)."""
    booked = history.booked_balance(account, today)
    available = booked + history.pending_total(account, today)
    return {
        "balances": [
            {
                "name": "Booked balance",
                "balance_amount": amount(booked, account.currency),
                "balance_type": "CLBD",
                "reference_date": today.isoformat(),
                "last_change_date_time": now_iso,
            },
            {
                "name": "Available balance",
                "balance_amount": amount(available, account.currency),
                "balance_type": "ITAV",
                "reference_date": today.isoformat(),
                "last_change_date_time": now_iso,
            },
        ]
    }


_CARD = {"description": "Card payment", "code": "CCRD", "sub_code": "POSD"}
_TRANSFER_IN = {"description": "Credit transfer", "code": "RCDT", "sub_code": "ESCT"}
_TRANSFER_OUT = {"description": "Credit transfer", "code": "ICDT", "sub_code": "ESCT"}


def transaction(aspsp: Aspsp, account: AccountProfile, item: Item, status: str, session_id: str) -> dict[str, Any]:
    """[Transaction] as the bank shows `item` in `status`."""
    debit = item.amount < 0
    magnitude = -item.amount if debit else item.amount
    shown = -magnitude if debit and aspsp.signed_debits else magnitude
    body: dict[str, Any] = {}
    reference = item.entry_reference if status == "BOOK" else item.pending_reference
    if reference is not None:
        body["entry_reference"] = reference
    body["transaction_id"] = history.transaction_id(account, item, status, session_id, aspsp.session_transaction_ids)
    body["transaction_amount"] = amount(shown, account.currency)
    body["credit_debit_indicator"] = "DBIT" if debit else "CRDT"
    body["status"] = status
    if status == "BOOK":
        body["booking_date"] = item.settle_day.isoformat()
        body["value_date"] = item.value_day.isoformat()
    body["transaction_date"] = item.value_day.isoformat()
    party: dict[str, Any] = {"name": item.counterparty}
    own = {"iban": account.iban}
    other = {"iban": item.counterparty_iban} if item.counterparty_iban else None
    if debit:
        body["creditor"] = party
        if other:
            body["creditor_account"] = other
        body["debtor"] = {"name": account.owner_name}
        body["debtor_account"] = own
    else:
        body["debtor"] = party
        if other:
            body["debtor_account"] = other
        body["creditor"] = {"name": account.owner_name}
        body["creditor_account"] = own
    if item.merchant_category_code:
        body["bank_transaction_code"] = _CARD
        body["merchant_category_code"] = item.merchant_category_code
    else:
        body["bank_transaction_code"] = _TRANSFER_OUT if debit else _TRANSFER_IN
    body["remittance_information"] = list(item.remittance)
    return body
