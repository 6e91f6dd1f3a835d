"""Volunteer drivers' pages: account, offers, passengers, availability, mileage.

Views only translate: form → service call → one commit, or service error →
the form again with the message next to its field and nothing saved. Another
driver's offer or passenger answers 404, exactly like one that does not exist.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask import session as cookie
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from carpool.clock import PARIS, plausible_day
from carpool.extensions import db_session
from carpool.models import (
    ApiToken,
    AvailabilitySlot,
    Driver,
    MatchStatus,
    Offer,
    PhoneVerification,
    Role,
    TimeOff,
    UserAccount,
)
from carpool.notify.compose import render
from carpool.notify.outbox import enqueue
from carpool.services import accounts, drivers, mileage, offers, phone_check, places
from carpool.services.validation import InvalidInput
from carpool.text import display_phone
from carpool.web import auth
from carpool.web.forms import (
    ActionForm,
    ApiTokenForm,
    AvailabilityForm,
    CancelOfferForm,
    ChangePasswordForm,
    CodeForm,
    EditOfferForm,
    ForgotPasswordForm,
    LoginForm,
    NewPasswordForm,
    OfferForm,
    PhoneForm,
    SignUpForm,
    TimeOffForm,
    show_errors,
)
from carpool.web.links import public_url

bp = Blueprint("drivers", __name__, url_prefix="/conducteurs")
driver_required = auth.role_required(Role.DRIVER)
View = str | BaseResponse | tuple[str, int]


def me() -> tuple[UserAccount, Driver]:
    """The logged-in driver (the decorator has checked the role)."""
    user = auth.current_user()
    driver = drivers.driver_of(db_session(), user) if user else None
    if user is None or driver is None:
        abort(403)
    return user, driver


def now() -> datetime:
    return auth.clock().now()


def today() -> date:
    return now().astimezone(PARIS).date()


def invalid(template: str, form: Any, error: InvalidInput, **context: Any) -> tuple[str, int]:
    """Nothing of this request is kept; the form comes back with the messages."""
    db_session().rollback()
    problems = show_errors(form, error)
    return render_template(template, form=form, problems=problems, **context), 422


@bp.app_context_processor
def inject() -> dict[str, Any]:
    return {"current_user": auth.current_user, "logout_form": ActionForm}


# --- account -------------------------------------------------------------------------------


def _place_lists() -> dict[str, list[str]]:
    session = db_session()
    communes = places.place_suggestions(session, 0)
    return {"commune_labels": [label for label in communes if label.endswith(")")]}


#: The sign-up's ``PhoneVerification`` id, kept in the session cookie between the three steps.
SIGNUP_PROOF = "signup_phone_proof"


@bp.route("/inscription", methods=["GET", "POST"])
def signup() -> View:
    """Third step (after the phone and its code): the driver's details and password."""
    session = db_session()
    choices = drivers.associations(session)
    proof = cookie.get(SIGNUP_PROOF) if isinstance(cookie.get(SIGNUP_PROOF), int) else None
    phone = phone_check.proven_phone(session, proof, now())
    if phone is None:
        if request.method == "POST":  # the last step without a proven phone (expired, or skipped)
            problems = ["Confirmez d'abord votre numéro de portable avec un code reçu par SMS."]
            return _phone_step(PhoneForm(formdata=None), none=not choices, status=422, problems=problems)
        return _phone_step(PhoneForm(formdata=None), none=not choices)
    form = SignUpForm()
    del form.phone  # proven with the code: not typed again
    form.association_id.choices = [(0, "— choisissez —")] + [(a.id, a.name) for a in choices]
    context = {
        "several": len(choices) > 1,
        "none": not choices,
        "phone": display_phone(phone),
        **_place_lists(),
    }
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("drivers/signup.html", form=form, problems=[], **context), status
    if form.password.data != form.password_confirm.data:
        form.password_confirm.errors = ["Les deux mots de passe ne sont pas identiques."]
        return render_template("drivers/signup.html", form=form, problems=[], **context), 422
    try:
        user = drivers.sign_up(
            session,
            drivers.SignUp(
                first_name=form.first_name.data or "",
                last_name=form.last_name.data or "",
                email=form.email.data or "",
                phone=phone,
                home_commune=form.home_commune.data or "",
                seats=form.seats.data or 0,
                wheelchair_accessible=form.wheelchair_accessible.data == "oui",
                password=form.password.data or "",
                association_id=form.association_id.data or None,
                phone_proof=proof,
            ),
            auth.clock(),
        )
    except InvalidInput as error:
        return invalid("drivers/signup.html", form, error, **context)
    session.commit()
    cookie.pop(SIGNUP_PROOF, None)
    auth.login_user(user)
    flash("Bienvenue ! Votre inscription est enregistrée : un coordinateur va vous contacter.")
    return redirect(url_for("drivers.rides"))


