"""Reading the audit trail: who changed what and when, in words a coordinator reads.

Read-only queries for one association; no Flask. Events are listed newest
first, 50 at a time, by keyset (the last event shown is the cursor), so a page
costs the same at the end of a long journal as at its start. Actors are
resolved to names with one query per kind of actor, never one per line.
Phone numbers never come out in clear: details are masked before display or export.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from carpool.clock import PARIS, plausible_day
from carpool.models import AuditEvent, Driver, Resident, Role, UserAccount
from carpool.notify import privacy
from carpool.services import exports
from carpool.services.exports import safe_cell

PAGE_SIZE = 50
#: Rows fetched at a time for the CSV export (bounds the IN lists of the name look-ups).
EXPORT_BATCH = 500

#: What the "Quoi" filter offers: key → (label, SQL LIKE pattern on the action).
TOPICS: dict[str, tuple[str, str]] = {
    "match": ("Réservations de trajets", "match.%"),
    "request": ("Demandes des habitants", "request.%"),
    "offer": ("Trajets proposés par les conducteurs", "offer.%"),
    "resident": ("Habitants", "resident.%"),
    "driver": ("Conducteurs", "driver.%"),
    "account": ("Comptes et connexions", "account.%"),
    "sms": ("SMS", "sms.%"),
    "place": ("Lieux", "place.%"),
    "export": ("Exports de données", "%.exported"),
}
#: What the "Qui" filter offers: the prefix of ``AuditEvent.actor``.
ACTOR_KINDS: dict[str, str] = {
    "user": "Coordination et comptes web",
    "driver": "Conducteurs",
    "resident": "Habitants",
    "system": "Tâches automatiques",
    "sms": "SMS entrants",
    "cli": "Ligne de commande",
}
#: Actors that are a single word, not ``kind:id``.
PLAIN_ACTORS = {"system": "Système (tâche automatique)", "sms": "SMS entrant", "cli": "Ligne de commande"}

ACTIONS: dict[str, str] = {
    "match.proposed": "Passager proposé à un conducteur",
    "match.accepted": "Trajet accepté par le conducteur",
    "match.declined": "Trajet refusé par le conducteur",
    "match.confirmed": "Trajet confirmé par le passager",
    "match.completed": "Trajet effectué",
    "match.cancelled": "Trajet annulé",
    "match.no_show": "Passager absent",
    "match.expired": "Proposition restée sans réponse",
    "match.feedback": "Avis du passager après le trajet",
    "request.created": "Demande enregistrée",
    "request.cancelled": "Demande annulée",
    "request.expired": "Demande expirée sans solution",
    "request.booked_by_coordinator": "Trajet réservé par la coordination",
    "request.option_sent": "Proposition envoyée par SMS au passager",
    "offer.created": "Trajet proposé par un conducteur",
    "offer.updated": "Trajet proposé modifié",
    "offer.cancelled": "Trajet proposé annulé",
    "driver.signed_up": "Inscription d'un conducteur",
    "driver.vetted": "Conducteur validé",
    "driver.paused": "Conducteur mis en pause",
    "driver.pending": "Conducteur remis en attente de validation",
    "driver.availability_changed": "Disponibilités modifiées",
    "driver.time_off_added": "Absence ajoutée",
    "driver.time_off_removed": "Absence supprimée",
    "driver.vetting_recorded": "Vérification des documents enregistrée",
    "resident.created": "Habitant enregistré",
    "resident.updated": "Fiche d'un habitant modifiée",
    "resident.anonymised": "Habitant anonymisé",
    "resident.erased": "Données d'un habitant effacées (à sa demande)",
    "resident.exported": "Données d'un habitant exportées",
    "resident.sms_opted_out": "Habitant désinscrit des SMS (STOP)",
    "resident.sms_opted_in": "Habitant réinscrit aux SMS",
    "account.login": "Connexion",
    "account.created": "Compte créé",
    "account.updated": "Compte modifié",
    "account.revoked": "Accès retiré",
    "account.restored": "Accès rétabli",
    "account.login_failed": "Échec de connexion",
    "account.password_changed": "Mot de passe changé",
    "account.reset_requested": "Lien de nouveau mot de passe envoyé",
    "account.totp_enabled": "Double authentification activée",
    "account.totp_disabled": "Double authentification désactivée",
    "account.totp_reset": "Double authentification remise à zéro (clé perdue)",
    "api_token.created": "Jeton d'API créé",
    "api_token.revoked": "Jeton d'API révoqué",
    "sms.unknown_number": "SMS d'un numéro inconnu",
    "sms.escalated": "SMS transmis à la coordination",
    "sms.callback_planned": "Rappel d'un habitant prévu par la coordination",
    "sms.handled": "SMS traité par la coordination",
    "communes.imported": "Communes importées",
    "place.created": "Lieu ajouté",
    "place.updated": "Lieu modifié",
    "place.archived": "Lieu archivé",
    "place.restored": "Lieu rétabli",
    "association.settings_changed": "Réglages de l'association modifiés",
    "figures.exported": "Chiffres exportés",
    "demo.seeded": "Données de démonstration créées",
    "retention.sms_bodies_purged": "Textes d'anciens SMS effacés (durée de conservation)",
    "audit.exported": "Journal exporté",
}
SUBJECTS = {
    "Match": "trajet",
    "Request": "demande",
    "Offer": "trajet proposé",
    "Resident": "habitant",
    "Driver": "conducteur",
    "UserAccount": "compte",
    "ApiToken": "jeton d'API",
    "NamedPlace": "lieu",
    "InboundMessage": "SMS reçu",
    "OutboundMessage": "SMS envoyé",
    "Association": "association",
    "TimeOff": "absence",
    "Conversation": "conversation SMS",
}
DETAILS = {
    "request_id": "demande n°",
    "offer_id": "trajet proposé n°",
    "match_id": "trajet n°",
    "resident_id": "habitant n°",
    "driver_id": "conducteur n°",
    "for_resident": "au nom du passager",
    "previous": "avant",
    "reason": "motif",
    "why": "raison",
    "source": "origine",
    "ok": "tout s'est bien passé",
    "rows": "lignes",
    "quoi": "filtre quoi",
    "qui": "filtre qui",
    "du": "à partir du",
    "au": "jusqu'au",
    "seed": "graine",
}
ROLES = {Role.DRIVER: "conducteur", Role.COORDINATOR: "coordination", Role.ADMIN: "administration"}


@dataclass(frozen=True)
class Filters:
    """The journal's filters, already checked against the lists above."""

    topic: str = ""
    actor_kind: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_query(cls, args: Mapping[str, str]) -> tuple[Filters, list[str]]:
        """Filters from a query string; unknown values are dropped with a message in French."""
        problems = []
        topic = args.get("quoi", "")
        if topic not in TOPICS:
            topic = ""
        actor_kind = args.get("qui", "")
        if actor_kind not in ACTOR_KINDS:
            actor_kind = ""
        since, until = _day(args.get("du", "")), _day(args.get("au", ""))
        if args.get("du") and since is None:
            problems.append("La date de début n'est pas une date (attendu : jj/mm/aaaa).")
        if args.get("au") and until is None:
            problems.append("La date de fin n'est pas une date (attendu : jj/mm/aaaa).")
        if since and until and until < since:
            problems.append("La date de fin est avant la date de début : elles ont été inversées.")
            since, until = until, since
        return cls(topic, actor_kind, since, until), problems

    def as_query(self) -> dict[str, str]:
        """The query-string form, for links that keep the filters (next page, CSV)."""
        values = {
            "quoi": self.topic,
            "qui": self.actor_kind,
            "du": self.since.isoformat() if self.since else "",
            "au": self.until.isoformat() if self.until else "",
        }
        return {key: value for key, value in values.items() if value}


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    who: str
    action: str
    what: str
    subject: str
    details: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Page:
    entries: list[Entry]
    next_cursor: int | None  # the id to pass as ``before`` for older events


