"""Understanding a resident's SMS: what they want (intent) and the trip details.

Why rules and not a model: messages are short, the vocabulary of a ride
request is small, and a coordinator must be able to see why a message was
read the way it was. Every rule is a few lines below; the corpus in
``tests/data/sms_corpus.jsonl`` measures them.

The text is first *normalized* (lower case, no accents, SMS abbreviations
expanded: "bjr", "dmain", "jai", "rdv", "pr", "ds", "c"), then dates and
times (``frdates``), communes and named places (``places``) are found in
it. Times get a role from the nearest cue word before them: an appointment
("rdv à 10h") is ``arrive_by``, a wish to leave ("partir vers 9h") is
``depart_after``, a return ("retour vers 16h") is ``return_time``. A time
with no cue is ``arrive_by`` when the message speaks of an appointment or an
obligation ("je dois"), else ``depart_after``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from rapidfuzz.distance import Levenshtein

from carpool.gazetteer import PlaceRecord
from carpool.notify.frdates import TimeMention, find_date, find_times, fold_for_dates
from carpool.notify.places import Gazetteer, Match, default_gazetteer
from carpool.notify.recurrence import Recurrence, find_recurrence

INTENTS = ("request", "accept", "decline", "cancel", "help", "stop", "start", "unknown")
MAX_CHARS = 2000  # longer texts are cut: an SMS chain of 10 segments is 1,530 characters

# Token-level SMS shorthand, folded. A value may hold several words.
SMS_WORDS: dict[str, str] = {
    "bjr": "bonjour",
    "bjour": "bonjour",
    "bsr": "bonsoir",
    "slt": "salut",
    "dmain": "demain",
    "2main": "demain",
    "dem1": "demain",
    "demin": "demain",
    "auj": "aujourd hui",
    "ajd": "aujourd hui",
    "aujd": "aujourd hui",
    "aujourdhui": "aujourd hui",
    "rdz": "rdv",
    "rv": "rdv",
    "rdvs": "rdv",
    "pr": "pour",
    "ds": "dans",
    "qd": "quand",
    "tt": "tout",
    "bcp": "beaucoup",
    "dc": "donc",
    "vs": "vous",
    "ns": "nous",
    "jai": "j ai",
    "jaurai": "j aurai",
    "jaurais": "j aurais",
    "jaimerais": "j aimerais",
    "jhabite": "j habite",
    "jsuis": "je suis",
    "chui": "je suis",
    "daller": "d aller",
    "dune": "d une",
    "dun": "d un",
    "quon": "qu on",
    "cest": "c est",
    "lhopital": "l hopital",
    "lhosto": "l hosto",
    "o": "au",
    "ke": "que",
    "mme": "madame",
    "mr": "monsieur",
    "mlle": "mademoiselle",
    "aprem": "apres midi",
    "aprm": "apres midi",
    "mat1": "matin",
    "doi": "dois",
    "hopitale": "hopital",
    "hopitl": "hopital",
    "hopial": "hopital",
    "daccord": "d accord",
    "dacc": "d accord",
    "dac": "d accord",
    "allerretour": "aller retour",
    # Yes and no as typed on a small keypad or dictated.
    "wi": "oui",
    "ui": "oui",
    "oue": "ouais",
    "ouep": "ouais",
    "ouaip": "ouais",
    "ouai": "ouais",
    "nn": "non",
    "dacor": "d accord",
    "daccor": "d accord",
    "daccors": "d accord",
    "mrc": "merci",
    "mci": "merci",
}
# Stretched words ("ouiii", "nonnn", "stoppp", "annuller"): a token whose letters, each run of repeats
# cut to one, spell one of these is read as it. Only short answers: "aidee" may be "aidée".
_STRETCHED = {re.sub(r"(.)\1+", r"\1", w): w for w in ("oui", "ouais", "non", "nan", "ok", "okay", "stop")}
_STRETCHED |= {
    re.sub(r"(.)\1+", r"\1", w): w for w in ("start", "annuler", "annule", "merci", "arret", "daccord")
}
# Misspelt long keywords ("anuler", "desincription"): one slip, two from 12 letters. Not "daccord":
# "d'accord" folds to "d accord", and "accord" is one slip from it.
_KEYWORDS = frozenset(["annuler", "annulation", "desinscription", "desinscrire", "desabonner"])
_KEYWORDS |= {"reprendre", "volontiers", "reactiver"}
_QMARK = "zqmarkz"  # survives folding, which drops punctuation
_GREETINGS = frozenset(["bonjour", "bonsoir", "salut", "coucou", "hello", "allo", "madame", "monsieur"])
_GREETINGS |= {"mademoiselle", "re"}
_POLITE = frozenset(["merci", "beaucoup", "svp", "stp", "s", "il", "vous", "plait", "encore", "bonne"])
_POLITE |= {"journee", "soiree", "cordialement", "a", "bien", "tres"}

_ACCEPT = re.compile(
    r"^(?:oui|ouais|ouai|ok|okay|oki|okk|d accord|c est d accord|parfait|entendu|tres bien|c est bon|"
    r"ca marche|ca me va|ca me convient|volontiers|je confirme|confirme|confirmer|confirmation|super|top|"
    r"yes|bien recu|c est note|note|avec plaisir|impeccable|nickel|genial|merci oui|"
    r"c est (?:parfait|tres bien|super|ok|entendu|gentil)|ca ira|pas de (?:probleme|souci)|sans probleme|"
    r"bien sur|bien entendu|ca roule|ca m arrange|c est tout bon)\b"
)
_DECLINE = re.compile(
    r"^(?:non|nan|no|pas possible|impossible|pas besoin|ca (?:ne )?(?:m arrange|me convient|me va|va) pas|"
    r"je refuse|pas interesse|pas disponible|je ne suis pas disponible|pas cette fois|sans facon|"
    r"(?:ce n est|c est|ce n sera|ca ne sera) pas possible|ca ne m interesse pas)\b"
)
_CHOICE = re.compile(
    r"^(?:je (?:prends|choisis|veux|prendrai|retiens) )?(?:(?:choix|option|numero|n|no|le|la|proposition) )?"
    r"(?P<c>[1-9])$"
)
_CHOICE_ANY = re.compile(r"\b(?:choix|option|numero|proposition|creneau|n|no) (?P<c>[1-9])\b")
_STOP_EXACT = re.compile(
    r"^(?:stop|stopp|arret|arrete|arreter|arretez|desabonner|desabonnement|desinscription|desinscrire|"
    r"unsubscribe)(?: (?:sms|svp|stp|merci|tout|les|messages?|moi))*$"
)
_STOP_ANY = re.compile(
    r"\b(?:ne (?:veux|veut|souhaite|souhaitons|voulons) plus (?:recevoir|de sms|de messages)|"
    r"ne m envoyez plus|plus de sms|stop sms|desabonn\w*|desinscri\w*)\b"
)
_STOP_SENTENCE = re.compile(
    r"\b(?:(?:arretez|arreter|arrete|stop|stoppez|stopper|cessez|cesser)(?: \w+){0,3} "
    r"(?:sms|messages?|textos?|envoyer|envois)|ne plus (?:me |nous |m |lui )?(?:envoyer|recevoir|ecrire)|"
    r"(?:veux|veut|souhaite|voulons) plus (?:de |d |recevoir )?(?:sms|messages?|textos?|vos)|"
    r"plus de textos?)\b"
)
_START_SENTENCE = re.compile(
    r"\b(?:recevoir (?:a|de) nouveau|(?:a|de) nouveau recevoir|recevoir (?:encore|a nouveau|de nouveau)|"
    r"re ?recevoir|renvoy\w* (?:les|vos|des|mes) (?:sms|messages?|textos?)|"
    r"remett\w* (?:moi |nous )?(?:les|vos|des) (?:sms|messages?|textos?)|stop par erreur|"
    r"reinscri\w*|reabonn\w*|reactiv\w*)\b"
)
_START = re.compile(
    r"^(?:start|reprendre|reprise|demarrer|unstop|reactiver|reabonner|recommencer|je reprends)"
    r"(?: (?:svp|stp|merci|sms|les sms))*$"
)
_HELP_QUESTION = re.compile(
    r"\b(?:comment (?:on fait|faire|je fais|je dois faire|proceder|ca se passe|vous contacter)|"
    r"(?:on|je) fais? comment|(?:je|on) (?:dois|doit) faire quoi|(?:sais|savoir) (?:pas )?(?:quoi|comment) "
    r"(?:faire|repondre)|que (?:dois je|faut il|faire|repondre)|qu est ce que? (?:je dois|il faut|on doit|"
    r"je fais|on fait|je reponds|je dois repondre)|repondre quoi|je (?:ne )?comprends? (?:pas|rien)|"
    r"n y comprends rien|m expliquer)\b"
)
_HELP_EXACT = re.compile(r"^(?:(?:\? ?)+|aide|help|info|infos|menu|aidez moi|au secours|sos)$")
_HELP_ANY = re.compile(
    r"\b(?:comment ca marche|comment faire|comment ca fonctionne|mode d emploi|je ne comprends pas|"
    r"besoin d aide|de l aide|aide|m aider|nous aider|aidez moi)\b(?! (?:menagere|soignante|a domicile))"
)
_CANCEL = re.compile(
    r"\b(?:annul\w*|decommand\w*|ne (?:peux|peut|pourrai|pourrais|pourra|pourrons|pouvons) (?:plus|pas) "
    r"(?:venir|y aller|aller|me deplacer|faire le trajet|etre la)|n (?:ai|a) plus besoin|plus besoin|"
    r"empeche\w*|laisser tomber|ne venez pas|"
    # "ma fille ne viendra pas avec moi" is about company, not the trip
    r"ne (?:viendrai|viendra) pas(?! (?:seule?|tout seule?|a pied|avec))|"
    # "je ne viendrai plus", "j'irai pas", "je ne vais plus au kiné": saying they will not come
    r"(?:je|j|on|nous|ne|n) (?:viendrai|viendra|viendrons|viendront|viens|vient|venons|irai|ira|irons|iront) "
    r"(?:pas|plus)(?! (?:seule?|tout seule?|a pied|avec))|"
    r"(?:je|on|nous|il|elle) ne (?:vais|va|allons|vont) plus|"
    r"pas (?:la peine|besoin) de (?:venir|passer|me chercher|la chercher|le chercher|nous chercher)|"
    r"(?:rdv|rendez vous|seance|consultation) (?:est |a ete )?supprime\w*)\b"
)
_WISH = re.compile(
    r"\b(?:aller|emmener|emmene|emmenez|amener|amene|conduire|conduise|transport|voiture|chauffeur|vehicule|"
    r"trajet|rdv|rendez vous|consultation|deplacer|rendre|chercher|prendre|deposer|accompagner|courses?|"
    r"reserver|reservation|covoiturage|besoin|partir|depart|retour|revenir|examen|dialyse|radio|irm)\b"
)

_RETURN_CUE = re.compile(
    r"\b(?:retour|revenir|rentrer|rentre|ramener|ramene|raccompagner|raccompagne|reprendre|recuperer|"
    r"recupere|repartir|fini|finis|finit|finir|termine|terminer|sortirai|sortira|"
    r"(?:sors|sort|sortir|sortie) (?:de|du) (?:l )?(?:hopital|clinique|ch|consultation|rdv|examen|cabinet))\b"
)
_ARRIVE_CUE = re.compile(
    r"\b(?:(?:train|bus|car|avion|navette) (?:part|est|arrive)|rdv|rendez vous|rendezvous|consultation|"
    r"convocation|convoque|examen|y etre|etre a|etre au|"
    r"etre la|etre sur place|arriver|arrivee|seance|train|bus|avion|operation|intervention|dialyse|chimio|"
    r"prise de sang|radio|irm|scanner|echographie|kine|dentiste|medecin|docteur|cardio\w*|ophtalmo\w*|"
    r"dermato\w*|specialiste|analyses?|laboratoire|labo|hopital|clinique|ch|infirmier\w*|notaire|messe|"
    r"ceremonie|enterrement|obseques|reunion)\b"
)
_DEPART_CUE = re.compile(
    r"\b(?:partir|pars|part|partons|partirai|depart|(?:me|nous|la|le|les) (?:prendre|chercher)|"
    r"pretes?|prets?|disponible|dispo|quitter)\b"
)
_CUES = (("return_time", _RETURN_CUE), ("arrive_by", _ARRIVE_CUE), ("depart_after", _DEPART_CUE))
_FROM_PLACE = re.compile(r"\b(?:pars|part|partir|depart|partant) (?:de|d|du|depuis)\b")
_OBLIGATION = re.compile(r"\b(?:dois|doit|devons|doivent|faut)\b")

_NUMBERS = {"un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "six": 6, "sept": 7, "huit": 8}
_N = r"(\d|deux|trois|quatre|cinq|six|sept|huit)"
_PAX_EXPLICIT = re.compile(
    rf"\b(?:nous sommes|nous serons|nous serions|on est|on sera|on serait|serons) {_N}\b"
    rf"|\b{_N} ?(?:personnes?|pers|passagers?|adultes?|places?)\b"
)
_PAX_TWO = re.compile(r"\b(?:nous deux|tous les deux|toutes les deux|tous deux)\b")
_RELATION = (
    r"(?:petite fille|petit fils|petits enfants|petites filles|belle fille|beau fils|belle mere|beau pere|"
    r"belle soeur|beau frere|auxiliaire de vie|aide soignante|aide menagere|mari|femme|epoux|epouse|"
    r"compagnon|compagne|conjointe?|fils|filles?|frere|soeur|mere|pere|maman|papa|voisine?|amie?s?|copain|copine|"
    r"cousine?|tante|oncle|neveu|niece|enfants?|accompagnat(?:eur|rice)|infirmiere|aidante?|aide a domicile|"
    r"aide)"
)
_POSS = r"(?:mon|ma|mes|une|un|notre|nos)"
_PAX_AVEC = re.compile(rf"\bavec {_POSS} {_RELATION}(?: et {_POSS} {_RELATION})*\b")
_PAX_PAIR = re.compile(
    rf"\b(?:moi et {_POSS} {_RELATION}|{_POSS} {_RELATION} et moi|{_POSS} {_RELATION} "
    r"(?:m accompagne|m accompagnera|vient avec moi|viendra avec moi|sera avec moi)|j accompagne|"
    r"j accompagnerai|je l accompagne|je l accompagnerai)\b"
)
_PLURAL_RELATION = re.compile(r"\bmes |\bnos ")

_HOME_BEFORE = re.compile(
    r"(?:habite|habitons|habitent|habitant|domicilie|domiciliee|vis|vit|je suis de|suis de|reside|residant)"
    r"(?: a| au| en| sur| pres de| pres d)?$"
)
_HERE_BEFORE = re.compile(
    r"(?:je suis|je me trouve|suis actuellement|je serai|elle est|il est) (?:a|au)"
    r"(?:(?: \w+){1,3} (?:de|d|du))?$"
)
_ORIGIN_BEFORE = re.compile(
    r"(?:depuis|au depart de|depart de|partir de|pars de|part de|partant de|partirai de|"
    r"(?:chercher|prendre|recuperer) (?:a|au|en))$"
)
_DEST_PREPOSITIONS = frozenset({"a", "au", "aux", "pour", "vers", "sur", "chez", "direction", "jusqu"})
_TRIP_BEFORE = re.compile(
    r"\b(?:rdv|rendez|aller|rendre|emmener|amener|conduire|transport|consultation|va|vais)\b"
)


@dataclass(slots=True)
class ParsedMessage:
    """What one SMS says. ``origin`` None means the resident's home."""

    intent: str = "unknown"
    destination: str | None = None
    origin: str | None = None
    date: date | None = None
    arrive_by: str | None = None
    depart_after: str | None = None
    return_time: str | None = None
    passengers: int = 1
    destination_place: str | None = None
    choice: int | None = None
    confidence: float = 0.0
    recurrence: Recurrence | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dict, one key per field, the date as YYYY-MM-DD."""
        return {
            "intent": self.intent,
            "destination": self.destination,
            "origin": self.origin,
            "date": self.date.isoformat() if self.date else None,
            "arrive_by": self.arrive_by,
            "depart_after": self.depart_after,
            "return_time": self.return_time,
            "passengers": self.passengers,
            "destination_place": self.destination_place,
            "choice": self.choice,
            "confidence": round(self.confidence, 2),
            "recurrence": self.recurrence.to_dict() if self.recurrence else None,
        }


def normalize(text: str) -> list[str]:
    """Folded tokens with SMS shorthand expanded ("Bjr, jai rdv dmain" → bonjour j ai rdv demain)."""
    raw = fold_for_dates(text[:MAX_CHARS].replace("?", f" {_QMARK} ")).split()
    raw = ["?" if t == _QMARK else t for t in raw]
    tokens: list[str] = []
    for i, word in enumerate(raw):
        if word == "c" and (i + 1 >= len(raw) or raw[i + 1] != "est"):
            tokens += ["c", "est"]
        else:
            tokens += SMS_WORDS.get(_forgiven(word), _forgiven(word)).split()
    return tokens


def _forgiven(word: str) -> str:
    """``word``, or the answer keyword it stretches or misspells ("ouiii" → oui, "anuler" → annuler)."""
    if word in SMS_WORDS or not word.isalpha():
        return word
    squeezed = _STRETCHED.get(re.sub(r"(.)\1+", r"\1", word))
    if squeezed is not None:
        return squeezed
    if len(word) >= 6:
        for keyword in sorted(_KEYWORDS):
            if Levenshtein.distance(word, keyword, score_cutoff=2) <= (2 if len(keyword) >= 12 else 1):
                return keyword
    return word


def _core(tokens: list[str]) -> str:
    """The message without greetings in front and politeness at the end."""
    start, end = 0, len(tokens)
    while start < end and (tokens[start] in _GREETINGS or (tokens[start] == "merci" and end - start > 1)):
        start += 1
    while end > start and tokens[end - 1] in _POLITE | _GREETINGS:
        end -= 1
    return " ".join(tokens[start:end])


def _time_role(norm: str, times: list[TimeMention], k: int) -> str:
    """ "arrive_by", "depart_after" or "return_time" for the k-th time."""
    mention = times[k]
    low = times[k - 1].end if k else 0
    window = norm[max(low, mention.start - 90) : mention.start].replace("aller retour", "aller")
    window = _FROM_PLACE.sub(" ", window)  # "je pars de Gramat" tells where from, not when
    best: tuple[int, str] | None = None
    for role, cue in _CUES:
        for found in cue.finditer(window):
            if best is None or found.end() > best[0]:
                best = (found.end(), role)
    if best is not None:
        return best[1]
    tail = re.sub(r"(?: (?:a|vers|environ|de))+ ?$", "", window).rstrip()
    if tail.endswith((" pour", " avant")) or tail in ("pour", "avant"):
        return "arrive_by"
    if tail.endswith((" des", " apres", " a partir")) or tail in ("des", "apres"):
        return "depart_after"
    high = times[k + 1].start if k + 1 < len(times) else len(norm)
    ahead = re.split(r" (?:et|puis|ensuite|mais) ", norm[mention.end : min(high, mention.end + 30)])[0]
    if re.match(r" ?(?:pour le |le |au )?retour\b", ahead):
        return "return_time"
    first: tuple[int, str] | None = None
    for role, cue in (("arrive_by", _ARRIVE_CUE), ("depart_after", _DEPART_CUE)):
        hit = cue.search(ahead)
        if hit and (first is None or hit.start() < first[0]):
            first = (hit.start(), role)
    if first is not None:
        return first[1]
    if _ARRIVE_CUE.search(norm) or _OBLIGATION.search(norm):
        return "arrive_by"
    return "depart_after"


def _assign_times(norm: str, times: list[TimeMention], result: ParsedMessage) -> None:
    for k, mention in enumerate(times):
        role = _time_role(norm, times, k)
        if getattr(result, role) is None:
            setattr(result, role, mention.hhmm)


def _passengers(norm: str) -> int:
    explicit = _PAX_EXPLICIT.search(norm)
    if explicit:
        raw = explicit.group(1) or explicit.group(2)
        return max(1, min(8, int(raw) if raw.isdigit() else _NUMBERS[raw]))
    if _PAX_TWO.search(norm):
        return 2
    companions = 0
    for found in _PAX_AVEC.finditer(norm):
        parts = found.group(0).split(" et ")
        companions += sum(2 if _PLURAL_RELATION.search(" " + p) else 1 for p in parts)
    companions += len(_PAX_PAIR.findall(norm))
    return max(1, min(8, 1 + companions))


def _role(tokens: list[str], match: Match, matches: list[Match]) -> str:
    """ "home", "origin" or "destination" for a place found in the message."""
    before = " ".join(tokens[max(0, match.start - 3) : match.start])
    if _HOME_BEFORE.search(before):
        return "home"
    if _ORIGIN_BEFORE.search(before) or _HERE_BEFORE.search(
        " ".join(tokens[max(0, match.start - 7) : match.start])
    ):
        return "origin"
    prev = tokens[match.start - 1] if match.start else ""
    nxt = tokens[match.end] if match.end < len(tokens) else ""
    if prev in ("de", "d", "du") and nxt in ("a", "au", "aux", "pour", "vers", "jusqu"):
        follow = match.end + (2 if nxt == "jusqu" else 1)
        if any(m.start in (follow, follow + 1) for m in matches if m is not match):
            return "origin"
    return "destination"


def _destination_score(tokens: list[str], match: Match, home: str | None) -> float:
    score = 4.0 if match.place else 0.0
    if home is not None and match.insee == home:
        score -= 3
    if match.start and tokens[match.start - 1] in _DEST_PREPOSITIONS:
        score += 2
    if _TRIP_BEFORE.search(" ".join(tokens[max(0, match.start - 4) : match.start])):
        score += 1
    return score + (1 if match.exact else 0)


def _places(
    tokens: list[str],
    gazetteer: Gazetteer,
    home: str | None,
    result: ParsedMessage,
    own: Sequence[PlaceRecord],
) -> bool:
    """Sets origin and destination; True when the destination was spelled exactly."""
    matches = gazetteer.find(tokens, home, own)
    destinations: list[Match] = []
    for match in matches:
        role = _role(tokens, match, matches)
        if role == "origin" and result.origin is None:
            result.origin = None if match.insee == home else match.insee
        elif role == "destination":
            destinations.append(match)
    if destinations:
        best = max(destinations, key=lambda m: (_destination_score(tokens, m, home), -m.start))
        result.destination = best.insee
        result.destination_place = best.place
        return best.exact
    return False


def _intent(tokens: list[str], norm: str, result: ParsedMessage) -> str:
    core = _core(tokens)
    has_trip = result.destination is not None or result.date is not None or result.arrive_by is not None
    has_time = any(x is not None for x in (result.arrive_by, result.depart_after, result.return_time))
    if not core:
        if re.search(r"\btres bien\b", norm):
            return "accept"  # "très bien merci": every word is also a polite one
        return "help" if tokens and set(tokens) <= {"?"} else "unknown"
    if _HELP_EXACT.match(core):
        return "help"
    opt_out = _opt_out(core, norm, has_trip)
    if opt_out is not None:
        return opt_out
    if _DECLINE.match(core):
        return "cancel" if "annul" in core else "decline"
    if _CANCEL.search(norm):
        return "cancel"
    if _ACCEPT.match(core) and result.destination is None:
        return "accept"
    if _CHOICE.match(core):
        return "accept"
    if (_HELP_ANY.search(norm) or _HELP_QUESTION.search(norm)) and not has_trip and not has_time:
        return "help"
    if result.destination is not None:
        return "request"
    if (result.date is not None or has_time) and _WISH.search(norm):
        return "request"
    return "unknown"


def _choice(core: str) -> int | None:
    rest = _ACCEPT.sub("", core).strip()
    rest = " ".join(w for w in rest.split() if w not in _POLITE)
    found = _CHOICE.match(rest) or _CHOICE_ANY.search(core)
    return int(found.group("c")) if found else None


def _confidence(result: ParsedMessage, exact_place: bool) -> float:
    if result.intent == "unknown":
        return 0.2
    if result.intent != "request":
        return 0.9
    score = 0.4 + (0.3 if result.destination else 0.0) + (0.15 if result.date else 0.0)
    if result.arrive_by or result.depart_after:
        score += 0.15
    return score - (0.0 if exact_place or result.destination is None else 0.15)


def parse_message(
    text: str,
    today: date,
    home_insee: str | None = None,
    gazetteer: Gazetteer | None = None,
    places: Sequence[PlaceRecord] = (),
) -> ParsedMessage:
    """Read one SMS. ``today`` is the resident's local date; ``home_insee`` their commune, if known;
    ``places`` the association's own named places, read before the shared registry."""
    gazetteer = gazetteer or default_gazetteer()
    tokens = normalize(text)
    norm = " ".join(tokens)
    result = ParsedMessage()
    result.date = find_date(norm, today)[0]
    times = find_times(norm)
    _assign_times(norm, times, result)
    result.passengers = _passengers(norm)
    exact = _places(tokens, gazetteer, home_insee, result, places)
    result.intent = _intent(tokens, norm, result)
    if result.intent in ("request", "cancel"):
        result.recurrence = find_recurrence(norm, today)
        if result.recurrence is not None:
            result.date = result.recurrence.first(today)
    if result.intent == "accept":
        result.choice = _choice(_core(tokens))
        if result.choice is not None and re.search(rf"\b(?:le|la) {result.choice}\b", norm):
            result.date = None  # "oui le 2" picks option 2, not the 2nd of the month
    result.confidence = _confidence(result, exact)
    return result


def opt_out_intent(text: str) -> str | None:
    """ "stop" or "start" when the text asks for it, else None: read for any sender, without the gazetteer.

    A stranger's STOP must be honoured as surely as a resident's, and costs no place lookup.
    """
    tokens = normalize(text)
    return _opt_out(_core(tokens), " ".join(tokens), has_trip=False)


def _opt_out(core: str, norm: str, has_trip: bool) -> str | None:
    """ "stop", "start" or None; asking for messages again wins over the word stop ("stop par erreur")."""
    if _START.match(core):
        return "start"
    wants_out = bool(_STOP_EXACT.match(core) or _STOP_ANY.search(norm) or _STOP_SENTENCE.search(norm))
    if _START_SENTENCE.search(norm) and not re.search(r"\b(?:ne|n) \w+ plus\b|\bplus (?:de|d)\b", norm):
        return "start"
    if wants_out or (core.startswith("stop ") and not has_trip):
        return "stop"
    return None
