"""The SimpleFIN protocol's Account Set as JSON Schemas, written from the tables of the protocol's documents
(shared/specs/simplefin-protocol-v1.md and simplefin-protocol-v2-draft.md; SimpleFIN publishes no machine-readable
schema): every attribute the tables mark required is required here, with the type they give. Numeric strings and
epoch timestamps get patterns, so an amount written as a float or a date written as text fails."""

from typing import Any

NUMERIC_STRING = {"type": "string", "pattern": r"^-?[0-9]+(\.[0-9]+)?$"}
EPOCH = {"type": "integer", "minimum": 0}

TRANSACTION: dict[str, Any] = {
    "type": "object",
    "required": ["id", "posted", "amount", "description"],
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "posted": EPOCH,
        "amount": NUMERIC_STRING,
        "description": {"type": "string"},
        "transacted_at": EPOCH,
        "pending": {"type": "boolean"},
        "extra": {"type": "object"},
        # SimpleFIN Bridge's extensions, outside the protocol's tables.
        "payee": {"type": "string"},
        "memo": {"type": "string"},
    },
}


def _account(version: int) -> dict[str, Any]:
    required = ["id", "name", "currency", "balance", "balance-date"] + (["conn_id"] if version == 2 else ["org"])
    properties: dict[str, Any] = {
        "id": {"type": "string", "minLength": 1},
        "name": {"type": "string"},
        "currency": {"type": "string", "minLength": 1},
        "balance": NUMERIC_STRING,
        "available-balance": NUMERIC_STRING,
        "balance-date": EPOCH,
        "transactions": {"type": "array", "items": TRANSACTION},
        "extra": {"type": "object"},
    }
    if version == 2:
        properties["conn_id"] = {"type": "string", "minLength": 1}
    else:
        properties["org"] = {
            "type": "object",
            "required": ["sfin-url"],
            "anyOf": [{"required": ["domain"]}, {"required": ["name"]}],
            "properties": {
                "domain": {"type": "string"},
                "sfin-url": {"type": "string"},
                "name": {"type": "string"},
                "url": {"type": "string"},
                "id": {"type": "string"},
            },
        }
    return {"type": "object", "required": required, "properties": properties}


ERROR_V2: dict[str, Any] = {
    "type": "object",
    "required": ["code", "msg"],
    "properties": {
        "code": {"type": "string", "pattern": r"^(gen|con|act)\.[a-z]*$"},
        "msg": {"type": "string"},
        "conn_id": {"type": "string"},
        "account_id": {"type": "string"},
    },
}
CONNECTION: dict[str, Any] = {
    "type": "object",
    "required": ["conn_id", "name", "org_id", "sfin_url"],
    "properties": {
        "conn_id": {"type": "string"},
        "name": {"type": "string"},
        "org_id": {"type": "string"},
        "org_url": {"type": "string"},
        "sfin_url": {"type": "string"},
    },
}
ACCOUNT_SET_V1: dict[str, Any] = {
    "type": "object",
    "required": ["errors", "accounts"],
    "properties": {
        "errors": {"type": "array", "items": {"type": "string"}},
        "accounts": {"type": "array", "items": _account(1)},
    },
}
ACCOUNT_SET_V2: dict[str, Any] = {
    "type": "object",
    "required": ["errlist", "connections", "accounts"],
    "properties": {
        "errlist": {"type": "array", "items": ERROR_V2},
        "connections": {"type": "array", "items": CONNECTION},
        "accounts": {"type": "array", "items": _account(2)},
    },
}
INFO: dict[str, Any] = {
    "type": "object",
    "required": ["versions"],
    "properties": {"versions": {"type": "array", "items": {"type": "string", "pattern": r"^[0-9]+(\.[0-9]+){0,2}$"}}},
}
