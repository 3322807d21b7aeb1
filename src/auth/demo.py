"""The demo account `finsync dev` creates, so a newcomer can sync the sandbox bank without typing anything.

Its password is public on purpose (README prints it): the account exists only where `finsync dev` made it, a
development stack on loopback. The page offers it through `GET /api/meta` only when FINSYNC_ENV is development.
"""

import logging

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from src.auth.service import auth as auth_service
from src.models import User

log = logging.getLogger("src.auth")

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "finsync-demo"  # noqa: S105 - documented in README, development only


def ensure_demo_user(session: Session) -> bool:
    """Create the demo user unless an account with its address exists; True when it was created now.

    A user who changed the demo account keeps their change: an existing row is never touched."""
    exists = session.scalar(select(User.id).where(func.lower(User.email) == DEMO_EMAIL))
    if exists is not None:
        return False
    auth_service.register(session, email=DEMO_EMAIL, password=DEMO_PASSWORD)
    log.info("demo user created")
    return True
