"""Who may be carried (transport d'utilité sociale): residents' basis and communes' flags.

R3133-1 of the Code des transports (docs/law.md): a beneficiary lives in a rural commune
or in a commune of an urban unit under 12,000 inhabitants, or meets a resources criterion
(CSS, or a benefit such as RSA, ASPA, AAH). The coordinator records the basis, when the
proof was seen and when to see it again; the association flags the communes of its
territory once. Before a booking the desk warns about a resident with no basis or an
expired one; the booking goes on and the warning is audited (``eligibility.warned``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import utcnow
from carpool.errors import InvalidInput
from carpool.labels import TUS_BASES, TUS_BENEFITS
from carpool.models import Commune, CommuneEligibility, Driver, Resident, TusBasis
from carpool.services import audit

#: A proof is seen again at least this often (the form proposes it; the coordinator may shorten it).
MAX_VALIDITY_DAYS = 5 * 366
#: Rows the commune list shows at once: filters narrow a département's hundreds of communes.
COMMUNES_PAGE = 200


@dataclass(frozen=True)
class BasisInput:
    """What a coordinator types: all empty clears the basis."""

    basis: str = ""
    benefit: str = ""
    proof_seen_on: date | None = None
    renew_on: date | None = None


@dataclass(frozen=True)
class Standing:
    """Where a resident stands on a given day: ``ok``, ``missing`` or ``expired``."""

    state: str
    message: str

    @property
    def ok(self) -> bool:
        return self.state == "ok"


def standing(resident: Resident, today: date) -> Standing:
    """Has ``resident`` a basis valid ``today``? With a sentence a coordinator can act on."""
    if resident.tus_basis is None or resident.tus_renew_on is None:
        return Standing("missing", "Aucun justificatif d'éligibilité n'est enregistré pour cette personne.")
    if resident.tus_renew_on < today:
        return Standing(
            "expired",
            f"Le justificatif d'éligibilité est à renouveler depuis le {resident.tus_renew_on:%d/%m/%Y}.",
        )
    label = TUS_BASES[resident.tus_basis]
    if resident.tus_basis is TusBasis.RESOURCES and resident.tus_benefit:
        label = f"{label} : {TUS_BENEFITS.get(resident.tus_benefit, resident.tus_benefit)}"
    return Standing("ok", f"Éligible ({label}), jusqu'au {resident.tus_renew_on:%d/%m/%Y}.")


def set_basis(session: Session, resident: Resident, data: BasisInput, *, actor: str, today: date) -> None:
    """Record (or clear) the resident's basis; raises InvalidInput with every problem, changing nothing."""
    if not (data.basis or data.benefit or data.proof_seen_on or data.renew_on):
        resident.tus_basis = resident.tus_benefit = resident.tus_proof_seen_on = resident.tus_renew_on = None
        audit.record(
            session,
            actor,
            "resident.eligibility_cleared",
            subject=resident,
            association_id=resident.association_id,
        )
        return
    basis = _checked(data, today)
    resident.tus_basis = basis
    resident.tus_benefit = data.benefit if basis is TusBasis.RESOURCES else None
    resident.tus_proof_seen_on = data.proof_seen_on
    resident.tus_renew_on = data.renew_on
    audit.record(
        session,
        actor,
        "resident.eligibility_set",
        subject=resident,
        association_id=resident.association_id,
        basis=basis.value,
        benefit=resident.tus_benefit,
        renew_on=f"{data.renew_on}",
    )


def _checked(data: BasisInput, today: date) -> TusBasis:
    errors: dict[str, str] = {}
    basis = next((b for b in TusBasis if b.value == data.basis), None)
    if basis is None:
        errors["basis"] = "Choisissez la raison pour laquelle cette personne peut être transportée."
    if basis is TusBasis.RESOURCES and data.benefit not in TUS_BENEFITS:
        errors["benefit"] = "Choisissez la prestation ou le critère de ressources vu."
    if data.proof_seen_on is None:
        errors["proof_seen_on"] = "Indiquez la date à laquelle le justificatif a été vu."
    elif data.proof_seen_on > today:
        errors["proof_seen_on"] = "La date du justificatif ne peut pas être dans le futur."
    if data.renew_on is None:
        errors["renew_on"] = "Indiquez la date à laquelle revoir le justificatif."
    elif data.proof_seen_on is not None and data.renew_on <= data.proof_seen_on:
        errors["renew_on"] = "La date de renouvellement doit suivre la date du justificatif."
    elif data.proof_seen_on is not None and (data.renew_on - data.proof_seen_on).days > MAX_VALIDITY_DAYS:
        errors["renew_on"] = "Revoyez le justificatif au moins tous les cinq ans."
    if errors or basis is None:
        raise InvalidInput(errors)
    return basis


