"""Run config rules of the Dagster client, pure so that they are tested without Dagster.

Dagster refuses `{"ops": {"*": …}}` (FIELD_NOT_DEFINED at root:ops), yet it is the documented way to scope every
op of a job to one connection; the client expands it to the job's op names, and tags the run with the connection
the ops' configs name, so that the instance's per-connection tag limit applies.
"""

import copy
from collections.abc import Mapping, Sequence
from typing import Any


def wants_every_op(run_config: Mapping[str, Any]) -> bool:
    ops = run_config.get("ops")
    return isinstance(ops, Mapping) and "*" in ops


def expand_every_op(run_config: Mapping[str, Any], op_names: Sequence[str]) -> dict[str, Any]:
    """`{"ops": {"*": entry}}` → the same entry for every op of the job; an op named explicitly keeps its own.

    Dagster refuses `"*"` (FIELD_NOT_DEFINED at root:ops), so the documented one-liner needs this.
    """
    expanded = copy.deepcopy(dict(run_config))
    ops: dict[str, Any] = expanded["ops"]
    every = ops.pop("*")
    expanded["ops"] = {**{name: copy.deepcopy(every) for name in op_names}, **ops}
    return expanded


def connection_id_in(run_config: Mapping[str, Any]) -> str | None:
    """The one connection id the ops' configs name, or None; ValueError when they name more than one."""
    ops = run_config.get("ops")
    if not isinstance(ops, Mapping):
        return None
    found: set[str] = set()
    for entry in ops.values():
        config = entry.get("config") if isinstance(entry, Mapping) else None
        value = config.get("connection_id") if isinstance(config, Mapping) else None
        if value is not None:
            found.add(str(value))
    if len(found) > 1:
        raise ValueError(f"the run config names several connections: {', '.join(sorted(found))}")
    return found.pop() if found else None
