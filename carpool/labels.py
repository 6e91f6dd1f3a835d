"""What needs, purposes, states and reasons are called on pages, exports and run sheets.

Written once so that a coordinator reads the same words on the board, in the registry, in
the figures for funders and on the driver's list of passengers.
"""

from __future__ import annotations

from carpool.models.messages import AttentionReason
from carpool.models.people import VettingStatus
from carpool.models.trips import Purpose
from carpool.models.tus import TusBasis

#: A resident's needs (``Resident.needs`` codes), in the words a driver understands.
NEEDS: dict[str, str] = {
    "wheelchair": "fauteuil roulant",
    "walker": "déambulateur",
    "boarding_help": "aide pour monter en voiture",
}

#: Trip purposes in the order funders read them; "autre" keeps the columns adding up.
PURPOSES: dict[Purpose, str] = {
    Purpose.MEDICAL: "santé",
    Purpose.SHOPPING: "courses",
    Purpose.ADMINISTRATION: "démarches administratives",
    Purpose.SOCIAL: "vie sociale",
    Purpose.OTHER: "autre",
}

#: A driver's vetting state, as the registry and the driver's history show it.
VETTING_STATUSES: dict[VettingStatus, str] = {
    VettingStatus.PENDING: "À vérifier",
    VettingStatus.VETTED: "Vérifié",
    VettingStatus.PAUSED: "En pause",
}

#: Why a text waits for a person on the coordinators' desk.
ATTENTION_REASONS: dict[AttentionReason, str] = {
    AttentionReason.NOT_UNDERSTOOD: "message non compris",
    AttentionReason.UNKNOWN_SENDER: "numéro inconnu",
    AttentionReason.ASKS_CALL: "demande à être rappelé(e)",
    AttentionReason.BAD_TRIP: "le trajet s'est mal passé",
}

#: Why a resident may be carried (transport d'utilité sociale, R3133-1 of the Code des transports).
TUS_BASES: dict[TusBasis, str] = {
    TusBasis.RURAL: "habite une commune rurale",
    TusBasis.SMALL_URBAN: "habite une unité urbaine de moins de 12 000 habitants",
    TusBasis.RESOURCES: "condition de ressources",
}

#: The resources criterion: CSS (ex-CMU-C) or resources under its ceiling, or one of the benefits
#: listed by R3133-1 2° (see docs/law.md).
TUS_BENEFITS: dict[str, str] = {
    "css": "complémentaire santé solidaire (CSS, ex-CMU-C)",
    "css_plafond": "ressources sous le plafond de la CSS",
    "rsa": "revenu de solidarité active (RSA)",
    "aspa": "allocation de solidarité aux personnes âgées (ASPA)",
    "asi": "allocation supplémentaire d'invalidité (ASI)",
    "aah": "allocation aux adultes handicapés (AAH)",
    "ass": "allocation de solidarité spécifique (ASS)",
    "ada": "allocation pour demandeur d'asile (ADA)",
    "veuvage": "allocation veuvage",
    "autre": "autre prestation de la liste (R3133-1)",
}
