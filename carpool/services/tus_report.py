"""The annual report of a transport d'utilité sociale, sent to the prefect before 1 March.

The arrêté of 17 October 2019 (R3133-5 of the Code des transports) lists what it holds;
docs/law.md quotes it and defines each count. Read-only queries for one association and
one calendar year (Europe/Paris), the same on SQLite and PostgreSQL:

* a **trip** is one leg actually driven: a completed match, in the year of its pickup;
* its **distance** is the router's (crow-fly × 1.3, ``carpool.services.mileage.ROUTER``)
  from pickup to drop-off, the figure the 100 km rule reads; ``average_km`` is their mean;
* a **beneficiary** is a distinct resident carried on at least one trip; they count
  **by place** or **by resources** after the basis recorded on their file
  (``Resident.tus_basis``), and as **missing** when none is recorded;
* **drivers** drove at least one trip; **volunteer drivers** are those not employed;
* **vehicles**: each driver drives their own car, lent to the association free of
  charge; its capacity is the seats the driver offers (``Driver.seats``);
* **participation** is what beneficiaries were asked: ``participation.participation_total``, the
  participation due for the legs driven that year.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS
from carpool.db import dialect_of, sphere_distance_m
from carpool.errors import InvalidInput
from carpool.labels import PURPOSES, TUS_BASES
from carpool.models import (
    Association,
    Commune,
    Driver,
    Match,
    Purpose,
    Request,
    Resident,
    TusBasis,
)
from carpool.services import audit, exports, participation
from carpool.services.exports import Sheet, decimal_comma, safe_cell
from carpool.services.mileage import ROUTER, driven_between

#: Bases counted "by place of residence" (R3133-1 1°) and "by resources" (R3133-1 2°).
BY_PLACE = frozenset({TusBasis.RURAL, TusBasis.SMALL_URBAN})


@dataclass(frozen=True)
class CommuneLine:
    insee: str
    name: str
    beneficiaries: int
    trips: int


@dataclass(frozen=True)
class MissingBasis:
    """A beneficiary of the year whose file has no basis, or one expired before the year's end."""

    resident_id: int
    name: str
    state: str  # "missing" or "expired"


@dataclass(frozen=True)
class TusReport:
    year: int
    association: Association
    drivers: int
    volunteer_drivers: int
    beneficiaries: int
    beneficiaries_by_place: int
    beneficiaries_by_resources: int
    vehicles: int
    average_capacity: float
    trips: int
    total_km: float
    participation_eur: Decimal
    by_purpose: dict[Purpose, int]
    by_commune: list[CommuneLine]
    missing: list[MissingBasis] = field(default_factory=list)

    @property
    def average_km(self) -> float:
        return round(self.total_km / self.trips, 1) if self.trips else 0.0

    @property
    def without_basis(self) -> int:
        return sum(1 for m in self.missing if m.state == "missing")

    def as_json(self, *, with_purpose: bool = True) -> dict[str, Any]:
        """The report as the command prints it (keys are an interface: see docs/law.md)."""
        a = self.association
        data: dict[str, Any] = {
            "year": self.year,
            "association": {
                "name": a.name,
                "employees": a.employees_count,
                "volunteers": a.volunteers_count,
                "members": a.members_count,
                "rules": a.tus_rules,
            },
            "drivers": self.drivers,
            "volunteer_drivers": self.volunteer_drivers,
            "beneficiaries": self.beneficiaries,
            "beneficiaries_by_place": self.beneficiaries_by_place,
            "beneficiaries_by_resources": self.beneficiaries_by_resources,
            "vehicles": self.vehicles,
            "average_capacity": self.average_capacity,
            "trips": self.trips,
            "average_km": self.average_km,
            "participation_eur": float(self.participation_eur),
            "by_commune": [
                {"insee": c.insee, "name": c.name, "beneficiaries": c.beneficiaries, "trips": c.trips}
                for c in self.by_commune
            ],
            "missing": {
                "without_basis": self.without_basis,
                "expired": len(self.missing) - self.without_basis,
                "resident_ids": [m.resident_id for m in self.missing],
            },
        }
        if with_purpose:
            data["by_purpose"] = {p.value: n for p, n in self.by_purpose.items()}
        return data


# --- the year ------------------------------------------------------------------------------


def first_year(association: Association) -> int:
    """The first year a report can cover: the association's founding, else its arrival here."""
    if association.founded_on is not None:
        return association.founded_on.year
    return association.created_at.astimezone(PARIS).year


def checked_year(text: object, association: Association, today: date) -> int:
    """The year asked, as a number the association can report on; InvalidInput in French otherwise."""
    try:
        year = int(str(text).strip())
    except ValueError:
        raise InvalidInput.on(
            "annee", f"L'année « {text} » n'est pas un nombre : écrivez-la ainsi : 2026."
        ) from None
    if year < first_year(association):
        raise InvalidInput.on(
            "annee",
            f"L'association n'existait pas encore en {year} (première année : {first_year(association)}).",
        )
    if year > today.year:
        raise InvalidInput.on("annee", f"L'année {year} n'a pas encore commencé.")
    return year


