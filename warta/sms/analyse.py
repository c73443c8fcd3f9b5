"""What forces a text into UCS-2, what to type instead, and what each choice costs.

Theory of operation
-------------------
One curly quote pasted from a word processor turns a 160-character SMS into a 70-character one,
so a 150-character blast to a million citizens costs three million SMS instead of one million.
The composer shows the characters that do it, their positions, a GSM-7 replacement where one
exists (:data:`REPLACEMENTS`, a fixed, documented table; then, for accented Latin letters, the
letter without its accent), and the segment count with and without replacing.

A replacement is a suggestion, never applied behind the operator's back. Replacing is not always
cheaper: "…" is one UCS-2 unit but "..." is three septets, and a text that keeps an emoji stays
UCS-2 whatever else is replaced. So :class:`Analysis` carries both costs, and
``suggested_text`` is the replaced text only when it does not cost more segments.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from types import MappingProxyType

from warta.sms.gsm import gsm7_septet_cost
from warta.sms.segments import Encoding, measure

__all__ = [
    "REPLACEMENTS",
    "Analysis",
    "ForcingChar",
    "analyse",
    "replace_suggested",
    "suggest_replacement",
]

_TABLE: dict[str, str] = {
    # Single quotes, apostrophes, primes and the backtick (0x60 is '¿' in GSM, not '`').
    "\u2018": "'",  # ‘ left single quotation mark
    "\u2019": "'",  # ’ right single quotation mark (also the typographic apostrophe)
    "\u201a": "'",  # ‚ single low-9 quotation mark
    "\u201b": "'",  # ‛ single high-reversed-9 quotation mark
    "\u2032": "'",  # ′ prime
    "\u2035": "'",  # ‵ reversed prime
    "\u2039": "'",  # ‹ single left-pointing angle quotation mark
    "\u203a": "'",  # › single right-pointing angle quotation mark
    "\u00b4": "'",  # ´ acute accent
    "`": "'",  # grave accent / backtick
    "\u02bc": "'",  # ʼ modifier letter apostrophe
    # Double quotes and double primes.
    "\u201c": '"',  # “ left double quotation mark
    "\u201d": '"',  # ” right double quotation mark
    "\u201e": '"',  # „ double low-9 quotation mark
    "\u201f": '"',  # ‟ double high-reversed-9 quotation mark
    "\u2033": '"',  # ″ double prime
    "\u00ab": '"',  # « left-pointing double angle quotation mark
    "\u00bb": '"',  # » right-pointing double angle quotation mark
    # Dashes, hyphens and minus.
    "\u2010": "-",  # ‐ hyphen
    "\u2011": "-",  # ‑ non-breaking hyphen
    "\u2012": "-",  # ‒ figure dash
    "\u2013": "-",  # – en dash
    "\u2014": "-",  # — em dash
    "\u2015": "-",  # ― horizontal bar
    "\u2212": "-",  # − minus sign
    # Ellipsis, bullets, dots.
    "\u2026": "...",  # … horizontal ellipsis
    "\u2022": "-",  # • bullet
    "\u2023": "-",  # ‣ triangular bullet
    "\u2043": "-",  # ⁃ hyphen bullet
    "\u00b7": ".",  # · middle dot
    # Spaces: every Unicode space separator becomes a plain space.
    "\u00a0": " ",  # no-break space
    "\u1680": " ",  # ogham space mark
    "\u2000": " ",  # en quad
    "\u2001": " ",  # em quad
    "\u2002": " ",  # en space
    "\u2003": " ",  # em space
    "\u2004": " ",  # three-per-em space
    "\u2005": " ",  # four-per-em space
    "\u2006": " ",  # six-per-em space
    "\u2007": " ",  # figure space
    "\u2008": " ",  # punctuation space
    "\u2009": " ",  # thin space
    "\u200a": " ",  # hair space
    "\u202f": " ",  # narrow no-break space
    "\u205f": " ",  # medium mathematical space
    "\u3000": " ",  # ideographic space
    "\t": " ",  # tab (not in GSM 03.38)
    # Invisible characters pasted from the web and office documents: drop them.
    "\u00ad": "",  # soft hyphen
    "\u200b": "",  # zero width space
    "\u200c": "",  # zero width non-joiner
    "\u200d": "",  # zero width joiner
    "\u2060": "",  # word joiner
    "\ufeff": "",  # zero width no-break space / byte order mark
    # Line and paragraph separators become the newline they mean.
    "\u2028": "\n",  # line separator
    "\u2029": "\n",  # paragraph separator
    "\u0085": "\n",  # next line
    # Symbols with a conventional ASCII spelling.
    "\u00d7": "x",  # × multiplication sign
    "\u00f7": "/",  # ÷ division sign
    "\u2044": "/",  # ⁄ fraction slash
    "\u00a9": "(c)",  # © copyright sign
    "\u00ae": "(R)",  # ® registered sign
    "\u2122": "TM",  # ™ trade mark sign
    "\u2116": "No.",  # № numero sign
    "\u00bc": "1/4",  # ¼
    "\u00bd": "1/2",  # ½
    "\u00be": "3/4",  # ¾
    "\u00b2": "2",  # ² superscript two
    "\u00b3": "3",  # ³ superscript three
    "\u00b9": "1",  # ¹ superscript one
    "\u2192": "->",  # → rightwards arrow
    "\u2190": "<-",  # ← leftwards arrow
}

REPLACEMENTS: MappingProxyType[str, str] = MappingProxyType(_TABLE)
"""Character -> GSM-7 text to use instead. An empty string means "delete it"."""

# Every replacement must itself be GSM-7 basic characters (no escapes, which would cost double),
# else "replace" could create new UCS-2 forcers or raise the count unexpectedly.
assert all(gsm7_septet_cost(c) == 1 for v in _TABLE.values() for c in v), "table must map to GSM"


def suggest_replacement(char: str) -> str | None:
    """The GSM-7 text to use instead of ``char``, or None when there is none.

    Looks in :data:`REPLACEMENTS` first; then, for an accented Latin letter, drops the accent
    (``á`` -> ``a``, ``ô`` -> ``o``, ``ł`` stays without) when what is left is GSM-7.
    """
    if gsm7_septet_cost(char) is not None:
        return char
    replacement = _TABLE.get(char)
    if replacement is not None:
        return replacement
    decomposed = unicodedata.normalize("NFD", char)
    if len(decomposed) > 1:
        base = "".join(c for c in decomposed if not unicodedata.combining(c))
        # Only letters: we do not want to rewrite, say, a digit with an enclosing circle.
        if base and base.isalpha() and all(gsm7_septet_cost(c) == 1 for c in base):
            return base
    return None


@dataclass(frozen=True, slots=True)
class ForcingChar:
    """A character that forces UCS-2, where it occurs and what to use instead."""

    char: str
    codepoint: str  # "U+2019"
    name: str  # Unicode name, "" when it has none
    positions: tuple[int, ...]  # indexes into the text (code points)
    count: int
    replacement: str | None  # GSM-7 text to use instead; "" means delete; None: no replacement


@dataclass(frozen=True, slots=True)
class Analysis:
    """The composer's view of a text: what forces UCS-2 and the cost of each choice."""

    text: str
    encoding: Encoding
    forcing: tuple[ForcingChar, ...]  # in order of first occurrence
    segments_as_is: int
    replaced_text: str  # the text with every suggestion applied
    encoding_replaced: Encoding
    segments_replaced: int
    unreplaceable: tuple[str, ...]  # forcing characters with no GSM replacement (emoji, 中…)

    @property
    def replacing_helps(self) -> bool:
        """True when replacing every suggestion saves at least one segment."""
        return self.segments_replaced < self.segments_as_is

    @property
    def suggested_text(self) -> str:
        """The replaced text unless replacing costs more segments than leaving it."""
        # Never hand back a text that costs more than what the operator wrote.
        return self.replaced_text if self.segments_replaced <= self.segments_as_is else self.text


