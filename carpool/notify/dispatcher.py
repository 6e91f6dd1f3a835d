"""Send the outbox: each committed row reaches the provider once, even across crashes.

A dispatcher *claims* due rows (status ``sending`` with a lease), sends them one
by one and records the outcome. Several dispatchers may run at once: PostgreSQL
hands each one different rows (``FOR UPDATE SKIP LOCKED``), SQLite serialises the
claim (every transaction starts with ``BEGIN IMMEDIATE``) and the guarded UPDATE
re-checks that the rows are still due.

A dispatcher killed mid-send leaves its rows in ``sending``; once the lease has
expired another one takes them over. Twilio's create is not idempotent, so any
row that was attempted before is first *reconciled*: the provider is asked for a
message to the same number with the same body since the row was created, and
if it has one, that SID is recorded instead of sending again. Twins (same number,
same text) go one after the other, since the provider's list cannot tell whose
message is whose. The lease is renewed before each send and is longer than two
backend timeouts (connect + read), so a live dispatcher always finishes its send
before anyone may take the row over.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from carpool.clock import Clock, utcnow
from carpool.config import DEFAULT_PUBLIC_BASE_URL
from carpool.db import Database
from carpool.errors import InvalidInput, StartupError
from carpool.models.audit import AuditEvent
from carpool.models.messages import OutboundMessage, OutboundStatus
from carpool.models.people import Association
from carpool.notify import calls
from carpool.notify.backends import (
    PermanentSendError,
    SmsBackend,
    TransientSendError,
    number_setting,
    reconcile_window,
)
from carpool.notify.budget import HOUR, Verdict, hour_window, number_key, take
from carpool.notify.calls import CallLimits
from carpool.notify.privacy import mask
from carpool.text import normalise_mobile, normalise_phone

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 16  # with the backoff below: about 5 h of provider outage before giving up
BACKOFF_FIRST = timedelta(seconds=30)
BACKOFF_CAP = timedelta(minutes=30)

M = OutboundMessage
PENDING, SENDING, SENT = OutboundStatus.PENDING, OutboundStatus.SENDING, OutboundStatus.SENT


@dataclass
class DispatchReport:
    """What one pass did, for logs and tests."""

    claimed: int = 0
    sent: int = 0
    reconciled: int = 0  # recorded from the provider's list instead of sending again
    retried: int = 0  # transient error: back to pending with a delay
    failed: int = 0
    released: int = 0  # claimed but given back (stop requested, lease lost)
    called: int = 0  # of ``sent``: calls placed
    postponed: int = 0  # calls held back: outside 09:00-19:00 or over the hourly budget


@dataclass(frozen=True)
class Claim:
    """A row this dispatcher holds; ``lease`` doubles as the ownership token."""

    id: int
    to_phone: str
    body: str | None
    attempts: int
    first_attempt_at: datetime
    lease: datetime
    #: The association's SMS number (E.164) the message leaves from; None: the default sender.
    sender: str | None = None
    #: The number a call shows (E.164): the association's phone line, else its SMS number;
    #: None: the configured ``VOICE_FROM`` (or ``TWILIO_FROM``).
    caller_id: str | None = None
    channel: str = "sms"
    trip_at: datetime | None = None


@dataclass(frozen=True)
class DispatchSettings:
    """How a dispatcher process runs (``SMS_BATCH``, ``SMS_LEASE_SECONDS``…)."""

    batch: int = 20
    lease_seconds: float = 60
    poll_seconds: float = 2
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL
    call_limits: CallLimits = field(default_factory=CallLimits)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], backend: SmsBackend) -> DispatchSettings:
        """Read and check the settings; a StartupError sentence when they cannot work."""
        settings = cls(
            batch=int(number_setting(config, "SMS_BATCH", cls.batch)),
            lease_seconds=number_setting(config, "SMS_LEASE_SECONDS", cls.lease_seconds),
            poll_seconds=number_setting(config, "SMS_POLL_SECONDS", cls.poll_seconds),
            public_base_url=str(config.get("PUBLIC_BASE_URL") or DEFAULT_PUBLIC_BASE_URL),
            call_limits=CallLimits(
                per_number_hour=int(config.get("VOICE_BUDGET_PER_NUMBER", CallLimits.per_number_hour)),
                global_hour=int(config.get("VOICE_BUDGET_GLOBAL", CallLimits.global_hour)),
            ),
        )
        if settings.lease_seconds <= 2 * backend.timeout_seconds:
            raise StartupError(
                f"SMS_LEASE_SECONDS ({settings.lease_seconds:g}) doit dépasser deux fois "
                f"SMS_TIMEOUT_SECONDS ({backend.timeout_seconds:g}) : "
                "sinon un envoi lent pourrait partir deux fois."
            )
        return settings


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, 4 min … capped at 30 min, after the n-th failed attempt."""
    return min(BACKOFF_FIRST * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


def status_callback_url(public_base_url: str, outbox_id: int) -> str:
    """The callback carries the outbox id, so a late status reveals which row was sent."""
    return f"{public_base_url.rstrip('/')}/sms/status?outbox={outbox_id}"


def dispatch_once(
    database: Database,
    backend: SmsBackend,
    clock: Clock,
    *,
    batch: int = 20,
    lease_seconds: float = 60,
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL,
    stop_event: threading.Event | None = None,
    call_limits: CallLimits | None = None,
) -> DispatchReport:
    """Claim up to ``batch`` due rows and send them; safe to run in several processes."""
    if lease_seconds <= 2 * backend.timeout_seconds:
        raise ValueError("lease_seconds must exceed twice the backend timeout (connect + read)")
    report = DispatchReport()
    claims = claim(database, clock.now(), batch=batch, lease_seconds=lease_seconds)
    report.claimed = len(claims)
    for index, row in enumerate(claims):
        if stop_event is not None and stop_event.is_set():
            report.released += sum(_release(database, rest) for rest in claims[index:])
            break
        sending = _Sending(backend, clock, lease_seconds, public_base_url, call_limits or CallLimits())
        _process(database, sending, row, report)
    return report


def run_forever(
    database: Database,
    backend: SmsBackend,
    clock: Clock,
    stop_event: threading.Event,
    poll_seconds: float = 2,
    *,
    batch: int = 20,
    lease_seconds: float = 60,
    public_base_url: str = DEFAULT_PUBLIC_BASE_URL,
    call_limits: CallLimits | None = None,
) -> None:
    """Dispatch until ``stop_event`` is set; a database outage is logged and waited out."""
    while not stop_event.is_set():
        try:
            report = dispatch_once(
                database,
                backend,
                clock,
                batch=batch,
                lease_seconds=lease_seconds,
                public_base_url=public_base_url,
                stop_event=stop_event,
                call_limits=call_limits,
            )
        except DBAPIError as exc:
            log.warning(
                "outbox : base indisponible (%s), nouvel essai dans %s s",
                type(exc.orig).__name__,
                poll_seconds,
            )
            stop_event.wait(poll_seconds)
            continue
        except Exception:  # a provider or code error must not stop the sending for good
            log.exception("outbox : passe interrompue, nouvel essai dans %s s", poll_seconds)
            stop_event.wait(poll_seconds)
            continue
        if report.claimed:
            log.info("outbox : %s", report)
        if report.claimed < batch:
            stop_event.wait(poll_seconds)


# --- claiming ------------------------------------------------------------------


def _due(now: datetime) -> sa.ColumnElement[bool]:
    waiting = sa.and_(M.status == PENDING, sa.or_(M.next_attempt_at.is_(None), M.next_attempt_at <= now))
    abandoned = sa.and_(M.status == SENDING, sa.or_(M.lease_until.is_(None), M.lease_until < now))
    return sa.and_(sa.or_(waiting, abandoned), ~_older_twin_in_flight(now))


def _older_twin_in_flight(now: datetime) -> sa.Exists:
    """An older row with the same number and text that may be at the provider already.

    The provider's list tells twins apart by nothing but their SIDs: while two of them are
    in flight, a dead dispatcher's message could be reconciled onto the wrong twin and the
    right one sent again. Twins therefore go one after the other, oldest first.
    A call says nothing the provider's list shows but its number: calls to one number
    go one after the other, whatever they say; but a call never tried and held for later
    (outside the calling hours, a call again in 20 minutes) holds back none of the others,
    or the 07:00 reminder of an 08:00 trip would wait for a notice held until 09:00.
    """
    twin = sa.orm.aliased(M)
    held = sa.and_(  # no NULL inside: NOT of an unknown would hide every twin
        M.channel == "voice",
        twin.status == PENDING,
        twin.attempts == 0,
        sa.func.coalesce(twin.next_attempt_at, sa.literal(now, M.next_attempt_at.type)) > now,
    )
    return sa.exists().where(
        twin.to_phone == M.to_phone,
        twin.channel == M.channel,
        sa.or_(twin.body == M.body, M.channel == "voice"),
        twin.id < M.id,
        twin.status.in_((PENDING, SENDING)),
        ~held,
    )


def claim(database: Database, now: datetime, *, batch: int, lease_seconds: float) -> list[Claim]:
    """Take due rows for ``lease_seconds`` in one short transaction."""
    lease = now + timedelta(seconds=lease_seconds)
    with database.session() as session:
        # SKIP LOCKED: two dispatchers get disjoint rows instead of waiting for each other.
        # SQLite ignores FOR UPDATE; its BEGIN IMMEDIATE already excludes other writers.
        ids = session.scalars(
            sa.select(M.id).where(_due(now)).order_by(M.id).limit(batch).with_for_update(skip_locked=True)
        ).all()
        if not ids:
            return []
        session.execute(
            sa.update(M)
            .where(M.id.in_(ids), _due(now))
            .values(
                status=SENDING,
                lease_until=lease,
                attempts=M.attempts + 1,
                first_attempt_at=sa.func.coalesce(
                    M.first_attempt_at, sa.literal(now, M.first_attempt_at.type)
                ),
            )
            .execution_options(synchronize_session=False)
        )
        rows = session.execute(
            sa.select(
                M.id,
                M.to_phone,
                M.body,
                M.attempts,
                M.first_attempt_at,
                M.channel,
                M.trip_at,
                Association.sms_number,
                Association.phone,
            )
            .outerjoin(Association, Association.id == M.association_id)
            .where(M.id.in_(ids), M.status == SENDING, M.lease_until == lease)
            .order_by(M.id)
        ).all()
    return [
        Claim(
            r.id,
            r.to_phone,
            r.body,
            r.attempts,
            r.first_attempt_at,
            lease,
            sender=_e164(r.sms_number),
            caller_id=_caller_id(r.phone, r.sms_number),
            channel=r.channel,
            trip_at=r.trip_at,
        )
        for r in rows
    ]


def _e164(number: str | None) -> str | None:
    """An association's SMS number as the provider wants it; None when it has none (or a bad one)."""
    try:
        return normalise_mobile(number) if number else None
    except InvalidInput:
        return None


def _caller_id(phone: str | None, sms_number: str | None) -> str | None:
    """The association's own line for a call, so that a resident who calls back reaches its menu.

    Its phone line first, else its SMS number (a Twilio number usually carries both);
    None (the configured default) when it has neither, or only numbers that cannot be read.
    """
    for number in (phone, sms_number):
        if not number:
            continue
        try:
            return normalise_phone(number)
        except InvalidInput:
            continue
    return None


def _owned(row: Claim) -> sa.ColumnElement[bool]:
    return sa.and_(M.id == row.id, M.status == SENDING, M.lease_until == row.lease)


def _renew(database: Database, row: Claim, now: datetime, lease_seconds: float) -> Claim | None:
    """A fresh lease just before sending, or None if another dispatcher took the row over."""
    lease = now + timedelta(seconds=lease_seconds)
    with database.session() as session:
        renewed = _rowcount(session, sa.update(M).where(_owned(row)).values(lease_until=lease))
    if renewed != 1:
        return None
    return dataclasses.replace(row, lease=lease)


def _release(database: Database, row: Claim, until: datetime | None = None) -> int:
    """Give a claimed, unsent row back without counting an attempt (due again at ``until``)."""
    values: dict[str, object] = {"status": PENDING, "lease_until": None, "attempts": M.attempts - 1}
    if until is not None:
        values["next_attempt_at"] = until
    with database.session() as session:
        return _rowcount(session, sa.update(M).where(_owned(row)).values(**values))


def _rowcount(session: Session, statement: sa.Executable) -> int:
    return int(cast("CursorResult[Any]", session.execute(statement)).rowcount)


# --- one message ---------------------------------------------------------------


@dataclass(frozen=True)
class _Sending:
    """What every send of one pass shares."""

    backend: SmsBackend
    clock: Clock
    lease_seconds: float
    public_base_url: str
    call_limits: CallLimits


def _process(database: Database, sending: _Sending, claimed: Claim, report: DispatchReport) -> None:
    clock, lease_seconds = sending.clock, sending.lease_seconds
    row = _renew(database, claimed, clock.now(), lease_seconds)
    if row is None:
        report.released += 1
        return
    if row.body is None:  # emptied by retention before it could be sent
        _finish(database, row, clock.now(), report, failed=("no-body", "message effacé avant l'envoi"))
        return
    if row.channel == "voice" and not calls.may_ring(clock.now(), row.trip_at):
        _postpone(database, row, calls.next_ring(clock.now(), row.trip_at), report)
        return
    if row.attempts > 1:
        if _settled_by_provider(database, sending.backend, clock, row, report):
            return
        # The look-up took time too: the whole lease must remain for the send itself.
        row = _renew(database, row, clock.now(), lease_seconds)
        if row is None:
            report.released += 1
            return
    if row.attempts > MAX_ATTEMPTS:
        _finish(database, row, clock.now(), report, failed=("max-attempts", "trop de tentatives"))
        return
    if row.channel == "voice":
        if not _call_budget_allows(database, row, clock.now(), sending.call_limits):
            _postpone(database, row, hour_window(clock.now()) + HOUR, report)
            return
        _call(database, sending, row, report)
        return
    _send(database, sending.backend, clock, row, sending.public_base_url, report)


def _postpone(database: Database, row: Claim, until: datetime, report: DispatchReport) -> None:
    log.info("outbox %s : appel reporté à %s", row.id, until.isoformat(timespec="minutes"))
    report.postponed += _release(database, row, until)


def _call_budget_allows(database: Database, row: Claim, now: datetime, limits: CallLimits) -> bool:
    """Count this call against the hourly budgets (one number, all numbers); False when spent.

    The first refusal in an hour leaves one ``call_budget_reached`` event, which the
    coordinators' first page shows like the SMS one; the held calls leave the next hour.
    """
    window = hour_window(now)
    with database.session() as session:
        for scope, key, limit in (
            ("number", number_key("call", row.to_phone), limits.per_number_hour),
            ("global", "call:global", limits.global_hour),
        ):
            verdict = take(session, key, limit, window)
            if verdict is Verdict.REACHED:
                log.warning("Budget d'appels atteint (%s, %s/h)", scope, limit)
                session.add(
                    AuditEvent(
                        actor="system",
                        action=calls.CALL_BUDGET_REACHED,
                        association_id=session.scalar(sa.select(M.association_id).where(M.id == row.id)),
                        subject_type="OutboundMessage",
                        subject_id=row.id,
                        details={"scope": scope, "limit": limit, "until": (window + HOUR).isoformat()}
                        | ({"phone": mask(row.to_phone)} if scope == "number" else {}),
                    )
                )
            if verdict is not Verdict.GRANTED:
                return False
    return True


def _settled_by_provider(
    database: Database, backend: SmsBackend, clock: Clock, row: Claim, report: DispatchReport
) -> bool:
    """Before a re-send: record a message the provider already has, or postpone if it cannot say."""
    assert row.body is not None
    since = reconcile_window(row.first_attempt_at)
    try:
        if row.channel == "voice":
            earlier = backend.find_calls(row.to_phone, since)
        else:
            earlier = backend.find_sent(row.to_phone, row.body, since)
    except (TransientSendError, PermanentSendError) as exc:
        # Unknown whether it left: never send blind, try again later.
        _finish(database, row, clock.now(), report, retry=(exc.code, exc.message))
        return True
    sid = _first_unclaimed(database, row.id, earlier)
    if sid is None:
        return False
    log.info("outbox %s : déjà accepté par le fournisseur (%s), pas de renvoi", row.id, sid)
    record_sent(database, row.id, sid, clock.now())
    report.reconciled += 1
    return True


def _send(
    database: Database,
    backend: SmsBackend,
    clock: Clock,
    row: Claim,
    public_base_url: str,
    report: DispatchReport,
) -> None:
    assert row.body is not None
    _attempt(
        database,
        clock,
        row,
        report,
        lambda: backend.send(
            row.to_phone, row.body or "", status_callback_url(public_base_url, row.id), sender=row.sender
        ),
    )


def _call(database: Database, sending: _Sending, row: Claim, report: DispatchReport) -> None:
    url, callback = sending.public_base_url, calls.call_status_url(sending.public_base_url, row.id)
    if _attempt(
        database,
        sending.clock,
        row,
        report,
        lambda: sending.backend.call(
            row.to_phone, calls.voice_url(url, row.id), callback, caller_id=row.caller_id
        ),
    ):
        report.called += 1


def _attempt(
    database: Database, clock: Clock, row: Claim, report: DispatchReport, place: Callable[[], str]
) -> bool:
    """Hand one row to the provider with ``place`` and record the outcome; True when accepted."""
    try:
        sid = place()
    except TransientSendError as exc:
        _finish(database, row, clock.now(), report, retry=(exc.code, exc.message))
    except PermanentSendError as exc:
        _finish(database, row, clock.now(), report, failed=(exc.code, exc.message))
    except Exception as exc:  # a backend bug must not stop the other messages
        log.exception("outbox %s : erreur inattendue du fournisseur", row.id)
        _finish(database, row, clock.now(), report, retry=("error", type(exc).__name__))
    else:
        record_sent(database, row.id, sid, clock.now())
        report.sent += 1
        return True
    return False


def _finish(
    database: Database,
    row: Claim,
    now: datetime,
    report: DispatchReport,
    *,
    retry: tuple[str, str] | None = None,
    failed: tuple[str, str] | None = None,
) -> None:
    """Record a failed attempt: pending again after a backoff, or failed for good."""
    if retry is not None and row.attempts < MAX_ATTEMPTS:
        code, message = retry
        values: dict[str, object] = {"status": PENDING, "next_attempt_at": now + backoff(row.attempts)}
        report.retried += 1
        log.info(
            "outbox %s : tentative %s échouée (%s), reprise dans %s",
            row.id,
            row.attempts,
            code,
            backoff(row.attempts),
        )
    else:
        code, message = failed or retry or ("error", "")
        values = {"status": OutboundStatus.FAILED}
        report.failed += 1
        log.warning("outbox %s : échec définitif (%s)", row.id, code)
    values |= {"lease_until": None, "error_code": code[:20], "error_message": message[:500]}
    with database.session() as session:
        session.execute(sa.update(M).where(_owned(row)).values(**values))


def _first_unclaimed(database: Database, outbox_id: int, sids: list[str]) -> str | None:
    """The first SID no other row already owns (two rows may share a number and a text)."""
    if not sids:
        return None
    with database.session() as session:
        taken = set(
            session.scalars(sa.select(M.provider_sid).where(M.provider_sid.in_(sids), M.id != outbox_id))
        )
    return next((sid for sid in sids if sid not in taken), None)


# --- recording -----------------------------------------------------------------


def record_sent(database: Database, outbox_id: int, sid: str, now: datetime) -> None:
    """Record that the provider accepted ``sid`` for this row (ours by proof, whatever the lease)."""
    with database.session() as session:
        row = session.get(M, outbox_id, with_for_update=True)
        if row is not None:
            attach_sid(session, row, sid, now)


def record_status(
    session: Session,
    outbox_id: int,
    sid: str,
    status: str,
    *,
    error_code: str | None = None,
    now: datetime | None = None,
) -> OutboundMessage | None:
    """Apply a Twilio status callback (``?outbox=<id>``, MessageSid, MessageStatus).

    The callback may arrive before the dispatcher saved the SID, or be the only
    trace of a send whose dispatcher died: the SID is attached if missing. A
    callback for a SID other than the one recorded is logged and ignored.
    Returns the row, or None for an unknown id; the caller commits.
    """
    row = session.get(M, outbox_id, with_for_update=True)
    if row is None:
        return None
    if row.provider_sid not in (None, sid):
        log.warning(
            "outbox %s : statut pour un autre SID (%s ≠ %s), envoyé deux fois ?",
            row.id,
            sid,
            row.provider_sid,
        )
        return row
    attach_sid(session, row, sid, now or utcnow())
    if status == "delivered":
        row.status = OutboundStatus.DELIVERED
    elif status in ("failed", "undelivered"):
        row.status = OutboundStatus.FAILED
        row.error_code = (error_code or status)[:20]
        row.error_message = f"statut Twilio : {status}"
    return row


def attach_sid(session: Session, row: OutboundMessage, sid: str, now: datetime) -> None:
    """Give ``sid`` to ``row``; a row that wrongly reconciled onto it gets its turn back."""
    holder = session.scalars(
        sa.select(M).where(M.provider_sid == sid, M.id != row.id).with_for_update()
    ).one_or_none()
    if holder is not None:
        log.warning("outbox %s : SID %s pris à tort par %s, qui sera renvoyé", row.id, sid, holder.id)
        holder.provider_sid, holder.sent_at, holder.lease_until = None, None, None
        holder.status, holder.next_attempt_at = PENDING, None
        session.flush()
    if row.provider_sid is None:
        row.provider_sid = sid
    elif row.provider_sid != sid:
        log.warning("outbox %s : déjà envoyé sous %s, second SID %s (doublon)", row.id, row.provider_sid, sid)
        return
    if row.status in (PENDING, SENDING):
        row.status, row.sent_at = SENT, now
        row.lease_until, row.error_code, row.error_message = None, None, None
