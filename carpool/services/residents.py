"""The residents' registry: find, add and correct residents, opt-out, and their GDPR rights.

Coordinators register people who call the association; the SMS flow knows
them by their mobile number, so a number belongs to one resident only, and
never to a driver of the association. Their texts are found by resident id,
never by number (a number may have been someone else's, or be another
association's driver's).
``export`` gathers everything kept about a person (right of access, art. 15)
and ``erase`` anonymises them (right to erasure, art. 17): the row and their
requests and matches stay, without anything that identifies them, so the
association's trip statistics remain true.

Erasure is refused while a driver is engaged for them (a match proposed,
accepted or confirmed that has not ended): the coordinator cancels it first,
which warns the driver. Requests still waiting for a driver are cancelled by
the erasure itself: nobody else is involved.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from rapidfuzz import fuzz
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased, defer

from carpool.errors import InvalidInput
from carpool.models import (
    Association,
    AuditEvent,
    Commune,
    Conversation,
    Driver,
    InboundMessage,
    Match,
    OutboundMessage,
    OutboundStatus,
    Request,
    RequestStatus,
    Resident,
    VoiceCall,
    VoiceMessage,
)
from carpool.services import audit, purge, series
from carpool.services.matching import ACTIVE_MATCH
from carpool.services.places import commune_label, resolve_commune
from carpool.text import PhoneKind, fold, normalise_phone, phone_kind

NAME_MAX, NOTES_MAX = 80, 2000
#: A typed word this close to a name (0–100) still finds it: "Delpeche" → "Delpech".
FUZZY_SCORE = 85
#: /2: "sms_sent" holds SMS only; notice calls are in "calls_placed"; calls received on the
#: line and voice messages are new; each text says its channel.
EXPORT_FORMAT = "carpool.resident-export/2"
#: Said in the export instead of the audio, which stays at the provider (and is no file to hand over).
RECORDING_NOTE = (
    "Les enregistrements des messages vocaux ne figurent pas dans ce fichier : "
    "la personne peut les obtenir auprès de l'association, tant qu'ils sont conservés."
)


#: How notices reach a resident, as the registry offers it.
CHANNEL_CHOICES = [
    ("sms", "SMS"),
    ("voice", "Appels téléphoniques"),
    ("sms+voice", "SMS et appels"),
]
CHANNELS = frozenset(value for value, _label in CHANNEL_CHOICES)


def default_channel(phone: str) -> str:
    """Calls for a landline, SMS for a mobile."""
    return "sms" if phone_kind(phone) is PhoneKind.MOBILE else "voice"


@dataclass
class ResidentInput:
    """What a coordinator types about a resident (the web form or a phone-in request)."""

    first_name: str
    last_name: str
    phone: str
    home_commune: str
    channel: str = ""  # "sms", "voice", "sms+voice"; empty: by the number (see default_channel)
    uses_wheelchair: bool = False
    uses_walker: bool = False
    needs_help_boarding: bool = False
    consent: bool = False
    notes: str = ""


@dataclass(frozen=True)
class Row:
    """One line of the registry: the resident and their commune's name (one query per page)."""

    resident: Resident
    commune: str


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    total: int
    number: int
    size: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))


# --- finding -------------------------------------------------------------------------------


def _listed(association_id: int) -> sa.ColumnElement[bool]:
    """The association's residents still known by name (not erased, not anonymised by retention)."""
    return sa.and_(
        Resident.association_id == association_id,
        Resident.erased_at.is_(None),
        ~Resident.phone.startswith(purge.ANONYMOUS_PREFIX),
    )


def search(session: Session, association_id: int, text: str, *, limit: int = 20) -> list[Resident]:
    """Residents whose name or phone number fits ``text``, best first; never erased ones."""
    ids = _matching_ids(session, association_id, text)[:limit]
    if not ids:
        return []
    found = {r.id: r for r in session.scalars(sa.select(Resident).where(Resident.id.in_(ids)))}
    return [found[i] for i in ids if i in found]


