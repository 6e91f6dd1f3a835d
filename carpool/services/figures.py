"""Figures for funders: what the service did, month by month and commune by commune.

Read-only queries for one association; no Flask. Everything is aggregated in
SQL (a handful of queries whatever the period), the same way on SQLite and
PostgreSQL: months are Europe/Paris months whose boundaries are computed here
and bucketed with a CASE, so no dialect date function is needed.

What counts, and how (the page states the same):

* a **trip done** is a completed match, in the month of its pickup; a trip is
  counted in the **commune where the passenger lives** (a return trip from the
  hospital counts for the village, not for the town);
* **people served** are distinct residents with at least one trip done;
* **kilometres** follow the mileage statements (``carpool.services.mileage``):
  crow-fly distance × 1.3; a trip on an offered ride counts pickup → drop-off,
  a dedicated volunteer trip counts the whole loop home → pickup → drop-off → home;
* **CO2** is shown as three figures, never only the balance (docs/figures.md), each
  kilometres × ``CAR_KG_CO2E_PER_KM`` (an estimate, see there):
  **emitted** by the kilometres the service added: the detour on an offered ride
  (detour minutes at ``ROUTER.speed_kmh``), the whole loop of a dedicated trip;
  **avoided** by the car trips it replaced: on an offered ride the passenger's own car
  trip, on a dedicated trip a taxi or a relative coming from the destination town, who
  drives the trip twice (to fetch the passenger, then with them);
  the **balance** = avoided − emitted, negative when dedicated loops outweigh the rest;
* **volunteer hours**: on an offered ride, the detour minutes; on a dedicated trip,
  the loop's driving time at ``ROUTER.speed_kmh`` (waiting during the appointment
  is not recorded, so not counted);
* **unmet requests** are requests that expired without a match, in the month of
  their appointment, by the matcher's reason;
* **time to confirmation**: request received → passenger's confirmation, averaged
  over matches confirmed for a pickup in the month;
* **round trips**: requests with a way back (not given up as one-way) whose outward
  trip was done, in the month of their appointment: **fully served** when the way
  back was done too, **half-served** otherwise.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import MONTHS
from carpool.db import dialect_of, hours_between, sphere_distance_m
from carpool.labels import PURPOSES
from carpool.models import (
    Commune,
    Driver,
    Leg,
    Match,
    MatchStatus,
    Purpose,
    Request,
    RequestStatus,
    Resident,
)
from carpool.services import exports
from carpool.services.exports import Sheet, decimal_comma, safe_cell
from carpool.services.mileage import ROUTER, month_bounds
from carpool.services.reasons import REASONS

#: An estimate, in kg CO2e per vehicle-kilometre, of an average combustion car including fuel
#: production: the 193 g/km that ADEME's "Impact CO2" calculator uses; the Base Carbone itself
#: gives about 0.17 to 0.22 by size and fuel (docs/figures.md). Not checked against a Base
#: Carbone line: the page says "estimation".
CAR_KG_CO2E_PER_KM = 0.193
#: A taxi or a relative drives the trip twice: to fetch the passenger, then with them.
TAXI_TRIP_FACTOR = 2.0
#: The longest period one report covers (keeps the CASE and the chart readable).
MAX_MONTHS = 36

_PURPOSE_COLUMNS = {
    Purpose.MEDICAL: "passagers_sante",
    Purpose.SHOPPING: "passagers_courses",
    Purpose.ADMINISTRATION: "passagers_demarches",
    Purpose.SOCIAL: "passagers_vie_sociale",
    Purpose.OTHER: "passagers_autre",
}

#: Why a request went unmet, in a coordinator's words (keys: ``Request.unmatched_reason``).
UNMET_REASONS = REASONS  # the same words as the "Sans solution" page


@dataclass
class Figures:
    """One line of the report: a month, a commune, or the whole period."""

    label: str
    month: date | None = None
    insee: str | None = None
    trips: int = 0
    people: int = 0
    passengers: int = 0
    by_purpose: dict[Purpose, int] = field(default_factory=lambda: dict.fromkeys(PURPOSES, 0))
    km: float = 0.0
    km_avoided: float = 0.0  # net: car kilometres replaced minus kilometres the service added
    km_added: float = 0.0  # the kilometres the service added (detours, dedicated loops)
    unmet: int = 0
    volunteer_hours: float = 0.0
    confirmations: int = 0
    confirmation_hours_sum: float = 0.0

    @property
    def co2_avoided_kg(self) -> float:
        """The balance: avoided minus emitted (may be negative)."""
        return self.km_avoided * CAR_KG_CO2E_PER_KM

    @property
    def co2_emitted_kg(self) -> float:
        """Emitted by the kilometres the service added."""
        return self.km_added * CAR_KG_CO2E_PER_KM

    @property
    def co2_replaced_kg(self) -> float:
        """Avoided by the car trips the service replaced (before subtracting what it emitted)."""
        return (self.km_avoided + self.km_added) * CAR_KG_CO2E_PER_KM

    @property
    def confirmation_hours(self) -> float | None:
        """Average hours from request to confirmation; None when nothing was confirmed."""
        return self.confirmation_hours_sum / self.confirmations if self.confirmations else None

    def add(self, other: Figures) -> None:
        """Fold a finer line into this one (people are added by the caller: they may overlap)."""
        self.trips += other.trips
        self.passengers += other.passengers
        for purpose, n in other.by_purpose.items():
            self.by_purpose[purpose] += n
        self.km += other.km
        self.km_avoided += other.km_avoided
        self.km_added += other.km_added
        self.unmet += other.unmet
        self.volunteer_hours += other.volunteer_hours
        self.confirmations += other.confirmations
        self.confirmation_hours_sum += other.confirmation_hours_sum


@dataclass(frozen=True)
class UnmetReason:
    reason: str
    label: str
    count: int


@dataclass(frozen=True)
class RoundTrips:
    """Requests with a way back whose outward trip was done: both ways, or only there."""

    served: int = 0  # both legs done
    half_served: int = 0  # taken there, not brought back by us

    @property
    def total(self) -> int:
        return self.served + self.half_served


@dataclass(frozen=True)
class Report:
    first_month: date
    last_month: date
    commune: str | None
    months: list[Figures]
    communes: list[Figures]  # busiest first
    total: Figures
    unmet_reasons: list[UnmetReason]  # most frequent first
    round_trips: RoundTrips = field(default_factory=RoundTrips)


def month_label(month: date) -> str:
    return f"{MONTHS[month.month - 1]} {month.year}"


def months_between(first: date, last: date) -> list[date]:
    """First days of the months from ``first`` to ``last``, both included."""
    months, month = [], date(first.year, first.month, 1)
    while month <= last:
        months.append(month)
        month = date(month.year + (month.month == 12), month.month % 12 + 1, 1)
    return months


def report(
    session: Session,
    association_id: int,
    first_month: date,
    last_month: date,
    *,
    commune: str | None = None,
    commune_names: Mapping[str, str] | None = None,
) -> Report:
    """Every figure of the period, for the association (optionally one commune of residence).

    ``commune_names`` (INSEE → name), when the caller already has them (``communes_served``),
    spares looking them up again; communes missing from it are looked up.
    """
    months = months_between(first_month, last_month)
    if not months or len(months) > MAX_MONTHS:
        raise ValueError(f"period of 1 to {MAX_MONTHS} months expected")
    bounds = (*(month_bounds(m)[0] for m in months), month_bounds(months[-1])[1])
    queries = _queries(dialect_of(session), _Scope(association_id, bounds, commune))

    # One flat list of numbers per (month, commune): a few thousand of them at a département's
    # scale, so no Figures (and no dict of purposes) each.
    cells: dict[tuple[int, str], list[Any]] = {}

    def cell(bucket: int, insee: str) -> list[Any]:
        found = cells.get((bucket, insee))
        if found is None:
            found = cells[bucket, insee] = _zeros()
        return found

    _add_trips(session, queries.trips, cell)
    people_by_month: dict[int, int] = dict(session.execute(queries.people_by_month).all())
    people_by_commune: dict[str, int] = dict(session.execute(queries.people_by_commune).all())
    reasons = _add_unmet(session, queries.unmet, cell)
    _add_confirmations(session, queries.confirmations, cell)

    # The same additions, in the same order, as folding each cell into its month, its commune
    # and the total: the floating-point sums come out the same to the last bit.
    month_sums = [_zeros() for _ in months]
    commune_sums: dict[str, list[Any]] = {}
    total_sums = _zeros()
    for (bucket, insee), numbers in cells.items():
        _fold(month_sums[bucket], numbers)
        sums = commune_sums.get(insee)
        if sums is None:
            sums = commune_sums[insee] = _zeros()
        _fold(sums, numbers)
        _fold(total_sums, numbers)
    for insee in people_by_commune:
        if insee not in commune_sums:
            commune_sums[insee] = _zeros()

    names = _commune_names(session, commune_sums, commune_names or {})
    by_month = [_figures(month_label(m), month_sums[i], month=m) for i, m in enumerate(months)]
    for bucket, people in people_by_month.items():
        by_month[bucket].people = people
    by_commune = [
        _figures(names.get(insee, insee), sums, insee=insee, people=people_by_commune.get(insee, 0))
        for insee, sums in commune_sums.items()
    ]
    # A resident lives in one commune: the communes' people add up, the months' do not.
    total = _figures("Total de la période", total_sums, people=sum(people_by_commune.values()))
    return Report(
        first_month=months[0],
        last_month=months[-1],
        commune=commune,
        months=by_month,
        communes=sorted(by_commune, key=lambda f: (-f.trips, -f.unmet, f.label)),
        total=total,
        unmet_reasons=sorted(
            (UnmetReason(r, UNMET_REASONS.get(r, r), n) for r, n in reasons.items()),
            key=lambda u: (-u.count, u.label),
        ),
        round_trips=_round_trips(session, queries.round_trips),
    )


# Where each figure sits in a cell's list of numbers (see ``report``).
_TRIPS, _PASSENGERS, _KM, _KM_AVOIDED, _UNMET, _HOURS, _CONFIRMATIONS, _CONFIRMATION_HOURS, _KM_ADDED = range(
    9
)
_BY_PURPOSE = {purpose: 9 + i for i, purpose in enumerate(PURPOSES)}
_BY_PURPOSE_VALUE = {purpose.value: slot for purpose, slot in _BY_PURPOSE.items()}
_ZEROS: tuple[Any, ...] = (0, 0, 0.0, 0.0, 0, 0.0, 0, 0.0, 0.0, *(0 for _ in PURPOSES))


def _zeros() -> list[Any]:
    return list(_ZEROS)


def _fold(sums: list[Any], numbers: list[Any]) -> None:
    sums[:] = map(operator.add, sums, numbers)


def _figures(
    label: str, numbers: list[Any], *, month: date | None = None, insee: str | None = None, people: int = 0
) -> Figures:
    return Figures(
        label=label,
        month=month,
        insee=insee,
        trips=numbers[_TRIPS],
        people=people,
        passengers=numbers[_PASSENGERS],
        by_purpose={purpose: numbers[slot] for purpose, slot in _BY_PURPOSE.items()},
        km=numbers[_KM],
        km_avoided=numbers[_KM_AVOIDED],
        km_added=numbers[_KM_ADDED],
        unmet=numbers[_UNMET],
        volunteer_hours=numbers[_HOURS],
        confirmations=numbers[_CONFIRMATIONS],
        confirmation_hours_sum=numbers[_CONFIRMATION_HOURS],
    )


def monthly(
    session: Session, association_id: int, first_month: date, last_month: date, *, commune: str | None = None
) -> list[Figures]:
    return report(session, association_id, first_month, last_month, commune=commune).months


def by_commune(
    session: Session, association_id: int, first_month: date, last_month: date, *, commune: str | None = None
) -> list[Figures]:
    return report(session, association_id, first_month, last_month, commune=commune).communes


def unmet_reasons(
    session: Session, association_id: int, first_month: date, last_month: date, *, commune: str | None = None
) -> list[UnmetReason]:
    return report(session, association_id, first_month, last_month, commune=commune).unmet_reasons


def communes_served(session: Session, association_id: int) -> list[tuple[str, str]]:
    """(INSEE, name) of the communes where the association's residents live, by name."""
    return [
        (insee, name)
        for insee, name in session.execute(
            sa.select(Commune.insee, Commune.name)
            .where(
                Commune.insee.in_(
                    sa.select(Resident.home_commune_insee).where(Resident.association_id == association_id)
                )
            )
            .order_by(Commune.name, Commune.insee)
        ).all()
    ]


