"""Helpers of the drivers' web and API tests: log in, read pages (row builders are in factories)."""

from __future__ import annotations

import html
import re

import sqlalchemy as sa

from carpool.models import (
    UserAccount,
)
from carpool.text import normalise_mobile
from support.factories import FIRST_PHONE, sent_code

#: The offer form as a driver fills it: Figeac → the hospital, Tuesday 1 December at 8:00.
OFFER_FORM = {
    "origin": "Figeac",
    "destination": "Centre hospitalier de Cahors",
    "day": "2026-12-01",
    "depart": "08:00",
    "flex_min": "15",
    "seats": "3",
    "max_detour_min": "20",
}


def prove_phone_on_the_web(client, phone: str = FIRST_PHONE) -> str:
    """The sign-up's first two steps as a person does them; returns the phone in E.164."""
    response = client.post("/conducteurs/inscription/numero", data={"phone": phone})
    assert response.status_code == 302, response.get_data(as_text=True)
    database = client.application.config["DATABASE"]
    e164 = normalise_mobile(phone)
    with database.session() as session:
        code = sent_code(session, e164)
    response = client.post("/conducteurs/inscription/code", data={"code": code})
    assert response.status_code == 302, response.get_data(as_text=True)
    return e164


def log_in(client, user: UserAccount) -> None:
    """Put the account in the client's session cookie, as a successful log-in does."""
    now = int(client.application.extensions["carpool.clock"].now().timestamp())
    with client.session_transaction() as cookie:
        cookie["user_id"] = user.id
        cookie["session_version"] = user.session_version
        cookie["login_at"] = cookie["seen_at"] = now


def csrf_token(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def count(session, model) -> int:
    """Rows of ``model``; ends the read at once (on SQLite a reading test would hold the write lock)."""
    n = session.scalar(sa.select(sa.func.count()).select_from(model))
    session.commit()
    return n


def one(session, query):
    """``session.scalars(query).one()`` from fresh data, ending the transaction straight away."""
    row = session.scalars(query.execution_options(populate_existing=True)).one()
    session.commit()
    return row


def text(response) -> str:
    """The page as a person reads it (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))
