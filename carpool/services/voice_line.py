"""Calls to the association's number: who calls, what the keypad menu offers, what each key does.

Every step answers TwiML (built in ``carpool.notify.voice_menu``) and changes at most
a few rows; the web boundary commits. A call is one ``VoiceCall`` row (its CallSid
unique): a webhook Twilio retries greets again and counts nothing twice.

    resident   1 next trips · 2 the pending proposal, one option at a time
               (1 this one / 2 the next, after the last none / 9 again / 3 a person)
               · 3 a person · 4 today's driver
    driver     1 today's passenger · 3 a person
    unknown    3 a person
    everyone   9 repeat; no usable answer twice → goodbye

"A person" is the on-duty coordinator's phone within the office hours (Réglages),
else, or when nobody answers, a voice message listed on the coordinators' first page.
A ``<Dial>`` always shows the association's number: nobody's own number is exposed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS, Clock
from carpool.db import dialect_of, insert_or_ignore
from carpool.models import (
    Association,
    Commune,
    Conversation,
    Driver,
    InboundMessage,
    Leg,
    Match,
    MatchStatus,
    Request,
    Resident,
    VettingStatus,
    VoiceCall,
    VoiceMessage,
)
from carpool.notify import voice_menu
from carpool.notify.budget import Verdict, hour_window, number_key, take
from carpool.notify.privacy import mask
from carpool.services import audit, matching, sms_inbound, voice_options
from carpool.services.association_settings import in_office_hours
from carpool.services.associations import sender_and_association
from carpool.services.voice_options import OptionRef, Proposal
from carpool.text import french_number

log = logging.getLogger(__name__)
#: A second menu without a usable answer ends the call politely.
MISSES_BEFORE_GOODBYE = 2
#: Voice messages kept from one number in an hour; more calls are told theirs arrived.
MESSAGES_PER_NUMBER_HOUR = 2
#: Trips told on the phone (the next ones; the rest is for a coordinator).
TRIPS_TOLD = 3
BOOKED = (MatchStatus.ACCEPTED, MatchStatus.CONFIRMED)
CALLS_LIMITED = "voice_calls_limited"

GOODBYE = "Merci de votre appel. Au revoir."
NOT_UNDERSTOOD = "Je n'ai pas compris votre choix."
KEYS = {
    "trips": "Pour entendre vos prochains trajets, tapez 1.",
    "proposal": "Pour répondre à la proposition de trajet, tapez 2.",
    "person": "Pour parler à une personne, tapez 3.",
    "driver": "Pour joindre votre conducteur d'aujourd'hui, tapez 4.",
    "passenger": "Pour joindre votre passager d'aujourd'hui, tapez 1.",
    "repeat": "Pour réécouter, tapez 9.",
}


@dataclass(frozen=True)
class Urls:
    """Where Twilio posts each next step (absolute or relative to the webhook)."""

    menu: str
    proposal: str
    dial_end: str
    recorded: str
    recording_status: str


def normalised(phone: str) -> str:
    """A caller's number as stored (E.164); a foreign or odd one is kept as sent."""
    return french_number(phone) or phone.strip()[:16]


# --- a call comes in -------------------------------------------------------------------------


def answer(
    session: Session,
    *,
    call_sid: str,
    from_phone: str,
    to_phone: str,
    clock: Clock,
    urls: Urls,
    calls_per_hour: int,
) -> str:
    """The first answer to a call: greeting and menu, or goodbye past the caller's hourly budget."""
    caller = normalised(from_phone)
    _, association = sender_and_association(session, caller, to_phone)  # routed as the SMS are
    if association is None:
        return voice_menu.goodbye("Ce numéro n'est pas encore en service. Au revoir.")
    resident = session.scalar(
        sa.select(Resident).where(
            Resident.association_id == association.id, Resident.phone == caller, Resident.erased_at.is_(None)
        )
    )
    driver = None
    if resident is None:
        driver = session.scalar(
            sa.select(Driver)
            .where(
                Driver.association_id == association.id,
                Driver.phone == caller,
                Driver.vetting == VettingStatus.VETTED,
            )
            .limit(1)
        )
    call = session.scalars(
        insert_or_ignore(dialect_of(session), VoiceCall, "call_sid")
        .values(
            call_sid=call_sid,
            association_id=association.id,
            resident_id=resident.id if resident else None,
            driver_id=driver.id if driver else None,
            from_phone=caller,
            # The association's number, shown to whoever a <Dial> rings: the one called, else its own.
            to_phone=french_number(to_phone)
            or french_number(association.phone or "")
            or french_number(association.sms_number or "")
            or normalised(to_phone),
            misses=0,
            throttled=False,
            created_at=clock.now(),
        )
        .returning(VoiceCall)
    ).one_or_none()
    if call is None:  # Twilio retried the webhook: the same call, greeted again, counted once
        call = session.scalars(sa.select(VoiceCall).where(VoiceCall.call_sid == call_sid)).one()
    elif not _within_budget(session, call, association, calls_per_hour, clock.now()):
        call.throttled = True
    if call.throttled:
        return voice_menu.goodbye(
            "Vous avez déjà appelé plusieurs fois dans l'heure. "
            "Merci de rappeler un peu plus tard. Au revoir."
        )
    return _menu(
        session, call, association, clock.now(), urls, before=[_greeting(association, resident, driver)]
    )


