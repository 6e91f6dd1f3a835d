"""Coordinators' log-in (password, then the second factor), its enrolment, log-out, account.

Admins and coordinators who see health data (every coordinator if the association says
so) must have a second factor: without one, the password leads to its enrolment and the
dashboard answers nothing else until it is done.
"""

from __future__ import annotations

import io
import logging
from typing import Any

import qrcode
import qrcode.image.svg
from flask import flash, redirect, render_template, request, session, url_for
from markupsafe import Markup
from werkzeug.wrappers import Response as BaseResponse

from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import Association, UserAccount
from carpool.services import accounts
from carpool.web import auth
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import View, coordinator_required, form_page, me
from carpool.web.coordinators.forms import TotpForm, TotpOffForm, TotpSetupForm
from carpool.web.forms import ChangePasswordForm, show_errors

log = logging.getLogger(__name__)

#: The half-logged-in state between the password and the code, in the cookie…
PENDING = "coord_pending_2fa"
#: … for this long: a password typed and left on a shared screen does not wait for a code forever.
PENDING_SECONDS = 300
#: What a coordinator who still has to enrol may reach.
ENROLMENT_ENDPOINTS = frozenset({"coord.login", "coord.second_factor", "coord.logout", "coord.enable_totp"})
WRONG_CODE = "Ce code n'est pas le bon (ou a déjà servi) : attendez le suivant."


@bp.before_request
def enrol_first() -> BaseResponse | None:
    """A coordinator who must have a second factor and has none goes to its enrolment."""
    if request.endpoint in ENROLMENT_ENDPOINTS:
        return None
    user = auth.current_user()
    if user is not None and accounts.needs_totp_enrolment(db_session(), user):
        return redirect(url_for("coord.enable_totp"))
    return None


@bp.route("/connexion", methods=["GET", "POST"])
def login() -> View:
    form, user = auth.log_in_form("coordinators/login.html", lambda account: account.is_coordinator)
    if not isinstance(user, UserAccount):
        return user
    target = auth.safe_next(form.next.data, url_for("coord.today"))
    if user.totp_secret and not accounts.second_factor_readable(user, auth.secret_box()):
        return _unreadable_second_factor(user, form, form.password, "coordinators/login.html")
    if user.totp_secret:
        session.clear()  # nothing from before the log-in survives it
        at = int(auth.clock().now().timestamp())
        session[PENDING] = {"id": user.id, "v": user.session_version, "next": target, "at": at}
        return redirect(url_for("coord.second_factor"))
    auth.login_user(user)
    if accounts.needs_totp_enrolment(db_session(), user):
        return redirect(url_for("coord.enable_totp"))
    return redirect(target)


@bp.route("/connexion/code", methods=["GET", "POST"])
def second_factor() -> View:
    stored = session.get(PENDING)
    pending: dict[str, Any] = stored if isinstance(stored, dict) else {}
    user = db_session().get(UserAccount, pending["id"]) if "id" in pending else None
    if user is None or user.session_version != pending.get("v") or not user.totp_secret or _stale(pending):
        session.pop(PENDING, None)
        return redirect(url_for("coord.login"))
    form = TotpForm()
    if not form.validate_on_submit():
        return form_page("coordinators/totp.html", form)
    db = db_session()
    try:
        ok = accounts.check_totp(
            db, user, form.code.data or "", auth.clock(), auth.secret_box(), client=auth.client_key()
        )
    except accounts.TooManyAttempts as error:
        form.code.errors = [auth.too_many_attempts(error.retry_after)]
        return auth.slowed_down("coordinators/totp.html", error, form=form)
    except accounts.UnreadableSecondFactor:
        return _unreadable_second_factor(user, form, form.code, "coordinators/totp.html")
    db.commit()
    if not ok:
        form.code.errors = [WRONG_CODE]
        return render_template("coordinators/totp.html", form=form), 422
    auth.login_user(user)
    return redirect(str(pending.get("next") or url_for("coord.today")))


def _unreadable_second_factor(user: UserAccount, form: Any, field: Any, template: str) -> tuple[str, int]:
    """The server's keys changed: say so in French, and tell the logs how to get out of it."""
    log.error("second factor of account %s unreadable: carpool accounts reset-2fa EMAIL", user.id)
    field.errors = [accounts.UNREADABLE_SECOND_FACTOR]
    return render_template(template, form=form), 503


