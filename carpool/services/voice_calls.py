"""Calls placed to residents: what a call says, what the keypad answer does, what a silence costs.

The dispatcher places the call (carpool/notify/dispatcher.py); Twilio then asks
``/voice/outbound/<id>`` what to say, posts the keypad or spoken answer, and finally
the call's status. Each of these finds its outbox row by id and checks the CallSid
against the one recorded: a forged or replayed request for another call changes
nothing. A "oui"/"non" goes through the same conversation as an SMS OUI/NON
(``sms_inbound.handle_inbound``), once per call (``call:<CallSid>``).

A proposal of several options is read one option at a time (``voice_options``): 1 takes
the option just read (the SMS "k"), 2 goes to the next one, and after the last declines
them all (the SMS NON). The option read is in the Gather's URL with the proposal's digest:
a late press for a proposal that changed books nothing.
"""

from __future__ import annotations

import enum
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import Clock
from carpool.errors import InvalidInput
from carpool.models.messages import InboundMessage, OutboundMessage, OutboundStatus
from carpool.models.people import Association, Resident
from carpool.notify import calls
from carpool.notify.budget import ReplyLimits
from carpool.notify.dispatcher import attach_sid
from carpool.notify.outbox import enqueue
from carpool.services import sms_inbound, voice_options
from carpool.services.voice_options import OptionRef, Proposal
from carpool.text import fold, normalise_phone

log = logging.getLogger(__name__)


class Question(enum.Enum):
    """What a yes or a no answers, by the notice's key."""

    PROPOSAL = "proposal"  # request:<id>:proposal:<n>, request:<id>:series-proposal, request:<id>:reoptimised
    FEEDBACK = "feedback"  # match:<id>:feedback


class Choice(enum.Enum):
    YES = "1"
    NO = "2"
    REPEAT = "9"
    PERSON = "0"


@dataclass(frozen=True)
class CallNotice:
    """What one call says; ``machine`` when an answering machine picked up."""

    outbox_id: int
    text: str
    question: Question | None
    association: str
    association_phone: str | None  # E.164, for <Dial>; None when the association has none
    machine: bool = False
    #: A proposal still waiting for the resident's choice: its options are read one by one.
    proposal: Proposal | None = None

    def several(self) -> bool:
        return self.proposal is not None and self.proposal.count > 1


def request_of(key: str) -> int | None:
    """The request a proposal's notice is about (``request:<id>:proposal:<n>``)."""
    found = re.match(r"request:(\d+):", key)
    return int(found.group(1)) if found else None


#: The notices that propose options: a coordinator's, a series occurrence's, the nightly batch's.
_PROPOSAL_KEY = re.compile(r"^request:\d+:(proposal:|series-proposal(:|$)|reoptimised(:|$))")


def question_of(key: str) -> Question | None:
    if _PROPOSAL_KEY.match(key):
        return Question.PROPOSAL
    if re.search(r":feedback(:|$)", key):
        return Question.FEEDBACK
    return None


#: SMS instructions that make no sense on the phone: the call's menu replaces them.
_SMS_ONLY = (
    re.compile(r"\s*OUI ou NON \?"),
    re.compile(r"\s*R[ée]pondez [^.]*(\.|$)"),
    re.compile(r"\s*ANNULER pour annuler\."),
)
_SPOKEN_WORDS = ((re.compile(r"\brdv\b"), "rendez-vous"),)


def spoken(body: str) -> str:
    """An SMS text as it is said on the phone: without its SMS instructions, abbreviations written out."""
    text = body
    for pattern in _SMS_ONLY:
        text = pattern.sub("", text)
    for pattern, words in _SPOKEN_WORDS:
        text = pattern.sub(words, text)
    return " ".join(text.split())


def choice_of(digits: str, speech: str) -> Choice | None:
    """The keypad first; else French words ("oui", "non", "répéter", "une personne")."""
    key = digits.strip()[:1]
    if key:
        return next((choice for choice in Choice if choice.value == key), None)
    words = set(fold(speech[:200]).split())
    for choice, said in (
        (Choice.REPEAT, {"repeter", "repetez", "repete", "encore"}),
        (Choice.PERSON, {"personne", "quelqu", "conseiller", "coordinateur", "humain"}),
        (Choice.NO, {"non"}),
        (Choice.YES, {"oui", "ouais", "d accord", "accord"}),
    ):
        if words & said:
            return choice
    return None


def _call_row(session: Session, outbox_id: int, call_sid: str) -> OutboundMessage | None:
    """The call's row, locked, when ``call_sid`` is this row's call; None otherwise (nothing changes)."""
    if not call_sid:
        return None
    row = session.get(OutboundMessage, outbox_id, with_for_update=True)
    if row is None or row.channel != "voice":
        return None
    if row.provider_sid not in (None, call_sid):
        log.warning("appel %s : CallSid inattendu, requête ignorée", outbox_id)
        return None
    return row


def notice_for_call(
    session: Session, outbox_id: int, call_sid: str, answered_by: str, now: datetime
) -> CallNotice | None:
    """What to say in the call ``call_sid`` for outbox row ``outbox_id``; records who picked up."""
    row = _call_row(session, outbox_id, call_sid)
    if row is None or row.body is None:
        return None
    attach_sid(session, row, call_sid, now)
    if answered_by:
        row.answered_by = answered_by[:20]
    association = session.get(Association, row.association_id) if row.association_id else None
    question = question_of(row.idempotency_key)
    return CallNotice(
        outbox_id=row.id,
        text=spoken(row.body),
        question=question,
        association=association.name if association else "l'association",
        association_phone=_dialable(association.phone if association else None),
        machine=answered_by in calls.MACHINE,
        proposal=_proposal(session, row, now) if question is Question.PROPOSAL else None,
    )


