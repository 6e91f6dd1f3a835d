"""Réglages → ligne téléphonique: on-duty phone, office hours per weekday, masking; admins only."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from support.drivers_kit import log_in, text
from support.factories import add_coordinator

from carpool.models import Association, AuditEvent, Role
from carpool.services.association_settings import in_office_hours

URL = "/coordination/reglages/ligne"


def line(**fields: str) -> dict[str, str]:
    form = {f"{edge}_{day}": "" for day in range(7) for edge in ("opens", "closes")}
    return {**form, "on_duty_phone": "06 39 98 55 55", **fields}


@pytest.fixture
def admin_client(client, no_csrf, session, association):
    log_in(client, add_coordinator(session, association, email="admin@example.org", role=Role.ADMIN))
    return client


def saved_line(session, association_id: int) -> tuple:
    session.expire_all()
    association = session.get_one(Association, association_id)
    row = (association.on_duty_phone, association.office_hours, association.number_masking)
    session.rollback()
    return row


def test_an_admin_sets_the_on_duty_phone_the_hours_and_masking(admin_client, session, association):
    answer = admin_client.post(
        URL,
        data=line(opens_0="9h", closes_0="12:30", opens_4="14:00", closes_4="17 h", number_masking="y"),
        follow_redirects=True,
    )

    assert "Les réglages de la ligne téléphonique sont enregistrés." in text(answer)
    assert saved_line(session, association.id) == (
        "+33639985555",
        {"0": ["09:00", "12:30"], "4": ["14:00", "17:00"]},
        True,
    )
    event = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "association.settings_changed")
    ).one()
    assert "+33639985555" not in str(event.details)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"opens_1": "9:00"}, "Indiquez l'ouverture et la fermeture du mardi"),
        ({"opens_2": "18:00", "closes_2": "09:00"}, "Le mercredi, l'ouverture doit précéder la fermeture."),
        ({"opens_3": "25h", "closes_3": "26h"}, "Indiquez l'ouverture et la fermeture du jeudi"),
        ({"on_duty_phone": "12 34"}, "Indiquez un numéro de téléphone français à 10 chiffres"),
        (
            {"on_duty_phone": "", "opens_0": "9:00", "closes_0": "12:00"},
            "Indiquez le téléphone de permanence",
        ),
    ],
)
def test_bad_hours_or_phone_get_a_french_message_and_change_nothing(
    admin_client, session, association, fields, message
):
    answer = admin_client.post(URL, data=line(**fields))

    assert answer.status_code == 422
    assert message in text(answer)
    assert saved_line(session, association.id) == (None, {}, False)


def test_coordinators_who_are_not_admins_cannot_change_the_line(coord_client, session, association):
    assert coord_client.post(URL, data=line(opens_0="9:00", closes_0="12:00")).status_code == 403
    assert saved_line(session, association.id) == (None, {}, False)


def test_the_page_shows_the_saved_hours_for_each_weekday(admin_client, session, association):
    association.office_hours = {"0": ["09:00", "12:00"]}
    association.on_duty_phone = "+33639985555"
    session.commit()

    page = text(admin_client.get("/coordination/reglages"))

    assert "Ligne téléphonique" in page
    assert 'value="09:00"' in page and 'value="06 39 98 55 55"' in page
    assert '<label class="visually-hidden" for="opens_6">Dimanche : ouverture</label>' in page


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (datetime(2026, 11, 23, 8, 0, tzinfo=UTC), True),  # Monday 9:00 in Paris
        (datetime(2026, 11, 23, 7, 59, tzinfo=UTC), False),
        (datetime(2026, 11, 23, 11, 0, tzinfo=UTC), False),  # 12:00 in Paris: closed
        (datetime(2026, 11, 24, 9, 0, tzinfo=UTC), False),  # Tuesday: no hours
    ],
)
def test_office_hours_are_read_in_paris_time(moment, open_):
    association = Association(name="x", office_hours={"0": ["09:00", "12:00"]})

    assert in_office_hours(association, moment) is open_
