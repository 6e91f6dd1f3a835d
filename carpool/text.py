"""The words people type, read the same way by the web, the SMS channel and the CLI.

Pure functions (no Flask, no database): place names folded for comparison, French mobile
(mobile and landline) numbers parsed, typed and shown, e-mail addresses checked.
"""

from __future__ import annotations

import enum
import functools
import re
from decimal import Decimal

import phonenumbers
from phonenumbers import PhoneNumberFormat, PhoneNumberType
from unidecode import unidecode

from carpool.errors import InvalidInput

# --- place names ---------------------------------------------------------------------------

#: Abbreviations of saints' names, written out so "St-Céré" and "Saint-Céré" fold alike.
SAINT_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints"}
_SAINT = re.compile(r"\b(sts|st|ste)\b")


@functools.lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """Case-, accent-, hyphen- and apostrophe-insensitive form of a place name.

    "Puy-l'Évêque" → "puy l eveque", "St-Céré" → "saint cere". Cached: the same names
    (communes, places, residents) are folded over and over.
    """
    text = _SAINT.sub(lambda found: SAINT_ABBREVIATIONS[found[1]], unidecode(text).lower())
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


# --- phone numbers -------------------------------------------------------------------------
# libphonenumber (``phonenumbers``) knows every French numbering plan: what is a mobile,
# a landline (01-05, 09), a premium or a short number. One home for these rules.

MOBILE_PROBLEM = "Indiquez un numéro de portable français, par exemple 06 12 34 56 78."
PHONE_PROBLEM = "Indiquez un numéro de téléphone français, par exemple 05 65 12 34 56 ou 06 12 34 56 78."
NOT_A_MOBILE = "Ce numéro n'est pas un portable : indiquez un numéro en 06 ou 07 pour recevoir les SMS."


#: Blocks ARCEP keeps for fiction (films, demos, tests): never assigned, so libphonenumber calls
#: them invalid; typed here by their prefix. National significant digits, without the 0.
FICTION_BLOCKS = {"6399": "mobile", "19900": "landline", "26191": "landline", "35301": "landline"}
FICTION_BLOCKS |= {"46571": "landline", "53649": "landline", "97598": "landline"}


class PhoneKind(enum.Enum):
    MOBILE = "mobile"
    LANDLINE = "landline"  # fixed lines and the 09 "box" numbers: calls, no SMS


def _parsed(text: str) -> phonenumbers.PhoneNumber | None:
    """A valid French number as people write it, or None (foreign, premium, short, malformed)."""
    raw = text.strip().replace("(0)", "")
    if not raw or len(raw) > 40:
        return None
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    try:
        number = phonenumbers.parse(raw, "FR")
    except phonenumbers.NumberParseException:
        return None
    if number.country_code != 33:
        return None
    if phonenumbers.is_valid_number(number) or _fiction(number) is not None:
        return number
    return None


def _fiction(number: phonenumbers.PhoneNumber) -> PhoneKind | None:
    national = str(number.national_number)
    if len(national) != 9:
        return None
    kind = next((kind for block, kind in FICTION_BLOCKS.items() if national.startswith(block)), None)
    return PhoneKind(kind) if kind else None


@functools.lru_cache(maxsize=4096)
def phone_kind(phone: str) -> PhoneKind | None:
    """Mobile or landline for a French number in any usual form; None for anything else."""
    number = _parsed(phone)
    if number is None:
        return None
    if (fiction := _fiction(number)) is not None:
        return fiction
    kind = phonenumbers.number_type(number)
    if kind == PhoneNumberType.MOBILE:
        return PhoneKind.MOBILE
    if kind in (PhoneNumberType.FIXED_LINE, PhoneNumberType.FIXED_LINE_OR_MOBILE, PhoneNumberType.VOIP):
        return PhoneKind.LANDLINE
    return None


def is_french_mobile(phone: str) -> bool:
    """True for +336… and +337… (French mobiles); false for landlines, 08/089, short codes, abroad."""
    return phone.startswith("+33") and phone_kind(phone) is PhoneKind.MOBILE


def normalise_phone(text: str) -> str:
    """A French mobile or landline as people write it → E.164 (+33…); raises InvalidInput.

    Accepts "05 65 12 34 56", "06.12.34.56.78", "+33 6 12 34 56 78", "+33 (0)6…", "0033 6…".
    Premium (08…), short and foreign numbers are refused: the service calls and texts French lines.
    """
    number = _parsed(text)
    if number is None or phone_kind(text) is None:
        raise InvalidInput.on("phone", PHONE_PROBLEM)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def normalise_mobile(text: str) -> str:
    """A French mobile number as people write it → E.164 (+336…/+337…); raises InvalidInput.

    Landlines are refused: drivers and SMS-only people are reached by SMS.
    """
    number = _parsed(text)
    if number is None:
        raise InvalidInput.on("phone", MOBILE_PROBLEM)
    if phone_kind(text) is not PhoneKind.MOBILE:
        raise InvalidInput.on("phone", NOT_A_MOBILE)
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def french_number(text: str) -> str | None:
    """Any French mobile or landline as people write it → E.164, or None: the forgiving
    :func:`normalise_phone`, for the numbers people call (the association, its on-duty
    coordinator) and for callers' numbers."""
    try:
        return normalise_phone(text)
    except InvalidInput:
        return None


def same_number(a: str | None, b: str | None) -> bool:
    """Whether two numbers, written any way, are the same French line (compared on 9 digits)."""
    digits_a, digits_b = (re.sub(r"\D", "", n or "")[-9:] for n in (a, b))
    return len(digits_a) == 9 and digits_a == digits_b


def display_phone(e164: str) -> str:
    """+33612345678 → 06 12 34 56 78 (French habit); other numbers unchanged."""
    if e164.startswith("+33") and len(e164) == 12:
        national = "0" + e164[3:]
        return " ".join(national[i : i + 2] for i in range(0, 10, 2))
    return e164


# --- e-mail addresses ----------------------------------------------------------------------

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
EMAIL_PROBLEM = "Indiquez une adresse e-mail valide, par exemple prenom.nom@exemple.fr."


def is_email(address: str) -> bool:
    """Shaped like an address (something@domain.tld) and no longer than SMTP allows."""
    return _EMAIL.match(address) is not None and len(address) <= 254


def euros(amount: Decimal | int | float) -> str:
    """ "1 234,50 €": the French way, a plain space (GSM-7 has no narrow one)."""
    return f"{Decimal(str(amount)):,.2f}".replace(",", " ").replace(".", ",") + " €"


def km_text(km: Decimal | float) -> str:
    """ "12,3" (kilometres to a tenth, decimal comma)."""
    return f"{Decimal(str(km)):,.1f}".replace(",", " ").replace(".", ",")
