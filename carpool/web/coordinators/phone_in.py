"""A resident on the phone: find them (or add them), take the request, see the options at once."""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from carpool.clock import PARIS
from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import Request, Resident
from carpool.services import eligibility, phone_requests, places, residents
from carpool.services import series as appointment_series
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import (
    View,
    actor,
    association_id,
    coordinator_required,
    invalid,
    now,
    scoped,
    today,
)
from carpool.web.coordinators.forms import PhoneRequestForm
from carpool.web.coordinators.resident_forms import ResidentForm


def _eligibility(resident: Resident) -> dict[str, eligibility.Standing]:
    """Where the caller stands (transport d'utilité sociale): said while the request is taken."""
    return {"eligibility": eligibility.standing(resident, today())}


def _lists() -> dict[str, list[str]]:
    labels = places.place_suggestions(db_session(), association_id())
    return {"places": labels, "communes": [label for label in labels if label.endswith(")")]}


@bp.get("/appel")
@coordinator_required
def phone_in() -> View:
    """Step 1: who is calling (search by name or phone, or a new person)."""
    resident_id = request.args.get("habitant", type=int)
    if resident_id is not None:
        resident = scoped(Resident, resident_id)
        form = PhoneRequestForm()
        form.day.data = form.day.data or today()
        form.wheelchair.data, form.walker.data = resident.uses_wheelchair, resident.uses_walker
        form.boarding_help.data = resident.needs_help_boarding
        return render_template(
            "coordinators/phone_in.html", resident=resident, form=form, **_lists(), **_eligibility(resident)
        )
    query = (request.args.get("q") or "").strip()[:100]
    found = residents.search(db_session(), association_id(), query) if query else []
    return render_template(
        "coordinators/phone_in_search.html", query=query, found=found, caller=ResidentForm(), **_lists()
    )


@bp.post("/appel/nouveau")
@coordinator_required
def phone_in_caller() -> View:
    form = ResidentForm()
    if not form.validate_on_submit():
        return render_template(
            "coordinators/phone_in_search.html", query="", found=[], caller=form, **_lists()
        ), 422
    try:
        resident = residents.create(
            db_session(),
            association_id(),
            form.to_input(),
            actor=actor(),
            now=now(),
        )
    except InvalidInput as error:
        return invalid(
            "coordinators/phone_in_search.html", form, error, query="", found=[], caller=form, **_lists()
        )
    db_session().commit()
    return redirect(url_for("coord.phone_in", habitant=resident.id))


@bp.post("/appel/<int:resident_id>")
@coordinator_required
def phone_in_request(resident_id: int) -> View:
    """Step 2: the trip; then the request page shows what the matcher finds."""
    resident = scoped(Resident, resident_id)
    form = PhoneRequestForm()
    context = {"resident": resident, **_lists(), **_eligibility(resident)}
    if not form.validate_on_submit():
        return render_template("coordinators/phone_in.html", form=form, **context), 422
    data = phone_requests.PhoneRequestInput(
        destination=form.destination.data or "",
        origin=form.origin.data or "",
        day=form.day.data,
        arrive_by=form.arrive_by.data,
        depart_after=form.depart_after.data,
        return_at=form.return_at.data,
        return_latest=form.return_latest.data,
        one_way=bool(form.one_way.data),
        passengers=form.passengers.data or 1,
        purpose=form.purpose.data or "",
        note=form.note.data or "",
        long_trip_reason=form.long_trip_reason.data or "",
        needs=frozenset(
            need for need in ("wheelchair", "walker", "boarding_help") if getattr(form, need).data
        ),
    )
    try:
        ride = phone_requests.create_request(db_session(), resident, data, actor=actor(), now=now())
        _start_series(ride, form)
    except InvalidInput as error:
        return invalid("coordinators/phone_in.html", form, error, **context)
    db_session().commit()
    return _to_request(ride.id)


def _start_series(ride: Request, form: PhoneRequestForm) -> None:
    """A recurrence ticked on the form: a series whose first day is this request's."""
    if not form.weekdays.data and not form.until.data:
        return
    latest = ride.latest.astimezone(PARIS)
    plan = appointment_series.SeriesInput(
        weekdays=tuple(form.weekdays.data or ()),
        every_weeks=int(form.every_weeks.data or 1),
        until=form.until.data,
        first_day=latest.date(),
        arrive_by=latest.time(),
        depart_after=form.depart_after.data if form.arrive_by.data else None,
        return_at=form.return_at.data,
    )
    appointment_series.create(db_session(), ride, plan, actor=actor())


def _to_request(request_id: int) -> BaseResponse:
    return redirect(url_for("coord.request_detail", request_id=request_id))
