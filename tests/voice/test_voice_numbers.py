"""Numbers typed by people: parsed and typed by libphonenumber; a resident's channel follows."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from support.drivers_kit import text
from support.factories import TEST_BOX

from carpool.errors import InvalidInput
from carpool.models import Resident
from carpool.text import PhoneKind, normalise_mobile, normalise_phone, phone_kind

NEW = "/coordination/habitants/nouveau"
FORM = {"first_name": "Marcel", "last_name": "Vidal", "home_commune": "Cajarc", "consent": "y"}


@pytest.mark.parametrize(
    ("typed", "e164", "kind"),
    [
        ("05 65 12 34 56", "+33565123456", PhoneKind.LANDLINE),
        ("05.36.49.12.01", "+33536491201", PhoneKind.LANDLINE),
        ("+33 (0)5 36 49 12 01", "+33536491201", PhoneKind.LANDLINE),
        ("09 71 23 45 67", "+33971234567", PhoneKind.LANDLINE),
        ("0033 6 12 34 56 78", "+33612345678", PhoneKind.MOBILE),
        ("06 39 98 12 34", "+33639981234", PhoneKind.MOBILE),  # ARCEP's fiction range
    ],
)
def test_a_french_mobile_or_landline_is_parsed_and_typed(typed, e164, kind):
    assert (normalise_phone(typed), phone_kind(typed)) == (e164, kind)


@pytest.mark.parametrize("typed", ["08 99 12 34 56", "3615", "+44 7700 900123", "06 12", "", "téléphone"])
def test_premium_short_foreign_and_malformed_numbers_are_refused_in_french(typed):
    with pytest.raises(InvalidInput) as refused:
        normalise_phone(typed)
    assert refused.value.errors["phone"].startswith("Indiquez un numéro de téléphone français")


def test_a_landline_is_still_refused_where_a_mobile_is_needed():
    with pytest.raises(InvalidInput) as refused:
        normalise_mobile("05 65 12 34 56")
    assert "pas un portable" in refused.value.errors["phone"]


def registered(session) -> Resident:
    return session.scalars(sa.select(Resident)).one()


def test_a_landline_resident_is_called_by_default(coord_client, session):
    response = coord_client.post(NEW, data={**FORM, "phone": "05 36 49 12 01"})
    assert response.status_code == 302
    assert (registered(session).phone, registered(session).channel) == ("+33536491201", "voice")


def test_a_mobile_resident_gets_sms_by_default_and_may_prefer_calls(coord_client, session):
    coord_client.post(NEW, data={**FORM, "phone": "06 39 96 11 11", "channel": "sms+voice"})
    assert registered(session).channel == "sms+voice"


def test_sms_to_a_landline_is_refused_with_a_message(coord_client, session):
    response = coord_client.post(NEW, data={**FORM, "phone": "05 36 49 12 01", "channel": "sms"})
    assert response.status_code == 422
    assert "Un téléphone fixe ne reçoit pas les SMS" in text(response)
    assert session.scalars(sa.select(Resident)).all() == []


def test_a_nonsense_channel_is_refused(coord_client, session):
    response = coord_client.post(NEW, data={**FORM, "phone": "06 39 96 11 12", "channel": "fax"})
    assert response.status_code == 422
    assert session.scalars(sa.select(Resident)).all() == []


def test_the_channel_can_be_changed_on_the_residents_card(coord_client, session):
    coord_client.post(NEW, data={**FORM, "phone": "06 39 96 11 13"})
    resident = registered(session)
    session.commit()
    edit = f"/coordination/habitants/{resident.id}/modifier"
    assert re.search(
        r'<input checked id="channel-\d" name="channel" type="radio" value="sms"',
        coord_client.get(edit).get_data(as_text=True),
    )
    coord_client.post(edit, data={**FORM, "phone": "06 39 96 11 13", "channel": "voice"})
    session.expire_all()
    assert resident.channel == "voice"


def test_a_caller_registered_on_the_phone_in_form_chooses_a_channel_too(coord_client, session):
    assert "Comment la prévenir" in text(coord_client.get("/coordination/appel?q=Personne"))
    response = coord_client.post("/coordination/appel/nouveau", data={**FORM, "phone": "05 36 49 12 02"})
    assert response.status_code == 302
    assert registered(session).channel == "voice"


def test_the_demo_has_landline_residents_in_the_fiction_range_and_a_mobile_owner_who_prefers_calls(
    session, clock
):
    from carpool.services.demo import seed_demo

    seed_demo(session, TEST_BOX, clock=clock)
    people = session.scalars(sa.select(Resident)).all()
    landlines = [r for r in people if r.phone.startswith("+3353649")]
    assert len(landlines) >= 5 and {r.channel for r in landlines} == {"voice"}
    assert [r for r in people if phone_kind(r.phone) is PhoneKind.MOBILE and r.channel == "voice"]
    session.rollback()


def test_the_residents_card_says_how_they_are_reached(coord_client, landline):
    page = text(coord_client.get(f"/coordination/habitants/{landline.id}"))
    assert "<dt>Prévenu par</dt><dd>appels téléphoniques</dd>" in page
