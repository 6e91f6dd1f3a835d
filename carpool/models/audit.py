"""Who did what, when: every state change and every sensitive read or export."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from carpool.clock import utcnow
from carpool.models.base import Base


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    association_id: Mapped[int | None] = mapped_column(sa.ForeignKey("association.id"), index=True)
    actor: Mapped[str] = mapped_column(sa.String(80))  # "user:3", "resident:12", "system", "cli"
    action: Mapped[str] = mapped_column(sa.String(60))  # "match.accepted", "communes.imported"
    subject_type: Mapped[str | None] = mapped_column(sa.String(40))
    subject_id: Mapped[int | None]
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
