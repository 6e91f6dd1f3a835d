"""Round trips on the coordinators' pages: half-covered trips first, both legs on the request page,
one leg matched by hand or from an option, and the way back given up ("aller simple") with a reason."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
import sqlalchemy as sa
from support.drivers_kit import text
from support.factories import (
    CAHORS,
    CAJARC,
    GOURDON,
    PARIS,
    TUESDAY,
    add_driver,
    add_offer,
    add_request,
    add_resident,
)

from carpool.models import (
    AuditEvent,
    Conversation,
    Leg,
    Match,
    MatchStatus,
    Request,
    RequestSource,
    RequestStatus,
)

APPOINTMENT = datetime.combine(TUESDAY.date(), time(10, 0), tzinfo=PARIS)
RETURN_AT = datetime.combine(TUESDAY.date(), time(11, 30), tzinfo=PARIS)


def round_trip(session, association, *, one_way: bool = False, days_before: int = 0) -> Request:
    """Jeanne's Cajarc → Cahors appointment (Tuesday at 10:00, or ``days_before``) with a way back
    at 11:30; her outward leg has a volunteer."""
    shift = timedelta(days=days_before)
    request = add_request(
        session,
        association,
        latest=APPOINTMENT - shift,
        return_at=RETURN_AT - shift,
        return_latest=RETURN_AT - shift + timedelta(minutes=90),
        one_way=one_way,
        status=RequestStatus.MATCHED,
        source=RequestSource.PHONE,
    )
    driver = add_driver(session, association, first_name="Paul", last_name="Vidal")
    session.add(
        Match(
            request_id=request.id,
            driver_id=driver.id,
            leg=Leg.OUT,
            pickup_at=APPOINTMENT - shift - timedelta(minutes=50),
            dropoff_at=APPOINTMENT - shift - timedelta(minutes=10),
            status=MatchStatus.CONFIRMED,
            status_changed_at=TUESDAY - timedelta(days=8),
        )
    )
    session.commit()
    return request


@pytest.fixture
def half_covered(session, association) -> Request:
    return round_trip(session, association)


@pytest.fixture
def way_back_offer(session, association):
    """Anne goes home from Cahors to Cajarc at 11:45: the other way, in the return window."""
    anne = add_driver(session, association, first_name="Anne", last_name="Bru")
    offer = add_offer(session, anne, depart=time(11, 45), origin=CAHORS, destination=CAJARC)
    session.commit()
    return offer


def option_forms(page: str) -> list[dict[str, str]]:
    """The hidden fields of every option form of a request page, in order."""
    forms = re.findall(r'<form method="post" action="[^"]*/proposer"(.*?)</form>', page, re.S)
    return [dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', f)) for f in forms]


def matches(session, leg: Leg) -> list[Match]:
    return list(session.scalars(sa.select(Match).where(Match.leg == leg)))


def test_half_covered_trips_come_first_on_the_unmatched_page(
    coord_client, session, association, half_covered
):
    marcel = add_resident(session, association, first_name="Marcel", home=GOURDON)
    add_request(session, association, appointment=time(9, 0), resident=marcel, pickup=GOURDON)
    session.commit()

    page = text(coord_client.get("/coordination/sans-solution"))

    assert "Aller trouvé, retour manquant" in page
    assert page.index("Trouver le retour") < page.index("demande en attente")
    assert "aller trouvé, retour manquant" in page  # the no_return reason, in French


def test_a_one_way_trip_is_not_half_covered(coord_client, session, association):
    round_trip(session, association, one_way=True, days_before=6)

    assert "Trouver le retour" not in text(coord_client.get("/coordination/sans-solution"))
    assert "Trouver le retour" not in text(coord_client.get("/coordination/"))


def test_the_today_board_lists_half_covered_trips_before_the_days(coord_client, session, association):
    round_trip(session, association, days_before=6)  # Wednesday 25 November: in the week shown

    page = text(coord_client.get("/coordination/"))

    assert "Aller trouvé, retour manquant" in page
    assert page.index("Trouver le retour") < page.index("Mercredi 25")
    assert "<td>aller</td>" in page


def test_a_covered_way_back_leaves_the_lists(coord_client, session, association):
    half_covered = round_trip(session, association, days_before=6)
    session.add(
        Match(
            request_id=half_covered.id,
            driver_id=add_driver(session, association, first_name="Anne").id,
            leg=Leg.BACK,
            pickup_at=half_covered.return_at,
            dropoff_at=half_covered.return_at + timedelta(minutes=40),
            status=MatchStatus.CONFIRMED,
            status_changed_at=TUESDAY - timedelta(days=8),
        )
    )
    session.commit()

    assert "Trouver le retour" not in text(coord_client.get("/coordination/sans-solution"))
    assert "Trouver le retour" not in text(coord_client.get("/coordination/"))


def test_the_request_page_shows_both_legs(coord_client, half_covered):
    page = text(coord_client.get(f"/coordination/demandes/{half_covered.id}"))

    assert 'id="leg-out"' in page and 'id="leg-back"' in page
    assert "Paul Vidal" in page and "confirmé" in page
    assert "aller trouvé, retour manquant" in page
    assert "Solutions trouvées pour le retour" in page
    assert "Solutions trouvées pour l'aller" not in page


def test_the_request_page_shows_the_way_backs_near_misses(coord_client, session, association, half_covered):
    """Anne leaves Cahors at 12:50: home after the 13:00 limit, a near miss of the way back."""
    anne = add_driver(session, association, first_name="Anne", last_name="Bru")
    late = add_offer(session, anne, depart=time(12, 50), origin=CAHORS, destination=CAJARC)
    session.commit()

    page = text(coord_client.get(f"/coordination/demandes/{half_covered.id}"))

    back = page.split("Presque possibles pour le retour", 1)[1]
    assert "Anne Bru — hors du créneau de" in back
    assert "rentrée avant" in back
    (option,) = [f for f in option_forms(back) if f["offer_id"] == str(late.id)]
    assert option["leg"] == "back"
    assert "Presque possibles pour l'aller" not in page  # the outward leg has its driver

    response = coord_client.post(
        f"/coordination/demandes/{half_covered.id}/proposer", data={**option, "mode": "book"}
    )

    assert response.status_code == 302
    (booked,) = matches(session, Leg.BACK)
    assert (booked.offer_id, booked.status) == (late.id, MatchStatus.CONFIRMED)


def test_an_offer_going_the_other_way_is_booked_for_the_way_back(
    coord_client, session, half_covered, way_back_offer
):
    page = text(coord_client.get(f"/coordination/demandes/{half_covered.id}"))
    (option,) = [f for f in option_forms(page) if f["offer_id"] == str(way_back_offer.id)]
    assert option["leg"] == "back"

    response = coord_client.post(
        f"/coordination/demandes/{half_covered.id}/proposer", data={**option, "mode": "book"}
    )

    assert response.status_code == 302
    (back,) = matches(session, Leg.BACK)
    assert (back.offer_id, back.status) == (way_back_offer.id, MatchStatus.CONFIRMED)
    assert len(matches(session, Leg.OUT)) == 1


def test_a_way_back_proposed_by_sms_keeps_its_leg_for_the_residents_answer(
    coord_client, session, half_covered, way_back_offer
):
    page = text(coord_client.get(f"/coordination/demandes/{half_covered.id}"))
    (option,) = [f for f in option_forms(page) if f["offer_id"] == str(way_back_offer.id)]

    coord_client.post(f"/coordination/demandes/{half_covered.id}/proposer", data={**option, "mode": "sms"})

    conversation = session.scalars(sa.select(Conversation)).one()
    assert [o["leg"] for o in conversation.options] == ["back"]
    assert matches(session, Leg.BACK) == []  # nothing held until the resident answers


def test_a_coordinator_matches_the_way_back_by_hand_with_a_volunteer(
    coord_client, session, association, half_covered
):
    volunteer = add_driver(session, association, insee=CAHORS, first_name="Marc", last_name="Lafon")
    session.commit()

    response = coord_client.post(
        f"/coordination/demandes/{half_covered.id}/jumelage",
        data={
            "manual-leg": "back",
            "manual-driver": volunteer.id,
            "manual-day": "2026-12-01",
            "manual-time": "11:40",
            "manual-mode": "book",
        },
    )

    assert response.status_code == 302
    (back,) = matches(session, Leg.BACK)
    assert (back.driver_id, back.pickup_at.astimezone(PARIS).time()) == (volunteer.id, time(11, 40))


def test_a_way_back_already_driven_cannot_be_matched_again(coord_client, session, association, half_covered):
    marc = add_driver(session, association, insee=CAHORS, first_name="Marc", last_name="Lafon")
    session.commit()
    data = {
        "manual-leg": "back",
        "manual-driver": marc.id,
        "manual-day": "2026-12-01",
        "manual-time": "11:40",
        "manual-mode": "book",
    }
    coord_client.post(f"/coordination/demandes/{half_covered.id}/jumelage", data=data)

    again = coord_client.post(f"/coordination/demandes/{half_covered.id}/jumelage", data=data)

    assert again.status_code == 422
    assert "Le retour de cette demande n'attend plus de conducteur." in text(again)
    assert len(matches(session, Leg.BACK)) == 1


def test_a_way_back_far_from_the_return_time_is_refused(coord_client, session, association, half_covered):
    marc = add_driver(session, association, insee=CAHORS)
    session.commit()

    response = coord_client.post(
        f"/coordination/demandes/{half_covered.id}/jumelage",
        data={
            "manual-leg": "back",
            "manual-driver": marc.id,
            "manual-day": "2026-12-02",
            "manual-time": "11:40",
            "manual-mode": "book",
        },
    )

    assert response.status_code == 422
    assert "trop loin du rendez-vous" in text(response)
    assert matches(session, Leg.BACK) == []


def test_a_coordinator_marks_one_way_with_a_reason_in_the_audit_log(coord_client, session, half_covered):
    response = coord_client.post(
        f"/coordination/demandes/{half_covered.id}/aller-simple", data={"oneway-reason": "sa fille la ramène"}
    )

    assert response.status_code == 302
    session.expire_all()
    assert session.get(Request, half_covered.id).one_way is True
    event = session.scalars(sa.select(AuditEvent).where(AuditEvent.action == "request.one_way")).one()
    assert "sa fille la ramène" in str(event.details)
    assert "Trouver le retour" not in text(coord_client.get("/coordination/sans-solution"))


def test_one_way_without_a_reason_is_refused_and_nothing_changes(coord_client, session, half_covered):
    response = coord_client.post(
        f"/coordination/demandes/{half_covered.id}/aller-simple", data={"oneway-reason": "  "}
    )

    assert response.status_code == 422
    assert "Indiquez pourquoi le retour" in text(response)
    session.expire_all()
    assert session.get(Request, half_covered.id).one_way is False


def test_the_way_back_booked_first_leaves_the_outward_leg_to_find(
    coord_client, session, association, way_back_offer
):
    request = add_request(
        session,
        association,
        return_at=RETURN_AT,
        return_latest=RETURN_AT + timedelta(minutes=90),
        resident=add_resident(session, association, first_name="Odette"),
    )
    session.commit()
    page = text(coord_client.get(f"/coordination/demandes/{request.id}"))
    assert "Solutions trouvées pour l'aller" in page
    (option,) = [f for f in option_forms(page) if f["offer_id"] == str(way_back_offer.id)]

    coord_client.post(f"/coordination/demandes/{request.id}/proposer", data={**option, "mode": "book"})

    after = text(coord_client.get(f"/coordination/demandes/{request.id}"))
    assert "Solutions trouvées pour l'aller" in after
    assert "Solutions trouvées pour le retour" not in after
    assert len(matches(session, Leg.BACK)) == 1
