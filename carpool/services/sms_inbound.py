"""A resident's SMS, from webhook to reply: understand, ask, match, book, answer.

One explicit state machine per phone number (``Conversation``):

    idle ──request complete──▶ choosing ──"1"/OUI──▶ idle (booked)
      │  └─pieces missing──▶ collecting ──(one question at a time)──▶ choosing | idle
      └─ unknown twice, or AIDE ──▶ escalated (a coordinator calls back)

A conversation silent for 48 hours starts again from idle. Replies are queued
in the outbox in the same transaction; nothing here talks to Twilio.

Against SMS pumping (issue 15), every reply to the sender passes ``_ReplyGuard``:
nothing after STOP, strangers answered once a day and only on a French mobile,
and hourly budgets per number and in all. The inbound text is always stored.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS, Clock
from carpool.db import dialect_of, insert_or_ignore
from carpool.models.audit import AuditEvent
from carpool.models.messages import AttentionReason, Conversation, ConversationState, InboundMessage
from carpool.models.people import Association, Driver, Resident
from carpool.models.places import Commune, NamedPlace
from carpool.models.trips import Leg, Match, MatchStatus, Purpose, Request, RequestSource, RequestStatus
from carpool.notify.budget import (
    HOUR,
    ReplyLimits,
    Verdict,
    hour_window,
    number_key,
    paris_day_window,
    take,
)
from carpool.notify.calls import CALL_BUDGET_REACHED
from carpool.notify.compose import render
from carpool.notify.gsm import segments
from carpool.notify.legs import leg_named, needs_no_way_back
from carpool.notify.outbox import enqueue, opt_in_number, opt_out_number
from carpool.notify.parse import ParsedMessage, opt_out_intent, parse_message
from carpool.notify.privacy import mask
from carpool.notify.purpose import guess_purpose
from carpool.services import (
    audit,
    booking_flow,
    bookings,
    feedback,
    gazetteer,
    long_trips,
    matching,
    participation,
    reminders,
)
from carpool.services.associations import sender_and_association
from carpool.services.places import own_place_records
from carpool.text import is_french_mobile

CONVERSATION_TTL = timedelta(hours=48)
UNKNOWN_BEFORE_ESCALATION = 2
#: Without other information, a resident can be picked up this long before their appointment.
PICKUP_WINDOW = timedelta(hours=2)
MAX_MESSAGE_CHARS = 1600
#: A named place longer than this is restated by its commune (one SMS segment).
PLACE_NAME_MAX = 40
#: What coordinators see when a budget stops the replies (the desk lists these audit events).
BUDGET_REACHED = "sms_budget_reached"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class InboundOutcome:
    duplicate: bool
    replies: int
    spoken: tuple[str, ...] = ()  # by_voice: the answers to say in the call instead of texting them


class _ReplyGuard:
    """Whether the sender of one inbound SMS may be answered once more (the pumping rules).

    A stranger (neither resident nor driver) is answered only on a French mobile,
    once a Paris day; everyone within the hourly budgets per number and in all.
    The first refusal of a budget in its hour leaves one audit event for coordinators.
    """

    def __init__(
        self, session: Session, message: InboundMessage, limits: ReplyLimits, now: datetime, *, known: bool
    ) -> None:
        self.session, self.message, self.limits, self.now, self.known = session, message, limits, now, known

    def allows(self) -> bool:
        phone = self.message.from_phone
        if not self.known:
            if not is_french_mobile(phone):  # premium, foreign and short numbers pay attackers
                return False
            day = paris_day_window(self.now)
            if take(self.session, number_key("stranger", phone), 1, day) is not Verdict.GRANTED:
                return False
        window = hour_window(self.now)
        budgets = (
            ("number", number_key("reply", phone), self.limits.per_number_hour),
            ("global", "reply:global", self.limits.global_hour),
        )
        for scope, key, limit in budgets:
            verdict = take(self.session, key, limit, window)
            if verdict is Verdict.REACHED:
                self._alert(scope, limit, window)
            if verdict is not Verdict.GRANTED:
                return False
        return True

    def _alert(self, scope: str, limit: int, window: datetime) -> None:
        phone = mask(self.message.from_phone) if scope == "number" else None
        until = (window + HOUR).astimezone(PARIS).strftime("%H:%M")
        log.warning("Budget de SMS atteint (%s, %s/h) : plus de réponse jusqu'à %s", scope, limit, until)
        audit.record(
            self.session,
            "system",
            BUDGET_REACHED,
            subject=self.message,
            association_id=self.message.association_id,
            scope=scope,
            limit=limit,
            until=(window + HOUR).isoformat(),
            **({"phone": phone} if phone else {}),
        )


class _Reply:
    """Collects the SMS to queue for one inbound message, each with a unique key."""

    def __init__(
        self, session: Session, message: InboundMessage, guard: _ReplyGuard, *, by_voice: bool = False
    ) -> None:
        self.session, self.message, self.guard, self.count = session, message, guard, 0
        # An answer given during a call is answered in that call: said, not texted.
        self.spoken: list[str] | None = [] if by_voice else None

    def send(
        self,
        to_phone: str,
        template: str,
        *,
        association_id: int | None,
        resident_id: int | None = None,
        always: bool = False,
        **context: Any,
    ) -> None:
        """Queue one SMS; ``always`` only for what an opted-out person may still get (the STOP receipt).

        ``resident_id`` when it goes to the resident (not to a driver, nor to an unknown number).
        An answer to the sender passes the guard first; a notice to someone else
        (the driver of a booking) is a consequence of the booking, not a reply.
        """
        if to_phone == self.message.from_phone and self.spoken is not None:
            self.spoken.append(render(template, **context))
            return
        if to_phone == self.message.from_phone and not self.guard.allows():
            return
        self.count += 1
        key = f"inbound:{self.message.message_sid}:{self.count}"
        body = render(template, **context)
        enqueue(
            self.session,
            key,
            to_phone,
            body,
            association_id=association_id,
            resident_id=resident_id,
            respect_opt_out=not always,
        )


def handle_inbound(
    session: Session,
    *,
    message_sid: str,
    from_phone: str,
    to_phone: str,
    body: str,
    clock: Clock,
    limits: ReplyLimits | None = None,
    by_voice: bool = False,
) -> InboundOutcome:
    """Process one inbound SMS exactly once (a retried webhook with the same sid does nothing).

    ``by_voice``: the keypad answer of a call (carpool/services/voice_calls.py), handled like
    the same words by SMS; the replies to the caller come back in ``spoken``.
    """
    body = printable(body)[:MAX_MESSAGE_CHARS]
    resident, association = sender_and_association(session, from_phone, to_phone)
    now = clock.now()
    own_places = own_place_records(session, association.id) if resident and association else ()
    parsed = (
        parse_message(body, now.astimezone(PARIS).date(), resident.home_commune_insee, places=own_places)
        if resident
        else None
    )
    intent = parsed.intent if parsed else opt_out_intent(body)
    # One statement: a webhook Twilio retries (the same sid), even one another worker is
    # processing at this moment, inserts nothing and gets no second answer.
    message = session.scalars(
        insert_or_ignore(dialect_of(session), InboundMessage, "message_sid")
        .values(
            message_sid=message_sid,
            association_id=association.id if association else None,
            resident_id=resident.id if resident else None,
            from_phone=from_phone,
            body=body,
            intent=intent,
            needs_attention=resident is None,
            attention_reason=AttentionReason.UNKNOWN_SENDER if resident is None else None,
        )
        .returning(InboundMessage)
    ).one_or_none()
    if message is None:
        return InboundOutcome(duplicate=True, replies=0)
    known = resident is not None or _is_driver(session, from_phone)
    guard = _ReplyGuard(session, message, limits or ReplyLimits(), now, known=known)
    reply = _Reply(session, message, guard, by_voice=by_voice)
    if resident is None or parsed is None:
        _answer_stranger(session, message, intent, association, reply, now)
        return InboundOutcome(False, reply.count)
    Handler(session, resident, message, reply, clock).handle(parsed, body)
    return InboundOutcome(False, reply.count, tuple(reply.spoken or ()))


def _is_driver(session: Session, phone: str) -> bool:
    return session.scalar(sa.select(Driver.id).where(Driver.phone == phone).limit(1)) is not None


def _answer_stranger(
    session: Session,
    message: InboundMessage,
    intent: str | None,
    association: Association | None,
    reply: _Reply,
    now: datetime,
) -> None:
    """Someone who is not a resident: STOP is recorded and never answered; anything else gets the
    association's phone number (the guard decides whether it is sent)."""
    phone = message.from_phone
    if intent == "stop":
        opt_out_number(session, phone, now)
        audit.record(
            session, "sms", "sms.number_opted_out", subject=message, association_id=message.association_id
        )
        return
    if intent == "start" and opt_in_number(session, phone):
        audit.record(
            session, "sms", "sms.number_opted_in", subject=message, association_id=message.association_id
        )
    reply.send(
        phone,
        "unknown_number",
        association_id=message.association_id,
        phone=association.phone if association else None,
    )
    audit.record(session, "sms", "sms.unknown_number", subject=message, association_id=message.association_id)


