"""JSON API for drivers under /api/v1, described by OpenAPI 3.1 at /api/v1/openapi.json.

Authentication: ``Authorization: Bearer <token>``, a token the driver creates on
their account page (only its SHA-256 is stored). CSRF does not apply (no cookie
is read here). Errors are ``{"error": "...", "status": N}``, with ``fields`` for
input to correct. The same services as the web pages do the work, with the same
rules: another driver's offer or passenger is a 404.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time
from typing import Any, TypeVar

from flask import Blueprint, Flask, Response, abort, g, jsonify, request
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from carpool.clock import EARLIEST_DAY, LATEST_DAY, PARIS, Clock, plausible_day
from carpool.errors import InvalidInput
from carpool.extensions import csrf, db_session
from carpool.models import (
    OFFER_FLEX_MIN,
    OFFER_MAX_DETOUR_MIN,
    OFFER_SEATS,
    Driver,
    MatchStatus,
    Offer,
    Role,
)
from carpool.services import accounts, bookings, drivers, mileage, offers, places
from carpool.web.auth import clock

bp = Blueprint("api", __name__, url_prefix="/api/v1")
PUBLIC = {"api.openapi"}

T = TypeVar("T")


def init_app(app: Flask) -> None:
    csrf.exempt(bp)
    app.register_blueprint(bp)


def problem(status: int, message: str, **extra: Any) -> tuple[Response, int]:
    return jsonify(error=message, status=status, **extra), status


@bp.errorhandler(HTTPException)
def http_error(error: HTTPException) -> tuple[Response, int]:
    messages = {
        400: "Requête invalide.",
        401: "Jeton d'accès manquant ou invalide.",
        403: "Accès refusé.",
        404: "Introuvable.",
        405: "Méthode non permise.",
        413: "Le contenu envoyé est trop volumineux.",
    }
    code = error.code or 500
    response, status = problem(code, messages.get(code, error.description or "Erreur."))
    if code == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response, status


@bp.errorhandler(InvalidInput)
def invalid_input(error: InvalidInput) -> tuple[Response, int]:
    db_session().rollback()
    return problem(422, "Certaines données sont à corriger.", fields=error.errors)


@bp.errorhandler(bookings.BookingError)
def booking_refused(error: bookings.BookingError) -> tuple[Response, int]:
    db_session().rollback()
    return problem(409, str(error))


@bp.errorhandler(offers.NotFound)
def not_found(_error: offers.NotFound) -> tuple[Response, int]:
    return problem(404, "Introuvable.")


TOKEN_EXPIRED = "Ce jeton d'accès a expiré : créez-en un nouveau sur la page « Mon compte »."  # noqa: S105 - a message


@bp.before_request
def authenticate() -> tuple[Response, int] | None:
    if request.endpoint in PUBLIC:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        abort(401)
    try:
        user = accounts.user_for_api_token(db_session(), secret.strip(), clock())
    except accounts.ExpiredToken:
        response, status = problem(401, TOKEN_EXPIRED)
        response.headers["WWW-Authenticate"] = 'Bearer realm="api", error="invalid_token"'
        return response, status
    if user is None:
        abort(401)
    driver = drivers.driver_of(db_session(), user)
    if user.role is not Role.DRIVER or driver is None:
        abort(403)
    g.api_driver = driver
    return None


def me() -> Driver:
    driver: Driver = g.api_driver
    return driver


def done(payload: Any, status: int = 200) -> tuple[Response, int]:
    """Commit once (last_used_at of the token included) and answer."""
    db_session().commit()
    return jsonify(payload), status


# --- reading JSON --------------------------------------------------------------------------


def body() -> dict[str, Any]:
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        abort(400)
    return data


def _text(data: dict[str, Any], key: str, default: str = "") -> str:
    value = data.get(key, default)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidInput.on(key, "Texte attendu.")
    return value


def _int(data: dict[str, Any], key: str, default: int | None = None) -> int:
    value = data.get(key, default)
    if value is None:
        raise InvalidInput.on(key, "Ce champ est obligatoire.")
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidInput.on(key, "Nombre entier attendu.")
    return value


def _date(data: dict[str, Any], key: str, required: bool = True) -> date | None:
    return _parsed(data, key, required, date.fromisoformat, "Date attendue au format AAAA-MM-JJ.")


def _time(data: dict[str, Any], key: str, required: bool = True) -> time | None:
    def hh_mm(text: str) -> time:
        return datetime.strptime(text, "%H:%M").time()

    return _parsed(data, key, required, hh_mm, "Heure attendue au format HH:MM.")


def _parsed(
    data: dict[str, Any], key: str, required: bool, parse: Callable[[str], T], problem: str
) -> T | None:
    """``data[key]`` read by ``parse``; missing → None unless required; unreadable → ``problem``."""
    value = data.get(key)
    if value in (None, ""):
        if required:
            raise InvalidInput.on(key, "Ce champ est obligatoire.")
        return None
    try:
        return parse(str(value))
    except ValueError:
        raise InvalidInput.on(key, problem) from None


# --- representations -----------------------------------------------------------------------


def _iso(moment: datetime) -> str:
    return moment.astimezone(PARIS).isoformat()


def offer_json(offer: Offer, labels: dict[int, tuple[str, str]] | None = None) -> dict[str, Any]:
    """``labels``: ``offers.offer_labels`` of a whole list, read once for all of its offers."""
    origin, destination = (labels or offers.offer_labels(db_session(), [offer]))[offer.id]
    return {
        "id": offer.id,
        "origin": origin,
        "destination": destination,
        "depart_earliest": _iso(offer.depart_earliest),
        "depart_latest": _iso(offer.depart_latest),
        "seats_total": offer.seats_total,
        "seats_left": offer.seats_left,
        "max_detour_min": offer.max_detour_min,
        "status": offer.status.value,
        "comment": offer.comment,
        "return_of_id": offer.return_of_id,
        "series_id": offer.series_id,
        "cancel_reason": offer.cancel_reason,
    }


def passenger_json(passenger: offers.Passenger) -> dict[str, Any]:
    return {
        "match_id": passenger.match.id,
        "status": passenger.status.value,
        "offer_id": passenger.match.offer_id,
        "leg": passenger.match.leg.value,
        "first_name": passenger.first_name,
        "pickup_place": passenger.pickup_place,
        "dropoff_place": passenger.dropoff_place,
        "pickup_at": _iso(passenger.match.pickup_at),
        "dropoff_at": _iso(passenger.match.dropoff_at),
        "seats": passenger.match.seats,
        "needs": list(passenger.needs),
        "phone": passenger.phone,
        "reference": passenger.reference,
    }


def offer_input(data: dict[str, Any], base: offers.OfferInput | None = None) -> offers.OfferInput:
    """A full body (creation) or a partial one merged over ``base`` (PATCH)."""

    def pick(key: str, read: Any, current: Any) -> Any:
        return read() if base is None or key in data else current

    repeat_days = data.get("repeat_days", [])
    if not isinstance(repeat_days, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) for d in repeat_days
    ):
        raise InvalidInput.on("repeat_days", "Liste de jours attendue (0 = lundi … 6 = dimanche).")
    return offers.OfferInput(
        origin=pick("origin", lambda: _text(data, "origin"), base and base.origin),
        destination=pick("destination", lambda: _text(data, "destination"), base and base.destination),
        day=pick("date", lambda: _date(data, "date"), base and base.day),
        depart=pick("time", lambda: _time(data, "time"), base and base.depart),
        flex_min=pick("flex_min", lambda: _int(data, "flex_min", OFFER_FLEX_MIN), base and base.flex_min),
        seats=pick("seats", lambda: _int(data, "seats", OFFER_SEATS), base and base.seats),
        max_detour_min=pick(
            "max_detour_min",
            lambda: _int(data, "max_detour_min", OFFER_MAX_DETOUR_MIN),
            base and base.max_detour_min,
        ),
        comment=pick("comment", lambda: _text(data, "comment"), base and base.comment),
        return_time=None if base else _time(data, "return_time", required=False),
        repeat_days=frozenset() if base else frozenset(repeat_days),
        repeat_until=None if base else _date(data, "repeat_until", required=False),
    )


# --- endpoints -----------------------------------------------------------------------------


@bp.get("/me")
def who_am_i() -> tuple[Response, int]:
    driver = me()
    return done(
        {
            "id": driver.id,
            "first_name": driver.first_name,
            "last_name": driver.last_name,
            "email": driver.email,
            "phone": driver.phone,
            "home_commune_insee": driver.home_commune_insee,
            "seats": driver.seats,
            "wheelchair_accessible": driver.wheelchair_accessible,
            "vetting": driver.vetting.value,
            "radius_km": driver.radius_km,
            "max_trips_per_week": driver.max_trips_per_week,
        }
    )


@bp.get("/places", endpoint="places")
def place_list() -> tuple[Response, int]:
    query = request.args.get("q", "")[:80]
    return done({"places": places.place_suggestions(db_session(), me().association_id, query, limit=20)})


@bp.get("/offers")
def list_offers() -> tuple[Response, int]:
    session = db_session()
    upcoming, labels = offers.upcoming_offers_labelled(session, me(), clock().now())
    return done({"offers": [offer_json(o, labels) for o in upcoming]})


@bp.post("/offers")
def create_offers() -> tuple[Response, int]:
    session = db_session()
    created = offers.create_offers(session, me(), offer_input(body()), clock())
    labels = offers.offer_labels(session, created)
    return done({"offers": [offer_json(o, labels) for o in created]}, 201)


@bp.get("/offers/<int:offer_id>")
def get_offer(offer_id: int) -> tuple[Response, int]:
    return done(offer_json(*offers.own_offer_labelled(db_session(), me(), offer_id)))


@bp.patch("/offers/<int:offer_id>")
def update_offer(offer_id: int) -> tuple[Response, int]:
    session, driver = db_session(), me()
    current = offers.form_of(session, offers.own_offer(session, driver, offer_id))
    updated = offers.update_offer(session, driver, offer_id, offer_input(body(), current), clock())
    return done(offer_json(updated))


@bp.post("/offers/<int:offer_id>/cancel")
def cancel_offer(offer_id: int) -> tuple[Response, int]:
    data = request.get_json(silent=True) or {}
    reason = _text(data, "reason") if isinstance(data, dict) else ""
    session, driver = db_session(), me()
    cancelled = offers.cancel_offer(session, driver, offer_id, reason, clock())
    return done(
        {
            "offer": offer_json(offers.own_offer(session, driver, offer_id)),
            "cancelled_matches": [m.id for m in cancelled],
        }
    )


@bp.get("/matches")
def list_matches() -> tuple[Response, int]:
    shown = offers.passengers(db_session(), me(), since=clock().now())
    return done({"matches": [passenger_json(p) for p in shown]})


@bp.post("/matches/<int:match_id>/accept")
def accept(match_id: int) -> tuple[Response, int]:
    return _answer(match_id, offers.accept)


@bp.post("/matches/<int:match_id>/decline")
def decline(match_id: int) -> tuple[Response, int]:
    return _answer(match_id, offers.decline)


def _answer(match_id: int, answer: Callable[[Session, Driver, int, Clock], object]) -> tuple[Response, int]:
    """The driver's answer to a proposal, then the passenger as they now stand."""
    session, driver = db_session(), me()
    answer(session, driver, match_id, clock())
    (shown,) = offers.passengers(session, driver, statuses=tuple(MatchStatus), match_id=match_id)
    return done(passenger_json(shown))


