"""Forms of the residents' registry; business checks (phone, commune, duplicates) are the service's."""

from __future__ import annotations

from wtforms import BooleanField, DateField, HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.validators import AnyOf, Length, Optional

from carpool.labels import TUS_BASES, TUS_BENEFITS
from carpool.services.eligibility import BasisInput
from carpool.services.residents import CHANNEL_CHOICES, NOTES_MAX, ResidentInput
from carpool.web.forms import BaseForm, at_most, commune_field, mobile_field, required


class ResidentForm(BaseForm):
    first_name = StringField(
        "Prénom", [required("Indiquez le prénom."), Length(max=80)], render_kw={"autocomplete": "off"}
    )
    last_name = StringField(
        "Nom", [required("Indiquez le nom."), Length(max=80)], render_kw={"autocomplete": "off"}
    )
    phone = mobile_field(
        "Téléphone",
        "Portable ou fixe, par exemple 06 12 34 56 78 ou 05 65 12 34 56.",
        "Indiquez le numéro de téléphone.",
        autocomplete="off",
        inputmode="tel",
    )
    channel = RadioField(
        "Comment la prévenir",
        [Optional()],
        choices=[("", "Selon le numéro : appels pour un fixe, SMS pour un portable"), *CHANNEL_CHOICES],
        default="",
        description="Propositions, confirmations et rappels arrivent par ce moyen.",
    )
    home_commune = commune_field(
        "Commune de domicile", "« Cajarc » ou « Cajarc (46160) »", "Indiquez la commune."
    )
    uses_wheelchair = BooleanField("Se déplace en fauteuil roulant")
    uses_walker = BooleanField("Utilise un déambulateur")
    needs_help_boarding = BooleanField("A besoin d'aide pour monter en voiture")
    consent = BooleanField(
        "La personne accepte que l'association garde ces informations pour organiser ses trajets",
        description="Demandez-le-lui de vive voix et cochez seulement si elle est d'accord.",
    )
    notes = TextAreaField(
        "Notes (facultatif)",
        [at_most(NOTES_MAX, "Les notes", "doivent")],
        description="Ce qui aide pour les trajets (accès, étage, chien…). Pas d'information médicale ici.",
    )

    def to_input(self) -> ResidentInput:
        return ResidentInput(
            first_name=self.first_name.data or "",
            last_name=self.last_name.data or "",
            phone=self.phone.data or "",
            channel=self.channel.data or "",
            home_commune=self.home_commune.data or "",
            uses_wheelchair=bool(self.uses_wheelchair.data),
            uses_walker=bool(self.uses_walker.data),
            needs_help_boarding=bool(self.needs_help_boarding.data),
            consent=bool(self.consent.data),
            notes=self.notes.data or "",
        )


class OptOutForm(BaseForm):
    """Stop (``1``) or resume (``0``) the SMS, as the resident asked."""

    opted_out = HiddenField(validators=[AnyOf(["0", "1"])])


class EraseForm(BaseForm):
    confirm = BooleanField(
        "Je confirme : la personne a demandé l'effacement de ses données, qui sera définitif",
        [required("Cochez la case pour confirmer l'effacement.")],
    )


class EligibilityForm(BaseForm):
    """A resident's basis for transport d'utilité sociale; the service checks dates and choices."""

    basis = RadioField(
        "Pourquoi cette personne peut être transportée",
        choices=[("", "Pas encore vérifié"), *((b.value, label) for b, label in TUS_BASES.items())],
        default="",
        validate_choice=False,
    )
    benefit = SelectField(
        "Prestation ou ressources vues (condition de ressources seulement)",
        choices=[("", "— choisir —"), *TUS_BENEFITS.items()],
        default="",
        validate_choice=False,
    )
    proof_seen_on = DateField(
        "Justificatif vu le", [Optional()], description="Attestation de la CAF, de la caisse de retraite…"
    )
    renew_on = DateField("À revoir le", [Optional()], description="Au plus tard un an après, en général.")

    def to_input(self) -> BasisInput:
        return BasisInput(
            basis=self.basis.data or "",
            benefit=self.benefit.data or "",
            proof_seen_on=self.proof_seen_on.data,
            renew_on=self.renew_on.data,
        )