_CONTROL = dict.fromkeys(c for c in range(32) if chr(c) not in "\n\t")


def printable(text: str) -> str:
    """Text without control characters (PostgreSQL refuses NUL; none of them means anything in an SMS)."""
    return text.translate(_CONTROL)


class Handler:
    """The conversation with one resident, for one inbound message."""

    def __init__(
        self, session: Session, resident: Resident, message: InboundMessage, reply: _Reply, clock: Clock
    ) -> None:
        self.session, self.resident, self.message, self.reply, self.clock = (
            session,
            resident,
            message,
            reply,
            clock,
        )
        self.now = clock.now()
        self.association = session.get_one(Association, resident.association_id)
        self.conversation = self._conversation()

    def _conversation(self) -> Conversation:
        return conversation_of(self.session, self.resident, self.now)

    @staticmethod
    def _reset(conversation: Conversation) -> None:
        conversation.state = ConversationState.IDLE
        conversation.draft, conversation.options = {}, []
        conversation.request_id, conversation.unknown_replies = None, 0

    def send(self, template: str, **context: Any) -> None:
        # ``handle`` answers a resident who sent STOP nothing but the receipt: their opt-out,
        # read in this transaction, need not be read again for each reply.
        self.reply.send(
            self.resident.phone,
            template,
            association_id=self.association.id,
            resident_id=self.resident.id,
            always=True,
            **context,
        )

    def _audit(self, action: str, subject: object, **details: object) -> None:
        """An audit event by this resident, in this association."""
        audit.record(
            self.session,
            f"resident:{self.resident.id}",
            action,
            subject=subject,
            association_id=self.association.id,
            **details,
        )

    # -- dispatch on intent -------------------------------------------------------------

    def handle(self, parsed: ParsedMessage, body: str) -> None:
        self.resident.last_contact_at = self.now
        self.conversation.updated_at = self.now
        if parsed.intent == "stop":
            return self._stop()
        if parsed.intent == "start":
            return self._start()
        if self.resident.sms_opted_out and self.reply.spoken is None:
            return  # STOP is honoured until START: no reply at all (STOP is about SMS, not calls)
        if parsed.intent == "help":
            return self._escalate("help")
        collecting = self.conversation.state is ConversationState.COLLECTING
        if needs_no_way_back(body) and not _has_trip_details(parsed):
            # While a request is being put together, it belongs to that request.
            return self._collect(parsed, body) if collecting else self._one_way()
        if parsed.intent == "cancel":
            return self._cancel(leg_named(body))
        if parsed.intent == "accept" and self._keeps_other_leg():
            return None
        if _asks_way_back(parsed) and not collecting:
            return self._way_back(parsed.return_time or "")
        if self.conversation.state is ConversationState.CHOOSING and parsed.intent in ("accept", "decline"):
            return self._choose(parsed)
        if parsed.intent in ("accept", "decline") and self._answers_feedback(parsed):
            return None
        if parsed.intent == "request" or (
            self.conversation.state is ConversationState.COLLECTING and _has_trip_details(parsed)
        ):
            return self._collect(parsed, body)
        self._not_understood()

    def _stop(self) -> None:
        if self.resident.sms_opted_out:
            return  # one receipt per opt-out: a repeated STOP is not answered
        self.resident.sms_opted_out_at = self.now
        self._reset(self.conversation)
        self._audit("resident.sms_opted_out", self.resident)
        self.send("stop")  # the receipt: the one SMS an opted-out person still gets

    def _start(self) -> None:
        self.resident.sms_opted_out_at = None
        self._audit("resident.sms_opted_in", self.resident)
        self.send("start")

    def _escalate(self, why: str) -> None:
        self.conversation.state = ConversationState.ESCALATED
        self._needs_a_person(AttentionReason.ASKS_CALL if why == "help" else AttentionReason.NOT_UNDERSTOOD)
        self._audit("sms.escalated", self.message, why=why)
        self.send("help", phone=self.association.phone)

    def _needs_a_person(self, reason: AttentionReason) -> None:
        """Listed first on the coordinators' page until one of them marks it done."""
        self.message.needs_attention, self.message.attention_reason = True, reason

    def _not_understood(self) -> None:
        self.conversation.unknown_replies += 1
        if self.conversation.unknown_replies >= UNKNOWN_BEFORE_ESCALATION:
            return self._escalate("not_understood")
        self.send("not_understood")

    # -- after the trip: "Le trajet s'est bien passé ? Répondez 1 oui, 2 non" -------------

    def _answers_feedback(self, parsed: ParsedMessage) -> bool:
        """Record a 1/2/OUI/NON as the answer to a pending feedback question, if there is one."""
        if parsed.intent == "accept" and parsed.choice not in (None, 1, 2):
            return False
        match = feedback.pending_question(self.session, self.resident.id, self.now)
        if match is None:
            return False
        ok = parsed.intent == "accept" and parsed.choice != 2
        feedback.record_answer(self.session, match, ok, self.now, actor=f"resident:{self.resident.id}")
        if not ok:
            self._needs_a_person(AttentionReason.BAD_TRIP)  # a coordinator calls back
        self.send("feedback_thanks" if ok else "feedback_sorry")
        return True

    # -- building a request -------------------------------------------------------------

    def _collect(self, parsed: ParsedMessage, body: str) -> None:
        draft = dict(self.conversation.draft or {})
        for field in (
            "destination",
            "origin",
            "destination_place",
            "arrive_by",
            "depart_after",
            "return_time",
        ):
            if getattr(parsed, field):
                draft[field] = getattr(parsed, field)
        if parsed.date:
            draft["date"] = parsed.date.isoformat()
        if parsed.passengers > 1:
            draft["passengers"] = parsed.passengers
        if parsed.recurrence is not None:
            draft["recurrence"] = parsed.recurrence.to_dict()
        if needs_no_way_back(body):
            draft["one_way"] = True
        draft["text"] = (draft.get("text", "") + " " + body).strip()[-500:]
        self.conversation.draft = draft
        self.conversation.unknown_replies = 0
        question = _missing(draft)
        if question:
            self.conversation.state = ConversationState.COLLECTING
            return self.send(question)
        request = self._create_request(draft)
        if draft.get("recurrence"):
            self._start_series(request, draft)
        self.conversation.draft = {}
        self._offer_options(request)

    def _start_series(self, first: Request, draft: dict[str, Any]) -> None:
        """A series from the first trip ("tous les mardis à 10h"), told back so a misreading shows."""
        from carpool.errors import InvalidInput  # here: series imports this module (request_window)
        from carpool.services import series

        recurrence, latest = draft["recurrence"], first.latest.astimezone(PARIS)
        plan = series.SeriesInput(
            weekdays=tuple(recurrence["weekdays"]),
            every_weeks=recurrence["every_weeks"],
            until=date.fromisoformat(recurrence["until"]) if recurrence.get("until") else None,
            first_day=latest.date(),
            arrive_by=latest.time(),
            depart_after=time.fromisoformat(draft["depart_after"])
            if draft.get("arrive_by") and draft.get("depart_after")
            else None,
            return_at=first.return_at.astimezone(PARIS).time() if first.return_at else None,
        )
        try:
            created = series.create(self.session, first, plan, actor=f"resident:{self.resident.id}")
        except InvalidInput:
            return  # an end before the first trip: the trip alone, as asked for that day
        place = self.session.get(NamedPlace, first.dropoff_place_id) if first.dropoff_place_id else None
        destination = place.name if place else self.session.get_one(Commune, first.dropoff_commune_insee).name
        self.send("series_created", series=series.describe(created), destination=destination)

    def _create_request(self, draft: dict[str, Any]) -> Request:
        day = date.fromisoformat(draft["date"])
        # Reference data only: the conversation's pending changes can wait for the request's flush.
        with self.session.no_autoflush:
            place = None
            if draft.get("destination_place"):
                place = self.session.scalar(
                    sa.select(NamedPlace)
                    .where(
                        NamedPlace.name == draft["destination_place"],
                        sa.or_(
                            NamedPlace.association_id.is_(None),
                            NamedPlace.association_id == self.association.id,
                        ),
                        NamedPlace.archived_at.is_(None),
                    )
                    .limit(1)
                )
            # SMS are read against all France: a commune this database lacks is imported now.
            destination = gazetteer.commune_or_import(self.session, draft["destination"])
            origin_insee = draft.get("origin") or self.resident.home_commune_insee
            origin = gazetteer.commune_or_import(self.session, origin_insee)
        pickup_point = (
            self.resident.home_point
            if origin_insee == self.resident.home_commune_insee and self.resident.home_point is not None
            else origin.point
        )
        earliest, latest = request_window(day, draft.get("arrive_by"), draft.get("depart_after"))
        return_at = _local(day, draft["return_time"]) if draft.get("return_time") else None
        if return_at is not None and (return_at <= latest or draft.get("one_way")):
            return_at = None
        request = Request(
            association_id=self.association.id,
            resident_id=self.resident.id,
            pickup_commune_insee=origin.insee,
            pickup_point=pickup_point,
            dropoff_commune_insee=destination.insee,
            dropoff_point=place.point if place else destination.point,
            dropoff_place_id=place.id if place else None,
            earliest=earliest,
            latest=latest,
            return_at=return_at,
            return_latest=home_by(self.association, return_at),
            one_way=bool(draft.get("one_way")),
            passengers=int(draft.get("passengers", 1)),
            purpose=Purpose(guess_purpose(draft.get("text", ""), place.kind if place else None)),
            source=RequestSource.SMS,
        )
        # Longer than 100 km: stored without a reason, a coordinator writes it (long_trips.waiting_reason).
        long_trips.measure(request, required=False)
        self.session.add(request)
        self.session.flush()
        self._audit("request.created", request, source="sms")
        return request

    def _offer_options(self, request: Request) -> None:
        self.conversation.request_id = request.id
        # The matcher reads offers and drivers, which nothing here changed: the conversation
        # is written once, at the commit, instead of before every query.
        with self.session.no_autoflush:
            options = matching.round_trip_options(self.session, request, self.clock, limit=3)
            if not options:
                request.unmatched_reason = matching.why_unmatched(self.session, request, self.clock)[0]
                self.conversation.state = ConversationState.IDLE
                return self.send("searching", **understood(self.session, request))
            template, context = present_options(self.session, self.conversation, request, options)
        self.send(template, **context)

    # -- choosing, cancelling -------------------------------------------------------------

    def _choose(self, parsed: ParsedMessage) -> None:
        request = (
            self.session.get(Request, self.conversation.request_id) if self.conversation.request_id else None
        )
        options = list(self.conversation.options or [])
        if parsed.intent == "decline" or request is None:
            self.conversation.state, self.conversation.options = ConversationState.IDLE, []
            if request is not None:
                request.unmatched_reason = "declined_by_resident"
            return self.send("declined")
        choice = parsed.choice or 1
        if not 1 <= choice <= len(options) or (parsed.choice is None and len(options) > 1):
            return self._not_understood()
        self._book(request, options[choice - 1])

    def _book(self, request: Request, option: dict[str, Any]) -> None:
        trip = trip_of(option)
        try:
            # Both legs or neither: a way back taken meanwhile undoes the outward booking too.
            with self.session.begin_nested():
                matches = booking_flow.book_round_trip(
                    self.session, request, trip, actor=f"resident:{self.resident.id}", clock=self.clock
                )
        except bookings.BookingError:
            self.conversation.state, self.conversation.options = ConversationState.IDLE, []
            request.unmatched_reason = "taken_by_other_request"
            return self.send("option_gone")
        self.conversation.state, self.conversation.options = ConversationState.IDLE, []
        waiting = [m for m in matches if m.status is MatchStatus.PROPOSED]
        # Confirmations were queued under the matches' keys (one per driver, one for the resident).
        self.reply.count += len(matches) - len(waiting) + (0 if waiting else 1)
        if not waiting:
            return None
        # A volunteer drives on request: they accept first, the resident is told then. One who
        # waits at the appointment is asked once, for both legs.
        asked = []
        for match in waiting:
            if match.driver_id in asked:
                continue
            asked.append(match.driver_id)
            driver = self.session.get_one(Driver, match.driver_id)
            back = next((m for m in waiting if m.leg is Leg.BACK and m.driver_id == driver.id), None)
            self.reply.send(
                driver.phone,
                "driver_new_request",
                association_id=self.association.id,
                passenger=self.resident.first_name,
                pickup_at=match.pickup_at,
                place=booking_flow.pickup_place(self.session, request, match.leg),
                leg=match.leg.value if request.return_at and not request.one_way else None,
                back_at=back.pickup_at if back is not None and back is not match else None,
            )
        names = [self.session.get_one(Driver, i).first_name for i in asked]
        return self.send("waiting_driver", first_name=" et ".join(names))

    def _next_matches(self) -> list[Match]:
        """The resident's trips still to come that a driver holds, soonest first."""
        return list(
            self.session.scalars(
                sa.select(Match)
                .join(Request, Match.request_id == Request.id)
                .where(
                    Request.resident_id == self.resident.id,
                    Match.status.in_(matching.ACTIVE_MATCH),
                    Match.pickup_at > self.now,
                )
                .order_by(Match.pickup_at, Match.id)
            )
        )

    def _cancel(self, leg: str | None = None) -> None:
        """ANNULER cancels the next trip (both legs of a round trip); "annuler le retour" one leg,
        and then the resident is asked about the other one."""
        self.conversation.state, self.conversation.options = ConversationState.IDLE, []
        draft = dict(self.conversation.draft or {})
        kept = draft.pop("other_leg", None)
        self.conversation.draft = draft
        upcoming = self._next_matches()
        if leg is None and kept is not None:
            # "ANNULER" after "on garde l'aller ?": the leg we asked about.
            upcoming = [m for m in upcoming if m.id == kept] or upcoming
            leg = upcoming[0].leg.value if upcoming else None
        if leg is not None:
            chosen = [m for m in upcoming if m.leg.value == leg]
            if chosen:
                return self._cancel_leg(chosen[0], upcoming)
        if upcoming:
            first = upcoming[0]
            both = [m for m in upcoming if m.request_id == first.request_id]
            for match in both:
                self._cancel_match(match)
            out = min(both, key=lambda m: m.pickup_at)
            self.send("cancelled", pickup_at=out.pickup_at)
            return None
        request = self.session.scalar(
            sa.select(Request)
            .where(
                Request.resident_id == self.resident.id,
                Request.status == RequestStatus.OPEN,
                Request.latest > self.now,
            )
            .order_by(Request.latest)
            .limit(1)
        )
        if request is None:
            return self.send("nothing_to_cancel")
        request.status = RequestStatus.CANCELLED
        self._audit("request.cancelled", request)
        return self.send("request_cancelled", day=request.latest)

    def _cancel_match(self, match: Match) -> None:
        bookings.transition(
            self.session,
            match,
            MatchStatus.CANCELLED,
            actor=f"resident:{self.resident.id}",
            clock=self.clock,
            reason="annulé par SMS",
        )
        driver = self.session.get_one(Driver, match.driver_id)
        self.reply.send(
            driver.phone,
            "driver_cancelled",
            association_id=self.association.id,
            passenger=self.resident.first_name,
            pickup_at=match.pickup_at,
        )

    def _cancel_leg(self, match: Match, upcoming: list[Match]) -> None:
        """One leg cancelled; the other one, if booked, is kept until the resident says otherwise."""
        self._cancel_match(match)
        other = next((m for m in upcoming if m.request_id == match.request_id and m.id != match.id), None)
        if other is None:
            return self.send("cancelled", pickup_at=match.pickup_at)
        self.conversation.draft = {**(self.conversation.draft or {}), "other_leg": other.id}
        driver = self.session.get_one(Driver, other.driver_id)
        return self.send(
            "leg_cancelled",
            leg=match.leg.value,
            pickup_at=match.pickup_at,
            other_at=other.pickup_at,
            other_first_name=driver.first_name,
        )

    def _keeps_other_leg(self) -> bool:
        """OUI after "on garde l'aller ?": nothing to change, say so."""
        draft = dict(self.conversation.draft or {})
        kept = draft.pop("other_leg", None)
        if kept is None:
            return False
        self.conversation.draft = draft
        match = self.session.get(Match, kept)
        if match is None or match.status not in matching.ACTIVE_MATCH:
            return False
        self.send("leg_kept", leg=match.leg.value, pickup_at=match.pickup_at)
        return True

    def _next_request(self) -> Request | None:
        """The resident's next appointment still asked for (waiting or with a driver)."""
        return self.session.scalar(
            sa.select(Request)
            .where(
                Request.resident_id == self.resident.id,
                Request.status.in_((RequestStatus.OPEN, RequestStatus.MATCHED)),
                Request.latest > self.now,
            )
            .order_by(Request.latest)
            .limit(1)
        )

    def _one_way(self) -> None:
        """ "Ma fille me ramène": the next appointment goes without a way back (a booked one is freed)."""
        request = (
            self.session.get(Request, self.conversation.request_id) if self.conversation.request_id else None
        )
        if request is None or request.status not in (RequestStatus.OPEN, RequestStatus.MATCHED):
            request = self._next_request()
        if request is None:
            return self._not_understood()
        request.one_way = True
        self._audit("request.one_way", request)
        for match in self._next_matches():
            if match.request_id == request.id and match.leg is Leg.BACK:
                self._cancel_match(match)
        self.send("one_way", day=request.latest)
        if self.conversation.state is ConversationState.CHOOSING:
            with self.session.no_autoflush:
                self._offer_options(request)  # the same drivers, without a way back to find
            return None
        out = next((m for m in self._next_matches() if m.request_id == request.id), None)
        if out is not None and out.status is MatchStatus.CONFIRMED:
            # The outward leg alone is the whole trip now: the resident's confirmation is due.
            self.reply.count += 1
            reminders.enqueue_confirmation(self.session, reminders.booking_of(self.session, out))
        return None

    def _way_back(self, hhmm: str) -> None:
        """ "Et pour le retour ? 17h": a return asked for (or moved) after the trip was requested."""
        request = self._next_request()
        if request is None:
            return self._not_understood()
        return_at = _local(request.latest.astimezone(PARIS).date(), hhmm)
        if return_at <= request.latest:
            return self.send("return_too_early", appointment=request.latest)
        for match in self._next_matches():
            if match.request_id == request.id and match.leg is Leg.BACK:
                self._cancel_match(match)  # a new time: the driver of the old one is told
        request.return_at, request.one_way = return_at, False
        request.return_latest = home_by(self.association, return_at)
        self._audit("request.return_asked", request, return_at=return_at.isoformat())
        self.conversation.unknown_replies = 0
        out = next((m for m in self._next_matches() if m.request_id == request.id), None)
        with self.session.no_autoflush:
            if out is None:
                return self._offer_options(request)  # nothing booked yet: the whole trip again
            self.session.flush()
            options = matching.ride_options(self.session, request, self.clock, limit=2, leg=Leg.BACK)
            if not options:
                self.conversation.state = ConversationState.IDLE
                return self.send("searching", **understood(self.session, request))
            template, context = present_options(self.session, self.conversation, request, options)
        return self.send(template, **context)


