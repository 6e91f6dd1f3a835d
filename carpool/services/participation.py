"""Residents' participation: fixed per leg at booking, due once driven, paid to a coordinator.

An association may ask residents a participation per km (transport d'utilité sociale:
the arrêté of 17 October 2019 caps it at 0.32 € per km, see docs/money.md). The
leg's kilometres are the router's distance from pickup to drop-off (crow-fly × 1.3,
as the drivers' statement), rounded to 0.1 km; the amount is km × price per km,
rounded half up to the cent. Both are fixed when the leg is booked, with the price
of that day: the amount announced in the proposal is the amount asked.

A leg's participation is due once the leg is driven (its match completed) and paid
when a coordinator records how (cash, cheque, transfer) and on which day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS
from carpool.db import lon_lat
from carpool.errors import InvalidInput
from carpool.matching import CrowFlyRouter
from carpool.models import (
    Association,
    Commune,
    Leg,
    LegParticipation,
    Match,
    MatchStatus,
    PaymentMethod,
    Request,
    Resident,
)
from carpool.services import audit, exports
from carpool.services.exports import decimal_comma, safe_cell
from carpool.services.mileage import month_bounds

ROUTER = CrowFlyRouter()
CENT = Decimal("0.01")
TENTH = Decimal("0.1")
#: Arrêté of 17 October 2019: at most 0.32 € per km asked of a beneficiary.
LEGAL_CAP_PER_KM = Decimal("0.32")
METHOD_LABELS = {
    PaymentMethod.CASH: "espèces",
    PaymentMethod.CHEQUE: "chèque",
    PaymentMethod.TRANSFER: "virement",
}


def leg_km(request: Request) -> Decimal:
    """The resident's leg by the router, to 0.1 km (the same both ways)."""
    km = ROUTER.distance_km(lon_lat(request.pickup_point), lon_lat(request.dropoff_point))
    return Decimal(str(km)).quantize(TENTH, ROUND_HALF_UP)


def amount_for(km: Decimal, price_per_km: Decimal) -> Decimal:
    return (km * price_per_km).quantize(CENT, ROUND_HALF_UP)


def quote(session: Session, request: Request) -> Decimal | None:
    """What one leg of ``request`` will cost the resident; None when the association asks nothing."""
    association = session.get_one(Association, request.association_id)
    if not association.participation_enabled:
        return None
    return amount_for(leg_km(request), Decimal(association.participation_per_km))


def record_due(session: Session, request: Request, match: Match) -> LegParticipation | None:
    """Fix the participation of a leg just booked (nothing when the association asks none)."""
    association = session.get_one(Association, request.association_id)
    if not association.participation_enabled:
        return None
    km, price = leg_km(request), Decimal(association.participation_per_km)
    row = LegParticipation(
        association_id=association.id,
        match_id=match.id,
        resident_id=request.resident_id,
        km=km,
        price_per_km=price,
        amount=amount_for(km, price),
    )
    session.add(row)
    session.flush()
    return row


# --- settings ------------------------------------------------------------------------------


def parse_price(
    text: str, field: str, *, cap: Decimal, example: str, errors: dict[str, str]
) -> Decimal | None:
    """A price per km typed the French way ("0,25", "0,25 €"); between 0 and ``cap``, else a message."""
    try:
        price = Decimal(text.strip().replace(",", ".").replace("€", "").strip())
    except InvalidOperation:
        price = Decimal("NaN")
    shown = f"{cap}".replace(".", ",")
    if not price.is_finite():
        errors[field] = f"Indiquez un montant en euros par km, par exemple {example}."
    elif price < 0:
        errors[field] = "Le montant par km ne peut pas être négatif."
    elif price > cap:
        errors[field] = (
            f"Le montant par km ne peut pas dépasser {shown} € (plafond de l'arrêté du 17 octobre 2019)."
            if cap == LEGAL_CAP_PER_KM
            else f"Le montant par km ne peut pas dépasser {shown} €."
        )
    else:
        return price.quantize(Decimal("0.001"))
    return None


# --- payments ------------------------------------------------------------------------------


def mark_paid(
    session: Session,
    row: LegParticipation,
    *,
    method: str,
    paid_on: date | None,
    today: date,
    actor: str,
) -> None:
    """Record the payment of a driven leg; InvalidInput (French) changes nothing."""
    errors: dict[str, str] = {}
    chosen = next((m for m in PaymentMethod if m.value == method), None)
    if chosen is None:
        errors["method"] = "Choisissez le moyen de paiement : espèces, chèque ou virement."
    status = session.scalar(sa.select(Match.status).where(Match.id == row.match_id))
    if status is not MatchStatus.COMPLETED:
        errors[""] = "Ce trajet n'a pas encore été effectué : rien n'est dû."
    if paid_on is None:
        errors["paid_on"] = "Indiquez la date du paiement."
    elif paid_on > today:
        errors["paid_on"] = "La date du paiement ne peut pas être dans le futur."
    if row.paid_on is not None:
        errors[""] = "Ce paiement est déjà enregistré."
    if errors:
        raise InvalidInput(errors)
    row.paid_on, row.method, row.recorded_by = paid_on, chosen, actor
    session.flush()
    audit.record(
        session,
        actor,
        "participation.paid",
        subject=row,
        association_id=row.association_id,
        amount=str(row.amount),
        method=method,
        paid_on=str(paid_on),
    )


