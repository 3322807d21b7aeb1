"""Hook points of the connect flow, filled by other domains without the connections domain knowing them.

`after_link` runs when a bank callback linked a connection (its first sync starts there: the jobs domain
registers it). A hook returns an id to carry back to the frontend (a job id), or None.
"""

import uuid
from collections.abc import Callable

from sqlalchemy.orm import Session

AfterLink = Callable[[Session, uuid.UUID, uuid.UUID], str | None]  # (session, user id, connection id) -> job id

_after_link: list[AfterLink] = []


def register_after_link(hook: AfterLink) -> None:
    if hook not in _after_link:
        _after_link.append(hook)


def run_after_link(session: Session, user_id: uuid.UUID, connection_id: uuid.UUID) -> str | None:
    result = None
    for hook in _after_link:
        result = hook(session, user_id, connection_id) or result
    return result
