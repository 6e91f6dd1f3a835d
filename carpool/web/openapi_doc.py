"""The OpenAPI 3.1 description of /api/v1 (served at /api/v1/openapi.json)."""

from __future__ import annotations

from typing import Any

from carpool.models import OFFER_FLEX_MIN, OFFER_MAX_DETOUR_MIN, OFFER_SEATS
from carpool.security import MAX_ID


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str = "OK") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*codes: int) -> dict[str, Any]:
    text = {
        400: "Corps JSON absent ou illisible",
        401: "Jeton manquant, inconnu, révoqué ou expiré",
        403: "Le compte n'est pas un compte conducteur",
        404: "Introuvable (ou appartenant à un autre conducteur)",
        409: "Refusé par l'état de la réservation",
        422: "Données à corriger (voir fields)",
    }
    return {str(code): _json(_ref("Error"), text[code]) for code in (401, *codes)}


def _body(schema: dict[str, Any]) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _id(name: str) -> dict[str, Any]:
    # Ids are 32-bit integers; a larger one answers 404 (the URL converter in carpool/security.py).
    schema = {"type": "integer", "minimum": 1, "maximum": MAX_ID}
    return {"name": name, "in": "path", "required": True, "schema": schema}


TIME = {"type": "string", "pattern": "^[0-2][0-9]:[0-5][0-9]$", "examples": ["08:30"]}
DATE = {"type": "string", "format": "date"}
DATE_TIME = {"type": "string", "format": "date-time"}


def document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Covoiturage solidaire – API conducteurs",
            "version": "1.0.0",
            "description": (
                "Les opérations de l'espace conducteurs en JSON. Authentification : en-tête "
                "`Authorization: Bearer <jeton>`, jeton créé sur la page « Mon compte » ; il expire "
                "(90 jours par défaut) et tous les jetons du compte sont révoqués à un changement de "
                "mot de passe, une réinitialisation ou une déconnexion. "
                'Heures locales (Europe/Paris). Erreurs : `{"error": "...", "status": N}`.'
            ),
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/me": {
                "get": {"summary": "Mon profil", "responses": {"200": _json(_ref("Driver")), **_errors(403)}}
            },
            "/places": {
                "get": {
                    "summary": "Communes et lieux connus (autocomplétion)",
                    "parameters": [{"name": "q", "in": "query", "schema": {"type": "string"}}],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {"places": {"type": "array", "items": {"type": "string"}}},
                            }
                        ),
                        **_errors(),
                    },
                }
            },
            "/offers": {
                "get": {
                    "summary": "Mes trajets proposés à venir",
                    "responses": {"200": _json(_list("offers", "Offer")), **_errors()},
                },
                "post": {
                    "summary": "Proposer un trajet (avec retour et répétition hebdomadaire éventuels)",
                    "requestBody": _body(_ref("OfferInput")),
                    "responses": {"201": _json(_list("offers", "Offer"), "Créé"), **_errors(400, 422)},
                },
            },
            "/offers/{offer_id}": {
                "parameters": [_id("offer_id")],
                "get": {
                    "summary": "Un de mes trajets",
                    "responses": {"200": _json(_ref("Offer")), **_errors(404)},
                },
                "patch": {
                    "summary": "Modifier un trajet (champs partiels)",
                    "description": "Avec des passagers, seuls places, détour et commentaire changent.",
                    "requestBody": _body(_ref("OfferPatch")),
                    "responses": {"200": _json(_ref("Offer")), **_errors(400, 404, 422)},
                },
            },
            "/offers/{offer_id}/cancel": {
                "parameters": [_id("offer_id")],
                "post": {
                    "summary": "Annuler un trajet ; passagers et association prévenus par SMS",
                    "requestBody": {
                        "required": False,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {"reason": {"type": "string", "maxLength": 300}},
                                }
                            }
                        },
                    },
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "offer": _ref("Offer"),
                                    "cancelled_matches": {"type": "array", "items": {"type": "integer"}},
                                },
                            }
                        ),
                        **_errors(404, 422),
                    },
                },
            },
            "/matches": {
                "get": {
                    "summary": "Passagers proposés et prévus (à venir)",
                    "responses": {"200": _json(_list("matches", "Passenger")), **_errors()},
                }
            },
            "/matches/{match_id}/accept": {
                "parameters": [_id("match_id")],
                "post": {
                    "summary": "Accepter un passager proposé",
                    "responses": {"200": _json(_ref("Passenger")), **_errors(404, 409)},
                },
            },
            "/matches/{match_id}/decline": {
                "parameters": [_id("match_id")],
                "post": {
                    "summary": "Refuser un passager proposé",
                    "responses": {"200": _json(_ref("Passenger")), **_errors(404, 409)},
                },
            },
            "/availability": {
                "get": {
                    "summary": "Mes disponibilités",
                    "responses": {"200": _json(_ref("Availability")), **_errors()},
                },
                "put": {
                    "summary": "Remplacer mes créneaux, rayon et nombre de trajets par semaine",
                    "requestBody": _body(_ref("AvailabilityInput")),
                    "responses": {"200": _json(_ref("Availability")), **_errors(400, 422)},
                },
            },
            "/time-off": {
                "post": {
                    "summary": "Ajouter une absence",
                    "requestBody": _body(_ref("TimeOff")),
                    "responses": {"201": _json(_ref("TimeOff"), "Créé"), **_errors(400, 422)},
                }
            },
            "/time-off/{time_off_id}": {
                "parameters": [_id("time_off_id")],
                "delete": {
                    "summary": "Supprimer une absence",
                    "responses": {"200": _json({"type": "object"}), **_errors(404)},
                },
            },
            "/mileage": {
                "get": {
                    "summary": "Relevé kilométrique du mois (trajets effectués)",
                    "parameters": [
                        {
                            "name": "month",
                            "in": "query",
                            "schema": {"type": "string", "pattern": "^[0-9]{4}-[0-9]{2}$"},
                        }
                    ],
                    "responses": {"200": _json(_ref("Mileage")), **_errors(422)},
                }
            },
            "/openapi.json": {
                "get": {"summary": "Ce document", "security": [], "responses": {"200": {"description": "OK"}}}
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": _schemas(),
        },
    }