def cancel_payment(session: Session, row: LegParticipation, *, actor: str) -> None:
    """Undo a payment recorded by mistake (audited with what it said)."""
    if row.paid_on is None:
        return
    before = {"paid_on": str(row.paid_on), "method": row.method.value if row.method else None}
    row.paid_on, row.method, row.recorded_by = None, None, None
    session.flush()
    audit.record(
        session, actor, "participation.unpaid", subject=row, association_id=row.association_id, before=before
    )


# --- statements ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Line:
    id: int
    day: date
    resident: str
    resident_id: int
    route: str
    leg: str  # "aller" or "retour"
    km: Decimal
    price_per_km: Decimal
    amount: Decimal
    paid_on: date | None
    method: str  # a label, "" when unpaid

    @property
    def paid(self) -> bool:
        return self.paid_on is not None


@dataclass(frozen=True)
class MonthStatement:
    association: Association
    month: date
    lines: list[Line]
    resident: Resident | None = None

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), Decimal("0.00"))

    @property
    def paid(self) -> Decimal:
        return sum((line.amount for line in self.lines if line.paid), Decimal("0.00"))

    @property
    def outstanding(self) -> Decimal:
        return self.total - self.paid


def _driven(association_id: int) -> list[sa.ColumnElement[bool]]:
    return [LegParticipation.association_id == association_id, Match.status == MatchStatus.COMPLETED]


def month_statement(
    session: Session, association: Association, month: date, resident: Resident | None = None
) -> MonthStatement:
    """The legs driven in ``month`` (Paris) with a participation: one resident's, or everyone's."""
    start, end = month_bounds(month)
    query = (
        sa.select(LegParticipation, Match, Request, Resident)
        .join(Match, LegParticipation.match_id == Match.id)
        .join(Request, Match.request_id == Request.id)
        .join(Resident, LegParticipation.resident_id == Resident.id)
        .where(*_driven(association.id), Match.pickup_at >= start, Match.pickup_at < end)
        .order_by(Match.pickup_at, LegParticipation.id)
    )
    if resident is not None:
        query = query.where(LegParticipation.resident_id == resident.id)
    rows = session.execute(query).all()
    names = dict(session.execute(sa.select(Commune.insee, Commune.name)).all()) if rows else {}
    lines = []
    for row, match, request, person in rows:
        there = (names[request.pickup_commune_insee], names[request.dropoff_commune_insee])
        origin, destination = there if match.leg is Leg.OUT else there[::-1]
        lines.append(
            Line(
                id=row.id,
                day=match.pickup_at.astimezone(PARIS).date(),
                resident=f"{person.first_name} {person.last_name}",
                resident_id=person.id,
                route=f"{origin} → {destination}",
                leg="aller" if match.leg is Leg.OUT else "retour",
                km=row.km,
                price_per_km=row.price_per_km,
                amount=row.amount,
                paid_on=row.paid_on,
                method=METHOD_LABELS[row.method] if row.method else "",
            )
        )
    return MonthStatement(association, date(month.year, month.month, 1), lines, resident)


def participation_total(session: Session, association_id: int, year: int) -> Decimal:
    """The participation due for the legs driven in ``year`` (Paris), paid or not."""
    start, end = datetime(year, 1, 1, tzinfo=PARIS), datetime(year + 1, 1, 1, tzinfo=PARIS)
    total = session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LegParticipation.amount), 0))
        .join(Match, LegParticipation.match_id == Match.id)
        .where(*_driven(association_id), Match.pickup_at >= start, Match.pickup_at < end)
    )
    return Decimal(str(total)).quantize(CENT)


def to_csv(statement: MonthStatement) -> str:
    """Semicolon-separated with decimal commas, as French spreadsheets expect."""
    rows = [
        [
            line.day.isoformat(),
            safe_cell(line.resident),
            safe_cell(line.route),
            line.leg,
            decimal_comma(line.km),
            decimal_comma(line.price_per_km),
            decimal_comma(line.amount),
            line.paid_on.isoformat() if line.paid_on else "",
            line.method,
        ]
        for line in statement.lines
    ]
    total = ["total", "", "", "", "", "", decimal_comma(statement.total), "", ""]
    columns = [
        "date",
        "habitant",
        "trajet",
        "sens",
        "km",
        "prix_km_eur",
        "participation_eur",
        "payee_le",
        "moyen",
    ]
    return exports.to_csv(columns, [*rows, total])
