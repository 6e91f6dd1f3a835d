"""Intent and entity extraction: unit rules, the corpus, and robustness properties."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from carpool.notify.parse import INTENTS, normalize, opt_out_intent, parse_message
from carpool.notify.places import Gazetteer

MONDAY = date(2026, 11, 23)
FIELDS = ("intent", "destination", "origin", "date", "arrive_by", "depart_after", "return_time", "passengers")
THRESHOLDS = {
    "intent": 0.97,
    "destination": 0.95,
    "origin": 0.95,
    "date": 0.95,
    "times": 0.95,
    "passengers": 0.95,
}
HHMM = re.compile(r"^(?:[01]\d|2[0-3]):[0-5]\d$")


def parse(text: str, today: date = MONDAY, home: str | None = None) -> dict[str, Any]:
    return parse_message(text, today, home).to_dict()


def test_issue_example() -> None:
    result = parse("Bjr c Mme Delpech jai rdv a lhopital de cahors mardi a 10h")
    assert result["intent"] == "request"
    assert result["destination"] == "46042"
    assert result["destination_place"] == "Centre hospitalier de Cahors"
    assert result["date"] == "2026-11-24"
    assert result["arrive_by"] == "10:00"
    assert result["origin"] is None and result["passengers"] == 1


def test_normalize_expands_sms_shorthand() -> None:
    expected = ["bonjour", "j", "ai", "rdv", "demain", "pour", "l", "hopital", "?"]
    assert normalize("Bjr, jai rdv dmain pr l'hôpital ?") == expected
    assert normalize("c Mme X")[:2] == ["c", "est"]
    assert normalize("c'est")[:2] == ["c", "est"]


@pytest.mark.parametrize(
    ("text", "intent", "choice"),
    [
        ("oui merci", "accept", None),
        ("Oui", "accept", None),
        ("ok", "accept", None),
        ("d'accord", "accept", None),
        ("1", "accept", 1),
        ("2", "accept", 2),
        ("3", "accept", 3),
        ("oui le 2", "accept", 2),
        ("non", "decline", None),
        ("non merci", "decline", None),
        ("annuler", "cancel", None),
        ("annulez", "cancel", None),
        ("je ne peux plus venir", "cancel", None),
        ("aide", "help", None),
        ("?", "help", None),
        ("STOP", "stop", None),
        ("stop sms", "stop", None),
        ("arret", "stop", None),
        ("Arrêt", "stop", None),
        ("START", "start", None),
        ("reprendre", "start", None),
        ("merci", "unknown", None),
        ("", "unknown", None),
        ("Je voudrais aller à Cahors", "request", None),
        ("besoin d'une voiture demain", "request", None),
    ],
)
def test_intents(text: str, intent: str, choice: int | None) -> None:
    result = parse(text)
    assert (result["intent"], result["choice"]) == (intent, choice)


# Issue 16: how elderly residents and their relatives really answer (not the hold-out's messages).
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("ouiiiii", "accept"),
        ("OUIII MERCI", "accept"),
        ("okkkk", "accept"),
        ("wi merci", "accept"),
        ("oui bien sûr", "accept"),
        ("très bien merci beaucoup", "accept"),
        ("dacor", "accept"),
        ("ça roule", "accept"),
        ("nonnnn merci", "decline"),
        ("nn", "decline"),
        ("c'est pas possible ce jour là", "decline"),
        ("ça m'arrange pas", "decline"),
        ("non pas cette fois merci", "decline"),
        ("je viendrai plus", "cancel"),
        ("on ne viendra pas vendredi", "cancel"),
        ("j'irai plus chez la kiné", "cancel"),
        ("pas la peine de passer me chercher jeudi", "cancel"),
        ("anulé", "cancel"),
        ("annuller le rdv svp", "cancel"),
        ("comment je fais ?", "help"),
        ("je ne sais pas quoi répondre", "help"),
        ("que dois-je faire ?", "help"),
        ("vous pouvez m'expliquer ?", "help"),
        ("stoppez les textos", "stop"),
        ("merci de ne plus m'envoyer de messages", "stop"),
        ("je veux plus de sms", "stop"),
        ("je voudrais recevoir de nouveau vos sms", "start"),
        ("j'ai envoyé stop par erreur", "start"),
        ("startttt", "start"),
        ("réactivez mes sms svp", "start"),
        ("je veux me réinscrire", "start"),
    ],
)
def test_forgiving_words(text: str, intent: str) -> None:
    assert parse(text)["intent"] == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # A companion who cannot drive is not a cancelled trip.
        ("mon fils ne pourra pas m'emmener mardi, pouvez vous me conduire a Cahors pour 10h", "request"),
        ("je vous attends à l'arrêt de bus, envoyez-moi un message", "unknown"),
        ("j'ai répondu oui par erreur", "unknown"),
        ("je ne vais pas bien", "unknown"),
        ("Merci, j'ai été bien aidée", "unknown"),
        ("je suis attendu à 10h", "unknown"),
        # Company, not the trip: a cancel by SMS is immediate, so it must not be read here.
        ("ma fille ne viendra pas avec moi, rdv Figeac jeudi 14h", "request"),
        ("je ne viendrai pas seule, mon mari m'accompagne", "unknown"),
    ],
)
def test_forgiving_words_stay_in_their_place(text: str, intent: str) -> None:
    assert parse(text)["intent"] == intent


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("merci de ne plus m'envoyer de sms", "stop"),
        ("stopppp", "stop"),
        ("je souhaite recevoir à nouveau les messages", "start"),
        ("je veux me réinscrire", "start"),
        ("rdv mardi à Cahors", None),
    ],
)
def test_opt_out_for_any_sender_reads_sentences(text: str, expected: str | None) -> None:
    assert opt_out_intent(text) == expected


def test_choice_is_not_a_date() -> None:
    assert parse("oui le 2")["date"] is None
    assert parse("rdv le 2 à Cahors")["date"] == "2026-12-02"


@pytest.mark.parametrize(
    ("text", "arrive", "depart", "back"),
    [
        ("rdv à 10h à Cahors", "10:00", None, None),
        ("rendez-vous 10h Cahors", "10:00", None, None),
        ("je dois y être à 10h à Cahors", "10:00", None, None),
        ("consultation à 10h à Figeac", "10:00", None, None),
        ("partir vers 9h pour Cahors", None, "09:00", None),
        ("départ 9h pour Cahors", None, "09:00", None),
        ("venir me prendre à 9h pour Gramat", None, "09:00", None),
        ("rdv Cahors 10h et retour vers 16h", "10:00", None, "16:00"),
        ("rdv Cahors 10h et revenir à 16h", "10:00", None, "16:00"),
        ("rdv Cahors 10h, retour à 16h", "10:00", None, "16:00"),
        ("je voudrais aller à Cahors mardi à 9h", None, "09:00", None),  # no cue, no appointment
        ("je dois aller à Cahors mardi à 9h", "09:00", None, None),  # an obligation: be there
        ("aller-retour Cahors rdv 10h", "10:00", None, None),
    ],
)
def test_time_roles(text: str, arrive: str | None, depart: str | None, back: str | None) -> None:
    result = parse(text)
    assert (result["arrive_by"], result["depart_after"], result["return_time"]) == (arrive, depart, back)


@pytest.mark.parametrize(
    ("text", "passengers"),
    [
        ("nous sommes 2 pour Cahors", 2),
        ("on sera trois pour Cahors", 3),
        ("avec mon mari à Cahors", 2),
        ("pour 2 personnes à Cahors", 2),
        ("avec ma fille et mon petit-fils à Cahors", 3),
        ("mon mari et moi à Cahors", 2),
        ("c'est pour ma mère, rdv à Cahors", 1),
        ("avec mon déambulateur à Cahors", 1),
        ("nous sommes 2 avec mon mari", 2),
    ],
)
def test_passengers(text: str, passengers: int) -> None:
    assert parse(text)["passengers"] == passengers


def test_current_place_is_the_origin() -> None:
    result = parse("je suis à la gare de Gramat, venez me chercher pour aller à Rocamadour")
    assert (result["origin"], result["destination"]) == ("46128", "46240")


@pytest.mark.parametrize(
    ("text", "intent"),
    [("Pouvez-vous m'aider ?", "help"), ("Merci bien reçu", "accept"), ("merci", "unknown")],
)
def test_polite_replies(text: str, intent: str) -> None:
    assert parse(text)["intent"] == intent


def test_origin_and_destination() -> None:
    result = parse("de Figeac à Cahors mardi")
    assert (result["origin"], result["destination"]) == ("46102", "46042")
    result = parse("je pars de Gramat pour aller à Figeac")
    assert (result["origin"], result["destination"]) == ("46128", "46102")
    # Where the resident lives is home: origin stays null.
    result = parse("j'habite à Leyme, rdv à Saint-Céré jeudi")
    assert (result["origin"], result["destination"]) == (None, "46251")


def test_home_commune_is_not_the_destination() -> None:
    text = "c'est Mme Pons à Gramat, rdv à Cahors mardi"
    assert parse(text, home="46128")["destination"] == "46042"
    assert parse("je suis à Gramat, je voudrais aller à Figeac", home="46128")["origin"] is None


def test_relative_texting_for_someone() -> None:
    result = parse("Bonjour c'est pour ma mère, elle a rdv à l'hôpital de Figeac le 3 à 15h. Sophie")
    assert result["intent"] == "request" and result["destination"] == "46102"
    assert (result["date"], result["arrive_by"], result["passengers"]) == ("2026-12-03", "15:00", 1)


def _accuracy(entries: list[dict[str, Any]]) -> tuple[dict[str, float], list[str]]:
    hits: Counter[str] = Counter()
    misses: list[str] = []
    for entry in entries:
        got = parse(entry["text"], date.fromisoformat(entry["today"]), entry.get("home"))
        for field in FIELDS:
            if got[field] == entry[field]:
                hits[field] += 1
            else:
                misses.append(f"{field}: {entry['text']!r} gave {got[field]!r}, want {entry[field]!r}")
        if all(got[f] == entry[f] for f in ("arrive_by", "depart_after", "return_time")):
            hits["times"] += 1
        for extra in ("destination_place", "choice"):
            if extra in entry and got[extra] == entry[extra]:
                hits[extra] += 1
    total = len(entries)
    scores = {field: hits[field] / total for field in (*FIELDS, "times")}
    for extra in ("destination_place", "choice"):
        labelled = sum(1 for e in entries if extra in e)
        scores[extra] = hits[extra] / labelled if labelled else 1.0
    return scores, misses


def test_corpus_accuracy(corpus: list[dict[str, Any]], capsys: pytest.CaptureFixture[str]) -> None:
    assert len(corpus) >= 150
    report = []
    # "main" was written before the rules and tuned on; "holdout" and "holdout2" were written later and
    # scored before any fix, then kept as they are (a remaining miss is an honest one).
    for split in ("main", "holdout", "holdout2", "all"):
        entries = [e for e in corpus if split in ("all", e["split"])]
        scores, _ = _accuracy(entries)
        line = "  ".join(f"{field} {score:.1%}" for field, score in scores.items())
        report.append(f"SMS corpus [{split}, {len(entries)} messages]: {line}")
    scores, misses = _accuracy(corpus)
    with capsys.disabled():
        print("\n" + "\n".join(report))
        for miss in misses:
            print("   miss", miss)
    for field, minimum in THRESHOLDS.items():
        assert scores[field] >= minimum, (field, scores[field], misses)


def test_corpus_covers_every_intent(corpus: list[dict[str, Any]]) -> None:
    assert {e["intent"] for e in corpus} == set(INTENTS)


def _check_output(result: dict[str, Any], today: date, gazetteer: Gazetteer) -> None:
    json.dumps(result)
    assert result["intent"] in INTENTS
    for key in ("destination", "origin"):
        assert result[key] is None or result[key] in gazetteer.names
    assert result["date"] is None or date.fromisoformat(result["date"]) >= today
    for key in ("arrive_by", "depart_after", "return_time"):
        assert result[key] is None or HHMM.match(result[key])
    assert isinstance(result["passengers"], int) and 1 <= result["passengers"] <= 8
    assert result["choice"] is None or 1 <= result["choice"] <= 9
    assert 0.0 <= result["confidence"] <= 1.0
    series = result["recurrence"]
    if series is not None:
        assert series["weekdays"] and series["weekdays"] == sorted(set(series["weekdays"]))
        assert all(0 <= day <= 6 for day in series["weekdays"]) and series["every_weeks"] in (1, 2)
        assert series["until"] is None or date.fromisoformat(series["until"])
        assert (
            result["date"] is not None and date.fromisoformat(result["date"]).weekday() in series["weekdays"]
        )


_WORDS = re.split(
    " ",
    "bonjour bjr rdv à a au de pour vers le la l' hôpital lhopital Cahors cahor Figeac st cere Saint-Céré "
    "Cergy Argenteuil Espère Lacave demain dmain mardi lundi le 3 3/12 29/02 31/11 décembre 9h 9h30 09:30 "
    "midi minuit 2h de l'après-midi retour départ partir avec mon mari nous sommes 2 oui non 1 stop ? "
    "annuler aide 😊 🚗 « » ’ … 0 99 25h 00:00 23:59 le 0 le 32 tous les mardis chaque jeudi sur deux "
    "jusqu'au jusqu'à fin à partir du ouiii nonnn du lundi au vendredi",
)


@settings(max_examples=150, deadline=None)
@given(
    text=st.text(max_size=1600),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
)
def test_never_crashes_on_any_text(text: str, today: date, gazetteer: Gazetteer) -> None:
    _check_output(parse(text, today), today, gazetteer)


@settings(max_examples=150, deadline=None)
@given(
    text=st.lists(st.sampled_from(_WORDS), max_size=300).map(" ".join),
    today=st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 12, 31)),
    home=st.sampled_from([None, "46042", "95018", "99999"]),
)
def test_output_always_valid_on_message_like_text(
    text: str, today: date, home: str | None, gazetteer: Gazetteer
) -> None:
    _check_output(parse(text[:1600], today, home), today, gazetteer)


def test_long_message_is_fine(gazetteer: Gazetteer) -> None:
    text = ("Bonjour, je vous écris pour ma mère qui a rdv à Cahors mardi à 10h. " * 30)[:1600]
    result = parse(text)
    _check_output(result, MONDAY, gazetteer)
    assert (result["destination"], result["arrive_by"]) == ("46042", "10:00")
