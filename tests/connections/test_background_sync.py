"""What the API says of the background sync: calls left per account and scope, when they come back, the next sync."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from src.models import Account, GcAccount, GcAccountLimit, GcRequisition
from src.models.enums import GcScope
from tests.harness.sandbox import SandboxControl


def _active_connection(api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl) -> str:
    created = api.post("/api/connections", json={"institution_id": "SANDBOXFINANCE_SFIN0000"}, headers=headers)
    assert created.status_code == 201, created.text
    connection_id = str(created.json()["connection"]["id"])
    requisition = db_session.scalar(select(GcRequisition).where(GcRequisition.connection_id == connection_id))
    assert requisition is not None
    sandbox.approve(requisition.id, customer="chloe", account_count=2)
    answer = api.get("/api/connections/callback", params={"ref": requisition.reference}, follow_redirects=False)
    assert answer.status_code == 303
    assert "status=active" in urlsplit(answer.headers["location"]).query
    return connection_id


def test_a_new_connection_has_every_call_left_and_is_synced_at_once(
    api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl
) -> None:
    connection_id = _active_connection(api, headers, db_session, sandbox)
    read = api.get(f"/api/connections/{connection_id}", headers=headers).json()
    background = read["background_sync"]
    assert datetime.fromisoformat(background["next_sync_at"]) <= datetime.now(UTC) + timedelta(seconds=5)
    assert len(background["accounts"]) == 2
    for account in background["accounts"]:
        assert {s["scope"]: (s["remaining"], s["limit"], s["resets_at"]) for s in account["scopes"]} == {
            scope: (4, 4, None) for scope in ("details", "balances", "transactions")
        }
    listed = api.get("/api/connections", headers=headers).json()["items"][0]["background_sync"]
    assert [a["account_id"] for a in listed["accounts"]] == [a["account_id"] for a in background["accounts"]]


def test_a_spent_allowance_shows_its_reset_and_moves_the_next_sync(
    api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl
) -> None:
    connection_id = _active_connection(api, headers, db_session, sandbox)
    reset = (datetime.now(UTC) + timedelta(hours=9)).replace(microsecond=0)
    last_call = datetime.now(UTC) - timedelta(minutes=1)
    raw_accounts = db_session.execute(
        select(GcAccount.id, GcAccount.account_id)
        .join(GcRequisition, GcRequisition.id == GcAccount.requisition_id)
        .where(GcRequisition.connection_id == connection_id)
    ).all()
    for gc_account_id, _ in raw_accounts:
        for scope in (GcScope.balances, GcScope.transactions):
            # Only the person's call is left until the reset (GoCardless keeps it for Sync now).
            db_session.add(
                GcAccountLimit(
                    gc_account_id=gc_account_id,
                    scope=scope,
                    limit=4,
                    remaining=1,
                    reset_at=reset,
                    updated_at=last_call,
                )
            )
    db_session.flush()

    background = api.get(f"/api/connections/{connection_id}", headers=headers).json()["background_sync"]
    assert datetime.fromisoformat(background["next_sync_at"]) == reset
    accounts = {a["account_id"]: a for a in background["accounts"]}
    owned = db_session.scalars(select(Account.id).where(Account.connection_id == connection_id)).all()
    assert set(accounts) == {str(account_id) for account_id in owned}
    for account in accounts.values():
        scopes = {s["scope"]: s for s in account["scopes"]}
        assert scopes["transactions"]["remaining"] == 1
        assert datetime.fromisoformat(scopes["transactions"]["resets_at"]) == reset
        assert datetime.fromisoformat(scopes["transactions"]["next_call_at"]) == reset


def test_a_pending_connection_has_no_background_sync(api: TestClient, headers: dict[str, str]) -> None:
    created = api.post("/api/connections", json={"institution_id": "SANDBOXFINANCE_SFIN0000"}, headers=headers)
    connection_id = created.json()["connection"]["id"]
    assert api.get(f"/api/connections/{connection_id}", headers=headers).json()["background_sync"] is None
