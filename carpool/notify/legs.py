"""Which leg of a round trip a resident's words are about, and whether they need no way back.

Read beside :func:`carpool.notify.parse.parse_message` (which says *what* is asked:
cancel, a return time): "annuler le retour" cancels the way back only, "ma fille
me ramène" is a one-way trip accepted by the resident.
"""

from __future__ import annotations

import re
from typing import Literal

from carpool.notify.parse import normalize

_BACK = re.compile(r"\b(?:retour|revenir|rentrer|ramen\w*|reven\w*)\b")
_OUT = re.compile(r"\b(?:aller|l aller|emmener|emmene|aller simple)\b")
#: Someone else brings the resident home, or they need no way back.
_NO_WAY_BACK = re.compile(
    r"\b(?:me|nous) (?:ramen\w*|raccompagn\w*|recuper\w*)\b|"
    r"\b(?:pas|plus) (?:besoin )?(?:de |d )?retour\b|\bsans (?:le )?retour\b|"
    r"\b(?:on|quelqu un) (?:viendra|vient|va venir) me (?:chercher|recuperer)\b|"
    r"\bje (?:rentre|rentrerai) (?:seul\w*|avec|par|en)\b|\baller simple\b"
)
#: A person, not the service, doing it: "ma fille me ramène", "mon voisin me ramènera".
_SOMEONE = re.compile(r"\b(?:ma|mon|mes|notre|nos|un|une) \w+ (?:me|nous) (?:ramen|raccompagn|recuper)\w*")


def leg_named(text: str) -> Literal["out", "back"] | None:
    """ "back" when the text is about the way home, "out" about the way there, None for both or neither."""
    norm = " ".join(normalize(text))
    back, out = bool(_BACK.search(norm)), bool(_OUT.search(norm))
    if back == out:
        return None
    return "back" if back else "out"


def needs_no_way_back(text: str) -> bool:
    """True for "ma fille me ramène", "pas besoin de retour", "je rentre avec mon fils"."""
    norm = " ".join(normalize(text))
    if re.search(r"\bpas (?:de |d )?probleme\b", norm) and not _SOMEONE.search(norm):
        return False
    return bool(_SOMEONE.search(norm) or _NO_WAY_BACK.search(norm))
