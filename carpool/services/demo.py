"""Deterministic demo data: two associations on one instance.

A rural one around Cahors, Figeac and Gourdon (Lot), and an urban one around Argenteuil,
Bezons, Cergy and Pontoise (Val-d'Oise) with its own SMS number, coordinator and a slower
road speed for its short town rides.

Only ``carpool seed-demo`` (and ``carpool setup`` on an empty base) call this:
the demo log-ins never exist in a real deployment unless someone asks for them.
"""

from __future__ import annotations

import functools
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS, Clock
from carpool.db import lon_lat
from carpool.field_encryption import SecretBox
from carpool.models import (
    Association,
    AttentionReason,
    Commune,
    CommuneEligibility,
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
    TusBasis,
    UserAccount,
    VettingStatus,
)
from carpool.services import audit, demo_voice
from carpool.services.accounts import hash_password, set_totp_secret

DEMO_ASSOCIATION = "Covoiturage solidaire du Lot (démo)"
DEMO_PASSWORD = "demo1234"  # noqa: S105 - documented demo credential, created only on request
DEMO_LOGINS = (
    ("coord@demo.test", "coordinatrice (administratrice)"),
    ("driver@demo.test", "conducteur"),
    ("coord95@demo.test", "coordinatrice du Val-d'Oise (sans second facteur)"),
)
#: The demo admin's second factor (admins must have one): a documented key to type into an
#: authenticator app, so the demo opens at once. Never used outside the demo.
DEMO_TOTP_SECRET = "COVOITURAGEDEMOLOTCAHORSFIGEAC23"  # noqa: S105 - documented demo credential
HUBS = ("46042", "46102", "46127")  # Cahors, Figeac, Gourdon
HORIZON_DAYS = 14


@dataclass(frozen=True)
class Territory:
    """What differs between the demo associations: where, how many, which numbers."""

    association: str
    departement: str
    sms_number: str
    phone: str
    hubs: tuple[str, ...]
    #: Communes within this many degrees (longitude, latitude) of a hub are served.
    reach: tuple[float, float]
    drivers: int
    residents: int
    requests: int
    history_per_month: int
    road_speed_kmh: int
    #: Added to the demo numbers' serial (06 39 98 xx xx) so the two associations' people differ.
    phone_offset: int
    email_prefix: str


LOT = Territory(
    association=DEMO_ASSOCIATION,
    departement="46",
    sms_number="06 39 98 00 00",
    phone="05 39 98 00 00",
    hubs=HUBS,
    reach=(0.45, 0.32),  # about 35 km
    drivers=20,
    residents=60,
    requests=45,
    history_per_month=30,
    road_speed_kmh=50,
    phone_offset=0,
    email_prefix="conducteur",
)
VAL_DOISE = Territory(
    association="Entraide mobilité Argenteuil – Cergy (démo)",
    departement="95",
    sms_number="06 39 98 00 95",
    phone="01 39 98 00 95",
    hubs=("95018", "95063", "95176", "95127", "95500"),  # Argenteuil, Bezons, Cormeilles, Cergy, Pontoise
    reach=(0.06, 0.04),  # about 4 km: a town's streets
    drivers=12,
    residents=40,
    requests=30,
    history_per_month=20,
    road_speed_kmh=25,  # lights and traffic: a 6 km ride takes a quarter of an hour
    phone_offset=4000,
    email_prefix="conducteur95-",
)
TERRITORIES = (LOT, VAL_DOISE)

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


def _near_hubs(communes: list[Commune], territory: Territory) -> list[Commune]:
    """Communes near a hub (villages, or a town's neighbours), weighted later by population."""
    hubs = [lon_lat(c.point) for c in communes if c.insee in territory.hubs]
    reach_lon, reach_lat = territory.reach
    nearby = []
    for commune in communes:
        lon, lat = lon_lat(commune.point)
        if any(abs(lon - hx) < reach_lon and abs(lat - hy) < reach_lat for hx, hy in hubs):
            nearby.append(commune)
    return nearby