def _asks_way_back(parsed: ParsedMessage) -> bool:
    """Only a return time: "et pour le retour ? 17h", "le retour plutôt à 16h30"."""
    return bool(
        parsed.return_time
        and not (parsed.destination or parsed.date or parsed.arrive_by or parsed.depart_after)
    )


def present_options(
    session: Session,
    conversation: Conversation,
    request: Request,
    options: Sequence[matching.RideOption | matching.RoundTripOption],
) -> tuple[str, dict[str, Any]]:
    """Put the conversation in CHOOSING with these options; the SMS to send (template, context).

    One SMS segment where possible: fewer choices (the last ones) rather than a text
    cut in two. Each option is a whole trip (both legs of a round trip) or one leg a coordinator
    proposes. The text restates the day, the destination and the appointment, so a
    wrong reading is caught; an option that arrives after the appointment (a
    near-miss a coordinator proposes) says when it arrives.
    """
    template, context = _present(session, conversation, request, options)
    while len(options) > 1 and segments(render(template, **context)) > 1:
        options = options[:-1]
        template, context = _present(session, conversation, request, options)
    return template, context


def _present(
    session: Session,
    conversation: Conversation,
    request: Request,
    options: Sequence[matching.RideOption | matching.RoundTripOption],
) -> tuple[str, dict[str, Any]]:
    trips = [o if isinstance(o, matching.RoundTripOption) else matching.RoundTripOption(o) for o in options]
    ids = {leg.driver_id for trip in trips for leg in trip.legs}
    drivers = {d.id: d for d in session.scalars(sa.select(Driver).where(Driver.id.in_(ids)))}
    conversation.request_id = request.id
    conversation.options = [_stored(trip) for trip in trips]
    conversation.state = ConversationState.CHOOSING
    names = dict(
        session.execute(
            sa.select(Commune.insee, Commune.name).where(
                Commune.insee.in_((request.pickup_commune_insee, request.dropoff_commune_insee))
            )
        ).all()
    )
    per_leg = participation.quote(session, request)  # None: the association asks nothing
    context = {
        "day": request.latest,
        "appointment": request.latest,
        "origin": names[request.pickup_commune_insee],
        "destination": names[request.dropoff_commune_insee],
        "options": [
            {
                "leg": trip.out.leg.value,
                "first_name": drivers[trip.out.driver_id].first_name,
                "pickup_at": trip.out.pickup_at,
                "arrive_at": (
                    trip.out.dropoff_at
                    if trip.out.leg is Leg.OUT and trip.out.dropoff_at > request.latest
                    else None
                ),
                "back_at": trip.back.pickup_at if trip.back else None,
                "back_first_name": drivers[trip.back.driver_id].first_name if trip.back else None,
                "participation": None if per_leg is None else per_leg * len(trip.legs),
            }
            for trip in trips
        ],
    }
    return "options", context


