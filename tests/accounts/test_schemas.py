"""IBAN masking: enough to tell accounts apart, never the whole number."""

import pytest

from src.accounts.schemas import mask_iban


class TestMaskIban:
    @pytest.mark.parametrize(
        ("iban", "masked"),
        [
            ("GB29NWBK60161331926819", "GB29 **** **** 6819"),
            ("GB29 NWBK 6016 1331 9268 19", "GB29 **** **** 6819"),
            ("de89370400440532013000", "DE89 **** **** 3000"),
            ("NO9386011117947", "NO93 **** **** 7947"),
            ("12345678", "**** 78"),
            ("1234", "****"),
            (None, None),
        ],
    )
    def test_masks(self, iban: str | None, masked: str | None) -> None:
        assert mask_iban(iban) == masked
