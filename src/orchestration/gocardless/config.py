"""Run configuration shared by every GoCardless asset."""

from typing import Optional

import dagster as dg

GROUP = "gocardless"


class ConnectionScopeConfig(dg.Config):
    """With `connection_id`, every connection-scoped asset reads and writes that connection's rows only. Every op
    of a run names the same one, or none does (`scope.py` holds the rule)."""

    connection_id: Optional[str] = None


def extract_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["source", "gocardless", "extract", name])


def sync_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["sync", "gocardless", name])