def _within_budget(
    session: Session, call: VoiceCall, association: Association, limit: int, now: datetime
) -> bool:
    """The caller's hourly budget of calls; the first call over it leaves one event for coordinators."""
    verdict = take(session, number_key("call", call.from_phone), limit, hour_window(now))
    if verdict is Verdict.REACHED:
        log.warning("Appels limités pour %s (%s/h)", mask(call.from_phone), limit)
        audit.record(
            session,
            "system",
            CALLS_LIMITED,
            subject=call,
            association_id=association.id,
            phone=mask(call.from_phone),
            limit=limit,
        )
    return verdict is Verdict.GRANTED


def _greeting(association: Association, resident: Resident | None, driver: Driver | None) -> str:
    if resident is not None:
        name = resident.first_name.strip() or f"Madame, Monsieur {resident.last_name}".strip()
        return f"Bonjour {name}. Vous êtes bien chez {association.name}."
    if driver is not None:
        return f"Bonjour {driver.first_name}. Vous êtes bien chez {association.name}."
    return (
        f"Bonjour, vous êtes bien chez {association.name}, le transport solidaire : "
        "des bénévoles conduisent à leurs rendez-vous les habitants qui n'ont pas de voiture."
    )


def _choices(session: Session, call: VoiceCall, now: datetime) -> dict[str, str]:
    """Key → what it does, for this caller now (in the order they are said)."""
    if call.resident_id is not None:
        resident = session.get_one(Resident, call.resident_id)
        keys = {"1": "trips"}
        if pending_proposal(session, resident, now) is not None:
            keys["2"] = "proposal"
        keys["3"] = "person"
        if today_contact(session, call, now) is not None:
            keys["4"] = "driver"
    elif call.driver_id is not None:
        keys = {"1": "passenger"} if today_contact(session, call, now) is not None else {}
        keys["3"] = "person"
    else:
        keys = {"3": "person"}
    keys["9"] = "repeat"
    return keys


def _menu(
    session: Session,
    call: VoiceCall,
    association: Association,
    now: datetime,
    urls: Urls,
    *,
    before: list[str] | None = None,
) -> str:
    lines = [KEYS[what] for what in _choices(session, call, now).values()]
    return voice_menu.menu(lines, action=urls.menu, before=before or [])


# --- the caller chose ------------------------------------------------------------------------


def choose(session: Session, *, call_sid: str, digits: str, speech: str, clock: Clock, urls: Urls) -> str:
    """What a key (or a word) of the main menu does; an unknown call only hears goodbye."""
    call = _live_call(session, call_sid)
    if call is None:
        return voice_menu.goodbye(GOODBYE)
    association = session.get_one(Association, call.association_id)
    now = clock.now()
    choices = _choices(session, call, now)
    what = choices.get(voice_menu.choice_of(digits, speech) or "")
    if what is None:
        return _missed(session, call, association, now, urls)
    call.misses = 0
    if what == "repeat":
        return _menu(session, call, association, now, urls)
    if what == "trips":
        told = next_trips(session, session.get_one(Resident, call.resident_id), now)
        return _menu(session, call, association, now, urls, before=told)
    if what == "proposal":
        return _open_proposal(session, call, now, urls)
    if what == "person":
        return to_a_person(session, call, association, now, urls)
    contact = today_contact(session, call, now)
    if contact is None:  # the trip ended between two keys
        return _menu(session, call, association, now, urls, before=["Il n'y a plus de trajet aujourd'hui."])
    who = "votre conducteur" if what == "driver" else "votre passager"
    audit.record(session, "voice", "voice.connected", subject=call, association_id=association.id, to=what)
    return voice_menu.connect(
        f"Nous appelons {who}. Son numéro et le vôtre restent masqués. Merci de patienter.",
        contact,
        caller_id=call.to_phone,
        action=urls.dial_end,
    )


