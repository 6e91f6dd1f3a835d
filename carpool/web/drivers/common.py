"""What every driver view needs: who is there, the time, the form error page, the filters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import abort
from sqlalchemy.orm import Session
from werkzeug.wrappers import Response as BaseResponse

from carpool.clock import PARIS
from carpool.extensions import db_session
from carpool.models import Driver, Offer, Role, UserAccount
from carpool.services import drivers, offers
from carpool.web import auth
from carpool.web.drivers import bp
from carpool.web.forms import ActionForm
from carpool.web.forms import form_page as form_page  # re-exported: the views take them from here
from carpool.web.forms import invalid as invalid

driver_required = auth.role_required(Role.DRIVER)
View = str | BaseResponse | tuple[str, int]


def me() -> tuple[UserAccount, Driver]:
    """The logged-in driver (the decorator has checked the role)."""
    user = auth.current_user()
    driver = drivers.driver_of(db_session(), user) if user else None
    if user is None or driver is None:
        abort(403)
    return user, driver


def driver_and_session() -> tuple[Driver, Session]:
    """The logged-in driver and the request's session: what most driver pages start from."""
    return me()[1], db_session()


def now() -> datetime:
    return auth.clock().now()


def today() -> date:
    return now().astimezone(PARIS).date()


@bp.app_context_processor
def inject() -> dict[str, Any]:
    return {"current_user": auth.current_user, "logout_form": ActionForm}


def offer_labels(items: list[Offer]) -> dict[int, tuple[str, str]]:
    return offers.offer_labels(db_session(), items)
