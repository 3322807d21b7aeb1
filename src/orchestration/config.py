"""Run configuration shared by every provider's connection-scoped assets."""

from typing import Optional

import dagster as dg


class ConnectionScopeConfig(dg.Config):
    """With `connection_id`, every connection-scoped asset reads and writes that connection's rows only. Every op
    of a run names the same one, or none does (`scope.py` holds the rule)."""

    connection_id: Optional[str] = None
    scheduled: bool = False
    """A background run: each account's scopes are read only when the quota planner says they are due
    (src/ingest/quota.py), so the run never spends the call kept for the person's Sync now."""
