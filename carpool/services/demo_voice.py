"""The demo's phone history: calls on the association's line, voice messages, notice calls.

Everything goes through the services the webhooks and the dispatcher use (``voice_line``,
``voice_messages``, ``voice_calls``, ``reminders``), each step on a clock set to the moment
it happened, so the demo shows what the code really does. Only the outbox rows' creation
times are set by hand: the outbox stamps them with the wall clock. All within the last days,
well inside the recordings' retention.

There is no audio at Twilio for the demo's voice messages: their RecordingSid says so
(``recordings.demo_recording_sid``) and the player answers a French sentence instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS, FrozenClock
from carpool.models import (
    Association,
    AuditEvent,
    Match,
    OutboundMessage,
    Resident,
    UserAccount,
    VoiceMessage,
)
from carpool.notify import calls
from carpool.notify.dispatcher import attach_sid
from carpool.notify.recordings import demo_recording_sid
from carpool.services import audit, reminders, voice_calls, voice_line, voice_messages
from carpool.text import french_number

#: Paths of the inbound call's steps: only written into the TwiML, which the demo throws away.
URLS = voice_line.Urls(
    menu="/voice/inbound/menu",
    proposal="/voice/inbound/proposition",
    dial_end="/voice/inbound/fin-appel",
    recorded="/voice/inbound/enregistre",
    recording_status="/voice/inbound/enregistrement",
)
CALLS_PER_HOUR = 10


@dataclass(frozen=True)
class PhoneCast:
    """Who the phone history is about, and their rides (made by ``demo._phone_history``)."""

    association: Association
    coordinator: UserAccount
    #: Landline residents: the first had a ride three days ago, the second has one coming.
    landlines: list[Resident]
    #: A mobile owner who asked to be called; has a ride coming.
    prefers_calls: Resident
    stranger_phone: str
    done_ride: Match
    coming_rides: tuple[Match, Match]  # prefers_calls', landlines[1]'s


def at(now: datetime, days_ago: int, hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` in Paris, ``days_ago`` days before ``now`` (always in the past for days_ago >= 1)."""
    day = now.astimezone(PARIS).date() - timedelta(days=days_ago)
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


def seed_phone_history(session: Session, cast: PhoneCast, now: datetime, serial: str) -> None:
    """Calls of the last days, one voice message waiting today, notice calls (one unanswered).

    ``serial`` keeps the demo's Call and Recording SIDs unique across associations.
    """
    sids = _Sids(serial)
    _notice_calls(session, cast, sids)
    _inbound_calls(session, cast, now, sids)


class _Sids:
    """Call SIDs shaped like Twilio's (CA + 32 characters), numbered: never a real call."""

    def __init__(self, serial: str) -> None:
        self.serial, self.count = serial, 0

    def next(self) -> str:
        self.count += 1
        return f"CAdemo{self.serial}{self.count:0{26 - len(self.serial)}d}"


@contextmanager
def _dated(session: Session, moment: datetime) -> Iterator[None]:
    """The audit events of one step dated when it happened: ``audit.record`` stamps the wall clock."""
    session.flush()
    last = session.scalar(sa.select(sa.func.max(AuditEvent.id))) or 0
    yield
    session.flush()
    session.execute(
        sa.update(AuditEvent)
        .where(AuditEvent.id > last)
        .values(at=moment)
        .execution_options(synchronize_session=False)
    )


# --- calls on the association's line ------------------------------------------------------------


def _inbound_calls(session: Session, cast: PhoneCast, now: datetime, sids: _Sids) -> None:
    first, second, third = cast.landlines[:3]
    _call(session, cast, first.phone, at(now, 4, 10, 12), sids.next(), keys="1")  # hears their trips
    _call(session, cast, cast.prefers_calls.phone, at(now, 3, 16, 40), sids.next(), keys="71")  # a slip
    handled = _call(session, cast, third.phone, at(now, 2, 19, 35), sids.next(), keys="3", message_s=48)
    _call(session, cast, cast.stranger_phone, at(now, 1, 11, 5), sids.next(), keys="3")  # hangs up
    if handled is not None:
        _called_back(session, cast, handled, at(now, 1, 9, 5))
    # Today: the resident the confirmation call missed yesterday calls back and leaves a message.
    today = datetime.combine(now.astimezone(PARIS).date(), time(0), tzinfo=PARIS)
    _call(
        session,
        cast,
        second.phone,
        max(today, now - timedelta(minutes=50)),
        sids.next(),
        keys="3",
        message_s=34,
    )


