"""The Dagster client: launch, read and terminate runs over Dagster's GraphQL API (gql over httpx).

Callers never see an exception for Dagster's sake: every answer is a value. Launching answers Launched | Unreachable
| Rejected, reading a run answers RunState | NotFound | Unreachable, terminating Terminated | NotFound | Rejected |
Unreachable. The line between the last two matters to the jobs service: Unreachable means "ask again later" (no
answer, a timeout, an HTTP error, Dagster's own PythonError, no code location loaded), Rejected means Dagster
said no to this request (a bad run config, an unknown job, a run that cannot be terminated) and asking again will
not help. An answer this client does not understand (GraphQL errors, an unknown `__typename`, a missing field) is
logged as an error and counts as Rejected where that exists, else as Unreachable.

Waiting is bounded per call, not per request: `timeout` is what one call (a launch is up to four GraphQL requests:
an earlier attempt's run, the code location, the job's ops, launchRun) may take in all, so the API, whose client
waits about a second, answers in about a second however Dagster behaves. A Dagster that let a call run out of time
(paused, overloaded) is not asked again for a rest period: calls in between answer Unreachable at once, so a burst
of polls does not tie the API's worker threads up waiting one after another on a webserver that does not answer.

A launch that ran out of time here may still have happened there. A caller that tags each launch with a value of
its own (the jobs service: `finsync/job_id`) and names that tag in `adopt_tagged` when it tries again gets the run
the earlier attempt created (Launched, `adopted`) instead of a second run. Dagster's GraphQL API takes no run id
from the caller (`ExecutionMetadata` has no `runId`), so the tag is the launch's identity.

`trigger_job` and `get_run_status` are the documented thin wrappers (docs/ARCHITECTURE.md, "The Dagster client and
jobs"), over one client per process built from Settings (`get_patient_dagster_client`); the API's own client
(`get_dagster_client`) waits about a second at most.
"""

import json
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from types import TracebackType
from typing import Any

import httpx
from gql import Client, GraphQLRequest
from gql.client import SyncClientSession
from gql.transport.exceptions import TransportError, TransportQueryError
from gql.transport.httpx import HTTPXTransport
from graphql import DocumentNode

from src.providers.dagster import queries
from src.providers.dagster.run_config import connection_id_in, expand_every_op, wants_every_op
from src.settings import settings
from src.sync_runs import CONNECTION_TAG as CONNECTION_TAG

log = logging.getLogger("src.providers.dagster")

REPOSITORY_NAME = "__repository__"  # the repository a `Definitions` object becomes
PREFERRED_LOCATION = "finsync"  # workspace.yaml's location_name, chosen when several locations hold the repository
TERMINAL_STEP_STATUSES = frozenset({"SUCCESS", "FAILURE", "SKIPPED"})
_TAGGED_RUNS_LIMIT = 10  # one is expected; more mean launches that raced, each worth a line in the log

_EVENTS_PAGE_SIZE = 1000  # a connection run logs about 50 events, so one page nearly always holds them all
_MAX_EVENT_PAGES = 20
_FAILURE_CACHE_SIZE = 1024


# -- results -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Launched:
    run_id: str
    adopted: bool = False  # the run already existed: an earlier attempt of this launch happened after all


@dataclass(frozen=True)
class Unreachable:
    """No usable answer now; the same request may well work later."""

    reason: str


@dataclass(frozen=True)
class Rejected:
    """Dagster refused this request; repeating it will not change that."""

    reason: str


LaunchResult = Launched | Unreachable | Rejected


@dataclass(frozen=True)
class RunState:
    run_id: str
    status: str  # Dagster's RunStatus: QUEUED, NOT_STARTED, STARTING, STARTED, SUCCESS, FAILURE, CANCELING, CANCELED…
    start_time: datetime | None  # timezone-aware UTC
    end_time: datetime | None
    steps_done: int  # steps that reached SUCCESS, FAILURE or SKIPPED
    steps_total: int | None  # steps in the run's execution plan, when Dagster has one
    failure_message: str | None  # FAILURE only: the user's exception text, never Dagster's wrapper or a stack