def _phone_step(
    form: PhoneForm, *, none: bool = False, status: int = 200, problems: list[str] | None = None
) -> tuple[str, int]:
    page = render_template("drivers/signup_phone.html", form=form, problems=problems or [], none=none)
    return page, status


@bp.post("/inscription/numero")
def signup_send_code() -> View:
    """First step: a code to this mobile (or again), within the per-phone and per-client limits."""
    session = db_session()
    form = PhoneForm()
    if not form.validate_on_submit():
        return _phone_step(form, status=422)
    try:
        verification = phone_check.send_code(session, form.phone.data or "", auth.client_key(), auth.clock())
    except InvalidInput as error:
        return invalid("drivers/signup_phone.html", form, error, none=False)
    session.commit()
    cookie[SIGNUP_PROOF] = verification.id
    flash("Un code vient de vous être envoyé par SMS.")
    return redirect(url_for("drivers.signup_code"))


@bp.route("/inscription/code", methods=["GET", "POST"])
def signup_code() -> View:
    """Second step: the code received; every try is kept (they are limited)."""
    session = db_session()
    proof = cookie.get(SIGNUP_PROOF)
    verification = session.get(PhoneVerification, proof) if isinstance(proof, int) else None
    if verification is None:
        return redirect(url_for("drivers.signup"))
    form = CodeForm()
    phone = display_phone(verification.phone)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("drivers/signup_code.html", form=form, phone=phone), status
    problem = phone_check.confirm_code(session, verification.id, form.code.data or "", now())
    session.commit()
    if problem:
        form.code.errors = [problem]
        return render_template("drivers/signup_code.html", form=form, phone=phone), 422
    return redirect(url_for("drivers.signup"))


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> View:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        return render_template("drivers/login.html", form=form), 422 if form.is_submitted() else 200
    user = auth.check_log_in(
        form,
        "drivers/login.html",
        lambda account: account.role is Role.DRIVER,
        too_many_hint=" ou choisissez « mot de passe oublié »",
    )
    if not isinstance(user, UserAccount):
        return user
    auth.login_user(user)
    return redirect(auth.safe_next(form.next.data, url_for("drivers.rides")))


@bp.post("/deconnexion")
def logout() -> BaseResponse:
    return auth.log_out_and_go(url_for("public.index"))


TOO_MANY_RESETS = "Trop de demandes depuis cette connexion : réessayez dans une heure."


@bp.route("/mot-de-passe-oublie", methods=["GET", "POST"])
def forgot_password() -> View:
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("drivers/forgot.html", form=form), 422 if form.is_submitted() else 200
    session = db_session()
    try:
        accounts.note_reset_request(session, auth.client_key(), auth.clock())
    except accounts.TooManyAttempts:
        form.email.errors = [TOO_MANY_RESETS]
        return render_template("drivers/forgot.html", form=form), 429
    email = (form.email.data or "").strip().lower()
    user = session.query(UserAccount).filter_by(email=email).one_or_none()
    driver = drivers.driver_of(session, user) if user else None
    if user is not None and driver is not None:
        minutes = current_app.config.get("PASSWORD_RESET_TTL_MIN", 30)
        secret = accounts.start_password_reset(session, user, auth.clock(), timedelta(minutes=minutes))
        if secret is not None:
            link = public_url("drivers.reset_password", token=secret)
            enqueue(
                session,
                f"account:{user.id}:reset:{accounts.digest(secret)[:16]}",
                driver.phone,
                render("password_reset", link=link, minutes=minutes),
                association_id=user.association_id,
                respect_opt_out=False,
            )
    session.commit()  # the request counts against this client even for an unknown address
    # The same answer whether or not the address has an account, or its phone had enough links today.
    flash("Si cette adresse correspond à un compte, un SMS avec un lien vient d'être envoyé.")
    return redirect(url_for("drivers.login"))