# --- queries -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Scope:
    association_id: int
    bounds: tuple[datetime, ...]  # month starts, then the end of the last month
    commune: str | None

    def bucket(self, column: Any) -> sa.ColumnElement[int]:
        """The month index of ``column`` (within bounds) as a CASE: portable month bucketing."""
        # Month numbers are written into the SQL: PostgreSQL cannot type a bare parameter.
        whens: list[tuple[Any, Any]] = [
            (column < end, sa.literal_column(str(i), sa.Integer)) for i, end in enumerate(self.bounds[1:-1])
        ]
        last: sa.ColumnElement[int] = sa.literal_column(str(len(self.bounds) - 2), sa.Integer)
        return sa.case(*whens, else_=last) if whens else last

    def where(self, column: Any) -> list[sa.ColumnElement[bool]]:
        """Rows of the association, in the period, for the chosen commune of residence."""
        clauses = [
            Request.association_id == self.association_id,
            column >= self.bounds[0],
            column < self.bounds[-1],
        ]
        if self.commune is not None:
            clauses.append(Resident.home_commune_insee == self.commune)
        return clauses


@dataclass(frozen=True)
class _Queries:
    trips: sa.Select[Any]
    people_by_month: sa.Select[Any]
    people_by_commune: sa.Select[Any]
    unmet: sa.Select[Any]
    confirmations: sa.Select[Any]
    round_trips: sa.Select[int, int]


