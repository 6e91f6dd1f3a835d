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
* **CO2 avoided** (net, may be negative) = kilometres avoided × ``CAR_KG_CO2E_PER_KM``.
  On an offered ride the driver was going anyway: the passenger's own car trip is
  avoided, minus the detour (detour minutes at ``ROUTER.speed_kmh``). A dedicated
  trip replaces a taxi or a relative coming from the destination town, who drives
  the trip twice (to fetch the passenger, then with them): avoided = 2 × the trip
  − the volunteer's loop;
* **volunteer hours**: on an offered ride, the detour minutes; on a dedicated trip,
  the loop's driving time at ``ROUTER.speed_kmh`` (waiting during the appointment
  is not recorded, so not counted);
* **unmet requests** are requests that expired without a match, in the month of
  their appointment, by the matcher's reason;
* **time to confirmation**: request received → passenger's confirmation, averaged
  over matches confirmed for a pickup in the month.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import MONTHS
from carpool.db import dialect_of, hours_between, sphere_distance_m
from carpool.models import Commune, Driver, Match, MatchStatus, Purpose, Request, RequestStatus, Resident
from carpool.services.mileage import ROUTER, month_bounds, safe_cell
from carpool.services.reasons import REASONS

#: Base Carbone (ADEME), "voiture particulière, motorisation moyenne", combustion and
#: upstream, in kg CO2e per vehicle-kilometre. Check it when the Base Carbone is updated.
CAR_KG_CO2E_PER_KM = 0.193
#: A taxi or a relative drives the trip twice: to fetch the passenger, then with them.
TAXI_TRIP_FACTOR = 2.0
#: The longest period one report covers (keeps the CASE and the chart readable).
MAX_MONTHS = 36

#: Purposes in the order funders read them; "autre" keeps the columns adding up.
PURPOSES: dict[Purpose, str] = {
    Purpose.MEDICAL: "santé",
    Purpose.SHOPPING: "courses",
    Purpose.ADMINISTRATION: "démarches administratives",
    Purpose.SOCIAL: "vie sociale",
    Purpose.OTHER: "autre",
}
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
    km_avoided: float = 0.0
    unmet: int = 0
    volunteer_hours: float = 0.0
    confirmations: int = 0
    confirmation_hours_sum: float = 0.0

    @property
    def co2_avoided_kg(self) -> float:
        return self.km_avoided * CAR_KG_CO2E_PER_KM

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
class Report:
    first_month: date
    last_month: date
    commune: str | None
    months: list[Figures]
    communes: list[Figures]  # busiest first
    total: Figures
    unmet_reasons: list[UnmetReason]  # most frequent first


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
    session: Session, association_id: int, first_month: date, last_month: date, *, commune: str | None = None
) -> Report:
    """Every figure of the period, for the association (optionally one commune of residence)."""
    months = months_between(first_month, last_month)
    if not months or len(months) > MAX_MONTHS:
        raise ValueError(f"period of 1 to {MAX_MONTHS} months expected")
    bounds = [month_bounds(m)[0] for m in months] + [month_bounds(months[-1])[1]]
    scope = _Scope(association_id, bounds, commune)

    cells: dict[tuple[int, str], Figures] = {}

    def cell(bucket: int, insee: str) -> Figures:
        return cells.setdefault((bucket, insee), Figures(label="", month=months[bucket], insee=insee))

    _add_trips(session, scope, cell)
    people_by_month = _people_by_month(session, scope)
    people_by_commune = _people_by_commune(session, scope)
    reasons = _add_unmet(session, scope, cell)
    _add_confirmations(session, scope, cell)

    names = _commune_names(session, {insee for _, insee in cells} | set(people_by_commune))
    by_month = {i: Figures(label=month_label(m), month=m) for i, m in enumerate(months)}
    by_commune: dict[str, Figures] = {}
    total = Figures(label="Total de la période")
    for (bucket, insee), figures in cells.items():
        by_month[bucket].add(figures)
        by_commune.setdefault(insee, Figures(label=names.get(insee, insee), insee=insee)).add(figures)
        total.add(figures)
    for bucket, people in people_by_month.items():
        by_month[bucket].people = people
    for insee, people in people_by_commune.items():
        by_commune.setdefault(insee, Figures(label=names.get(insee, insee), insee=insee)).people = people
    # A resident lives in one commune: the communes' people add up, the months' do not.
    total.people = sum(people_by_commune.values())
    return Report(
        first_month=months[0],
        last_month=months[-1],
        commune=commune,
        months=[by_month[i] for i in range(len(months))],
        communes=sorted(by_commune.values(), key=lambda f: (-f.trips, -f.unmet, f.label)),
        total=total,
        unmet_reasons=sorted(
            (UnmetReason(r, UNMET_REASONS.get(r, r), n) for r, n in reasons.items()),
            key=lambda u: (-u.count, u.label),
        ),
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
    bounds: list[datetime]  # month starts, then the end of the last month
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


def _done(scope: _Scope) -> sa.Select[Any]:
    return (
        sa.select()
        .select_from(Match)
        .join(Request, Match.request_id == Request.id)
        .join(Resident, Request.resident_id == Resident.id)
        .where(Match.status == MatchStatus.COMPLETED, *scope.where(Match.pickup_at))
    )


def _add_trips(session: Session, scope: _Scope, cell: Any) -> None:
    dialect = dialect_of(session)
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
            Request.purpose.label("purpose"),
            dedicated.label("dedicated"),
            Match.seats.label("seats"),
            Match.detour_min.label("detour_min"),
            trip_m.label("trip_m"),
            legs_m.label("legs_m"),
        )
        .join(Driver, Match.driver_id == Driver.id)
        .subquery()
    )
    grouped = _all(
        session,
        sa.select(
            rows.c.month,
            rows.c.insee,
            rows.c.purpose,
            rows.c.dedicated,
            sa.func.count(),
            sa.func.sum(rows.c.seats),
            sa.func.sum(rows.c.detour_min),
            sa.func.sum(rows.c.trip_m),
            sa.func.sum(rows.c.legs_m),
        ).group_by(rows.c.month, rows.c.insee, rows.c.purpose, rows.c.dedicated),
    )
    for month, insee, purpose, is_dedicated, trips, seats, detour_min, trip_m_sum, legs_m_sum in grouped:
        figures = cell(month, insee)
        trip_km = (trip_m_sum or 0.0) / 1000 * ROUTER.circuity
        legs_km = (legs_m_sum or 0.0) / 1000 * ROUTER.circuity
        figures.trips += trips
        figures.passengers += seats or 0
        figures.by_purpose[purpose] += seats or 0
        if is_dedicated:
            figures.km += trip_km + legs_km
            figures.km_avoided += TAXI_TRIP_FACTOR * trip_km - (trip_km + legs_km)
            figures.volunteer_hours += (trip_km + legs_km) / ROUTER.speed_kmh
        else:
            detour_km = (detour_min or 0.0) / 60 * ROUTER.speed_kmh
            figures.km += trip_km
            figures.km_avoided += trip_km - detour_km
            figures.volunteer_hours += (detour_min or 0.0) / 60


