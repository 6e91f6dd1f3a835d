"""The demo holds two associations on one instance: the rural Lot and urban Argenteuil – Cergy."""

from __future__ import annotations

import sqlalchemy as sa
from support.factories import TEST_BOX

from carpool.models import Association, Driver, Resident
from carpool.services.demo import DEMO_ASSOCIATION, DEMO_PASSWORD, VAL_DOISE, seed_demo
from carpool.text import display_phone


def test_the_urban_association_has_its_own_number_people_and_town_speed(db, clock):
    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)
    with db.session() as session:
        lot, town = (
            session.scalars(sa.select(Association).where(Association.name == name)).one()
            for name in (DEMO_ASSOCIATION, VAL_DOISE.association)
        )
        homes = session.scalars(
            sa.select(Resident.home_commune_insee).where(Resident.association_id == town.id)
        )
        drivers = session.scalar(
            sa.select(sa.func.count()).select_from(Driver).where(Driver.association_id == town.id)
        )
        assert town.sms_number != lot.sms_number
        assert (town.departements, town.road_speed_kmh, lot.road_speed_kmh) == ("95", 25, 50)
        assert all(insee.startswith("95") for insee in homes)
        assert drivers == VAL_DOISE.drivers


def test_the_urban_coordinator_logs_in_with_a_password_and_sees_only_their_association(
    db, clock, client, no_csrf
):
    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)

    answer = client.post(
        "/coordination/connexion", data={"email": "coord95@demo.test", "password": DEMO_PASSWORD}
    )
    assert answer.status_code == 302 and answer.headers["Location"].endswith("/coordination/")
    page = client.get("/coordination/habitants").get_data(as_text=True)

    with db.session() as session:
        phones = {
            name: [
                display_phone(phone)
                for phone in session.scalars(
                    sa.select(Resident.phone)
                    .join(Association, Association.id == Resident.association_id)
                    .where(Association.name == name)
                )
            ]
            for name in (DEMO_ASSOCIATION, VAL_DOISE.association)
        }
    assert [phone for phone in phones[VAL_DOISE.association] if phone in page]
    assert not [phone for phone in phones[DEMO_ASSOCIATION] if phone in page]
    assert "Figeac" not in page and "Cahors" not in page
