"""Every endpoint that takes an id, called by a second user with the first user's ids, answers 404.

The walk is over the app's own routes, so a new endpoint with an id is covered (or fails here until its id kind
is known below)."""

import re

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from src.models import Job, User, WebhookEndpoint
from src.models.enums import JobEntityType, JobStatus, JobType
from tests.factories import (
    auth_headers,
    create_account,
    create_connection,
    create_transaction,
    create_user_with_password,
)

BODIES = {"PATCH": {}, "POST": {}, "PUT": {}}
# Ids of what no user owns: the same answer for every caller (a bank's logo is public), so nothing to isolate.
NOT_OWNED = {"institution_id"}


def test_a_second_users_ids_answer_404_everywhere(api: TestClient, db_session: Session, user: User) -> None:
    connection = create_connection(db_session, user=user)
    account = create_account(db_session, connection=connection)
    transaction = create_transaction(db_session, account=account)
    job = Job(
        user_id=user.id,
        job_type=JobType.sync,
        entity_type=JobEntityType.connection,
        entity_id=connection.id,
        status=JobStatus.completed,
    )
    db_session.add(job)
    webhook = WebhookEndpoint(user_id=user.id, url="http://127.0.0.1:9/hooks", secret="sealed, never read here")
    db_session.add(webhook)
    db_session.flush()
    owned: dict[str, object] = {
        "connection_id": connection.id,
        "account_id": account.id,
        "transaction_id": transaction.id,
        "job_id": job.id,
        "webhook_id": webhook.id,
    }
    stranger = auth_headers(create_user_with_password(db_session))
    assert api.get(f"/api/connections/{connection.id}", headers=auth_headers(user)).status_code == 200

    walked = []
    for template, operations in api.get("/openapi.json").json()["paths"].items():
        names = re.findall(r"{(\w+)}", template)
        if not names or set(names) <= NOT_OWNED:
            continue
        unknown = [name for name in names if name not in owned]
        assert not unknown, f"{template}: teach this test which id {unknown} is"
        path = template
        for name in names:
            path = path.replace("{" + name + "}", str(owned[name]))
        for method in sorted(m.upper() for m in operations if m in {"get", "post", "put", "patch", "delete"}):
            response = api.request(method, path, json=BODIES.get(method), headers=stranger)
            assert response.status_code == 404, (method, template, response.status_code, response.text)
            assert response.json()["code"].endswith("not_found")
            walked.append(f"{method} {template}")
    assert len(walked) >= 5, walked
    assert "GET /api/accounts/{account_id}/balances/daily" in walked, walked
    assert "GET /api/transactions/{transaction_id}" in walked, walked
    # and the owner still has everything
    assert api.get(f"/api/connections/{connection.id}", headers=auth_headers(user)).status_code == 200