def warn_before_booking(
    session: Session, resident: Resident, *, actor: str, today: date, where: str
) -> str | None:
    """The warning to show before booking for ``resident`` (audited), or None when their basis is valid."""
    found = standing(resident, today)
    if found.ok:
        return None
    audit.record(
        session,
        actor,
        "eligibility.warned",
        subject=resident,
        association_id=resident.association_id,
        state=found.state,
        where=where,
    )
    return found.message


# --- communes ------------------------------------------------------------------------------


@dataclass(frozen=True)
class CommuneRow:
    insee: str
    name: str
    postcode: str
    population: int
    eligible: bool


@dataclass(frozen=True)
class CommuneList:
    rows: list[CommuneRow]
    total: int  # matching the filters, shown or not
    departements: list[str]


def territory_departements(session: Session, association_id: int) -> list[str]:
    """The départements where the association's residents or drivers live (its territory)."""
    homes = sa.union(
        sa.select(Resident.home_commune_insee.label("insee")).where(
            Resident.association_id == association_id
        ),
        sa.select(Driver.home_commune_insee.label("insee")).where(Driver.association_id == association_id),
        sa.select(CommuneEligibility.commune_insee.label("insee")).where(
            CommuneEligibility.association_id == association_id
        ),
    ).subquery()
    insees: list[str] = list(session.scalars(sa.select(homes.c.insee)))
    return sorted({insee[:2] for insee in insees if insee})


def communes(
    session: Session,
    association_id: int,
    *,
    departement: str = "",
    eligible: bool | None = None,
    text: str = "",
) -> CommuneList:
    """The territory's communes with the association's flag, filtered, by name (at most COMMUNES_PAGE)."""
    departements = territory_departements(session, association_id)
    wanted = [departement] if departement in departements else departements
    flag = sa.func.coalesce(CommuneEligibility.eligible, sa.false())
    query = (
        sa.select(Commune.insee, Commune.name, Commune.postcode, Commune.population, flag)
        .outerjoin(
            CommuneEligibility,
            sa.and_(
                CommuneEligibility.commune_insee == Commune.insee,
                CommuneEligibility.association_id == association_id,
            ),
        )
        .where(sa.or_(*(Commune.insee.startswith(d) for d in wanted)) if wanted else sa.false())
    )
    if eligible is not None:
        query = query.where(flag.is_(sa.true()) if eligible else flag.is_(sa.false()))
    if text:
        query = query.where(sa.or_(Commune.name.ilike(f"%{text}%"), Commune.postcode.startswith(text)))
    total = session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(Commune.name, Commune.insee).limit(COMMUNES_PAGE)).all()
    return CommuneList(
        rows=[CommuneRow(i, n, p, pop, bool(e)) for i, n, p, pop, e in rows],
        total=total,
        departements=departements,
    )


def set_flags(
    session: Session, association_id: int, shown: Iterable[str], checked: Iterable[str], *, actor: str
) -> int:
    """Flag the ``checked`` communes among those ``shown`` on the page, unflag the others; the changes made.

    Only communes of the association's territory are touched; any other code raises InvalidInput.
    """
    shown_set, checked_set = set(shown), set(checked)
    if not checked_set <= shown_set:
        raise InvalidInput.on("", "Une commune cochée ne figurait pas dans la liste : rechargez la page.")
    territory = set(territory_departements(session, association_id))
    known = set(session.scalars(sa.select(Commune.insee).where(Commune.insee.in_(shown_set))))
    if known != shown_set or any(insee[:2] not in territory for insee in shown_set):
        raise InvalidInput.on(
            "", "Une commune de la liste n'est pas sur votre territoire : rechargez la page."
        )
    current = {
        flag.commune_insee: flag
        for flag in session.scalars(
            sa.select(CommuneEligibility).where(
                CommuneEligibility.association_id == association_id,
                CommuneEligibility.commune_insee.in_(shown_set),
            )
        )
    }
    changed = 0
    for insee in sorted(shown_set):
        wanted = insee in checked_set
        flag = current.get(insee)
        if flag is None and not wanted:
            continue
        if flag is None:
            flag = CommuneEligibility(association_id=association_id, commune_insee=insee, eligible=False)
            session.add(flag)
        if flag.eligible != wanted:
            flag.eligible, flag.updated_by, flag.updated_at = wanted, actor, utcnow()
            changed += 1
    if changed:
        audit.record(
            session, actor, "communes.eligibility_set", association_id=association_id, changed=changed
        )
    session.flush()
    return changed


def eligible_communes(session: Session, association_id: int) -> set[str]:
    """INSEE codes the association has flagged eligible."""
    return set(
        session.scalars(
            sa.select(CommuneEligibility.commune_insee).where(
                CommuneEligibility.association_id == association_id, CommuneEligibility.eligible.is_(True)
            )
        )
    )
