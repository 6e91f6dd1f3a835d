"""Web sessions for every role: log in, log out, who is there, who may enter.

The signed session cookie carries the account id and its ``session_version``;
bumping the version in the database (log-out, password change) voids every
cookie issued before, on every device: log-out is server-side even though the
cookie itself is not stored. It also carries, signed, when the log-in happened
and when the session was last used: the server ends it after IDLE_TIMEOUT or
SESSION_LIFETIME whatever the browser keeps (an old copy of a cookie only ages).
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from datetime import timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import abort, current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response as BaseResponse

from carpool.clock import Clock
from carpool.extensions import db_session
from carpool.field_encryption import SecretBox
from carpool.models import Role, UserAccount
from carpool.services import accounts

F = TypeVar("F", bound=Callable[..., Any])

#: Where ``role_required`` sends visitors who are not logged in, per role.
LOGIN_ENDPOINTS: dict[Role, str] = {
    Role.DRIVER: "drivers.login",
    Role.COORDINATOR: "coord.login",
    Role.ADMIN: "coord.login",
}


def client_key() -> str:
    """The client's address (the real one behind PROXY_FIX_HOPS proxies) as a keyed hash.

    Log-in throttles count failures per client without storing anyone's address.
    """
    secret = str(current_app.config["SECRET_KEY"]).encode()
    address = (request.remote_addr or "unknown").encode()
    return hmac.new(secret, address, hashlib.sha256).hexdigest()


def clock() -> Clock:
    the_clock: Clock = current_app.extensions["carpool.clock"]
    return the_clock


def secret_box() -> SecretBox:
    """What opens and seals the second-factor keys kept in the database."""
    box: SecretBox = current_app.extensions["carpool.secret_box"]
    return box


#: A session unused this long is over: shorter on the dashboard, which shows residents' data.
IDLE_TIMEOUT: dict[Role, timedelta] = {
    Role.DRIVER: timedelta(hours=2),
    Role.COORDINATOR: timedelta(minutes=30),
    Role.ADMIN: timedelta(minutes=30),
}
#: Every session ends this long after its log-in, however busy.
SESSION_LIFETIME = timedelta(hours=12)
#: ``seen_at`` is rewritten at most this often (each rewrite sends a new cookie).
SEEN_PRECISION = timedelta(minutes=1)


def _now() -> int:
    return int(clock().now().timestamp())


def login_user(user: UserAccount) -> None:
    """Start a fresh session for ``user`` (nothing kept from before: no session fixation)."""
    session.clear()
    session["user_id"] = user.id
    session["session_version"] = user.session_version
    session["login_at"] = session["seen_at"] = _now()
    g.current_user = user


def logout() -> None:
    """Void every session and API token of the current account, everywhere, then forget this one."""
    user = current_user()
    if user is not None:
        accounts.end_sessions(db_session(), user, clock())
    session.clear()
    g.current_user = None


def current_user() -> UserAccount | None:
    """The logged-in account, or None when the cookie is absent, unknown, voided or too old."""
    if "current_user" in g:
        user: UserAccount | None = g.current_user
        return user
    user = None
    user_id, version = session.get("user_id"), session.get("session_version")
    if isinstance(user_id, int) and isinstance(version, int):
        user = db_session().get(UserAccount, user_id)
        if user is not None and (user.session_version != version or not _still_fresh(user)):
            user = None
    if user is None and "user_id" in session:
        session.clear()
    g.current_user = user
    return user


def _still_fresh(user: UserAccount) -> bool:
    """Within the idle timeout and the lifetime of the session; notes this use."""
    login_at, seen_at, now = session.get("login_at"), session.get("seen_at"), _now()
    if not isinstance(login_at, int) or not isinstance(seen_at, int):
        return False  # a cookie from before these checks: log in again
    idle = IDLE_TIMEOUT.get(user.role, min(IDLE_TIMEOUT.values()))
    if now - seen_at > idle.total_seconds() or now - login_at > SESSION_LIFETIME.total_seconds():
        return False
    if now - seen_at >= SEEN_PRECISION.total_seconds():
        session["seen_at"] = now
    return True


def safe_next(target: str | None, default: str) -> str:
    """A local path to go back to after logging in; anything else (other host, scheme, //) → default."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or any(ord(ch) < 32 for ch in target):
        return default
    return target


def role_required(*roles: Role) -> Callable[[F], F]:
    """Only accounts with one of ``roles``: others get 403, visitors go to the log-in page."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                endpoint = LOGIN_ENDPOINTS.get(roles[0], "public.index") if roles else "public.index"
                return redirect(url_for(endpoint, next=request.full_path.rstrip("?")))
            if roles and user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate


WRONG_PASSWORD = "Adresse e-mail ou mot de passe incorrect."  # noqa: S105 - a message


def too_many_attempts(seconds: int, hint: str = "") -> str:
    """« Trop de tentatives : réessayez dans 8 secondes. » (minutes past two minutes)."""
    if seconds < 120:
        wait = f"{seconds} seconde{'s' if seconds > 1 else ''}"
    else:
        wait = f"{-(-seconds // 60)} minutes"
    return f"Trop de tentatives : réessayez dans {wait}{hint}."


def slowed_down(template: str, error: accounts.TooManyAttempts, **context: Any) -> BaseResponse:
    """The page again with the wait, as 429 with Retry-After."""
    response = current_app.make_response((render_template(template, **context), 429))
    response.headers["Retry-After"] = str(error.retry_after)
    return response


def log_in_form(
    template: str, allowed: Callable[[UserAccount], bool], *, too_many_hint: str = ""
) -> tuple[Any, UserAccount | BaseResponse | tuple[str, int]]:
    """A log-in page's form and the account it names, or the page (again) to send back.

    The drivers' and the coordinators' pages differ only by ``template``, by who
    may log in there and by what they do next.
    """
    from carpool.web.forms import LoginForm, form_page

    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if not form.validate_on_submit():
        return form, form_page(template, form)
    return form, check_log_in(form, template, allowed, too_many_hint=too_many_hint)


def check_log_in(
    form: Any, template: str, allowed: Callable[[UserAccount], bool], *, too_many_hint: str = ""
) -> UserAccount | BaseResponse | tuple[str, int]:
    """The account a submitted log-in form names, or the form again with its message.

    Failed attempts are committed (they feed the throttles); an account of the wrong
    kind gets the same answer as a wrong password.
    """
    session = db_session()
    try:
        user = accounts.authenticate(
            session, form.email.data or "", form.password.data or "", clock(), client=client_key()
        )
    except accounts.TooManyAttempts as error:
        session.commit()  # failures noted before the wait was known (an unknown e-mail) are kept
        form.password.errors = [too_many_attempts(error.retry_after, too_many_hint)]
        return slowed_down(template, error, form=form)
    if user is None or not allowed(user):
        session.commit()
        form.password.errors = [WRONG_PASSWORD]
        return render_template(template, form=form), 422
    session.commit()
    return user


def log_out_and_go(target: str) -> BaseResponse:
    """The log-out button's view (CSRF-checked form): end every session, say so, go to ``target``."""
    from carpool.web.forms import check_action

    check_action()
    logout()
    db_session().commit()
    flash("Vous êtes déconnecté.")
    return redirect(target)
