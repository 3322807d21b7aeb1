"""Logs cannot be forged or made to carry a capability: one record is one line, control characters are escaped,
capability-bearing values are redacted, and SQL parameters never reach a traceback.

`lines` captures what the API writes: the `src` logger tree through finsync's own formatter (the one
`configure_logging` installs), into a buffer. The API tests drive the app in-process (`api`, GoCardless = the
sandbox server); the SQL test runs a failing statement on the app's own engine against the test PostgreSQL.
"""

import io
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from src.db import get_engine
from src.logging_setup import KeyValueFormatter
from src.models import GcRequisition
from tests.harness.live import LiveApi
from tests.harness.sandbox import SandboxControl

FORGED = '2026-01-01T00:00:00.000Z info src.auth "login succeeded" user_id=forged'
RECORD_START = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (debug|info|warning|error|critical) src\.")
CAPABILITY = "Zm9yZ2VkLWNhcGFiaWxpdHktcmVmZXJlbmNl"
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

Lines = Callable[[], list[str]]


@pytest.fixture
def lines() -> Iterator[Lines]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(KeyValueFormatter())
    logger = logging.getLogger("src")
    previous_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield lambda: buffer.getvalue().splitlines()
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous_level)


def _assert_one_record_per_line(captured: list[str]) -> None:
    """Every line starts a record of its own and holds no control character (a terminal escape, a NUL, a line
    separator that some viewers break on)."""
    assert captured, "nothing was logged: the checks below would prove nothing"
    for line in captured:
        assert RECORD_START.match(line), f"a line that is not a record of its own: {line!r}"
        assert not line.startswith(FORGED[:25]), f"a forged record: {line!r}"
        assert not CONTROL.search(line), f"a raw control character: {line!r}"


class TestFormatter:
    def test_control_characters_in_the_message_and_values_are_escaped(self, lines: Lines) -> None:
        logging.getLogger("src.test").info(
            "first\nsecond", extra={"path": f"/x\n{FORGED}", "other": "\x1b[31mred\x00\r\t\x7f\u2028\u0085"}
        )
        captured = lines()
        _assert_one_record_per_line(captured)
        (line,) = captured
        assert '"first\\nsecond"' in line
        assert f'path="/x\\n{FORGED.replace(chr(34), chr(92) + chr(34))}"' in line
        assert 'other="\\x1b[31mred\\x00\\r\\t\\x7f\\u2028\\x85"' in line

    def test_a_traceback_stays_on_its_records_line(self, lines: Lines) -> None:
        try:
            raise ValueError(f"boom\n{FORGED}")
        except ValueError:
            logging.getLogger("src.test").exception("unhandled error", extra={"path": "/x"})
        captured = lines()
        _assert_one_record_per_line(captured)
        (line,) = captured
        assert "Traceback (most recent call last):\\n" in line
        assert "ValueError: boom\\n2026-01-01" in line

    @pytest.mark.parametrize("key", ["ref", "reference", "token", "access_token", "refresh_token", "password"])
    def test_capability_bearing_values_are_redacted(self, lines: Lines, key: str) -> None:
        logging.getLogger("src.test").info("callback", extra={key: CAPABILITY, "connection_id": "c-1"})
        (line,) = lines()
        assert "connection_id=c-1" in line
        assert f"{key}=[redacted]" in line
        assert CAPABILITY not in line


class TestThroughTheApi:
    def test_a_newline_in_the_callbacks_error_forges_no_line(
        self, api: TestClient, headers: dict[str, str], db_session: Session, sandbox: SandboxControl, lines: Lines
    ) -> None:
        created = api.post("/api/connections", json={"institution_id": "SANDBOXFINANCE_SFIN0000"}, headers=headers)
        assert created.status_code == 201, created.text
        requisition = db_session.query(GcRequisition).one()
        sandbox.deny(requisition.id)
        api.get(
            "/api/connections/callback",
            params={"ref": requisition.reference, "error": f"UserCancelledSession\n{FORGED}"},
            follow_redirects=False,
        )
        _assert_one_record_per_line(lines())

    # Line breaks are covered over a real socket (TestLive): the in-process client drops them from a path.
    @pytest.mark.parametrize("control", ["%1B", "%00", "%7F"])
    def test_control_characters_in_the_path_reach_the_access_log_escaped(
        self, api: TestClient, lines: Lines, control: str
    ) -> None:
        forged_path = FORGED.replace(" ", "%20").replace('"', "%22")
        response = api.get(f"/no-such-page{control}{forged_path}")
        assert response.status_code == 404
        captured = lines()
        _assert_one_record_per_line(captured)
        access = [line for line in captured if " src.api.access " in line]
        assert len(access) == 1
        assert "path=" in access[0]


class TestSqlParameters:
    def test_a_failing_statement_logs_no_parameter(self, lines: Lines) -> None:
        """The callback's reference (a capability) was in the traceback of every failed lookup; the engine now
        keeps bound parameters out of its errors, so no log or error page can show them."""
        with get_engine().connect() as connection, pytest.raises(DBAPIError) as caught:
            # The lookup the callback made with `?ref=…%00…`: psycopg refuses the NUL before sending it.
            connection.execute(
                text("SELECT id FROM gc_requisitions WHERE reference = :reference"),
                {"reference": CAPABILITY + "\x00"},
            )
        assert CAPABILITY not in str(caught.value)
        logging.getLogger("src.test").error("unhandled error", exc_info=caught.value)
        captured = lines()
        _assert_one_record_per_line(captured)
        assert "DataError" in captured[0]
        assert CAPABILITY not in "\n".join(captured)


class TestLive:
    def test_a_percent_encoded_newline_in_the_path_forges_no_access_record(self, live_api: LiveApi) -> None:
        """Over a real socket: the in-process client drops encoded line breaks from a path before the app sees it,
        uvicorn decodes them into the path the access log writes."""
        forged = FORGED.replace(" ", "%20").replace('"', "%22")
        request = (
            f"GET /no-such-page%0D%0A{forged}%1B[2J%E2%80%A8 HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        with socket.create_connection(("127.0.0.1", live_api.port), timeout=10) as connection:
            connection.sendall(request.encode())
            answer = connection.recv(65536)
        assert answer.startswith(b"HTTP/1.1 404 ")
        deadline = time.monotonic() + 10
        while True:  # the record is written as the response ends: give the server a moment
            logs = live_api.logs()
            access = [line for line in logs.splitlines() if " src.api.access " in line and "/no-such-page" in line]
            if access or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        assert len(access) == 1, logs
        assert "\\r\\n2026-01-01T00:00:00.000Z" in access[0]
        assert "\\x1b[2J\\u2028" in access[0]
        assert not CONTROL.search(access[0])
        assert not any(line.startswith("2026-01-01T00:00:00.000Z") for line in logs.splitlines())
