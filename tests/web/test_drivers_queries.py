"""The drivers' pages and API cost a fixed number of SQL statements, whatever the number of rides.

Each place a driver sees is a commune or a named place: reading them one by one while rendering
(N+1) made "Mes trajets" and GET /api/v1/offers cost two statements per offer. The commune list
of the autocomplete is cached per process: it must still follow the table.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa
from support.factories import TUESDAY, WHERE, add_offer, add_proposal, add_resident

from carpool.db import point
from carpool.models import Commune, Driver, NamedPlace, Request
from carpool.services import accounts, places
from carpool.text import fold

# Communes of the shipped gazetteer, all different, so that no lookup is answered by the session.
COMMUNES = sorted(WHERE)[:80]


@contextmanager
def recording(app) -> Iterator[list[str]]:
    """Every SQL statement the app sends while the block runs (SQLite's BEGIN aside)."""
    seen: list[str] = []

    def record(_conn, _cursor, statement, *_args) -> None:  # type: ignore[no-untyped-def]
        if not statement.startswith("BEGIN"):
            seen.append(statement)

    engine = app.extensions["carpool.db"].engine
    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def statements(app, call: Callable[[], object]) -> list[str]:
    call()  # warm: what a process reads once is not what a request costs
    with recording(app) as seen:
        response = call()
    assert response.status_code == 200  # type: ignore[attr-defined]
    return seen


def add_rides(session, association, user, clock, how_many: int, start: int) -> list[int]:
    """``how_many`` offers between different communes, every other one to a named place, each with a
    passenger picked up in yet another commune."""
    driver = session.get_one(Driver, user.driver_id)
    named = list(session.scalars(sa.select(NamedPlace).where(NamedPlace.association_id.is_(None))))
    ids = []
    for n in range(start, start + how_many):
        offer = add_offer(
            session,
            driver,
            origin=COMMUNES[3 * n],
            destination=COMMUNES[3 * n + 1],
            day=TUESDAY.date() + timedelta(days=n),
        )
        if n % 2:
            offer.destination_place_id = named[n % len(named)].id
        session.commit()
        match = add_proposal(
            session, association, user, clock, offer=offer, resident=add_resident(session, association)
        )
        request = session.get_one(Request, match.request_id)
        request.pickup_commune_insee = COMMUNES[3 * n + 2]
        request.dropoff_place_id = named[(n + 1) % len(named)].id if n % 3 == 0 else None
        session.commit()
        ids.append(offer.id)
    return ids


def token_for(session, user, clock) -> dict[str, str]:
    _token, secret = accounts.create_api_token(session, user, "tests", clock)
    session.commit()
    return {"Authorization": f"Bearer {secret}"}


def test_my_rides_and_the_api_cost_the_same_statements_for_5_or_15_offers(
    app, driver_client, session, association, user, clock
):
    auth = token_for(session, user, clock)
    routes = {
        "Mes trajets": lambda: driver_client.get("/conducteurs/"),
        "GET /api/v1/offers": lambda: driver_client.get("/api/v1/offers", headers=auth),
        "GET /api/v1/matches": lambda: driver_client.get("/api/v1/matches", headers=auth),
    }
    first = add_rides(session, association, user, clock, 5, start=0)
    few = {name: len(statements(app, call)) for name, call in routes.items()}

    add_rides(session, association, user, clock, 10, start=5)
    many = {name: len(statements(app, call)) for name, call in routes.items()}

    assert many == few
    assert few["Mes trajets"] <= 4  # user, driver, offers with their places, passengers with theirs
    assert few["GET /api/v1/offers"] <= 3  # token and user, driver, offers with their places
    page = driver_client.get("/conducteurs/").get_data(as_text=True)
    assert page.count('<article class="card" aria-labelledby="trajet-') == 15
    assert page.count('class="card passenger"') == 15
    assert len(driver_client.get("/api/v1/offers", headers=auth).get_json()["offers"]) == 15
    one_offer = {
        name: len(statements(app, call))
        for name, call in {
            "trajet": lambda: driver_client.get(f"/conducteurs/trajets/{first[1]}"),
            "GET /api/v1/offers/<id>": lambda: driver_client.get(f"/api/v1/offers/{first[1]}", headers=auth),
        }.items()
    }
    assert one_offer["trajet"] <= 4  # user, driver, the offer with its places, its passengers
    assert one_offer["GET /api/v1/offers/<id>"] <= 3


def test_the_offer_form_and_the_places_search_read_no_commune_row_once_warm(
    app, driver_client, session, user, clock
):
    auth = token_for(session, user, clock)
    for call in (
        lambda: driver_client.get("/conducteurs/trajets/nouveau"),
        lambda: driver_client.get("/conducteurs/lieux.json?q=cah"),
        lambda: driver_client.get("/api/v1/places?q=cah", headers=auth),
    ):
        seen = [" ".join(s.split()).lower() for s in statements(app, call)]

        assert not [s for s in seen if "commune.point" in s]
        from_commune = [s for s in seen if "from commune" in s]
        assert len(from_commune) == 1 and "count(" in from_commune[0]  # the cache's check only


def plain_suggestions(session, association_id: int, query: str, limit: int) -> list[str]:
    """The list by its definition: named places then communes, filtered and ranked on folded labels."""
    wanted = fold(query)
    labels = [p.name for p in places.named_places(session, association_id)]
    labels += [places.commune_label(c) for c in session.scalars(sa.select(Commune).order_by(Commune.name))]
    if wanted:
        labels = [label for label in labels if wanted in fold(label)]
        labels.sort(key=lambda label: (not fold(label).startswith(wanted), fold(label)))
    return labels[:limit] if limit else labels


@pytest.mark.parametrize("query", ["", "cah", "st cirq", "HÔPITAL", "sainte-", "95", "zzz"])
@pytest.mark.parametrize("limit", [0, 20])
def test_the_fast_suggestions_are_the_same_list_as_before(session, association, query, limit):
    session.add(
        NamedPlace(
            association_id=association.id,
            name="Hôpital de jour (Cahors)",
            kind="hôpital",
            commune_insee="46042",
            point=point(*WHERE["46042"]),
        )
    )
    session.commit()

    wanted = plain_suggestions(session, association.id, query, limit)
    assert places.place_suggestions(session, association.id, query, limit) == wanted
    assert places.place_suggestions(session, association.id, query, limit) == wanted  # from the cache


@pytest.fixture
def extra_commune(session):
    """A commune added to the gazetteer for one test (the gazetteer outlives tests: removed after)."""
    commune = Commune(
        insee="46999", name="Vieux-Bourg", postcode="46999", population=10, point=point(*WHERE["46042"])
    )
    session.add(commune)
    session.commit()
    yield commune
    session.execute(sa.delete(Commune).where(Commune.insee == "46999"))
    session.commit()


def suggest(client, query: str) -> list[str]:
    return client.get(f"/conducteurs/lieux.json?q={query}").get_json()["places"]


def test_the_cached_commune_list_follows_the_table(driver_client, session, extra_commune, monkeypatch):
    assert suggest(driver_client, "vieux bourg") == ["Vieux-Bourg (46999)"]
    assert "Vieux-Bourg (46999)" in driver_client.get("/conducteurs/trajets/nouveau").get_data(as_text=True)

    extra_commune.name = "Vieux-Bourg-sur-Lot"  # a rename the count does not see
    session.commit()
    assert suggest(driver_client, "vieux bourg") == ["Vieux-Bourg-sur-Lot (46999)"]

    extra_commune.name = "Vieux-Bourg-sur-Olt"  # same length: seen when the cached list expires
    session.commit()
    monkeypatch.setattr(places, "COMMUNE_LABELS_TTL_S", 0.0)
    assert suggest(driver_client, "vieux bourg") == ["Vieux-Bourg-sur-Olt (46999)"]

    session.delete(extra_commune)
    session.commit()
    assert suggest(driver_client, "vieux bourg") == []


def test_a_new_named_place_is_suggested_at_once(driver_client, session, association):
    assert suggest(driver_client, "salle des fetes de cahors") == []

    session.add(
        NamedPlace(
            association_id=association.id,
            name="Salle des fêtes de Cahors",
            kind="salle",
            commune_insee="46042",
            point=point(*WHERE["46042"]),
        )
    )
    session.commit()

    assert suggest(driver_client, "salle des fetes de cahors") == ["Salle des fêtes de Cahors"]


def test_the_token_use_is_written_once_a_minute(app, client, session, user, clock):
    auth = token_for(session, user, clock)

    def updates() -> int:
        with recording(app) as seen:
            assert client.get("/api/v1/me", headers=auth).status_code == 200
        return sum(s.lstrip().upper().startswith("UPDATE API_TOKEN") for s in seen)

    assert updates() == 1  # first use
    clock.advance(seconds=59)
    assert updates() == 0
    clock.advance(seconds=2)
    assert updates() == 1
    (token,) = session.scalars(sa.select(accounts.ApiToken).execution_options(populate_existing=True))
    assert token.last_used_at == clock.now()
