"""Figures for funders: the numbers from real rows, the page, its chart and its exports."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook
from support.drivers_kit import log_in, text
from support.factories import (
    CAHORS,
    CAJARC,
    FIGEAC,
    GOURDON,
    WHERE,
    add_coordinator,
    add_driver,
    add_offer,
    add_request,
    add_resident,
)

from carpool.clock import PARIS
from carpool.matching import haversine_km
from carpool.models import (
    Association,
    AuditEvent,
    Match,
    MatchStatus,
    Purpose,
    RequestStatus,
)
from carpool.services import exports, figures

NOV, OCT = date(2026, 11, 1), date(2026, 10, 1)


def ask(session, person, at, *, purpose=Purpose.MEDICAL, status=RequestStatus.DONE, reason=None, asked=None):
    return add_request(
        session,
        session.get_one(Association, person.association_id),
        resident=person,
        latest=at + timedelta(hours=1),
        window=timedelta(hours=2),
        purpose=purpose,
        status=status,
        unmatched_reason=reason,
        created_at=asked or at - timedelta(days=3),
    )


def trip(
    session,
    person,
    driver,
    at,
    *,
    offer=None,
    purpose=Purpose.MEDICAL,
    seats=1,
    detour_min=0.0,
    confirmed_after=timedelta(hours=5),
) -> Match:
    """A completed trip, asked three days before and confirmed ``confirmed_after`` later."""
    request = ask(session, person, at, purpose=purpose)
    match = Match(
        request_id=request.id,
        driver_id=driver.id,
        offer_id=offer.id if offer else None,
        seats=seats,
        pickup_at=at,
        dropoff_at=at + timedelta(minutes=45),
        detour_min=detour_min,
        status=MatchStatus.COMPLETED,
        confirmed_at=request.created_at + confirmed_after,
    )
    session.add(match)
    session.flush()
    return match


def expired(session, person, at, reason):
    return ask(session, person, at, status=RequestStatus.EXPIRED, reason=reason)


def on(day: int, month: int = 11, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, 0, tzinfo=PARIS)


def km(*legs: tuple[str, str]) -> float:
    return sum(haversine_km(WHERE[a], WHERE[b]) for a, b in legs) * 1.3


def report(session, association, first=OCT, last=NOV, **kwargs) -> figures.Report:
    result = figures.report(session, association.id, first, last, **kwargs)
    session.commit()
    return result


@pytest.fixture
def driver(session, association):
    return add_driver(session, association, insee=FIGEAC)


@pytest.fixture
def lot(session, association, driver):
    """Jeanne (Cajarc) twice in November and once in October, Paul (Gourdon) once in November."""
    jeanne = add_resident(session, association)
    paul = add_resident(session, association, first_name="Paul", home=GOURDON)
    trip(session, jeanne, driver, on(3), purpose=Purpose.MEDICAL)
    trip(session, jeanne, driver, on(10), purpose=Purpose.SHOPPING, seats=2)
    trip(session, jeanne, driver, on(15, month=10), purpose=Purpose.SOCIAL)
    trip(session, paul, driver, on(12), purpose=Purpose.ADMINISTRATION)
    expired(session, jeanne, on(20), "no_volunteer_slot")
    expired(session, paul, on(21), "no_volunteer_slot")
    expired(session, paul, on(8, month=10), "detour_too_long")
    session.commit()
    return jeanne, paul


# --- the numbers ---------------------------------------------------------------------------


def test_trips_and_distinct_people_are_counted_per_month(session, association, lot):
    october, november = report(session, association).months

    assert (october.trips, october.people) == (1, 1)
    assert (november.trips, november.people) == (3, 2)


def test_the_period_counts_each_person_once(session, association, lot):
    total = report(session, association).total

    assert (total.trips, total.people, total.passengers) == (4, 2, 5)


def test_passengers_are_broken_down_by_purpose(session, association, lot):
    november = report(session, association).months[1]

    assert november.by_purpose == {
        Purpose.MEDICAL: 1,
        Purpose.SHOPPING: 2,
        Purpose.ADMINISTRATION: 1,
        Purpose.SOCIAL: 0,
        Purpose.OTHER: 0,
    }


def test_only_completed_trips_count(session, association, driver):
    jeanne = add_resident(session, association)
    for status in (MatchStatus.CONFIRMED, MatchStatus.CANCELLED, MatchStatus.NO_SHOW):
        trip(session, jeanne, driver, on(4)).status = status
    session.commit()

    assert report(session, association).total.trips == 0


def test_a_trip_counts_in_its_paris_month(session, association, driver):
    # 31 October 23:30 UTC is already 1 November in Paris.
    trip(session, add_resident(session, association), driver, datetime(2026, 10, 31, 23, 30, tzinfo=UTC))
    session.commit()

    october, november = report(session, association).months

    assert (october.trips, november.trips) == (0, 1)


def test_unmet_requests_are_counted_with_their_reasons_in_french(session, association, lot):
    result = report(session, association)

    assert [m.unmet for m in result.months] == [1, 2]
    assert [(u.reason, u.label, u.count) for u in result.unmet_reasons] == [
        ("no_volunteer_slot", "aucun bénévole disponible à cette heure", 2),
        ("detour_too_long", "détour trop long", 1),
    ]


def test_requests_still_open_or_cancelled_are_not_unmet(session, association):
    jeanne = add_resident(session, association)
    ask(session, jeanne, on(5), status=RequestStatus.OPEN)
    ask(session, jeanne, on(6), status=RequestStatus.CANCELLED)
    session.commit()

    assert report(session, association).total.unmet == 0


def test_an_offered_ride_counts_the_passengers_trip_its_detour_and_the_co2_of_a_solo_car(
    session, association, driver
):
    offer = add_offer(session, driver)
    trip(session, add_resident(session, association), driver, on(3), offer=offer, detour_min=6.0)
    session.commit()

    total = report(session, association).total

    distance = km((CAJARC, CAHORS))
    assert total.km == pytest.approx(distance, rel=0.01)
    assert total.volunteer_hours == pytest.approx(0.1)
    assert total.co2_avoided_kg == pytest.approx((distance - 5.0) * figures.CAR_KG_CO2E_PER_KM, rel=0.01)


def test_a_volunteer_trip_counts_the_loop_and_is_compared_with_a_taxi(session, association, driver):
    trip(session, add_resident(session, association), driver, on(3))
    session.commit()

    total = report(session, association).total

    loop = km((FIGEAC, CAJARC), (CAJARC, CAHORS), (CAHORS, FIGEAC))
    taxi = 2 * km((CAJARC, CAHORS))
    assert total.km == pytest.approx(loop, rel=0.01)
    assert total.volunteer_hours == pytest.approx(loop / 50, rel=0.01)
    assert total.co2_avoided_kg == pytest.approx((taxi - loop) * figures.CAR_KG_CO2E_PER_KM, rel=0.02)


def test_time_to_confirmation_is_averaged_over_confirmed_trips(session, association, driver):
    jeanne = add_resident(session, association)
    trip(session, jeanne, driver, on(3), confirmed_after=timedelta(hours=2))
    trip(session, jeanne, driver, on(4), confirmed_after=timedelta(hours=6))
    session.commit()

    assert report(session, association).months[1].confirmation_hours == pytest.approx(4.0)
    assert report(session, association).months[0].confirmation_hours is None


def test_communes_are_those_where_passengers_live(session, association, lot):
    communes = {f.label: (f.trips, f.people, f.unmet) for f in report(session, association).communes}

    assert communes == {"Cajarc": (3, 1, 1), "Gourdon": (1, 1, 2)}


def test_one_commune_can_be_chosen(session, association, lot):
    total = report(session, association, commune=GOURDON).total

    assert (total.trips, total.people, total.unmet) == (1, 1, 2)


def test_another_associations_trips_are_never_counted(session, association, other_association, lot):
    elsewhere = add_driver(session, other_association)
    trip(session, add_resident(session, other_association), elsewhere, on(5))
    session.commit()

    assert report(session, association).total.trips == 4
    assert report(session, other_association).total.trips == 1


def test_the_number_of_queries_does_not_grow_with_the_trips(session, association, driver, db):
    def queries() -> int:
        seen: list[str] = []
        listener = lambda *args: seen.append(args[2])  # noqa: E731
        sa.event.listen(db.engine, "before_cursor_execute", listener)
        try:
            report(session, association, first=date(2025, 12, 1))
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", listener)
        return len(seen)

    jeanne = add_resident(session, association)
    trip(session, jeanne, driver, on(3))
    session.commit()
    few = queries()
    for day in range(1, 28):
        trip(session, add_resident(session, association), driver, on(day, month=1 + day % 11))
    session.commit()

    assert queries() == few


def test_commune_names_the_caller_knows_give_the_same_report(session, association, lot):
    plain = report(session, association)
    known = dict(figures.communes_served(session, association.id))

    assert report(session, association, commune_names=known) == plain
    assert report(session, association, commune_names={GOURDON: "Gourdon"}) == plain  # Cajarc looked up
    assert [f.label for f in plain.communes] == ["Cajarc", "Gourdon"]


# --- the page ------------------------------------------------------------------------------


def test_the_page_shows_the_last_twelve_months_by_default(coord_client, lot):
    page = coord_client.get("/coordination/chiffres")

    assert page.status_code == 200
    assert "De décembre 2025 à novembre 2026" in " ".join(text(page).split())


def test_the_page_shows_the_figures_in_tables_with_headers(coord_client, lot):
    page = text(coord_client.get("/coordination/chiffres?du=2026-10&au=2026-11"))

    assert "Chiffres par mois, de octobre 2026 à novembre 2026</caption>" in page
    assert '<th scope="row">Novembre 2026</th>' in page
    assert '<th scope="col" class="num">Trajets effectués</th>' in page
    assert "Aucun bénévole disponible à cette heure" in page


def test_each_line_shows_its_numbers_in_order_and_its_label_escaped(coord_client, session, association, lot):
    puy = add_resident(session, association, first_name="Louis", home="46231")  # Puy-l'Évêque
    expired(session, puy, on(22), "no_volunteer_slot")
    session.commit()
    page = coord_client.get("/coordination/chiffres?du=2026-10&au=2026-11").get_data(as_text=True)

    # Cajarc: 3 trips, 1 person, 4 passengers (santé 1, courses 2, démarches 0, vie sociale 1, autre 0)
    cells = "".join(f'<td class="num">{n}</td>' for n in (3, 1, 4, 1, 2, 0, 1, 0))
    assert f'<tr><th scope="row">Cajarc</th>{cells}' in page
    assert '<tr><th scope="row">Novembre 2026</th><td class="num">3</td><td class="num">2</td>' in page
    assert '<th scope="row">Puy-l&#39;Évêque</th><td class="num">0</td>' in page
    assert '<tfoot><tr><th scope="row">Total</th><td class="num">4</td><td class="num">2</td>' in page


def test_the_chart_is_an_svg_with_a_text_alternative(coord_client, lot):
    page = text(coord_client.get("/coordination/chiffres?du=2026-10&au=2026-11"))

    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="figures-chart" role="img"' in page
    assert 'aria-labelledby="figures-chart-title figures-chart-desc"' in page
    assert (
        '<title id="figures-chart-title">Trajets effectués et demandes non satisfaites par mois</title>'
        in page
    )
    assert "tableau « Chiffres par mois »" in page


def test_the_page_states_how_co2_and_volunteer_hours_are_computed(coord_client):
    page = text(coord_client.get("/coordination/chiffres"))

    assert "Base Carbone ADEME" in page and "estimation" in page
    assert "Heures de bénévolat : minutes de détour" in page


def test_purposes_are_shown_to_coordinators_allowed_to_see_health_data(coord_client, lot):
    assert "dont santé" in text(coord_client.get("/coordination/chiffres"))


def test_purposes_are_hidden_from_other_coordinators(client, no_csrf, session, association, lot):
    log_in(client, add_coordinator(session, association, email="marc@example.org", sees_health_data=False))

    page = text(client.get("/coordination/chiffres"))
    csv_file = client.get("/coordination/chiffres.csv").get_data(as_text=True)

    assert "dont santé" not in page
    assert "passagers_sante" not in csv_file


def test_a_coordinator_of_another_association_sees_zeros(client, no_csrf, session, other_association, lot):
    log_in(client, add_coordinator(session, other_association, email="ines@example.org"))

    page = text(client.get("/coordination/chiffres?du=2026-10&au=2026-11"))
    csv_lines = (
        client.get("/coordination/chiffres.csv?du=2026-10&au=2026-11").get_data(as_text=True).splitlines()
    )

    assert "Cajarc" not in page and "Gourdon" not in page
    assert csv_lines[-1].startswith("total;0;0;0;")


def test_a_commune_of_another_territory_is_refused(
    client, no_csrf, session, association, other_association, lot
):
    log_in(client, add_coordinator(session, other_association, email="ines@example.org"))

    page = client.get(f"/coordination/chiffres?commune={GOURDON}")

    assert page.status_code == 422
    assert "Cette commune ne fait pas partie de votre territoire" in text(page)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("du=2026-13", "Le mois de début n'est pas valide"),
        ("au=novembre", "Le mois de fin n'est pas valide"),
        ("du=2026-11&au=2026-01", "Le mois de début doit précéder le mois de fin."),
        ("du=2020-01&au=2026-11", "La période est limitée à 36 mois"),
    ],
)
def test_a_bad_period_gives_a_clear_message_and_the_default_figures(coord_client, query, message):
    page = coord_client.get(f"/coordination/chiffres?{query}")

    assert page.status_code == 422
    assert message in text(page)
    assert "Voici les chiffres de décembre 2025 à novembre 2026." in " ".join(text(page).split())


def test_an_export_with_a_bad_period_gives_the_page_not_a_file(coord_client):
    response = coord_client.get("/coordination/chiffres.csv?du=2026-13")

    assert response.status_code == 422
    assert response.mimetype == "text/html"


def test_the_page_needs_a_coordinator(client):
    assert client.get("/coordination/chiffres").status_code in (302, 303, 401, 403)
    assert client.get("/coordination/chiffres.csv").status_code in (302, 303, 401, 403)


# --- the exports ---------------------------------------------------------------------------


def test_the_csv_has_the_funders_columns_and_a_row_per_month(coord_client, lot):
    response = coord_client.get("/coordination/chiffres.csv?du=2026-10&au=2026-11")

    lines = response.get_data(as_text=True).lstrip("\ufeff").splitlines()
    assert response.mimetype == "text/csv"
    assert 'filename="chiffres-2026-10-2026-11.csv"' in response.headers["Content-Disposition"]
    assert lines[0] == (
        "mois;trajets_effectues;personnes_servies;passagers;passagers_sante;passagers_courses;"
        "passagers_demarches;passagers_vie_sociale;passagers_autre;km;co2_emis_kg;co2_evite_kg;co2_bilan_kg;"
        "demandes_non_satisfaites;delai_moyen_confirmation_h;heures_benevoles;"
        "allers_retours_assures;allers_retours_aller_seul"
    )
    assert lines[1].startswith("2026-10;1;1;1;0;0;0;1;0;")
    assert lines[2].startswith("2026-11;3;2;4;1;2;1;0;0;")
    assert lines[3].startswith("total;4;2;5;1;2;1;1;0;")
    assert lines[3].split(";")[13] == "3"  # unmet requests


def test_the_xlsx_has_the_same_rows_as_the_csv(coord_client, lot):
    csv_lines = coord_client.get("/coordination/chiffres.csv?du=2026-10&au=2026-11").get_data(as_text=True)
    response = coord_client.get("/coordination/chiffres.xlsx?du=2026-10&au=2026-11")

    book = load_workbook(io.BytesIO(response.get_data()))
    rows = [[_value(v) for v in row] for row in book["Par mois"].iter_rows(values_only=True)]
    assert response.mimetype == figures_xlsx_type()
    assert rows == [[_value(v) for v in line.split(";")] for line in csv_lines.lstrip("\ufeff").splitlines()]
    assert book.sheetnames == ["Par mois", "Par commune", "Non satisfaites", "Méthode"]


def test_exports_are_audited(coord_client, session, association, coordinator):
    coord_client.get("/coordination/chiffres.csv?du=2026-10&au=2026-11&commune=")
    coord_client.get("/coordination/chiffres.xlsx?du=2026-10&au=2026-11")

    events = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "figures.exported").order_by(AuditEvent.id)
    ).all()
    assert [(e.actor, e.association_id, e.details["format"], e.details["du"]) for e in events] == [
        (f"user:{coordinator.id}", association.id, "csv", "2026-10"),
        (f"user:{coordinator.id}", association.id, "xlsx", "2026-10"),
    ]


def test_a_cell_cannot_become_a_formula():
    assert exports.safe_cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"


def _value(cell):
    """A CSV or spreadsheet cell as a comparable value (numbers as floats, blanks as None)."""
    if cell in (None, ""):
        return None
    try:
        return float(str(cell).replace(",", "."))
    except ValueError:
        return cell


def figures_xlsx_type() -> str:
    return "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
