"""The residents' registry: finding people as coordinators type them, recording, correcting, GDPR rights."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.factories import CAHORS, CAJARC, WHERE, add_association, add_driver, add_request, add_texts

from carpool.db import point
from carpool.errors import InvalidInput
from carpool.models import (
    AuditEvent,
    Conversation,
    InboundMessage,
    Match,
    MatchStatus,
    OutboundMessage,
    Purpose,
    Request,
    RequestSource,
    RequestStatus,
    Resident,
)
from carpool.services import residents
from carpool.services.residents import ResidentInput

ACTOR = "user:1"
PHONE = "+33639971234"  # details()' number, as stored


@pytest.fixture
def elsewhere(session):
    return add_association(session, "Argenteuil Solidarité", sms_number=None, phone=None)


def details(**fields) -> ResidentInput:
    values = {
        "first_name": "Hélène",
        "last_name": "Lacombe",
        "phone": "06 39 97 12 34",
        "home_commune": "Cajarc (46160)",
    }
    return ResidentInput(**{**values, **fields})


def add(session, association, clock, **fields) -> Resident:
    return residents.create(session, association.id, details(**fields), actor=ACTOR, now=clock.now())


def ask(session, association, person, *, at, status=RequestStatus.OPEN, purpose=Purpose.MEDICAL) -> Request:
    return add_request(
        session,
        association,
        resident=person,
        latest=at,
        window=timedelta(hours=2),
        purpose=purpose,
        source=RequestSource.PHONE,
        status=status,
        note="rendez-vous chez le cardiologue",
    )


def drive(session, association, request, *, status=MatchStatus.CONFIRMED) -> Match:
    driver = add_driver(session, association)
    match = Match(
        request_id=request.id,
        driver_id=driver.id,
        pickup_at=request.latest - timedelta(hours=1),
        dropoff_at=request.latest - timedelta(minutes=15),
        status=status,
        cancel_reason="Hélène est hospitalisée" if status is MatchStatus.CANCELLED else None,
    )
    session.add(match)
    session.flush()
    return match


# --- search ----------------------------------------------------------------------------------


@pytest.fixture
def people(session, association, elsewhere, clock):
    helene = add(session, association, clock)
    jean = add(session, association, clock, first_name="Jean", last_name="Delpech", phone="0639975678")
    stranger = add(session, elsewhere, clock, first_name="Hélène", last_name="Autre", phone="0639970000")
    return helene, jean, stranger


@pytest.mark.parametrize("typed", ["helene", "HÉLÈNE", "hel", "Lacombe Hélène", "lacombe", "Lacomb"])
def test_search_finds_a_name_whatever_the_accents_and_case(session, association, people, typed):
    assert [r.first_name for r in residents.search(session, association.id, typed)] == ["Hélène"]


def test_search_forgives_a_typo_in_a_long_name(session, association, people):
    assert [r.last_name for r in residents.search(session, association.id, "Delpeche")] == ["Delpech"]


@pytest.mark.parametrize(
    "typed", ["06 39 97 12 34", "+33639971234", "0639971234", "06.39.97.12.34", "1234", "06 39 97 1"]
)
def test_search_finds_a_phone_number_in_any_format(session, association, people, typed):
    assert [r.first_name for r in residents.search(session, association.id, typed)] == ["Hélène"]


def test_search_never_shows_another_associations_residents(session, association, people):
    assert residents.search(session, association.id, "0639970000") == []
    assert [r.last_name for r in residents.search(session, association.id, "hélène")] == ["Lacombe"]


def test_search_leaves_out_erased_residents(session, association, people, clock):
    helene, _, _ = people
    residents.erase(session, helene, actor=ACTOR, now=clock.now())

    assert residents.search(session, association.id, "hélène") == []
    assert residents.search(session, association.id, "anon") == []


def test_search_respects_the_limit(session, association, clock):
    for n in range(5):
        add(session, association, clock, phone=f"06399780{n:02d}")

    assert len(residents.search(session, association.id, "Lacombe", limit=3)) == 3


def test_a_page_of_the_registry_counts_everyone_but_shows_one_page(session, association, clock):
    for n in range(7):
        add(session, association, clock, last_name=f"Nom{n}", phone=f"06399780{n:02d}")

    found = residents.page(session, association.id, number=2, size=3)

    assert (found.total, found.pages) == (7, 3)
    assert [row.resident.last_name for row in found.rows] == ["Nom3", "Nom4", "Nom5"]
    assert found.rows[0].commune == "Cajarc"


NAMES = [
    ("Hélène", "Lacombe"),
    ("Helene", "Lacombe-Vidal"),
    ("Jean", "Delpech"),
    ("Jean-Pierre", "Delpêche"),
    ("Jeanne", "Delpech"),
    ("Marie", "Saint-Cyr"),
    ("Marie-Thérèse", "St Cyr"),
    ("José", "Martín"),
    ("Joséphine", "Martins"),
    ("Odette", "O'Brien"),
    ("Ève", "Lacoste"),
    ("Yves", "Lacostes"),
    ("André", "Roques"),
    ("Andrée", "Roque"),
    ("Élodie", "Cayla"),
    ("Éloi", "Caylus"),
    ("", "Du Pont"),
    ("Paul", "Dupont"),
    ("Pauline", "Dupond"),
    ("Marc", "Delpech"),
]
TYPED = [
    "jean", "Jean Delpech", "delpeche", "Delpech jean", "marie", "saint cyr", "st", "ste", "jos", "martin",
    "martins", "o'brien", "obrien", "brien", "eve", "lacost", "lacoste", "yves lacoste", "andre", "roque",
    "roques", "elo", "cayla", "caylas", "du pont", "dupont", "dupond", "pau", "marc delpeche", "zzz", "e",
    "  jean   pierre  ", "lacombe vidal", "Lacombe-Vidal", "-", "é",
]  # fmt: skip


def brute_force_ranking(session, association_id: int, text: str) -> list[int]:
    """The search as first written: every resident folded and scored, one by one."""
    from carpool.text import fold

    words = fold(text).split()
    if not words:
        return []
    scored = []
    for person in session.scalars(sa.select(Resident).where(residents._listed(association_id))):
        names = fold(f"{person.first_name} {person.last_name}").split()
        score = 0.0
        for word in words:
            best = max((residents._word_score(word, name) for name in names), default=0.0)
            if best == 0.0:
                break
            score += best
        else:
            scored.append((-score, fold(f"{person.last_name} {person.first_name}"), person.id))
    return [resident_id for _, _, resident_id in sorted(scored)]


@pytest.fixture
def crowd(session, association, elsewhere, clock):
    for n, (first, last) in enumerate(NAMES):
        session.add(
            Resident(
                association_id=association.id,
                phone=f"+336399790{n:02d}",
                first_name=first,
                last_name=last,
                home_commune_insee=CAJARC,
            )
        )
    add(session, elsewhere, clock, first_name="Jean", last_name="Delpech", phone="0639970000")
    session.flush()


@pytest.mark.parametrize("typed", TYPED)
def test_the_search_ranks_names_as_scoring_every_resident_would(session, association, crowd, typed):
    expected = brute_force_ranking(session, association.id, typed)

    assert residents._matching_ids(session, association.id, typed) == expected


def test_the_ranking_test_is_not_empty(session, association, crowd):
    found = {typed: residents._matching_ids(session, association.id, typed) for typed in TYPED}

    assert sum(len(ids) > 1 for ids in found.values()) >= 10  # ties and rankings are exercised
    assert found["zzz"] == [] and found["-"] == []


def test_a_name_holding_the_internal_separator_is_still_found(session, association, crowd):
    odd = Resident(
        association_id=association.id,
        phone="+33639979999",
        first_name="Jean\x1fLuc",
        last_name="Delpech",
        home_commune_insee=CAJARC,
    )
    session.add(odd)
    session.flush()

    found = residents._matching_ids(session, association.id, "delpech")

    assert odd.id in found
    assert found == brute_force_ranking(session, association.id, "delpech")


def test_a_corrected_name_is_found_under_the_new_name_only(session, association, people, clock):
    helene, _, _ = people
    residents.search(session, association.id, "lacombe")  # the old name folded and cached
    residents.update(session, helene, details(last_name="Vidal"), actor=ACTOR, now=clock.now())

    assert [r.id for r in residents.search(session, association.id, "vidal")] == [helene.id]
    assert residents.search(session, association.id, "lacombe") == []


# --- create and update -----------------------------------------------------------------------


def test_create_stores_the_number_in_international_form_and_the_consent_time(session, association, clock):
    person = add(session, association, clock, consent=True)

    assert person.phone == "+33639971234"
    assert person.home_commune_insee == CAJARC
    assert person.consent_at == clock.now()


def test_create_without_consent_leaves_it_unrecorded(session, association, clock):
    assert add(session, association, clock).consent_at is None


def test_create_is_audited(session, association, clock):
    person = add(session, association, clock)

    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "resident.created")).one()
    assert (event.actor, event.subject_id, event.association_id) == (ACTOR, person.id, association.id)


def test_create_reports_every_bad_field_in_french(session, association, clock):
    with pytest.raises(InvalidInput) as refused:
        add(session, association, clock, first_name=" ", phone="08 99 12 34 56", home_commune="Atlantis")

    assert set(refused.value.errors) == {"first_name", "phone", "home_commune"}
    assert "numéro de téléphone français" in refused.value.errors["phone"]
    assert "Atlantis" in refused.value.errors["home_commune"]


def test_a_number_already_in_the_registry_is_refused_with_the_name_of_its_holder(session, association, clock):
    add(session, association, clock)

    with pytest.raises(InvalidInput) as refused:
        add(session, association, clock, first_name="Autre", phone="+33 6 39 97 12 34")

    assert "Hélène Lacombe" in refused.value.errors["phone"]


def test_a_person_known_to_another_association_gets_a_record_of_their_own_here(
    session, association, elsewhere, clock
):
    theirs = add(session, elsewhere, clock)

    ours = add(session, association, clock, first_name="Autre")

    assert ours.phone == theirs.phone and ours.id != theirs.id
    assert (ours.association_id, theirs.association_id) == (association.id, elsewhere.id)


def test_a_drivers_number_is_refused_for_a_resident_and_nothing_is_saved(session, association, clock):
    driver = add_driver(session, association)

    with pytest.raises(InvalidInput) as refused:
        add(session, association, clock, phone=driver.phone)

    assert "conducteur" in refused.value.errors["phone"]
    assert session.scalar(sa.select(sa.func.count()).select_from(Resident)) == 0


def test_update_changes_the_details_and_audits_the_field_names_only(session, association, clock):
    person = add(session, association, clock)
    person.home_point = point(*WHERE[CAJARC])

    residents.update(
        session,
        person,
        details(last_name="Lacombe-Vidal", home_commune="Cahors", uses_walker=True, consent=True),
        actor=ACTOR,
        now=clock.now(),
    )

    assert (person.last_name, person.home_commune_insee, person.uses_walker) == (
        "Lacombe-Vidal",
        CAHORS,
        True,
    )
    assert person.home_point is None
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "resident.updated")).one()
    assert event.details["fields"] == [
        "home_commune_insee",
        "home_point",
        "last_name",
        "uses_walker",
        "consent_at",
    ]
    assert "Lacombe-Vidal" not in str(event.details)


def test_update_keeps_its_own_number(session, association, clock):
    person = add(session, association, clock)

    residents.update(session, person, details(notes="Sonner fort"), actor=ACTOR, now=clock.now())

    assert person.notes == "Sonner fort"


def test_opting_out_and_back_is_recorded_and_audited(session, association, clock):
    person = add(session, association, clock)

    residents.set_opt_out(session, person, True, actor=ACTOR, now=clock.now())
    assert person.sms_opted_out_at == clock.now()
    residents.set_opt_out(session, person, False, actor=ACTOR, now=clock.now())

    assert person.sms_opted_out_at is None
    actions = list(session.scalars(sa.select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-2:] == ["resident.sms_opted_out", "resident.sms_opted_in"]


# --- export ----------------------------------------------------------------------------------


def test_the_export_holds_the_profile_trips_texts_and_history(session, association, clock):
    person = add(session, association, clock, notes="Sonner fort")
    request = ask(
        session, association, person, at=clock.now() + timedelta(days=3), status=RequestStatus.MATCHED
    )
    drive(session, association, request)
    add_texts(session, association, person)

    data = residents.export(session, person, actor=ACTOR)

    assert data["profile"]["notes"] == "Sonner fort"
    assert [r["purpose"] for r in data["requests"]] == ["medical"]
    assert [m["driver_first_name"] for m in data["matches"]] == ["Sophie"]
    assert [m["body"] for m in data["sms_received"]] == ["Bonjour, rdv cardiologue mardi"]
    assert {m["body"] for m in data["sms_sent"]} == {"Sophie vous prendra mardi", "Rappel : demain 9 h"}
    assert data["conversation"]["draft"] == {"purpose": "medical"}
    assert "resident.created" in [e["action"] for e in data["audit_events"]]


def test_the_export_leaves_out_texts_of_the_number_from_before_the_resident_was_registered(
    session, association, clock
):
    session.add_all(
        [
            InboundMessage(
                message_sid="SMearly", association_id=association.id, from_phone=PHONE, body="Allo ?"
            ),
            OutboundMessage(
                idempotency_key="early", association_id=association.id, to_phone=PHONE, body="Inconnu"
            ),
        ]
    )
    session.flush()
    person = add(session, association, clock)

    data = residents.export(session, person, actor=ACTOR)

    assert (data["sms_received"], data["sms_sent"]) == ([], [])


def test_the_export_leaves_out_the_resident_texts_another_association_sent(
    session, association, elsewhere, clock
):
    person = add(session, association, clock)
    session.add(
        OutboundMessage(
            idempotency_key="elsewhere", association_id=elsewhere.id, resident_id=person.id, to_phone=PHONE
        )
    )
    session.flush()

    assert residents.export(session, person, actor=ACTOR)["sms_sent"] == []


def test_the_export_is_audited(session, association, clock):
    person = add(session, association, clock)

    residents.export(session, person, actor=ACTOR)

    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "resident.exported")).one()
    assert (event.actor, event.subject_id) == (ACTOR, person.id)


# --- erasure ---------------------------------------------------------------------------------


@pytest.fixture
def history(session, association, clock):
    """Hélène with a trip done, one cancelled, one request waiting, and texts both ways."""
    person = add(session, association, clock, notes="Diabétique", uses_wheelchair=True, consent=True)
    done = ask(session, association, person, at=clock.now() - timedelta(days=10), status=RequestStatus.DONE)
    drive(session, association, done, status=MatchStatus.COMPLETED)
    cancelled = ask(
        session, association, person, at=clock.now() - timedelta(days=5), status=RequestStatus.CANCELLED
    )
    drive(session, association, cancelled, status=MatchStatus.CANCELLED)
    waiting = ask(session, association, person, at=clock.now() + timedelta(days=4))
    add_texts(session, association, person)
    return person, waiting


def test_erasure_removes_what_identifies_the_resident(session, association, clock, history):
    person, _ = history

    residents.erase(session, person, actor=ACTOR, now=clock.now())

    assert (person.first_name, person.last_name, person.notes) == ("Anonyme", "", "")
    assert person.phone == f"anon:{person.id}" and person.home_point is None
    assert not person.needs and person.consent_at is None
    assert person.erased_at == clock.now()


def test_erasure_empties_the_texts_and_forgets_the_conversation(session, association, clock, history):
    person, _ = history
    phone = person.phone

    residents.erase(session, person, actor=ACTOR, now=clock.now())
    session.expire_all()

    bodies = list(session.scalars(sa.select(InboundMessage.body))) + list(
        session.scalars(sa.select(OutboundMessage.body))
    )
    assert bodies == [None, None, None]
    assert session.scalar(sa.select(sa.func.count()).select_from(Conversation)) == 0
    assert session.scalar(sa.select(OutboundMessage.id).where(OutboundMessage.to_phone == phone)) is None
    assert set(session.scalars(sa.select(Request.note))) == {""}
    assert set(session.scalars(sa.select(Match.cancel_reason))) == {None}


def test_erasure_keeps_the_trips_for_the_statistics(session, association, clock, history):
    person, waiting = history

    residents.erase(session, person, actor=ACTOR, now=clock.now())

    kept = session.scalars(sa.select(Request.status).where(Request.resident_id == person.id)).all()
    assert sorted(s.value for s in kept) == ["cancelled", "cancelled", "done"]
    assert waiting.status is RequestStatus.CANCELLED
    assert session.scalar(sa.select(sa.func.count()).select_from(Match)) == 2


def test_erasure_is_audited_under_the_coordinator(session, association, clock, history):
    person, _ = history

    residents.erase(session, person, actor=ACTOR, now=clock.now())

    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "resident.erased")).one()
    assert (event.actor, event.subject_id, event.association_id) == (ACTOR, person.id, association.id)


def test_erasure_waits_until_an_engaged_driver_is_released(session, association, clock):
    person = add(session, association, clock)
    ahead = ask(
        session, association, person, at=clock.now() + timedelta(days=2), status=RequestStatus.MATCHED
    )
    drive(session, association, ahead, status=MatchStatus.ACCEPTED)

    with pytest.raises(InvalidInput) as refused:
        residents.erase(session, person, actor=ACTOR, now=clock.now())

    assert "annulez-le d'abord" in refused.value.errors[""]
    assert person.first_name == "Hélène"


def test_an_erased_resident_can_no_longer_be_changed(session, association, clock):
    person = add(session, association, clock)
    residents.erase(session, person, actor=ACTOR, now=clock.now())

    with pytest.raises(InvalidInput):
        residents.update(session, person, details(), actor=ACTOR, now=clock.now())


def test_the_number_of_an_erased_resident_can_be_registered_again(session, association, clock):
    person = add(session, association, clock)
    residents.erase(session, person, actor=ACTOR, now=clock.now())

    again = add(session, association, clock)

    assert again.phone == "+33639971234" and again.id != person.id
