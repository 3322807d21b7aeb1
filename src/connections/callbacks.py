"""How a bank callback ended, for every provider: what the callback endpoint turns into the frontend's redirect."""

from dataclasses import dataclass
from enum import StrEnum

from src.models import Connection


class CallbackOutcome(StrEnum):
    """How a bank callback ended, as the frontend reads it (`status` in the redirect's query)."""

    active = "active"
    rejected = "rejected"
    error = "error"


@dataclass(frozen=True)
class CallbackResult:
    outcome: CallbackOutcome
    connection: Connection | None
    error: str | None = None

    @property
    def linked(self) -> bool:
        """The bank granted access: the connection's first sync may start."""
        return self.outcome is CallbackOutcome.active