def _availability_json(driver: Driver) -> dict[str, Any]:
    session = db_session()
    slots = drivers.weekly_slots(session, driver)
    away = drivers.time_off(session, driver)
    return {
        "slots": [
            {
                "weekday": s.weekday,
                "starts_at": s.starts_at.strftime("%H:%M"),
                "ends_at": s.ends_at.strftime("%H:%M"),
            }
            for s in slots
        ],
        "radius_km": driver.radius_km,
        "max_trips_per_week": driver.max_trips_per_week,
        "time_off": [
            {"id": t.id, "first_day": t.first_day.isoformat(), "last_day": t.last_day.isoformat()}
            for t in away
        ],
    }


@bp.get("/availability")
def get_availability() -> tuple[Response, int]:
    return done(_availability_json(me()))


@bp.put("/availability")
def put_availability() -> tuple[Response, int]:
    data, driver = body(), me()
    raw = data.get("slots", [])
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise InvalidInput.on("slots", "Liste de créneaux attendue.")
    slots = []
    for n, item in enumerate(raw):
        starts = _time(item, "starts_at")
        ends = _time(item, "ends_at")
        try:
            weekday = _int(item, "weekday")
        except InvalidInput:
            raise InvalidInput.on(f"slots-{n}-weekday", "Jour attendu : 0 (lundi) à 6 (dimanche).") from None
        assert starts is not None and ends is not None
        slots.append(drivers.WeeklySlot(weekday, starts, ends))
    drivers.set_availability(
        db_session(),
        driver,
        slots,
        radius_km=_int(data, "radius_km", driver.radius_km),
        max_trips_per_week=_int(data, "max_trips_per_week", driver.max_trips_per_week),
        actor=f"driver:{driver.id}",
    )
    return done(_availability_json(driver))


