"""GSM-7 alphabet checks, SMS segment counting and GSM-7 transliteration.

Why: one UCS-2 character (a "ç", a curly apostrophe, an emoji) switches the
whole SMS to UCS-2, where a segment holds 70 characters instead of 160, so
the same reminder costs two or three times as much. The tables follow
3GPP TS 23.038 (GSM 03.38): position 0x09 of the basic table is the CAPITAL
"Ç"; Unicode's old GSM0338.TXT mapping gave the small "ç", but the
standard, and the networks that follow it, do not, so "ç" counts as UCS-2
here and is transliterated to "c".
"""

from __future__ import annotations

import re
import unicodedata

from unidecode import unidecode

# 3GPP TS 23.038 default alphabet (basic table), 0x1B (escape) excluded.
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Extension table: each is sent as escape + char, so it costs two septets.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

GSM7_SINGLE_SEGMENT = 160
GSM7_MULTI_SEGMENT = 153  # 7 septets go to the concatenation header
UCS2_SINGLE_SEGMENT = 70
UCS2_MULTI_SEGMENT = 67

# Meaning-keeping replacements for French text, tried before any fallback.
_REPLACEMENTS: dict[str, str] = {
    "â": "a",
    "ç": "c",
    "ê": "e",
    "ë": "e",
    "î": "i",
    "ï": "i",
    "ô": "o",
    "û": "u",
    "ÿ": "y",
    "á": "a",
    "í": "i",
    "ó": "o",
    "ú": "u",
    "À": "A",
    "Â": "A",
    "È": "E",
    "Ê": "E",
    "Ë": "E",
    "Î": "I",
    "Ï": "I",
    "Ô": "O",
    "Ù": "U",
    "Û": "U",
    "Ÿ": "Y",
    "œ": "oe",
    "Œ": "OE",
    "’": "'",
    "‘": "'",
    "‚": "'",
    "‛": "'",
    "´": "'",
    "`": "'",
    "ʼ": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "‹": '"',
    "›": '"',
    "…": "...",
    "–": "-",
    "—": "-",
    "‐": "-",
    "‑": "-",
    "−": "-",
    "•": "-",
    "·": ".",
    "°": "o",
    "\t": " ",
    "×": "x",
}
_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
# Zero-width joiners, variation selectors and similar invisible marks.
_INVISIBLE = re.compile(r"[\u200b-\u200d\u2060\ufeff\ufe00-\ufe0f\U000e0000-\U000e007f]")
_GUILLEMET_OPEN = re.compile(r"[«‹][\s\u00a0\u202f]*")
_GUILLEMET_CLOSE = re.compile(r"[\s\u00a0\u202f]*[»›]")


def _septets(char: str) -> int:
    return 2 if char in GSM7_EXTENSION else 1


def is_gsm7(text: str) -> bool:
    """True when every character is in the basic or extension table."""
    return all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text)


def gsm7_length(text: str) -> int:
    """Septets used by ``text`` (extension characters count double)."""
    return sum(_septets(c) for c in text)


def _pack(units: list[int], single: int, multi: int) -> int:
    """Segments needed; a unit (escape pair, surrogate pair) is never split."""
    total = sum(units)
    if total == 0:
        return 0
    if total <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > multi:
            count += 1
            used = 0
        used += size
    return count


def segments(text: str) -> int:
    """Number of SMS segments (0 for the empty string).

    GSM-7: 160 septets in one segment, else 153 per segment. UCS-2: 70
    UTF-16 code units in one segment, else 67 per segment; characters
    outside the BMP (most emoji) take two units.
    """
    if is_gsm7(text):
        return _pack([_septets(c) for c in text], GSM7_SINGLE_SEGMENT, GSM7_MULTI_SEGMENT)
    units = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return _pack(units, UCS2_SINGLE_SEGMENT, UCS2_MULTI_SEGMENT)


def _fallback(char: str) -> str:
    """GSM-7 stand-in for a character with no explicit replacement."""
    if unicodedata.category(char) in ("So", "Sk", "Cs", "Co", "Cn", "Cf"):
        return ""  # emoji, pictographs, unassigned, format characters
    base = unicodedata.normalize("NFKD", char)
    stripped = "".join(c for c in base if not unicodedata.combining(c))
    if stripped and is_gsm7(stripped):
        return stripped
    guess = unidecode(char)
    return "".join(c for c in guess if c in GSM7_BASIC or c in GSM7_EXTENSION)


def to_gsm7(text: str) -> str:
    """Transliterate to GSM-7 keeping the meaning: "ô"→"o", "œ"→"oe", "«x»"→'"x"'.

    Characters already in GSM-7 (é è à ù É Ç ...) are kept; emoji and
    invisible marks are dropped. The result always satisfies ``is_gsm7``.
    """
    text = _INVISIBLE.sub("", text)
    text = _GUILLEMET_OPEN.sub('"', text)
    text = _GUILLEMET_CLOSE.sub('"', text)
    text = _SPACES.sub(" ", text)
    out: list[str] = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            out.append(char)
        elif char in _REPLACEMENTS:
            out.append(_REPLACEMENTS[char])
        else:
            out.append(_fallback(char))
    return "".join(out)


def fit_sms(text: str) -> str:
    """The text itself if it is GSM-7, else its GSM-7 transliteration."""
    return text if is_gsm7(text) else to_gsm7(text)
