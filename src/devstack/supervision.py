"""Keeping the dev stack's parts alive once it is ready: a child that exits or stops answering is named in one line
and restarted, a bounded number of times; past that, or when the database stops answering, the stack stops with
that line. The ready line is printed again only once every part answers again, never over a dead part.

`dagster dev` exits when its webserver or daemon dies, so a dead Dagster shows as an exit; a hung one, or a daemon
Dagster itself calls unhealthy, shows as not answering. The embedded PostgreSQL is not restarted: the children hold
its URL and their pools, and a database that died is worth a look before anything writes to it again.
"""

import subprocess
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from src.devstack.processes import ManagedProcess

READY_TIMEOUT_SECONDS = 180
# At most this many restarts of one part within the window; one more failure stops the stack.
MAX_RESTARTS = 3
RESTART_WINDOW_SECONDS = 600.0
# How often a ready stack asks each part whether it answers, and how long the database may stay silent.
PROBE_INTERVAL_SECONDS = 2.0
DATABASE_SILENCE_SECONDS = 10.0

Probe = Callable[[], str | None]
"""None when the part answers as it should; otherwise what is wrong, for a one-line message."""


@dataclass
class Service:
    """A child process; `missing()` (ready to serve?) gates start-up, `alive()` (still answering?) the running
    stack, which tolerates `silence_limit` seconds of no answer (a busy Dagster may be slow) before acting."""

    process: ManagedProcess
    missing: Probe
    url: str
    alive: Probe | None = None
    silence_limit: float = 15.0
    prepare: Callable[[], None] | None = None
    # The sandbox must answer before the others start: they may ask it for tokens straight away.
    ready_before_next: bool = False
    silent_since: float | None = field(default=None, repr=False)
    restarts: deque[float] = field(default_factory=deque, repr=False)

    @property
    def name(self) -> str:
        return self.process.name

    def start(self) -> None:
        if self.prepare is not None:
            self.prepare()
        self.process.start()


def wait_until_ready(services: list[Service], timeout: float = READY_TIMEOUT_SECONDS) -> None:
    """Until every service answers `missing()` with None; RuntimeError (one line) when one exits or time runs out."""
    deadline = time.monotonic() + timeout
    waiting = list(services)
    while waiting:
        for service in services:
            code = service.process.poll()
            if code is not None:
                raise RuntimeError(f"{service.name} exited with code {code} before it was ready")
        waiting = [service for service in waiting if service.missing() is not None]
        if waiting and time.monotonic() > deadline:
            detail = "; ".join(f"{s.name}: {s.missing()}" for s in waiting)
            raise RuntimeError(f"not ready within {timeout:.0f} s: {detail}")
        if waiting:
            time.sleep(0.3)


class Supervisor:
    """Watches a ready stack. `step()` checks each part once (processes at every call, answers every
    `probe_interval`) and returns None to go on, or the exit code when the stack must stop; it has then said why."""

    def __init__(
        self,
        services: list[Service],
        *,
        say: Callable[[str], None],
        announce_ready: Callable[[], None],
        database: Probe | None = None,
        database_silence_limit: float = DATABASE_SILENCE_SECONDS,
        max_restarts: int = MAX_RESTARTS,
        restart_window: float = RESTART_WINDOW_SECONDS,
        probe_interval: float = PROBE_INTERVAL_SECONDS,
        ready_timeout: float = READY_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._services = services
        self._say = say
        self._announce_ready = announce_ready
        self._database = database
        self._database_silence_limit = database_silence_limit
        self._database_silent_since: float | None = None
        self._max_restarts = max_restarts
        self._restart_window = restart_window
        self._probe_interval = probe_interval
        self._ready_timeout = ready_timeout
        self._clock = clock
        self._next_probe = clock() + probe_interval

    def step(self) -> int | None:
        now = self._clock()
        probing = now >= self._next_probe
        if probing:
            self._next_probe = now + self._probe_interval
            problem = self._database_problem(now)
            if problem is not None:
                self._say(f"the database {problem}; stopping")
                return 1
        for service in self._services:
            problem = self._problem(service, now, probing)
            if problem is not None:
                return self._restart(service, problem, now)
        return None

    def _database_problem(self, now: float) -> str | None:
        if self._database is None:
            return None
        self._database_silent_since, problem = _silence(
            self._database(), self._database_silent_since, now, self._database_silence_limit
        )
        return problem

    def _problem(self, service: Service, now: float, probing: bool) -> str | None:
        code = service.process.poll()
        if code is not None:
            return f"exited with code {code}"
        if not probing or service.alive is None:
            return None
        service.silent_since, problem = _silence(service.alive(), service.silent_since, now, service.silence_limit)
        return problem

    def _restart(self, service: Service, problem: str, now: float) -> int | None:
        while service.restarts and now - service.restarts[0] > self._restart_window:
            service.restarts.popleft()
        if len(service.restarts) >= self._max_restarts:
            minutes = self._restart_window / 60
            self._say(f"{service.name} {problem} after {len(service.restarts)} restarts in {minutes:.0f} min; stopping")
            return 1
        service.restarts.append(now)
        self._say(f"{service.name} {problem}; restarting it ({len(service.restarts)} of {self._max_restarts})")
        service.process.stop()
        service.silent_since = None
        try:
            service.start()
        except (OSError, subprocess.SubprocessError) as exc:  # Dagster's home preparation runs a process too
            raise RuntimeError(f"{service.name} could not be started again ({type(exc).__name__})") from exc
        wait_until_ready([service], self._ready_timeout)  # RuntimeError: the caller stops the stack with its line
        self._say(f"{service.name} is back")
        if all(
            other.process.poll() is None and (other.alive is None or other.alive() is None) for other in self._services
        ):
            self._announce_ready()
        self._next_probe = self._clock() + self._probe_interval
        return None


def _silence(reason: str | None, since: float | None, now: float, limit: float) -> tuple[float | None, str | None]:
    """(silent since, problem): a part that answered is not silent; one silent for `limit` seconds is a problem."""
    if reason is None:
        return None, None
    since = now if since is None else since
    silent = now - since
    return since, (f"stopped answering for {silent:.0f} s ({reason})" if silent >= limit else None)