def year_bounds(year: int) -> tuple[datetime, datetime]:
    """The calendar year in Europe/Paris, as aware datetimes [start, end)."""
    return datetime(year, 1, 1, tzinfo=PARIS), datetime(year + 1, 1, 1, tzinfo=PARIS)


# --- the association's own figures ----------------------------------------------------------


@dataclass(frozen=True)
class AssociationFigures:
    """What the report asks of the association itself, entered once in Réglages (None: unknown)."""

    founded_on: date | None = None
    employees: int | None = None
    volunteers: int | None = None
    members: int | None = None
    rules: str = ""


def set_association_figures(
    session: Session, association: Association, data: AssociationFigures, *, actor: str, today: date
) -> None:
    """Check, then record and audit; InvalidInput (nothing changed) on a negative count or a future date."""
    errors: dict[str, str] = {}
    if data.founded_on is not None and data.founded_on > today:
        errors["founded_on"] = "La date de création ne peut pas être dans le futur."
    for name, value in (("employees_count", data.employees), ("volunteers_count", data.volunteers),
                        ("members_count", data.members)):  # fmt: skip
        if value is not None and value < 0:
            errors[name] = "Indiquez un nombre positif ou nul."
    if len(data.rules) > 4000:
        errors["tus_rules"] = "Les règles doivent tenir en 4 000 caractères."
    if errors:
        raise InvalidInput(errors)
    association.founded_on = data.founded_on
    association.employees_count = data.employees
    association.volunteers_count = data.volunteers
    association.members_count = data.members
    association.tus_rules = data.rules.strip()
    audit.record(
        session, actor, "association.report_figures", subject=association, association_id=association.id
    )


# --- the figures ---------------------------------------------------------------------------


def build(session: Session, association: Association, year: int, *, today: date) -> TusReport:
    """Every figure of the report for ``year`` (already checked with ``checked_year``)."""
    start, end = year_bounds(year)
    trips = (
        sa.select(
            Match.driver_id.label("driver_id"),
            Request.resident_id.label("resident_id"),
            sa.type_coerce(Request.purpose, sa.String).label("purpose"),
            sphere_distance_m(dialect_of(session), Request.pickup_point, Request.dropoff_point).label(
                "metres"
            ),
        )
        .join(Request, Match.request_id == Request.id)
        .where(
            Request.association_id == association.id,
            *driven_between(start, end),
        )
        .subquery()
    )
    rows = session.execute(
        sa.select(trips.c.driver_id, trips.c.resident_id, trips.c.purpose, trips.c.metres)
    ).all()
    driver_ids = {r.driver_id for r in rows}
    resident_ids = {r.resident_id for r in rows}
    by_purpose = dict.fromkeys(PURPOSES, 0)
    for r in rows:
        by_purpose[Purpose(r.purpose)] += 1
    total_km = sum((r.metres or 0.0) / 1000 * ROUTER.circuity for r in rows)

    drivers = list(session.scalars(sa.select(Driver).where(Driver.id.in_(driver_ids)))) if driver_ids else []
    people = (
        list(session.scalars(sa.select(Resident).where(Resident.id.in_(resident_ids))))
        if resident_ids
        else []
    )
    return TusReport(
        year=year,
        association=association,
        drivers=len(drivers),
        volunteer_drivers=sum(1 for d in drivers if d.is_volunteer),
        beneficiaries=len(people),
        beneficiaries_by_place=sum(1 for p in people if p.tus_basis in BY_PLACE),
        beneficiaries_by_resources=sum(1 for p in people if p.tus_basis is TusBasis.RESOURCES),
        vehicles=len(drivers),
        average_capacity=round(sum(d.seats for d in drivers) / len(drivers), 1) if drivers else 0.0,
        trips=len(rows),
        total_km=total_km,
        participation_eur=participation.participation_total(session, association.id, year),
        by_purpose=by_purpose,
        by_commune=_by_commune(session, people, rows),
        missing=_missing(people, min(today, date(year, 12, 31))),
    )


def _by_commune(session: Session, people: list[Resident], rows: Sequence[Any]) -> list[CommuneLine]:
    home = {p.id: p.home_commune_insee for p in people}
    beneficiaries: dict[str, int] = {}
    trips: dict[str, int] = {}
    for p in people:
        beneficiaries[p.home_commune_insee] = beneficiaries.get(p.home_commune_insee, 0) + 1
    for r in rows:
        insee = home[r.resident_id]
        trips[insee] = trips.get(insee, 0) + 1
    names = dict(
        session.execute(sa.select(Commune.insee, Commune.name).where(Commune.insee.in_(beneficiaries))).all()
    )
    lines = [CommuneLine(i, names.get(i, i), n, trips.get(i, 0)) for i, n in beneficiaries.items()]
    return sorted(lines, key=lambda c: (-c.trips, c.name))


