"""Run configuration shared by every GoCardless asset."""

from typing import Optional

import dagster as dg

GROUP = "gocardless"
CONNECTION_TAG = "finsync/connection_id"


class ConnectionScopeConfig(dg.Config):
    """With `connection_id`, every connection-scoped asset reads and writes that connection's rows only."""

    connection_id: Optional[str] = None


def extract_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["source", "gocardless", "extract", name])


def sync_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["sync", "gocardless", name])