@bp.route("/mot-de-passe/<token>", methods=["GET", "POST"])
def reset_password(token: str) -> Any:
    session = db_session()
    form = NewPasswordForm()
    if accounts.reset_token_user(session, token, auth.clock()) is None:
        response = Response(render_template("drivers/reset_invalid.html"), status=410)
    elif not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        response = Response(render_template("drivers/reset.html", form=form), status=status)
    elif form.password.data != form.password_confirm.data:
        form.password_confirm.errors = ["Les deux mots de passe ne sont pas identiques."]
        response = Response(render_template("drivers/reset.html", form=form), status=422)
    else:
        try:
            user = accounts.finish_password_reset(session, token, form.password.data or "", auth.clock())
        except InvalidInput as error:
            page, status = invalid("drivers/reset.html", form, error)
            response = Response(page, status=status)
        else:
            if user is None:
                response = Response(render_template("drivers/reset_invalid.html"), status=410)
            else:
                session.commit()
                auth.login_user(user)
                flash("Votre nouveau mot de passe est enregistré.")
                response = redirect(url_for("drivers.rides"))  # type: ignore[assignment]
    response.headers["Referrer-Policy"] = "no-referrer"  # the secret is in the URL
    return response


@bp.route("/compte", methods=["GET", "POST"])
@driver_required
def account() -> View:
    user, driver = me()
    session = db_session()
    form = ChangePasswordForm()
    context = {
        "driver": driver,
        "tokens": _tokens(user),
        "token_form": ApiTokenForm(formdata=None),
        "new_token": None,
        "now": auth.clock().now(),
    }
    if not form.validate_on_submit():
        return render_template(
            "drivers/account.html", form=form, **context
        ), 422 if form.is_submitted() else 200
    if not accounts.verify_password(user.password_hash, form.current_password.data or ""):
        form.current_password.errors = ["Ce n'est pas votre mot de passe actuel."]
        return render_template("drivers/account.html", form=form, **context), 422
    if form.password.data != form.password_confirm.data:
        form.password_confirm.errors = ["Les deux mots de passe ne sont pas identiques."]
        return render_template("drivers/account.html", form=form, **context), 422
    try:
        accounts.change_password(
            session, user, form.password.data or "", auth.clock(), actor=f"user:{user.id}"
        )
    except InvalidInput as error:
        return invalid("drivers/account.html", form, error, **context)
    session.commit()
    auth.login_user(user)  # this device stays logged in; every other session is over
    flash("Votre mot de passe est changé. Vos autres appareils sont déconnectés et vos jetons révoqués.")
    return redirect(url_for("drivers.account"))


