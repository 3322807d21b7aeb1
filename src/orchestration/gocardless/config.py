"""The GoCardless group's name and asset keys; its assets take the shared `ConnectionScopeConfig`."""

import dagster as dg

from src.orchestration.config import ConnectionScopeConfig

__all__ = ["GROUP", "PROVIDER", "ConnectionScopeConfig", "extract_key", "sync_key"]

GROUP = "gocardless"
PROVIDER = "gocardless"


def extract_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["source", "gocardless", "extract", name])


def sync_key(name: str) -> dg.AssetKey:
    return dg.AssetKey(["sync", "gocardless", name])
