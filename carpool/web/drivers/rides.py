"""My rides: upcoming offers and passengers, history, the day's run sheet, accept or decline."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from carpool.clock import PARIS, plausible_day
from carpool.extensions import db_session
from carpool.models import MatchStatus
from carpool.services import offers
from carpool.web import auth
from carpool.web.drivers import bp
from carpool.web.drivers.common import driver_and_session, driver_required, me, now, offer_labels, today
from carpool.web.forms import ActionForm, check_action


@bp.get("/")
@driver_required
def rides() -> str:
    driver, session = driver_and_session()
    moment = now()
    upcoming, labels = offers.upcoming_offers_labelled(session, driver, moment)
    all_passengers = offers.passengers(session, driver, since=moment - timedelta(hours=2))
    by_offer: dict[int, list[offers.Passenger]] = {}
    for passenger in all_passengers:
        if passenger.match.offer_id is not None:
            by_offer.setdefault(passenger.match.offer_id, []).append(passenger)
    return render_template(
        "drivers/rides.html",
        driver=driver,
        offers=upcoming,
        labels=labels,
        by_offer=by_offer,
        proposed=[p for p in all_passengers if p.status is MatchStatus.PROPOSED],
        booked=[p for p in all_passengers if p.status is not MatchStatus.PROPOSED],
        action_form=ActionForm(),
    )


@bp.get("/historique")
@driver_required
def history() -> str:
    driver, session = driver_and_session()
    moment = now()
    past = offers.past_offers(session, driver, moment)
    finished = tuple(s for s in MatchStatus if s is not MatchStatus.PROPOSED)
    rides_done = [
        p
        for p in offers.passengers(session, driver, statuses=finished)
        if p.status not in (MatchStatus.ACCEPTED, MatchStatus.CONFIRMED) or p.match.pickup_at < moment
    ]
    return render_template(
        "drivers/history.html",
        driver=driver,
        offers=past,
        labels=offer_labels(past),
        passengers=rides_done[::-1],
    )


@bp.get("/feuille-de-route")
@driver_required
def run_sheet() -> str:
    _user, driver = me()
    try:
        day = date.fromisoformat(request.args.get("jour", ""))
    except ValueError:
        day = today()
    if not plausible_day(day):
        day = today()
    start = datetime.combine(day, time(0), tzinfo=PARIS)
    session = db_session()
    booked = offers.passengers(
        session,
        driver,
        statuses=(MatchStatus.ACCEPTED, MatchStatus.CONFIRMED),
        since=start,
        until=start + timedelta(days=1),
    )
    day_offers = [
        o
        for o in offers.upcoming_offers(session, driver, start)
        if o.depart_earliest.astimezone(PARIS).date() == day
    ]
    return render_template(
        "drivers/run_sheet.html",
        driver=driver,
        day=day,
        passengers=booked,
        offers=day_offers,
        labels=offer_labels(day_offers),
    )


@bp.post("/passagers/<int:match_id>/accepter")
@driver_required
def accept(match_id: int) -> BaseResponse:
    return _answer(match_id, offers.accept, "Merci ! Le passager est prévenu par SMS.")


@bp.post("/passagers/<int:match_id>/refuser")
@driver_required
def decline(match_id: int) -> BaseResponse:
    return _answer(match_id, offers.decline, "C'est noté : l'association cherche un autre conducteur.")


def _answer(match_id: int, action: Any, done: str) -> BaseResponse:
    _user, driver = me()
    check_action()
    session = db_session()
    try:
        action(session, driver, match_id, auth.clock())
    except offers.NotFound:
        abort(404)
    except offers.bookings.BookingError as error:
        session.rollback()
        flash(str(error), "error")
        return redirect(url_for("drivers.rides"), code=303)
    session.commit()
    flash(done)
    return redirect(url_for("drivers.rides"), code=303)
