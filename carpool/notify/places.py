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

Why by area: the gazetteer holds every commune of France, and names repeat
(Aubusson in the Creuse and the Orne, Beaulieu ten times). A name is read as
the commune of the sender's own département first, then of a neighbouring
one, then the nearest. Communes further away match only when spelt exactly
and right after a place preposition ("à Lyon"), never as a misspelling: far
from home, "Nancy" is more likely a daughter than a city. Without a home
commune, the home area is the demo's départements (Lot, Val-d'Oise).
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import os
import pickle
import re
import sys
import tempfile
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import NamedTuple

from rapidfuzz import process
from rapidfuzz.distance import OSA

from carpool.gazetteer import (
    DATA_DIR,
    DEMO_DEPARTEMENTS,
    NATIONAL_CSV,
    NEIGHBOURS_CSV,
    PLACES_CSV,
    CommuneRecord,
    PlaceRecord,
    departement_of,
    read_communes,
    read_neighbours,
    read_places,
)
from carpool.text import SAINT_ABBREVIATIONS, fold


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _items(text: str) -> frozenset[str]:
    """Comma-separated entries, each possibly of several words."""
    return frozenset(" ".join(item.split()) for item in text.split(","))


# Never matched: the ordinary word is far more likely than the commune.
NEVER = frozenset({"bourg", "le bourg", "bio", "us", "roc", "le roc", "lot", "l hopital"})
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
    lavercantiere, vienne, montet, neuilly, villers, bellay, change"""
)
# Ordinary words one edit away from a commune name: never read as a misspelling.
NO_FUZZY = _words(
    """ruelle sauter fontaine fontaines charmant parrain mousse cognac leopard marine chausse taverne louvre
    merci mercredi mardi samedi lundi jeudi vendredi dimanche matin demain madame monsieur bonjour bonsoir
    cardio docteur medecin maison marche mairie centre clinique hopital aller retour rendez pourrai pouvez
    voudrais besoin bureau banque poste pharmacie garage cabinet comment gourdin chauffeur chauffeurs sante
    courses voiture taxi ambulance infirmiere dentiste radio analyse analyses consultation ophtalmo semaine
    prochain prochaine retraite revenir partir venir chercher deposer attendre beaucoup journee famille
    voisin voisine coiffeur coiffeuse notaire cimetiere eglise messe marche marches kine kines podologue
    laboratoire scanner controle visite visiter possible contente content heureuse reservation appelle
    appellera avance messages moins personnes prise charger reporte serons vendredis maman bonne"""
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


# Before a far commune's name, as well as GUARD_PREPOSITIONS: "l'hôpital de Brest".
_OF = frozenset({"de", "d", "du"})


@dataclass(frozen=True, slots=True)
class Match:
    """A commune (and maybe a named place in it) found at tokens[start:end]."""

    insee: str
    name: str
    start: int
    end: int
    exact: bool
    place: str | None = None


class _Entry(NamedTuple):  # a tuple: the index cache loads several times faster
    insee: str
    departement: str
    rank: tuple[int, int]  # (alias level, -population): lower is better
    guarded: bool


HOME, NEIGHBOUR, FAR = 0, 1, 2


@dataclass(frozen=True, slots=True)
class _Area:
    """Where the sender lives: their département's tier for each département, and their point."""

    tiers: dict[str, int]
    lat: float | None
    lon: float | None

    def tier(self, departement: str) -> int:
        return self.tiers.get(departement, FAR)

    def km(self, lat: float, lon: float) -> float:
        """Flat-earth distance from home: enough to order homonyms."""
        if self.lat is None or self.lon is None:
            return 0.0
        dx = (lon - self.lon) * math.cos(math.radians(self.lat))
        return 111.2 * math.hypot(lat - self.lat, dx)


@dataclass(frozen=True, slots=True)
class _PlaceIndex:
    """Named places by every key they are known by, and by (commune, kind)."""

    keys: dict[str, PlaceRecord]
    by_kind: dict[tuple[str, str], list[PlaceRecord]]
    max_words: int

    @classmethod
    def of(cls, places: Sequence[PlaceRecord], communes: Collection[str]) -> _PlaceIndex:
        keys: dict[str, PlaceRecord] = {}
        by_kind: dict[tuple[str, str], list[PlaceRecord]] = {}
        for place in places:
            if place.insee not in communes:
                continue
            by_kind.setdefault((place.insee, place.kind), []).append(place)
            for key in Gazetteer._place_keys(place.name):
                keys.setdefault(key, place)
        return cls(keys, by_kind, max((len(k.split()) for k in keys), default=0))


