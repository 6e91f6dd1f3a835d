"""A volunteer says when they can drive: weekly slots, radius, weekly cap, time off."""

from __future__ import annotations

from datetime import date, time

import pytest
import sqlalchemy as sa
from support.drivers_kit import count, log_in, one, text
from support.factories import add_driver_account

from carpool.models import AvailabilitySlot, Driver, TimeOff


def grid(*slots, radius="25", trips="2", blanks=2) -> dict[str, str]:
    data = {"radius_km": radius, "max_trips_per_week": trips}
    rows = [*slots, *[("", "", "")] * blanks]
    for n, (weekday, starts, ends) in enumerate(rows):
        data |= {f"slots-{n}-weekday": weekday, f"slots-{n}-starts_at": starts, f"slots-{n}-ends_at": ends}
    return data


def slots_of(session, user) -> list[tuple[int, time, time, int]]:
    rows = session.execute(
        sa.select(
            AvailabilitySlot.weekday,
            AvailabilitySlot.starts_at,
            AvailabilitySlot.ends_at,
            AvailabilitySlot.id,
        )
        .where(AvailabilitySlot.driver_id == user.driver_id)
        .order_by(AvailabilitySlot.weekday, AvailabilitySlot.starts_at)
    ).all()
    session.commit()
    return [tuple(r) for r in rows]


def test_the_availability_page_labels_every_field(driver_client):
    page = driver_client.get("/conducteurs/disponibilites").get_data(as_text=True)

    for name in (
        "slots-0-weekday",
        "slots-0-starts_at",
        "slots-0-ends_at",
        "radius_km",
        "max_trips_per_week",
    ):
        assert f'<label for="{name}"' in page, name
    assert 'for="slots-4-weekday"' in page  # five empty rows to start with


def test_saving_weekly_slots_radius_and_cap(driver_client, session, user):
    response = driver_client.post(
        "/conducteurs/disponibilites", data=grid(("1", "08:00", "12:00"), ("3", "14:00", "18:00"))
    )

    assert response.status_code == 303
    assert [s[:3] for s in slots_of(session, user)] == [(1, time(8), time(12)), (3, time(14), time(18))]
    driver = one(session, sa.select(Driver))
    assert (driver.radius_km, driver.max_trips_per_week) == (25, 2)
    page = driver_client.get("/conducteurs/disponibilites").get_data(as_text=True)
    assert 'value="14:00"' in page


def test_editing_replaces_every_slot_with_new_rows(driver_client, session, user):
    driver_client.post("/conducteurs/disponibilites", data=grid(("1", "08:00", "12:00")))
    (before,) = slots_of(session, user)

    driver_client.post(
        "/conducteurs/disponibilites", data=grid(("1", "08:00", "12:00"), ("4", "09:00", "11:00"))
    )

    after = slots_of(session, user)
    assert len(after) == 2
    assert min(s[3] for s in after) > before[3]  # new rows: the matcher's cache key (count, max id) moves


def test_changing_one_slot_for_another_moves_the_highest_id(driver_client, session, user):
    driver_client.post("/conducteurs/disponibilites", data=grid(("1", "08:00", "12:00")))
    (before,) = slots_of(session, user)

    driver_client.post("/conducteurs/disponibilites", data=grid(("2", "08:00", "12:00")))

    (after,) = slots_of(session, user)
    assert after[0] == 2
    assert after[3] > before[3]


def test_clearing_every_row_removes_the_slots(driver_client, session, user):
    driver_client.post("/conducteurs/disponibilites", data=grid(("1", "08:00", "12:00")))

    driver_client.post("/conducteurs/disponibilites", data=grid())

    assert slots_of(session, user) == []


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (grid(("1", "12:00", "08:00")), "slots-0-ends_at", "après l'heure de début"),
        (grid(("1", "12:00", "12:00")), "slots-0-ends_at", "après l'heure de début"),
        (grid(("", "08:00", "12:00")), "slots-0-weekday", "Choisissez un jour"),
        (grid(("9", "08:00", "12:00")), "slots-0-weekday", "Choisissez un jour"),
        (grid(("1", "08:00", "")), "slots-0-ends_at", "Indiquez l'heure de fin"),
        (grid(("1", "8h", "12:00")), "slots-0-starts_at", "heure n'est pas valide"),
        (grid(("1", "08:00", "12:00"), radius="0"), "radius_km", "entre 1 et 100"),
        (grid(("1", "08:00", "12:00"), radius="500"), "radius_km", "entre 1 et 100"),
        (grid(("1", "08:00", "12:00"), trips="-1"), "max_trips_per_week", "entre 0 et 20"),
        (grid(("1", "08:00", "12:00"), radius=""), "radius_km", "obligatoire"),
    ],
)
def test_bad_slots_come_back_with_a_message_and_nothing_changes(
    driver_client, session, user, data, field, message
):
    driver_client.post("/conducteurs/disponibilites", data=grid(("2", "09:00", "10:00")))
    before = slots_of(session, user)

    response = driver_client.post("/conducteurs/disponibilites", data=data)

    assert response.status_code == 422
    page = text(response)
    assert message in page
    assert f'id="{field}-error"' in page
    assert slots_of(session, user) == before
    assert one(session, sa.select(Driver)).radius_km == 25


def test_adding_and_removing_time_off(driver_client, session, user):
    added = driver_client.post(
        "/conducteurs/absences", data={"first_day": "2026-12-20", "last_day": "2027-01-03"}
    )
    period = one(session, sa.select(TimeOff))

    page = text(driver_client.get("/conducteurs/disponibilites"))
    removed = driver_client.post(f"/conducteurs/absences/{period.id}/supprimer")

    assert added.status_code == 303
    assert (period.first_day, period.last_day) == (date(2026, 12, 20), date(2027, 1, 3))
    assert "dimanche 20 décembre 2026" in page
    assert removed.status_code == 303
    assert count(session, TimeOff) == 0


@pytest.mark.parametrize(
    ("first", "last", "message"),
    [
        ("2026-12-20", "2026-12-10", "même jour ou après"),
        ("2026-11-01", "2026-11-10", "déjà passée"),
        ("", "2026-12-10", "premier jour"),
    ],
)
def test_bad_time_off_is_refused(driver_client, session, first, last, message):
    response = driver_client.post("/conducteurs/absences", data={"first_day": first, "last_day": last})

    assert response.status_code == 422
    assert message in text(response)
    assert count(session, TimeOff) == 0


def test_another_drivers_time_off_cannot_be_removed(client, no_csrf, session, association, user, clock):
    other = add_driver_account(session, association, clock, email="marc@example.org", phone="06 39 98 10 02")
    period = TimeOff(driver_id=user.driver_id, first_day=date(2026, 12, 20), last_day=date(2026, 12, 24))
    session.add(period)
    session.commit()
    log_in(client, other)

    assert client.post(f"/conducteurs/absences/{period.id}/supprimer").status_code == 404
    assert count(session, TimeOff) == 1
