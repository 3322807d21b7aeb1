"""Reading the address the bank sent the person back to: `redirect_url?code=…&state=…`, or on a refusal
`?state=…&error=…&error_description=…`.

The callback reads it from its own request; where finsync's public address is not https (production Enable Banking
accepts only https redirect URLs), the person pastes the address from their browser instead, and this reads the
same two values from that text. `state` is finsync's single-use capability: the caller checks it before it spends
the code.
"""

from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit


class RedirectNotReadableError(ValueError):
    """The pasted text is not the address a bank sends back (no state, or neither a code nor an error)."""


@dataclass(frozen=True, slots=True)
class BankRedirect:
    state: str
    code: str | None = None
    error: str | None = None
    error_description: str | None = None

    @property
    def approved(self) -> bool:
        return self.code is not None and self.error is None


def read_redirect(address: str) -> BankRedirect:
    """`code` and `state` (or the refusal) from a pasted redirect address, with or without scheme and host."""
    text = address.strip()
    query = urlsplit(text).query if "?" in text else text.lstrip("?")
    values = {name: found[0].strip() for name, found in parse_qs(query).items() if found and found[0].strip()}
    state = values.get("state")
    if state is None or ("code" not in values and "error" not in values):
        raise RedirectNotReadableError("this is not the address the bank sent you back to (it has no code or state)")
    return BankRedirect(
        state=state,
        code=values.get("code") if "error" not in values else None,
        error=values.get("error"),
        error_description=values.get("error_description"),
    )
