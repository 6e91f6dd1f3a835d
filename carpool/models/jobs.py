"""What the clock process did and who may act: the job history and the SQLite scheduler lease."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.models.base import Base


class JobRun(Base):
    """One run of a scheduled job (consecutive idle runs share one row), for ``carpool jobs``."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(40), index=True)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    ok: Mapped[bool] = mapped_column(default=True)
    result: Mapped[str] = mapped_column(sa.Text, default="")


class SchedulerLease(Base):
    """Who runs the jobs (SQLite only; PostgreSQL uses an advisory lock): renewed every few seconds."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(120))
    expires_at: Mapped[datetime]
