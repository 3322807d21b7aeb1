"""Run configuration shared by every provider's connection-scoped assets."""

from typing import Optional

import dagster as dg


class ConnectionScopeConfig(dg.Config):
    """With `connection_id`, every connection-scoped asset reads and writes that connection's rows only. Every op
    of a run names the same one, or none does (`scope.py` holds the rule)."""

    connection_id: Optional[str] = None
