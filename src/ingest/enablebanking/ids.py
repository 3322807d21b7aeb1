"""finsync's institution id for an Enable Banking bank.

Enable Banking names a bank by its name and country; finsync's institutions need one id that fits the API's
institution id pattern and never collides with a GoCardless id. `ENABLEBANKING-<country>-<name as letters and
digits>-<digest of the exact name>`: readable, stable, and two names that differ only in punctuation stay apart.
"""

import hashlib
import re

PREFIX = "ENABLEBANKING-"
_NOT_ALNUM = re.compile(r"[^A-Z0-9]+")


def aspsp_institution_id(name: str, country: str) -> str:
    slug = _NOT_ALNUM.sub("_", name.upper()).strip("_")[:60] or "BANK"
    digest = hashlib.sha256(f"{country.upper()}\x1f{name}".encode()).hexdigest()[:8]
    return f"{PREFIX}{country.upper()}-{slug}-{digest}"


def is_enablebanking_institution(institution_id: str) -> bool:
    return institution_id.startswith(PREFIX)
