"""Sync jobs (what "Sync now" created) and the per-account outcomes a run reports."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    DateTime,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from src.db.base import Base
from src.models.enums import (
    UNFINISHED_JOB_STATUSES,
    JobEntityType,
    JobStatus,
    JobTrigger,
    JobType,
    SyncOutcomeKind,
    checked_enum,
)
from src.models.mixins import created_at, uuid_pk

UNFINISHED_JOB_PREDICATE = text(
    "status IN ({})".format(", ".join(f"'{status.value}'" for status in UNFINISHED_JOB_STATUSES))
)
"""The partial index's predicate as SQL literals. An `ON CONFLICT … WHERE` that infers the index must use this very
text: with bound parameters instead, PostgreSQL's generic plan (from the sixth execution of a statement psycopg has
prepared on one connection) no longer proves the predicate and answers "no unique or exclusion constraint matching
the ON CONFLICT specification"."""


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (
        # At most one unfinished job per (type, entity): the database, not a Python check, is the guard
        # against two concurrent "Sync now" clicks launching two runs.
        Index(
            "uq_jobs_one_unfinished_per_entity",
            "job_type",
            "entity_type",
            "entity_id",
            unique=True,
            postgresql_where=UNFINISHED_JOB_PREDICATE,
        ),
        Index("ix_jobs_user_id_created_at", "user_id", "created_at"),
        Index("ix_jobs_entity", "entity_type", "entity_id", "created_at"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    user_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    job_type: Mapped[JobType] = mapped_column(checked_enum(JobType, "job_type"), nullable=False)
    entity_type: Mapped[JobEntityType] = mapped_column(checked_enum(JobEntityType, "entity_type"), nullable=False)
    entity_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    status: Mapped[JobStatus] = mapped_column(
        checked_enum(JobStatus, "status"),
        nullable=False,
        default=JobStatus.pending,
        server_default=JobStatus.pending.value,
    )
    dagster_run_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    error_message: Mapped[str | None] = mapped_column(Text)
    progress_done: Mapped[int | None] = mapped_column(Integer)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    status_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    launch_attempts: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    # A person's Sync now (or the first sync after connecting), or the background sync.
    trigger: Mapped[JobTrigger] = mapped_column(
        checked_enum(JobTrigger, "trigger"),
        nullable=False,
        default=JobTrigger.manual,
        server_default=JobTrigger.manual.value,
    )


class SyncOutcome(Base):
    """What one run did for one account; re-running the run's sync overwrites its row."""

    __tablename__ = "sync_outcomes"
    __table_args__ = (UniqueConstraint("dagster_run_id", "account_id"),)

    id: Mapped[int] = mapped_column(BigInteger, Identity(always=False), primary_key=True)
    dagster_run_id: Mapped[str] = mapped_column(String(64), nullable=False)
    account_id: Mapped[uuid.UUID] = mapped_column(
        UUID(as_uuid=True), ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False, index=True
    )
    outcome: Mapped[SyncOutcomeKind] = mapped_column(checked_enum(SyncOutcomeKind, "outcome"), nullable=False)
    new_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    updated_count: Mapped[int] = mapped_column(Integer, nullable=False, default=0, server_default="0")
    retry_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = created_at()
