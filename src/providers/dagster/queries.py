"""The GraphQL documents the Dagster client sends, as constants; values always travel as variables.

Every field that is a result union asks for `__typename` and a fragment per member we act on, because Dagster
answers HTTP 200 for its error members too (docs/dagster-facts.md). Members a document does not spell out still
report their `__typename`, and the client treats an unknown one as an unexpected answer.
"""

from graphql import DocumentNode, parse

# The code locations that hold the repository we launch in (`__repository__`: a `Definitions` object's).
REPOSITORIES = """
query FinsyncRepositories {
  repositoriesOrError {
    __typename
    ... on RepositoryConnection { nodes { name location { name } } }
    ... on RepositoryNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

# A job's op names: what `"*"` in a run config's `ops` expands to.
JOB_OPS = """
query FinsyncJobOps($selector: PipelineSelector!) {
  pipelineOrError(params: $selector) {
    __typename
    ... on Pipeline { solidHandles { handleID } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on PythonError { message }
  }
}
"""

LAUNCH_RUN = """
mutation FinsyncLaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on RunConfigValidationInvalid { errors { message path reason } }
    ... on PipelineNotFoundError { message }
    ... on InvalidSubsetError { message }
    ... on RunConflict { message }
    ... on UnauthorizedError { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
    ... on NoModeProvidedError { message }
    ... on InvalidStepError { invalidStepKey }
    ... on InvalidOutputError { stepKey invalidOutputName }
    ... on PythonError { message }
  }
}
"""

# What a read of a run needs: status, times, step progress (terminal steps against the run's plan).
_RUN_FIELDS = """
fragment FinsyncRunFields on Run {
  runId
  status
  startTime
  endTime
  stepStats { stepKey status }
  executionPlan { steps { key } }
}
"""

RUN = (
    """
query FinsyncRun($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { ...FinsyncRunFields }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""
    + _RUN_FIELDS
)

RUNS = (
    """
query FinsyncRuns($filter: RunsFilter!, $limit: Int!) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs { results { ...FinsyncRunFields } }
    ... on InvalidPipelineRunsFilterError { message }
    ... on PythonError { message }
  }
}
"""
    + _RUN_FIELDS
)

# The ids of the runs that carry a tag (newest first): the run an earlier launch attempt created, if it did.
TAGGED_RUNS = """
query FinsyncTaggedRuns($filter: RunsFilter!, $limit: Int!) {
  runsOrError(filter: $filter, limit: $limit) {
    __typename
    ... on Runs { results { runId } }
    ... on InvalidPipelineRunsFilterError { message }
    ... on PythonError { message }
  }
}
"""

# A failed run's events, for the failure's own text: the step failure, or the run failure when no step failed
# (a resource that could not start). There is no event-type filter, so the client pages through them.
RUN_FAILURE_EVENTS = """
query FinsyncRunFailureEvents($runId: ID!, $afterCursor: String, $limit: Int!) {
  logsForRun(runId: $runId, afterCursor: $afterCursor, limit: $limit) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on ExecutionStepFailureEvent { stepKey error { ...FinsyncErrorText } }
        ... on RunFailureEvent { message error { ...FinsyncErrorText } }
      }
    }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}

fragment FinsyncErrorText on PythonError {
  className
  message
  causes { className message }
}
"""

TERMINATE_RUN = """
mutation FinsyncTerminateRun($runId: String!, $terminatePolicy: TerminateRunPolicy) {
  terminateRun(runId: $runId, terminatePolicy: $terminatePolicy) {
    __typename
    ... on TerminateRunSuccess { run { runId status } }
    ... on TerminateRunFailure { message run { runId status } }
    ... on RunNotFoundError { message }
    ... on UnauthorizedError { message }
    ... on PythonError { message }
  }
}
"""

# Parsed once at import: a syntax error here fails the import (and the tests), not a request.
REPOSITORIES_DOCUMENT: DocumentNode = parse(REPOSITORIES)
JOB_OPS_DOCUMENT: DocumentNode = parse(JOB_OPS)
LAUNCH_RUN_DOCUMENT: DocumentNode = parse(LAUNCH_RUN)
RUN_DOCUMENT: DocumentNode = parse(RUN)
RUNS_DOCUMENT: DocumentNode = parse(RUNS)
TAGGED_RUNS_DOCUMENT: DocumentNode = parse(TAGGED_RUNS)
RUN_FAILURE_EVENTS_DOCUMENT: DocumentNode = parse(RUN_FAILURE_EVENTS)
TERMINATE_RUN_DOCUMENT: DocumentNode = parse(TERMINATE_RUN)
