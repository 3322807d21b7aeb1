"""`make dev`'s local SMTP server: every message finsync sends is saved as a file, so a developer reads the e-mails
(consent notices) without a real mail server, and nothing leaves the machine.

An aiosmtpd server on 127.0.0.1 (`MAILBOX_PORT`, default 8025) accepting any sender and recipient, without TLS or
authentication (loopback only); each message is written to `<data dir>/mail/<UTC time>-<id>.eml` as it was
received (the envelope's recipients in an `X-Envelope-To` line on top), readable by any mail program.
"""

import uuid
from datetime import UTC, datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

MAILBOX_HOST = "127.0.0.1"


class MailboxHandler:
    """Saves each message into `directory`, one `.eml` file per message."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.directory.mkdir(parents=True, exist_ok=True)
        content = envelope.original_content or b""
        if isinstance(content, str):
            content = content.encode()
        recipients = ", ".join(envelope.rcpt_tos)
        name = f"{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:8]}.eml"
        temporary = self.directory / f".{name}"
        temporary.write_bytes(f"X-Envelope-To: {recipients}\r\n".encode() + content)
        temporary.rename(self.directory / name)  # readers never see half a message
        return "250 Message accepted for delivery"


def start_mailbox(directory: Path, port: int, host: str = MAILBOX_HOST) -> Controller:
    """The server started in a thread of this process, saving into `directory`; `.stop()` ends it."""
    controller = Controller(MailboxHandler(directory), hostname=host, port=port)
    controller.start()
    return controller


def saved_messages(directory: Path) -> list[Path]:
    """The messages saved so far, oldest first."""
    return sorted(directory.glob("*.eml")) if directory.is_dir() else []