@lru_cache(maxsize=64)
def _own_index(places: tuple[PlaceRecord, ...], gazetteer: Gazetteer) -> _PlaceIndex:
    """An association's places, indexed once while they stay the same (a few associations per process)."""
    return _PlaceIndex.of(places, gazetteer.names)


class Gazetteer:
    """Alias tables built once from the communes and named places."""

    def __init__(
        self,
        communes: Sequence[CommuneRecord],
        places: Sequence[PlaceRecord],
        neighbours: dict[str, tuple[str, ...]] | None = None,
        default_departements: Collection[str] = DEMO_DEPARTEMENTS,
    ) -> None:
        """``default_departements``: the home area of a sender without a home commune, and
        the départements the word lists above were written for."""
        self.names = {c.insee: c.name for c in communes}
        self._points = {c.insee: (c.lat, c.lon) for c in communes}
        self._neighbours = neighbours or {}
        self._curated = frozenset(default_departements)
        self._default_area = _Area({d: HOME for d in default_departements}, None, None)
        self._areas: dict[str | None, _Area] = {}
        self._aliases: dict[str, list[_Entry]] = {}
        for commune in communes:
            for level, key in self._keys_for(commune.name):
                self._add(key, commune, level)
        by_insee = {c.insee: c for c in communes}
        for key, insee in EXTRA_ALIASES.items():
            if insee in by_insee:
                self._add(key, by_insee[insee], 1)
        # Misspellings are looked for among the keys of the sender's area only.
        # (first letter, length) → keys, per département.
        self._by_departement: dict[str, dict[tuple[str, int], list[str]]] = {}
        for key, entries in self._aliases.items():
            entries.sort(key=lambda e: e.rank)
            if len(key.replace(" ", "")) < 5:
                continue
            for departement in {e.departement for e in entries if not e.guarded}:
                bucket = self._by_departement.setdefault(departement, {})
                bucket.setdefault((key[0], len(key)), []).append(key)
        self._max_words = max(len(k.split()) for k in self._aliases)
        self._shared = _PlaceIndex.of(places, self.names)

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
        if key in NEVER or key in KIND_WORDS:  # "l'hôpital", "le marché" are places, not L'Hôpital (57)
            return
        letters = len(key.replace(" ", ""))
        guarded = key in COMMON_WORDS or (letters <= 5 and commune.population < 5000)
        if commune.departement not in self._curated and " " not in key and commune.population < 2000:
            guarded = True
        entries = self._aliases.setdefault(key, [])
        for i, entry in enumerate(entries):
            if entry.insee == commune.insee:  # the same commune by two rules: keep the better
                if level < entry.rank[0]:
                    entries[i] = _Entry(commune.insee, entry.departement, (level, entry.rank[1]), guarded)
                return
        entries.append(_Entry(commune.insee, commune.departement, (level, -commune.population), guarded))

    def area(self, home: str | None) -> _Area:
        """The sender's area: home département, its neighbours, home point (cached per home)."""
        if home is None or home not in self._points:
            return self._default_area
        area = self._areas.get(home)
        if area is None:
            departement = departement_of(home)
            tiers = dict.fromkeys(self._neighbours.get(departement, ()), NEIGHBOUR)
            tiers[departement] = HOME
            lat, lon = self._points[home]
            area = self._areas[home] = _Area(tiers, lat, lon)
        return area

    def _ordered(self, entries: Sequence[_Entry], area: _Area) -> list[_Entry]:
        """Home département first, then neighbours, then the rest; official name, then nearest."""
        return sorted(
            entries,
            key=lambda e: (area.tier(e.departement), e.rank[0], area.km(*self._points[e.insee]), e.rank[1]),
        )

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

    def place_in(self, insee: str, kind: str, own: _PlaceIndex | None = None) -> PlaceRecord | None:
        """The one place of ``kind`` in the commune (the association's own first), or None."""
        for index in (own, self._shared):
            found = index.by_kind.get((insee, kind), []) if index is not None else []
            if found:
                return found[0] if len(found) == 1 else None
        return None

    def find(
        self, tokens: Sequence[str], home: str | None = None, own_places: Sequence[PlaceRecord] = ()
    ) -> list[Match]:
        """Communes and named places in folded tokens, non-overlapping, in reading order.

        ``home`` (an INSEE code) says which of two communes of the same name is meant;
        ``own_places``, the association's own named places, come before the shared ones.
        """
        words = [SAINT_ABBREVIATIONS.get(t, t) for t in tokens]
        own = _own_index(tuple(p for p in own_places if p.insee in self.names), self) if own_places else None
        # A far or guarded commune needs a trip around it: "a change" in "mon numéro a changé" is none.
        trip = any(w in TRIP_WORDS or _DAYLIKE.match(w) for w in words)
        places = [
            m for index in (own, self._shared) if index is not None for m in self._named_places(words, index)
        ]
        candidates = places + self._communes(words, self.area(home), trip)
        candidates.sort(key=lambda m: (not m.exact, -(m.end - m.start), m.start))  # stable: own places first
        chosen: list[Match] = []
        taken: set[int] = set()
        for match in candidates:
            span = set(range(match.start, match.end))
            if span & taken:
                continue
            chosen.append(match)
            taken |= span
        chosen.sort(key=lambda m: m.start)
        return self._attach_kinds(words, chosen, own)

    def _named_places(self, words: Sequence[str], index: _PlaceIndex) -> list[Match]:
        found = []
        for n in range(2, index.max_words + 1):
            for i in range(len(words) - n + 1):
                place = index.keys.get(" ".join(words[i : i + n]))
                if place is not None:
                    found.append(Match(place.insee, self.names[place.insee], i, i + n, True, place.name))
        return found

    def _communes(self, words: Sequence[str], area: _Area, trip: bool) -> list[Match]:
        found: list[Match] = []
        for n in range(1, self._max_words + 1):
            for i in range(len(words) - n + 1):
                span = " ".join(words[i : i + n])
                match = self._match_span(words, i, n, span, area, trip)
                if match is not None:
                    found.append(match)
        return found

    def _match_span(
        self, words: Sequence[str], i: int, n: int, span: str, area: _Area, trip: bool
    ) -> Match | None:
        entries = self._aliases.get(span)
        after_preposition = i > 0 and words[i - 1] in GUARD_PREPOSITIONS
        if entries is not None:
            for entry in self._ordered(entries, area):
                if area.tier(entry.departement) == FAR and not (
                    trip and (after_preposition or (i > 0 and words[i - 1] in _OF and not entry.guarded))
                ):
                    continue
                curated = entry.departement in self._curated
                if entry.guarded and not (after_preposition and (trip or curated)):
                    continue
                return Match(entry.insee, self.names[entry.insee], i, i + n, True)
            return None
        if not self._fuzzy_allowed(words, i, n, span):
            return None
        max_edits = 2 if len(span) >= 9 else 1
        lengths = range(len(span) - max_edits, len(span) + max_edits + 1)
        candidates = [
            key
            for departement in area.tiers
            for buckets in (self._by_departement.get(departement, {}),)
            for n in lengths
            for key in buckets.get((span[0], n), ())
        ]
        if not candidates:
            return None
        best = process.extractOne(span, candidates, scorer=OSA.distance, score_cutoff=max_edits)
        if best is None:
            return None
        near = [
            e
            for e in self._aliases[best[0]]
            if area.tier(e.departement) != FAR
            and not e.guarded
            and (e.departement in self._curated or after_preposition)
        ]
        if not near:
            return None
        entry = self._ordered(near, area)[0]
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

    def _attach_kinds(
        self, words: Sequence[str], matches: list[Match], own: _PlaceIndex | None
    ) -> list[Match]:
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
                    place = self.place_in(match.insee, kind, own)
                    if place is not None and (near or alone):
                        match = Match(
                            match.insee, match.name, match.start, match.end, match.exact, place.name
                        )
                        break
            result.append(match)
        return result