def _people_by_month(session: Session, scope: _Scope) -> dict[int, int]:
    rows = (
        _done(scope)
        .add_columns(scope.bucket(Match.pickup_at).label("month"), Request.resident_id.label("resident_id"))
        .subquery()
    )
    return dict(
        session.execute(
            sa.select(rows.c.month, sa.func.count(sa.distinct(rows.c.resident_id))).group_by(rows.c.month)
        ).all()
    )


def _people_by_commune(session: Session, scope: _Scope) -> dict[str, int]:
    return dict(
        session.execute(
            _done(scope)
            .add_columns(Resident.home_commune_insee, sa.func.count(sa.distinct(Request.resident_id)))
            .group_by(Resident.home_commune_insee)
        ).all()
    )


def _add_unmet(session: Session, scope: _Scope, cell: Any) -> dict[str, int]:
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
    reasons: dict[str, int] = {}
    for month, insee, reason, n in _all(
        session,
        sa.select(rows.c.month, rows.c.insee, rows.c.reason, sa.func.count()).group_by(
            rows.c.month, rows.c.insee, rows.c.reason
        ),
    ):
        cell(month, insee).unmet += n
        reasons[reason] = reasons.get(reason, 0) + n
    return reasons


def _add_confirmations(session: Session, scope: _Scope, cell: Any) -> None:
    hours = hours_between(dialect_of(session), Request.created_at, Match.confirmed_at)
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
    for month, insee, n, total in _all(
        session,
        sa.select(rows.c.month, rows.c.insee, sa.func.count(), sa.func.sum(rows.c.hours)).group_by(
            rows.c.month, rows.c.insee
        ),
    ):
        figures = cell(month, insee)
        figures.confirmations += n
        figures.confirmation_hours_sum += float(total or 0.0)


def _all(session: Session, query: sa.Select[Any]) -> Sequence[Any]:
    """The grouped rows, untyped: their columns come from a subquery."""
    return session.execute(query).all()


