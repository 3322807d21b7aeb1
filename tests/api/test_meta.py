"""`GET /api/meta` for the operator: the GoCardless requisitions created this calendar month against the free
tier's allowance (the rest of the document: tests/web/test_meta.py)."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from src import clock
from src.ingest.consents import month_start


def _count(client: TestClient) -> dict[str, int]:
    response = client.get("/api/meta")
    assert response.status_code == 200
    counted: dict[str, int] = response.json()["gocardless_requisitions"]
    return counted


def test_counts_the_requisitions_created_this_calendar_month(api_client: TestClient, db_session: Session) -> None:
    before = _count(api_client)
    assert before["monthly_allowance"] == 50
    last_month = month_start(clock.now()) - timedelta(seconds=1)
    db_session.execute(
        text(
            "INSERT INTO gc_requisitions (id, reference, status, payload, first_seen_at)"
            " SELECT 'meta-' || n, 'meta-ref-' || n, 'CR', '{}'::jsonb,"
            "        CASE WHEN n = 4 THEN CAST(:last_month AS timestamptz) ELSE now() END"
            " FROM generate_series(1, 4) n"
        ),
        {"last_month": last_month},
    )
    db_session.flush()
    assert _count(api_client) == {"this_month": before["this_month"] + 3, "monthly_allowance": 50}


def test_the_count_is_documented(api_client: TestClient) -> None:
    document = api_client.get("/openapi.json").json()
    schemas = document["components"]["schemas"]
    assert "gocardless_requisitions" in schemas["Meta"]["required"]
    counted = schemas["RequisitionCount"]["properties"]
    assert set(counted) == {"this_month", "monthly_allowance"}
    assert all(prop.get("description") for prop in counted.values())