def page(session: Session, association_id: int, text: str = "", *, number: int = 1, size: int = 50) -> Page:
    """One page of the registry, alphabetical, or of the search results for ``text``."""
    number = max(1, number)
    query = (
        sa.select(Resident, Commune.name)
        .join(Commune, Commune.insee == Resident.home_commune_insee)
        .options(defer(Resident.home_point))
    )
    if text.strip():
        ids = _matching_ids(session, association_id, text)
        number = min(number, max(1, -(-len(ids) // size)))
        total, chosen = len(ids), ids[(number - 1) * size : number * size]
        rows = session.execute(query.where(Resident.id.in_(chosen))).all() if chosen else []
        by_id = {resident.id: Row(resident, name) for resident, name in rows}
        return Page([by_id[i] for i in chosen if i in by_id], total, number, size)
    counted = sa.select(sa.func.count()).select_from(Resident).where(_listed(association_id))
    total = session.scalar(counted) or 0
    number = min(number, max(1, -(-total // size)))  # a page past the end shows the last one
    rows = session.execute(
        query.where(_listed(association_id))
        .order_by(Resident.last_name, Resident.first_name, Resident.id)
        .limit(size)
        .offset((number - 1) * size)
    ).all()
    return Page([Row(resident, name) for resident, name in rows], total, number, size)


def _matching_ids(session: Session, association_id: int, text: str) -> list[int]:
    text = " ".join(text.split())
    if not text:
        return []
    if not re.search(r"[^\d\s.+()\-]", text) and len(re.sub(r"\D", "", text)) >= 2:
        return _by_phone(session, association_id, text)
    return _by_name(session, association_id, text)


def _by_phone(session: Session, association_id: int, text: str) -> list[int]:
    """A whole number in any French format, its beginning ("06 12"), or its last digits ("5678")."""
    digits = re.sub(r"\D", "", text)
    try:
        wanted = Resident.phone == normalise_phone(text)
    except InvalidInput:
        if text.startswith("+"):
            wanted = Resident.phone.startswith("+" + digits)
        elif digits.startswith("00"):
            wanted = Resident.phone.startswith("+" + digits[2:])
        elif digits.startswith("0"):
            wanted = Resident.phone.startswith("+33" + digits[1:])
        else:
            wanted = Resident.phone.contains(digits)
    query = (
        sa.select(Resident.id)
        .where(_listed(association_id), wanted)
        .order_by(Resident.last_name, Resident.first_name, Resident.id)
    )
    return list(session.scalars(query))


def _by_name(session: Session, association_id: int, text: str) -> list[int]:
    """Every typed word must start a name word, or nearly match one (accents and case ignored).

    Folding the names in Python is quicker than teaching two databases to ignore accents. At a
    département's scale (ten thousand residents) the folded names are cached (``_folded``), each
    distinct name word is scored once per typed word, and only the residents with a fitting word
    for every typed word are scored: the ranking is the same as scoring everyone.
    """
    words = fold(text).split()
    if not words:
        return []
    ids, firsts, lasts = _names(session, association_id)
    folded = list(map(_folded, firsts, lasts))
    names = list(map(operator.itemgetter(0), folded))
    vocabulary = set(itertools.chain.from_iterable(names))
    # For each typed word, the name words it fits and how well (only scores above zero).
    fits = []
    for word in words:
        scores = {name: _word_score(word, name) for name in vocabulary}
        fits.append({name: score for name, score in scores.items() if score > 0.0})
    # The residents with a name word fitting the first typed word, without a Python loop over all.
    fitting = map(operator.not_, map(fits[0].keys().isdisjoint, names))
    candidates = itertools.compress(range(len(ids)), fitting)
    scored: list[tuple[float, str, int]] = []
    for i in candidates:
        score = 0.0
        for fit in fits:
            best = max((fit.get(name, 0.0) for name in names[i]), default=0.0)
            if best == 0.0:
                break
            score += best
        else:
            scored.append((-score, folded[i][1], ids[i]))
    scored.sort()
    return [resident_id for _, _, resident_id in scored]


#: Between a resident's id and names in ``_names``' one string: never typed in a name (a control character).
_SEPARATOR = "\x1f"


def _names(session: Session, association_id: int) -> tuple[list[int], list[str], list[str]]:
    """Ids, first names and last names of the association's listed residents, in the same order.

    Ten thousand rows cost more to turn into row objects than the whole search: the database
    joins them into one string, split here. Should a name ever hold the separator, the rows
    are read the ordinary way.
    """
    sep = _SEPARATOR
    line = sa.cast(Resident.id, sa.String) + sep + Resident.first_name + sep + Resident.last_name
    count, joined = session.execute(
        sa.select(sa.func.count(), sa.func.aggregate_strings(line, sep)).where(_listed(association_id))
    ).one()
    fields = joined.split(sep) if joined else []
    if len(fields) == 3 * count:
        return list(map(int, fields[0::3])), fields[1::3], fields[2::3]
    rows = session.execute(
        sa.select(Resident.id, Resident.first_name, Resident.last_name).where(_listed(association_id))
    ).all()
    return [row[0] for row in rows], [row[1] for row in rows], [row[2] for row in rows]


@functools.lru_cache(maxsize=65536)
def _folded(first: str, last: str) -> tuple[tuple[str, ...], str]:
    """A resident's folded name words, and their folded "last first" (the order of the results)."""
    return tuple(fold(f"{first} {last}").split()), fold(f"{last} {first}")


def _word_score(word: str, name: str) -> float:
    if name == word:
        return 100.0
    if name.startswith(word):
        return 95.0
    if len(word) >= 4:
        score = fuzz.ratio(word, name)
        return score if score >= FUZZY_SCORE else 0.0
    return 0.0


@dataclass
class TripLine:
    """One request on the resident's page, with the drivers asked for it."""

    request: Request
    origin: str
    destination: str
    matches: list[tuple[Match, str]] = dataclasses.field(default_factory=list)  # (match, driver's first name)


def _requests_with_places(person: Resident) -> sa.Select[Request, str, str]:
    """A resident's requests with the names of their pickup and drop-off communes."""
    pickup, dropoff = aliased(Commune), aliased(Commune)
    return (
        sa.select(Request, pickup.name, dropoff.name)
        .join(pickup, pickup.insee == Request.pickup_commune_insee)
        .join(dropoff, dropoff.insee == Request.dropoff_commune_insee)
        .where(Request.resident_id == person.id)
        .options(defer(Request.pickup_point), defer(Request.dropoff_point))
    )


def trips(session: Session, person: Resident, limit: int = 100) -> list[TripLine]:
    """Their latest requests with their matches and drivers: two queries, whatever the count."""
    rows = session.execute(
        _requests_with_places(person).order_by(Request.latest.desc(), Request.id.desc()).limit(limit)
    ).all()
    lines = [TripLine(r, origin, destination) for r, origin, destination in rows]
    by_request = {line.request.id: line for line in lines}
    if by_request:
        for match, first_name in session.execute(
            sa.select(Match, Driver.first_name)
            .join(Driver, Driver.id == Match.driver_id)
            .where(Match.request_id.in_(list(by_request)))
            .order_by(Match.pickup_at, Match.id)
        ).all():
            by_request[match.request_id].matches.append((match, first_name))
    return lines


# --- adding and correcting -----------------------------------------------------------------


def create(
    session: Session, association_id: int, data: ResidentInput, *, actor: str, now: datetime
) -> Resident:
    """A new resident of the association; raises InvalidInput with every problem found."""
    fields = _checked(session, data, association_id, resident_id=None)
    resident = Resident(association_id=association_id, **fields)
    resident.consent_at = now if data.consent else None
    session.add(resident)
    _flush_unique(session)
    audit.record(
        session,
        actor,
        "resident.created",
        subject=resident,
        association_id=association_id,
        consent=data.consent,
    )
    return resident


def update(
    session: Session, resident: Resident, data: ResidentInput, *, actor: str, now: datetime
) -> Resident:
    """Correct a resident's details; the audit names the fields changed, never their values."""
    _refuse_if_erased(resident)
    fields = _checked(session, data, resident.association_id, resident_id=resident.id)
    if fields["home_commune_insee"] != resident.home_commune_insee:
        fields["home_point"] = None  # a point from the former commune would send drivers astray
    changed = sorted(name for name, value in fields.items() if getattr(resident, name) != value)
    for name, value in fields.items():
        setattr(resident, name, value)
    if data.consent and resident.consent_at is None:
        resident.consent_at, changed = now, [*changed, "consent_at"]
    elif not data.consent and resident.consent_at is not None:
        resident.consent_at, changed = None, [*changed, "consent_at"]
    _flush_unique(session)
    if changed:
        audit.record(
            session,
            actor,
            "resident.updated",
            subject=resident,
            association_id=resident.association_id,
            fields=changed,
        )
    return resident


def set_opt_out(session: Session, resident: Resident, opted_out: bool, *, actor: str, now: datetime) -> None:
    """Record a resident's wish (told on the phone) to get no more SMS, or to get them again."""
    _refuse_if_erased(resident)
    if opted_out == resident.sms_opted_out:
        return
    resident.sms_opted_out_at = now if opted_out else None
    action = "resident.sms_opted_out" if opted_out else "resident.sms_opted_in"
    audit.record(session, actor, action, subject=resident, association_id=resident.association_id)
    session.flush()


def _checked(
    session: Session, data: ResidentInput, association_id: int, resident_id: int | None
) -> dict[str, Any]:
    errors: dict[str, str] = {}
    first, last = " ".join(data.first_name.split()), " ".join(data.last_name.split())
    for field, value, what in (("first_name", first, "le prénom"), ("last_name", last, "le nom")):
        if not value:
            errors[field] = f"Indiquez {what}."
        elif len(value) > NAME_MAX:
            errors[field] = f"{what.capitalize()} doit faire au plus {NAME_MAX} caractères."
    phone = ""
    try:
        phone = normalise_phone(data.phone)
    except InvalidInput as error:
        errors.update(error.errors)
    if phone and (problem := _phone_taken(session, phone, association_id, resident_id)):
        errors["phone"] = problem
    channel = data.channel or (default_channel(phone) if phone else "sms")
    if channel not in CHANNELS:
        errors["channel"] = "Choisissez SMS, appels, ou les deux."
    elif phone and "sms" in channel and phone_kind(phone) is not PhoneKind.MOBILE:
        errors["channel"] = "Un téléphone fixe ne reçoit pas les SMS : choisissez « Appels téléphoniques »."
    commune: Commune | None = None
    try:
        commune = resolve_commune(session, data.home_commune, "home_commune")
    except InvalidInput as error:
        errors.update(error.errors)
    notes = data.notes.strip()
    if len(notes) > NOTES_MAX:
        errors["notes"] = f"Les notes doivent faire au plus {NOTES_MAX} caractères."
    if errors or commune is None:
        raise InvalidInput(errors)
    return {
        "first_name": first,
        "last_name": last,
        "phone": phone,
        "channel": channel,
        "home_commune_insee": commune.insee,
        "uses_wheelchair": bool(data.uses_wheelchair),
        "uses_walker": bool(data.uses_walker),
        "needs_help_boarding": bool(data.needs_help_boarding),
        "notes": notes,
    }


def _phone_taken(session: Session, phone: str, association_id: int, resident_id: int | None) -> str | None:
    if _is_drivers_phone(session, phone, association_id):
        return DRIVERS_PHONE
    # Another association may know the same person: each has its own record (and conversation).
    holder = session.execute(
        sa.select(Resident.id, Resident.first_name, Resident.last_name).where(
            Resident.phone == phone, Resident.association_id == association_id
        )
    ).first()
    if holder is None or holder.id == resident_id:
        return None
    return f"Ce numéro est déjà celui de {holder.first_name} {holder.last_name} : cherchez sa fiche."


#: A resident's page shows the texts of their number: a driver's (a reset link…) must stay theirs.
DRIVERS_PHONE = (
    "Ce numéro est celui d'un conducteur de l'association : indiquez le numéro personnel de l'habitant."
)


def _is_drivers_phone(session: Session, phone: str, association_id: int) -> bool:
    query = sa.select(Driver.id).where(Driver.phone == phone, Driver.association_id == association_id)
    return session.scalar(query.limit(1)) is not None


def _flush_unique(session: Session) -> None:
    """Flush; a number taken meanwhile by a concurrent request becomes a message, not a crash."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as error:
        raise InvalidInput.on(
            "phone", "Ce numéro vient d'être enregistré pour une autre personne."
        ) from error


def _refuse_if_erased(resident: Resident) -> None:
    if resident.erased_at is not None:
        raise InvalidInput.on("", "Les données de cette personne ont été effacées.")


# --- right of access -----------------------------------------------------------------------


def export(session: Session, resident: Resident, *, actor: str = "system") -> dict[str, Any]:
    """Everything kept about the resident, as plain JSON-ready data; the export itself is audited."""
    association = session.get_one(Association, resident.association_id)
    requests = _requests(session, resident)
    request_ids = [r["id"] for r in requests]
    matches = _matches(session, request_ids)
    calls_received = _calls_received(session, resident)
    voice_messages = _voice_messages(session, resident)
    data = {
        "format": EXPORT_FORMAT,
        "association": association.name,
        "profile": _profile(session, resident),
        "requests": requests,
        "matches": matches,
        "sms_received": _inbound(session, resident),
        "sms_sent": _outbound(session, resident),
        "calls_placed": _calls_placed(session, resident),
        "calls_received": calls_received,
        "voice_messages": voice_messages,
        "voice_recordings": RECORDING_NOTE,
        "conversation": _conversation(session, resident),
        "appointment_series": series.export_rows(session, resident.id),
        "audit_events": _events(
            session,
            resident,
            {
                "Request": request_ids,
                "Match": [m["id"] for m in matches],
                "VoiceCall": [c["id"] for c in calls_received],
                "VoiceMessage": [m["id"] for m in voice_messages],
            },
        ),
    }
    audit.record(
        session, actor, "resident.exported", subject=resident, association_id=resident.association_id
    )
    session.flush()
    return data


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment is not None else None


def _profile(session: Session, resident: Resident) -> dict[str, Any]:
    commune = session.get(Commune, resident.home_commune_insee)
    return {
        "id": resident.id,
        "first_name": resident.first_name,
        "last_name": resident.last_name,
        "phone": resident.phone,
        "home_commune": commune_label(commune) if commune else resident.home_commune_insee,
        "home_point_recorded": resident.home_point is not None,
        "uses_wheelchair": resident.uses_wheelchair,
        "uses_walker": resident.uses_walker,
        "needs_help_boarding": resident.needs_help_boarding,
        "consent_at": _iso(resident.consent_at),
        "sms_opted_out_at": _iso(resident.sms_opted_out_at),
        "last_contact_at": _iso(resident.last_contact_at),
        "notes": resident.notes,
        "tus_basis": resident.tus_basis.value if resident.tus_basis else None,
        "tus_benefit": resident.tus_benefit,
        "tus_proof_seen_on": resident.tus_proof_seen_on.isoformat() if resident.tus_proof_seen_on else None,
        "tus_renew_on": resident.tus_renew_on.isoformat() if resident.tus_renew_on else None,
        "created_at": _iso(resident.created_at),
        "erased_at": _iso(resident.erased_at),
    }


def _requests(session: Session, resident: Resident) -> list[dict[str, Any]]:
    rows = session.execute(_requests_with_places(resident).order_by(Request.latest, Request.id)).all()
    return [
        {
            "id": r.id,
            "created_at": _iso(r.created_at),
            "source": r.source.value,
            "status": r.status.value,
            "purpose": r.purpose.value,
            "pickup_commune": origin,
            "dropoff_commune": destination,
            "earliest": _iso(r.earliest),
            "latest": _iso(r.latest),
            "return_at": _iso(r.return_at),
            "passengers": r.passengers,
            "note": r.note,
            "unmatched_reason": r.unmatched_reason,
        }
        for r, origin, destination in rows
    ]


def _matches(session: Session, request_ids: list[int]) -> list[dict[str, Any]]:
    if not request_ids:
        return []
    rows = session.execute(
        sa.select(Match, Driver.first_name)
        .join(Driver, Driver.id == Match.driver_id)
        .where(Match.request_id.in_(request_ids))
        .order_by(Match.pickup_at, Match.id)
    ).all()
    return [
        {
            "id": m.id,
            "request_id": m.request_id,
            "driver_first_name": driver,  # what the resident was told; nothing more of a third party
            "status": m.status.value,
            "pickup_at": _iso(m.pickup_at),
            "dropoff_at": _iso(m.dropoff_at),
            "confirmed_at": _iso(m.confirmed_at),
            "cancelled_by": m.cancelled_by,
            "cancel_reason": m.cancel_reason,
            "feedback_ok": m.feedback_ok,
            "feedback_at": _iso(m.feedback_at),
        }
        for m, driver in rows
    ]


def _inbound(session: Session, resident: Resident) -> list[dict[str, Any]]:
    # A keypad answer during a notice call is stored as a text ("call:<CallSid>"): say so.
    return [
        {
            "at": _iso(m.created_at),
            "channel": "voice" if m.message_sid.startswith("call:") else "sms",
            "from": m.from_phone,
            "body": m.body,
            "intent": m.intent,
        }
        for m in _texts(session, InboundMessage, resident)
    ]


Text = TypeVar("Text", InboundMessage, OutboundMessage, VoiceCall, VoiceMessage)


def _texts(
    session: Session, model: type[Text], resident: Resident, *more: sa.ColumnElement[bool]
) -> Iterable[Text]:
    """The resident's own texts (or calls) of one kind, oldest first."""
    return session.scalars(
        sa.select(model).where(*_texts_of(model, resident), *more).order_by(model.created_at, model.id)
    )


def _texts_of(
    model: type[InboundMessage] | type[OutboundMessage] | type[VoiceCall] | type[VoiceMessage],
    resident: Resident,
) -> list[sa.ColumnElement[bool]]:
    """The resident's own texts and calls: by their id, in their association, since they were registered.

    Never by number: a number typed on their record may be someone else's (a driver's
    reset link, another association's texts to the same phone, a former owner's).
    """
    return [
        model.resident_id == resident.id,
        model.association_id == resident.association_id,
        model.created_at >= resident.created_at,
    ]


def _outbound(session: Session, resident: Resident) -> list[dict[str, Any]]:
    """The SMS sent to them; notice calls, queued in the same outbox, are in ``_calls_placed``."""
    texts = _texts(session, OutboundMessage, resident, OutboundMessage.channel != "voice")
    return [_sent(m) for m in texts]


def _calls_placed(session: Session, resident: Resident) -> list[dict[str, Any]]:
    """Notice calls (outbox rows of the "voice" channel): the text spoken, and how the call went."""
    return [
        _sent(m) | {"answered_by": m.answered_by, "call_status": m.call_status}
        for m in _texts(session, OutboundMessage, resident, OutboundMessage.channel == "voice")
    ]


def _sent(message: OutboundMessage) -> dict[str, Any]:
    return {
        "at": _iso(message.created_at),
        "channel": message.channel,
        "to": message.to_phone,
        "body": message.body,
        "status": message.status.value,
        "sent_at": _iso(message.sent_at),
    }


def _calls_received(session: Session, resident: Resident) -> list[dict[str, Any]]:
    """Their calls to the association's line (by resident id, like texts: never by number)."""
    return [
        {
            "id": c.id,
            "at": _iso(c.created_at),
            "channel": "voice",
            "from": c.from_phone,
            "to": c.to_phone,
            "menu_misses": c.misses,
            "throttled": c.throttled,
        }
        for c in _texts(session, VoiceCall, resident)
    ]


def _voice_messages(session: Session, resident: Resident) -> list[dict[str, Any]]:
    """The voice messages they left: when, how long, who listened and handled them; no audio, no SID."""
    messages = list(_texts(session, VoiceMessage, resident))
    listened = _listened(session, resident, [m.id for m in messages])
    return [
        {
            "id": m.id,
            "at": _iso(m.created_at),
            "from": m.from_phone,
            "duration_s": m.duration_s,
            "recording_kept": m.recording_sid is not None and m.forgotten_at is None,
            "recording_forgotten_at": _iso(m.forgotten_at),
            "listened": listened.get(m.id, []),
            "callback_at": _iso(m.callback_at),
            "callback_by": _user(m.callback_by_id),
            "handled_at": _iso(m.handled_at),
            "handled_by": _user(m.handled_by_id),
        }
        for m in messages
    ]


def _listened(
    session: Session, resident: Resident, message_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """When and by whom each voice message was played on the dashboard (its audit events)."""
    if not message_ids:
        return {}
    events = session.scalars(
        sa.select(AuditEvent)
        .where(
            AuditEvent.association_id == resident.association_id,
            AuditEvent.action == "voice.listened",
            AuditEvent.subject_type == "VoiceMessage",
            AuditEvent.subject_id.in_(message_ids),
        )
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    listened: dict[int, list[dict[str, Any]]] = {}
    for event in events:
        listened.setdefault(int(event.subject_id or 0), []).append({"at": _iso(event.at), "by": event.actor})
    return listened


def _user(user_id: int | None) -> str | None:
    """A coordinator as the audit log names them (``user:<id>``): nothing more of a third party."""
    return f"user:{user_id}" if user_id is not None else None


def _conversation(session: Session, resident: Resident) -> dict[str, Any] | None:
    # Only a resident's texts open a conversation, and erasure deletes it: the number is theirs.
    found = session.scalar(
        sa.select(Conversation).where(
            Conversation.association_id == resident.association_id, Conversation.phone == resident.phone
        )
    )
    if found is None:
        return None
    return {
        "state": found.state.value,
        "draft": found.draft,
        "options": found.options,
        "request_id": found.request_id,
        "updated_at": _iso(found.updated_at),
    }


def _events(session: Session, resident: Resident, subjects: dict[str, list[int]]) -> list[dict[str, Any]]:
    """Audit events about the resident and about their records (``subjects``: type → ids)."""
    about = [sa.and_(AuditEvent.subject_type == "Resident", AuditEvent.subject_id == resident.id)]
    about += [
        sa.and_(AuditEvent.subject_type == subject_type, AuditEvent.subject_id.in_(ids))
        for subject_type, ids in subjects.items()
        if ids
    ]
    rows = session.scalars(
        sa.select(AuditEvent)
        .where(AuditEvent.association_id == resident.association_id, sa.or_(*about))
        .order_by(AuditEvent.at, AuditEvent.id)
    )
    return [
        {
            "at": _iso(e.at),
            "actor": e.actor,
            "action": e.action,
            "subject": f"{e.subject_type}:{e.subject_id}",
            "details": e.details,
        }
        for e in rows
    ]


# --- right to erasure ----------------------------------------------------------------------


def engaged_matches(session: Session, resident: Resident, now: datetime) -> list[Match]:
    """Matches with a driver still engaged (not ended): they block the erasure until cancelled."""
    return list(
        session.scalars(
            sa.select(Match)
            .join(Request, Request.id == Match.request_id)
            .where(
                Request.resident_id == resident.id,
                Match.status.in_(ACTIVE_MATCH),
                Match.dropoff_at >= now,
            )
            .order_by(Match.pickup_at)
        )
    )


def erase(session: Session, resident: Resident, *, actor: str, now: datetime) -> None:
    """Anonymise the resident for good; their requests and matches stay as anonymous statistics.

    Raises InvalidInput while a driver is engaged for them (see the module docstring).
    """
    _refuse_if_erased(resident)
    if engaged_matches(session, resident, now):
        raise InvalidInput.on(
            "",
            "Un trajet avec un conducteur est prévu pour cette personne : annulez-le d'abord "
            "(le conducteur sera prévenu), puis effacez ses données.",
        )
    waiting = session.scalars(
        sa.select(Request).where(Request.resident_id == resident.id, Request.status == RequestStatus.OPEN)
    ).all()
    for request in waiting:
        request.status = RequestStatus.CANCELLED
        audit.record(
            session,
            actor,
            "request.cancelled",
            subject=request,
            association_id=request.association_id,
            why="erasure",
        )
    series.end_all(session, resident.id, actor=actor, now=now)
    _forget_texts(session, resident)
    resident.uses_wheelchair = resident.uses_walker = resident.needs_help_boarding = False
    resident.consent_at = resident.last_contact_at = None
    resident.sms_opted_out_at = now  # nothing may be sent to the placeholder
    resident.erased_at = now
    purge.anonymise(session, resident, actor=actor, action="resident.erased")
    session.flush()


def _forget_texts(session: Session, resident: Resident) -> None:
    """Free text that may name or describe them: SMS bodies, request notes, cancellation reasons.

    Their texts only, by resident id: another person's to or from the same number stay.
    """
    session.execute(
        sa.update(InboundMessage)
        .where(InboundMessage.resident_id == resident.id)
        .values(body=None)
        .execution_options(synchronize_session=False)
    )
    # A message being handed to the provider right now keeps its text until it is sent.
    session.execute(
        sa.update(OutboundMessage)
        .where(OutboundMessage.resident_id == resident.id, OutboundMessage.status != OutboundStatus.SENDING)
        .values(body=None)
        .execution_options(synchronize_session=False)
    )
    request_ids = sa.select(Request.id).where(Request.resident_id == resident.id).scalar_subquery()
    session.execute(
        sa.update(Request)
        .where(Request.resident_id == resident.id)
        .values(note="")
        .execution_options(synchronize_session=False)
    )
    session.execute(
        sa.update(Match)
        .where(Match.request_id.in_(request_ids))
        .values(cancel_reason=None)
        .execution_options(synchronize_session=False)
    )
