"""Residents' registry: list and search, record, correct, opt-out; GDPR export and erasure.

Trip purposes are special-category data (often health): the detail page shows
them only to accounts with ``may_see_purpose``, and the full export — which
must contain them — is produced only by those accounts.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.labels import NEEDS, PURPOSES, TUS_BASES, TUS_BENEFITS
from carpool.models import Commune, Resident
from carpool.notify.calls import MACHINE
from carpool.services import eligibility, residents
from carpool.services.places import commune_label, place_suggestions
from carpool.services.voice_calls import NOT_REACHED_LABELS
from carpool.text import display_phone
from carpool.web.coordinators import bp, resident_series
from carpool.web.coordinators.common import (
    View,
    actor,
    association_id,
    coordinator_required,
    form_page,
    invalid,
    me,
    now,
    saved,
    scoped,
    today,
)
from carpool.web.coordinators.resident_forms import EraseForm, OptOutForm, ResidentForm

PAGE_SIZE = 50
REQUEST_STATUS = {
    "open": "en attente",
    "matched": "conducteur trouvé",
    "cancelled": "annulée",
    "expired": "sans solution",
    "done": "effectuée",
}
MATCH_STATUS = {
    "proposed": "proposé au conducteur",
    "accepted": "accepté, à confirmer",
    "declined": "refusé",
    "confirmed": "confirmé",
    "completed": "effectué",
    "cancelled": "annulé",
    "no_show": "absent",
    "expired": "sans réponse",
}
SOURCES = {"sms": "SMS", "phone": "téléphone", "web": "site"}
#: The journal's codes as the person reads them on their data page (others shown as they are).
ACTIONS = {
    "resident.created": "fiche créée",
    "resident.updated": "fiche modifiée",
    "resident.exported": "données consultées ou exportées",
    "resident.sms_opted_out": "SMS arrêtés",
    "resident.sms_opted_in": "SMS repris",
    "request.cancelled": "demande annulée",
    "voice.connected": "appel transmis à une personne",
    "voice.message_left": "message vocal laissé",
    "voice.listened": "message vocal écouté",
    "voice.callback_planned": "rappel prévu",
    "voice.handled": "message vocal traité",
    "voice_calls_limited": "appels limités pour l'heure",
}


def _resident(resident_id: int, *, erased_ok: bool = False) -> Resident:
    """The resident if in the coordinator's association (else 404); erased ones only where harmless."""
    resident = scoped(Resident, resident_id)
    if resident.erased_at is not None and not erased_ok:
        abort(404)
    return resident


def _communes() -> list[str]:
    return [label for label in place_suggestions(db_session(), 0) if label.endswith(")")]


# --- list and detail -----------------------------------------------------------------------


@bp.get("/habitants", endpoint="residents")
@coordinator_required
def residents_list() -> str:
    text = request.args.get("q", "").strip()[:100]
    number = request.args.get("page", 1, type=int) or 1
    found = residents.page(db_session(), association_id(), text, number=number, size=PAGE_SIZE)
    return render_template(
        "coordinators/residents.html",
        page=found,
        q=text,
        needs=NEEDS,
        standing=lambda person: eligibility.standing(person, today()).state,
    )


@bp.get("/habitants/<int:resident_id>")
@coordinator_required
def resident(resident_id: int) -> str:
    person = _resident(resident_id, erased_ok=True)
    commune = db_session().get(Commune, person.home_commune_insee)
    return render_template(
        "coordinators/resident_detail.html",
        resident=person,
        commune=commune_label(commune) if commune else "",
        trips=residents.trips(db_session(), person),
        opt_out_form=OptOutForm(opted_out="0" if person.sms_opted_out else "1"),
        needs=NEEDS,
        purposes=PURPOSES,
        request_status=REQUEST_STATUS,
        match_status=MATCH_STATUS,
        sources=SOURCES,
        may_see_purpose=me().may_see_purpose,
        eligibility=eligibility.standing(person, today()),
        **resident_series.context(person),
    )


# --- record and correct --------------------------------------------------------------------


@bp.route("/habitants/nouveau", methods=["GET", "POST"])
@coordinator_required
def resident_new() -> View:
    form = ResidentForm()
    context = {"editing": False, "communes": _communes()}
    if not form.validate_on_submit():
        return form_page("coordinators/resident_form.html", form, **context)
    session = db_session()
    try:
        person = residents.create(session, association_id(), form.to_input(), actor=actor(), now=now())
    except InvalidInput as error:
        return invalid("coordinators/resident_form.html", form, error, **context)
    return saved(
        f"{person.first_name} {person.last_name} est enregistré·e.", "coord.resident", resident_id=person.id
    )


