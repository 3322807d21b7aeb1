"""The shapes of the ids that go into GoCardless URLs, checked before any of them becomes a path segment.

GoCardless documents end-user agreements, requisitions and accounts as UUIDs (a malformed one gets 400 "Invalid
ID"), and institution ids as codes such as `N26_NTSBDEB1` or `SANDBOXFINANCE_SFIN0000`. An id that does not have
its shape is refused here, without a request: percent-encoding keeps `/` and `?` inside one segment, but `.` and
`..` are dot-segments that every URL resolver removes (`/institutions/../` is `/api/v2/`), and a value that is not
an id has nothing to ask GoCardless about anyway.

The patterns are also the API's input patterns (`src.connections.schemas`), so bad input is a 422 at the edge.
"""

import re
import uuid
from typing import Final

# Letters and digits first (so never "." or ".."), then the characters institution codes use.
INSTITUTION_ID_PATTERN: Final = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
# What finsync sends as a requisition's `reference` (`secrets.token_urlsafe`), and what GoCardless puts there when
# none is sent (the requisition's UUID): the bank callback's `ref` has one of these shapes or is not ours.
REFERENCE_PATTERN: Final = r"^[A-Za-z0-9_\-]{1,256}$"

_INSTITUTION_ID = re.compile(INSTITUTION_ID_PATTERN)
_UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")


class InvalidIdError(ValueError):
    """An id without its documented shape; `kind` says which id (institution, requisition, agreement, account)."""

    def __init__(self, kind: str, value: object) -> None:
        super().__init__(f"{value!r} is not a valid GoCardless {kind} id")
        self.kind = kind


def institution_id(value: str) -> str:
    if not isinstance(value, str) or not _INSTITUTION_ID.fullmatch(value):
        raise InvalidIdError("institution", value)
    return value


def uuid_id(kind: str, value: str | uuid.UUID) -> str:
    """An agreement, requisition or account id: a UUID, in its canonical text form."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise InvalidIdError(kind, value)
    return value
