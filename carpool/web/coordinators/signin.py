"""Coordinators' log-in (password, then the second factor when enabled), log-out, account."""

from __future__ import annotations

import io

import qrcode
import qrcode.image.svg
from flask import abort, flash, redirect, render_template, request, session, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from carpool.extensions import db_session
from carpool.models import UserAccount
from carpool.services import accounts
from carpool.web import auth
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import View, coordinator_required, me
from carpool.web.coordinators.forms import TotpForm, TotpSetupForm
from carpool.web.forms import ActionForm, ChangePasswordForm, LoginForm

#: The half-logged-in state between the password and the code lives this long in the cookie.
PENDING = "coord_pending_2fa"


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> View:
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        return render_template("coordinators/login.html", form=form), 422 if form.is_submitted() else 200
    user = auth.check_log_in(form, "coordinators/login.html", lambda account: account.is_coordinator)
    if not isinstance(user, UserAccount):
        return user
    target = auth.safe_next(form.next.data, url_for("coord.today"))
    if user.totp_secret:
        session.clear()  # nothing from before the log-in survives it
        session[PENDING] = {"id": user.id, "v": user.session_version, "next": target}
        return redirect(url_for("coord.second_factor"))
    auth.login_user(user)
    return redirect(target)


@bp.route("/connexion/code", methods=["GET", "POST"])
def second_factor() -> View:
    pending = session.get(PENDING)
    user = db_session().get(UserAccount, pending["id"]) if isinstance(pending, dict) else None
    if user is None or user.session_version != pending.get("v") or not user.totp_secret:
        session.pop(PENDING, None)
        return redirect(url_for("coord.login"))
    form = TotpForm()
    if not form.validate_on_submit():
        return render_template("coordinators/totp.html", form=form), 422 if form.is_submitted() else 200
    db = db_session()
    try:
        ok = accounts.check_totp(db, user, form.code.data or "", auth.clock(), client=auth.client_key())
    except accounts.TooManyAttempts:
        session.pop(PENDING, None)
        form.code.errors = [auth.TOO_MANY_ATTEMPTS]
        return render_template("coordinators/totp.html", form=form), 429
    db.commit()
    if not ok:
        form.code.errors = ["Ce code n'est pas le bon (ou a déjà servi) : attendez le suivant."]
        return render_template("coordinators/totp.html", form=form), 422
    auth.login_user(user)
    return redirect(str(pending.get("next") or url_for("coord.today")))


@bp.post("/deconnexion")
def logout() -> BaseResponse:
    return auth.log_out_and_go(url_for("coord.login"))


@bp.route("/compte", methods=["GET", "POST"])
@coordinator_required
def account() -> View:
    user = me()
    form = ChangePasswordForm(prefix="pw")
    if form.validate_on_submit():
        db = db_session()
        if not accounts.verify_password(user.password_hash, form.current_password.data or ""):
            form.current_password.errors = ["Ce n'est pas votre mot de passe actuel."]
        elif problem := accounts.password_problem(form.password.data or ""):
            form.password.errors = [problem]
        else:
            accounts.change_password(db, user, form.password.data or "", actor=f"user:{user.id}")
            db.commit()
            auth.login_user(user)  # this device stays logged in, the others are logged out
            flash("Votre mot de passe est changé ; vos autres appareils sont déconnectés.")
            return redirect(url_for("coord.account"))
        return render_template("coordinators/account.html", form=form, **_totp_context(user)), 422
    return render_template("coordinators/account.html", form=form, **_totp_context(user))


def _totp_context(user: UserAccount, setup: TotpSetupForm | None = None) -> dict[str, object]:
    if user.totp_secret:
        return {"totp_on": True, "totp_off_form": ActionForm(prefix="off")}
    secret = session.get("coord_totp_secret") or accounts.new_totp_secret()
    session["coord_totp_secret"] = secret
    uri = accounts.totp_uri(user, secret)
    return {
        "totp_on": False,
        "totp_form": setup or TotpSetupForm(prefix="totp"),
        "totp_secret": secret,
        "totp_qr": _qr_svg(uri),
    }


def _qr_svg(text: str) -> Markup:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode().split("?>", 1)[-1]  # inline: no XML declaration
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code du second facteur" ', 1))  # noqa: S704


@bp.post("/compte/second-facteur")
@coordinator_required
def enable_totp() -> View:
    user = me()
    form = TotpSetupForm(prefix="totp")
    secret = session.get("coord_totp_secret")
    if form.validate_on_submit() and secret:
        db = db_session()
        if accounts.enable_totp(db, user, secret, form.code.data or "", auth.clock()):
            db.commit()
            session.pop("coord_totp_secret", None)
            flash("Le second facteur est activé : il vous sera demandé à chaque connexion.")
            return redirect(url_for("coord.account"))
        form.code.errors = ["Ce code ne correspond pas : vérifiez l'heure du téléphone et réessayez."]
    context = _totp_context(user, form)
    return render_template("coordinators/account.html", form=ChangePasswordForm(prefix="pw"), **context), 422


@bp.post("/compte/second-facteur/retirer")
@coordinator_required
def disable_totp() -> BaseResponse:
    if not ActionForm(prefix="off").validate_on_submit():
        abort(400)
    db = db_session()
    accounts.disable_totp(db, me())
    db.commit()
    flash("Le second facteur est retiré.")
    return redirect(url_for("coord.account"))
