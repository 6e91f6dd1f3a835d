"""The words people type, read the same way by the web, the SMS channel and the CLI.

Pure functions (no Flask, no database): place names folded for comparison, French mobile
numbers parsed and shown, e-mail addresses checked.
"""

from __future__ import annotations

import functools
import re
from decimal import Decimal

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

#: French mobiles (06, 07) in E.164.
FRENCH_MOBILE = re.compile(r"^\+33[67]\d{8}$")


def is_french_mobile(phone: str) -> bool:
    """True for +336… and +337… (9 digits after +33); false for landlines, 08/089, short codes, abroad."""
    return FRENCH_MOBILE.match(phone) is not None


def normalise_mobile(text: str) -> str:
    """A French mobile number as people write it → E.164 (+336…/+337…); raises InvalidInput.

    Accepts "06 12 34 56 78", "06.12.34.56.78", "+33 6 12 34 56 78", "+33 (0)6…", "0033 6…".
    Landlines are refused: the service talks to drivers by SMS.
    """
    raw = text.strip()
    digits = re.sub(r"\D", "", raw.replace("(0)", ""))
    if raw.startswith("+"):
        national = digits[2:] if digits.startswith("33") else None
    elif digits.startswith("0033"):
        national = digits[4:]
    elif digits.startswith("0") and len(digits) == 10:
        national = digits[1:]
    else:
        national = None
    if national is None or len(national) != 9:
        raise InvalidInput.on("phone", "Indiquez un numéro de portable français, par exemple 06 12 34 56 78.")
    e164 = "+33" + national
    if not is_french_mobile(e164):
        raise InvalidInput.on(
            "phone", "Ce numéro n'est pas un portable : indiquez un numéro en 06 ou 07 pour recevoir les SMS."
        )
    return e164


def french_number(text: str) -> str | None:
    """Any French number (01 to 09, landline or mobile) as people write it → E.164, or None.

    Accepts the spellings of :func:`normalise_mobile`; used for the numbers people
    call (the association, its on-duty coordinator) and for callers' numbers.
    """
    raw = text.strip()
    digits = re.sub(r"\D", "", raw.replace("(0)", ""))
    if raw.startswith("+33") or digits.startswith("0033"):
        digits = "0" + digits[4 if digits.startswith("0033") else 2 :]
    if len(digits) != 10 or not digits.startswith("0") or digits[1] == "0":
        return None
    return "+33" + digits[1:]


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