def _live_call(session: Session, call_sid: str) -> VoiceCall | None:
    call = session.scalar(sa.select(VoiceCall).where(VoiceCall.call_sid == call_sid[:64]))
    return None if call is None or call.throttled else call


def _missed(session: Session, call: VoiceCall, association: Association, now: datetime, urls: Urls) -> str:
    """Silence or an unknown key: the menu once more, then a polite goodbye."""
    call.misses += 1
    if call.misses >= MISSES_BEFORE_GOODBYE:
        return voice_menu.goodbye(
            "Je n'ai pas compris votre choix. Vous pouvez rappeler quand vous voulez. Au revoir."
        )
    return _menu(session, call, association, now, urls, before=[NOT_UNDERSTOOD])


# --- 1: the resident's next trips --------------------------------------------------------------


def next_trips(session: Session, resident: Resident, now: datetime) -> list[str]:
    """The next trips a driver holds, said one by one in Paris time ("mardi 24 novembre à 9 heures 20…")."""
    rows = session.execute(
        sa.select(Match, Request, Driver.first_name)
        .join(Request, Match.request_id == Request.id)
        .join(Driver, Driver.id == Match.driver_id)
        .where(
            Request.resident_id == resident.id,
            Match.status.in_(matching.ACTIVE_MATCH),
            Match.pickup_at > now,
        )
        .order_by(Match.pickup_at, Match.id)
        .limit(TRIPS_TOLD)
    ).all()
    if not rows:
        return ["Vous n'avez pas de trajet prévu pour le moment."]
    told = []
    for match, request, first_name in rows:
        when = voice_menu.spoken_when(match.pickup_at)
        if match.leg is Leg.BACK:
            place = _commune(session, request.dropoff_commune_insee)
            text = f"{when}, {first_name} vous ramène de {place}, pour le retour."
        else:
            place = _commune(session, request.dropoff_commune_insee)
            text = f"{when}, {first_name} vous prend pour aller à {place}."
        if match.status is MatchStatus.PROPOSED:
            text += " Le conducteur doit encore confirmer."
        told.append(text[0].upper() + text[1:])
    return told


def _commune(session: Session, insee: str) -> str:
    return session.get_one(Commune, insee).name


# --- 2: the pending proposal ---------------------------------------------------------------------


def pending_proposal(session: Session, resident: Resident, now: datetime) -> Proposal | None:
    """The proposal the resident is choosing from, by SMS conversation (read only: nothing is created).

    None after STOP: the SMS path the answer goes through does nothing for an opted-out number.
    """
    if resident.sms_opted_out:
        return None
    return voice_options.pending(session, resident, now)


def _option_url(urls: Urls, ref: OptionRef) -> str:
    """The proposal step's URL with the option read, so a late key applies to that option only."""
    return f"{urls.proposal}?{urlencode({'option': ref.number, 'proposition': ref.digest})}"


def _proposal_menu(
    session: Session, proposal: Proposal, urls: Urls, *, number: int = 1, before: list[str] | None = None
) -> str:
    """Option ``number`` said whole, then its keys: 1 takes it, 2 the next one (or none), 9, 3."""
    said = list(before or [])
    if number == 1 and not before:
        if proposal.count > 1:
            said.append(voice_options.introduction(session, proposal))
        else:
            said.append("Voici la proposition.")
    said.append(voice_options.option_text(session, proposal, number))
    keys = voice_options.keys_said(number, proposal.count, repeat_key="9", person=KEYS["person"])
    ref = OptionRef(number, proposal.digest)
    return voice_menu.menu([keys], action=_option_url(urls, ref), before=said)


def _open_proposal(session: Session, call: VoiceCall, now: datetime, urls: Urls) -> str:
    resident = session.get_one(Resident, call.resident_id)
    proposal = pending_proposal(session, resident, now)
    assert proposal is not None  # offered only when there is one
    return _proposal_menu(session, proposal, urls)