@bp.route("/habitants/<int:resident_id>/modifier", methods=["GET", "POST"])
@coordinator_required
def resident_edit(resident_id: int) -> View:
    person = _resident(resident_id)
    session = db_session()
    form = ResidentForm(obj=None if request.method == "POST" else _as_form_data(person))
    context = {"editing": True, "resident": person, "communes": _communes()}
    if not form.validate_on_submit():
        return form_page("coordinators/resident_form.html", form, **context)
    try:
        residents.update(session, person, form.to_input(), actor=actor(), now=now())
    except InvalidInput as error:
        return invalid("coordinators/resident_form.html", form, error, **context)
    return saved("Les modifications sont enregistrées.", "coord.resident", resident_id=person.id)


class _FormData:
    """A resident as the form reads it (the commune by its label, consent as a box)."""

    def __init__(self, person: Resident, commune: str) -> None:
        self.first_name, self.last_name = person.first_name, person.last_name
        self.phone = person.phone
        self.channel = person.channel
        self.home_commune = commune
        self.uses_wheelchair, self.uses_walker = person.uses_wheelchair, person.uses_walker
        self.needs_help_boarding = person.needs_help_boarding
        self.consent = person.consent_at is not None
        self.notes = person.notes


def _as_form_data(person: Resident) -> _FormData:
    commune = db_session().get(Commune, person.home_commune_insee)
    data = _FormData(person, commune_label(commune) if commune else person.home_commune_insee)
    data.phone = display_phone(person.phone)
    return data


@bp.post("/habitants/<int:resident_id>/sms")
@coordinator_required
def resident_opt_out(resident_id: int) -> BaseResponse:
    person = _resident(resident_id)
    form = OptOutForm()
    if not form.validate_on_submit():
        abort(400)
    session = db_session()
    stop = form.opted_out.data == "1"
    residents.set_opt_out(session, person, stop, actor=actor(), now=now())
    return saved(
        "Plus aucun SMS ne lui sera envoyé." if stop else "Les SMS lui seront de nouveau envoyés.",
        "coord.resident",
        resident_id=person.id,
    )


# --- GDPR: access and erasure --------------------------------------------------------------


def _export(resident_id: int) -> tuple[Resident, dict[str, Any]]:
    """A resident and everything held on them, audited and committed.

    The full export holds trip purposes (health): only accounts cleared for them produce it.
    """
    person = _resident(resident_id)
    if not me().may_see_purpose:
        abort(403)
    session = db_session()
    data = residents.export(session, person, actor=actor())
    session.commit()
    return person, data


@bp.get("/habitants/<int:resident_id>/export.json")
@coordinator_required
def resident_export(resident_id: int) -> Response:
    person, data = _export(resident_id)
    data["exported_at"] = now().isoformat()
    body = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    stamp = now().strftime("%Y%m%d")
    return Response(
        body,
        mimetype="application/json",
        headers={
            "Content-Disposition": f'attachment; filename="habitant-{person.id}-{stamp}.json"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/habitants/<int:resident_id>/donnees")
@coordinator_required
def resident_export_page(resident_id: int) -> str:
    person, data = _export(resident_id)
    return render_template(
        "coordinators/resident_data.html",
        resident=person,
        data=data,
        exported_at=now(),
        parse=_parse,
        purposes={p.value: label for p, label in PURPOSES.items()},
        request_status=REQUEST_STATUS,
        match_status=MATCH_STATUS,
        sources=SOURCES,
        actions=ACTIONS,
        tus_bases={b.value: label for b, label in TUS_BASES.items()},
        tus_benefits=TUS_BENEFITS,
        call_outcome=_call_outcome,
    )


def _call_outcome(call: dict[str, Any]) -> str:
    """How a notice call went, in the words of the coordinators' pages."""
    if call["answered_by"] in MACHINE:
        return "répondeur"
    if call["call_status"] == "completed":
        return "décroché"
    if call["call_status"] in NOT_REACHED_LABELS:
        return NOT_REACHED_LABELS[call["call_status"]]
    return CALL_STATES.get(call["status"], call["status"])


#: A call's outbox state while Twilio has said nothing final of it.
CALL_STATES = {
    "pending": "pas encore passé",
    "sending": "en cours",
    "sent": "passé",
    "delivered": "décroché",
    "failed": "non abouti",
    "cancelled": "annulé",
}


def _parse(moment: str | None) -> datetime | None:
    return datetime.fromisoformat(moment) if moment else None


@bp.route("/habitants/<int:resident_id>/effacer", methods=["GET", "POST"])
@coordinator_required
def resident_erase(resident_id: int) -> View:
    person = _resident(resident_id)
    session = db_session()
    form = EraseForm()
    blocking = residents.engaged_matches(session, person, now())
    context = {"resident": person, "blocking": blocking, "may_see_purpose": me().may_see_purpose}
    if not form.validate_on_submit():
        return form_page("coordinators/resident_erase.html", form, **context)
    try:
        residents.erase(session, person, actor=actor(), now=now())
    except InvalidInput as error:
        return invalid("coordinators/resident_erase.html", form, error, **context)
    session.commit()
    # No name in the flash: it would outlive the erasure in the session cookie.
    flash("Les données de la personne sont effacées ; ses trajets restent comptés, sans son nom.")
    return redirect(url_for("coord.residents"))