@functools.lru_cache(maxsize=64)
def _queries(dialect: str, scope: _Scope) -> _Queries:
    """The report's statements, built once per association and period: building them (CASEs of
    a dozen months, subqueries) cost more than a few milliseconds a page. They hold no state."""
    return _Queries(
        trips=_trips_query(dialect, scope),
        people_by_month=_people_by_month_query(scope),
        people_by_commune=_people_by_commune_query(scope),
        unmet=_unmet_query(scope),
        confirmations=_confirmations_query(dialect, scope),
        round_trips=_round_trips_query(scope),
    )


def _done(scope: _Scope) -> sa.Select[Any]:
    return (
        sa.select()
        .select_from(Match)
        .join(Request, Match.request_id == Request.id)
        .join(Resident, Request.resident_id == Resident.id)
        .where(Match.status == MatchStatus.COMPLETED, *scope.where(Match.pickup_at))
    )


def _trips_query(dialect: str, scope: _Scope) -> sa.Select[Any]:
    dedicated = sa.case((Match.offer_id.is_(None), 1), else_=0)
    trip_m = sphere_distance_m(dialect, Request.pickup_point, Request.dropoff_point)
    # A dedicated trip also drives home → pickup and drop-off → home.
    legs_m = sa.case(
        (
            Match.offer_id.is_(None),
            sphere_distance_m(dialect, Driver.home_point, Request.pickup_point)
            + sphere_distance_m(dialect, Request.dropoff_point, Driver.home_point),
        ),
        else_=0.0,
    )
    rows = (
        _done(scope)
        .add_columns(
            scope.bucket(Match.pickup_at).label("month"),
            Resident.home_commune_insee.label("insee"),
            # The enum's value, not the enum: no conversion for each of thousands of rows.
            sa.type_coerce(Request.purpose, sa.String).label("purpose"),
            dedicated.label("dedicated"),
            Match.seats.label("seats"),
            Match.detour_min.label("detour_min"),
            trip_m.label("trip_m"),
            legs_m.label("legs_m"),
        )
        .join(Driver, Match.driver_id == Driver.id)
        .subquery()
    )
    return sa.select(
        rows.c.month,
        rows.c.insee,
        rows.c.purpose,
        rows.c.dedicated,
        sa.func.count(),
        sa.func.sum(rows.c.seats),
        sa.func.sum(rows.c.detour_min),
        sa.func.sum(rows.c.trip_m),
        sa.func.sum(rows.c.legs_m),
    ).group_by(rows.c.month, rows.c.insee, rows.c.purpose, rows.c.dedicated)


