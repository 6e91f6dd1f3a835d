"""What a coordinator does with a request the matcher could not serve, and with texts
the service could not answer alone.

Three moves, all through the same booking rules as automatic ones:

* **propose by SMS**: the resident gets the option (a near-miss says when it
  arrives) and answers OUI/NON in their conversation, exactly as if the
  matcher had found it; nothing is held until they answer;
* **book with the resident** (on the phone): the option is booked at once
  for them (``booking_flow.book_option``), confirmations and the volunteer's
  request are queued under the match's keys;
* **manual match**: any vetted driver of the association (a volunteer the
  coordinator just called), at a time they agreed, optionally on one of the
  driver's offers; then proposed by SMS or booked like the others.

Texts that need a person (not understood, unknown sender, "call me", a trip
that went badly) are listed first on the coordinators' page until one of them
marks the text done; "call back" notes who phones the resident.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased, defer

from carpool.clock import Clock
from carpool.db import dialect_of, distance_m, lon_lat
from carpool.errors import InvalidInput
from carpool.labels import ATTENTION_REASONS
from carpool.matching import CrowFlyRouter
from carpool.models.audit import AuditEvent
from carpool.models.messages import AttentionReason, Conversation, ConversationState, InboundMessage
from carpool.models.people import Driver, Resident, VettingStatus
from carpool.models.places import Commune
from carpool.models.trips import SEAT_HOLDING, Leg, Match, Offer, OfferStatus, Request, RequestStatus
from carpool.notify.compose import render
from carpool.notify.outbox import enqueue, enqueue_notice
from carpool.services import audit, booking_flow, handling, sms_inbound
from carpool.services.matching import ACTIVE_MATCH, RideOption, params_of

#: Volunteers shown to call for a request: vetted drivers living this close to the pickup.
CALL_RADIUS_KM = 40
#: Texts needing a person shown on the first page (newest first); the others are counted.
TO_HANDLE_SHOWN = 50


@dataclass(frozen=True)
class Volunteer:
    """A vetted volunteer the coordinator may phone about a request."""

    driver: Driver
    distance_km: float
    radius_km: int


def proposals_waiting(session: Session, request_ids: list[int]) -> set[int]:
    """Those of the requests whose resident has one of our options waiting for OUI/NON."""
    if not request_ids:
        return set()
    query = sa.select(Conversation.request_id).where(
        Conversation.request_id.in_(request_ids), Conversation.state == ConversationState.CHOOSING
    )
    return {i for i in session.scalars(query) if i is not None}


def is_open(session: Session, request: Request) -> bool:
    """Still waiting for a solution: open, and no outward match under way (a way back booked
    first leaves the outward leg to find)."""
    under_way = sa.and_(Match.request_id == request.id, Match.leg == Leg.OUT, Match.status.in_(ACTIVE_MATCH))
    active = session.scalar(sa.select(sa.func.count()).select_from(Match).where(under_way))
    return request.status is RequestStatus.OPEN and not active


def leg_is_open(session: Session, request: Request, leg: Leg) -> bool:
    """Whether this leg still waits for a driver: the outward one while the request is open,
    the way back while the request (asked with one, not one-way) is asked for and nobody holds it."""
    if leg is Leg.OUT:
        return is_open(session, request)
    if request.return_at is None or request.one_way:
        return False
    if request.status not in (RequestStatus.OPEN, RequestStatus.MATCHED):
        return False
    held = sa.and_(Match.request_id == request.id, Match.leg == Leg.BACK, Match.status.in_(SEAT_HOLDING))
    return not session.scalar(sa.select(sa.func.count()).select_from(Match).where(held))


LEG_LABELS = {Leg.OUT: "aller", Leg.BACK: "retour"}
MATCH_STATES = {
    "proposed": "proposé au conducteur",
    "accepted": "accepté par le conducteur, à confirmer",
    "confirmed": "confirmé",
    "completed": "effectué",
    "declined": "refusé par le conducteur",
    "cancelled": "annulé",
    "expired": "sans réponse",
    "no_show": "passager absent",
}


@dataclass(frozen=True)
class LegState:
    """One leg of a request as the request page shows it: its window and who drives it, if anyone."""

    leg: Leg
    earliest: datetime  # not picked up before (the way back: ready from)
    latest: datetime  # there by (the way back: home by)
    match: Match | None  # the live match, else the last one that ended
    driver: Driver | None
    waiting: bool  # still waiting for a driver

    @property
    def label(self) -> str:
        return LEG_LABELS[self.leg]

    @property
    def state(self) -> str:
        if self.match is not None and (self.match.status in SEAT_HOLDING or not self.waiting):
            return MATCH_STATES[self.match.status.value]
        return "à trouver" if self.waiting else "sans conducteur"


def legs_of(session: Session, request: Request) -> list[LegState]:
    """The outward leg, and the way back when one was asked for (not when given up: one-way)."""
    matches = session.scalars(
        sa.select(Match).where(Match.request_id == request.id).order_by(Match.created_at, Match.id)
    ).all()
    wanted = [(Leg.OUT, request.earliest, request.latest)]
    if request.return_at is not None and not request.one_way:
        wanted.append((Leg.BACK, request.return_at, request.return_latest or request.return_at))
    legs = []
    for leg, earliest, latest in wanted:
        mine = [m for m in matches if m.leg is leg]
        live = [m for m in mine if m.status in SEAT_HOLDING]
        match = live[-1] if live else (mine[-1] if mine else None)
        driver = session.get(Driver, match.driver_id) if match is not None else None
        legs.append(LegState(leg, earliest, latest, match, driver, leg_is_open(session, request, leg)))
    return legs


def accept_one_way(session: Session, request: Request, reason: str, *, actor: str) -> None:
    """The resident goes without a way back ("ma fille me ramène"): said by them, recorded why."""
    reason = reason.strip()[:300]
    if not reason:
        raise InvalidInput.on("reason", "Indiquez pourquoi le retour n'est plus nécessaire.")
    if request.return_at is None or request.one_way:
        raise InvalidInput.on("", "Cette demande n'a pas de retour à chercher.")
    held = sa.and_(Match.request_id == request.id, Match.leg == Leg.BACK, Match.status.in_(SEAT_HOLDING))
    if session.scalar(sa.select(sa.func.count()).select_from(Match).where(held)):
        raise InvalidInput.on("", "Le retour a déjà un conducteur : annulez-le d'abord.")
    request.one_way = True
    audit.record(
        session,
        actor,
        "request.one_way",
        subject=request,
        association_id=request.association_id,
        reason=reason,
    )
    session.flush()


def propose_by_sms(
    session: Session, request: Request, option: RideOption, *, actor: str, clock: Clock
) -> None:
    """Send the resident this option; their OUI books it through the usual conversation."""
    _check_open(session, request, option.leg)
    resident = session.get_one(Resident, request.resident_id)
    if resident.sms_opted_out and not resident.by_call:
        raise InvalidInput.on("", f"{resident.first_name} a demandé à ne plus recevoir de SMS : appelez-le.")
    now = clock.now()
    conversation = sms_inbound.conversation_of(session, resident, now)
    conversation.updated_at, conversation.unknown_replies = now, 0
    template, context = sms_inbound.present_options(session, conversation, request, [option])
    # The leg travels with the option, so that the resident's OUI books the way it was offered.
    conversation.options = [{**stored, "leg": option.leg.value} for stored in conversation.options]
    sent = session.scalar(sa.select(sa.func.count()).select_from(AuditEvent).where(*_sent_to(request))) or 0
    enqueue_notice(
        session,
        f"request:{request.id}:proposal:{sent + 1}",
        resident,
        render(template, **context),
        association_id=request.association_id,
        trip_at=option.pickup_at,
    )
    audit.record(
        session,
        actor,
        "request.option_sent",
        subject=request,
        association_id=request.association_id,
        driver_id=option.driver_id,
        offer_id=option.offer_id,
        pickup_at=option.pickup_at.isoformat(),
        leg=option.leg.value,
    )


def _sent_to(request: Request) -> list[sa.ColumnElement[bool]]:
    event = AuditEvent
    return [
        event.action == "request.option_sent",
        event.subject_type == "Request",
        event.subject_id == request.id,
    ]


def book(session: Session, request: Request, option: RideOption, *, actor: str, clock: Clock) -> Match:
    """Book the option with the resident's agreement; raises bookings.BookingError or InvalidInput."""
    _check_open(session, request, option.leg)
    match = booking_flow.book_option(session, request, option, actor=actor, clock=clock)
    if match.offer_id is not None:
        return match
    driver = session.get_one(Driver, match.driver_id)
    resident = session.get_one(Resident, request.resident_id)
    enqueue(
        session,
        f"match:{match.id}:driver_request",
        driver.phone,
        render(
            "driver_new_request",
            passenger=resident.first_name,
            pickup_at=match.pickup_at,
            place=booking_flow.pickup_place(session, request),
        ),
        association_id=request.association_id,
    )
    enqueue_notice(
        session,
        f"match:{match.id}:waiting_driver",
        resident,
        render("waiting_driver", first_name=driver.first_name),
        association_id=request.association_id,
        trip_at=match.pickup_at,
    )
    return match