def page(
    session: Session,
    association_id: int,
    filters: Filters,
    *,
    before: int | None = None,
    size: int = PAGE_SIZE,
) -> Page:
    """Up to ``size`` events older than event ``before`` (newest first), names resolved."""
    query = (
        sa.select(AuditEvent)
        .where(*_conditions(association_id, filters))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .limit(size + 1)
    )
    if before is not None:
        cursor_at = (
            sa.select(AuditEvent.at)
            .where(AuditEvent.id == before, AuditEvent.association_id == association_id)
            .scalar_subquery()
        )
        query = query.where(
            sa.or_(AuditEvent.at < cursor_at, sa.and_(AuditEvent.at == cursor_at, AuditEvent.id < before))
        )
    events = list(session.scalars(query))
    more = len(events) > size
    events = events[:size]
    names = actor_names(session, association_id, [event.actor for event in events])
    return Page([_entry(event, names) for event in events], events[-1].id if more else None)


def entries(session: Session, association_id: int, filters: Filters) -> Iterator[Entry]:
    """Every matching event, newest first, fetched in batches."""
    before: int | None = None
    while True:
        batch = page(session, association_id, filters, before=before, size=EXPORT_BATCH)
        yield from batch.entries
        if batch.next_cursor is None:
            return
        before = batch.next_cursor


