"""Child processes of the dev stack: started in their own process group, logs prefixed, stopped as a group.

Each child gets default signal handlers and a process group of its own, so that a terminal's Ctrl-C reaches
only the supervisor, which then stops every child's whole group (`dagster dev`, for one, ignores SIGTERM when it
inherits an ignored SIGINT, and spawns grandchildren of its own).
"""

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from typing import IO


def _default_signals() -> None:
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, signal.SIG_DFL)


class ManagedProcess:
    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        cwd: str | None = None,
        stop_signal: int = signal.SIGTERM,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env) if env is not None else dict(os.environ)
        self.cwd = cwd
        self.stop_signal = stop_signal
        self.process: subprocess.Popen[bytes] | None = None
        self._pump: threading.Thread | None = None

    def start(self, output: IO[str] | None = None) -> None:
        self.process = subprocess.Popen(  # noqa: S603 - argv built by finsync, no shell
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            process_group=0,
            preexec_fn=_default_signals,
        )
        self._pump = threading.Thread(target=self._copy_output, args=(output or sys.stdout,), daemon=True)
        self._pump.start()

    def _copy_output(self, output: IO[str]) -> None:
        assert self.process is not None
        assert self.process.stdout is not None
        prefix = f"[{self.name}] "
        for raw in iter(self.process.stdout.readline, b""):
            output.write(prefix + raw.decode("utf-8", "replace").rstrip("\n") + "\n")
            output.flush()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process is not None else None

    def poll(self) -> int | None:
        return self.process.poll() if self.process is not None else None

    def stop(self, timeout: float = 15.0) -> None:
        """Signal the child's whole process group, wait, then kill whatever is left of the group."""
        if self.process is None:
            return
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, self.stop_signal)
        deadline = time.monotonic() + timeout
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        # Grandchildren may outlive the leader: wait for the group to empty, then kill it.
        while time.monotonic() < deadline and _group_alive(pgid):
            time.sleep(0.1)
        if _group_alive(pgid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5)
        if self._pump is not None:
            self._pump.join(timeout=2)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