def answer_proposal(
    session: Session,
    *,
    call_sid: str,
    digits: str,
    speech: str,
    clock: Clock,
    urls: Urls,
    option: OptionRef | None = None,
) -> str:
    """1 takes the option read, 2 the next one (after the last: none), 9 repeats, 3 a person.

    The answer goes through the very path of an SMS answer ("k", or NON), once per call: a key
    pressed again, or late, hears what was done and changes nothing. A key for a proposal
    that changed meanwhile (answered by SMS, replaced) books nothing and is told so.
    """
    call = _live_call(session, call_sid)
    if call is None or call.resident_id is None:
        return voice_menu.goodbye(GOODBYE)
    association = session.get_one(Association, call.association_id)
    resident = session.get_one(Resident, call.resident_id)
    now = clock.now()
    key = voice_menu.choice_of(digits, speech)
    if key == "3":
        call.misses = 0
        return to_a_person(session, call, association, now, urls)
    answered = _answer_of_call(session, call)
    if answered is not None:  # pressed again or late: what was done, nothing more
        request_id = _answered_request(session, call)
        if request_id is not None:
            accepted = (answered.body or "").strip().upper() != "NON"
            return voice_menu.goodbye(_outcome(session, request_id, accepted=accepted), GOODBYE)
    proposal = pending_proposal(session, resident, now)
    if option is None and proposal is not None:
        return _proposal_menu(session, proposal, urls)  # a URL without its option: read from the start
    if option is None or not voice_options.still_offered(proposal, option):
        call.misses = 0
        return _menu(session, call, association, now, urls, before=[voice_options.STALE])
    assert proposal is not None
    if key == "9":
        call.misses = 0
        return _proposal_menu(session, proposal, urls, number=option.number, before=["Je répète."])
    if key == "2" and option.number < proposal.count:
        call.misses = 0
        return _proposal_menu(session, proposal, urls, number=option.number + 1, before=[])
    if key not in ("1", "2"):
        call.misses += 1
        if call.misses >= MISSES_BEFORE_GOODBYE:
            return voice_menu.goodbye(
                "Je n'ai pas compris votre choix. Vous pouvez rappeler quand vous voulez. Au revoir."
            )
        return _proposal_menu(session, proposal, urls, number=option.number, before=[NOT_UNDERSTOOD])
    # The keypad answer is an inbound "message" keyed by the call: pressed twice, applied once.
    sms_inbound.handle_inbound(
        session,
        message_sid=_answer_sid(call),
        from_phone=resident.phone,
        to_phone=call.to_phone,
        body=voice_options.sms_word(option, proposal.count, accept=key == "1"),
        clock=clock,
    )
    return voice_menu.goodbye(_outcome(session, proposal.request_id, accepted=key == "1"), GOODBYE)


def _answer_sid(call: VoiceCall) -> str:
    return f"{call.call_sid}:proposition"[:64]


def _answer_of_call(session: Session, call: VoiceCall) -> InboundMessage | None:
    """The answer this call gave already, if any (one per call)."""
    return session.scalar(sa.select(InboundMessage).where(InboundMessage.message_sid == _answer_sid(call)))


def _answered_request(session: Session, call: VoiceCall) -> int | None:
    """The request answered earlier in this call (a repeated key hears the same outcome)."""
    message = _answer_of_call(session, call)
    if message is None:
        return None
    conversation = session.scalar(sa.select(Conversation).where(Conversation.phone == message.from_phone))
    return conversation.request_id if conversation else None


def _outcome(session: Session, request_id: int, *, accepted: bool) -> str:
    """What the resident's answer did, in a sentence."""
    if not accepted:
        return "C'est noté : vous refusez cette proposition. Un coordinateur cherche une autre solution."
    matches = list(
        session.scalars(
            sa.select(Match)
            .where(Match.request_id == request_id, Match.status.in_(matching.ACTIVE_MATCH))
            .order_by(Match.pickup_at)
        )
    )
    if matches and all(m.status is MatchStatus.CONFIRMED for m in matches):
        first = matches[0]
        name = session.get_one(Driver, first.driver_id).first_name
        when = voice_menu.spoken_when(first.pickup_at)
        return f"C'est confirmé : {name} passe vous prendre {when}. Nous vous le rappellerons la veille."
    if matches:
        return "Merci. Le conducteur doit encore accepter : nous vous prévenons dès qu'il a répondu."
    return "Désolé, cette place vient d'être prise. Un coordinateur va chercher une autre solution."


# --- 3: a person ---------------------------------------------------------------------------------


