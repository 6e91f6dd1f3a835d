"""The annual report (transport d'utilité sociale): every figure against a hand-computed fixture.

Distances: along one meridian, 1° of latitude is π/180 × 6371 km = 111.195 km; the router
adds 30 %: 0.5° → 72.277 km, 0.9° → 130.098 km. Four trips: three of 0.5°, one of 0.9°:
346.929 km in all, 86.7 km on average.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from support.factories import CAJARC, FIGEAC, TEST_BOX, add_association, add_driver, add_resident

from carpool.clock import PARIS
from carpool.db import point
from carpool.errors import InvalidInput
from carpool.models import (
    Leg,
    LegParticipation,
    Match,
    MatchStatus,
    Purpose,
    Request,
    RequestSource,
    RequestStatus,
    Resident,
    TusBasis,
)
from carpool.services import tus_report

TODAY = date(2026, 12, 6)


def _trip(session, association, resident, driver, *, at, degrees, purpose=Purpose.MEDICAL,
          status=MatchStatus.COMPLETED, leg=Leg.OUT, request=None):  # fmt: skip
    if request is None:
        request = Request(
            association_id=association.id,
            resident_id=resident.id,
            pickup_commune_insee=resident.home_commune_insee,
            pickup_point=point(1.5, 44.0),
            dropoff_commune_insee=resident.home_commune_insee,
            dropoff_point=point(1.5, 44.0 + degrees),
            earliest=at - timedelta(hours=1),
            latest=at + timedelta(hours=1),
            purpose=purpose,
            source=RequestSource.PHONE,
            status=RequestStatus.DONE,
        )
        session.add(request)
        session.flush()
    session.add(
        Match(request_id=request.id, driver_id=driver.id, pickup_at=at, dropoff_at=at + timedelta(hours=1),
              status=status, leg=leg)
    )  # fmt: skip
    session.flush()
    return request


@pytest.fixture
def year_2025(session, association):
    association.founded_on = date(2020, 3, 1)
    a = add_resident(session, association, first_name="Anne", home=CAJARC, tus_basis=TusBasis.RURAL,
                     tus_proof_seen_on=date(2025, 1, 10), tus_renew_on=date(2026, 6, 30))  # fmt: skip
    b = add_resident(session, association, first_name="Bernard", home=FIGEAC, tus_basis=TusBasis.RESOURCES,
                     tus_benefit="rsa", tus_proof_seen_on=date(2024, 7, 1),
                     tus_renew_on=date(2025, 6, 30))  # fmt: skip
    c = add_resident(session, association, first_name="Chantal", home=CAJARC)
    d = add_resident(session, association, first_name="Denise", home=CAJARC, tus_basis=TusBasis.SMALL_URBAN,
                     tus_proof_seen_on=date(2025, 1, 10), tus_renew_on=date(2026, 1, 10))  # fmt: skip
    x = add_driver(session, association, first_name="Xavier", seats=3)
    y = add_driver(session, association, first_name="Yves", seats=4, is_volunteer=False)
    z = add_driver(session, association, first_name="Zoé", seats=2)
    day = datetime(2025, 3, 4, 9, 0, tzinfo=PARIS)
    out = _trip(session, association, a, x, at=day, degrees=0.5)
    _trip(session, association, a, x, at=day + timedelta(hours=4), degrees=0.5, leg=Leg.BACK, request=out)
    _trip(session, association, b, y, at=day + timedelta(days=30), degrees=0.9, purpose=Purpose.SHOPPING)
    _trip(session, association, c, x, at=datetime(2025, 12, 31, 23, 30, tzinfo=PARIS), degrees=0.5,
          purpose=Purpose.SOCIAL)  # fmt: skip
    # Not counted: a cancelled trip, a trip of 2024 (Paris time), another association's trip.
    _trip(session, association, d, y, at=day, degrees=0.5, status=MatchStatus.CANCELLED)
    _trip(session, association, a, z, at=datetime(2024, 12, 31, 23, 30, tzinfo=PARIS), degrees=0.5)
    other = add_association(session, "Autre association", sms_number=None, phone=None)
    stranger = add_resident(session, other, home=CAJARC)
    _trip(session, other, stranger, add_driver(session, other), at=day, degrees=0.5)
    session.commit()
    return association


def _report(session, association):
    return tus_report.build(session, association, 2025, today=TODAY)


def test_trips_are_legs_driven_in_the_year(session, year_2025):
    assert _report(session, year_2025).trips == 4


def test_average_km_is_the_routers_distance_per_trip(session, year_2025):
    report = _report(session, year_2025)
    assert report.total_km == pytest.approx(346.929, rel=0.005)
    assert report.average_km == pytest.approx(86.7, abs=0.3)


def test_drivers_who_drove_of_which_volunteers(session, year_2025):
    report = _report(session, year_2025)
    assert (report.drivers, report.volunteer_drivers) == (2, 1)


def test_vehicles_are_the_drivers_cars_with_their_seats(session, year_2025):
    report = _report(session, year_2025)
    assert (report.vehicles, report.average_capacity) == (2, 3.5)


def test_beneficiaries_are_distinct_residents_carried_by_basis(session, year_2025):
    report = _report(session, year_2025)
    assert (report.beneficiaries, report.beneficiaries_by_place, report.beneficiaries_by_resources) == (
        3,
        1,
        1,
    )


def test_breakdowns_by_purpose_and_commune(session, year_2025):
    report = _report(session, year_2025)
    assert report.by_purpose == {
        Purpose.MEDICAL: 2,
        Purpose.SHOPPING: 1,
        Purpose.ADMINISTRATION: 0,
        Purpose.SOCIAL: 1,
        Purpose.OTHER: 0,
    }
    assert [(c.insee, c.beneficiaries, c.trips) for c in report.by_commune] == [
        (CAJARC, 2, 3),
        (FIGEAC, 1, 1),
    ]


def test_missing_lists_residents_without_basis_or_expired(session, year_2025):
    report = _report(session, year_2025)
    assert [(m.name, m.state) for m in report.missing] == [
        ("Delpech Bernard", "expired"),
        ("Delpech Chantal", "missing"),
    ]


def test_participation_is_zero_until_recorded(session, year_2025):
    assert _report(session, year_2025).participation_eur == Decimal("0.00")


def test_participation_is_what_was_due_for_the_years_legs(session, year_2025):
    """2.90 + 1.45 for two legs of 2025; the cancelled leg and the leg of 2024 do not count."""
    matches = session.scalars(
        sa.select(Match)
        .join(Request, Match.request_id == Request.id)
        .where(Request.association_id == year_2025.id)
        .order_by(Match.pickup_at)
    ).all()
    amounts = {2025: [Decimal("2.90"), Decimal("1.45")], 2024: [Decimal("9.99")]}
    for match in matches:
        year = match.pickup_at.astimezone(PARIS).year
        if match.status != MatchStatus.CANCELLED and amounts.get(year):
            session.add(
                LegParticipation(
                    association_id=year_2025.id,
                    match_id=match.id,
                    resident_id=session.get_one(Request, match.request_id).resident_id,
                    km=Decimal("14.5"),
                    price_per_km=Decimal("0.20"),
                    amount=amounts[year].pop(0),
                )
            )
    session.commit()

    assert _report(session, year_2025).participation_eur == Decimal("4.35")


def test_json_has_the_keys_of_the_brief(session, year_2025):
    data = _report(session, year_2025).as_json()
    assert {
        "year", "drivers", "volunteer_drivers", "beneficiaries", "beneficiaries_by_place",
        "beneficiaries_by_resources", "vehicles", "average_capacity", "trips", "average_km",
        "participation_eur", "by_purpose", "by_commune", "missing",
    } <= data.keys()  # fmt: skip
    assert data["missing"] == {
        "without_basis": 1,
        "expired": 1,
        "resident_ids": data["missing"]["resident_ids"],
    }


def test_an_empty_year_gives_zeros(session, year_2025):
    report = tus_report.build(session, year_2025, 2021, today=TODAY)
    assert (report.trips, report.average_km, report.average_capacity, report.beneficiaries) == (
        0,
        0.0,
        0.0,
        0,
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("deux mille", "n'est pas un nombre"),
        ("2019", "n'existait pas encore en 2019"),
        ("2027", "n'a pas encore commencé"),
    ],
)
def test_a_bad_year_is_refused_in_french(session, year_2025, text, message):
    with pytest.raises(InvalidInput) as refused:
        tus_report.checked_year(text, year_2025, TODAY)
    assert message in refused.value.errors["annee"]


def test_the_csv_uses_french_decimals(session, year_2025):
    text = tus_report.to_csv(_report(session, year_2025), with_purpose=False)
    assert "average_capacity;Capacité moyenne des véhicules (places);3,5\r\n" in text
    assert "purpose_medical" not in text
    assert (
        "commune_46045_beneficiaries;Cajarc : bénéficiaires;2\r\ncommune_46045_trips;Cajarc : trajets;3\r\n"
        in text
    )


def test_a_basis_to_renew_on_the_last_day_of_the_year_covers_the_year(session, year_2025):
    anne = session.scalars(sa.select(Resident).where(Resident.first_name == "Anne")).one()
    anne.tus_renew_on = date(2025, 12, 31)
    session.commit()

    assert "Delpech Anne" not in [m.name for m in _report(session, year_2025).missing]


def test_on_the_demo_every_beneficiary_counts_once_by_basis_or_as_missing(db, clock):
    from carpool.models import Association
    from carpool.services.demo import seed_demo

    with db.session() as session:
        seed_demo(session, TEST_BOX, clock=clock)
    with db.session() as session:
        today = clock.now().astimezone(PARIS).date()
        reports = [
            tus_report.build(session, demo, today.year, today=today)
            for demo in session.scalars(sa.select(Association).order_by(Association.id))
        ]

    assert len(reports) == 2  # the Lot and Argenteuil – Cergy
    for report in reports:
        assert (
            report.beneficiaries > 0
            and report.beneficiaries_by_place + report.beneficiaries_by_resources > 0
            and report.beneficiaries_by_place + report.beneficiaries_by_resources + report.without_basis
            == report.beneficiaries
        )
    assert reports[0].beneficiaries_by_place > 0 and reports[0].beneficiaries_by_resources > 0
