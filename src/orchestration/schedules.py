"""Every provider's two daily schedules, built one way: a run per syncable connection of the provider (built as
Sync now builds it, without a person, so the connection tag keeps it from overlapping a Sync now), and a run of the
provider's full job restricted to its institutions asset (a schedule launches one job, so the global asset has a
schedule of its own)."""

import dagster as dg
from sqlalchemy import select

from src.models import Connection
from src.models.connections import currently_active
from src.orchestration.resources import PostgresDatabase
from src.sync_runs import connection_run


def connection_schedule(name: str, cron: str, job_name: str, provider: str, description: str) -> dg.ScheduleDefinition:
    """At `cron` (UTC): one run of the job `job_name` per syncable connection of `provider` (the rule Sync now and
    Sync all use)."""

    @dg.schedule(name=name, cron_schedule=cron, job_name=job_name, execution_timezone="UTC", description=description)
    def _schedule(context: dg.ScheduleEvaluationContext, postgres_database: PostgresDatabase) -> list[dg.RunRequest]:
        day = context.scheduled_execution_time.date().isoformat()
        with postgres_database.sessions()() as session:
            syncable = session.scalars(
                select(Connection.id)
                .where(currently_active(), Connection.provider == provider)
                .order_by(Connection.created_at, Connection.id)
            ).all()
        requests = []
        for connection_id in syncable:
            run = connection_run(str(connection_id), provider)
            requests.append(
                dg.RunRequest(
                    run_key=f"{day}:{connection_id}", job_name=run.job, run_config=run.run_config, tags=run.tags
                )
            )
        return requests

    return _schedule


def institutions_schedule(
    name: str, cron: str, job_name: str, institutions_key: dg.AssetKey, description: str
) -> dg.ScheduleDefinition:
    """At `cron` (UTC): the provider's bank lists, a run of its full job restricted to the institutions asset (no
    connection is touched)."""

    @dg.schedule(name=name, cron_schedule=cron, job_name=job_name, execution_timezone="UTC", description=description)
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = context.scheduled_execution_time.date().isoformat()
        return dg.RunRequest(run_key=f"{day}:institutions", asset_selection=[institutions_key])

    return _schedule