@dataclass(frozen=True)
class NotFound:
    run_id: str


RunResult = RunState | NotFound | Unreachable


@dataclass(frozen=True)
class Terminated:
    previous_status: str  # Dagster answers with the status from before termination; poll for CANCELED


TerminateResult = Terminated | NotFound | Rejected | Unreachable


# -- internal failures: raised inside the client, turned into result values at each public method ---------------


class _Unavailable(Exception):
    """Dagster could not serve the request now (no answer, an HTTP error, a PythonError, no code loaded)."""


class _TimedOut(_Unavailable):
    """No answer within the call's time: Dagster is paused, overloaded or far away. Starts a rest period."""


class _Refused(Exception):
    """Dagster said no, or said something this client does not understand."""


class _Unexpected(_Refused):
    """An answer this client cannot read (GraphQL errors, an unknown member, a missing field): a bug or a drift."""


class _JobNotFound(_Refused):
    """PipelineNotFoundError: the location or the job is unknown (the location may have been renamed)."""


# -- a failure's own text -----------------------------------------------------------------------------------------


def user_error_text(error: Mapping[str, Any] | None) -> str | None:
    """The user's own exception text from a Dagster PythonError.

    Dagster wraps a step's exception ("Error occurred while executing op …") and keeps the user's in `causes`; the
    first cause is what the asset raised. Messages start with the (often module-qualified) class name, which is
    Dagster's formatting, not the user's words, so it is dropped. `message` never holds the stack (that is `stack`).
    """
    if error is None:
        return None
    causes = error.get("causes") or []
    source = causes[0] if causes and isinstance(causes[0], Mapping) else error
    message = source.get("message")
    if not isinstance(message, str):
        return None
    class_name = source.get("className")
    head, separator, rest = message.partition(": ")
    if separator and isinstance(class_name, str) and (head == class_name or head.endswith("." + class_name)):
        message = rest
    return message.strip() or None


# -- payload reading: every field checked, so a surprise becomes _Unexpected, not a KeyError ---------------------