def is_empty(session: Session) -> bool:
    """True before any association exists: the first run of a new installation."""
    return session.scalar(sa.select(sa.func.count()).select_from(Association)) == 0


def seed_demo(
    session: Session, box: SecretBox, seed: int = 46, clock: Clock | None = None, *, scale: int = 1
) -> DemoReport:
    """Create the demo associations once each; later calls change nothing.

    ``box`` seals the demo admin's second-factor key, like any other (the app's SecretBox).
    ``scale`` multiplies people, offers and requests (the dashboard benchmark uses 10).
    """
    now = (clock or Clock()).now()
    reports = [
        _seed_territory(session, box, territory, random.Random(seed + n), now, scale)
        for n, territory in enumerate(TERRITORIES)
    ]
    made = [r for r in reports if not r.already_seeded]
    if not made:
        return DemoReport(already_seeded=True)
    audit.record(session, "cli", "demo.seeded", seed=seed, associations=len(made))
    session.flush()
    return DemoReport(
        False,
        sum(r.drivers for r in made),
        sum(r.residents for r in made),
        sum(r.offers for r in made),
        sum(r.requests for r in made),
    )


def _seed_territory(
    session: Session, box: SecretBox, territory: Territory, rng: random.Random, now: datetime, scale: int
) -> DemoReport:
    if session.scalar(sa.select(Association.id).where(Association.name == territory.association)):
        return DemoReport(already_seeded=True)
    communes = list(
        session.scalars(
            sa.select(Commune).where(Commune.insee.like(f"{territory.departement}%")).order_by(Commune.insee)
        )
    )
    if not communes:
        from carpool.errors import StartupError

        raise StartupError("aucune commune en base : lancez d'abord « carpool import-communes ».")
    association = Association(
        name=territory.association,
        sms_number=territory.sms_number,
        phone=territory.phone,
        departements=territory.departement,
        road_speed_kmh=territory.road_speed_kmh,
    )
    session.add(association)
    session.flush()

    villages = _near_hubs(communes, territory)
    weights = [c.population for c in villages]
    by_insee = {c.insee: c for c in communes}
    places = list(session.scalars(sa.select(NamedPlace).where(NamedPlace.commune_insee.in_(territory.hubs))))

    def home() -> Commune:  # drawn before each person's other traits: the seed gives the same demo
        return rng.choices(villages, weights)[0]

    drivers = [_driver(association, territory, n, home(), rng) for n in range(territory.drivers * scale)]
    _refuse_taken_phones(session, drivers)
    residents = [
        _resident(association, territory, n, home(), rng) for n in range(territory.residents * scale)
    ]
    for person in residents:  # registered before their history, which their data page shows from then
        person.created_at = now - timedelta(days=30 * (HISTORY_MONTHS + 1))
    session.add_all([*drivers, *residents])
    session.flush()
    offers = _offers(session, territory, drivers, by_insee, places, rng, now)
    how_many = territory.requests * scale
    requests = _requests(session, territory, residents, by_insee, places, rng, now, how_many)
    history = territory.history_per_month * scale
    _history(session, territory, association, drivers, residents, by_insee, places, rng, now, history)
    _texts_to_handle(session, territory, association, residents, now, scale)
    coordinator = _logins(session, box, territory, association, drivers[0])
    _tus(session, association, residents, communes, now)
    _phone_history(
        session, territory, association, coordinator, drivers, residents, by_insee, places, rng, now
    )
    audit.record(session, "cli", "demo.association_seeded", association_id=association.id)
    session.flush()
    return DemoReport(False, len(drivers), len(residents), offers, requests)


def _refuse_taken_phones(session: Session, drivers: list[Driver]) -> None:
    """One driver per number (a unique index): say so in one line rather than fail on insert."""
    phones = [driver.phone for driver in drivers]
    taken = list(session.scalars(sa.select(Driver.id).where(Driver.phone.in_(phones)).order_by(Driver.id)))
    if taken:
        from carpool.errors import StartupError

        ids = ", ".join(map(str, taken))
        raise StartupError(
            f"les numéros de démonstration sont déjà ceux de conducteurs existants ({ids}) : "
            "rien n'a été ajouté."
        )


