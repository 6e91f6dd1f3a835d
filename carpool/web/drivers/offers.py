"""Offers: propose, view, edit and cancel a ride; the places' autocomplete."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, abort, flash, jsonify, redirect, render_template, request, url_for
from markupsafe import Markup

from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import MatchStatus, Offer
from carpool.services import offers, places
from carpool.web import auth
from carpool.web.drivers import bp
from carpool.web.drivers.common import (
    View,
    driver_and_session,
    driver_required,
    form_page,
    invalid,
    me,
    now,
    offer_labels,
)
from carpool.web.forms import ActionForm, CancelOfferForm, EditOfferForm, OfferForm

#: The communes' <option>s of the form's <datalist> (500 and more), rendered once per commune list.
_commune_options: list[tuple[places.CommuneLabels, Markup]] = []


def _option(label: str) -> Markup:
    return Markup('<option value="%s"></option>') % label  # escaped, as {{ label }} renders it


def _place_options(association_id: int) -> Markup:
    """The <datalist> of the offer form: named places (read each time), then every commune."""
    session = db_session()
    named = Markup("").join(_option(name) for name in places.named_place_names(session, association_id))
    communes = places.commune_labels(session)
    rendered = _commune_options[0] if _commune_options else None
    if rendered is None or rendered[0] is not communes:
        rendered = (communes, Markup("").join(_option(label) for label in communes.labels))
        _commune_options[:] = [rendered]
    return named + rendered[1]


def _offer_context(**extra: Any) -> dict[str, Any]:
    _user, driver = me()
    return {"place_options": _place_options(driver.association_id), "driver": driver, **extra}


def _offer_input(form: OfferForm, *, editing: bool = False) -> offers.OfferInput:
    repeat = not editing and bool(form.repeat.data)
    return offers.OfferInput(
        origin=form.origin.data or "",
        destination=form.destination.data or "",
        day=form.day.data,
        depart=form.depart.data,
        flex_min=form.flex_min.data if form.flex_min.data is not None else 15,
        seats=form.seats.data or 0,
        max_detour_min=form.max_detour_min.data if form.max_detour_min.data is not None else 15,
        comment=form.comment.data or "",
        return_time=form.return_time.data if not editing and form.return_trip.data else None,
        repeat_days=frozenset(form.repeat_days.data or ()) if repeat else frozenset(),
        repeat_until=form.repeat_until.data if repeat else None,
    )


@bp.route("/trajets/nouveau", methods=["GET", "POST"])
@driver_required
def new_offer() -> View:
    _user, driver = me()
    form = OfferForm()
    if request.method == "GET":
        form.seats.data = min(3, driver.seats)
    if not form.validate_on_submit():
        return form_page("drivers/offer_form.html", form, **_offer_context())
    if form.return_trip.data and form.return_time.data is None:
        form.return_time.errors = ["Indiquez l'heure de départ du retour."]
        return render_template("drivers/offer_form.html", form=form, problems=[], **_offer_context()), 422
    session = db_session()
    try:
        created = offers.create_offers(session, driver, _offer_input(form), auth.clock())
    except InvalidInput as error:
        return invalid("drivers/offer_form.html", form, error, **_offer_context())
    session.commit()
    flash(
        f"Merci ! {len(created)} trajets sont proposés."
        if len(created) > 1
        else "Merci ! Votre trajet est proposé."
    )
    return redirect(url_for("drivers.rides"), code=303)


def _own_offer_or_404(offer_id: int) -> Offer:
    _user, driver = me()
    try:
        return offers.own_offer(db_session(), driver, offer_id)
    except offers.NotFound:
        abort(404)


@bp.get("/trajets/<int:offer_id>")
@driver_required
def offer(offer_id: int) -> str:
    _user, driver = me()
    try:
        found, labels = offers.own_offer_labelled(db_session(), driver, offer_id)
    except offers.NotFound:
        abort(404)
    on_board = offers.passengers(
        db_session(),
        driver,
        statuses=tuple(MatchStatus),
        since=found.depart_earliest - timedelta(days=1),
        offer_id=found.id,
    )
    return render_template(
        "drivers/offer.html",
        driver=driver,
        offer=found,
        labels=labels,
        passengers=on_board,
        action_form=ActionForm(),
        upcoming=found.depart_latest >= now(),
    )


@bp.route("/trajets/<int:offer_id>/modifier", methods=["GET", "POST"])
@driver_required
def edit_offer(offer_id: int) -> View:
    driver, session = driver_and_session()
    found = _own_offer_or_404(offer_id)
    form = EditOfferForm(obj=offers.form_of(session, found) if request.method == "GET" else None)
    context = _offer_context(offer=found, editing=True)
    if not form.validate_on_submit():
        return form_page("drivers/offer_form.html", form, **context)
    try:
        offers.update_offer(session, driver, offer_id, _offer_input(form, editing=True), auth.clock())
    except InvalidInput as error:
        return invalid("drivers/offer_form.html", form, error, **context)
    session.commit()
    flash("Le trajet est modifié.")
    return redirect(url_for("drivers.offer", offer_id=offer_id), code=303)


@bp.route("/trajets/<int:offer_id>/annuler", methods=["GET", "POST"])
@driver_required
def cancel_offer(offer_id: int) -> View:
    driver, session = driver_and_session()
    found = _own_offer_or_404(offer_id)
    form = CancelOfferForm()
    context = {
        "driver": driver,
        "offer": found,
        "labels": offer_labels([found]),
        "booked": len(offers.active_matches(session, found)),
    }
    if not form.validate_on_submit():
        return form_page("drivers/cancel.html", form, **context)
    try:
        cancelled = offers.cancel_offer(session, driver, offer_id, form.reason.data or "", auth.clock())
    except InvalidInput as error:
        return invalid("drivers/cancel.html", form, error, **context)
    except offers.bookings.BookingError as error:  # never expected (the offer is locked): no 500 if it is
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for("drivers.rides"), code=303)
    session.commit()
    flash(
        f"Le trajet est annulé. {len(cancelled)} passager(s) et l'association sont prévenus par SMS."
        if cancelled
        else "Le trajet est annulé."
    )
    return redirect(url_for("drivers.rides"), code=303)


@bp.get("/lieux.json", endpoint="places")
@driver_required
def place_list() -> Response:
    """Autocomplete for browsers with JavaScript; the page's <datalist> works without."""
    _user, driver = me()
    query = request.args.get("q", "")[:80]
    return jsonify(places=places.place_suggestions(db_session(), driver.association_id, query, limit=20))
