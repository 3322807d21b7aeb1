"""finsync's clock: the present as timezone-aware UTC, read in one place by what plans around time.

The background sync's planner, the extraction that records the banks' allowances and the consent lifecycle read
`now()` rather than `datetime.now`, so that a simulation can move finsync's present together with a sandbox's
(tests drive a week of background syncs in minutes: `moved_by`). In production the offset is always zero.
"""

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

_offset = timedelta(0)


def now() -> datetime:
    """The present, timezone-aware UTC (plus the simulation's offset, zero outside tests)."""
    return datetime.now(UTC) + _offset


@contextlib.contextmanager
def moved_by(offset: timedelta) -> Iterator[None]:
    """Within the block, `now()` is `offset` ahead of the real present (a simulation's clock; not thread-safe
    against another simulation in the same process, which tests never run)."""
    global _offset
    before = _offset
    _offset = offset
    try:
        yield
    finally:
        _offset = before
