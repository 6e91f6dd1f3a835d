"""Requests nobody serves yet: the matcher's reason, near-misses, volunteers to call, manual matches."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import flash, redirect, render_template, request, url_for

from carpool.clock import PARIS
from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import Commune, Leg, Offer, Request, Resident
from carpool.services import bookings, desk, eligibility, long_trips, matching
from carpool.services.reasons import near_miss_label, reason_label
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import (
    View,
    actor,
    association_id,
    clock,
    coordinator_required,
    me,
    now,
    record,
    saved,
    scoped,
    today,
)
from carpool.web.coordinators.forms import LongTripForm, ManualMatchForm, OneWayForm, ProposeForm


@dataclass(frozen=True)
class Waiting:
    request: Request
    resident: Resident
    origin: str
    destination: str
    reason: str
    near_miss: str


@dataclass(frozen=True)
class Pager:
    number: int
    pages: int
    total: int


@bp.get("/sans-solution")
@coordinator_required
def unmatched() -> str:
    session = db_session()
    number = request.args.get("page", 1, type=int) or 1
    found = desk.unserved(session, association_id(), now(), page=number)
    diagnosed = matching.diagnose_many(session, association_id(), [u.request for u in found.open], clock())
    waiting = [
        Waiting(
            u.request,
            u.resident,
            u.origin,
            u.destination,
            reason_label(reason),
            near_miss_label(near.reason, near.missed_by_min) if near else "",
        )
        for u, (reason, near) in zip(found.open, diagnosed, strict=True)
    ]
    expired = [
        Waiting(u.request, u.resident, u.origin, u.destination, reason_label(u.request.unmatched_reason), "")
        for u in found.unmet
    ]
    half_covered = [
        Waiting(u.request, u.resident, u.origin, u.destination, reason_label("no_return"), "")
        for u in found.half_covered
    ]
    return render_template(
        "coordinators/unmatched.html",
        half_covered=half_covered,
        waiting=waiting,
        pager=Pager(found.number, found.pages, found.open_total),
        expired=expired,
        expired_total=found.unmet_total,
        proposals=desk.proposals_waiting(session, [w.request.id for w in waiting]),
    )


# --- one request -------------------------------------------------------------------------------


def _request(request_id: int) -> Request:
    return scoped(Request, request_id)


@bp.get("/demandes/<int:request_id>")
@coordinator_required
def request_detail(request_id: int) -> str:
    return _detail(_request(request_id), ManualMatchForm(prefix="manual"))


def _detail(
    ride: Request,
    manual: ManualMatchForm,
    problems: list[str] | None = None,
    one_way: OneWayForm | None = None,
    long_trip: LongTripForm | None = None,
) -> str:
    session = db_session()
    resident = session.get_one(Resident, ride.resident_id)
    is_open = desk.is_open(session, ride)
    legs = desk.legs_of(session, ride)
    open_legs = [state.leg for state in legs if state.waiting]
    options = {leg: matching.ride_options(session, ride, clock(), limit=3, leg=leg) for leg in open_legs}
    misses = matching.near_misses(session, ride, clock(), limit=3) if is_open else []
    # A way back nobody drives has its own near misses, in its own window.
    back_misses = (
        matching.near_misses(session, ride, clock(), limit=3, leg=Leg.BACK) if Leg.BACK in open_legs else []
    )
    if is_open and not options[Leg.OUT]:
        reason, _near = matching.why_unmatched(session, ride, clock())
    else:
        reason = "no_return" if open_legs == [Leg.BACK] and not options[Leg.BACK] else ""
    _fill_manual_choices(manual, ride, open_legs)
    named = {o.driver_id for found in options.values() for o in found} | {
        m.option.driver_id for m in [*misses, *back_misses]
    }
    drivers = desk.drivers_by_id(session, named)
    return render_template(
        "coordinators/request.html",
        ride=ride,
        resident=resident,
        origin=session.get_one(Commune, ride.pickup_commune_insee).name,
        destination=session.get_one(Commune, ride.dropoff_commune_insee).name,
        is_open=is_open,
        legs=legs,
        open_legs=open_legs,
        half_covered=open_legs == [Leg.BACK],
        options=options,
        misses=[(m, near_miss_label(m.reason, m.missed_by_min)) for m in misses],
        back_misses=[(m, near_miss_label(m.reason, m.missed_by_min)) for m in back_misses],
        reason=reason_label(reason) if reason else "",
        drivers=drivers,
        volunteers=desk.volunteers_to_call(session, ride) if open_legs else [],
        proposal_sent=ride.id in desk.proposals_waiting(session, [ride.id]),
        propose_form=ProposeForm,
        manual=manual,
        one_way_form=one_way or OneWayForm(prefix="oneway"),
        may_go_one_way=ride.return_at is not None and not ride.one_way and Leg.BACK in open_legs,
        problems=problems or [],
        show_purpose=me().may_see_purpose,
        eligibility=eligibility.standing(resident, today()),
        long_trip=long_trips.is_long(ride.route_km),
        long_trip_form=long_trip or LongTripForm(prefix="longtrip"),
        Leg=Leg,
    )


def _fill_manual_choices(form: ManualMatchForm, ride: Request, open_legs: list[Leg] | None = None) -> None:
    session = db_session()
    vetted = desk.vetted_drivers(session, association_id())
    form.driver.choices = [("", "— choisir —")] + [
        (str(d.id), f"{d.last_name} {d.first_name}") for d in vetted
    ]
    names = {d.id: f"{d.first_name} {d.last_name}" for d in vetted}
    offers = [o for o in desk.open_offers_of(session, association_id(), now()) if _near_in_time(o, ride)]
    form.offer.choices = [("", "Aucun : trajet dédié du bénévole")] + [
        (
            str(o.id),
            f"{names.get(o.driver_id, '?')} — {_local(o.depart_earliest):%d/%m %H:%M}, "
            f"{o.seats_left} place(s)",
        )
        for o in offers
    ]
    if open_legs == [Leg.BACK] and not form.is_submitted():
        form.leg.data = Leg.BACK.value
    if not form.day.data:
        back = form.leg.data == Leg.BACK.value and ride.return_at is not None
        form.day.data = _local(ride.return_at if back and ride.return_at else ride.latest).date()


def _near_in_time(offer: Offer, ride: Request) -> bool:
    """Near the appointment, or near the way back for a round trip."""
    times = [ride.latest] + ([ride.return_at] if ride.return_at is not None else [])
    return any(abs(offer.depart_earliest - moment) <= timedelta(hours=12) for moment in times)


def _leg(value: str | None) -> Leg:
    return Leg.BACK if value == Leg.BACK.value else Leg.OUT


def _local(moment: datetime) -> datetime:
    return moment.astimezone(PARIS)


@bp.post("/demandes/<int:request_id>/proposer")
@coordinator_required
def request_propose(request_id: int) -> View:
    """Send (mode=sms) or book (mode=book) an option shown on the request page."""
    ride = _request(request_id)
    form = ProposeForm()
    if not form.validate_on_submit():
        flash("Cette proposition n'a pas pu être lue : rechargez la page.", "error")
        return redirect(url_for("coord.request_detail", request_id=ride.id))
    try:
        option = desk.manual_option(
            db_session(),
            ride,
            driver_id=int(form.driver_id.data or 0),
            offer_id=int(form.offer_id.data) if form.offer_id.data else None,
            pickup_at=datetime.fromisoformat(form.pickup_at.data or ""),
            dropoff_at=datetime.fromisoformat(form.dropoff_at.data or ""),
            detour_min=float(form.detour_min.data or 0),
            now=now(),
            leg=_leg(form.leg.data),
        )
    except InvalidInput as error:  # before ValueError, which it extends
        return _refused(ride, error)
    except (ValueError, TypeError):
        flash("Cette proposition n'a pas pu être lue : rechargez la page.", "error")
        return redirect(url_for("coord.request_detail", request_id=ride.id))
    return _act(ride, option, request.form.get("mode", ""))


@bp.post("/demandes/<int:request_id>/jumelage")
@coordinator_required
def request_manual(request_id: int) -> View:
    """A match the coordinator arranged themselves (a volunteer they called)."""
    ride = _request(request_id)
    form = ManualMatchForm(prefix="manual")
    _fill_manual_choices(form, ride)
    if not form.validate_on_submit():
        db_session().rollback()
        return _detail(ride, form), 422
    pickup = datetime.combine(form.day.data, form.time.data, tzinfo=PARIS)
    try:
        option = desk.manual_option(
            db_session(),
            ride,
            driver_id=int(form.driver.data),
            offer_id=int(form.offer.data) if form.offer.data else None,
            pickup_at=pickup,
            now=now(),
            leg=_leg(form.leg.data),
        )
    except InvalidInput as error:
        db_session().rollback()
        fields = {"driver": form.driver, "pickup_time": form.time, "offer": form.offer}
        general = []
        for name, message in error.errors.items():
            if name in fields:
                fields[name].errors = [message]
            else:
                general.append(message)
        return _detail(ride, form, general), 422
    return _act(ride, option, form.mode.data or "")


def _act(ride: Request, option: matching.RideOption, mode: str) -> View:
    session = db_session()
    if mode in ("book", "sms"):
        _warn_eligibility(ride, mode)
    try:
        if mode == "book":
            match = desk.book(session, ride, option, actor=actor(), clock=clock())
            record("request.booked_by_coordinator", ride, match_id=match.id, leg=option.leg.value)
            message = (
                "C'est réservé : les confirmations partent par SMS."
                if match.offer_id is not None
                else "C'est demandé au bénévole : il reçoit un SMS et le passager aussi."
            )
        elif mode == "sms":
            desk.propose_by_sms(session, ride, option, actor=actor(), clock=clock())
            message = "La proposition est envoyée par SMS : la réponse OUI la réservera."
        else:
            flash("Choisissez « proposer par SMS » ou « réserver ».", "error")
            return redirect(url_for("coord.request_detail", request_id=ride.id))
    except bookings.BookingError as error:
        session.rollback()
        flash(f"Impossible : {error}", "error")
        return redirect(url_for("coord.request_detail", request_id=ride.id))
    except InvalidInput as error:
        return _refused(ride, error)
    return saved(message, "coord.request_detail", request_id=ride.id)


def _warn_eligibility(ride: Request, mode: str) -> None:
    """A resident with no valid basis: the booking goes on, the warning is shown and audited."""
    resident = db_session().get_one(Resident, ride.resident_id)
    where = "coordinator_book" if mode == "book" else "coordinator_sms"
    warning = eligibility.warn_before_booking(
        db_session(), resident, actor=actor(), today=today(), where=where
    )
    if warning:
        flash(f"Attention : {warning} Pensez à le demander ; l'avertissement est noté au journal.", "warning")


@bp.post("/demandes/<int:request_id>/motif-distance")
@coordinator_required
def request_long_trip(request_id: int) -> View:
    """Why a trip of more than 100 km is made, written after an SMS request."""
    ride = _request(request_id)
    form = LongTripForm(prefix="longtrip")
    if not form.validate_on_submit():
        db_session().rollback()
        return _detail(ride, ManualMatchForm(prefix="manual"), long_trip=form), 422
    try:
        long_trips.set_reason(db_session(), ride, form.long_trip_reason.data or "", actor=actor())
    except InvalidInput as error:
        return _refused(ride, error)
    return saved("Le motif du trajet est enregistré.", "coord.request_detail", request_id=ride.id)


def _refused(ride: Request, error: InvalidInput) -> tuple[str, int]:
    db_session().rollback()
    return _detail(ride, ManualMatchForm(prefix="manual"), list(error.errors.values())), 422


@bp.post("/demandes/<int:request_id>/aller-simple")
@coordinator_required
def request_one_way(request_id: int) -> View:
    """The resident goes without a way back: the request is then served by its outward leg."""
    ride = _request(request_id)
    form = OneWayForm(prefix="oneway")
    if not form.validate_on_submit():
        db_session().rollback()
        return _detail(ride, ManualMatchForm(prefix="manual"), one_way=form), 422
    try:
        desk.accept_one_way(db_session(), ride, form.reason.data or "", actor=actor())
    except InvalidInput as error:
        return _refused(ride, error)
    return saved(
        "C'est noté : aller simple, sans retour à chercher.", "coord.request_detail", request_id=ride.id
    )
