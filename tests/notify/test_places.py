"""Fuzzy commune and named-place lookup, and its guards against ordinary words."""

from __future__ import annotations

import pytest

from carpool.gazetteer import read_communes
from carpool.notify.places import NEVER, Gazetteer, lookup
from carpool.text import fold


def _found(gazetteer: Gazetteer, text: str) -> list[tuple[str, str | None]]:
    return [(m.insee, m.place) for m in gazetteer.find(fold(text).split())]


def test_fold() -> None:
    assert fold("Puy-l'Évêque") == "puy l eveque"
    assert fold("  Cœur de Causse ") == "coeur de causse"


def test_every_commune_is_found_by_its_official_name(gazetteer: Gazetteer) -> None:
    for commune in read_communes():
        if fold(commune.name) in NEVER:
            continue
        found = _found(gazetteer, f"rdv à {commune.name} mardi")
        assert found and found[0][0] == commune.insee, commune.name


@pytest.mark.parametrize(
    ("text", "insee"),
    [
        ("rdv a cahor jeudi", "46042"),
        ("RDV FIGEACK VENDREDI", "46102"),
        ("aller a figeak", "46102"),
        ("a st cere", "46251"),
        ("a St-Céré", "46251"),
        ("ste colombe mardi", "46260"),
        ("rdv argentueil jeudi", "95018"),
        ("aller a pontoize", "95500"),
        ("souilac samedi", "46309"),
        ("cergi demain", "95127"),
        ("a lisle adam", "95313"),
        ("à l'Isle-Adam", "95313"),
        ("a isle adam", "95313"),
        ("puy leveque", "46231"),
        ("montcuq", "46201"),
        ("cormeilles", "95176"),  # the larger of the two Cormeilles
        ("labastide murat", "46138"),  # merged into Cœur de Causse
        ("saint ouen l aumone", "95572"),
        ("herblay", "95306"),
        ("beaumont sur oise", "95052"),
        ("au vignon en quercy", "46232"),
        ("à Espère", "46095"),  # a common word, but after "à"
        ("a lacave", "46144"),
    ],
)
def test_finds_commune(gazetteer: Gazetteer, text: str, insee: str) -> None:
    found = _found(gazetteer, text)
    assert found and found[0][0] == insee


@pytest.mark.parametrize(
    "text",
    [
        "j'espère que vous allez bien",
        "je vais au bourg",
        "le marché bio",
        "il pleut dans le Lot",
        "je suis en deuil",
        "une bouteille de champagne",
        "comment allez vous",
        "les us et coutumes",
        "ma fille est à la cave",
        "bonjour cergi",  # a misspelling needs a trip context
        "un coup de gourdin",
        "la ruelle",
    ],
)
def test_ordinary_words_are_not_communes(gazetteer: Gazetteer, text: str) -> None:
    assert _found(gazetteer, text) == []


@pytest.mark.parametrize(
    ("text", "insee", "place"),
    [
        ("rdv a l hopital de cahors", "46042", "Centre hospitalier de Cahors"),
        ("rdv a lhopital de figeac", "46102", "Centre hospitalier de Figeac"),
        ("RDV GOURDON HOPITAL", "46127", "Centre hospitalier de Gourdon"),
        ("a gramat a l hopital", "46128", "Hôpital de Gramat"),
        ("ch de cahors", "46042", "Centre hospitalier de Cahors"),
        ("la polyclinique du quercy", "46042", "Polyclinique du Quercy"),
        ("CH René Dubos", "95500", "Centre hospitalier René-Dubos (Pontoise)"),
        ("centre hospitalier d'Argenteuil", "95018", "Centre hospitalier d'Argenteuil"),
        ("la préfecture du Lot", "46042", "Préfecture du Lot"),
        ("marché bio de Cahors", "46042", "Marché de Cahors (place Chapou)"),
        ("Cergy préfecture", "95127", None),  # no such place in the registry
        ("gare de Figeac", "46102", None),
    ],
)
def test_named_places(gazetteer: Gazetteer, text: str, insee: str, place: str | None) -> None:
    assert _found(gazetteer, text)[0] == (insee, place)


def test_a_kind_word_alone_names_no_commune(gazetteer: Gazetteer) -> None:
    assert _found(gazetteer, "rdv à l'hôpital mardi") == []


def test_lookup_convenience() -> None:
    match = lookup("Bjr, rdv à Saint-Céré")
    assert match is not None and match.name == "Saint-Céré"
    assert lookup("rien") is None
