"""Every provider's daily bank-list refresh: a run of the provider's full job restricted to its institutions asset
(a schedule launches one job, so the global asset has a schedule of its own). Running from the instance's first
start, like the background sync (src/orchestration/background.py), which syncs the connections."""

import dagster as dg


def institutions_schedule(
    name: str, cron: str, job_name: str, institutions_key: dg.AssetKey, description: str
) -> dg.ScheduleDefinition:
    """At `cron` (UTC): the provider's bank lists, a run of its full job restricted to the institutions asset (no
    connection is touched)."""

    @dg.schedule(
        name=name,
        cron_schedule=cron,
        job_name=job_name,
        execution_timezone="UTC",
        description=description,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = context.scheduled_execution_time.date().isoformat()
        return dg.RunRequest(run_key=f"{day}:institutions", asset_selection=[institutions_key])

    return _schedule
