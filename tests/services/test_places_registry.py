"""Named places: created in a known commune, at a sensible point, under a name nobody else uses."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from support.factories import CAHORS, FIGEAC, WHERE, add_association

from carpool.db import lon_lat
from carpool.errors import InvalidInput
from carpool.models import AuditEvent, NamedPlace
from carpool.services import places
from carpool.services.places_registry import (
    PlaceInput,
    archive_place,
    create_place,
    registry,
    restore_place,
    update_place,
)


def pharmacy(**changes) -> PlaceInput:
    fields = {"name": "Pharmacie du Lot", "kind": "pharmacie", "commune": "Figeac"}
    return PlaceInput(**{**fields, **changes})


def test_a_place_without_coordinates_sits_on_its_commune(session, association):
    place = create_place(session, association.id, pharmacy(), actor="user:1")

    assert place.commune_insee == FIGEAC
    assert lon_lat(place.point) == pytest.approx(WHERE[FIGEAC])


def test_coordinates_in_french_notation_are_read(session, association):
    place = create_place(
        session, association.id, pharmacy(latitude="44,6085", longitude="2,0322"), actor="user:1"
    )

    assert lon_lat(place.point) == pytest.approx((2.0322, 44.6085))


def test_creating_a_place_is_audited(session, association):
    place = create_place(session, association.id, pharmacy(), actor="user:1")

    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "place.created")).one()
    assert (event.subject_id, event.actor) == (place.id, "user:1")


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"commune": "Atlantide"}, "commune"),
        ({"latitude": "44,6"}, "longitude"),
        ({"latitude": "2.03", "longitude": "44.60"}, "latitude"),
        ({"latitude": "nord", "longitude": "2"}, "latitude"),
        ({"latitude": "48.85", "longitude": "2.35"}, "latitude"),
        ({"kind": "casino"}, "kind"),
        ({"name": "  "}, "name"),
        ({"name": "centre hospitalier de CAHORS"}, "name"),
    ],
)
def test_bad_places_are_refused_and_nothing_is_added(session, association, changes, field):
    before = session.scalar(sa.select(sa.func.count()).select_from(NamedPlace))

    with pytest.raises(InvalidInput) as refused:
        create_place(session, association.id, pharmacy(**changes), actor="user:1")

    assert field in refused.value.errors
    assert session.scalar(sa.select(sa.func.count()).select_from(NamedPlace)) == before


def test_two_places_of_one_association_cannot_share_a_name(session, association):
    create_place(session, association.id, pharmacy(), actor="user:1")

    with pytest.raises(InvalidInput, match="s'appelle déjà"):
        create_place(session, association.id, pharmacy(name="PHARMACIE du lot"), actor="user:1")


def test_another_association_may_use_the_same_name(session, association):
    other = add_association(session, "Argenteuil Solidarité", sms_number=None, phone=None)
    create_place(session, association.id, pharmacy(), actor="user:1")

    assert create_place(session, other.id, pharmacy(), actor="user:2").association_id == other.id


def test_editing_moves_the_place_to_another_commune(session, association):
    place = create_place(session, association.id, pharmacy(), actor="user:1")

    update_place(session, place, pharmacy(name="Pharmacie centrale", commune="46000 Cahors"), actor="user:1")

    assert (place.name, place.commune_insee) == ("Pharmacie centrale", CAHORS)


def test_an_archived_place_is_no_longer_offered_nor_resolved(session, association, clock):
    place = create_place(session, association.id, pharmacy(), actor="user:1")

    archive_place(session, place, actor="user:1", clock=clock)

    assert place.name not in places.place_suggestions(session, association.id)
    assert place not in places.named_places(session, association.id)
    assert registry(session, association.id).archived == [(place, "Figeac")]


def test_a_restored_place_is_offered_again(session, association, clock):
    place = create_place(session, association.id, pharmacy(), actor="user:1")
    archive_place(session, place, actor="user:1", clock=clock)

    restore_place(session, place, actor="user:1")

    assert place in places.named_places(session, association.id)


def test_an_archived_name_must_be_restored_rather_than_created_again(session, association, clock):
    place = create_place(session, association.id, pharmacy(), actor="user:1")
    archive_place(session, place, actor="user:1", clock=clock)

    with pytest.raises(InvalidInput, match="restaurez-le"):
        create_place(session, association.id, pharmacy(), actor="user:1")


def test_the_registry_lists_own_and_shared_places_apart(session, association):
    place = create_place(session, association.id, pharmacy(), actor="user:1")

    listed = registry(session, association.id)

    assert listed.own == [(place, "Figeac")]
    assert listed.shared and all(p.association_id is None for p, _ in listed.shared)