def understood(session: Session, request: Request) -> dict[str, Any]:
    """What was read from the resident's words (place, day, time, return), to say it back.

    The named place when one was recognised ("Centre hospitalier de Cahors"): a wrong
    reading of "l'hôpital" is caught by the resident, not by the driver.
    """
    place = session.get(NamedPlace, request.dropoff_place_id) if request.dropoff_place_id else None
    commune = session.get_one(Commune, request.dropoff_commune_insee).name
    return {
        "day": request.latest,
        # A very long name would cut the SMS in two: the commune then.
        "destination": place.name if place and len(place.name) <= PLACE_NAME_MAX else commune,
        "appointment": request.latest,
        "return_at": None if request.one_way else request.return_at,
    }


def _leg_dict(option: matching.RideOption) -> dict[str, Any]:
    return {
        "driver_id": option.driver_id,
        "offer_id": option.offer_id,
        "pickup_at": option.pickup_at.isoformat(),
        "dropoff_at": option.dropoff_at.isoformat(),
        "detour_min": option.detour_min,
        "leg": option.leg.value,
    }


def _stored(trip: matching.RoundTripOption) -> dict[str, Any]:
    """An option as the conversation keeps it: its first leg, and the way back under "back"."""
    stored = _leg_dict(trip.out)
    if trip.back is not None:
        stored["back"] = _leg_dict(trip.back)
    return stored