def actor_names(session: Session, association_id: int, actors: list[str]) -> dict[str, str]:
    """Display names of ``kind:id`` actors of this association: one query per kind."""
    ids: dict[str, set[int]] = {"user": set(), "driver": set(), "resident": set()}
    for actor in actors:
        kind, _, ident = actor.partition(":")
        if kind in ids and ident.isdigit():
            ids[kind].add(int(ident))
    names: dict[str, str] = {}
    if ids["user"]:
        users = session.execute(
            sa.select(
                UserAccount.id, UserAccount.email, UserAccount.role, Driver.first_name, Driver.last_name
            )
            .outerjoin(Driver, Driver.id == UserAccount.driver_id)
            .where(UserAccount.id.in_(ids["user"]), UserAccount.association_id == association_id)
        )
        for user_id, email, role, first, last in users:
            names[f"user:{user_id}"] = (
                f"{first} {last} (conducteur)" if first else f"{email} ({ROLES.get(role, 'compte')})"
            )
    if ids["driver"]:
        rows = session.execute(
            sa.select(Driver.id, Driver.first_name, Driver.last_name).where(
                Driver.id.in_(ids["driver"]), Driver.association_id == association_id
            )
        )
        names.update({f"driver:{i}": f"{first} {last} (conducteur)" for i, first, last in rows})
    if ids["resident"]:
        rows = session.execute(
            sa.select(Resident.id, Resident.first_name, Resident.last_name).where(
                Resident.id.in_(ids["resident"]), Resident.association_id == association_id
            )
        )
        names.update({f"resident:{i}": f"{first} {last}".strip() + " (habitant)" for i, first, last in rows})
    return names


def action_label(action: str) -> str:
    """French words for an action code; the code itself when we have none."""
    if action in ACTIONS:
        return ACTIONS[action]
    if action.endswith(".exported"):
        return f"Export de données ({action.removesuffix('.exported')})"
    return action


def to_csv(rows: Iterator[Entry]) -> tuple[str, int]:
    """Semicolon-separated for French spreadsheets, formula-safe; returns the text and the row count."""
    lines = []
    for entry in rows:
        details = " ; ".join(f"{key} : {value}" for key, value in entry.details)
        when = entry.at.astimezone(PARIS).strftime("%Y-%m-%d %H:%M:%S")
        lines.append([when, *map(safe_cell, (entry.who, entry.what, entry.action, entry.subject, details))])
    return exports.to_csv(["date", "qui", "action", "code", "objet", "details"], lines), len(lines)


def _conditions(association_id: int, filters: Filters) -> list[sa.ColumnElement[bool]]:
    conditions = [AuditEvent.association_id == association_id]
    if filters.topic:
        conditions.append(AuditEvent.action.like(TOPICS[filters.topic][1]))
    if filters.actor_kind in PLAIN_ACTORS:
        conditions.append(AuditEvent.actor == filters.actor_kind)
    elif filters.actor_kind:
        conditions.append(AuditEvent.actor.like(f"{filters.actor_kind}:%"))
    if filters.since:
        conditions.append(AuditEvent.at >= _midnight(filters.since))
    if filters.until:
        conditions.append(AuditEvent.at < _midnight(filters.until + timedelta(days=1)))
    return conditions


def _entry(event: AuditEvent, names: dict[str, str]) -> Entry:
    return Entry(
        id=event.id,
        at=event.at,
        actor=event.actor,
        who=_who(event.actor, names),
        action=event.action,
        what=action_label(event.action),
        subject=_subject(event.subject_type, event.subject_id),
        details=tuple(_detail(key, value) for key, value in sorted((event.details or {}).items())),
    )


def _who(actor: str, names: dict[str, str]) -> str:
    if actor in names:
        return names[actor]
    if actor in PLAIN_ACTORS:
        return PLAIN_ACTORS[actor]
    kind, _, ident = actor.partition(":")
    kinds = {"user": "compte", "driver": "conducteur", "resident": "habitant"}
    return f"{kinds[kind]} n° {ident}" if kind in kinds else privacy.mask_text(actor)


def _subject(subject_type: str | None, subject_id: int | None) -> str:
    if subject_type is None:
        return ""
    name = SUBJECTS.get(subject_type, subject_type)
    return f"{name} n° {subject_id}" if subject_id is not None else name


def _detail(key: str, value: Any) -> tuple[str, str]:
    """One detail as (label, text), with every phone number masked."""
    if isinstance(value, bool):
        text = "oui" if value else "non"
    elif value is None:
        text = "—"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, default=str)
    if "phone" in key.lower() or key.lower() in {"to", "from", "tel", "telephone", "numero"}:
        text = privacy.mask(text) if text not in ("", "—") else text
    return privacy.mask_text(DETAILS.get(key, key)), privacy.mask_text(text)


def _day(text: str) -> date | None:
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%d/%m/%Y").date()):
        try:
            day = parse(text.strip())
        except ValueError:
            continue
        return day if plausible_day(day) else None  # 31/12/9999: its next midnight overflows
    return None


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=PARIS)
