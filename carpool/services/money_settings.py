"""The association's money settings: residents' participation and its identity on receipts.

Separate from the general settings (``association_settings``): a treasurer's
concerns, one form, audited as ``association.money_changed``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy.orm import Session

from carpool.errors import InvalidInput
from carpool.models import Association
from carpool.services.association_settings import apply_changes
from carpool.services.participation import LEGAL_CAP_PER_KM, parse_price

#: SIREN: 9 digits; RNA (répertoire national des associations): W and 9 digits.
LEGAL_NUMBER = re.compile(r"(\d{9}|W\d{9})")


@dataclass(frozen=True)
class MoneyInput:
    participation_enabled: bool
    participation_per_km: str
    legal_address: str
    legal_number: str
    legal_object: str


def update_money_settings(
    session: Session, association: Association, data: MoneyInput, *, actor: str
) -> None:
    """Check everything, then change it all and audit what changed; InvalidInput changes nothing."""
    errors: dict[str, str] = {}
    price = parse_price(
        data.participation_per_km or "0",
        "participation_per_km",
        cap=LEGAL_CAP_PER_KM,
        example="0,20",
        errors=errors,
    )
    if data.participation_enabled and price == 0:
        errors["participation_per_km"] = "Indiquez le montant par km demandé aux habitants, par exemple 0,20."
    number = "".join(data.legal_number.split()).upper()
    if number and not LEGAL_NUMBER.fullmatch(number):
        errors["legal_number"] = (
            "Indiquez le numéro SIREN (9 chiffres) ou le numéro RNA (W suivi de 9 chiffres)."
        )
    if len(data.legal_address) > 400 or len(data.legal_object) > 1000:
        errors[""] = "Le texte est trop long."
    if errors:
        raise InvalidInput(errors)
    wanted = {
        "participation_enabled": data.participation_enabled,
        "participation_per_km": price,
        "legal_address": data.legal_address.strip(),
        "legal_number": number,
        "legal_object": data.legal_object.strip(),
    }
    apply_changes(session, association, wanted, actor=actor, action="association.money_changed")
