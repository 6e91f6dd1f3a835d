"""Writing the audit trail: one call per state change or sensitive action."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from carpool.models import AuditEvent


def record(
    session: Session,
    actor: str,
    action: str,
    *,
    subject: Any = None,
    association_id: int | None = None,
    **details: Any,
) -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the change it describes)."""
    event = AuditEvent(
        actor=actor,
        action=action,
        association_id=association_id,
        subject_type=type(subject).__name__ if subject is not None else None,
        subject_id=getattr(subject, "id", None),
        details=details,
    )
    session.add(event)
    return event
