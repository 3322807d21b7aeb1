"""`make dev`'s local SMTP server saves every message it receives as a file under the data dir."""

import smtplib
from email.message import EmailMessage
from email.parser import BytesParser
from email.policy import default
from pathlib import Path

from src.devstack.mailbox import saved_messages, start_mailbox
from tests.harness.sandbox import free_port


def test_each_message_is_saved_as_a_file_a_mail_program_reads(tmp_path: Path) -> None:
    directory = tmp_path / "mail"
    port = free_port()
    mailbox = start_mailbox(directory, port)
    try:
        for number in (1, 2):
            message = EmailMessage()
            message["From"] = "finsync <finsync@localhost>"
            message["To"] = "person@example.com"
            message["Subject"] = f"message {number}"
            message.set_content("Your consent with Thistle Bank ends on 1 March 2027.\n")
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
                smtp.send_message(message)
    finally:
        mailbox.stop()
    saved = saved_messages(directory)
    assert len(saved) == 2
    parsed = [BytesParser(policy=default).parsebytes(path.read_bytes()) for path in saved]
    assert sorted(str(message["Subject"]) for message in parsed) == ["message 1", "message 2"]
    assert all(message["X-Envelope-To"] == "person@example.com" for message in parsed)
    assert "Thistle Bank ends on 1 March 2027" in parsed[0].get_body().get_content()  # type: ignore[union-attr]
    assert not list(directory.glob(".*")), "no half-written file is left behind"