def _commune_names(session: Session, insees: Iterable[str]) -> dict[str, str]:
    wanted = sorted(set(insees))
    if not wanted:
        return {}
    query = sa.select(Commune.insee, Commune.name).where(Commune.insee.in_(wanted))
    return dict(session.execute(query).all())


# --- exports -------------------------------------------------------------------------------

BASE_COLUMNS = ["trajets_effectues", "personnes_servies", "passagers"]
MEASURE_COLUMNS = [
    "km",
    "co2_evite_kg",
    "demandes_non_satisfaites",
    "delai_moyen_confirmation_h",
    "heures_benevoles",
]


def header(*, with_purpose: bool) -> list[str]:
    """The export's columns; trip purposes (health data) only for those allowed to see them."""
    purposes = list(_PURPOSE_COLUMNS.values()) if with_purpose else []
    return ["mois", *BASE_COLUMNS, *purposes, *MEASURE_COLUMNS]


def table_rows(report: Report, *, with_purpose: bool) -> list[list[Any]]:
    """One row per month then the total, as numbers rounded the way the page shows them."""
    lines = [_row(f"{f.month:%Y-%m}", f, with_purpose) for f in report.months if f.month]
    return [*lines, _row("total", report.total, with_purpose)]


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
        round(f.co2_avoided_kg, 1),
        f.unmet,
        round(hours, 1) if hours is not None else None,
        round(f.volunteer_hours, 1),
    ]


def to_csv(report: Report, *, with_purpose: bool) -> str:
    """Semicolon-separated with decimal commas, as French spreadsheets expect."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerow(header(with_purpose=with_purpose))
    for row in table_rows(report, with_purpose=with_purpose):
        writer.writerow([_csv_value(value) for value in row])
    return out.getvalue()


def to_xlsx(report: Report, *, with_purpose: bool, commune_name: str | None = None) -> bytes:
    """A workbook: the months, the communes, the unmet reasons and how figures are computed."""
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    months = book.active
    months.title = "Par mois"
    _sheet(months, header(with_purpose=with_purpose), table_rows(report, with_purpose=with_purpose))

    communes = book.create_sheet("Par commune")
    _sheet(
        communes,
        ["commune_insee", "commune", *header(with_purpose=with_purpose)[1:]],
        [[f.insee, safe_cell(f.label), *_row("", f, with_purpose)[1:]] for f in report.communes],
    )

    unmet = book.create_sheet("Non satisfaites")
    reasons = [[u.reason, u.label, u.count] for u in report.unmet_reasons]
    _sheet(unmet, ["raison", "libelle", "demandes"], reasons)

    method = book.create_sheet("Méthode")
    period = f"{month_label(report.first_month)} à {month_label(report.last_month)}"
    method.append([f"Période : {period} ({commune_name or 'toutes les communes'})"])
    method["A1"].font = Font(bold=True)
    for line in METHOD:
        method.append([line])

    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _sheet(sheet: Any, columns: Sequence[str], lines: Iterable[Sequence[Any]]) -> None:
    from openpyxl.styles import Font

    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for line in lines:
        sheet.append(list(line))
    sheet.freeze_panes = "A2"


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.1f}".replace(".", ",")
    return safe_cell(str(value))


#: How the figures are computed, in the words the page and the workbook use.
METHOD = (
    "Trajets effectués : trajets terminés, comptés le mois de la prise en charge "
    "et dans la commune où habite le passager.",
    "Personnes servies : habitants différents ayant fait au moins un trajet.",
    "Kilomètres : distance à vol d'oiseau × 1,3. Trajet proposé : de la prise en charge à la destination ; "
    "trajet bénévole : la boucle depuis le domicile du conducteur.",
    f"CO2 évité (net) : kilomètres évités × {CAR_KG_CO2E_PER_KM:.3f} kg CO2e par km "
    "(Base Carbone ADEME, voiture particulière, motorisation moyenne). Trajet proposé : le trajet "
    "que le passager aurait fait seul en voiture, moins le détour du conducteur. Trajet bénévole : "
    "un taxi ou un proche venant de la ville de destination fait deux fois le trajet, moins la boucle "
    "du bénévole. Le résultat peut être négatif.",
    "Heures de bénévolat : minutes de détour sur un trajet proposé ; temps de conduite de la boucle "
    f"à {ROUTER.speed_kmh:.0f} km/h sur un trajet bénévole (l'attente sur place n'est pas comptée).",
    "Demandes non satisfaites : demandes dont l'heure est passée sans solution, le mois du rendez-vous.",
    "Délai de confirmation : de la réception de la demande à la confirmation par le passager.",
)
