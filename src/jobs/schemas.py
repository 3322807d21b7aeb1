"""Jobs as the API shows them (docs/ARCHITECTURE.md, "Responses and errors": Job JSON).

Services answer domain objects; the read schema builds itself from them here (`JobRead.from_view`), and endpoints
call that: the one place a job takes its API shape.
"""

import uuid
from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from src.kit.schemas import Schema
from src.models.enums import JobEntityType, JobStatus, JobTrigger, JobType, SyncOutcomeKind

if TYPE_CHECKING:
    from src.jobs.service import JobView


class Progress(BaseModel):
    done: int
    total: int


class Outcome(Schema):
    account_id: uuid.UUID
    outcome: SyncOutcomeKind
    new_count: int
    updated_count: int
    retry_at: datetime | None = Field(description="For rate_limited: when the bank allows the next call.")
    message: str | None


class JobRead(Schema):
    id: uuid.UUID
    job_type: JobType
    status: JobStatus
    entity_type: JobEntityType
    entity_id: uuid.UUID
    trigger: JobTrigger = Field(description="`manual` (Sync now, the first sync) or `scheduled` (the background sync).")
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    error_message: str | None = Field(
        description="Why the job failed, why it is still pending, or for a completed job which accounts did not "
        "sync and why. Readable as it is."
    )
    progress: Progress | None
    outcomes: list[Outcome] = Field(description="One per account, once the run has synced it.")

    @classmethod
    def from_view(cls, view: "JobView") -> "JobRead":
        job = view.job
        progress = None
        if job.progress_total:
            progress = Progress(done=job.progress_done or 0, total=job.progress_total)
        return cls(
            id=job.id,
            job_type=job.job_type,
            status=job.status,
            entity_type=job.entity_type,
            entity_id=job.entity_id,
            trigger=job.trigger,
            created_at=job.created_at,
            started_at=job.started_at,
            completed_at=job.completed_at,
            error_message=job.error_message,
            progress=progress,
            outcomes=[Outcome.model_validate(outcome) for outcome in view.outcomes],
        )