def _leg_of(stored: dict[str, Any]) -> matching.RideOption:
    return matching.RideOption(
        driver_id=stored["driver_id"],
        offer_id=stored["offer_id"],
        pickup_at=datetime.fromisoformat(stored["pickup_at"]),
        dropoff_at=datetime.fromisoformat(stored["dropoff_at"]),
        detour_min=stored["detour_min"],
        leg=Leg(stored.get("leg", "out")),  # options stored before round trips have no leg
    )


def trip_of(stored: dict[str, Any]) -> matching.RoundTripOption:
    return matching.RoundTripOption(_leg_of(stored), _leg_of(stored["back"]) if stored.get("back") else None)


def conversation_of(session: Session, resident: Resident, now: datetime) -> Conversation:
    """The resident's conversation, created idle when they have none (or it expired)."""
    conversation = session.scalar(
        sa.select(Conversation).where(
            Conversation.association_id == resident.association_id, Conversation.phone == resident.phone
        )
    )
    if conversation is None:
        conversation = Conversation(
            association_id=resident.association_id,
            phone=resident.phone,
            state=ConversationState.IDLE,
            draft={},
            options=[],
            unknown_replies=0,
            updated_at=now,
        )
        session.add(conversation)
    elif now - conversation.updated_at > CONVERSATION_TTL:
        Handler._reset(conversation)
    return conversation