def _missing(people: list[Resident], on: date) -> list[MissingBasis]:
    """Beneficiaries without a basis, or whose renewal date is before ``on`` (31 December, or today)."""
    found = []
    for p in sorted(people, key=lambda p: (p.last_name, p.first_name, p.id)):
        if p.tus_basis is None:
            state = "missing"
        elif p.tus_renew_on is not None and p.tus_renew_on < on:
            state = "expired"
        else:
            continue
        name = "(effacé)" if p.erased_at is not None else f"{p.last_name} {p.first_name}"
        found.append(MissingBasis(p.id, name, state))
    return found


# --- files ---------------------------------------------------------------------------------


def lines(report: TusReport, *, with_purpose: bool) -> list[tuple[str, str, Any]]:
    """(key, label, value) of the report, in the order of the arrêté: the page, CSV and XLSX read these."""
    a = report.association
    out: list[tuple[str, str, Any]] = [
        ("year", "Année", report.year),
        ("employees", "Salariés de l'association", a.employees_count),
        ("volunteers", "Bénévoles de l'association", a.volunteers_count),
        ("members", "Adhérents", a.members_count),
        ("drivers", "Conducteurs", report.drivers),
        ("volunteer_drivers", "dont bénévoles", report.volunteer_drivers),
        ("beneficiaries", "Bénéficiaires transportés", report.beneficiaries),
        ("beneficiaries_by_place", "dont éligibles par le lieu de résidence", report.beneficiaries_by_place),
        (
            "beneficiaries_by_resources",
            "dont éligibles par les ressources",
            report.beneficiaries_by_resources,
        ),
        ("beneficiaries_without_basis", "dont sans justificatif enregistré", report.without_basis),
        ("vehicles", "Véhicules mis à disposition (ceux des conducteurs)", report.vehicles),
        ("average_capacity", "Capacité moyenne des véhicules (places)", report.average_capacity),
        ("participation_eur", "Participation aux coûts demandée (€)", report.participation_eur),
        ("trips", "Trajets réalisés", report.trips),
        ("average_km", "Distance moyenne par trajet (km)", report.average_km),
    ]
    if with_purpose:
        out += [
            (f"purpose_{p.value}", f"Trajets : {label}", report.by_purpose[p])
            for p, label in PURPOSES.items()
        ]
    return out


#: The columns of the report's lines, in the CSV and on the XLSX's first sheet.
LINE_COLUMNS = ["indicateur", "libelle", "valeur"]


def line_rows(report: TusReport, *, with_purpose: bool, value_as: Callable[[Any], Any]) -> list[list[Any]]:
    """The report's lines as file rows (indicateur, libelle, valeur): each format writes its values."""
    return [
        [key, safe_cell(label), value_as(value)]
        for key, label, value in lines(report, with_purpose=with_purpose)
    ]


def to_csv(report: TusReport, *, with_purpose: bool) -> str:
    """indicateur;libelle;valeur, then two lines per commune of residence (French decimals)."""
    out = line_rows(report, with_purpose=with_purpose, value_as=_csv)
    for c in report.by_commune:
        name = safe_cell(c.name)
        out.append([f"commune_{c.insee}_beneficiaries", f"{name} : bénéficiaires", str(c.beneficiaries)])
        out.append([f"commune_{c.insee}_trips", f"{name} : trajets", str(c.trips)])
    return exports.to_csv(LINE_COLUMNS, out)


def to_xlsx(report: TusReport, *, with_purpose: bool) -> bytes:
    """The lines, then a sheet per commune, those without a basis and the method (numbers as numbers)."""
    return exports.to_xlsx(
        [
            Sheet("Rapport", LINE_COLUMNS, line_rows(report, with_purpose=with_purpose, value_as=_cell)),
            Sheet(
                "Par commune",
                ["commune_insee", "commune", "beneficiaires", "trajets"],
                [[c.insee, safe_cell(c.name), c.beneficiaries, c.trips] for c in report.by_commune],
            ),
            Sheet(
                "Sans justificatif",
                ["habitant", "nom", "situation"],
                [[m.resident_id, safe_cell(m.name), STATES[m.state]] for m in report.missing],
            ),
            Sheet(
                "Méthode", [f"Rapport annuel {report.year}"], [[line] for line in METHOD], freeze_header=False
            ),
        ]
    )


STATES = {"missing": "aucun justificatif", "expired": "justificatif expiré"}

METHOD = (
    "Trajet : un trajet réellement effectué (aller ou retour), compté l'année de la prise en charge.",
    "Distance : distance à vol d'oiseau × 1,3 de la prise en charge à la destination, la même que pour la "
    "règle des 100 km.",
    "Bénéficiaire : une personne différente transportée au moins une fois dans l'année.",
    "Éligibilité : le justificatif enregistré sur la fiche de la personne ("
    + ", ".join(TUS_BASES.values())
    + ").",
    "Conducteur : a effectué au moins un trajet dans l'année ; bénévole sauf s'il est salarié "
    "de l'association.",
    "Véhicules : la voiture de chaque conducteur, mise à disposition à titre non lucratif ; capacité : "
    "les places qu'il propose.",
)


def _csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, Decimal)):
        return decimal_comma(value)
    return str(value)


def _cell(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value
