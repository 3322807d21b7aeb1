"""A fresh Dagster instance runs the background sync with no click in its UI: the live webserver and daemon
(`dagster` fixture, a new DAGSTER_HOME from deploy/dagster.dev.yaml) answer that every sensor and schedule is on."""

import pytest

from src.devstack.dagster import LOCATION_NAME
from tests.harness.dagster import LiveDagster

pytestmark = pytest.mark.integration

_SENSOR = """
query Sensor($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { status } }
    ... on SensorNotFoundError { message }
  }
}
"""
_SCHEDULE = """
query Schedule($selector: ScheduleSelector!) {
  scheduleOrError(scheduleSelector: $selector) {
    __typename
    ... on Schedule { scheduleState { status } }
    ... on ScheduleNotFoundError { message }
  }
}
"""
_REPOSITORY = {"repositoryName": "__repository__", "repositoryLocationName": LOCATION_NAME}


@pytest.mark.parametrize(
    "sensor",
    [
        "gocardless_background_sync",
        "enablebanking_background_sync",
        "sync_job_run_started",
        "sync_job_run_success",
        "sync_job_run_failure",
        "sync_job_run_canceled",
        "consent_lifecycle",
        "deliver_notifications",
    ],
)
def test_every_sensor_runs_in_a_new_instance(dagster: LiveDagster, sensor: str) -> None:
    answer = dagster.query(_SENSOR, {"selector": {**_REPOSITORY, "sensorName": sensor}})["sensorOrError"]
    assert answer["__typename"] == "Sensor", answer
    assert answer["sensorState"]["status"] == "RUNNING"


@pytest.mark.parametrize(
    "schedule", ["gocardless_institutions_daily_schedule", "enablebanking_institutions_daily_schedule"]
)
def test_the_bank_list_schedules_run_in_a_new_instance(dagster: LiveDagster, schedule: str) -> None:
    answer = dagster.query(_SCHEDULE, {"selector": {**_REPOSITORY, "scheduleName": schedule}})["scheduleOrError"]
    assert answer["__typename"] == "Schedule", answer
    assert answer["scheduleState"]["status"] == "RUNNING"


_TICKS = """
query Ticks($selector: SensorSelector!) {
  sensorOrError(sensorSelector: $selector) {
    __typename
    ... on Sensor { sensorState { ticks(limit: 20) { status error { message } } } }
  }
}
"""


def test_no_sensor_evaluation_fails(dagster: LiveDagster) -> None:
    """Whatever the sensors have evaluated so far in this instance (the live Sync now tests' runs, the consent
    lifecycle, the deliverer), none failed: a sensor that raises would stop doing its job unnoticed."""
    failures = {}
    for sensor in ("sync_job_run_started", "sync_job_run_success", "sync_job_run_failure", "consent_lifecycle"):
        answer = dagster.query(_TICKS, {"selector": {**_REPOSITORY, "sensorName": sensor}})["sensorOrError"]
        ticks = answer["sensorState"]["ticks"]
        failed = [tick["error"]["message"] for tick in ticks if tick["status"] == "FAILURE" and tick["error"]]
        if failed:
            failures[sensor] = failed[0][:500]
    assert failures == {}
