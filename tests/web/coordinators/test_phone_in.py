"""A coordinator takes a request on the phone: find or add the caller, then the trip, then options."""

from __future__ import annotations

from datetime import time

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, text
from support.factories import add_driver, add_offer, add_resident

from carpool.clock import PARIS
from carpool.models import AuditEvent, Request, RequestSource, Resident

TRIP = {"destination": "Cahors", "day": "2026-12-01", "arrive_by": "10:00", "passengers": "1", "purpose": ""}


def test_the_caller_is_found_by_name_without_accents_or_by_phone(coord_client, session, association):
    add_resident(session, association, first_name="Hélène")
    session.commit()
    assert "Hélène Delpech" in text(coord_client.get("/coordination/appel?q=helene"))
    phone = session.scalars(sa.select(Resident.phone)).one()
    session.rollback()  # SQLite: a test transaction left open would hold the write lock
    national = "0" + phone[3:]
    spaced = " ".join(national[i : i + 2] for i in range(0, 10, 2))
    assert "Hélène Delpech" in text(coord_client.get(f"/coordination/appel?q={spaced}"))


def test_a_new_caller_is_added_then_the_trip_form_opens(coord_client, session):
    response = coord_client.post(
        "/coordination/appel/nouveau",
        data={
            "first_name": "Odette",
            "last_name": "Lacombe",
            "phone": "06 39 97 55 44",
            "home_commune": "Cajarc",
        },
    )
    resident = session.scalars(sa.select(Resident)).one()
    assert response.headers["Location"].endswith(f"/coordination/appel?habitant={resident.id}")
    assert resident.phone == "+33639975544"


def test_a_new_caller_with_a_bad_number_is_refused_and_not_saved(coord_client, session):
    response = coord_client.post(
        "/coordination/appel/nouveau",
        data={"first_name": "Odette", "last_name": "Lacombe", "phone": "12", "home_commune": "Cajarc"},
    )
    assert response.status_code == 422
    assert count(session, Resident) == 0


def test_a_phone_request_is_saved_and_shows_the_options_at_once(coord_client, session, association):
    add_offer(session, add_driver(session, association), depart=time(8, 0))
    resident = add_resident(session, association)
    session.commit()
    response = coord_client.post(f"/coordination/appel/{resident.id}", data=TRIP)
    request = session.scalars(sa.select(Request)).one()
    assert response.headers["Location"].endswith(f"/coordination/demandes/{request.id}")
    assert (request.source, request.latest.astimezone(PARIS).hour) == (RequestSource.PHONE, 10)
    assert request.purpose.value == "other"
    session.rollback()
    page = text(coord_client.get(response.headers["Location"]))
    assert "Solutions trouvées" in page and "Sophie Delmas" in page
    assert session.scalar(sa.select(AuditEvent.action).where(AuditEvent.subject_type == "Request")) == (
        "request.created"
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"destination": "Atlantide"}, "Atlantide"),
        ({"day": "2026-11-01"}, "Cette date est passée."),
        ({"arrive_by": ""}, "Indiquez l&#39;heure du rendez-vous"),
        ({"passengers": "12"}, "Entre 1 et 8 personnes."),
        ({"return_at": "09:00"}, "Le retour doit être après le rendez-vous."),
        ({"return_at": "11:30", "return_latest": "11:00"}, "La rentrée au plus tard doit être après"),
        ({"return_latest": "13:00"}, "Indiquez l&#39;heure du retour avant"),
        ({"destination": "Cajarc"}, "même commune"),
        ({"purpose": "voyance"}, "Choisissez une valeur de la liste."),
        ({"destination": "<script>alert(1)</script>"}, "&lt;script&gt;"),
    ],
)
def test_a_bad_phone_request_is_refused_on_its_field_and_nothing_saved(
    coord_client, session, association, changes, message
):
    resident = add_resident(session, association)
    session.commit()
    response = coord_client.post(f"/coordination/appel/{resident.id}", data={**TRIP, **changes})
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert count(session, Request) == 0


def test_another_associations_resident_cannot_be_used(coord_client, session, other_association):
    stranger = add_resident(session, other_association, first_name="Marcel")
    session.commit()
    assert coord_client.get(f"/coordination/appel?habitant={stranger.id}").status_code == 404
    assert coord_client.post(f"/coordination/appel/{stranger.id}", data=TRIP).status_code == 404
    assert "Marcel Delpech" not in text(coord_client.get("/coordination/appel?q=Marcel"))
    assert count(session, Request) == 0


def test_needs_said_on_the_phone_update_the_residents_record(coord_client, session, association):
    resident = add_resident(session, association)
    session.commit()
    page = text(coord_client.get(f"/coordination/appel?habitant={resident.id}"))
    assert "Fauteuil roulant" in page
    coord_client.post(f"/coordination/appel/{resident.id}", data={**TRIP, "wheelchair": "y"})
    session.expire_all()
    assert session.get(Resident, resident.id).needs == frozenset({"wheelchair"})


def test_a_return_is_home_by_the_associations_window_unless_told(coord_client, session, association):
    association.return_window_min = 60
    resident = add_resident(session, association)
    session.commit()
    coord_client.post(f"/coordination/appel/{resident.id}", data={**TRIP, "return_at": "11:30"})
    request = session.scalars(sa.select(Request)).one()
    assert request.return_latest.astimezone(PARIS).time() == time(12, 30)
    assert request.one_way is False


def test_a_return_latest_and_a_one_way_said_on_the_phone_are_kept(coord_client, session, association):
    resident = add_resident(session, association)
    session.commit()
    coord_client.post(
        f"/coordination/appel/{resident.id}",
        data={**TRIP, "return_at": "11:30", "return_latest": "14:00", "one_way": "y"},
    )
    request = session.scalars(sa.select(Request)).one()
    assert (request.return_latest.astimezone(PARIS).time(), request.one_way) == (time(14, 0), True)