def _list(key: str, item: str) -> dict[str, Any]:
    return {"type": "object", "properties": {key: {"type": "array", "items": _ref(item)}}, "required": [key]}


def _schemas() -> dict[str, Any]:
    integer = {"type": "integer"}
    text = {"type": "string"}
    nullable_text = {"type": ["string", "null"]}
    offer_fields = {
        "origin": {
            "type": "string",
            "description": "Commune (« Figeac », « 46100 Figeac », code INSEE) ou lieu connu",
        },
        "destination": {"type": "string"},
        "date": DATE,
        "time": TIME,
        "flex_min": {"type": "integer", "minimum": 0, "maximum": 120, "default": OFFER_FLEX_MIN},
        "seats": {"type": "integer", "minimum": 1, "maximum": 8, "default": OFFER_SEATS},
        "max_detour_min": {"type": "integer", "minimum": 0, "maximum": 60, "default": OFFER_MAX_DETOUR_MIN},
        "comment": {"type": "string", "maxLength": 500},
    }
    return {
        "Error": {
            "type": "object",
            "properties": {
                "error": text,
                "status": integer,
                "fields": {"type": "object", "additionalProperties": {"type": "string"}},
            },
            "required": ["error", "status"],
        },
        "Driver": {
            "type": "object",
            "properties": {
                "id": integer,
                "first_name": text,
                "last_name": text,
                "email": text,
                "phone": text,
                "home_commune_insee": text,
                "seats": integer,
                "wheelchair_accessible": {"type": "boolean"},
                "vetting": {"enum": ["pending", "vetted", "paused"]},
                "radius_km": integer,
                "max_trips_per_week": integer,
            },
        },
        "Offer": {
            "type": "object",
            "properties": {
                "id": integer,
                "origin": text,
                "destination": text,
                "depart_earliest": DATE_TIME,
                "depart_latest": DATE_TIME,
                "seats_total": integer,
                "seats_left": integer,
                "max_detour_min": integer,
                "status": {"enum": ["open", "cancelled", "done"]},
                "comment": text,
                "return_of_id": {"type": ["integer", "null"]},
                "series_id": nullable_text,
                "cancel_reason": nullable_text,
            },
        },
        "OfferInput": {
            "type": "object",
            "properties": {
                **offer_fields,
                "return_time": {**TIME, "description": "Heure de départ du retour, le même jour"},
                "repeat_days": {"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 6}},
                "repeat_until": {
                    **DATE,
                    "description": "Dernier jour de la répétition (12 semaines au plus)",
                },
            },
            "required": ["origin", "destination", "date", "time"],
        },
        "OfferPatch": {"type": "object", "properties": offer_fields},
        "Passenger": {
            "type": "object",
            "properties": {
                "match_id": integer,
                "status": {
                    "enum": [
                        "proposed",
                        "accepted",
                        "confirmed",
                        "declined",
                        "completed",
                        "cancelled",
                        "no_show",
                        "expired",
                    ]
                },
                "offer_id": {"type": ["integer", "null"]},
                "leg": {
                    "enum": ["out", "back"],
                    "description": "« out » : vers le rendez-vous ; « back » : le retour à domicile",
                },
                "first_name": text,
                "pickup_place": text,
                "dropoff_place": text,
                "pickup_at": DATE_TIME,
                "dropoff_at": DATE_TIME,
                "seats": integer,
                "needs": {"type": "array", "items": text},
                "phone": {
                    "type": ["string", "null"],
                    "description": "Seulement après acceptation ; le numéro de l'association si elle masque "
                    "les numéros des passagers (voir « reference »)",
                },
                "reference": {
                    "type": ["string", "null"],
                    "description": "Référence du trajet à donner en appelant l'association, quand elle "
                    "masque les numéros des passagers ; sinon null",
                },
            },
        },
        "Slot": {
            "type": "object",
            "properties": {
                "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
                "starts_at": TIME,
                "ends_at": TIME,
            },
            "required": ["weekday", "starts_at", "ends_at"],
        },
        "TimeOff": {
            "type": "object",
            "properties": {"id": integer, "first_day": DATE, "last_day": DATE},
            "required": ["first_day", "last_day"],
        },
        "AvailabilityInput": {
            "type": "object",
            "properties": {
                "slots": {"type": "array", "items": _ref("Slot"), "maxItems": 21},
                "radius_km": {"type": "integer", "minimum": 1, "maximum": 100},
                "max_trips_per_week": {"type": "integer", "minimum": 0, "maximum": 20},
            },
            "required": ["slots"],
        },
        "Availability": {
            "type": "object",
            "properties": {
                "slots": {"type": "array", "items": _ref("Slot")},
                "radius_km": integer,
                "max_trips_per_week": integer,
                "time_off": {"type": "array", "items": _ref("TimeOff")},
            },
        },
        "Mileage": {
            "type": "object",
            "properties": {
                "month": text,
                "rate_per_km": {
                    "type": "string",
                    "description": "Indemnité des conducteurs, euros par km (décimal)",
                },
                "total_km": text,
                "total_amount": {"type": "string", "description": "Indemnité du mois, euros (décimal)"},
                "total_contribution": {
                    "type": "string",
                    "deprecated": True,
                    "description": "Ancien nom de total_amount (même valeur)",
                },
                "choice": {
                    "type": ["string", "null"],
                    "enum": ["reimburse", "waive", None],
                    "description": "Remboursement ou abandon (don) du mois ; null : pas encore choisi",
                },
                "settled": {
                    "type": "boolean",
                    "description": "Mois réglé par l'association : le choix est arrêté",
                },
                "trips": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "date": DATE,
                            "passenger": text,
                            "route": text,
                            "kind": text,
                            "km": text,
                            "amount": text,
                            "contribution": {
                                "type": "string",
                                "deprecated": True,
                                "description": "Ancien nom de amount (même valeur)",
                            },
                        },
                    },
                },
            },
        },
    }
