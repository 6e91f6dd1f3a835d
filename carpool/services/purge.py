"""Retention rules beyond SMS texts: inactive residents are anonymised, old traces deleted.

Health-related trips make residents' identities sensitive (GDPR special
category): after ``inactive_resident_retention_days`` without contact, a
resident keeps their row — so trip statistics stay true — but loses name,
phone, notes and home point. Audit events and the job history older than
12 months (``AUDIT_RETENTION_DAYS``) are deleted. ``carpool jobs run retention
--dry-run`` shows the counts without changing anything (the transaction is
rolled back). Their caller passes the settings' values: services never read the environment.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.config import Settings
from carpool.models import (
    Association,
    AuditEvent,
    Conversation,
    InboundMessage,
    JobRun,
    Match,
    OutboundMessage,
    OutboundStatus,
    PhoneVerification,
    Request,
    RequestStatus,
    Resident,
    SmsCounter,
)
from carpool.services import audit
from carpool.services.matching import ACTIVE_MATCH
from carpool.services.retention import RetentionReport, purge_sms_bodies
from carpool.services.voice_messages import forget_caller, purge_recordings

ANONYMOUS_PREFIX = "anon:"


@dataclass
class PurgeReport:
    sms: RetentionReport
    residents_anonymised: int = 0
    audit_events_deleted: int = 0
    job_runs_deleted: int = 0
    voice_messages_forgotten: int = 0

    def __str__(self) -> str:
        return (
            f"{self.sms} ; habitants anonymisés : {self.residents_anonymised} ; "
            f"événements d'audit supprimés : {self.audit_events_deleted} ; "
            f"historique des tâches supprimé : {self.job_runs_deleted} ; "
            f"messages vocaux oubliés : {self.voice_messages_forgotten}"
        )


def purge_all(
    session: Session, now: datetime, *, audit_retention_days: int = Settings.audit_retention_days
) -> PurgeReport:
    """Apply every retention rule once; idempotent (a second run finds nothing more)."""
    report = PurgeReport(sms=purge_sms_bodies(session, now))
    report.residents_anonymised = anonymise_inactive_residents(session, now)
    cutoff = now - timedelta(days=audit_retention_days)
    report.audit_events_deleted = _delete(session, sa.delete(AuditEvent).where(AuditEvent.at < cutoff))
    report.job_runs_deleted = _delete(session, sa.delete(JobRun).where(JobRun.started_at < cutoff))
    report.voice_messages_forgotten = purge_recordings(session, now)
    forget_sms_guards(session, now)
    from carpool.services.accounts import forget_old_reset_requests  # Argon2 set-up: only here

    forget_old_reset_requests(session, now)  # hashed client addresses, kept an hour
    return report


def forget_sms_guards(session: Session, now: datetime) -> int:
    """Budget counters and sign-up codes past any use (a day old at least): nothing to keep them for."""
    stale = now - timedelta(days=2)
    counters = _delete(session, sa.delete(SmsCounter).where(SmsCounter.window_start < stale))
    codes = _delete(session, sa.delete(PhoneVerification).where(PhoneVerification.created_at < stale))
    return counters + codes


def anonymise_inactive_residents(session: Session, now: datetime) -> int:
    """Anonymise residents silent for their association's period and with nothing under way."""
    count = 0
    for association in session.scalars(sa.select(Association)):
        cutoff = now - timedelta(days=association.inactive_resident_retention_days)
        last_seen = sa.func.coalesce(Resident.last_contact_at, Resident.created_at)
        for resident in session.scalars(
            sa.select(Resident).where(
                Resident.association_id == association.id,
                last_seen < cutoff,
                ~Resident.phone.startswith(ANONYMOUS_PREFIX),
                ~_has_pending_trip(now),
            )
        ):
            anonymise(session, resident)
            count += 1
    return count


def _has_pending_trip(now: datetime) -> sa.ColumnElement[bool]:
    open_request = sa.exists().where(
        Request.resident_id == Resident.id,
        Request.status.in_((RequestStatus.OPEN, RequestStatus.MATCHED)),
        Request.latest > now,
    )
    active_match = (
        sa.exists()
        .where(Request.resident_id == Resident.id, Match.request_id == Request.id)
        .where(Match.status.in_(ACTIVE_MATCH))
    )
    return sa.or_(open_request, active_match)


def anonymise(
    session: Session, resident: Resident, *, actor: str = "system", action: str = "resident.anonymised"
) -> None:
    """Replace what identifies the resident by placeholders; the row stays for the statistics.

    Texts are theirs by resident id: another person's to or from the same number keep it.
    """
    phone, anonymous = resident.phone, f"{ANONYMOUS_PREFIX}{resident.id}"
    resident.first_name, resident.last_name, resident.notes = "Anonyme", "", ""
    resident.phone, resident.home_point = anonymous, None
    # The benefit seen (AAH, RSA…) says much about a person; the basis alone stays for the annual report.
    resident.tus_benefit = None
    session.execute(
        sa.delete(Conversation).where(
            Conversation.association_id == resident.association_id, Conversation.phone == phone
        )
    )
    session.execute(
        sa.update(InboundMessage)
        .where(InboundMessage.resident_id == resident.id)
        .values(from_phone=anonymous)
    )
    to_them = OutboundMessage.resident_id == resident.id
    # Anything still queued for someone silent this long is moot; in-flight rows are left to finish.
    session.execute(
        sa.update(OutboundMessage)
        .where(to_them, OutboundMessage.status == OutboundStatus.PENDING)
        .values(status=OutboundStatus.CANCELLED)
    )
    session.execute(
        sa.update(OutboundMessage)
        .where(to_them, OutboundMessage.status != OutboundStatus.SENDING)
        .values(to_phone=anonymous)
    )
    forget_caller(session, resident.id, anonymous)
    audit.record(session, actor, action, subject=resident, association_id=resident.association_id)


def _delete(session: Session, statement: sa.Delete) -> int:
    return int(session.execute(statement.execution_options(synchronize_session=False)).rowcount)  # type: ignore[attr-defined]
