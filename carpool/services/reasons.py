"""Why a request has no ride, in the coordinators' words (the matcher's reasons and the lifecycle's)."""

from __future__ import annotations

REASONS: dict[str, str] = {
    "no_offer": "aucun trajet ni bénévole à proximité",
    "no_offer_in_time_window": "aucun trajet dans le créneau",
    "detour_too_long": "détour trop long",
    "no_seat": "plus assez de places",
    "needs_not_met": "véhicule non adapté aux besoins",
    "outside_volunteer_radius": "hors du rayon des bénévoles",
    "no_volunteer_slot": "aucun bénévole disponible à cette heure",
    "volunteer_trip_cap_reached": "bénévoles déjà au maximum de trajets",
    "taken_by_other_request": "le trajet choisi a été pris par un autre passager",
    "proposal_expired": "proposition restée sans réponse",
    "declined_by_resident": "le passager a refusé les propositions",
    "no_match_in_time": "aucune solution trouvée à temps",
    "no_return": "aller trouvé, retour manquant",
    "unknown": "raison non enregistrée",
}


def reason_label(reason: str | None) -> str:
    """A sentence for any reason code; unknown codes are shown as they are rather than hidden."""
    if not reason:
        return "pas encore examinée"
    return REASONS.get(reason, reason)


def near_miss_label(reason: str, missed_by_min: float) -> str:
    """How far a near-miss is from working, e.g. « arrive 10 min trop tard »."""
    minutes = round(missed_by_min)
    if reason == "no_offer_in_time_window":
        return f"hors du créneau de {minutes} min"
    if reason == "detour_too_long":
        return f"détour plus long de {minutes} min que ce que le conducteur accepte"
    return reason_label(reason)
