"""Places anywhere in France: the sender's home says which Aubusson, Beaulieu or Sainte-Colombe."""

from __future__ import annotations

import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from carpool.gazetteer import PlaceRecord
from carpool.notify import places
from carpool.notify.parse import normalize, parse_message

TODAY = date(2026, 11, 23)
CARPOOL = str(Path(sys.executable).with_name("carpool"))


def destination(text: str, home: str | None) -> str | None:
    return parse_message(text, TODAY, home).destination


def test_carpool_sms_parse_finds_aubusson_of_the_creuse_from_gueret() -> None:
    result = subprocess.run(
        [CARPOOL, "sms", "parse", "--home", "23096", "--today", "2026-11-23"],
        input="je voudrais aller à Aubusson jeudi à 10h\n",
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )

    assert '"destination": "23008"' in result.stdout


@pytest.mark.parametrize(("home", "wanted"), [("23096", "23008"), ("61001", "61011")])
def test_the_aubusson_of_the_senders_own_departement(home: str, wanted: str) -> None:
    assert destination("je voudrais aller à Aubusson jeudi à 10h", home) == wanted


@pytest.mark.parametrize(("home", "wanted"), [("15187", "15020"), ("43268", "43021"), ("07110", "07028")])
def test_beaulieu_is_the_one_of_the_home_departement(home: str, wanted: str) -> None:
    assert destination("rdv à Beaulieu mardi 10h", home) == wanted


def test_a_neighbouring_departement_comes_before_a_far_one() -> None:
    # Valence in the Drôme (26, next to the Ardèche), not in the Charente or Tarn-et-Garonne.
    assert destination("rdv ophtalmo à Valence jeudi 14h", "07324") == "26362"


def test_with_no_homonym_near_home_the_nearest_is_taken() -> None:
    # From Brest, the Sainte-Colombe of Ille-et-Vilaine (35) is the nearest of twelve.
    assert destination("je dois aller à Sainte-Colombe mardi 10h", "29019") == "35262"


def test_a_far_city_is_read_after_a_place_preposition_in_a_trip() -> None:
    assert destination("rdv à Nancy mardi 10h", "23096") == "54395"


def test_a_far_name_outside_a_trip_is_not_a_place() -> None:
    assert destination("Nancy viendra me voir, merci", "23096") is None
    assert destination("Mon numéro a changé, c'est Mme Delpech", "53054") is None


def test_a_surname_that_is_a_small_commune_is_not_the_destination() -> None:
    assert destination("c'est Mme Lacoste, je dois aller à Guéret mardi 10h", "23008") == "23096"


def test_a_misspelling_is_read_near_home_only() -> None:
    assert destination("rdv a limoge jeudi 9h", "87011") == "87085"
    assert destination("rdv a limoge jeudi 9h", "29019") is None


def test_overseas_saint_denis_from_saint_paul_de_la_reunion() -> None:
    assert destination("rdv à Saint-Denis jeudi 8h", "97415") == "97411"


def test_without_a_home_the_demo_area_still_comes_first() -> None:
    assert destination("rdv à Sainte-Colombe mardi 10h", None) == "46260"


def test_the_index_cache_is_written_then_read_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(places, "INDEX_CACHE_DIR", tmp_path)
    built = places.default_gazetteer.__wrapped__()
    (cache,) = tmp_path.glob("sms-places-*.pickle")
    loaded = places.default_gazetteer.__wrapped__()

    tokens = normalize("je voudrais aller à Aubusson jeudi à 10h")
    assert loaded is not built
    assert loaded.find(tokens, "23096") == built.find(tokens, "23096")
    assert cache.exists()


def test_an_unwritable_cache_folder_is_not_an_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocked = tmp_path / "file"
    blocked.write_text("not a folder")
    monkeypatch.setattr(places, "INDEX_CACHE_DIR", blocked / "cache")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocked / "user-cache"))

    loaded = places.load_default_index()

    assert loaded.gazetteer.names["23008"] == "Aubusson"
    assert loaded.written_to is None


GUERET_HOSPITAL = PlaceRecord("Centre hospitalier de Guéret", "hopital", "23096", 46.16, 1.87)


def test_the_associations_own_place_is_read_by_its_name() -> None:
    parsed = parse_message(
        "rdv au centre hospitalier de gueret mardi 10h", TODAY, "23008", places=[GUERET_HOSPITAL]
    )

    assert (parsed.destination, parsed.destination_place) == ("23096", "Centre hospitalier de Guéret")


def test_the_associations_own_place_is_read_by_its_kind() -> None:
    parsed = parse_message("rdv à l'hôpital de Guéret mardi 10h", TODAY, "23008", places=[GUERET_HOSPITAL])

    assert parsed.destination_place == "Centre hospitalier de Guéret"


def test_the_associations_own_place_comes_before_the_shared_one_of_the_same_kind() -> None:
    own = PlaceRecord("Clinique du Pont (Cahors)", "hopital", "46042", 44.45, 1.44)
    parsed = parse_message("rdv hopital de cahors mardi 10h", TODAY, "46102", places=[own])

    assert parsed.destination_place == "Clinique du Pont (Cahors)"
