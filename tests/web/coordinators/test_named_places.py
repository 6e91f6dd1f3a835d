"""The named places' registry: add, edit, archive and restore; shared places are read-only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, log_in, one, text
from support.factories import CAHORS, FIGEAC

from carpool.db import point
from carpool.models import AuditEvent, NamedPlace

PLACE = {
    "name": "Pharmacie du Lot",
    "kind": "pharmacie",
    "commune": "Figeac",
    "latitude": "",
    "longitude": "",
}


@pytest.fixture
def own_place(session, association):
    place = NamedPlace(
        association_id=association.id,
        name="Marché de Figeac",
        kind="marche",
        commune_insee=FIGEAC,
        point=point(2.0317, 44.6086),
    )
    session.add(place)
    session.commit()
    return place


def shared_place(session) -> NamedPlace:
    return one(session, sa.select(NamedPlace).where(NamedPlace.association_id.is_(None)).limit(1))


def fresh(session, place) -> NamedPlace:
    return one(session, sa.select(NamedPlace).where(NamedPlace.id == place.id))


def test_the_registry_lists_own_and_shared_places(coord_client, own_place):
    page = text(coord_client.get("/coordination/lieux"))

    assert "Marché de Figeac" in page and "Centre hospitalier de Cahors" in page
    assert "<caption>Lieux du registre commun" in page


def test_a_new_place_is_added_and_audited(coord_client, session, association):
    response = coord_client.post("/coordination/lieux/nouveau", data=PLACE)

    assert response.status_code == 302
    place = one(session, sa.select(NamedPlace).where(NamedPlace.association_id == association.id))
    assert (place.name, place.commune_insee) == ("Pharmacie du Lot", FIGEAC)
    assert count(session, AuditEvent) >= 1


def test_the_new_place_form_has_labels_and_the_commune_list(coord_client):
    page = text(coord_client.get("/coordination/lieux/nouveau"))

    assert '<label for="commune">' in page and '<datalist id="communes">' in page and "Cahors (46000)" in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"commune": "Atlantide"}, "Nous ne connaissons pas la commune « Atlantide »"),
        ({"latitude": "2,03", "longitude": "44,6"}, "Indiquez la latitude en degrés décimaux"),
        ({"latitude": "44,6"}, "Indiquez aussi la longitude"),
        ({"latitude": "48,85", "longitude": "2,35"}, "à plus de 30 km de Figeac"),
        ({"name": ""}, "Indiquez le nom du lieu."),
    ],
)
def test_a_bad_new_place_comes_back_with_the_reason(coord_client, session, changes, message):
    before = count(session, NamedPlace)

    response = coord_client.post("/coordination/lieux/nouveau", data={**PLACE, **changes})

    assert response.status_code == 422
    assert message in text(response)
    assert count(session, NamedPlace) == before


def test_a_place_is_edited(coord_client, session, own_place):
    data = {**PLACE, "name": "Marché couvert", "kind": "marche", "commune": "46000 Cahors"}

    response = coord_client.post(f"/coordination/lieux/{own_place.id}/modifier", data=data)

    assert response.status_code == 302
    assert (fresh(session, own_place).name, fresh(session, own_place).commune_insee) == (
        "Marché couvert",
        CAHORS,
    )


def test_the_edit_form_starts_from_the_place(coord_client, own_place):
    page = text(coord_client.get(f"/coordination/lieux/{own_place.id}/modifier"))

    assert (
        'value="Marché de Figeac"' in page and 'value="Figeac (46100)"' in page and 'value="44,60860"' in page
    )


def test_a_bad_edit_leaves_the_place_unchanged(coord_client, session, own_place):
    data = {**PLACE, "name": "Autre nom", "latitude": "91", "longitude": "2"}

    response = coord_client.post(f"/coordination/lieux/{own_place.id}/modifier", data=data)

    assert response.status_code == 422
    assert fresh(session, own_place).name == "Marché de Figeac"


def test_an_archived_place_leaves_the_suggestions_and_can_come_back(coord_client, session, own_place):
    assert coord_client.post(f"/coordination/lieux/{own_place.id}/archiver").status_code == 302
    assert fresh(session, own_place).archived_at is not None
    assert "Lieux archivés" in text(coord_client.get("/coordination/lieux"))

    assert coord_client.post(f"/coordination/lieux/{own_place.id}/restaurer").status_code == 302
    assert fresh(session, own_place).archived_at is None


def test_shared_places_cannot_be_edited_nor_archived(coord_client, session):
    shared = shared_place(session)

    edited = coord_client.post(f"/coordination/lieux/{shared.id}/modifier", data={**PLACE, "name": "Piraté"})
    archived = coord_client.post(f"/coordination/lieux/{shared.id}/archiver")

    assert (edited.status_code, archived.status_code) == (404, 404)
    assert fresh(session, shared).name != "Piraté" and fresh(session, shared).archived_at is None


def test_another_association_s_place_is_not_found(coord_client, session, other_association):
    theirs = NamedPlace(
        association_id=other_association.id,
        name="Mairie secrète",
        kind="mairie",
        commune_insee=CAHORS,
        point=point(1.44, 44.45),
    )
    session.add(theirs)
    session.commit()

    answers = [
        coord_client.get(f"/coordination/lieux/{theirs.id}/modifier"),
        coord_client.post(f"/coordination/lieux/{theirs.id}/modifier", data=PLACE),
        coord_client.post(f"/coordination/lieux/{theirs.id}/archiver"),
        coord_client.post(f"/coordination/lieux/{theirs.id}/restaurer"),
    ]

    assert [a.status_code for a in answers] == [404] * 4
    assert "Mairie secrète" not in text(coord_client.get("/coordination/lieux"))
    assert fresh(session, theirs).name == "Mairie secrète" and fresh(session, theirs).archived_at is None


def test_changes_without_the_csrf_token_are_refused(client, session, coordinator, own_place):
    log_in(client, coordinator)
    before = count(session, NamedPlace)

    assert client.post(f"/coordination/lieux/{own_place.id}/archiver").status_code == 400
    assert client.post("/coordination/lieux/nouveau", data=PLACE).status_code == 400
    assert fresh(session, own_place).archived_at is None and count(session, NamedPlace) == before


def test_a_hundred_places_are_listed_in_a_few_queries(coord_client, session, association, db):
    for n in range(100):
        session.add(
            NamedPlace(
                association_id=association.id,
                name=f"Lieu {n}",
                kind="autre",
                commune_insee=FIGEAC,
                point=point(2.03, 44.6),
            )
        )
    session.commit()
    statements = []
    sa.event.listen(db.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))

    response = coord_client.get("/coordination/lieux")

    assert response.status_code == 200 and text(response).count("Lieu ") >= 100
    assert len(statements) <= 5