def _add_trips(session: Session, query: sa.Select[Any], cell: Any) -> None:
    circuity, speed_kmh = ROUTER.circuity, ROUTER.speed_kmh
    for month, insee, purpose, is_dedicated, trips, seats, detour_min, trip_m_sum, legs_m_sum in _all(
        session, query
    ):
        numbers = cell(month, insee)
        trip_km = (trip_m_sum or 0.0) / 1000 * circuity
        legs_km = (legs_m_sum or 0.0) / 1000 * circuity
        numbers[_TRIPS] += trips
        numbers[_PASSENGERS] += seats or 0
        numbers[_BY_PURPOSE_VALUE[purpose]] += seats or 0
        if is_dedicated:
            numbers[_KM] += trip_km + legs_km
            numbers[_KM_AVOIDED] += TAXI_TRIP_FACTOR * trip_km - (trip_km + legs_km)
            numbers[_KM_ADDED] += trip_km + legs_km
            numbers[_HOURS] += (trip_km + legs_km) / speed_kmh
        else:
            detour_km = (detour_min or 0.0) / 60 * speed_kmh
            numbers[_KM] += trip_km
            numbers[_KM_AVOIDED] += trip_km - detour_km
            numbers[_KM_ADDED] += detour_km
            numbers[_HOURS] += (detour_min or 0.0) / 60


