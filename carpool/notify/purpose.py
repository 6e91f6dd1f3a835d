"""Why a resident travels, guessed from their words: funders count medical trips apart."""

from __future__ import annotations

import re

from unidecode import unidecode

_MEDICAL = re.compile(
    r"\b(hopital|clinique|medecin|docteur|dr|toubib|kine|kinesi\w*|dentiste|radio\w*|irm|scanner|analyses?|"
    r"labo\w*|prise de sang|infirmi\w*|ophtalmo\w*|cardio\w*|dialyse|chimio\w*|specialiste|consultation|"
    r"urgences?|pharmacie|podologue|orthophoniste|soins?)\b"
)
_SHOPPING = re.compile(r"\b(marche|courses?|supermarche|magasin|leclerc|intermarche|carrefour|super u)\b")
_ADMIN = re.compile(r"\b(mairie|prefecture|caf|cpam|secu|impots?|poste|banque|notaire|france services|msa)\b")
_SOCIAL = re.compile(r"\b(club|visite|famille|cimetiere|messe|eglise|anniversaire|repas|amis?|association)\b")

MEDICAL_PLACE_KINDS = frozenset({"hopital", "clinique", "pharmacie", "medecin"})


def guess_purpose(text: str, place_kind: str | None = None) -> str:
    """One of medical, shopping, administration, social, other."""
    if place_kind in MEDICAL_PLACE_KINDS:
        return "medical"
    folded = unidecode(text).lower()
    for purpose, pattern in (
        ("medical", _MEDICAL),
        ("shopping", _SHOPPING),
        ("administration", _ADMIN),
        ("social", _SOCIAL),
    ):
        if pattern.search(folded):
            return purpose
    if place_kind in {"marche"}:
        return "shopping"
    if place_kind in {"mairie", "administration"}:
        return "administration"
    return "other"
