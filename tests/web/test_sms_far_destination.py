"""A resident asks by SMS for a commune this database has not imported: it is imported, not a 500."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from support.factories import RESIDENT_PHONE, post_text

from carpool.db import Database, point
from carpool.models import Commune, NamedPlace, OutboundMessage, Request
from carpool.services.places import forget_commune_labels

NANCY = "54395"


@pytest.fixture
def forget_nancy(_shared_database: Database) -> Iterator[None]:
    """Set up before ``db``, so torn down after it: the requests are gone, Nancy can go too."""
    yield
    with _shared_database.session() as session:
        session.execute(sa.delete(Commune).where(Commune.insee == NANCY))
    forget_commune_labels()


def test_a_far_commune_named_in_an_sms_is_imported_and_the_request_created(
    forget_nancy, client, db, resident
):
    response = post_text(client, "rdv à Nancy mardi 10h", RESIDENT_PHONE)

    assert response.status_code == 200
    with db.session() as session:
        request = session.scalars(sa.select(Request)).one()
        assert request.dropoff_commune_insee == NANCY
        assert session.get_one(Commune, NANCY).name == "Nancy"
        (reply,) = session.scalars(
            sa.select(OutboundMessage.body).where(OutboundMessage.to_phone == RESIDENT_PHONE)
        )
    assert "Nancy" in reply


def test_the_associations_own_place_named_in_an_sms_becomes_the_destination(
    client, db, session, association, resident
):
    session.add(
        NamedPlace(
            association_id=association.id,
            name="Maison de santé de Lalbenque",
            kind="medecin",
            commune_insee="46148",
            point=point(1.546, 44.338),
        )
    )
    session.commit()

    post_text(client, "rdv maison de santé de Lalbenque mardi 10h", RESIDENT_PHONE)

    with db.session() as session:
        request = session.scalars(sa.select(Request)).one()
        assert request.dropoff_commune_insee == "46148"
        (reply,) = session.scalars(
            sa.select(OutboundMessage.body).where(OutboundMessage.to_phone == RESIDENT_PHONE)
        )
    assert "Maison de santé de Lalbenque" in reply