def _tokens(user: UserAccount) -> list[ApiToken]:
    return list(
        db_session()
        .query(ApiToken)
        .filter(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .order_by(ApiToken.id)
    )


@bp.post("/compte/jetons")
@driver_required
def create_token() -> View:
    user, driver = me()
    form = ApiTokenForm()
    context = {"driver": driver, "form": ChangePasswordForm(formdata=None), "now": auth.clock().now()}
    if not form.validate_on_submit():
        return render_template(
            "drivers/account.html", token_form=form, tokens=_tokens(user), new_token=None, **context
        ), 422
    ttl = timedelta(days=current_app.config.get("API_TOKEN_TTL_DAYS", 90))
    _token, secret = accounts.create_api_token(
        db_session(), user, form.name.data or "", auth.clock(), ttl=ttl
    )
    db_session().commit()
    # The secret is shown once, on this response only; it is never stored.
    return render_template(
        "drivers/account.html",
        token_form=ApiTokenForm(formdata=None),
        tokens=_tokens(user),
        new_token=secret,
        **context,
    )


@bp.post("/compte/jetons/<int:token_id>/revoquer")
@driver_required
def revoke_token(token_id: int) -> BaseResponse:
    user, _driver = me()
    if not ActionForm().validate_on_submit():
        abort(400)
    if not accounts.revoke_api_token(db_session(), user, token_id, auth.clock()):
        abort(404)
    db_session().commit()
    flash("Le jeton est révoqué.")
    return redirect(url_for("drivers.account"))


# --- my rides ------------------------------------------------------------------------------


@bp.get("/")
@driver_required
def rides() -> str:
    _user, driver = me()
    session = db_session()
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


def _labels(items: list[Offer]) -> dict[int, tuple[str, str]]:
    return offers.offer_labels(db_session(), items)


@bp.get("/historique")
@driver_required
def history() -> str:
    _user, driver = me()
    session = db_session()
    moment = now()
    past = offers.past_offers(session, driver, moment)
    finished = tuple(s for s in MatchStatus if s is not MatchStatus.PROPOSED)
    rides_done = [
        p
        for p in offers.passengers(session, driver, statuses=finished)
        if p.status not in (MatchStatus.ACCEPTED, MatchStatus.CONFIRMED) or p.match.pickup_at < moment
    ]
    return render_template(
        "drivers/history.html", driver=driver, offers=past, labels=_labels(past), passengers=rides_done[::-1]
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
        labels=_labels(day_offers),
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
    if not ActionForm().validate_on_submit():
        abort(400)
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


# --- offers --------------------------------------------------------------------------------


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
        status = 422 if form.is_submitted() else 200
        return render_template("drivers/offer_form.html", form=form, problems=[], **_offer_context()), status
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
    _user, driver = me()
    found = _own_offer_or_404(offer_id)
    session = db_session()
    form = EditOfferForm(obj=offers.form_of(session, found) if request.method == "GET" else None)
    context = _offer_context(offer=found, editing=True)
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("drivers/offer_form.html", form=form, problems=[], **context), status
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
    _user, driver = me()
    found = _own_offer_or_404(offer_id)
    session = db_session()
    form = CancelOfferForm()
    context = {
        "driver": driver,
        "offer": found,
        "labels": _labels([found]),
        "booked": len(offers.active_matches(session, found)),
    }
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("drivers/cancel.html", form=form, problems=[], **context), status
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


# --- availability --------------------------------------------------------------------------


def _availability_form(driver: Driver, *, posted: bool) -> AvailabilityForm:
    """The weekly grid: the current slots (or what was posted) and a few empty rows, up to 21."""
    if posted:
        form = AvailabilityForm()
    else:
        current = (
            db_session()
            .query(AvailabilitySlot)
            .filter_by(driver_id=driver.id)
            .order_by(AvailabilitySlot.weekday, AvailabilitySlot.starts_at)
        )
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
    _user, driver = me()
    session = db_session()
    form = _availability_form(driver, posted=request.method == "POST")
    context = {"driver": driver, "time_off": _time_off(driver), "time_off_form": TimeOffForm(formdata=None)}
    if not form.validate_on_submit():
        status = 422 if form.is_submitted() else 200
        return render_template("drivers/availability.html", form=form, problems=[], **context), status
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
    return list(
        db_session()
        .query(TimeOff)
        .filter(TimeOff.driver_id == driver.id, TimeOff.last_day >= today())
        .order_by(TimeOff.first_day)
    )


@bp.post("/absences")
@driver_required
def add_time_off() -> View:
    _user, driver = me()
    session = db_session()
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
    _user, driver = me()
    if not ActionForm().validate_on_submit():
        abort(400)
    if not drivers.remove_time_off(db_session(), driver, time_off_id, actor=f"driver:{driver.id}"):
        abort(404)
    db_session().commit()
    flash("L'absence est supprimée.")
    return redirect(url_for("drivers.availability"), code=303)


# --- mileage -------------------------------------------------------------------------------


def _month() -> date:
    try:
        wanted = datetime.strptime(request.args.get("mois", ""), "%Y-%m").date()
    except ValueError:
        return today().replace(day=1)
    return wanted if date(2020, 1, 1) <= wanted <= today() + timedelta(days=31) else today().replace(day=1)


@bp.get("/indemnites")
@driver_required
def mileage_statement() -> str:
    _user, driver = me()
    month = _month()
    return render_template(
        "drivers/mileage.html",
        driver=driver,
        statement=mileage.statement(db_session(), driver, month),
        month_value=month.strftime("%Y-%m"),
    )


@bp.get("/indemnites.csv")
@driver_required
def mileage_csv() -> Response:
    _user, driver = me()
    month = _month()
    body = mileage.to_csv(mileage.statement(db_session(), driver, month))
    return Response(
        "\ufeff" + body,  # the BOM makes spreadsheets read UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="indemnites-{month:%Y-%m}.csv"'},
    )