def _driver(
    association: Association, territory: Territory, n: int, home: Commune, rng: random.Random
) -> Driver:
    return Driver(
        association_id=association.id,
        first_name=rng.choice(DRIVER_FIRST_NAMES),
        last_name=rng.choice(LAST_NAMES),
        email="driver@demo.test"
        if n == 0 and territory is LOT
        else f"{territory.email_prefix}{n:02d}@demo.test",
        phone=_demo_phone(territory.phone_offset + 100 + n),
        home_commune_insee=home.insee,
        home_point=home.point,
        seats=rng.choice((2, 3, 3, 4)),
        wheelchair_accessible=n % 7 == 3,
        vetting=VettingStatus.PENDING if n % 20 in (17, 18) else VettingStatus.VETTED,
    )


def _tus(
    session: Session,
    association: Association,
    residents: list[Resident],
    communes: list[Commune],
    now: datetime,
) -> None:
    """Transport d'utilité sociale: the association's figures, communes flagged, most residents' basis.

    Villages under 5,000 inhabitants stand in for the ministry's list; a fifth of the residents have
    no basis yet and one in ten an expired one, so the report shows what is missing. No random draw:
    the rest of the demo stays the same for a given seed.
    """
    association.founded_on = date(2019, 9, 1)
    association.employees_count, association.volunteers_count, association.members_count = 1, 24, 140
    association.tus_rules = "Sur réservation la veille, du lundi au samedi, 100 km au plus."
    eligible = {c.insee for c in communes if c.population < 5000}
    session.add_all(
        CommuneEligibility(
            association_id=association.id, commune_insee=insee, eligible=True, updated_by="cli"
        )
        for insee in sorted(eligible)
    )
    today = now.astimezone(PARIS).date()
    benefits = ("aspa", "rsa", "aah", "css")
    for n, person in enumerate(residents):
        if n % 5 == 0:
            continue
        by_place = person.home_commune_insee in eligible and n % 5 != 1
        person.tus_basis = TusBasis.RURAL if by_place else TusBasis.RESOURCES
        person.tus_benefit = None if by_place else benefits[n % len(benefits)]
        person.tus_proof_seen_on = today - timedelta(days=400 if n % 10 == 3 else 30 + n % 200)
        person.tus_renew_on = person.tus_proof_seen_on + timedelta(days=365)


def _demo_landline(territory: Territory, n: int) -> str:
    """Landlines from the blocks ARCEP reserves for fiction: 05 36 49 xx xx in the south-west,
    01 99 00 xx xx in Île-de-France."""
    block = "+3353649" if territory.departement == "46" else "+3319900"
    return f"{block}{n:04d}"


def _resident(
    association: Association, territory: Territory, n: int, home: Commune, rng: random.Random
) -> Resident:
    """Every tenth resident has only a landline and is called; one mobile owner prefers calls too."""
    landline = n % 10 == 7
    serial = territory.phone_offset + 1000 + n
    return Resident(
        association_id=association.id,
        phone=_demo_landline(territory, serial) if landline else _demo_phone(serial),
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
    territory: Territory,
    by_insee: dict[str, Commune],
    places: list[NamedPlace],
    rng: random.Random,
    purpose: Purpose,
) -> tuple[Commune, NamedPlace | None]:
    wanted = {"hopital", "clinique"} if purpose is Purpose.MEDICAL else {"marche", "mairie", "administration"}
    fitting = [p for p in places if p.kind in wanted]
    if fitting and rng.random() < 0.8:
        place = rng.choice(fitting)
        return by_insee[place.commune_insee], place
    return by_insee[rng.choice(territory.hubs)], None


