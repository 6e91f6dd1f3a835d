"""Forms of the registries (drivers, places, settings and accounts): types and lengths only.

The rules (valid dates, known communes, bounds of the settings…) are the
services' own, so the CLI and the API would obey them too.
"""

from __future__ import annotations

from wtforms import (
    BooleanField,
    DateField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from carpool.clock import WEEKDAYS
from carpool.models import Role, VettingStatus
from carpool.services.association_settings import ROLE_LABELS
from carpool.services.places_registry import KINDS
from carpool.web.forms import BaseForm, at_most, commune_field, new_password_field, numeric, required

# --- drivers -------------------------------------------------------------------------------


class VettingForm(BaseForm):
    decision = RadioField(
        "Décision",
        [required("Choisissez une décision.")],
        choices=[
            (VettingStatus.VETTED.value, "Vérifié : peut conduire des habitants"),
            (VettingStatus.PAUSED.value, "En pause : ne reçoit plus de trajets"),
            (VettingStatus.PENDING.value, "À vérifier"),
        ],
    )
    documents_seen = BooleanField("J'ai vu le permis de conduire et l'attestation d'assurance en cours")
    licence_valid_until = DateField(
        "Permis valable jusqu'au",
        [Optional()],
        description="Date de fin de validité inscrite sur le permis (obligatoire pour vérifier).",
    )
    insurance_valid_until = DateField(
        "Assurance valable jusqu'au",
        [Optional()],
        description="Date de fin de l'attestation d'assurance (obligatoire pour vérifier).",
    )
    employee = BooleanField(
        "Salarié de l'association (pas bénévole)",
        description="Compté à part dans le rapport annuel du transport d'utilité sociale.",
    )
    note = TextAreaField(
        "Note de vérification (facultatif)",
        [at_most(1000, "La note")],
        description="Ce que vous avez vu ou convenu ; visible des seuls coordinateurs.",
    )


# --- places --------------------------------------------------------------------------------


def _degrees_field(label: str, example: str) -> StringField:
    """A coordinate typed the French way (decimal comma); the service parses it."""
    return StringField(
        f"{label} (facultatif)",
        [Length(max=20)],
        description=f"En degrés décimaux, par exemple {example}",
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )


class PlaceForm(BaseForm):
    name = StringField(
        "Nom du lieu",
        [required("Indiquez le nom du lieu."), Length(max=160)],
        description="Tel que les habitants le disent, par exemple « Centre hospitalier de Cahors ».",
    )
    kind = SelectField("Type de lieu", choices=list(KINDS.items()), validate_choice=False)
    commune = commune_field("Commune", "« Cahors » ou « 46000 Cahors »", "Indiquez la commune.")
    latitude = _degrees_field("Latitude", "44,4498. Vide : le centre de la commune.")
    longitude = _degrees_field("Longitude", "1,4364.")


# --- settings and accounts -----------------------------------------------------------------


def _days_field(label: str, low: int, high: int, then: str) -> IntegerField:
    """A retention period; its bounds are checked again by the service."""
    return IntegerField(
        label,
        [required()],
        description=f"Entre {low} et {high} jours ; {then}.",
        render_kw=numeric(low, high),
    )


ROLE_CHOICES = [(role.value, label) for role, label in ROLE_LABELS.items()]


class SettingsForm(BaseForm):
    sms_number = TelField(
        "Numéro SMS de l'association",
        [Length(max=30)],
        description="Le numéro auquel les habitants écrivent, par exemple 06 12 34 56 78.",
    )
    phone = TelField(
        "Téléphone de l'association (facultatif)",
        [Length(max=30)],
        description="Donné aux habitants et aux conducteurs pour appeler, par exemple 05 65 12 34 56.",
    )
    rate_per_km = StringField(
        "Indemnité kilométrique des conducteurs (€ par km)",
        [required(), Length(max=12)],
        description="Entre 0 et 2 € ; par défaut 0,529, le barème fiscal des voitures de 3 CV et moins.",
        render_kw={"inputmode": "decimal"},
    )
    sms_retention_days = _days_field(
        "Conservation du texte des SMS (jours)", 7, 365, "ensuite le texte est effacé"
    )
    inactive_resident_retention_days = _days_field(
        "Conservation des fiches d'habitants sans contact (jours)",
        180,
        3650,
        "ensuite la fiche est anonymisée",
    )
    return_window_min = IntegerField(
        "Délai du retour (minutes)",
        [Optional()],
        description="Entre 30 et 240 minutes : l'habitant est rentré au plus tard ce délai "
        "après l'heure de retour demandée.",
        render_kw=numeric(30, 240),
    )
    road_speed_kmh = IntegerField(
        "Vitesse moyenne sur la route (km/h)",
        [Optional()],
        description="Entre 15 et 80 km/h ; sert à calculer les heures de passage. "
        "50 à la campagne, 25 à 30 en ville.",
        render_kw=numeric(15, 80),
    )
    totp_for_all_coordinators = BooleanField(
        "Second facteur obligatoire pour tous les coordinateurs",
        description="Il l'est toujours pour les administrateurs et pour qui voit les motifs des trajets.",
    )


def _line_fields() -> dict[str, object]:
    """The phone line's fields: the on-duty phone, masking, and opening/closing times per weekday."""
    fields: dict[str, object] = {
        "on_duty_phone": TelField(
            "Téléphone de permanence",
            [Length(max=30)],
            description="Pendant les horaires ci-dessous, « parler à une personne » sonne sur ce numéro, "
            "par exemple 06 12 34 56 78. En dehors, l'appelant laisse un message.",
        ),
        "number_masking": BooleanField(
            "Masquer le numéro des passagers aux conducteurs",
            description="Les conducteurs voient le numéro de l'association et la référence du trajet ; "
            "ils appellent l'association et tapent 1 pour joindre leur passager du jour.",
        ),
    }
    for day, name in enumerate(WEEKDAYS):
        hint = {"placeholder": "9:00", "inputmode": "numeric", "autocomplete": "off", "size": 5}
        fields[f"opens_{day}"] = StringField(
            f"{name.capitalize()} : ouverture", [Length(max=8)], render_kw=hint
        )
        fields[f"closes_{day}"] = StringField(
            f"{name.capitalize()} : fermeture", [Length(max=8)], render_kw={**hint, "placeholder": "17:00"}
        )
    return fields


#: The phone line (Réglages): built from a loop, one pair of times per weekday.
LineForm: type[BaseForm] = type("LineForm", (BaseForm,), _line_fields())


class NewAccountForm(BaseForm):
    email = EmailField("Adresse e-mail", [required(), Length(max=254)], render_kw={"autocomplete": "off"})
    role = SelectField("Rôle", choices=ROLE_CHOICES, default=Role.COORDINATOR.value, validate_choice=False)
    sees_health_data = BooleanField(
        "Peut voir le motif des trajets (données de santé)",
        description="Seulement si cette personne en a besoin pour organiser les trajets.",
    )
    password = new_password_field(
        "Mot de passe initial",
        "Au moins 10 caractères ; transmettez-le de vive voix, la personne pourra le changer.",
    )


class AccountForm(BaseForm):
    """One per account on the page: prefixed with the account's id so labels stay unique."""

    role = SelectField("Rôle", choices=ROLE_CHOICES, validate_choice=False)
    sees_health_data = BooleanField("Peut voir le motif des trajets (données de santé)")
