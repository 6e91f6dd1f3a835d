"""What every coordinator view needs: who is there, their association, scoped look-ups, audit."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any, TypeVar, cast

from flask import abort, flash, redirect, url_for
from werkzeug.wrappers import Response as BaseResponse

from carpool.clock import PARIS, Clock
from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import Association, Role, UserAccount
from carpool.services import audit
from carpool.web import auth
from carpool.web.forms import check_action
from carpool.web.forms import form_page as form_page  # re-exported: the views take them from here
from carpool.web.forms import invalid as invalid

T = TypeVar("T")
View = str | BaseResponse | tuple[str, int]

#: Coordinators and admins of an association; admins also edit its settings and accounts.
coordinator_required = auth.role_required(Role.COORDINATOR, Role.ADMIN)
admin_required = auth.role_required(Role.ADMIN)


def me() -> UserAccount:
    """The logged-in coordinator (the decorator has checked the role)."""
    user = auth.current_user()
    if user is None or not user.is_coordinator:
        abort(403)
    return user


def actor() -> str:
    return f"user:{me().id}"


def association_id() -> int:
    return me().association_id


def association() -> Association:
    return db_session().get_one(Association, association_id())


def clock() -> Clock:
    return auth.clock()


def now() -> datetime:
    return clock().now()


def today() -> date:
    return now().astimezone(PARIS).date()


def saved(message: str, endpoint: str, **values: Any) -> BaseResponse:
    """Commit the request's work, say so, and show the page it belongs to (post, redirect, get)."""
    db_session().commit()
    flash(message)
    return redirect(url_for(endpoint, **values))


def refused(error: InvalidInput, endpoint: str, **values: Any) -> BaseResponse:
    """Undo the request's work, say why in red, and go back to the page the form was on."""
    db_session().rollback()
    flash(" ".join(error.errors.values()), "error")
    return redirect(url_for(endpoint, **values))


def scoped(model: type[T], record_id: int, *, via: Callable[[Any], int] | None = None) -> T:
    """The record ``record_id`` if it belongs to the coordinator's association, else 404.

    ``via`` gives the association of records that do not carry it themselves
    (an offer through its driver, a match through its request).
    """
    record = db_session().get(model, record_id)
    if record is None:
        abort(404)
    owner = via(record) if via is not None else cast(Any, record).association_id
    if owner != association_id():
        abort(404)
    return record


def posted(model: type[T], record_id: int) -> T:
    """The association's record acted on by a one-button form with its CSRF token (else 404 / 400)."""
    found = scoped(model, record_id)
    check_action()
    return found


def record(action: str, subject: Any = None, **details: Any) -> None:
    """Audit a coordinator's action in their association (commits with the change)."""
    audit.record(db_session(), actor(), action, subject=subject, association_id=association_id(), **details)
