"""Transport d'utilité sociale: a resident's eligibility, and the communes of the territory.

The commune list is one form: filters (GET) choose the communes shown, their boxes are
ticked or not and one button saves them all; only the communes shown change.
"""

from __future__ import annotations

from collections.abc import Mapping

from flask import render_template, request
from werkzeug.wrappers import Response as BaseResponse

from carpool.errors import InvalidInput
from carpool.extensions import db_session
from carpool.models import Commune, Resident
from carpool.services import eligibility
from carpool.web.coordinators import bp
from carpool.web.coordinators.common import (
    View,
    actor,
    association_id,
    coordinator_required,
    form_page,
    invalid,
    refused,
    saved,
    scoped,
    today,
)
from carpool.web.coordinators.resident_forms import EligibilityForm
from carpool.web.forms import ActionForm, check_action

TEMPLATE = "coordinators/resident_eligibility.html"


@bp.route("/habitants/<int:resident_id>/eligibilite", methods=["GET", "POST"])
@coordinator_required
def resident_eligibility(resident_id: int) -> View:
    person = scoped(Resident, resident_id)
    if person.erased_at is not None:
        return refused(
            InvalidInput.on("", "Cette personne a été effacée."), "coord.resident", resident_id=person.id
        )
    form = EligibilityForm(obj=None if request.method == "POST" else _FormData(person))
    home = db_session().get_one(Commune, person.home_commune_insee)
    context = {
        "resident": person,
        "standing": eligibility.standing(person, today()),
        "home": home.name,
        "home_eligible": home.insee in eligibility.eligible_communes(db_session(), association_id()),
    }
    if not form.validate_on_submit():
        return form_page(TEMPLATE, form, **context)
    try:
        eligibility.set_basis(db_session(), person, form.to_input(), actor=actor(), today=today())
    except InvalidInput as error:
        return invalid(TEMPLATE, form, error, **context)
    return saved("L'éligibilité est enregistrée.", "coord.resident", resident_id=person.id)


class _FormData:
    def __init__(self, person: Resident) -> None:
        self.basis = person.tus_basis.value if person.tus_basis else ""
        self.benefit = person.tus_benefit or ""
        self.proof_seen_on = person.tus_proof_seen_on
        self.renew_on = person.tus_renew_on


@bp.get("/communes")
@coordinator_required
def communes() -> str:
    filters = _filters(request.args)
    found = eligibility.communes(
        db_session(),
        association_id(),
        departement=filters["departement"],
        eligible={"oui": True, "non": False}.get(filters["eligibles"]),
        text=filters["q"],
    )
    return render_template(
        "coordinators/communes.html",
        found=found,
        filters=filters,
        form=ActionForm(),
        limit=eligibility.COMMUNES_PAGE,
    )


@bp.post("/communes")
@coordinator_required
def communes_save() -> BaseResponse:
    check_action()
    filters = _filters(request.form)
    back = {k: v for k, v in filters.items() if v}
    try:
        changed = eligibility.set_flags(
            db_session(),
            association_id(),
            request.form.getlist("shown"),
            request.form.getlist("eligible"),
            actor=actor(),
        )
    except InvalidInput as error:
        return refused(error, "coord.communes", **back)
    word = "commune modifiée" if changed == 1 else "communes modifiées"
    return saved(f"C'est enregistré : {changed} {word}.", "coord.communes", **back)


def _filters(args: Mapping[str, str]) -> dict[str, str]:
    eligibles = args.get("eligibles", "")
    return {
        "departement": args.get("departement", "").strip()[:3],
        "eligibles": eligibles if eligibles in ("oui", "non") else "",
        "q": args.get("q", "").strip()[:60],
    }
