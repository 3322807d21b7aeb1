"""The Enable Banking group's name, asset keys and run config."""

from typing import Optional

import dagster as dg

from src.orchestration.config import ConnectionScopeConfig
from src.providers.enablebanking.psu import PsuContext

GROUP = "enablebanking"
PROVIDER = "enablebanking"


class EnableBankingScopeConfig(ConnectionScopeConfig):
    """The connection scope, plus the person who pressed Sync now (their address and browser, forwarded to the
    bank as PSU headers so the read is attended and spends none of the bank's unattended quota). Scheduled runs
    leave both unset and send no PSU header."""

    psu_ip_address: Optional[str] = None
    psu_user_agent: Optional[str] = None

    def person(self) -> Optional[PsuContext]:
        if not self.psu_ip_address:
            return None
        return PsuContext(ip_address=self.psu_ip_address, user_agent=self.psu_user_agent)


def extract_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["source", "enablebanking", "extract", name])


def sync_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["sync", "enablebanking", name])
