"""Requests taken by a coordinator on the phone, for people who do not text.

Same request as one made by SMS (same window rule: picked up at most two
hours before the appointment unless told otherwise), with source ``phone``;
every problem is reported at once, on its field, and nothing is written.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time

from sqlalchemy.orm import Session

from carpool.clock import PARIS
from carpool.errors import InvalidInput
from carpool.models import Association, Commune, Purpose, Request, RequestSource, Resident
from carpool.notify.purpose import guess_purpose
from carpool.services import audit, long_trips
from carpool.services.places import Place, resolve_place
from carpool.services.sms_inbound import home_by, request_window


@dataclass(frozen=True)
class PhoneRequestInput:
    destination: str
    day: date
    arrive_by: time | None = None
    depart_after: time | None = None
    return_at: time | None = None
    return_latest: time | None = None  # home by; None: return_at + the association's return window
    one_way: bool = False  # no way back wanted ("ma fille me ramène")
    origin: str = ""  # empty: from home
    passengers: int = 1
    purpose: str = ""  # a Purpose value; empty: guessed from the destination
    note: str = ""
    long_trip_reason: str = ""  # required when the trip is longer than 100 km
    needs: frozenset[str] | None = None  # the resident's needs as said on the phone; None: unchanged


def create_request(
    session: Session, resident: Resident, data: PhoneRequestInput, *, actor: str, now: datetime
) -> Request:
    """A new open request for ``resident``; raises InvalidInput with every problem found."""
    origin, destination = _checked_places(session, resident, data, now)
    earliest, latest, return_at = _window(data, now)
    return_latest = _return_latest(session, resident, data, return_at)
    start_commune, start_point = _start(session, resident, origin)
    if start_commune.insee == destination.commune.insee and destination.named is None:
        raise InvalidInput.on(
            "destination", "Le départ et l'arrivée sont dans la même commune : précisez le lieu."
        )
    request = Request(
        association_id=resident.association_id,
        resident_id=resident.id,
        pickup_commune_insee=start_commune.insee,
        pickup_point=start_point,
        dropoff_commune_insee=destination.commune.insee,
        dropoff_point=destination.point,
        dropoff_place_id=destination.named.id if destination.named else None,
        earliest=earliest,
        latest=latest,
        return_at=return_at,
        return_latest=return_latest,
        one_way=data.one_way,
        passengers=data.passengers,
        purpose=Purpose(data.purpose or _guess(destination)),
        source=RequestSource.PHONE,
        note=data.note.strip()[:2000],
    )
    long_trips.measure(request, data.long_trip_reason, required=True)
    session.add(request)
    session.flush()
    resident.last_contact_at = now
    _note_needs(session, resident, data, actor)
    audit.record(
        session,
        actor,
        "request.created",
        subject=request,
        association_id=request.association_id,
        source="phone",
    )
    return request


def _checked_places(
    session: Session, resident: Resident, data: PhoneRequestInput, now: datetime
) -> tuple[Place | None, Place]:
    """The start (None: home) and the destination, once every problem of the form is reported together."""
    errors: dict[str, str] = {}
    destination = _place(session, resident, data.destination, "destination", errors)
    origin = _place(session, resident, data.origin, "origin", errors) if data.origin.strip() else None
    if data.day < now.astimezone(PARIS).date():
        errors["day"] = "Cette date est passée."
    if data.arrive_by is None and data.depart_after is None:
        errors["arrive_by"] = "Indiquez l'heure du rendez-vous (ou au moins l'heure de départ)."
    if not 1 <= data.passengers <= 8:
        errors["passengers"] = "Le nombre de personnes doit être entre 1 et 8."
    if data.purpose and data.purpose not in {p.value for p in Purpose}:
        errors["purpose"] = "Choisissez un motif de la liste."
    if errors:
        raise InvalidInput(errors)
    assert destination is not None
    return origin, destination


def _window(data: PhoneRequestInput, now: datetime) -> tuple[datetime, datetime, datetime | None]:
    """Earliest and latest arrival, and the return time: not already passed, the return after."""
    earliest, latest = request_window(
        data.day,
        data.arrive_by.strftime("%H:%M") if data.arrive_by else None,
        data.depart_after.strftime("%H:%M") if data.depart_after else None,
    )
    if latest <= now:
        raise InvalidInput.on("arrive_by", "Cette heure est déjà passée.")
    return_at = datetime.combine(data.day, data.return_at, tzinfo=PARIS) if data.return_at else None
    if return_at is not None and return_at <= latest:
        raise InvalidInput.on("return_at", "Le retour doit être après le rendez-vous.")
    return earliest, latest, return_at


def _return_latest(
    session: Session, resident: Resident, data: PhoneRequestInput, return_at: datetime | None
) -> datetime | None:
    """Home by: as said on the phone, else the association's return window after ``return_at``."""
    if return_at is None:
        if data.return_latest is not None:
            raise InvalidInput.on("return_at", "Indiquez l'heure du retour avant l'heure de rentrée.")
        return None
    if data.return_latest is None:
        return home_by(session.get_one(Association, resident.association_id), return_at)
    return_latest = datetime.combine(data.day, data.return_latest, tzinfo=PARIS)
    if return_latest <= return_at:
        raise InvalidInput.on("return_latest", "La rentrée au plus tard doit être après l'heure du retour.")
    return return_latest


def _note_needs(session: Session, resident: Resident, data: PhoneRequestInput, actor: str) -> None:
    """Needs told on the phone replace the resident's (audited) when they differ."""
    if data.needs is None or data.needs == resident.needs:
        return
    resident.uses_wheelchair = "wheelchair" in data.needs
    resident.uses_walker = "walker" in data.needs
    resident.needs_help_boarding = "boarding_help" in data.needs
    audit.record(
        session, actor, "resident.updated", subject=resident, association_id=resident.association_id,
        fields=["needs"],
    )  # fmt: skip


def _place(
    session: Session, resident: Resident, text: str, field: str, errors: dict[str, str]
) -> Place | None:
    try:
        return resolve_place(session, text, resident.association_id, field)
    except InvalidInput as error:
        errors.update(error.errors)
        return None


def _start(session: Session, resident: Resident, origin: Place | None):  # type: ignore[no-untyped-def]
    """Home (its exact point when known) unless another start was given."""
    if origin is not None:
        return origin.commune, origin.point
    commune = session.get_one(Commune, resident.home_commune_insee)
    return commune, resident.home_point if resident.home_point is not None else commune.point


def _guess(destination: Place) -> str:
    return guess_purpose(
        destination.named.name if destination.named else "",
        destination.named.kind if destination.named else None,
    )
