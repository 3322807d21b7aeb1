"""Reading `code` and `state` from the address the bank sent the person back to (pasted, or the callback's own)."""

import pytest

from src.providers.enablebanking.redirect import BankRedirect, RedirectNotReadableError, read_redirect


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (
            "http://127.0.0.1:8000/api/connections/callback?code=abc%2B1&state=s-1",
            BankRedirect(state="s-1", code="abc+1"),
        ),
        ("  https://finsync.example/cb?state=s-2&code=xyz\n", BankRedirect(state="s-2", code="xyz")),
        ("?code=c&state=s", BankRedirect(state="s", code="c")),
        ("code=c&state=s", BankRedirect(state="s", code="c")),
        (
            "http://127.0.0.1/cb?state=s&error=access_denied&error_description=The+user+denied",
            BankRedirect(state="s", error="access_denied", error_description="The user denied"),
        ),
    ],
)
def test_read(address: str, expected: BankRedirect) -> None:
    assert read_redirect(address) == expected


def test_approved_only_with_a_code_and_no_error() -> None:
    assert read_redirect("?code=c&state=s").approved
    assert not read_redirect("?code=c&state=s&error=x").approved


@pytest.mark.parametrize("address", ["", "http://127.0.0.1/cb", "http://127.0.0.1/cb?code=c", "?state=s", "hello"])
def test_not_a_bank_redirect(address: str) -> None:
    with pytest.raises(RedirectNotReadableError, match="not the address the bank sent you back to"):
        read_redirect(address)