def _round_trips_query(scope: _Scope) -> sa.Select[int, int]:
    """(requests with a way back whose outward leg was done, of them those brought back too)."""

    def done(leg: Leg) -> sa.Exists:
        return sa.exists().where(
            Match.request_id == Request.id, Match.leg == leg, Match.status == MatchStatus.COMPLETED
        )

    return (
        sa.select(sa.func.count(), sa.func.count(sa.case((done(Leg.BACK), 1))))
        .select_from(Request)
        .join(Resident, Request.resident_id == Resident.id)
        .where(
            Request.return_at.is_not(None),
            Request.one_way.is_(False),
            done(Leg.OUT),
            *scope.where(Request.latest),
        )
    )


def _round_trips(session: Session, query: sa.Select[int, int]) -> RoundTrips:
    asked, served = session.execute(query).one()
    return RoundTrips(served=int(served or 0), half_served=int(asked or 0) - int(served or 0))


def _people_by_month_query(scope: _Scope) -> sa.Select[Any]:
    rows = (
        _done(scope)
        .add_columns(scope.bucket(Match.pickup_at).label("month"), Request.resident_id.label("resident_id"))
        .subquery()
    )
    return sa.select(rows.c.month, sa.func.count(sa.distinct(rows.c.resident_id))).group_by(rows.c.month)


def _people_by_commune_query(scope: _Scope) -> sa.Select[Any]:
    return (
        _done(scope)
        .add_columns(Resident.home_commune_insee, sa.func.count(sa.distinct(Request.resident_id)))
        .group_by(Resident.home_commune_insee)
    )


def _unmet_query(scope: _Scope) -> sa.Select[Any]:
    rows = (
        sa.select(
            scope.bucket(Request.latest).label("month"),
            Resident.home_commune_insee.label("insee"),
            sa.func.coalesce(Request.unmatched_reason, "unknown").label("reason"),
        )
        .join(Resident, Request.resident_id == Resident.id)
        .where(Request.status == RequestStatus.EXPIRED, *scope.where(Request.latest))
        .subquery()
    )
    return sa.select(rows.c.month, rows.c.insee, rows.c.reason, sa.func.count()).group_by(
        rows.c.month, rows.c.insee, rows.c.reason
    )