def _proposal(session: Session, row: OutboundMessage, now: datetime) -> Proposal | None:
    """The options of this notice's request the resident is still choosing between, if any."""
    request_id = request_of(row.idempotency_key)
    if row.resident_id is None or request_id is None:
        return None
    resident = session.get_one(Resident, row.resident_id)
    return voice_options.pending(session, resident, now, request_id=request_id)


def _dialable(phone: str | None) -> str | None:
    try:
        return normalise_phone(phone or "")
    except InvalidInput:
        return None


def answer(
    session: Session,
    outbox_id: int,
    call_sid: str,
    choice: Choice,
    *,
    clock: Clock,
    limits: ReplyLimits | None = None,
    option: OptionRef | None = None,
) -> tuple[str, ...] | None:
    """Apply a yes or a no given during the call, like the same word by SMS; what to say back.

    None when the request is not this call's (unknown row, other CallSid). An answer
    to a notice that asks nothing is thanked and changes nothing. A second answer in
    the same call (a replay, or pressing again) changes nothing either. ``option``: the
    option read when the key was pressed; yes takes it (the SMS "k"), no declines all; when
    that proposal is no longer the one waiting, nothing is booked and the caller is told.
    """
    row = _call_row(session, outbox_id, call_sid)
    if row is None or row.resident_id is None:
        return None
    question = question_of(row.idempotency_key)
    if question is None or choice not in (Choice.YES, Choice.NO):
        return ("Merci, c'est noté. Au revoir.",)
    resident = session.get_one(Resident, row.resident_id)
    message_sid = f"call:{call_sid}"[:64]
    body = "OUI" if choice is Choice.YES else "NON"
    if option is not None:
        if answered_in_call(session, call_sid):
            return ALREADY_ANSWERED
        proposal = _proposal(session, row, clock.now())
        if proposal is None or not voice_options.still_offered(proposal, option):
            return (voice_options.STALE, "Au revoir.")
        body = voice_options.sms_word(option, proposal.count, accept=choice is Choice.YES, single_yes="OUI")
    outcome = sms_inbound.handle_inbound(
        session,
        message_sid=message_sid,
        from_phone=resident.phone,
        to_phone="",
        body=body,
        clock=clock,
        limits=limits,
        by_voice=True,
    )
    if outcome.duplicate:
        return ALREADY_ANSWERED
    said = tuple(spoken(text) for text in outcome.spoken)
    return (*(said or ("Merci, votre réponse est enregistrée.",)), "Au revoir.")


ALREADY_ANSWERED = ("Votre réponse est déjà enregistrée. Merci, au revoir.",)


def answered_in_call(session: Session, call_sid: str) -> bool:
    """Whether this call already answered (its one inbound "message" exists)."""
    message_sid = f"call:{call_sid}"[:64]
    found = session.scalar(sa.select(InboundMessage.id).where(InboundMessage.message_sid == message_sid))
    return found is not None


def call_ended(
    session: Session,
    outbox_id: int,
    call_sid: str,
    call_status: str,
    answered_by: str,
    now: datetime,
    *,
    retry_minutes: int = 20,
) -> OutboundMessage | None:
    """Apply Twilio's final status of a call: delivered, or called again, or shown to coordinators.

    Not reached (no answer, busy, failed, an answering machine): called again ``calls.RETRIES``
    times, ``retry_minutes`` apart within the hours calls may ring, and never after the trip;
    then the row fails and the coordinators' first page lists it. A replayed status changes nothing.
    """
    row = _call_row(session, outbox_id, call_sid)
    if row is None or not call_status:
        return None
    attach_sid(session, row, call_sid, now)
    if row.call_status in calls.FINAL:
        return row  # already settled: a replay
    row.call_status = call_status[:20]
    if answered_by:
        row.answered_by = answered_by[:20]
    machine = (row.answered_by or "") in calls.MACHINE
    if call_status == "completed" and not machine:
        row.status = OutboundStatus.DELIVERED
        return row
    if call_status not in calls.FINAL:
        return row  # ringing, in-progress…: not final
    _not_reached(session, row, now, retry_minutes, "machine" if machine else call_status)
    return row


#: How coordinators read why a call did not reach the person.
NOT_REACHED_LABELS = {
    "no-answer": "pas de réponse",
    "busy": "occupé",
    "failed": "numéro injoignable",
    "canceled": "appel annulé",
    "machine": "répondeur",
}


def _not_reached(session: Session, row: OutboundMessage, now: datetime, retry_minutes: int, why: str) -> None:
    done = calls.retry_number(row.idempotency_key)
    when = calls.next_ring(now + timedelta(minutes=retry_minutes), row.trip_at)
    if done < calls.RETRIES and row.body is not None and (row.trip_at is None or when < row.trip_at):
        row.error_code = why[:20]
        row.error_message = f"appel non abouti ({NOT_REACHED_LABELS.get(why, why)}), rappel prévu"
        enqueue(
            session,
            calls.retry_key(row.idempotency_key, done + 1),
            row.to_phone,
            row.body,
            association_id=row.association_id,
            resident_id=row.resident_id,
            not_before=when,
            respect_opt_out=False,
            channel="voice",
            trip_at=row.trip_at,
        )
        return
    row.status = OutboundStatus.FAILED
    row.error_code = why[:20]
    label = NOT_REACHED_LABELS.get(why, why)
    row.error_message = (
        f"appel sans réponse après {done + 1} essai{'s' if done else ''} ({label}) : à rappeler"
    )
