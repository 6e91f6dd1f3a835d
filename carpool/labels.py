"""What residents' needs and trips' purposes are called on pages, exports and run sheets.

Written once so that a coordinator reads the same words on the board, in the registry, in
the figures for funders and on the driver's list of passengers.
"""

from __future__ import annotations

from carpool.models import Purpose

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
