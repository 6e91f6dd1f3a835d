"""What needs, purposes, states and reasons are called on pages, exports and run sheets.

Written once so that a coordinator reads the same words on the board, in the registry, in
the figures for funders and on the driver's list of passengers.
"""

from __future__ import annotations

from carpool.models.messages import AttentionReason
from carpool.models.people import VettingStatus
from carpool.models.trips import Purpose

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
