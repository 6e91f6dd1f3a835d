"""Retention: SMS texts are kept only as long as the association's setting says.

Health-related trips make these texts sensitive: after the period the body is
emptied, the row stays (counts, delivery status and audit keep working).
Messages still waiting to be sent are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.models import Association, InboundMessage, OutboundMessage, OutboundStatus
from carpool.services import audit

DEFAULT_SMS_RETENTION_DAYS = 90  # for texts from unknown numbers (no association yet)
FINISHED = (OutboundStatus.SENT, OutboundStatus.DELIVERED, OutboundStatus.FAILED, OutboundStatus.CANCELLED)


@dataclass
class RetentionReport:
    outbound_bodies: int = 0
    inbound_bodies: int = 0
    dry_run: bool = False

    def __str__(self) -> str:
        verb = "seraient effacés" if self.dry_run else "effacés"
        return f"textes de SMS {verb} : {self.outbound_bodies} envoyés, {self.inbound_bodies} reçus"


def purge_sms_bodies(session: Session, now: datetime, *, dry_run: bool = False) -> RetentionReport:
    """Empty the texts older than each association's retention period; ``dry_run`` only counts."""
    report = RetentionReport(dry_run=dry_run)
    periods: list[tuple[int | None, int]] = [
        (a.id, a.sms_retention_days) for a in session.scalars(sa.select(Association))
    ]
    periods.append((None, DEFAULT_SMS_RETENTION_DAYS))
    for association_id, days in periods:
        cutoff = now - timedelta(days=days)
        for model, extra in (
            (OutboundMessage, OutboundMessage.status.in_(FINISHED)),
            (InboundMessage, sa.true()),
        ):
            owner = (
                model.association_id.is_(None)
                if association_id is None
                else model.association_id == association_id
            )
            where = sa.and_(owner, model.created_at < cutoff, model.body.is_not(None), extra)
            if dry_run:
                count = session.scalar(sa.select(sa.func.count()).select_from(model).where(where)) or 0
            else:
                result = session.execute(
                    sa.update(model)
                    .where(where)
                    .values(body=None)
                    .execution_options(synchronize_session=False)
                )
                count = result.rowcount  # type: ignore[attr-defined]
            if model is OutboundMessage:
                report.outbound_bodies += count
            else:
                report.inbound_bodies += count
    if not dry_run:
        audit.record(
            session,
            "system",
            "retention.sms_bodies_purged",
            outbound=report.outbound_bodies,
            inbound=report.inbound_bodies,
        )
    return report
