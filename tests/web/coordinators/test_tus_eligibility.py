"""Eligibility (transport d'utilité sociale): a resident's basis, the communes' flags, the warning
before a booking (the booking goes on, the warning is in the audit log)."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, text
from support.factories import CAHORS, CAJARC, FIGEAC, GOURDON, add_driver, add_request, add_resident

from carpool.models import AuditEvent, CommuneEligibility, Match, Resident, TusBasis

BASIS = {"basis": "resources", "benefit": "aspa", "proof_seen_on": "2026-11-02", "renew_on": "2027-11-02"}


def actions(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(sa.select(AuditEvent).where(AuditEvent.action == action)))


def test_a_basis_is_recorded_with_its_proof_and_renewal(coord_client, session, association):
    person = add_resident(session, association)
    session.commit()

    response = coord_client.post(f"/coordination/habitants/{person.id}/eligibilite", data=BASIS)

    assert response.status_code == 302
    session.refresh(person)
    assert (person.tus_basis, person.tus_benefit, person.tus_renew_on) == (
        TusBasis.RESOURCES, "aspa", date(2027, 11, 2),
    )  # fmt: skip
    assert len(actions(session, "resident.eligibility_set")) == 1
    page = f"/coordination/habitants/{person.id}"
    session.rollback()  # SQLite: a test transaction left open would hold the write lock
    assert "Éligible (condition de ressources : allocation de solidarité aux personnes âgées (ASPA))" in text(
        coord_client.get(page)
    )


def test_a_basis_without_a_date_is_refused_in_french_and_nothing_is_saved(coord_client, session, association):
    person = add_resident(session, association)
    session.commit()

    response = coord_client.post(
        f"/coordination/habitants/{person.id}/eligibilite",
        data={**BASIS, "proof_seen_on": "", "renew_on": ""},
    )

    assert response.status_code == 422
    page = text(response)
    assert "Indiquez la date à laquelle le justificatif a été vu." in page
    assert "Indiquez la date à laquelle revoir le justificatif." in page
    session.refresh(person)
    assert person.tus_basis is None and actions(session, "resident.eligibility_set") == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"benefit": ""}, "Choisissez la prestation ou le critère de ressources vu."),
        ({"renew_on": "2026-10-01"}, "La date de renouvellement doit suivre la date du justificatif."),
        ({"proof_seen_on": "2026-12-24"}, "La date du justificatif ne peut pas être dans le futur."),
        ({"basis": "voisinage"}, "Choisissez la raison pour laquelle cette personne peut être transportée."),
    ],
)
def test_a_wrong_basis_is_refused_in_french(coord_client, session, association, changes, message):
    person = add_resident(session, association)
    session.commit()

    response = coord_client.post(
        f"/coordination/habitants/{person.id}/eligibilite", data={**BASIS, **changes}
    )

    assert response.status_code == 422
    assert message in text(response)


def test_another_associations_resident_is_not_found(coord_client, session, other_association):
    stranger = add_resident(session, other_association)
    session.commit()

    assert coord_client.get(f"/coordination/habitants/{stranger.id}/eligibilite").status_code == 404
    assert (
        coord_client.post(f"/coordination/habitants/{stranger.id}/eligibilite", data=BASIS).status_code == 404
    )


def test_the_commune_list_shows_the_territory_with_filters(coord_client, session, association):
    add_resident(session, association, home=CAJARC)
    session.commit()

    page = text(coord_client.get("/coordination/communes?q=caj"))
    assert "Cajarc" in page and "Figeac" not in page
    everything = text(coord_client.get("/coordination/communes?departement=46"))
    assert "Figeac" in everything and "Berville" not in everything  # Val-d'Oise is not the territory


def test_ticked_communes_are_flagged_and_unticked_shown_ones_unflagged(coord_client, session, association):
    add_resident(session, association, home=CAJARC)
    session.add(CommuneEligibility(association_id=association.id, commune_insee=GOURDON, eligible=True))
    session.commit()

    response = coord_client.post(
        "/coordination/communes",
        data={"shown": [CAJARC, FIGEAC, GOURDON], "eligible": [CAJARC, FIGEAC], "q": ""},
    )

    assert response.status_code == 302
    flags = dict(
        session.execute(sa.select(CommuneEligibility.commune_insee, CommuneEligibility.eligible)).all()
    )
    assert flags == {CAJARC: True, FIGEAC: True, GOURDON: False}
    assert actions(session, "communes.eligibility_set")[0].details["changed"] == 3
    session.rollback()
    eligible = text(coord_client.get("/coordination/communes?eligibles=oui"))
    assert "Cajarc" in eligible and "Figeac" in eligible and "Gourdon" not in eligible


def test_a_commune_outside_the_territory_is_refused_and_nothing_saved(coord_client, session, association):
    add_resident(session, association, home=CAJARC)
    session.commit()

    response = coord_client.post(
        "/coordination/communes", data={"shown": [CAJARC, "95059"], "eligible": [CAJARC]}
    )

    assert response.status_code == 302
    assert "pas sur votre territoire" in text(coord_client.get(response.headers["Location"]))
    assert count(session, CommuneEligibility) == 0


def test_booking_a_resident_without_basis_warns_books_and_audits(coord_client, session, association):
    ride = add_request(session, association)
    volunteer = add_driver(session, association, insee=GOURDON)
    session.commit()
    assert "Éligibilité à vérifier" in text(coord_client.get(f"/coordination/demandes/{ride.id}"))

    response = coord_client.post(
        f"/coordination/demandes/{ride.id}/jumelage",
        data={"manual-driver": volunteer.id, "manual-day": "2026-12-01", "manual-time": "08:30",
              "manual-mode": "book"},
    )  # fmt: skip

    assert response.status_code == 302
    assert count(session, Match) == 1
    warned = actions(session, "eligibility.warned")
    assert [(w.subject_id, w.details["state"], w.details["where"]) for w in warned] == [
        (ride.resident_id, "missing", "coordinator_book")
    ]
    session.rollback()
    assert "Attention : Aucun justificatif" in text(coord_client.get(response.headers["Location"]))


def test_booking_a_resident_with_a_valid_basis_warns_nothing(coord_client, session, association):
    ride = add_request(session, association)
    person = session.get(Resident, ride.resident_id)
    person.tus_basis, person.tus_proof_seen_on, person.tus_renew_on = (
        TusBasis.RURAL,
        date(2026, 1, 5),
        date(2027, 1, 5),
    )
    volunteer = add_driver(session, association, insee=GOURDON)
    session.commit()

    coord_client.post(
        f"/coordination/demandes/{ride.id}/jumelage",
        data={"manual-driver": volunteer.id, "manual-day": "2026-12-01", "manual-time": "08:30",
              "manual-mode": "book"},
    )  # fmt: skip

    assert count(session, Match) == 1 and actions(session, "eligibility.warned") == []


def test_an_expired_basis_is_shown_as_to_renew(coord_client, session, association):
    person = add_resident(session, association, tus_basis=TusBasis.RURAL, tus_proof_seen_on=date(2025, 1, 5),
                          tus_renew_on=date(2026, 1, 5))  # fmt: skip
    add_request(session, association, CAJARC, CAHORS, resident=person)
    session.commit()

    assert "à renouveler depuis le 05/01/2026" in text(
        coord_client.get(f"/coordination/habitants/{person.id}")
    )


def test_the_registry_says_whose_eligibility_to_check(coord_client, session, association):
    add_resident(session, association, first_name="Anne", tus_basis=TusBasis.RURAL,
                 tus_proof_seen_on=date(2026, 1, 5), tus_renew_on=date(2027, 1, 5))  # fmt: skip
    add_resident(session, association, first_name="Berthe")
    session.commit()

    page = text(coord_client.get("/coordination/habitants"))

    assert "jusqu'au 05/01/2027" in page and "à vérifier" in page


def test_the_eligibility_page_says_whether_the_home_commune_is_flagged(coord_client, session, association):
    person = add_resident(session, association, home=CAJARC)
    session.add(CommuneEligibility(association_id=association.id, commune_insee=CAJARC, eligible=True))
    stranger = add_resident(session, association, home=FIGEAC)
    session.commit()

    assert "cochée éligible par le lieu de résidence" in text(
        coord_client.get(f"/coordination/habitants/{person.id}/eligibilite")
    )
    assert "pas cochée éligible" in text(
        coord_client.get(f"/coordination/habitants/{stranger.id}/eligibilite")
    )


def test_the_basis_is_in_the_residents_data_and_the_benefit_goes_with_erasure(
    coord_client, session, association
):
    person = add_resident(session, association, tus_basis=TusBasis.RESOURCES, tus_benefit="aah",
                          tus_proof_seen_on=date(2026, 1, 5), tus_renew_on=date(2027, 1, 5))  # fmt: skip
    session.commit()
    person_id = person.id
    session.rollback()

    assert "allocation aux adultes handicapés (AAH)" in text(
        coord_client.get(f"/coordination/habitants/{person_id}/donnees")
    )
    coord_client.post(f"/coordination/habitants/{person_id}/effacer", data={"confirm": "y"})
    session.expire_all()
    erased = session.get(Resident, person_id)
    assert erased.erased_at is not None
    assert (erased.tus_basis, erased.tus_benefit) == (TusBasis.RESOURCES, None)


def test_the_phone_in_form_says_when_to_ask_for_the_proof(coord_client, session, association):
    person = add_resident(session, association)
    session.commit()

    page = text(coord_client.get(f"/coordination/appel?habitant={person.id}"))

    assert "Aucun justificatif d'éligibilité" in page and "Demandez le justificatif pendant l'appel" in page