@bp.post("/time-off")
def add_time_off() -> tuple[Response, int]:
    data, driver = body(), me()
    first, last = _date(data, "first_day"), _date(data, "last_day")
    assert first is not None and last is not None
    period = drivers.add_time_off(
        db_session(), driver, first, last, actor=f"driver:{driver.id}", clock=clock()
    )
    return done({"id": period.id, "first_day": first.isoformat(), "last_day": last.isoformat()}, 201)


@bp.delete("/time-off/<int:time_off_id>")
def remove_time_off(time_off_id: int) -> tuple[Response, int]:
    driver = me()
    if not drivers.remove_time_off(db_session(), driver, time_off_id, actor=f"driver:{driver.id}"):
        abort(404)
    return done({"deleted": time_off_id})


@bp.get("/mileage")
def get_mileage() -> tuple[Response, int]:
    month_text = request.args.get("month") or clock().now().astimezone(PARIS).strftime("%Y-%m")
    try:
        month = datetime.strptime(month_text, "%Y-%m").date()
    except ValueError:
        raise InvalidInput.on("month", "Mois attendu au format AAAA-MM.") from None
    if not plausible_day(month):
        raise InvalidInput.on("month", f"Mois attendu entre {EARLIEST_DAY:%Y-%m} et {LATEST_DAY:%Y-%m}.")
    statement = mileage.statement(db_session(), me(), month)
    return done(
        {
            "month": month.strftime("%Y-%m"),
            "rate_per_km": str(statement.rate_per_km),
            "total_km": str(statement.total_km),
            "total_amount": str(statement.total_amount),
            "total_contribution": str(statement.total_amount),  # the old name, kept for clients
            "choice": statement.choice.choice.value if statement.choice else None,
            "settled": bool(statement.choice and statement.choice.settled_at),
            "trips": [
                {
                    "date": t.day.isoformat(),
                    "passenger": t.passenger,
                    "route": t.route,
                    "kind": t.kind,
                    "km": str(t.km),
                    "amount": str(t.amount),
                    "contribution": str(t.amount),  # the old name, kept for clients
                }
                for t in statement.trips
            ],
        }
    )


@bp.get("/openapi.json")
def openapi() -> Response:
    from carpool.web.openapi_doc import document

    return jsonify(document())