def to_a_person(
    session: Session, call: VoiceCall, association: Association, now: datetime, urls: Urls
) -> str:
    """The on-duty coordinator within the office hours; otherwise a voice message (a few per hour)."""
    if association.on_duty_phone and in_office_hours(association, now):
        audit.record(
            session, "voice", "voice.connected", subject=call, association_id=association.id, to="on_duty"
        )
        return voice_menu.connect(
            "Nous vous passons un coordinateur. Merci de patienter.",
            association.on_duty_phone,
            caller_id=call.to_phone,
            action=urls.dial_end,
        )
    return _voicemail(session, call, urls, "Nos bureaux sont fermés pour le moment.")


def _voicemail(session: Session, call: VoiceCall, urls: Urls, why: str) -> str:
    if _messages_this_hour(session, call) >= MESSAGES_PER_NUMBER_HOUR:
        return voice_menu.goodbye(
            "Votre message est bien arrivé : un coordinateur vous rappellera dès que possible. Au revoir."
        )
    return voice_menu.record(
        f"{why} Après le bip, dites votre nom et votre message, en deux minutes au plus, puis raccrochez. "
        "Nous vous rappellerons.",
        action=urls.recorded,
        status_callback=urls.recording_status,
    )


def _messages_this_hour(session: Session, call: VoiceCall) -> int:
    since = call.created_at - timedelta(hours=1)
    return (
        session.scalar(
            sa.select(sa.func.count())
            .select_from(VoiceMessage)
            .where(VoiceMessage.from_phone == call.from_phone, VoiceMessage.created_at >= since)
        )
        or 0
    )


def dial_ended(session: Session, *, call_sid: str, status: str, urls: Urls) -> str:
    """After a ``<Dial>``: a finished conversation ends the call; no answer leads to a voice message."""
    call = _live_call(session, call_sid)
    if call is None or status == "completed":
        return voice_menu.goodbye(GOODBYE)
    return _voicemail(session, call, urls, "Personne n'a pu répondre.")


def recorded() -> str:
    return voice_menu.goodbye("Merci, votre message est enregistré. Nous vous rappellerons. Au revoir.")


def store_recording(
    session: Session, *, call_sid: str, recording_sid: str, duration_s: int, status: str, clock: Clock
) -> VoiceMessage | None:
    """Keep a finished recording of a known call, once (a replayed callback changes nothing)."""
    call = _live_call(session, call_sid)
    if call is None or status != "completed" or not recording_sid:
        return None
    if _messages_this_hour(session, call) >= MESSAGES_PER_NUMBER_HOUR:
        return None
    message = session.scalars(
        insert_or_ignore(dialect_of(session), VoiceMessage, "call_sid")
        .values(
            association_id=call.association_id,
            call_sid=call.call_sid,
            recording_sid=recording_sid[:64],
            duration_s=max(0, min(duration_s, 3600)),
            resident_id=call.resident_id,
            from_phone=call.from_phone,
            created_at=clock.now(),
        )
        .returning(VoiceMessage)
    ).one_or_none()
    if message is not None:
        audit.record(
            session, "voice", "voice.message_left", subject=message, association_id=call.association_id
        )
    return message


# --- 1 (driver) and 4 (resident): today's other person ------------------------------------------


def today_contact(session: Session, call: VoiceCall, now: datetime) -> str | None:
    """The number of today's passenger (for a driver) or driver (for a resident), nearest trip first."""
    local = now.astimezone(PARIS)
    start = datetime.combine(local.date(), time(0), tzinfo=PARIS)
    end = start + timedelta(days=1)
    query = (
        sa.select(Match.pickup_at, Resident.phone, Driver.phone)
        .join(Request, Match.request_id == Request.id)
        .join(Resident, Resident.id == Request.resident_id)
        .join(Driver, Driver.id == Match.driver_id)
        .where(
            Match.status.in_(BOOKED),
            Match.pickup_at >= start,
            Match.pickup_at < end,
            Request.association_id == call.association_id,
        )
    )
    if call.driver_id is not None:
        query = query.where(Match.driver_id == call.driver_id)
    elif call.resident_id is not None:
        query = query.where(Request.resident_id == call.resident_id)
    else:
        return None
    rows = session.execute(query).all()
    if not rows:
        return None
    _, passenger, driver = min(rows, key=lambda row: abs(row[0] - now))
    return str(passenger if call.driver_id is not None else driver)