# Building the index of 34,964 communes takes about 1.4 s of CPU; ``carpool sms parse`` must
# start in well under 1.5 s. So the built index is kept the way Python keeps .pyc files: in
# data/__pycache__ beside what it was built from. A read-only install (the package under
# /usr/lib, a container with a read-only root) cannot write there: the index then goes to the
# user's cache folder ($XDG_CACHE_HOME/carpool, else ~/.cache/carpool) instead of being rebuilt
# at every start. The file is named after the hash of its sources' contents, so a stale index
# is never read; it is written whole or not at all (temporary file, then a rename); a file that
# does not load (truncated, corrupt, another version's) is ignored and rebuilt.
INDEX_CACHE_DIR = DATA_DIR / "__pycache__"
INDEX_PREFIX = "sms-places-"


def user_cache_dir() -> Path | None:
    """$XDG_CACHE_HOME/carpool (an absolute path, as the XDG spec wants), else ~/.cache/carpool."""
    base = os.environ.get("XDG_CACHE_HOME", "")
    if base and os.path.isabs(base):
        return Path(base) / "carpool"
    try:
        return Path.home() / ".cache" / "carpool"
    except RuntimeError:  # no HOME and no password entry: no user cache
        return None


def index_cache_dirs() -> list[Path]:
    """Where the index may be kept, in order of preference."""
    user = user_cache_dir()
    return [INDEX_CACHE_DIR, *([user] if user is not None else [])]


