"""A proposal read on the phone one option at a time, for calls placed and calls received.

The options are the SMS conversation's (``Conversation.options``): accepting option k on the
phone sends the SMS path the very word that chooses k by SMS (``sms_inbound.Handler._choose``:
"k" among several options, "OUI"/"1" for a single one, "NON" for none), so a booking made by
phone is the same guarded booking as by SMS. The option read travels in the Gather's action URL
with a digest of the proposal: a late key press, for a proposal that changed or was answered
meanwhile, is recognised as stale and books nothing.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.models import Commune, Conversation, ConversationState, Driver, Leg, Request, Resident
from carpool.notify import voice_menu
from carpool.services import participation, sms_inbound

ORDINALS = ("Première", "Deuxième", "Troisième", "Quatrième", "Cinquième", "Sixième")
COUNTS = {2: "deux", 3: "trois", 4: "quatre", 5: "cinq", 6: "six"}
STALE = "Désolé, cette proposition n'est plus disponible : rien n'a été réservé."
#: A proposal's call that rings once the proposal was answered (by SMS), replaced or expired.
NO_LONGER_WAITING = "Nous vous appelions pour une proposition de trajet, mais elle n'attend plus de réponse."


@dataclass(frozen=True)
class Proposal:
    """The options a resident is choosing between, as the SMS conversation keeps them."""

    request_id: int
    options: tuple[dict[str, Any], ...]
    digest: str

    @property
    def count(self) -> int:
        return len(self.options)


@dataclass(frozen=True)
class OptionRef:
    """The option a Gather asked about: its number (from 1) and the digest of the proposal read."""

    number: int
    digest: str


def digest_of(request_id: int, options: list[dict[str, Any]] | tuple[dict[str, Any], ...]) -> str:
    """A short fingerprint of a proposal: any change of its options changes it."""
    text = json.dumps({"request": request_id, "options": list(options)}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def pending_conversation(session: Session, resident: Resident, now: datetime) -> Conversation | None:
    """The resident's conversation when it waits for a choice (read only: nothing is created)."""
    conversation = session.scalar(
        sa.select(Conversation).where(
            Conversation.association_id == resident.association_id, Conversation.phone == resident.phone
        )
    )
    if (
        conversation is None
        or conversation.state is not ConversationState.CHOOSING
        or not conversation.options
        or conversation.request_id is None
        or now - conversation.updated_at > sms_inbound.CONVERSATION_TTL
    ):
        return None
    return conversation


def pending(
    session: Session, resident: Resident, now: datetime, *, request_id: int | None = None
) -> Proposal | None:
    """The proposal the resident may answer now (of ``request_id`` when given), else None."""
    conversation = pending_conversation(session, resident, now)
    if conversation is None or conversation.request_id is None:
        return None
    if request_id is not None and conversation.request_id != request_id:
        return None
    options = tuple(conversation.options)
    return Proposal(conversation.request_id, options, digest_of(conversation.request_id, options))


def still_offered(proposal: Proposal | None, ref: OptionRef) -> bool:
    """Whether option ``ref`` is still the one read: same proposal, number within it."""
    return proposal is not None and proposal.digest == ref.digest and 1 <= ref.number <= proposal.count


def sms_word(ref: OptionRef, count: int, *, accept: bool, single_yes: str = "1") -> str:
    """What the resident would text for this answer (``_choose`` reads it): "k", OUI/1, or NON."""
    if not accept:
        return "NON"
    return str(ref.number) if count > 1 else single_yes


def option_ref(number: str, digest: str) -> OptionRef | None:
    """The option named in a Gather's URL (``option``, ``proposition``), None if absent or malformed."""
    if not (re.fullmatch(r"[1-9][0-9]?", number) and re.fullmatch(r"[0-9a-f]{16}", digest)):
        return None
    return OptionRef(int(number), digest)


def heading(number: int, count: int) -> str:
    """ "Première possibilité :" (nothing when there is only one)."""
    if count < 2:
        return ""
    if number > len(ORDINALS):
        return f"Possibilité numéro {number} :"
    return f"{ORDINALS[number - 1]} possibilité :"


def how_many(count: int) -> str:
    return f"Il y a {COUNTS.get(count, str(count))} possibilités. Je vous les lis une par une."


def introduction(session: Session, proposal: Proposal) -> str:
    """The appointment the options are for, said once before the first option."""
    request = session.get_one(Request, proposal.request_id)
    place = session.get_one(Commune, request.dropoff_commune_insee).name
    when = voice_menu.spoken_when(request.latest)
    return f"Voici la proposition pour votre rendez-vous à {place}, {when}. {how_many(proposal.count)}"


def option_text(session: Session, proposal: Proposal, number: int) -> str:
    """One option as said on the phone: who, when, the way back, the participation if any."""
    request = session.get_one(Request, proposal.request_id)
    trip = sms_inbound.trip_of(proposal.options[number - 1])
    place = session.get_one(Commune, request.dropoff_commune_insee).name
    driver = session.get_one(Driver, trip.out.driver_id).first_name
    # Several options follow an introduction that says the day: each one says only the hour.
    at = voice_menu.spoken_time(trip.out.pickup_at)
    when = f"à {at}" if proposal.count > 1 else voice_menu.spoken_when(trip.out.pickup_at)
    if trip.out.leg is Leg.BACK:
        said = [f"{driver} vous ramène de {place} {when}."]
    else:
        said = [f"{driver} vous prend {when}" + (f" pour aller à {place}." if proposal.count < 2 else ".")]
    if trip.back is not None:
        back = session.get_one(Driver, trip.back.driver_id).first_name
        said.append(f"Pour le retour, {back} vous ramène à {voice_menu.spoken_time(trip.back.pickup_at)}.")
    per_leg = participation.quote(session, request)
    if per_leg is not None:
        said.append(f"Participation : {spoken_euros(per_leg * len(trip.legs))}.")
    return " ".join([heading(number, proposal.count), *said]).strip()


def spoken_euros(amount: Decimal) -> str:
    """ "3 euros 50", as a voice says it (not "3,50 €")."""
    cents = int((Decimal(amount) * 100).quantize(Decimal(1)))
    whole, rest = divmod(cents, 100)
    unit = "euro" if whole < 2 else "euros"
    return f"{whole} {unit}" + (f" {rest:02d}" if rest else "")


def keys_said(number: int, count: int, *, repeat_key: str, person: str | None) -> str:
    """The keypad contract for one option: 1 takes it, 2 the next one (or none after the last)."""
    if count < 2:
        words = ["Pour accepter, tapez 1 ou dites oui."]
    else:
        words = ["Pour choisir cette possibilité, tapez 1 ou dites oui."]
    if number < count:
        words.append("Pour entendre la possibilité suivante, tapez 2 ou dites non.")
    elif count > 1:
        words.append("Si aucune ne vous convient, tapez 2 ou dites non.")
    else:
        words.append("Pour refuser, tapez 2 ou dites non.")
    words.append(f"Pour réécouter, tapez {repeat_key}.")
    if person:
        words.append(person)
    return " ".join(words)
