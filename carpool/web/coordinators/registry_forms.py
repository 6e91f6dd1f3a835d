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
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import Length, Optional

from carpool.models import Role, VettingStatus
from carpool.services.association_settings import ROLE_LABELS
from carpool.services.places_registry import KINDS
from carpool.web.forms import BaseForm, required

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
    note = TextAreaField(
        "Note de vérification (facultatif)",
        [Length(max=1000, message="La note doit faire au plus 1000 caractères.")],
        description="Ce que vous avez vu ou convenu ; visible des seuls coordinateurs.",
    )


# --- places --------------------------------------------------------------------------------


class PlaceForm(BaseForm):
    name = StringField(
        "Nom du lieu",
        [required("Indiquez le nom du lieu."), Length(max=160)],
        description="Tel que les habitants le disent, par exemple « Centre hospitalier de Cahors ».",
    )
    kind = SelectField("Type de lieu", choices=list(KINDS.items()), validate_choice=False)
    commune = StringField(
        "Commune",
        [required("Indiquez la commune."), Length(max=160)],
        description="Son nom, avec le code postal si besoin : « Cahors » ou « 46000 Cahors ».",
        render_kw={"list": "communes", "autocomplete": "off"},
    )
    latitude = StringField(
        "Latitude (facultatif)",
        [Length(max=20)],
        description="En degrés décimaux, par exemple 44,4498. Vide : le centre de la commune.",
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )
    longitude = StringField(
        "Longitude (facultatif)",
        [Length(max=20)],
        description="En degrés décimaux, par exemple 1,4364.",
        render_kw={"inputmode": "decimal", "autocomplete": "off"},
    )


# --- settings and accounts -----------------------------------------------------------------

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
        "Indemnité kilométrique (€ par km)",
        [required(), Length(max=12)],
        description="Entre 0 et 2 €, par exemple 0,32.",
        render_kw={"inputmode": "decimal"},
    )
    sms_retention_days = IntegerField(
        "Conservation du texte des SMS (jours)",
        [required()],
        description="Entre 7 et 365 jours ; ensuite le texte est effacé.",
        render_kw={"min": 7, "max": 365, "inputmode": "numeric"},
    )
    inactive_resident_retention_days = IntegerField(
        "Conservation des fiches d'habitants sans contact (jours)",
        [required()],
        description="Entre 180 et 3650 jours ; ensuite la fiche est anonymisée.",
        render_kw={"min": 180, "max": 3650, "inputmode": "numeric"},
    )
    return_window_min = IntegerField(
        "Délai du retour (minutes)",
        [Optional()],
        description="Entre 30 et 240 minutes : l'habitant est rentré au plus tard ce délai "
        "après l'heure de retour demandée.",
        render_kw={"min": 30, "max": 240, "inputmode": "numeric"},
    )
    totp_for_all_coordinators = BooleanField(
        "Second facteur obligatoire pour tous les coordinateurs",
        description="Il l'est toujours pour les administrateurs et pour qui voit les motifs des trajets.",
    )


class NewAccountForm(BaseForm):
    email = EmailField("Adresse e-mail", [required(), Length(max=254)], render_kw={"autocomplete": "off"})
    role = SelectField("Rôle", choices=ROLE_CHOICES, default=Role.COORDINATOR.value, validate_choice=False)
    sees_health_data = BooleanField(
        "Peut voir le motif des trajets (données de santé)",
        description="Seulement si cette personne en a besoin pour organiser les trajets.",
    )
    password = PasswordField(
        "Mot de passe initial",
        [required(), Length(max=200)],
        description="Au moins 10 caractères ; transmettez-le de vive voix, la personne pourra le changer.",
        render_kw={"autocomplete": "new-password"},
    )


class AccountForm(BaseForm):
    """One per account on the page: prefixed with the account's id so labels stay unique."""

    role = SelectField("Rôle", choices=ROLE_CHOICES, validate_choice=False)
    sees_health_data = BooleanField("Peut voir le motif des trajets (données de santé)")