def manual_option(
    session: Session,
    request: Request,
    *,
    driver_id: int,
    pickup_at: datetime,
    offer_id: int | None,
    now: datetime,
    dropoff_at: datetime | None = None,
    detour_min: float = 0.0,
    leg: Leg = Leg.OUT,
) -> RideOption:
    """A coordinator's option for one leg, checked: vetted driver of the association, seats, a
    time to come near that leg's window.

    Without ``dropoff_at`` (a manual match) the ride time is estimated like the matcher does.
    """
    driver = session.get(Driver, driver_id)
    if driver is None or driver.association_id != request.association_id:
        raise InvalidInput.on("driver", "Choisissez un conducteur de la liste.")
    if driver.vetting is not VettingStatus.VETTED:
        raise InvalidInput.on("driver", f"{driver.first_name} {driver.last_name} n'est pas encore validé(e).")
    if pickup_at <= now:
        raise InvalidInput.on("pickup_time", "Cette heure est déjà passée.")
    earliest, latest = request.earliest, request.latest
    if leg is Leg.BACK:
        if request.return_at is None:
            raise InvalidInput.on("leg", "Cette demande n'a pas de retour.")
        earliest, latest = request.return_at, request.return_latest or request.return_at
    if pickup_at > latest + timedelta(hours=12) or pickup_at < earliest - timedelta(hours=12):
        raise InvalidInput.on("pickup_time", "Cette heure est trop loin du rendez-vous de la demande.")
    if offer_id is not None:
        offer = session.get(Offer, offer_id)
        if offer is None or offer.driver_id != driver.id or offer.status is not OfferStatus.OPEN:
            raise InvalidInput.on("offer", "Ce trajet n'est pas (ou plus) proposé par ce conducteur.")
        if offer.seats_left < request.passengers:
            raise InvalidInput.on("offer", "Il n'y a plus assez de places sur ce trajet.")
    if dropoff_at is None:
        params = params_of(session, request.association_id)
        router = CrowFlyRouter(params.circuity, params.speed_kmh)
        ride = router.time_min(lon_lat(request.pickup_point), lon_lat(request.dropoff_point))
        dropoff_at = pickup_at + timedelta(minutes=round(ride + params.dwell_min))
    elif dropoff_at <= pickup_at:
        raise InvalidInput.on("pickup_time", "L'arrivée doit suivre le départ.")
    return RideOption(driver.id, offer_id, pickup_at, dropoff_at, detour_min, leg)


