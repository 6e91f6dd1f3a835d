"""The money section of the settings page: residents' participation, identity on receipts."""

from __future__ import annotations

from wtforms import BooleanField, StringField, TextAreaField
from wtforms.validators import Length

from carpool.models import Association
from carpool.web.forms import BaseForm


class MoneyForm(BaseForm):
    participation_enabled = BooleanField(
        "Demander une participation aux habitants",
        description="Le montant de chaque trajet est annoncé dans le SMS qui le propose.",
    )
    participation_per_km = StringField(
        "Participation des habitants (€ par km)",
        [Length(max=12)],
        description="Au plus 0,32 € par km (arrêté du 17 octobre 2019), par exemple 0,20.",
        render_kw={"inputmode": "decimal"},
    )
    legal_address = TextAreaField(
        "Adresse du siège (reçus de dons)", [Length(max=400)], render_kw={"rows": 3}
    )
    legal_number = StringField(
        "Numéro SIREN ou RNA",
        [Length(max=20)],
        description="9 chiffres (SIREN) ou W suivi de 9 chiffres (RNA).",
    )
    legal_object = TextAreaField(
        "Objet de l'association (reçus de dons)", [Length(max=1000)], render_kw={"rows": 3}
    )


def money_values(current: Association) -> dict[str, object]:
    """The form's fields as the association has them now."""
    price = f"{current.participation_per_km:.3f}".rstrip("0").rstrip(".").replace(".", ",")
    return {
        "participation_enabled": current.participation_enabled,
        "participation_per_km": price,
        "legal_address": current.legal_address,
        "legal_number": current.legal_number,
        "legal_object": current.legal_object,
    }