def _call(
    session: Session,
    cast: PhoneCast,
    caller: str,
    moment: datetime,
    call_sid: str,
    *,
    keys: str,
    message_s: int = 0,
) -> VoiceMessage | None:
    """One call as Twilio's webhooks would make it: greeting, the keys pressed, a message maybe."""
    with _dated(session, moment):
        return _steps(session, cast, caller, FrozenClock(moment), call_sid, keys, message_s)


def _steps(
    session: Session,
    cast: PhoneCast,
    caller: str,
    clock: FrozenClock,
    call_sid: str,
    keys: str,
    message_s: int,
) -> VoiceMessage | None:
    voice_line.answer(
        session,
        call_sid=call_sid,
        from_phone=caller,
        to_phone=french_number(cast.association.phone or "") or "",
        clock=clock,
        urls=URLS,
        calls_per_hour=CALLS_PER_HOUR,
    )
    for key in keys:
        clock.advance(seconds=20)
        voice_line.choose(session, call_sid=call_sid, digits=key, speech="", clock=clock, urls=URLS)
    if not message_s:
        return None
    clock.advance(seconds=message_s + 15)
    return voice_line.store_recording(
        session,
        call_sid=call_sid,
        recording_sid=demo_recording_sid(call_sid),
        duration_s=message_s,
        status="completed",
        clock=clock,
    )


def _called_back(session: Session, cast: PhoneCast, message: VoiceMessage, moment: datetime) -> None:
    """The next morning the coordinator listened, said they would call back, called, marked it done."""
    user_id = cast.coordinator.id
    with _dated(session, moment):
        audit.record(
            session, f"user:{user_id}", "voice.listened", subject=message, association_id=cast.association.id
        )
        voice_messages.plan_callback(session, message, user_id=user_id, clock=FrozenClock(moment))
    called = moment + timedelta(minutes=20)
    with _dated(session, called):
        voice_messages.mark_handled(session, message, user_id=user_id, clock=FrozenClock(called))


# --- notice calls placed by the dispatcher ---------------------------------------------------------


def _notice_calls(session: Session, cast: PhoneCast, sids: _Sids) -> None:
    """Reminders and confirmations said on the phone: picked up, an answering machine, no answer."""
    done = cast.done_ride
    coming_mobile, coming_landline = cast.coming_rides
    _notice(session, done, "reminder.eve", sids, ["human"])
    _notice(session, coming_mobile, "confirmed", sids, ["machine_start", "human"])
    _notice(session, coming_landline, "confirmed", sids, ["", "", ""])  # no answer, three times


def _notice(session: Session, match: Match, kind: str, sids: _Sids, pickups: list[str]) -> None:
    """The resident's notice of ``kind`` for ``match``, queued and called as the dispatcher does.

    ``pickups``: who answered each call in turn ("human", "machine_start", "" for nobody).
    """
    booking = reminders.booking_of(session, match)
    notice = next(
        n for n in reminders.plan(booking) if n.kind == kind and n.resident_id == booking.resident.id
    )
    moment = calls.next_ring(max(notice.due_at, match.confirmed_at or notice.due_at), match.pickup_at)
    row = reminders.enqueue_planned(session, booking, notice)
    for answered_by in pickups:
        if row is None:
            return
        moment = row.next_attempt_at or moment  # a call again rings when the dispatcher may
        row.created_at = moment - timedelta(minutes=1)  # the outbox stamps the wall clock
        with _dated(session, moment):
            row = _ring(session, row, sids.next(), moment, answered_by)


def _ring(
    session: Session, row: OutboundMessage, call_sid: str, moment: datetime, answered_by: str
) -> OutboundMessage | None:
    """Place one call of ``row`` at ``moment``; the next call again, if one was queued."""
    attach_sid(session, row, call_sid, moment)
    ended = moment + timedelta(seconds=45)
    if answered_by:
        voice_calls.notice_for_call(session, row.id, call_sid, answered_by, moment + timedelta(seconds=15))
        voice_calls.call_ended(session, row.id, call_sid, "completed", answered_by, ended)
    else:
        voice_calls.call_ended(session, row.id, call_sid, "no-answer", "", ended)
    session.flush()
    again = calls.retry_key(row.idempotency_key, calls.retry_number(row.idempotency_key) + 1)
    return session.scalar(sa.select(OutboundMessage).where(OutboundMessage.idempotency_key == again))