def volunteers_to_call(session: Session, request: Request, *, limit: int = 5) -> list[Volunteer]:
    """Vetted drivers living near the pickup, nearest first, with how far they said they would go."""
    pickup = sa.literal(request.pickup_point, Driver.home_point.type)
    distance = distance_m(dialect_of(session), Driver.home_point, pickup)
    rows = session.execute(
        sa.select(Driver, distance.label("metres"))
        .where(
            Driver.association_id == request.association_id,
            Driver.vetting == VettingStatus.VETTED,
            distance <= CALL_RADIUS_KM * 1000,
        )
        .order_by(distance)
        .limit(limit)
    ).all()
    return [Volunteer(driver, round(metres / 1000, 1), driver.radius_km) for driver, metres in rows]


def open_offers_of(session: Session, association_id: int, now: datetime) -> list[Offer]:
    """Offers a manual match may use (open, with seats, not gone yet), soonest first."""
    return list(
        session.scalars(
            sa.select(Offer)
            .join(Driver, Driver.id == Offer.driver_id)
            .where(
                Driver.association_id == association_id,
                Driver.vetting == VettingStatus.VETTED,
                Offer.status == OfferStatus.OPEN,
                Offer.seats_left > 0,
                Offer.depart_latest >= now,
            )
            .order_by(Offer.depart_earliest)
            .limit(200)
        )
    )