def _add_unmet(session: Session, query: sa.Select[Any], cell: Any) -> dict[str, int]:
    reasons: dict[str, int] = {}
    for month, insee, reason, n in _all(session, query):
        cell(month, insee)[_UNMET] += n
        reasons[reason] = reasons.get(reason, 0) + n
    return reasons


def _confirmations_query(dialect: str, scope: _Scope) -> sa.Select[Any]:
    hours = hours_between(dialect, Request.created_at, Match.confirmed_at)
    rows = (
        sa.select(
            scope.bucket(Match.pickup_at).label("month"),
            Resident.home_commune_insee.label("insee"),
            sa.case((hours > 0, hours), else_=0.0).label("hours"),
        )
        .join(Request, Match.request_id == Request.id)
        .join(Resident, Request.resident_id == Resident.id)
        .where(Match.confirmed_at.is_not(None), *scope.where(Match.pickup_at))
        .subquery()
    )
    return sa.select(rows.c.month, rows.c.insee, sa.func.count(), sa.func.sum(rows.c.hours)).group_by(
        rows.c.month, rows.c.insee
    )


def _add_confirmations(session: Session, query: sa.Select[Any], cell: Any) -> None:
    for month, insee, n, total in _all(session, query):
        numbers = cell(month, insee)
        numbers[_CONFIRMATIONS] += n
        numbers[_CONFIRMATION_HOURS] += float(total or 0.0)


def _all(session: Session, query: sa.Select[Any]) -> Iterable[Any]:
    """The grouped rows, untyped: their columns come from a subquery.

    Thousands of plain rows at a département's scale: read one by one on the session's
    connection, without the ORM's per-row work (after the flush the ORM would do).
    """
    if session.autoflush:
        session.flush()
    return session.connection().execute(query)


def _commune_names(session: Session, insees: Iterable[str], known: Mapping[str, str]) -> dict[str, str]:
    """Names of ``insees``: from ``known``, the others from the database."""
    names = {insee: known[insee] for insee in insees if insee in known}
    wanted = sorted(set(insees) - names.keys())
    if wanted:
        query = sa.select(Commune.insee, Commune.name).where(Commune.insee.in_(wanted))
        names.update(session.execute(query).all())
    return names


# --- exports -------------------------------------------------------------------------------

BASE_COLUMNS = ["trajets_effectues", "personnes_servies", "passagers"]
MEASURE_COLUMNS = [
    "km",
    "co2_emis_kg",
    "co2_evite_kg",
    "co2_bilan_kg",
    "demandes_non_satisfaites",
    "delai_moyen_confirmation_h",
    "heures_benevoles",
]
#: Counted for the whole period only (a request's two legs may fall in two months): the total row.
ROUND_TRIP_COLUMNS = ["allers_retours_assures", "allers_retours_aller_seul"]


def header(*, with_purpose: bool) -> list[str]:
    """The export's columns; trip purposes (health data) only for those allowed to see them."""
    return ["mois", *_figure_columns(with_purpose), *ROUND_TRIP_COLUMNS]


def _figure_columns(with_purpose: bool) -> list[str]:
    purposes = list(_PURPOSE_COLUMNS.values()) if with_purpose else []
    return [*BASE_COLUMNS, *purposes, *MEASURE_COLUMNS]


def table_rows(report: Report, *, with_purpose: bool) -> list[list[Any]]:
    """One row per month then the total, as numbers rounded the way the page shows them.

    The round trips are the period's: blank on the months, on the total row only.
    """
    blank = [None] * len(ROUND_TRIP_COLUMNS)
    lines = [[*_row(f"{f.month:%Y-%m}", f, with_purpose), *blank] for f in report.months if f.month]
    round_trips = report.round_trips
    total = [*_row("total", report.total, with_purpose), round_trips.served, round_trips.half_served]
    return [*lines, total]