def _object(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Unexpected(f"{what}: expected an object, got {type(value).__name__}")
    return value


def _list(value: object, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise _Unexpected(f"{what}: expected a list, got {type(value).__name__}")
    return value


def _text(value: object, what: str) -> str:
    if not isinstance(value, str):
        raise _Unexpected(f"{what}: expected a string, got {type(value).__name__}")
    return value


def _member(data: Mapping[str, Any], field: str) -> tuple[str, dict[str, Any]]:
    """A result union's `__typename` and its object."""
    node = _object(data.get(field), field)
    return _text(node.get("__typename"), f"{field}.__typename"), node


def _message(node: Mapping[str, Any], typename: str) -> str:
    message = node.get("message")
    return f"{typename}: {message}" if isinstance(message, str) else typename


def _timestamp(value: object, what: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, int | float):
        raise _Unexpected(f"{what}: expected epoch seconds, got {type(value).__name__}")
    return datetime.fromtimestamp(value, UTC)


class _Deadline:
    """The time one public call has left; every request of the call waits at most that long."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds

    def left(self) -> float:
        remaining = self._at - time.monotonic()
        if remaining <= 0:
            raise _TimedOut(f"no answer from Dagster within {self.seconds:g} s")
        return remaining


class DagsterClient:
    """One Dagster webserver's GraphQL API. Thread-safe: the API's worker threads share one per process.

    `timeout` bounds each call (launch, run, runs, terminate) as a whole; `rest` is how long Dagster is left alone
    after a call ran out of time (default: twice the timeout, so one request waits at most once however many calls
    it makes).
    """

    def __init__(
        self, url: str, *, location_name: str | None = None, timeout: float = 5.0, rest: float | None = None
    ) -> None:
        root = url.rstrip("/")
        self.url = root if root.endswith("/graphql") else root + "/graphql"
        self.timeout = timeout
        self.rest = 2 * timeout if rest is None else rest
        self._resting_until = 0.0  # time.monotonic(); guarded by _lock
        self._configured_location = location_name or None
        self._discovered_location: str | None = None
        self._job_ops: dict[tuple[str, str], tuple[str, ...]] = {}
        self._failure_messages: OrderedDict[str, str | None] = OrderedDict()
        self._lock = threading.Lock()
        transport = HTTPXTransport(url=self.url, timeout=httpx.Timeout(timeout))
        self._client = Client(transport=transport, fetch_schema_from_transport=False)
        # Connecting builds the httpx client only; nothing goes over the network until the first request.
        self._session: SyncClientSession = self._client.connect_sync()  # type: ignore[no-untyped-call]

    def close(self) -> None:
        self._client.close_sync()  # type: ignore[no-untyped-call]

    def __enter__(self) -> "DagsterClient":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.close()

    # -- launching ---------------------------------------------------------------------------------------------

    def launch(
        self,
        job_name: str,
        run_config: dict[str, Any],
        *,
        tags: dict[str, str] | None = None,
        adopt_tagged: str | None = None,
    ) -> LaunchResult:
        """Launch `job_name` (queued by the instance's coordinator); `"*"` in `ops` means every op of the job.

        `adopt_tagged` names one of `tags` whose value identifies this launch: a run that already carries it (an
        earlier attempt that ran out of time here but happened there) is answered as Launched(adopted=True), and
        no second run is launched. The oldest such run is adopted.

        A discovered location is asked for again once if Dagster answers that the location or job is unknown
        (the workspace may have been renamed or reloaded); a configured one is trusted.
        """
        deadline = _Deadline(self.timeout)
        run_tags = dict(tags or {})
        attempts_left = 1 if self._configured_location else 2
        try:
            if adopt_tagged is not None:
                if adopt_tagged not in run_tags:
                    raise _Refused(f"adopt_tagged names {adopt_tagged}, which is not one of the launch's tags")
                existing = self._oldest_tagged_run(adopt_tagged, run_tags[adopt_tagged], deadline)
                if existing is not None:
                    log.info(
                        "dagster run already launched; adopting it",
                        extra={
                            "job_name": job_name,
                            "run_id": existing,
                            "tag": f"{adopt_tagged}={run_tags[adopt_tagged]}",
                        },
                    )
                    return Launched(existing, adopted=True)
            while True:
                location = self._location(deadline)
                try:
                    return self._launch_in(location, job_name, run_config, run_tags, deadline)
                except _JobNotFound as exc:
                    attempts_left -= 1
                    if attempts_left == 0:
                        raise
                    log.info(
                        "dagster does not know the job here; asking for the code location again",
                        extra={"job_name": job_name, "location": location, "reason": str(exc)},
                    )
                    self._forget_location(location)
        except _Unavailable as exc:
            log.warning("dagster launch unreachable", extra={"job_name": job_name, "reason": str(exc)})
            return Unreachable(str(exc))
        except _Refused as exc:
            level = logging.ERROR if isinstance(exc, _Unexpected) else logging.WARNING
            log.log(level, "dagster launch rejected", extra={"job_name": job_name, "reason": str(exc)})
            return Rejected(str(exc))

    def _launch_in(
        self,
        location: str,
        job_name: str,
        run_config: dict[str, Any],
        tags: Mapping[str, str],
        deadline: _Deadline,
    ) -> Launched:
        config: dict[str, Any] = run_config
        if wants_every_op(config):
            config = expand_every_op(config, self._ops_of(location, job_name, deadline))
        try:
            json.dumps(config)
            connection_id = connection_id_in(config)
        except (TypeError, ValueError) as exc:
            raise _Refused(f"unusable run config: {exc}") from exc
        run_tags = dict(tags)
        if connection_id is not None:
            tagged = run_tags.setdefault(CONNECTION_TAG, connection_id)
            if tagged != connection_id:
                raise _Refused(f"tag {CONNECTION_TAG}={tagged} disagrees with the config's connection {connection_id}")
        variables = {
            "executionParams": {
                "selector": {
                    "repositoryLocationName": location,
                    "repositoryName": REPOSITORY_NAME,
                    "jobName": job_name,
                },
                "runConfigData": config,
                "executionMetadata": {"tags": [{"key": key, "value": value} for key, value in run_tags.items()]},
            }
        }
        typename, node = _member(self._execute(queries.LAUNCH_RUN_DOCUMENT, variables, deadline), "launchRun")
        if typename == "LaunchRunSuccess":
            run_id = _text(_object(node.get("run"), "launchRun.run").get("runId"), "launchRun.run.runId")
            log.info(
                "dagster run launched",
                extra={"job_name": job_name, "run_id": run_id, "location": location, "connection_id": connection_id},
            )
            return Launched(run_id)
        if typename == "PipelineNotFoundError":
            raise _JobNotFound(_message(node, typename))
        if typename == "RunConfigValidationInvalid":
            problems = [
                f"{'.'.join(str(part) for part in error.get('path') or [])}: {error.get('message')}"
                for error in _list(node.get("errors"), "launchRun.errors")
                if isinstance(error, dict)
            ]
            raise _Refused("run config invalid: " + "; ".join(problems))
        if typename == "InvalidStepError":
            raise _Refused(f"{typename}: {node.get('invalidStepKey')}")
        if typename == "InvalidOutputError":
            raise _Refused(f"{typename}: {node.get('stepKey')}.{node.get('invalidOutputName')}")
        if typename == "PythonError":
            raise _Unavailable(_message(node, typename))
        if typename in {
            "InvalidSubsetError",
            "RunConflict",
            "UnauthorizedError",
            "PresetNotFoundError",
            "ConflictingExecutionParamsError",
            "NoModeProvidedError",
        }:
            raise _Refused(_message(node, typename))
        raise _Unexpected(f"launchRun answered an unknown member {typename}")

    def _oldest_tagged_run(self, key: str, value: str, deadline: _Deadline) -> str | None:
        variables = {"filter": {"tags": [{"key": key, "value": value}]}, "limit": _TAGGED_RUNS_LIMIT}
        typename, node = _member(self._execute(queries.TAGGED_RUNS_DOCUMENT, variables, deadline), "runsOrError")
        if typename in {"PythonError", "InvalidPipelineRunsFilterError"}:
            raise _Unavailable(_message(node, typename))
        if typename != "Runs":
            raise _Unexpected(f"runsOrError answered an unknown member {typename}")
        run_ids = [
            _text(_object(item, "runsOrError.results[]").get("runId"), "runsOrError.results[].runId")
            for item in _list(node.get("results"), "runsOrError.results")
        ]
        if len(run_ids) > 1:
            log.warning(
                "several dagster runs carry one launch's tag",
                extra={"tag": f"{key}={value}", "run_ids": ",".join(run_ids)},
            )
        return run_ids[-1] if run_ids else None  # Dagster lists the newest first

    def _location(self, deadline: _Deadline) -> str:
        if self._configured_location:
            return self._configured_location
        with self._lock:
            known = self._discovered_location
        if known is not None:
            return known
        discovered = self._discover_location(deadline)
        with self._lock:
            self._discovered_location = discovered
        log.info("dagster code location discovered", extra={"location": discovered})
        return discovered

    def _forget_location(self, location: str) -> None:
        with self._lock:
            if self._discovered_location == location:
                self._discovered_location = None
            self._job_ops = {key: ops for key, ops in self._job_ops.items() if key[0] != location}

    def _discover_location(self, deadline: _Deadline) -> str:
        typename, node = _member(self._execute(queries.REPOSITORIES_DOCUMENT, {}, deadline), "repositoriesOrError")
        if typename in {"PythonError", "RepositoryNotFoundError"}:
            raise _Unavailable(_message(node, typename))
        if typename != "RepositoryConnection":
            raise _Unexpected(f"repositoriesOrError answered an unknown member {typename}")
        locations: list[str] = []
        for repository in _list(node.get("nodes"), "repositoriesOrError.nodes"):
            repository = _object(repository, "repositoriesOrError.nodes[]")
            if repository.get("name") == REPOSITORY_NAME:
                location = _object(repository.get("location"), "repository.location")
                locations.append(_text(location.get("name"), "repository.location.name"))
        if not locations:
            # A code location that is loading or failed to load lists no repository: later may be better.
            raise _Unavailable(f"no code location with a repository {REPOSITORY_NAME} is loaded")
        if PREFERRED_LOCATION in locations:
            return PREFERRED_LOCATION
        if len(set(locations)) == 1:
            return locations[0]
        raise _Refused(
            f"several code locations hold {REPOSITORY_NAME} ({', '.join(locations)}); set DAGSTER_LOCATION_NAME"
        )

    def _ops_of(self, location: str, job_name: str, deadline: _Deadline) -> tuple[str, ...]:
        """The job's top-level op names, asked once per job and location (a code reload does not add ops)."""
        key = (location, job_name)
        with self._lock:
            known = self._job_ops.get(key)
        if known is not None:
            return known
        selector = {"repositoryLocationName": location, "repositoryName": REPOSITORY_NAME, "pipelineName": job_name}
        typename, node = _member(
            self._execute(queries.JOB_OPS_DOCUMENT, {"selector": selector}, deadline), "pipelineOrError"
        )
        if typename == "PipelineNotFoundError":
            raise _JobNotFound(_message(node, typename))
        if typename == "InvalidSubsetError":
            raise _Refused(_message(node, typename))
        if typename == "PythonError":
            raise _Unavailable(_message(node, typename))
        if typename != "Pipeline":
            raise _Unexpected(f"pipelineOrError answered an unknown member {typename}")
        handles = [
            _text(_object(handle, "solidHandles[]").get("handleID"), "solidHandles[].handleID")
            for handle in _list(node.get("solidHandles"), "pipelineOrError.solidHandles")
        ]
        ops = tuple(handle for handle in handles if "." not in handle)  # nested ops of a graph are not run config keys
        if not ops:
            raise _Unexpected(f"job {job_name} has no ops")
        with self._lock:
            self._job_ops[key] = ops
        return ops

    # -- reading -----------------------------------------------------------------------------------------------

    def run(self, run_id: str) -> RunResult:
        deadline = _Deadline(self.timeout)
        try:
            typename, node = _member(self._execute(queries.RUN_DOCUMENT, {"runId": run_id}, deadline), "runOrError")
            if typename == "Run":
                return self._run_state(node, deadline)
            if typename == "RunNotFoundError":  # also Dagster's answer to a malformed id
                return NotFound(run_id)
            if typename == "PythonError":
                raise _Unavailable(_message(node, typename))
            raise _Unexpected(f"runOrError answered an unknown member {typename}")
        except (_Unavailable, _Refused) as exc:
            return self._read_failed(exc, run_id=run_id)

    def runs(self, run_ids: list[str]) -> dict[str, RunState | NotFound] | Unreachable:
        """Every run in one runsOrError request; a failed run's message costs one logsForRun, once per run."""
        wanted = list(dict.fromkeys(run_ids))
        if not wanted:
            return {}
        variables = {"filter": {"runIds": wanted}, "limit": len(wanted)}
        deadline = _Deadline(self.timeout)
        try:
            typename, node = _member(self._execute(queries.RUNS_DOCUMENT, variables, deadline), "runsOrError")
            if typename in {"PythonError", "InvalidPipelineRunsFilterError"}:
                raise _Unavailable(_message(node, typename))
            if typename != "Runs":
                raise _Unexpected(f"runsOrError answered an unknown member {typename}")
            states = [
                self._run_state(_object(item, "runsOrError.results[]"), deadline)
                for item in _list(node.get("results"), "runsOrError.results")
            ]
        except (_Unavailable, _Refused) as exc:
            return self._read_failed(exc, run_ids=",".join(wanted))
        by_id = {state.run_id: state for state in states}
        return {run_id: by_id.get(run_id) or NotFound(run_id) for run_id in wanted}

    def _read_failed(self, exc: Exception, **context: str) -> Unreachable:
        level = logging.ERROR if isinstance(exc, _Unexpected) else logging.WARNING
        log.log(level, "dagster run read failed", extra={**context, "reason": str(exc)})
        return Unreachable(str(exc))

    def _run_state(self, node: Mapping[str, Any], deadline: _Deadline) -> RunState:
        run_id = _text(node.get("runId"), "run.runId")
        status = _text(node.get("status"), "run.status")
        steps = _list(node.get("stepStats"), "run.stepStats")
        plan = node.get("executionPlan")
        return RunState(
            run_id=run_id,
            status=status,
            start_time=_timestamp(node.get("startTime"), "run.startTime"),
            end_time=_timestamp(node.get("endTime"), "run.endTime"),
            steps_done=sum(
                1 for step in steps if isinstance(step, dict) and step.get("status") in TERMINAL_STEP_STATUSES
            ),
            steps_total=None if plan is None else len(_list(_object(plan, "run.executionPlan").get("steps"), "steps")),
            failure_message=self._failure_message(run_id, deadline) if status == "FAILURE" else None,
        )

    def _failure_message(self, run_id: str, deadline: _Deadline) -> str | None:
        """The first failed step's own text; else the run failure's (a resource that failed to start).

        A failed run never changes, so the answer is kept: a poll loop does not re-read its events.
        """
        with self._lock:
            if run_id in self._failure_messages:
                return self._failure_messages[run_id]
        message = self._read_failure_message(run_id, deadline)
        with self._lock:
            self._failure_messages[run_id] = message
            while len(self._failure_messages) > _FAILURE_CACHE_SIZE:
                self._failure_messages.popitem(last=False)
        return message

    def _read_failure_message(self, run_id: str, deadline: _Deadline) -> str | None:
        run_failure: str | None = None
        cursor: str | None = None
        for _ in range(_MAX_EVENT_PAGES):
            variables = {"runId": run_id, "afterCursor": cursor, "limit": _EVENTS_PAGE_SIZE}
            typename, node = _member(
                self._execute(queries.RUN_FAILURE_EVENTS_DOCUMENT, variables, deadline), "logsForRun"
            )
            if typename == "RunNotFoundError":  # deleted between the two reads: nothing more to say
                return None
            if typename == "PythonError":
                raise _Unavailable(_message(node, typename))
            if typename != "EventConnection":
                raise _Unexpected(f"logsForRun answered an unknown member {typename}")
            for event in _list(node.get("events"), "logsForRun.events"):
                event = _object(event, "logsForRun.events[]")
                kind = event.get("__typename")
                if kind == "ExecutionStepFailureEvent":
                    text = user_error_text(event.get("error"))
                    if text:
                        return text
                elif kind == "RunFailureEvent" and run_failure is None:
                    # Without an error (a run marked failed from outside), Dagster's sentence is all there is.
                    run_failure = user_error_text(event.get("error")) or _text(
                        event.get("message"), "RunFailureEvent.message"
                    )
            if not node.get("hasMore"):
                break
            cursor = _text(node.get("cursor"), "logsForRun.cursor")
        return run_failure

    # -- terminating -------------------------------------------------------------------------------------------

    def terminate(self, run_id: str) -> TerminateResult:
        """Ask Dagster to stop the run (a queued one is canceled at once); the caller polls for CANCELED."""
        variables = {"runId": run_id, "terminatePolicy": "SAFE_TERMINATE"}
        deadline = _Deadline(self.timeout)
        try:
            typename, node = _member(self._execute(queries.TERMINATE_RUN_DOCUMENT, variables, deadline), "terminateRun")
            if typename == "TerminateRunSuccess":
                run = _object(node.get("run"), "terminateRun.run")
                previous = _text(run.get("status"), "terminateRun.run.status")
                log.info("dagster run terminating", extra={"run_id": run_id, "previous_status": previous})
                return Terminated(previous_status=previous)
            if typename == "RunNotFoundError":
                return NotFound(run_id)
            if typename == "PythonError":
                raise _Unavailable(_message(node, typename))
            if typename in {"TerminateRunFailure", "UnauthorizedError"}:
                raise _Refused(_message(node, typename))
            raise _Unexpected(f"terminateRun answered an unknown member {typename}")
        except _Unavailable as exc:
            log.warning("dagster terminate unreachable", extra={"run_id": run_id, "reason": str(exc)})
            return Unreachable(str(exc))
        except _Refused as exc:
            level = logging.ERROR if isinstance(exc, _Unexpected) else logging.WARNING
            log.log(level, "dagster terminate rejected", extra={"run_id": run_id, "reason": str(exc)})
            return Rejected(str(exc))

    # -- transport ---------------------------------------------------------------------------------------------

    def _execute(self, document: DocumentNode, variables: dict[str, Any], deadline: _Deadline) -> dict[str, Any]:
        """One GraphQL request within what is left of the call's time; its `data`, or _Unavailable (no answer, or
        Dagster resting after a timeout) / _Unexpected (GraphQL errors)."""
        with self._lock:
            resting_for = self._resting_until - time.monotonic()
        if resting_for > 0:
            raise _Unavailable(f"Dagster at {self.url} ran out of time recently; asking again in {resting_for:.1f} s")
        try:
            # Each wait of the request (connect, write, read, a pooled connection) gets at most the time left.
            timeout = httpx.Timeout(deadline.left())
            data: dict[str, Any] = self._session.execute(
                GraphQLRequest(document, variable_values=variables), extra_args={"timeout": timeout}
            )
        except TransportQueryError as exc:
            messages = [str(error.get("message")) for error in exc.errors or [] if isinstance(error, dict)]
            raise _Unexpected("GraphQL errors: " + ("; ".join(messages) or str(exc))) from exc
        except _TimedOut:
            self._rest()
            raise
        except TransportError as exc:  # connection refused, timeout, HTTP error status, not JSON, closed
            if isinstance(exc.__cause__, httpx.TimeoutException):
                self._rest()
                raise _TimedOut(f"no answer from Dagster at {self.url} within {deadline.seconds:g} s") from exc
            raise _Unavailable(f"no answer from Dagster at {self.url}: {exc or type(exc).__name__}") from exc
        except Exception as exc:  # the promise is "no exception escapes": anything else is no answer either
            raise _Unavailable(f"no answer from Dagster at {self.url}: {type(exc).__name__}: {exc}") from exc
        return data

    def _rest(self) -> None:
        """Leave Dagster alone for `rest` seconds: calls in between answer Unreachable without waiting."""
        with self._lock:
            self._resting_until = time.monotonic() + self.rest
        log.warning("dagster ran out of time; resting", extra={"url": self.url, "rest_seconds": self.rest})


@cache
def get_dagster_client() -> DagsterClient:
    """The API's client, one per process (connection pool, discovered location, job ops), from Settings: a request
    waits on it, so each call takes at most DAGSTER_TIMEOUT_SECONDS (about a second)."""
    return DagsterClient(
        settings.dagster_url or f"http://localhost:{settings.dagster_port}",
        location_name=settings.dagster_location_name,
        timeout=settings.dagster_timeout_seconds,
    )


@cache
def get_patient_dagster_client() -> DagsterClient:
    """The client behind the documented wrappers, for scripts that can wait: DagsterClient's default timeout (a cold
    webserver or a busy machine can take over a second to launch, and a script has no job to adopt the run later)."""
    return DagsterClient(
        settings.dagster_url or f"http://localhost:{settings.dagster_port}",
        location_name=settings.dagster_location_name,
    )


def trigger_job(job_name: str, run_config: dict[str, Any]) -> str | None:
    """Launch a job: its run id, or None when Dagster is unreachable or refused (the reason is logged)."""
    result = get_patient_dagster_client().launch(job_name, run_config)
    return result.run_id if isinstance(result, Launched) else None


def get_run_status(run_id: str) -> str | None:
    """Dagster's status string for the run (QUEUED, STARTED, SUCCESS, …), or None when unknown or unreachable."""
    result = get_patient_dagster_client().run(run_id)
    return result.status if isinstance(result, RunState) else None