def vetted_drivers(session: Session, association_id: int) -> list[Driver]:
    """Every vetted driver of the association by name: who a manual match may go to."""
    return list(
        session.scalars(
            sa.select(Driver)
            .where(Driver.association_id == association_id, Driver.vetting == VettingStatus.VETTED)
            .order_by(Driver.last_name, Driver.first_name)
        )
    )


def drivers_by_id(session: Session, ids: set[int]) -> dict[int, Driver]:
    """The drivers named by ride options, in one query."""
    if not ids:
        return {}
    return {d.id: d for d in session.scalars(sa.select(Driver).where(Driver.id.in_(ids)))}


# --- requests nobody serves ----------------------------------------------------------------

#: Unmet requests whose time passed this recently are listed under the open ones.
RECENTLY = timedelta(days=7)
#: Open requests per page, soonest first: only the page's are run through the matcher.
PAGE_SIZE = 50
#: The most recent unmet requests listed (the page says how many there are in all).
UNMET_LISTED = 50


@dataclass(frozen=True)
class Unserved:
    """A request nobody serves yet, with its resident and its communes' names."""

    request: Request
    resident: Resident
    origin: str
    destination: str


@dataclass(frozen=True)
class UnservedPage:
    """One page of open requests (soonest first) and the latest unmet ones, with their counts."""

    open: list[Unserved]
    #: Outward leg found, way back missing: listed first (a resident taken there with no way home).
    half_covered: list[Unserved]
    number: int
    pages: int
    open_total: int
    unmet: list[Unserved]
    unmet_total: int