def replace_suggested(text: str) -> str:
    """``text`` with every character that has a suggestion replaced by it."""
    out: list[str] = []
    cache: dict[str, str] = {}
    for ch in text:
        rep = cache.get(ch)
        if rep is None:
            suggestion = suggest_replacement(ch)
            rep = ch if suggestion is None else suggestion
            cache[ch] = rep
        out.append(rep)
    return "".join(out)


def analyse(text: str) -> Analysis:
    """Find what forces UCS-2 in ``text`` and what it costs."""
    positions: dict[str, list[int]] = {}
    for index, ch in enumerate(text):
        if gsm7_septet_cost(ch) is None:
            positions.setdefault(ch, []).append(index)
    forcing = tuple(
        ForcingChar(
            char=ch,
            codepoint=f"U+{ord(ch):04X}",
            name=unicodedata.name(ch, ""),
            positions=tuple(where),
            count=len(where),
            replacement=suggest_replacement(ch),
        )
        for ch, where in positions.items()
    )
    as_is = measure(text)
    replaced = replace_suggested(text) if forcing else text
    after = measure(replaced) if forcing else as_is
    return Analysis(
        text=text,
        encoding=as_is.encoding,
        forcing=forcing,
        segments_as_is=as_is.segments,
        replaced_text=replaced,
        encoding_replaced=after.encoding,
        segments_replaced=after.segments,
        unreplaceable=tuple(f.char for f in forcing if f.replacement is None),
    )