def index_cache_name() -> str:
    """The cache file's name: the hash of every source of the index (data and code) and Python's version."""
    import carpool.gazetteer as gazetteer_module
    import carpool.text as text_module

    sources = (NATIONAL_CSV, PLACES_CSV, NEIGHBOURS_CSV, Path(__file__), Path(text_module.__file__))
    stamp = hashlib.sha256(repr(sys.version_info).encode())
    for path in (*sources, Path(gazetteer_module.__file__)):
        stamp.update(f"{path.name}:".encode())
        stamp.update(hashlib.sha256(path.read_bytes()).digest())
    return f"{INDEX_PREFIX}{stamp.hexdigest()[:32]}.pickle"


@dataclass(frozen=True)
class IndexLoad:
    """The index, and which cache file it came from or went to (None: none)."""

    gazetteer: Gazetteer
    read_from: Path | None
    written_to: Path | None


def _read_index(path: Path) -> Gazetteer | None:
    try:
        with path.open("rb") as handle:
            cached = pickle.load(handle)  # noqa: S301 (our own file, trusted like a .pyc beside it)
    except Exception:  # missing, truncated, corrupt, of another version: any of them means rebuild
        return None
    return cached if isinstance(cached, Gazetteer) else None


def _write_index(folder: Path, name: str, built: Gazetteer) -> Path | None:
    """Write atomically into ``folder``; None when it cannot be written (read-only, full...)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        descriptor, partial = tempfile.mkstemp(prefix=INDEX_PREFIX, suffix=".tmp", dir=folder)
    except OSError:
        return None
    try:
        with os.fdopen(descriptor, "wb") as handle:
            pickle.dump(built, handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(partial, 0o644)  # like the .pyc beside it; mkstemp makes 0600
        os.replace(partial, folder / name)  # a concurrent reader sees the whole file or none
    except OSError:
        Path(partial).unlink(missing_ok=True)
        return None
    for stale in folder.glob(f"{INDEX_PREFIX}*.pickle"):
        if stale.name != name:
            with contextlib.suppress(OSError):  # another user's, in a shared folder: left alone
                stale.unlink()
    return folder / name


def load_default_index() -> IndexLoad:
    """The shipped national gazetteer's index: from the first fresh cache file, else built and
    written to the first folder that takes it."""
    name = index_cache_name()
    folders = index_cache_dirs()
    for folder in folders:
        cached = _read_index(folder / name)
        if cached is not None:
            return IndexLoad(cached, folder / name, None)
    built = _build_default()
    for folder in folders:
        written = _write_index(folder, name, built)
        if written is not None:
            return IndexLoad(built, None, written)
    return IndexLoad(built, None, None)


def _build_default() -> Gazetteer:
    return Gazetteer(read_communes(NATIONAL_CSV), read_places(), read_neighbours())


@lru_cache(maxsize=1)
def default_gazetteer() -> Gazetteer:
    """The shipped national gazetteer, read once per process (from the index cache if fresh)."""
    return load_default_index().gazetteer


def lookup(text: str) -> Match | None:
    """The first commune or named place in free text (tokens are folded words)."""
    found = default_gazetteer().find(fold(text).split())
    return found[0] if found else None
