"""Availability: the weekly slots, the radius, the trips per week, and time off."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import Driver, TimeOff
from carpool.services import drivers
from carpool.web import auth
from carpool.web.drivers import bp
from carpool.web.drivers.common import View, driver_and_session, driver_required, form_page, invalid, today
from carpool.web.forms import AvailabilityForm, TimeOffForm, check_action, show_errors


def _availability_form(driver: Driver, *, posted: bool) -> AvailabilityForm:
    """The weekly grid: the current slots (or what was posted) and a few empty rows, up to 21."""
    if posted:
        form = AvailabilityForm()
    else:
        current = drivers.weekly_slots(db_session(), driver)
        rows = [{"weekday": str(s.weekday), "starts_at": s.starts_at, "ends_at": s.ends_at} for s in current]
        form = AvailabilityForm(
            formdata=None,
            data={
                "slots": rows,
                "radius_km": driver.radius_km,
                "max_trips_per_week": driver.max_trips_per_week,
            },
        )
    wanted = min(max(len(form.slots.entries) + 3, 5), 21)
    while len(form.slots.entries) < wanted:
        form.slots.append_entry()
    return form


@bp.route("/disponibilites", methods=["GET", "POST"])
@driver_required
def availability() -> View:
    driver, session = driver_and_session()
    form = _availability_form(driver, posted=request.method == "POST")
    context = {"driver": driver, "time_off": _time_off(driver), "time_off_form": TimeOffForm(formdata=None)}
    if not form.validate_on_submit():
        return form_page("drivers/availability.html", form, **context)
    slots, errors = _slots(form)
    if errors:
        return invalid("drivers/availability.html", form, InvalidInput(errors), **context)
    trips = form.max_trips_per_week.data
    try:
        drivers.set_availability(
            session,
            driver,
            slots,
            radius_km=form.radius_km.data or 0,
            max_trips_per_week=trips if trips is not None else 0,
            actor=f"driver:{driver.id}",
        )
    except InvalidInput as error:
        return invalid("drivers/availability.html", form, error, **context)
    session.commit()
    flash("Vos disponibilités sont enregistrées.")
    return redirect(url_for("drivers.availability"), code=303)


def _slots(form: AvailabilityForm) -> tuple[list[drivers.WeeklySlot], dict[str, str]]:
    """Rows with a day are slots; a half-filled row is an error, an empty one is ignored."""
    slots, errors = [], {}
    for n, entry in enumerate(form.slots.entries):
        weekday, starts, ends = entry.form.weekday.data, entry.form.starts_at.data, entry.form.ends_at.data
        if not weekday and starts is None and ends is None:
            continue
        if not (weekday or "").isdigit() or not 0 <= int(weekday) <= 6:
            errors[f"slots-{n}-weekday"] = "Choisissez un jour."
        if starts is None:
            errors[f"slots-{n}-starts_at"] = "Indiquez l'heure de début."
        if ends is None:
            errors[f"slots-{n}-ends_at"] = "Indiquez l'heure de fin."
        if f"slots-{n}-weekday" not in errors and starts is not None and ends is not None:
            slots.append(drivers.WeeklySlot(int(weekday), starts, ends))
    return slots, errors


def _time_off(driver: Driver) -> list[TimeOff]:
    return drivers.time_off(db_session(), driver, until_at_least=today())


@bp.post("/absences")
@driver_required
def add_time_off() -> View:
    driver, session = driver_and_session()
    form = TimeOffForm()
    context = {
        "driver": driver,
        "time_off": _time_off(driver),
        "form": _availability_form(driver, posted=False),
        "problems": [],
    }
    if not form.validate_on_submit():
        return render_template("drivers/availability.html", time_off_form=form, **context), 422
    assert form.first_day.data is not None and form.last_day.data is not None
    try:
        drivers.add_time_off(
            session,
            driver,
            form.first_day.data,
            form.last_day.data,
            actor=f"driver:{driver.id}",
            clock=auth.clock(),
        )
    except InvalidInput as error:
        session.rollback()
        show_errors(form, error)
        return render_template("drivers/availability.html", time_off_form=form, **context), 422
    session.commit()
    flash("Votre absence est enregistrée.")
    return redirect(url_for("drivers.availability"), code=303)


@bp.post("/absences/<int:time_off_id>/supprimer")
@driver_required
def remove_time_off(time_off_id: int) -> BaseResponse:
    driver, session = driver_and_session()
    check_action()
    if not drivers.remove_time_off(session, driver, time_off_id, actor=f"driver:{driver.id}"):
        abort(404)
    session.commit()
    flash("L'absence est supprimée.")
    return redirect(url_for("drivers.availability"), code=303)