def unserved(session: Session, association_id: int, now: datetime, *, page: int) -> UnservedPage:
    """Open requests of page ``page`` (past the end: the last page) and those unmet within RECENTLY."""
    origin, destination = aliased(Commune), aliased(Commune)
    base = (
        sa.select(Request, Resident, origin.name, destination.name)
        .join(Resident, Resident.id == Request.resident_id)
        .join(origin, origin.insee == Request.pickup_commune_insee)
        .join(destination, destination.insee == Request.dropoff_commune_insee)
        .where(Request.association_id == association_id)
        .options(defer(Resident.home_point))
    )
    is_open = sa.and_(Request.status == RequestStatus.OPEN, Request.latest > now)
    is_unmet = sa.and_(Request.status == RequestStatus.EXPIRED, Request.latest > now - RECENTLY)
    open_total, unmet_total = session.execute(
        sa.select(sa.func.count(sa.case((is_open, 1))), sa.func.count(sa.case((is_unmet, 1)))).where(
            Request.association_id == association_id, sa.or_(is_open, is_unmet)
        )
    ).one()
    pages = max(1, -(-open_total // PAGE_SIZE))
    number = min(max(1, page), pages)
    rows = session.execute(
        base.where(is_open)
        .order_by(Request.latest, Request.id)
        .limit(PAGE_SIZE)
        .offset((number - 1) * PAGE_SIZE)
    ).all()
    half = session.execute(
        base.where(half_covered(now)).order_by(Request.return_at, Request.id).limit(UNMET_LISTED)
    ).all()
    unmet = session.execute(
        base.where(is_unmet)
        .options(defer(Request.pickup_point), defer(Request.dropoff_point))
        .order_by(Request.latest.desc(), Request.id.desc())
        .limit(UNMET_LISTED)
    ).all()
    return UnservedPage(
        open=[Unserved(*row) for row in rows],
        half_covered=[Unserved(*row) for row in half],
        number=number,
        pages=pages,
        open_total=open_total,
        unmet=[Unserved(*row) for row in unmet],
        unmet_total=unmet_total,
    )


def half_covered(now: datetime) -> sa.ColumnElement[bool]:
    """Requests whose outward leg has a driver and whose way back (asked, not given up) has none."""
    out, back = aliased(Match), aliased(Match)
    return sa.and_(
        Request.return_at.is_not(None),
        Request.one_way.is_(False),
        Request.return_at > now,
        Request.status == RequestStatus.MATCHED,
        sa.exists().where(out.request_id == Request.id, out.leg == Leg.OUT, out.status.in_(SEAT_HOLDING)),
        ~sa.exists().where(
            back.request_id == Request.id, back.leg == Leg.BACK, back.status.in_(SEAT_HOLDING)
        ),
    )


def _check_open(session: Session, request: Request, leg: Leg = Leg.OUT) -> None:
    if leg is Leg.BACK and not leg_is_open(session, request, leg):
        raise InvalidInput.on("", "Le retour de cette demande n'attend plus de conducteur.")
    if not leg_is_open(session, request, leg):
        raise InvalidInput.on(
            "", "Cette demande n'attend plus de solution (prise en charge, annulée, passée)."
        )


# -- texts that need a person ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MessageToHandle:
    """A text waiting for a coordinator, as they see it: never an unknown sender's number."""

    message_id: int
    received_at: datetime
    text: str | None  # None once emptied (retention, erasure)
    reason: str
    resident_id: int | None
    who: str
    phone: str | None  # a resident's number, once someone said they would call back
    callback_by: str | None
    callback_at: datetime | None


@dataclass(frozen=True)
class MessagesToHandle:
    shown: list[MessageToHandle]
    total: int


def messages_to_handle(
    session: Session, association_id: int, *, limit: int = TO_HANDLE_SHOWN
) -> MessagesToHandle:
    """The association's texts waiting for a person, newest first, and how many in all (one query)."""
    rows: Sequence[Any] = session.execute(
        handling.listing(
            InboundMessage,
            InboundMessage.id,
            InboundMessage.created_at,
            InboundMessage.body,
            InboundMessage.attention_reason,
            sa.func.count().over(),
        )
        .where(*_waiting(association_id))
        .order_by(InboundMessage.created_at.desc(), InboundMessage.id.desc())
        .limit(limit)
    ).all()
    shown = []
    for row in rows:
        caller = handling.caller_of(row)
        shown.append(
            MessageToHandle(
                message_id=row[0],
                received_at=row[1],
                text=row[2],
                reason=ATTENTION_REASONS[_reason(row[3], caller["resident_id"])],
                **caller,
            )
        )
    return MessagesToHandle(shown, int(rows[0][4]) if rows else 0)


def _waiting(association_id: int) -> list[sa.ColumnElement[bool]]:
    """Needs a person, not handled yet (``ix_inbound_message_to_handle`` covers exactly this)."""
    return [
        InboundMessage.association_id == association_id,
        InboundMessage.needs_attention == sa.true(),
        InboundMessage.handled_at.is_(None),
    ]


def _reason(reason: AttentionReason | None, resident_id: int | None) -> AttentionReason:
    """Texts kept from before reasons were recorded: an unknown sender, or not understood."""
    if reason is not None:
        return reason
    return AttentionReason.UNKNOWN_SENDER if resident_id is None else AttentionReason.NOT_UNDERSTOOD


def mark_handled(session: Session, message: InboundMessage, *, user_id: int, clock: Clock) -> bool:
    """Off the list; False when it was not on it (already handled: a second click changes nothing)."""
    return handling.mark_handled(
        session, message, waiting=_waiting_of(message), action="sms.handled", user_id=user_id, clock=clock
    )


def plan_callback(session: Session, message: InboundMessage, *, user_id: int, clock: Clock) -> bool:
    """Note that this coordinator phones the resident back; False when someone already said so."""
    return handling.plan_callback(
        session,
        message,
        waiting=_waiting_of(message),
        action="sms.callback_planned",
        unknown_caller="Ce numéro est inconnu et n'est pas affiché : marquez le message comme fait.",
        user_id=user_id,
        clock=clock,
    )


def _waiting_of(message: InboundMessage) -> list[sa.ColumnElement[bool]]:
    assert message.association_id is not None
    return _waiting(message.association_id)
