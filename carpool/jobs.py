"""The scheduled jobs: short, idempotent functions that derive due work from the database.

APScheduler is only a ticker (see carpool/scheduler.py): a job finds what is due
*now* from rows and writes its effects with unique keys, so a missed tick, a
tick run twice, or a restart after hours of downtime all end with the same
messages, each exactly once. Each job takes a session, a clock and the settings
(checked at start-up, never read here from the environment) and returns a one-line
French summary; ``run_job`` commits it and records a ``JobRun``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.config import Settings
from carpool.db import Database
from carpool.leader import LeadershipLost
from carpool.models import JobRun, Match, MatchStatus, Request, RequestStatus
from carpool.services import audit, bookings, reminders

log = logging.getLogger(__name__)

SYSTEM = "system"
IDLE = "rien à faire"
# --- the jobs -----------------------------------------------------------------


def expire_proposals(session: Session, clock: Clock, settings: Settings) -> str:
    """Proposals nobody answered in time (or whose pickup passed) expire: seats back, request reopened.

    In time: within ``PROPOSAL_TIMEOUT_HOURS`` of the last change of state.

    The resident is told by the ``notices`` job (``match:<id>:expired``), out of quiet hours.
    """
    now = clock.now()
    timeout = timedelta(hours=settings.proposal_timeout_hours)
    stale = session.scalars(
        sa.select(Match)
        .where(
            Match.status.in_((MatchStatus.PROPOSED, MatchStatus.ACCEPTED)),
            sa.or_(Match.status_changed_at <= now - timeout, Match.pickup_at <= now),
        )
        .order_by(Match.id)
    ).all()
    expired = []
    for match in stale:
        try:
            with session.begin_nested():
                bookings.transition(
                    session, match, MatchStatus.EXPIRED, actor=SYSTEM, clock=clock, reason="sans réponse"
                )
                session.execute(
                    sa.update(Request)
                    .where(Request.id == match.request_id, Request.unmatched_reason.is_(None))
                    .values(unmatched_reason="proposal_expired")
                    .execution_options(synchronize_session=False)
                )
        except bookings.TransitionRefused:
            continue  # someone answered meanwhile
        expired.append(match.id)
    return f"propositions expirées : {len(expired)} {_ids(expired)}" if expired else IDLE


def expire_requests(session: Session, clock: Clock, settings: Settings) -> str:
    """Open requests whose time has passed become unmet demand (the reason why is kept)."""
    now = clock.now()
    late = session.scalars(
        sa.select(Request)
        .where(Request.status == RequestStatus.OPEN, Request.latest <= now)
        .order_by(Request.id)
    ).all()
    for request in late:
        request.status = RequestStatus.EXPIRED
        request.unmatched_reason = request.unmatched_reason or "no_match_in_time"
        audit.record(
            session,
            SYSTEM,
            "request.expired",
            subject=request,
            association_id=request.association_id,
            unmatched_reason=request.unmatched_reason,
        )
    return f"demandes expirées (demande non satisfaite) : {len(late)}" if late else IDLE


def complete_trips(session: Session, clock: Clock, settings: Settings) -> str:
    """Confirmed trips whose drop-off time has passed are completed (the feedback question follows)."""
    now = clock.now()
    done = session.scalars(
        sa.select(Match)
        .where(Match.status == MatchStatus.CONFIRMED, Match.dropoff_at <= now)
        .order_by(Match.id)
    ).all()
    completed = 0
    for match in done:
        try:
            with session.begin_nested():
                bookings.transition(session, match, MatchStatus.COMPLETED, actor=SYSTEM, clock=clock)
        except bookings.TransitionRefused:
            continue  # cancelled or marked no-show meanwhile
        completed += 1
    return f"trajets terminés : {completed}" if completed else IDLE


def send_notices(session: Session, clock: Clock, settings: Settings) -> str:
    """Confirmations, reminders, expiry notices and feedback questions now due (see reminders.py)."""
    return str(reminders.send_due(session, clock))


def series(session: Session, clock: Clock, settings: Settings) -> str:
    """Residents' series become requests ``SERIES_WEEKS_AHEAD`` weeks ahead; drivers' weekly
    offers are kept twelve weeks ahead. Both add only what is missing: run twice, same rows.

    Then the occurrences due within ``SERIES_PROPOSE_DAYS`` days are proposed to their
    resident by SMS, each once, out of quiet hours (see services/proposals.py).
    """
    from carpool.services import proposals
    from carpool.services import series as appointment_series

    requests = appointment_series.materialise(session, clock, weeks=settings.series_weeks_ahead)
    offers = appointment_series.extend_offers(session, clock)
    proposed, nothing = (
        proposals.propose_series(session, clock, settings.series_propose_days)
        if settings.series_propose_days
        else ([], [])
    )
    if not requests and not offers and not proposed:
        return IDLE
    summary = (
        f"demandes des séries ajoutées : {len(requests)} ; offres des conducteurs prolongées : {len(offers)}"
    )
    if proposed or nothing:
        summary += f" ; proposées aux passagers : {len(proposed)} ; sans solution : {len(nothing)}"
    return summary


def reoptimise(session: Session, clock: Clock, settings: Settings) -> str:
    """Open requests of the next ``REOPTIMISE_DAYS`` days matched together (round trips whole);
    each one served is proposed to its resident by SMS, once (see services/proposals.py)."""
    from carpool.services import proposals

    reports = proposals.reoptimise(session, clock, settings.reoptimise_days)
    if not any(r.asked for r in reports):
        return IDLE
    return " | ".join(str(r) for r in reports)


def retention(session: Session, clock: Clock, settings: Settings) -> str:
    """SMS texts, inactive residents, old audit events and job history, voice messages, per the
    retention rules. Forgotten recordings are deleted at Twilio once this run has committed (so
    never by a dry run), when its account is configured."""
    from carpool.services.purge import purge_all
    from carpool.services.voice_messages import recordings_to_delete

    report = str(purge_all(session, clock.now(), audit_retention_days=settings.audit_retention_days))
    recordings = recordings_to_delete(session) if settings.twilio_account_sid else []
    if not recordings:
        return report
    engine = session.get_bind()
    sa.event.listen(
        session, "after_commit", lambda _s: _delete_recordings(engine, recordings, settings), once=True
    )
    return f"{report} ; enregistrements à supprimer chez Twilio : {len(recordings)}"


def _delete_recordings(engine: Any, recordings: list[tuple[int, str]], settings: Settings) -> None:
    from carpool.notify.recordings import delete_recording
    from carpool.services.voice_messages import delete_forgotten

    with engine.begin() as connection:
        deleted, failed = delete_forgotten(
            connection,
            recordings,
            lambda sid: delete_recording(
                sid,
                account_sid=settings.twilio_account_sid,
                auth_token=settings.twilio_auth_token,
                api_base_url=settings.twilio_api_base_url,
            ),
        )
    log.info("Enregistrements supprimés chez Twilio : %s (échecs, réessayés demain : %s)", deleted, failed)


# --- running ------------------------------------------------------------------

JobFunction = Callable[[Session, Clock, Settings], str]

#: The database jobs, in the order ``carpool scheduler --once`` runs them.
JOBS: dict[str, JobFunction] = {
    "expire_proposals": expire_proposals,
    "expire_requests": expire_requests,
    "complete_trips": complete_trips,
    "notices": send_notices,
    "series": series,
    "reoptimise": reoptimise,
    "retention": retention,
}


@dataclass(frozen=True)
class JobOutcome:
    name: str
    ok: bool
    result: str


def run_job(
    database: Database,
    name: str,
    clock: Clock,
    *,
    settings: Settings | None = None,
    dry_run: bool = False,
    fence: Callable[[Session], None] | None = None,
) -> JobOutcome:
    """Run one job in one transaction and record it; ``dry_run`` rolls everything back.

    ``settings`` defaults to ``Settings()``, the defaults (tests); processes pass theirs.

    ``fence`` runs first inside the transaction (the scheduler checks it still
    holds its lease there), so a scheduler that lost leadership writes nothing.
    """
    started = clock.now()
    try:
        with database.sessionmaker() as session, session.begin() as transaction:
            if fence is not None:
                fence(session)
            result = JOBS[name](session, clock, settings or Settings())
            if dry_run:
                transaction.rollback()
            else:
                record_run(session, name, started, clock.now(), True, result)
    except LeadershipLost:
        raise  # another scheduler leads now: record nothing, stop acting
    except Exception as exc:
        log.exception("tâche %s en échec", name)
        result = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        if not dry_run:
            with database.session() as session:
                record_run(session, name, started, clock.now(), False, result)
        return JobOutcome(name, False, result)
    return JobOutcome(name, True, result)


def record_run(
    session: Session, name: str, started: datetime, finished: datetime, ok: bool, result: str
) -> None:
    """Add a JobRun; consecutive idle runs of a job share one row, so the history stays short."""
    if ok and result == IDLE:
        last = session.scalars(
            sa.select(JobRun).where(JobRun.name == name).order_by(JobRun.id.desc()).limit(1)
        ).first()
        if last is not None and last.ok and last.result == IDLE:
            last.started_at, last.finished_at = started, finished
            return
    session.add(JobRun(name=name, started_at=started, finished_at=finished, ok=ok, result=result))


def last_runs(session: Session) -> dict[str, JobRun]:
    """The latest recorded run of each job."""
    latest = sa.select(sa.func.max(JobRun.id)).group_by(JobRun.name)
    return {run.name: run for run in session.scalars(sa.select(JobRun).where(JobRun.id.in_(latest)))}


def _ids(ids: list[int]) -> str:
    shown = ", ".join(str(i) for i in ids[:30])
    return f"(matchs {shown}{'…' if len(ids) > 30 else ''})"
