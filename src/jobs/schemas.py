"""Jobs as the API shows them (ARCHITECTURE.md, REST conventions: Job JSON)."""

import uuid
from datetime import datetime

from pydantic import BaseModel, Field

from src.kit.schemas import Schema
from src.models.enums import JobEntityType, JobStatus, JobType, SyncOutcomeKind


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
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None
    error_message: str | None = Field(
        description="Why the job failed, why it is still pending, or for a completed job which accounts did not "
        "sync and why. Readable as it is."
    )
    progress: Progress | None
    outcomes: list[Outcome] = Field(description="One per account, once the run has synced it.")
