"""A resident's texts are theirs alone: never a driver's, another association's or another person's.

The attack (issue 15, finding 2): a driver asks for a password reset; someone registers a
"resident" with the driver's number and reads the reset link on the resident's data page.
"""

from __future__ import annotations

import json

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, text
from support.factories import add_driver_account, add_resident

from carpool.models import InboundMessage, OutboundMessage, Resident

DRIVER_PHONE = "+33639981001"  # add_driver_account's default number ("06 39 98 10 01")
RESET_PATH = "/conducteurs/mot-de-passe/"
NEW = "/coordination/habitants/nouveau"
NEW_CALLER = "/coordination/appel/nouveau"
FORM = {
    "first_name": "Faux",
    "last_name": "Habitant",
    "phone": "06 39 98 10 01",
    "home_commune": "Cajarc (46160)",
    "consent": "y",
}


def url(resident, tail: str = "") -> str:
    return f"/coordination/habitants/{resident.id}{tail}"


def request_reset(app, email: str = "sophie@example.org") -> None:
    """The driver, in their own browser, asks for a reset link by SMS."""
    app.config["WTF_CSRF_ENABLED"] = False
    response = app.test_client().post("/conducteurs/mot-de-passe-oublie", data={"email": email})
    assert response.status_code == 302


def reset_sms(session) -> OutboundMessage:
    row = session.scalars(sa.select(OutboundMessage).where(OutboundMessage.body.contains(RESET_PATH))).one()
    session.commit()
    return row


def impostor(session, association, phone: str = DRIVER_PHONE) -> Resident:
    """A resident row holding a driver's number, as registered before the refusal existed."""
    person = add_resident(session, association, first_name="Faux")
    person.phone = phone
    session.commit()
    return person


def driver_replies(session, association) -> None:
    """The driver texts the association's number (not the resident's text: no resident id)."""
    text_in = InboundMessage(message_sid="SMdriver", association_id=association.id, from_phone=DRIVER_PHONE)
    text_in.body = "OK"
    session.add(text_in)
    session.commit()


@pytest.fixture
def sophie(session, association, clock):
    return add_driver_account(session, association, clock)


# --- the number of a driver is refused -----------------------------------------------------


def test_a_resident_cannot_be_registered_with_a_drivers_number(app, coord_client, session, sophie):
    request_reset(app)

    response = coord_client.post(NEW, data=FORM)

    assert response.status_code == 422
    assert "conducteur" in text(response)
    assert count(session, Resident) == 0


def test_the_new_caller_form_refuses_a_drivers_number_too(coord_client, session, sophie):
    response = coord_client.post(NEW_CALLER, data=FORM)

    assert response.status_code == 422
    assert "conducteur" in text(response)
    assert count(session, Resident) == 0


def test_a_resident_cannot_be_given_a_drivers_number_later(coord_client, session, association, sophie):
    person = add_resident(session, association)
    session.commit()
    former = person.phone

    response = coord_client.post(url(person, "/modifier"), data={**FORM, "first_name": "Jeanne"})

    assert response.status_code == 422
    assert "conducteur" in text(response)
    session.expire_all()
    assert session.get(Resident, person.id).phone == former


def test_the_number_of_a_driver_of_another_association_may_be_a_resident_here(
    session, coord_client, other_association, clock
):
    add_driver_account(session, other_association, clock)

    response = coord_client.post(NEW, data=FORM)

    assert response.status_code == 302
    assert count(session, Resident) == 1


# --- what the data page and the export show -------------------------------------------------


def test_the_data_page_never_shows_a_drivers_reset_link(app, coord_client, session, association, sophie):
    person = impostor(session, association)
    request_reset(app)
    sms = reset_sms(session)

    page = text(coord_client.get(url(person, "/donnees")))

    assert sms.body not in page and RESET_PATH not in page


def test_the_json_export_never_holds_a_drivers_texts(app, coord_client, session, association, sophie):
    person = impostor(session, association)
    request_reset(app)
    driver_replies(session, association)

    data = json.loads(coord_client.get(url(person, "/export.json")).get_data(as_text=True))

    assert data["sms_sent"] == [] and data["sms_received"] == []


def test_another_associations_texts_are_never_shown(app, coord_client, session, other_association, clock):
    add_driver_account(session, other_association, clock, email="marc@example.org")
    created = coord_client.post(NEW, data=FORM)
    assert created.status_code == 302
    person = session.scalars(sa.select(Resident)).one()
    session.commit()
    request_reset(app, "marc@example.org")  # sent by Argenteuil to the same number

    data = json.loads(coord_client.get(url(person, "/export.json")).get_data(as_text=True))
    page = text(coord_client.get(url(person, "/donnees")))

    assert data["sms_sent"] == []
    assert RESET_PATH not in page


# --- erasure touches that person only --------------------------------------------------------


def test_erasing_a_resident_leaves_the_drivers_texts_on_the_same_number(
    app, coord_client, session, association, sophie
):
    person = impostor(session, association)
    request_reset(app)
    driver_replies(session, association)
    sent = reset_sms(session)
    sent_id, body = sent.id, sent.body

    response = coord_client.post(url(person, "/effacer"), data={"confirm": "y"})

    assert response.status_code == 302
    session.expire_all()
    kept = session.get(OutboundMessage, sent_id)
    received = session.scalars(sa.select(InboundMessage)).one()
    assert (kept.to_phone, kept.body) == (DRIVER_PHONE, body)
    assert (received.from_phone, received.body) == (DRIVER_PHONE, "OK")