def _has_trip_details(parsed: ParsedMessage) -> bool:
    return bool(parsed.destination or parsed.date or parsed.arrive_by or parsed.depart_after)


def _missing(draft: dict[str, Any]) -> str | None:
    """The next question to ask, one at a time, most important first."""
    if not draft.get("destination"):
        return "ask_destination"
    if not draft.get("date"):
        return "ask_date"
    if not draft.get("arrive_by") and not draft.get("depart_after"):
        return "ask_time"
    return None


def _local(day: date, hhmm: str) -> datetime:
    return datetime.combine(day, time.fromisoformat(hhmm), tzinfo=PARIS)


def request_window(day: date, arrive_by: str | None, depart_after: str | None) -> tuple[datetime, datetime]:
    """From an appointment time (arrive by) and/or a departure wish, the pickup-to-dropoff window."""
    if arrive_by:
        latest = _local(day, arrive_by)
        earliest = _local(day, depart_after) if depart_after else latest - PICKUP_WINDOW
        if earliest >= latest:
            earliest = latest - PICKUP_WINDOW
        return earliest, latest
    assert depart_after is not None
    earliest = _local(day, depart_after)
    return earliest, earliest + PICKUP_WINDOW


def home_by(association: Association, return_at: datetime | None) -> datetime | None:
    """Home no later than the association's return window after the time to come back."""
    if return_at is None:
        return None
    return return_at + timedelta(minutes=association.return_window_min)


@dataclass(frozen=True)
class BudgetAlert:
    """A reply budget reached: automatic replies stopped until ``until`` (shown to coordinators)."""

    at: datetime
    scope: str  # "number" or "global"
    until: datetime
    phone: str | None  # masked
    kind: str = "sms"  # "call": the dispatcher's call budget held calls back until ``until``


def budget_alerts(session: Session, association_id: int, since: datetime) -> list[BudgetAlert]:
    """The association's SMS and call budget events (``*_budget_reached``) since ``since``, newest first."""
    events = session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.action.in_((BUDGET_REACHED, CALL_BUDGET_REACHED)),
            AuditEvent.association_id == association_id,
            AuditEvent.at >= since,
        )
        .order_by(AuditEvent.at.desc())
        .limit(20)
    )
    return [
        BudgetAlert(
            at=event.at,
            scope=str(event.details.get("scope", "")),
            until=datetime.fromisoformat(str(event.details["until"])),
            phone=event.details.get("phone"),
            kind="sms" if event.action == BUDGET_REACHED else "call",
        )
        for event in events
    ]
