"""PSU headers: what tells a bank that the person is present, and so exempts a read from its unattended quota.

They are sent only when a person is at the other end right now (Sync now from the API or the page, forwarding that
request's address and agent): a `PsuContext`. Scheduled runs have none and send none; a bank would rightly take
made-up values for a lie. A bank listing `required_psu_headers` wants all of them or none ("Either all required PSU
headers or none … otherwise PSU_HEADER_NOT_PROVIDED"): when the person's request cannot supply one it lists, none is
sent and the read counts as unattended.
"""

import logging
from collections.abc import Collection
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class PsuContext:
    """The person's request, as their browser sent it to finsync."""

    ip_address: str
    user_agent: str | None = None
    referer: str | None = None
    accept: str | None = None
    accept_charset: str | None = None
    accept_encoding: str | None = None
    accept_language: str | None = None
    geo_location: str | None = None  # "lat,lon"

    def headers(self) -> dict[str, str]:
        named = {
            "Psu-Ip-Address": self.ip_address,
            "Psu-User-Agent": self.user_agent,
            "Psu-Referer": self.referer,
            "Psu-Accept": self.accept,
            "Psu-Accept-Charset": self.accept_charset,
            "Psu-Accept-Encoding": self.accept_encoding,
            "Psu-Accept-Language": self.accept_language,
            "Psu-Geo-Location": self.geo_location,
        }
        return {name: value for name, value in named.items() if value}


def psu_headers(psu: PsuContext | None, required: Collection[str] = ()) -> dict[str, str]:
    """The PSU headers for one call: none without a person; with one, every header their request supplies, or
    none when the bank requires one it cannot supply (header names compared without regard to case)."""
    if psu is None:
        return {}
    headers = psu.headers()
    present = {name.lower() for name in headers}
    missing = sorted(name for name in required if name.lower() not in present)
    if missing:
        log.info("PSU headers not sent: the bank requires %s, which the request does not give", ", ".join(missing))
        return {}
    return headers