def _offers(
    session: Session,
    territory: Territory,
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
            destination, place = _destination(territory, by_insee, places, rng, Purpose.SHOPPING)
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
    territory: Territory,
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
        destination, place = _destination(territory, by_insee, places, rng, purpose)
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
    territory: Territory,
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
    rides: list[tuple[Request, Match]] = []  # the requests' ids come with one flush at the end
    for _ in range(per_month * HISTORY_MONTHS):
        day = today - timedelta(days=rng.randint(1, 30 * HISTORY_MONTHS))
        outcome = rng.choices([o for o, _ in PAST_OUTCOMES], [w for _, w in PAST_OUTCOMES])[0]
        request = _past_request(session, territory, rng.choice(residents), by_insee, places, rng, day)
        if request is None:
            continue
        if outcome == "done":
            request.status = RequestStatus.DONE
            rides.append((request, _ride(request, rng.choice(vetted), rng, MatchStatus.COMPLETED)))
        else:
            request.status, request.unmatched_reason = RequestStatus.EXPIRED, outcome
    for _ in range(per_month // 3):  # the coming week: confirmed rides, and some waiting for a driver
        day = today + timedelta(days=rng.randint(0, 6))
        request = _past_request(session, territory, rng.choice(residents), by_insee, places, rng, day)
        if request is not None:
            request.status = RequestStatus.MATCHED
            status = MatchStatus.CONFIRMED if rng.random() < 0.8 else MatchStatus.PROPOSED
            rides.append((request, _ride(request, rng.choice(vetted), rng, status)))
    session.flush()
    for request, match in rides:
        match.request_id = request.id
    session.add_all([match for _request, match in rides])


def _past_request(
    session: Session,
    territory: Territory,
    resident: Resident,
    by_insee: dict[str, Commune],
    places: list[NamedPlace],
    rng: random.Random,
    day: datetime,
) -> Request | None:
    purpose = rng.choices([p for p, _ in PURPOSES], [w for _, w in PURPOSES])[0]
    destination, place = _destination(territory, by_insee, places, rng, purpose)
    if destination.insee == resident.home_commune_insee:
        return None
    appointment = _local(day, rng.choice((8, 9, 10, 11, 14, 15)), rng.choice((0, 15, 30)))
    home = by_insee[resident.home_commune_insee]
    created = appointment - timedelta(days=rng.randint(2, 6), hours=rng.randint(0, 8))
    request = _request_row(resident, home, destination, place, appointment, purpose, rng, created_at=created)
    session.add(request)
    return request


def _ride(request: Request, driver: Driver, rng: random.Random, status: MatchStatus) -> Match:
    """A volunteer's dedicated trip for ``request`` (no offer: no seats to keep in step).

    Not yet in the session: its ``request_id`` is set once the request has one.
    """
    dropoff = request.latest - timedelta(minutes=rng.choice((5, 10, 15)))
    pickup = dropoff - timedelta(minutes=rng.randint(20, 45))
    confirmed = request.created_at + timedelta(hours=rng.randint(1, 30))
    return Match(
        driver_id=driver.id,
        pickup_at=pickup,
        dropoff_at=dropoff,
        detour_min=round(rng.uniform(25, 70), 1),
        status=status,
        status_changed_at=confirmed,
        confirmed_at=confirmed if status is not MatchStatus.PROPOSED else None,
        created_at=request.created_at,
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
    session: Session,
    territory: Territory,
    association: Association,
    residents: list[Resident],
    now: datetime,
    scale: int,
) -> None:
    """A few texts waiting for a coordinator, so "À traiter" shows what it is for."""
    for copy in range(scale):
        for n, (hours, index, body, reason) in enumerate(TEXTS_TO_HANDLE):
            resident = residents[index + territory.residents * copy] if index is not None else None
            session.add(
                InboundMessage(
                    message_sid=f"SMdemo{territory.departement}{copy:03d}{n}",
                    association_id=association.id,
                    resident_id=resident.id if resident else None,
                    from_phone=resident.phone
                    if resident
                    else _demo_phone(9000 + territory.phone_offset // 40 + copy),
                    body=body,
                    intent="help" if reason is AttentionReason.ASKS_CALL else None,
                    needs_attention=True,
                    attention_reason=reason,
                    created_at=now - timedelta(hours=hours, minutes=7 * copy),
                )
            )


@functools.cache
def _demo_password_hash() -> str:
    """One Argon2 hash (half a second) for every demo log-in of this process."""
    return hash_password(DEMO_PASSWORD)


def _logins(
    session: Session, box: SecretBox, territory: Territory, association: Association, driver: Driver
) -> UserAccount:
    """The demo's log-ins; returns the association's coordinator."""
    password_hash = _demo_password_hash()
    if territory is not LOT:
        # A plain coordinator who does not see the trips' purposes: no second factor is asked
        # (the association's setting leaves it optional), so the urban demo opens with a password.
        coordinator = UserAccount(
            email="coord95@demo.test",
            password_hash=password_hash,
            role=Role.COORDINATOR,
            association_id=association.id,
            sees_health_data=False,
        )
        session.add(coordinator)
        session.flush()
        return coordinator
    admin = UserAccount(
        email="coord@demo.test",
        password_hash=password_hash,
        role=Role.ADMIN,  # the demo shows every page, settings and trip purposes included
        association_id=association.id,
        sees_health_data=True,
    )
    set_totp_secret(admin, DEMO_TOTP_SECRET, box)
    session.add_all(
        [
            admin,
            UserAccount(
                email="driver@demo.test",
                password_hash=password_hash,
                role=Role.DRIVER,
                association_id=association.id,
                driver_id=driver.id,
            ),
        ]
    )
    session.flush()
    return admin


def _phone_history(
    session: Session,
    territory: Territory,
    association: Association,
    coordinator: UserAccount,
    drivers: list[Driver],
    residents: list[Resident],
    by_insee: dict[str, Commune],
    places: list[NamedPlace],
    rng: random.Random,
    now: datetime,
) -> None:
    """The phone features at work: calls on the line, voice messages, notice calls (demo_voice)."""
    callers = [r for r in residents[: territory.residents] if r.channel == "voice"]
    landlines = [r for r in callers if not r.phone.startswith("+336")]
    prefers_calls = next(r for r in callers if r.phone.startswith("+336"))
    vetted = [d for d in drivers if d.vetting is VettingStatus.VETTED]
    today = now.astimezone(PARIS)

    # The coming rides were confirmed by their drivers yesterday after lunch: the calls follow.
    confirmed = demo_voice.at(now, 1, 14, 30)

    def ride(resident: Resident, days: int, status: MatchStatus) -> Match:
        day = today + timedelta(days=days)
        driver = rng.choice(vetted)
        when = confirmed if status is MatchStatus.CONFIRMED else None
        return _phone_ride(session, territory, resident, driver, by_insee, places, rng, day, status, when)

    done = ride(landlines[0], -3, MatchStatus.COMPLETED)
    coming = (ride(prefers_calls, 2, MatchStatus.CONFIRMED), ride(landlines[1], 3, MatchStatus.CONFIRMED))
    cast = demo_voice.PhoneCast(
        association=association,
        coordinator=coordinator,
        landlines=landlines,
        prefers_calls=prefers_calls,
        stranger_phone=_demo_phone(9500 + territory.phone_offset // 40),
        done_ride=done,
        coming_rides=coming,
    )
    demo_voice.seed_phone_history(session, cast, now, territory.departement)


def _phone_ride(
    session: Session,
    territory: Territory,
    resident: Resident,
    driver: Driver,
    by_insee: dict[str, Commune],
    places: list[NamedPlace],
    rng: random.Random,
    day: datetime,
    status: MatchStatus,
    confirmed_at: datetime | None = None,
) -> Match:
    """A one-way ride of ``resident`` on ``day``, done or coming (confirmed then), its match flushed."""
    for _ in range(100):  # a destination in their own commune is drawn again
        request = _past_request(session, territory, resident, by_insee, places, rng, day)
        if request is not None:
            break
    else:
        raise RuntimeError("demo: no destination away from home")
    request.status = RequestStatus.DONE if status is MatchStatus.COMPLETED else RequestStatus.MATCHED
    if confirmed_at is not None:
        request.created_at = min(request.created_at, confirmed_at - timedelta(hours=20))
    session.flush()
    match = _ride(request, driver, rng, status)
    match.request_id = request.id
    if confirmed_at is not None:
        match.confirmed_at = match.status_changed_at = confirmed_at
    session.add(match)
    session.flush()
    return match
