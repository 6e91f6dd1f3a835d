"""Deterministic demo data: an association around Cahors, Figeac and Gourdon.

Only ``carpool seed-demo`` (and ``carpool setup`` on an empty base) call this:
the demo log-ins never exist in a real deployment unless someone asks for them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS, Clock
from carpool.db import lon_lat
from carpool.models import (
    Association,
    AttentionReason,
    Commune,
    Driver,
    InboundMessage,
    Match,
    MatchStatus,
    NamedPlace,
    Offer,
    Purpose,
    Request,
    RequestSource,
    RequestStatus,
    Resident,
    Role,
    UserAccount,
    VettingStatus,
)
from carpool.services import audit
from carpool.services.accounts import hash_password

DEMO_ASSOCIATION = "Covoiturage solidaire du Lot (démo)"
DEMO_PASSWORD = "demo1234"  # noqa: S105 - documented demo credential, created only on request
DEMO_LOGINS = (("coord@demo.test", "coordinatrice (administratrice)"), ("driver@demo.test", "conducteur"))
#: The demo admin's second factor (admins must have one): a documented key to type into an
#: authenticator app, so the demo opens at once. Never used outside the demo.
DEMO_TOTP_SECRET = "COVOITURAGEDEMOLOTCAHORSFIGEAC23"  # noqa: S105 - documented demo credential
HUBS = ("46042", "46102", "46127")  # Cahors, Figeac, Gourdon
HORIZON_DAYS = 14

FIRST_NAMES = [
    "Jeanne",
    "Marie",
    "Simone",
    "Odette",
    "Paulette",
    "Yvette",
    "Germaine",
    "Colette",
    "Huguette",
    "Monique",
    "Josette",
    "Lucienne",
    "Raymond",
    "Marcel",
    "André",
    "Roger",
    "Pierre",
    "Jean",
    "Bernard",
    "Gérard",
    "Michel",
    "René",
    "Robert",
    "Lucien",
    "Claude",
    "Henri",
]
DRIVER_FIRST_NAMES = [
    "Sophie",
    "Nathalie",
    "Isabelle",
    "Christine",
    "Philippe",
    "Alain",
    "Patrick",
    "Laurent",
    "Éric",
    "Françoise",
]
LAST_NAMES = [
    "Delpech",
    "Lacoste",
    "Vidal",
    "Bouyssou",
    "Lafon",
    "Cayla",
    "Delmas",
    "Roques",
    "Bessières",
    "Marty",
    "Couderc",
    "Lagarrigue",
    "Caminade",
    "Pélissié",
    "Fournié",
    "Andrieu",
    "Barrié",
    "Calmejane",
    "Soulié",
    "Bouzou",
    "Garrigues",
    "Lacombe",
    "Mazet",
    "Périé",
]
PURPOSES = (
    (Purpose.MEDICAL, 0.62),
    (Purpose.SHOPPING, 0.18),
    (Purpose.ADMINISTRATION, 0.12),
    (Purpose.SOCIAL, 0.08),
)


@dataclass(frozen=True)
class DemoReport:
    already_seeded: bool
    drivers: int = 0
    residents: int = 0
    offers: int = 0
    requests: int = 0


def _demo_phone(n: int) -> str:
    """Numbers from the range ARCEP reserves for fiction (06 39 98 xx xx): never a real person."""
    return f"+3363998{n:04d}"


def _near_hubs(communes: list[Commune], rng: random.Random) -> list[Commune]:
    """Villages within about 35 km of a hub, weighted by population like real demand."""
    hubs = [lon_lat(c.point) for c in communes if c.insee in HUBS]
    nearby = []
    for commune in communes:
        lon, lat = lon_lat(commune.point)
        if any(abs(lon - hx) < 0.45 and abs(lat - hy) < 0.32 for hx, hy in hubs):
            nearby.append(commune)
    return nearby


def is_empty(session: Session) -> bool:
    """True before any association exists: the first run of a new installation."""
    return session.scalar(sa.select(sa.func.count()).select_from(Association)) == 0


def seed_demo(session: Session, seed: int = 46, clock: Clock | None = None, *, scale: int = 1) -> DemoReport:
    """Create the demo association once; later calls change nothing.

    ``scale`` multiplies people, offers and requests (the dashboard benchmark uses 10).
    """
    if session.scalar(sa.select(Association.id).where(Association.name == DEMO_ASSOCIATION)):
        return DemoReport(already_seeded=True)
    communes = list(
        session.scalars(sa.select(Commune).where(Commune.insee.like("46%")).order_by(Commune.insee))
    )
    if not communes:
        from carpool.errors import StartupError

        raise StartupError("aucune commune en base : lancez d'abord « carpool import-communes ».")
    rng = random.Random(seed)
    now = (clock or Clock()).now()
    association = Association(name=DEMO_ASSOCIATION, sms_number="06 39 98 00 00", phone="05 39 98 00 00")
    session.add(association)
    session.flush()

    villages = _near_hubs(communes, rng)
    weights = [c.population for c in villages]
    by_insee = {c.insee: c for c in communes}
    places = list(session.scalars(sa.select(NamedPlace).where(NamedPlace.commune_insee.in_(HUBS))))

    def home() -> Commune:  # drawn before each person's other traits: the seed gives the same demo
        return rng.choices(villages, weights)[0]

    drivers = [_driver(association, n, home(), rng) for n in range(20 * scale)]
    residents = [_resident(association, n, home(), rng) for n in range(60 * scale)]
    session.add_all([*drivers, *residents])
    session.flush()
    offers = _offers(session, drivers, by_insee, places, rng, now)
    requests = _requests(session, association, residents, by_insee, places, rng, now, 45 * scale)
    _history(session, association, drivers, residents, by_insee, places, rng, now, 30 * scale)
    _texts_to_handle(session, association, residents, now, scale)
    _logins(session, association, drivers[0])
    audit.record(session, "cli", "demo.seeded", association_id=association.id, seed=seed)
    session.flush()
    return DemoReport(False, len(drivers), len(residents), offers, requests)


def _driver(association: Association, n: int, home: Commune, rng: random.Random) -> Driver:
    return Driver(
        association_id=association.id,
        first_name=rng.choice(DRIVER_FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        email="driver@demo.test" if n == 0 else f"conducteur{n:02d}@demo.test",
        phone=_demo_phone(100 + n),
        home_commune_insee=home.insee,
        home_point=home.point,
        seats=rng.choice((2, 3, 3, 4)),
        wheelchair_accessible=n % 7 == 3,
        vetting=VettingStatus.PENDING if n % 20 in (17, 18) else VettingStatus.VETTED,
    )


def _demo_landline(n: int) -> str:
    """Landlines from the range ARCEP reserves for fiction in the south-west (05 36 49 xx xx)."""
    return f"+3353649{n:04d}"


def _resident(association: Association, n: int, home: Commune, rng: random.Random) -> Resident:
    """Every tenth resident has only a landline and is called; one mobile owner prefers calls too."""
    landline = n % 10 == 7
    return Resident(
        association_id=association.id,
        phone=_demo_landline(1000 + n) if landline else _demo_phone(1000 + n),
        channel="voice" if landline or n == 2 else "sms",
        first_name=rng.choice(FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        home_commune_insee=home.insee,
        uses_wheelchair=n % 15 == 4,
        uses_walker=n % 5 == 1,
        needs_help_boarding=n % 4 == 2,
    )


def _local(day: datetime, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day.date(), time(hour, minute), tzinfo=PARIS)


def _destination(
    by_insee: dict[str, Commune], places: list[NamedPlace], rng: random.Random, purpose: Purpose
) -> tuple[Commune, NamedPlace | None]:
    wanted = {"hopital", "clinique"} if purpose is Purpose.MEDICAL else {"marche", "mairie", "administration"}
    fitting = [p for p in places if p.kind in wanted]
    if fitting and rng.random() < 0.8:
        place = rng.choice(fitting)
        return by_insee[place.commune_insee], place
    return by_insee[rng.choice(HUBS)], None


def _offers(
    session: Session,
    drivers: list[Driver],
    by_insee: dict[str, Commune],
    places: list[NamedPlace],
    rng: random.Random,
    now: datetime,
) -> int:
    count = 0
    today = now.astimezone(PARIS)
    for driver in drivers:
        for _ in range(rng.randint(1, 3)):
            day = today + timedelta(days=rng.randint(1, HORIZON_DAYS))
            destination, place = _destination(by_insee, places, rng, Purpose.SHOPPING)
            if destination.insee == driver.home_commune_insee:
                continue
            start = _local(day, rng.choice((7, 8, 8, 9, 13, 14)), rng.choice((0, 15, 30, 45)))
            seats = driver.seats
            session.add(
                Offer(
                    driver_id=driver.id,
                    origin_commune_insee=driver.home_commune_insee,
                    origin_point=driver.home_point,
                    destination_commune_insee=destination.insee,
                    destination_point=place.point if place else destination.point,
                    destination_place_id=place.id if place else None,
                    depart_earliest=start,
                    depart_latest=start + timedelta(minutes=rng.choice((15, 30, 45))),
                    seats_total=seats,
                    seats_left=seats,
                    max_detour_min=rng.choice((10, 15, 20)),
                    comment=rng.choice(("", "", "Je peux aider à porter les courses.", "Retour vers 12h.")),
                )
            )
            count += 1
    return count


def _requests(
    session: Session,
    association: Association,
    residents: list[Resident],
    by_insee: dict[str, Commune],
    places: list[NamedPlace],
    rng: random.Random,
    now: datetime,
    how_many: int,
) -> int:
    count = 0
    today = now.astimezone(PARIS)
    for resident in rng.sample(residents, how_many):
        purpose = rng.choices([p for p, _ in PURPOSES], [w for _, w in PURPOSES])[0]
        destination, place = _destination(by_insee, places, rng, purpose)
        if destination.insee == resident.home_commune_insee:
            continue
        day = today + timedelta(days=rng.randint(1, HORIZON_DAYS))
        appointment = _local(day, rng.choice((8, 9, 9, 10, 10, 11, 14, 15)), rng.choice((0, 15, 30)))
        home = by_insee[resident.home_commune_insee]
        session.add(
            _request_row(
                resident,
                home,
                destination,
                place,
                appointment,
                purpose,
                rng,
                return_at=appointment + timedelta(hours=2) if rng.random() < 0.5 else None,
                passengers=1 if rng.random() < 0.9 else 2,
            )
        )
        count += 1
    return count


#: What happened to past requests in the demo: most rides done, some never found a driver.
PAST_OUTCOMES = (
    ("done", 80),
    ("no_offer_in_time_window", 8),
    ("outside_volunteer_radius", 6),
    ("detour_too_long", 6),
)
HISTORY_MONTHS = 6


def _history(
    session: Session,
    association: Association,
    drivers: list[Driver],
    residents: list[Resident],
    by_insee: dict[str, Commune],
    places: list[NamedPlace],
    rng: random.Random,
    now: datetime,
    per_month: int,
) -> None:
    """Six months of past rides (done or unmet) and the coming week's bookings, for the dashboard."""
    vetted = [d for d in drivers if d.vetting is VettingStatus.VETTED]
    today = now.astimezone(PARIS)
    for _ in range(per_month * HISTORY_MONTHS):
        day = today - timedelta(days=rng.randint(1, 30 * HISTORY_MONTHS))
        outcome = rng.choices([o for o, _ in PAST_OUTCOMES], [w for _, w in PAST_OUTCOMES])[0]
        request = _past_request(session, association, rng.choice(residents), by_insee, places, rng, day)
        if request is None:
            continue
        if outcome == "done":
            request.status = RequestStatus.DONE
            _ride(session, request, rng.choice(vetted), rng, MatchStatus.COMPLETED)
        else:
            request.status, request.unmatched_reason = RequestStatus.EXPIRED, outcome
    for _ in range(per_month // 3):  # the coming week: confirmed rides, and some waiting for a driver
        day = today + timedelta(days=rng.randint(0, 6))
        request = _past_request(session, association, rng.choice(residents), by_insee, places, rng, day)
        if request is not None:
            request.status = RequestStatus.MATCHED
            status = MatchStatus.CONFIRMED if rng.random() < 0.8 else MatchStatus.PROPOSED
            _ride(session, request, rng.choice(vetted), rng, status)


def _past_request(
    session: Session,
    association: Association,
    resident: Resident,
    by_insee: dict[str, Commune],
    places: list[NamedPlace],
    rng: random.Random,
    day: datetime,
) -> Request | None:
    purpose = rng.choices([p for p, _ in PURPOSES], [w for _, w in PURPOSES])[0]
    destination, place = _destination(by_insee, places, rng, purpose)
    if destination.insee == resident.home_commune_insee:
        return None
    appointment = _local(day, rng.choice((8, 9, 10, 11, 14, 15)), rng.choice((0, 15, 30)))
    home = by_insee[resident.home_commune_insee]
    created = appointment - timedelta(days=rng.randint(2, 6), hours=rng.randint(0, 8))
    request = _request_row(resident, home, destination, place, appointment, purpose, rng, created_at=created)
    session.add(request)
    session.flush()
    return request


def _ride(
    session: Session, request: Request, driver: Driver, rng: random.Random, status: MatchStatus
) -> None:
    """A volunteer's dedicated trip for ``request`` (no offer: no seats to keep in step)."""
    dropoff = request.latest - timedelta(minutes=rng.choice((5, 10, 15)))
    pickup = dropoff - timedelta(minutes=rng.randint(20, 45))
    confirmed = request.created_at + timedelta(hours=rng.randint(1, 30))
    session.add(
        Match(
            request_id=request.id,
            driver_id=driver.id,
            pickup_at=pickup,
            dropoff_at=dropoff,
            detour_min=round(rng.uniform(25, 70), 1),
            status=status,
            status_changed_at=confirmed,
            confirmed_at=confirmed if status is not MatchStatus.PROPOSED else None,
            created_at=request.created_at,
        )
    )


def _request_row(
    resident: Resident,
    home: Commune,
    destination: Commune,
    place: NamedPlace | None,
    appointment: datetime,
    purpose: Purpose,
    rng: random.Random,
    **extra: Any,
) -> Request:
    """A resident's request from home to ``destination`` (or a place there) for ``appointment``."""
    return Request(
        association_id=resident.association_id,
        resident_id=resident.id,
        pickup_commune_insee=home.insee,
        pickup_point=home.point,
        dropoff_commune_insee=destination.insee,
        dropoff_point=place.point if place else destination.point,
        dropoff_place_id=place.id if place else None,
        earliest=appointment - timedelta(minutes=90),
        latest=appointment,
        purpose=purpose,
        source=RequestSource.SMS if rng.random() < 0.7 else RequestSource.PHONE,
        **extra,
    )


#: Texts the service could not answer alone: (hours ago, resident index or None, text, why).
TEXTS_TO_HANDLE = (
    (1, 7, "AIDE je comprend rien a vos messages", AttentionReason.ASKS_CALL),
    (3, None, "Bonjour c'est pour ma mere elle a rdv au cardiologue jeudi", AttentionReason.UNKNOWN_SENDER),
    (20, 12, "ok merci a bientot Mme Soulié", AttentionReason.NOT_UNDERSTOOD),
)


def _texts_to_handle(
    session: Session, association: Association, residents: list[Resident], now: datetime, scale: int
) -> None:
    """A few texts waiting for a coordinator, so "À traiter" shows what it is for."""
    for copy in range(scale):
        for n, (hours, index, body, reason) in enumerate(TEXTS_TO_HANDLE):
            resident = residents[index + 60 * copy] if index is not None else None
            session.add(
                InboundMessage(
                    message_sid=f"SMdemo{copy:03d}{n}",
                    association_id=association.id,
                    resident_id=resident.id if resident else None,
                    from_phone=resident.phone if resident else _demo_phone(9000 + copy),
                    body=body,
                    intent="help" if reason is AttentionReason.ASKS_CALL else None,
                    needs_attention=True,
                    attention_reason=reason,
                    created_at=now - timedelta(hours=hours, minutes=7 * copy),
                )
            )


def _logins(session: Session, association: Association, driver: Driver) -> None:
    password_hash = hash_password(DEMO_PASSWORD)
    session.add_all(
        [
            UserAccount(
                email="coord@demo.test",
                password_hash=password_hash,
                role=Role.ADMIN,  # the demo shows every page, settings and trip purposes included
                association_id=association.id,
                sees_health_data=True,
                totp_secret=DEMO_TOTP_SECRET,
            ),
            UserAccount(
                email="driver@demo.test",
                password_hash=password_hash,
                role=Role.DRIVER,
                association_id=association.id,
                driver_id=driver.id,
            ),
        ]
    )