def _stale(pending: dict[str, object]) -> bool:
    at = pending.get("at")
    return not isinstance(at, int) or auth.clock().now().timestamp() - at > PENDING_SECONDS


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
            accounts.change_password(
                db, user, form.password.data or "", auth.clock(), actor=f"user:{user.id}"
            )
            db.commit()
            auth.login_user(user)  # this device stays logged in, the others are logged out
            flash("Votre mot de passe est changé ; vos autres appareils sont déconnectés.")
            return redirect(url_for("coord.account"))
        return _account_page(form, status=422)
    return _account_page(form)


def _account_page(
    form: ChangePasswordForm | None = None,
    *,
    setup: TotpSetupForm | None = None,
    off: TotpOffForm | None = None,
    totp_problems: list[str] | None = None,
    status: int = 200,
) -> tuple[str, int]:
    user = me()
    context = {**_totp_context(user, setup, off), "totp_problems": totp_problems or []}
    db_session().commit()  # the pending enrolment secret, when one was just drawn
    page = render_template(
        "coordinators/account.html", form=form or ChangePasswordForm(prefix="pw"), **context
    )
    return page, status


def _totp_context(
    user: UserAccount, setup: TotpSetupForm | None = None, off: TotpOffForm | None = None
) -> dict[str, object]:
    db = db_session()
    if user.totp_secret:
        return {
            "totp_on": True,
            "totp_required": accounts.totp_required(user, db.get_one(Association, user.association_id)),
            "totp_off_form": off or TotpOffForm(prefix="off"),
        }
    # The secret waits in the database, not in the cookie: the cookie is signed, not encrypted.
    secret = accounts.pending_totp_secret(db, user, auth.secret_box())
    return {
        "totp_on": False,
        "totp_form": setup or TotpSetupForm(prefix="totp"),
        "totp_secret": secret,
        "totp_qr": _qr_svg(accounts.totp_uri(user, secret)),
    }


def _qr_svg(text: str) -> Markup:
    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    svg = buffer.getvalue().decode().split("?>", 1)[-1]  # inline: no XML declaration
    return Markup(svg.replace("<svg ", '<svg role="img" aria-label="QR code du second facteur" ', 1))  # noqa: S704


@bp.route("/compte/second-facteur", methods=["GET", "POST"])
@coordinator_required
def enable_totp() -> View:
    """The enrolment page (the only page until it is done, when the second factor is required)."""
    user = me()
    if user.totp_secret:
        return redirect(url_for("coord.account"))
    required = accounts.needs_totp_enrolment(db_session(), user)
    form = TotpSetupForm(prefix="totp")
    if form.validate_on_submit():
        db = db_session()
        if accounts.enable_totp(db, user, form.code.data or "", auth.clock(), auth.secret_box()):
            db.commit()
            flash("Le second facteur est activé : il vous sera demandé à chaque connexion.")
            return redirect(url_for("coord.today" if required else "coord.account"))
        form.code.errors = ["Ce code ne correspond pas : vérifiez l'heure du téléphone et réessayez."]
    status = 422 if form.is_submitted() else 200
    if not required:
        return _account_page(setup=form, status=status)
    context = _totp_context(user, form)
    db_session().commit()  # the pending secret, when one was just drawn
    return render_template("coordinators/totp_enrol.html", **context), status


@bp.post("/compte/second-facteur/retirer")
@coordinator_required
def disable_totp() -> View:
    user = me()
    form = TotpOffForm(prefix="off")
    if not form.validate_on_submit():
        return _account_page(off=form, status=422)
    db = db_session()
    try:
        accounts.disable_totp(
            db,
            user,
            form.password.data or "",
            form.code.data or "",
            auth.clock(),
            auth.secret_box(),
            client=auth.client_key(),
        )
    except accounts.UnreadableSecondFactor as error:
        return _account_page(off=form, totp_problems=[str(error)], status=503)
    except accounts.TooManyAttempts as error:
        db.commit()
        form.code.errors = [auth.too_many_attempts(error.retry_after)]
        return _account_page(off=form, status=429)
    except InvalidInput as error:
        db.commit()  # the failure is counted
        return _account_page(off=form, totp_problems=show_errors(form, error), status=422)
    db.commit()
    flash("Le second facteur est retiré.")
    return redirect(url_for("coord.account"))