def _row(first: str, f: Figures, with_purpose: bool) -> list[Any]:
    purposes = [f.by_purpose[p] for p in _PURPOSE_COLUMNS] if with_purpose else []
    hours = f.confirmation_hours
    return [
        first,
        f.trips,
        f.people,
        f.passengers,
        *purposes,
        round(f.km, 1),
        round(f.co2_emitted_kg, 1),
        round(f.co2_replaced_kg, 1),
        round(f.co2_avoided_kg, 1),
        f.unmet,
        round(hours, 1) if hours is not None else None,
        round(f.volunteer_hours, 1),
    ]


def to_csv(report: Report, *, with_purpose: bool) -> str:
    """Semicolon-separated with decimal commas, as French spreadsheets expect."""
    rows = table_rows(report, with_purpose=with_purpose)
    return exports.to_csv(
        header(with_purpose=with_purpose), [[_csv_value(value) for value in row] for row in rows]
    )


def to_xlsx(report: Report, *, with_purpose: bool, commune_name: str | None = None) -> bytes:
    """A workbook: the months, the communes, the unmet reasons and how figures are computed."""
    columns = header(with_purpose=with_purpose)
    period = f"{month_label(report.first_month)} à {month_label(report.last_month)}"
    return exports.to_xlsx(
        [
            Sheet("Par mois", columns, table_rows(report, with_purpose=with_purpose)),
            Sheet(
                "Par commune",
                ["commune_insee", "commune", *_figure_columns(with_purpose)],
                [[f.insee, safe_cell(f.label), *_row("", f, with_purpose)[1:]] for f in report.communes],
            ),
            Sheet(
                "Non satisfaites",
                ["raison", "libelle", "demandes"],
                [[u.reason, u.label, u.count] for u in report.unmet_reasons],
            ),
            Sheet(
                "Méthode",
                [f"Période : {period} ({commune_name or 'toutes les communes'})"],
                [[line] for line in METHOD],
                freeze_header=False,
            ),
        ]
    )


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return decimal_comma(f"{value:.1f}")
    return safe_cell(str(value))


#: How the figures are computed, in the words the page and the workbook use.
METHOD = (
    "Trajets effectués : trajets terminés, comptés le mois de la prise en charge "
    "et dans la commune où habite le passager.",
    "Personnes servies : habitants différents ayant fait au moins un trajet.",
    "Kilomètres : distance à vol d'oiseau × 1,3. Trajet proposé : de la prise en charge à la destination ; "
    "trajet bénévole : la boucle depuis le domicile du conducteur.",
    f"CO2 : kilomètres × {CAR_KG_CO2E_PER_KM:.3f} kg CO2e par km, une estimation pour une voiture "
    "thermique moyenne, carburant compris (valeur du calculateur « Impact CO2 » de l'ADEME ; la Base "
    "Carbone ADEME donne de 0,17 à 0,22 selon la taille et le carburant).",
    "CO2 émis : les kilomètres ajoutés par le service, le détour du conducteur sur un trajet proposé, "
    "toute la boucle du bénévole sur un trajet bénévole.",
    "CO2 évité : les trajets en voiture remplacés, celui que le passager aurait fait seul sur un trajet "
    "proposé ; sur un trajet bénévole, un taxi ou un proche venant de la ville de destination, qui fait "
    "deux fois le trajet.",
    "Bilan CO2 : évité moins émis. Il est négatif quand les boucles des bénévoles, faites pour une "
    "seule personne, dépassent les trajets remplacés.",
    "Heures de bénévolat : minutes de détour sur un trajet proposé ; temps de conduite de la boucle "
    f"à {ROUTER.speed_kmh:.0f} km/h sur un trajet bénévole (l'attente sur place n'est pas comptée).",
    "Demandes non satisfaites : demandes dont l'heure est passée sans solution, le mois du rendez-vous.",
    "Délai de confirmation : de la réception de la demande à la confirmation par le passager.",
    "Allers-retours : demandes avec un retour (hors aller simple accepté) dont l'aller a été fait, "
    "le mois du rendez-vous ; assurés dans les deux sens quand le retour a été fait aussi.",
)
