"""Finding communes and named places of the gazetteer in SMS text.

Why fuzzy but guarded: residents write "cahor", "figeack", "st cere" and
rarely use accents or capitals, yet many commune names are also ordinary
French words ("Espère" in "j'espère", "Lacave", "Marines", "Fosses") or
surnames ("Martel"). So:

* official names and their usual short forms ("Montcuq", "Cormeilles",
  "L'Isle-Adam" without the article) match exactly anywhere;
* a name that is a common word, or short (5 letters or fewer) and of a
  small commune, matches only exactly and right after a place preposition
  ("à Espère", "a Lacave");
* a few names ("Bio", "Us", "Le Bourg", "Le Roc") are never matched: in
  messages they are almost always the word, not the commune;
* misspellings (one edit, two for long names, same first letter) count only
  in a trip context: after "à", "pour", "rdv"... or next to a day or a time.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import process
from rapidfuzz.distance import OSA

from carpool.gazetteer import CommuneRecord, PlaceRecord, read_communes, read_places
from carpool.text import SAINT_ABBREVIATIONS, fold


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _items(text: str) -> frozenset[str]:
    """Comma-separated entries, each possibly of several words."""
    return frozenset(" ".join(item.split()) for item in text.split(","))


# Never matched: the ordinary word is far more likely than the commune.
NEVER = frozenset({"bourg", "le bourg", "bio", "us", "roc", "le roc", "lot"})
# Matched only exactly and right after a place preposition.
COMMON_WORDS = _items(
    """espere, lacave, chars, marines, presles, fosses, mours, deuil, champagne, chapelle,
    la chapelle, martel, lavergne, beauregard, montbrun, condat, persan, charmont, vigny, montreuil,
    nointel, ennery, cambes, sauzet, ussel, estal, girac, glanes, gorses, leyme, saint clair,
    saint simon, saint felix, saint prix, saint hilaire, saint sulpice, les junies, junies, montat,
    le montat, moussy, fontanes, marly, bannes, linac, catus, cornac, rudelle, parmain, corn, cras,
    fons, bach, miers, lunan, lherm, louvres, montfaucon, gignac, rignac, loupiac, floirac, sonac,
    lanzac, cahus, maxou, uzech, saignes, durbans, mayrac, cieurac, lagardelle, frayssinet,
    bellefontaine, fontenay, laval, belfort, caillac, calamane, concots, montredon, montcabrier,
    lamothe, cassagnes, cavagnac, couzou, cuzac, boussac, albas, orniac, varaire, bruyeres, mery,
    jouy, magny, vers, pechs du vers, les pechs du vers, le vigan, vigan, issepts, rampoux,
    lavercantiere, vienne, montet, neuilly, villers, bellay"""
)
# Ordinary words one edit away from a commune name: never read as a misspelling.
NO_FUZZY = _words(
    """ruelle sauter fontaine fontaines charmant parrain mousse cognac leopard marine chausse taverne louvre
    merci mercredi mardi samedi lundi jeudi vendredi dimanche matin demain madame monsieur bonjour bonsoir
    cardio docteur medecin maison marche mairie centre clinique hopital aller retour rendez pourrai pouvez
    voudrais besoin bureau banque poste pharmacie garage cabinet comment gourdin"""
)
# Words after which a place name is expected.
PLACE_PREPOSITIONS = frozenset({"a", "au", "aux", "pour", "vers", "sur", "de", "d", "du", "depuis", "chez"})
# Before a guarded name: only those that introduce a place, not a noun ("bouteille de champagne").
GUARD_PREPOSITIONS = frozenset({"a", "au", "aux", "pour", "vers", "depuis", "jusqu"})
TRIP_WORDS = frozenset(
    {
        "rdv",
        "aller",
        "direction",
        "jusqu",
        "transport",
        "emmener",
        "conduire",
        "amener",
        "rendez",
        "vous",
        "depart",
    }
)
_DAYLIKE = re.compile(
    r"^(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche|demain|aujourd|auj|matin|soir|midi|\d{1,2}h\d*|"
    r"\d{1,2}/\d{1,2}(?:/\d+)?|\d{1,2})$"
)
_STOP = _words(
    """le la les l d de du des un une et a au aux en sur pour vers par avec chez dans je j tu il elle
    on nous vous ils elles me m te t se s mon ma mes ton ta tes son sa ses notre votre leur ce cet
    cette ca c est ai as avons ont suis es sommes etes sont qui que qu quoi ou y ne n pas plus bien
    tres merci bonjour bonsoir svp stp rdv demain matin soir midi apres jour heure heures h oui non ok"""
)
_CONNECTORS = frozenset({"en", "sur", "les", "le", "la", "du", "de", "des", "sous", "l", "d", "et", "dit"})
_ARTICLES = ("le ", "la ", "les ", "l ")
# Former communes and usual names that no rule derives from the official one.
EXTRA_ALIASES: dict[str, str] = {
    "labastide murat": "46138",
    "castelnau": "46063",
    "saint gery": "46268",
    "cergy pontoise": "95127",
}
# Words that name a kind of place, as folded tokens.
KIND_WORDS: dict[str, str] = {
    "hopital": "hopital",
    "lhopital": "hopital",
    "hosto": "hopital",
    "ch": "hopital",
    "urgences": "hopital",
    "centre hospitalier": "hopital",
    "clinique": "clinique",
    "polyclinique": "clinique",
    "marche": "marche",
    "mairie": "mairie",
    "gare": "gare",
    "prefecture": "administration",
}


@dataclass(frozen=True, slots=True)
class Match:
    """A commune (and maybe a named place in it) found at tokens[start:end]."""

    insee: str
    name: str
    start: int
    end: int
    exact: bool
    place: str | None = None


@dataclass(frozen=True, slots=True)
class _Entry:
    insee: str
    rank: tuple[int, int]  # (alias level, -population): lower is better
    guarded: bool


class Gazetteer:
    """Alias tables built once from the communes and named places."""

    def __init__(self, communes: Sequence[CommuneRecord], places: Sequence[PlaceRecord]) -> None:
        self.names = {c.insee: c.name for c in communes}
        self._aliases: dict[str, _Entry] = {}
        for commune in communes:
            for level, key in self._keys_for(commune.name):
                self._add(key, commune, level)
        by_insee = {c.insee: c for c in communes}
        for key, insee in EXTRA_ALIASES.items():
            if insee in by_insee:
                self._add(key, by_insee[insee], 1)
        self._by_first: dict[str, list[str]] = {}
        for key, entry in self._aliases.items():
            if not entry.guarded and len(key.replace(" ", "")) >= 5:
                self._by_first.setdefault(key[0], []).append(key)
        self._max_words = max(len(k.split()) for k in self._aliases)
        self._places: dict[str, PlaceRecord] = {}
        self._by_kind: dict[tuple[str, str], list[PlaceRecord]] = {}
        for place in places:
            if place.insee not in self.names:
                continue
            self._by_kind.setdefault((place.insee, place.kind), []).append(place)
            for key in self._place_keys(place.name):
                self._places.setdefault(key, place)
        self._max_place_words = max((len(k.split()) for k in self._places), default=0)

    @staticmethod
    def _keys_for(name: str) -> list[tuple[int, str]]:
        """(level, key): the official name, then elided/article-less forms, then a short form."""
        key = fold(name)
        keys = [(0, key)]
        glued = re.sub(r"\b([ld]) (?=[aeiouyh])", r"\1", key)
        if glued != key:
            keys.append((1, glued))
        for article in _ARTICLES:
            if key.startswith(article) and len(key) - len(article) >= 4:
                keys.append((1, key[len(article) :]))
        words = key.split()
        start = 1 if words[0] in ("le", "la", "les", "l") else 0
        for i in range(start + 1, len(words)):
            if words[i] in _CONNECTORS:
                short = " ".join(words[start:i])
                if len(short.replace(" ", "")) >= 4 and short not in ("saint", "sainte"):
                    keys.append((2, short))
                break
        return keys

    def _add(self, key: str, commune: CommuneRecord, level: int) -> None:
        if key in NEVER:
            return
        letters = len(key.replace(" ", ""))
        guarded = key in COMMON_WORDS or (letters <= 5 and commune.population < 5000)
        entry = _Entry(commune.insee, (level, -commune.population), guarded)
        current = self._aliases.get(key)
        if current is None or entry.rank < current.rank:
            self._aliases[key] = entry

    @staticmethod
    def _place_keys(name: str) -> list[str]:
        key = fold(name)
        keys = [key]
        inner = re.search(r"\(([^)]*)\)", name)
        if inner:
            outer = fold(name[: inner.start()])
            keys.append(outer)
            if len(fold(inner.group(1)).split()) >= 2:
                keys.append(fold(inner.group(1)))
        for prefix in ("centre hospitalier ", "hopital ", "polyclinique "):
            if key.startswith(prefix):
                rest = keys[-1] if inner else key
                rest = rest[len(prefix) :] if rest.startswith(prefix) else rest
                if rest.split()[0] not in ("de", "d", "du"):
                    keys.append(rest)
                if prefix == "polyclinique ":
                    keys.append("clinique " + key[len(prefix) :])
        return keys

    def place_in(self, insee: str, kind: str) -> PlaceRecord | None:
        """The one place of ``kind`` in the commune, or None if none or several."""
        found = self._by_kind.get((insee, kind), [])
        return found[0] if len(found) == 1 else None

    def find(self, tokens: Sequence[str]) -> list[Match]:
        """Communes and named places in folded tokens, non-overlapping, in reading order."""
        words = [SAINT_ABBREVIATIONS.get(t, t) for t in tokens]
        candidates = self._named_places(words) + self._communes(words)
        candidates.sort(key=lambda m: (not m.exact, -(m.end - m.start), m.start))
        chosen: list[Match] = []
        taken: set[int] = set()
        for match in candidates:
            span = set(range(match.start, match.end))
            if span & taken:
                continue
            chosen.append(match)
            taken |= span
        chosen.sort(key=lambda m: m.start)
        return self._attach_kinds(words, chosen)

    def _named_places(self, words: Sequence[str]) -> list[Match]:
        found = []
        for n in range(2, self._max_place_words + 1):
            for i in range(len(words) - n + 1):
                place = self._places.get(" ".join(words[i : i + n]))
                if place is not None:
                    found.append(Match(place.insee, self.names[place.insee], i, i + n, True, place.name))
        return found

    def _communes(self, words: Sequence[str]) -> list[Match]:
        found: list[Match] = []
        for n in range(1, self._max_words + 1):
            for i in range(len(words) - n + 1):
                span = " ".join(words[i : i + n])
                match = self._match_span(words, i, n, span)
                if match is not None:
                    found.append(match)
        return found

    def _match_span(self, words: Sequence[str], i: int, n: int, span: str) -> Match | None:
        entry = self._aliases.get(span)
        after_preposition = i > 0 and words[i - 1] in GUARD_PREPOSITIONS
        if entry is not None:
            if entry.guarded and not after_preposition:
                return None
            return Match(entry.insee, self.names[entry.insee], i, i + n, True)
        if not self._fuzzy_allowed(words, i, n, span):
            return None
        max_edits = 2 if len(span) >= 9 else 1
        candidates = [k for k in self._by_first.get(span[0], ()) if abs(len(k) - len(span)) <= max_edits]
        if not candidates:
            return None
        best = process.extractOne(span, candidates, scorer=OSA.distance, score_cutoff=max_edits)
        if best is None:
            return None
        entry = self._aliases[best[0]]
        return Match(entry.insee, self.names[entry.insee], i, i + n, False)

    def _fuzzy_allowed(self, words: Sequence[str], i: int, n: int, span: str) -> bool:
        part = words[i : i + n]
        if len(span) < 5 or len(span) > 40 or span in NO_FUZZY:
            return False
        if part[0] in _STOP or part[-1] in _STOP or any(ch.isdigit() for ch in span):
            return False
        before = words[max(0, i - 2) : i]
        if any(w in PLACE_PREPOSITIONS or w in TRIP_WORDS for w in before):
            return True
        neighbours = [*words[max(0, i - 1) : i], *words[i + n : i + n + 1]]
        return any(_DAYLIKE.match(w) for w in neighbours)

    def _attach_kinds(self, words: Sequence[str], matches: list[Match]) -> list[Match]:
        """Give "hôpital de Cahors", "Gourdon hôpital" their named place."""
        kinds: list[tuple[int, int, str]] = []
        for i, word in enumerate(words):
            pair = " ".join(words[i : i + 2])
            if pair in KIND_WORDS:
                kinds.append((i, i + 2, KIND_WORDS[pair]))
            elif word in KIND_WORDS and not (word == "ch" and i + 1 < len(words) and words[i + 1] == "est"):
                kinds.append((i, i + 1, KIND_WORDS[word]))
        distinct = {m.insee for m in matches}
        result = []
        for match in matches:
            if match.place is None:
                for start, end, kind in kinds:
                    near = 0 < match.start - end + 1 <= 4 or 0 <= start - match.end <= 3
                    alone = len(distinct) == 1
                    place = self.place_in(match.insee, kind)
                    if place is not None and (near or alone):
                        match = Match(
                            match.insee, match.name, match.start, match.end, match.exact, place.name
                        )
                        break
            result.append(match)
        return result


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The shipped gazetteer, read once per process."""
    return Gazetteer(read_communes(), read_places())


def lookup(text: str) -> Match | None:
    """The first commune or named place in free text (tokens are folded words)."""
    found = default_gazetteer().find(fold(text).split())
    return found[0] if found else None
