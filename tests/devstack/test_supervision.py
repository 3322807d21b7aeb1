"""The running stack's watch (src/devstack/supervision.py), on stand-in children: `sleep` processes in process groups
of their own (real processes, killed for real) whose answers the test decides, and a clock the test moves, so that
"silent for 15 s" takes no 15 s. The live stack's version of this is in test_dev.py.
"""

import os
import signal
import time
from collections.abc import Iterator

import pytest

from src.devstack.processes import ManagedProcess
from src.devstack.supervision import Service, Supervisor


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Part:
    """A stand-in child: a real process, and answers set by the test (None: it answers)."""

    def __init__(self, name: str) -> None:
        self.silence: str | None = None
        self.not_ready: str | None = None
        self.service = Service(
            ManagedProcess(name, ["sleep", "600"]),
            missing=lambda: self.not_ready,
            url=f"http://{name}",
            alive=lambda: self.silence,
        )

    def kill(self) -> None:
        pid = self.service.process.pid
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + 5
        while self.service.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)


class Watch:
    def __init__(self, parts: list[Part], clock: Clock, **options: object) -> None:
        self.lines: list[str] = []
        self.database_silence: str | None = None
        self.supervisor = Supervisor(
            [part.service for part in parts],
            say=self.lines.append,
            announce_ready=lambda: self.lines.append("ready"),
            database=lambda: self.database_silence,
            clock=clock,
            **options,  # type: ignore[arg-type]
        )

    def step(self) -> int | None:
        return self.supervisor.step()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def parts() -> Iterator[list[Part]]:
    made = [Part("api"), Part("sandbox")]
    for part in made:
        part.service.start()
    yield made
    for part in made:
        part.service.process.stop(timeout=2)


def test_a_healthy_stack_says_nothing(parts: list[Part], clock: Clock) -> None:
    watch = Watch(parts, clock)
    for _ in range(5):
        clock.now += 2
        assert watch.step() is None
    assert watch.lines == []


def test_a_child_that_dies_is_named_in_one_line_and_restarted(parts: list[Part], clock: Clock) -> None:
    watch = Watch(parts, clock)
    api = parts[0]
    dead_pid = api.service.process.pid
    api.kill()

    assert watch.step() is None

    assert watch.lines == ["api exited with code -9; restarting it (1 of 3)", "api is back", "ready"]
    assert api.service.process.poll() is None
    assert api.service.process.pid != dead_pid


def test_a_child_that_stops_answering_is_restarted_once_silent_past_its_limit(parts: list[Part], clock: Clock) -> None:
    watch = Watch(parts, clock)
    sandbox = parts[1]
    hung_pid = sandbox.service.process.pid
    # The hung process never answers; the one started in its place does.
    sandbox.service.alive = lambda: "no answer (ReadTimeout)" if sandbox.service.process.pid == hung_pid else None
    for _ in range(8):  # silent from the first probe on: 14 s, under the 15 s limit
        clock.now += 2
        assert watch.step() is None
    assert watch.lines == []

    clock.now += 2
    assert watch.step() is None

    assert watch.lines == [
        "sandbox stopped answering for 16 s (no answer (ReadTimeout)); restarting it (1 of 3)",
        "sandbox is back",
        "ready",
    ]
    assert sandbox.service.process.pid != hung_pid


def test_an_answer_resets_the_silence(parts: list[Part], clock: Clock) -> None:
    watch = Watch(parts, clock)
    for _ in range(3):
        parts[0].silence = "no answer"
        for _ in range(6):
            clock.now += 2
            assert watch.step() is None
        parts[0].silence = None
        clock.now += 2
        assert watch.step() is None
    assert watch.lines == []


def test_ready_is_not_said_while_another_part_is_silent(parts: list[Part], clock: Clock) -> None:
    watch = Watch(parts, clock)
    parts[1].silence = "no answer"
    parts[0].kill()
    clock.now += 2

    assert watch.step() is None

    assert watch.lines == ["api exited with code -9; restarting it (1 of 3)", "api is back"]


def test_a_child_that_keeps_dying_stops_the_stack_with_one_line(parts: list[Part], clock: Clock) -> None:
    watch = Watch(parts, clock)
    api = parts[0]
    for attempt in range(1, 4):
        api.kill()
        clock.now += 60
        assert watch.step() is None
        assert watch.lines[-3] == f"api exited with code -9; restarting it ({attempt} of 3)"

    api.kill()
    clock.now += 60
    assert watch.step() == 1
    assert watch.lines[-1] == "api exited with code -9 after 3 restarts in 10 min; stopping"


def test_restarts_long_past_are_forgotten(parts: list[Part], clock: Clock) -> None:
    watch = Watch(parts, clock)
    for _ in range(3):
        parts[0].kill()
        clock.now += 60
        assert watch.step() is None
    clock.now += 601  # the last restart is now more than 10 min old
    parts[0].kill()
    assert watch.step() is None
    assert watch.lines[-3] == "api exited with code -9; restarting it (1 of 3)"


def test_a_restart_that_never_gets_ready_ends_in_one_line_for_the_caller(parts: list[Part], clock: Clock) -> None:
    watch = Watch(parts, clock, ready_timeout=0.5)
    parts[0].not_ready = "answers 500"
    parts[0].kill()
    with pytest.raises(RuntimeError, match=r"^not ready within 0 s: api: answers 500$"):
        watch.step()
    assert "ready" not in watch.lines


def test_a_silent_database_stops_the_stack(parts: list[Part], clock: Clock) -> None:
    watch = Watch(parts, clock)
    watch.database_silence = "cannot reach the database at /tmp:5432/finsync: connection refused"
    for _ in range(5):  # silent from the first probe on: 8 s, under the 10 s limit
        clock.now += 2
        assert watch.step() is None
    clock.now += 2
    assert watch.step() == 1
    assert watch.lines == [
        "the database stopped answering for 10 s "
        "(cannot reach the database at /tmp:5432/finsync: connection refused); stopping"
    ]


def test_the_database_probe_answers_in_one_line(isolated_database_url: str, tmp_path: object) -> None:
    from src.devstack.stack import _database_probe

    assert _database_probe(isolated_database_url)() is None
    reason = _database_probe(f"postgresql+psycopg://postgres@/finsync?host={tmp_path}&port=5999")()
    assert reason is not None
    assert reason.startswith("cannot reach the database at ")
    assert "\n" not in reason
