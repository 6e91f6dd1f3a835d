"""Account: sign-up (phone, code, details), log-in, password reset, password and API tokens."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask import session as cookie
from werkzeug.wrappers import Response as BaseResponse

from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import ApiToken, PhoneVerification, Role, UserAccount
from carpool.services import accounts, drivers, phone_check, places
from carpool.text import display_phone
from carpool.web import auth
from carpool.web.drivers import bp
from carpool.web.drivers.common import View, driver_required, form_page, invalid, me, now
from carpool.web.forms import (
    ApiTokenForm,
    ChangePasswordForm,
    CodeForm,
    ForgotPasswordForm,
    NewPasswordForm,
    PhoneForm,
    SignUpForm,
    check_action,
)
from carpool.web.links import public_url


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
        return form_page("drivers/signup.html", form, **context)
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
        return form_page("drivers/signup_code.html", form, phone=phone)
    problem = phone_check.confirm_code(session, verification.id, form.code.data or "", now())
    session.commit()
    if problem:
        form.code.errors = [problem]
        return render_template("drivers/signup_code.html", form=form, phone=phone), 422
    return redirect(url_for("drivers.signup"))


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> View:
    form, user = auth.log_in_form(
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
        return form_page("drivers/forgot.html", form)
    session = db_session()
    try:
        accounts.note_reset_request(session, auth.client_key(), auth.clock())
    except accounts.TooManyAttempts:
        form.email.errors = [TOO_MANY_RESETS]
        return render_template("drivers/forgot.html", form=form), 429
    minutes = current_app.config["PASSWORD_RESET_TTL_MIN"]
    accounts.send_password_reset(
        session,
        form.email.data or "",
        auth.clock(),
        minutes=minutes,
        link_for=lambda secret: public_url("drivers.reset_password", token=secret),
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
            elif user.role is not Role.DRIVER:
                # A coordinator's first password (``carpool association create``): they log in
                # on their own page, where the second factor is asked or enrolled.
                session.commit()
                flash("Votre mot de passe est enregistré : connectez-vous.")
                response = redirect(url_for("coord.login"))  # type: ignore[assignment]
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
        return form_page("drivers/account.html", form, **context)
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
    return accounts.live_api_tokens(db_session(), user)


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
    ttl = timedelta(days=current_app.config["API_TOKEN_TTL_DAYS"])
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
    check_action()
    if not accounts.revoke_api_token(db_session(), user, token_id, auth.clock()):
        abort(404)
    db_session().commit()
    flash("Le jeton est révoqué.")
    return redirect(url_for("drivers.account"))
