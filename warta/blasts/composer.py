"""Pure helpers for the composer: personalisation fields, the longest rendering, content flags.

Theory of operation: a draft's text may hold ``{nama}`` and ``{kelurahan}``. What goes out is
rendered per recipient, so the segment count the approver sees must hold for *every* recipient:
we measure the text with each field replaced by its longest allowed value (values are cut to that
length and reduced to GSM-7 when rendered, so the bound really is a bound). No Django, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from warta.sms import Encoding, analyse, measure, replace_suggested
from warta.sms.gsm import is_gsm7

FIELD_RE = re.compile(r"\{([^{}\s]{1,30})\}")

#: Known fields: the longest value rendered (longer values are cut) and the value used when a
#: recipient has none (an uploaded number that is not a contact, a contact without a region).
FIELDS: dict[str, tuple[int, str]] = {
    "nama": (20, "Warga"),
    "kelurahan": (25, "Jakarta"),
}

WARN_SEGMENTS = 1  # above this: a warning (the target is one 160-character GSM-7 message)
JUSTIFY_SEGMENTS = 2  # above this: a written justification is required
LINK_RE = re.compile(r"(https?://|www\.|\b[a-z0-9-]+\.(?:id|com|net|org|ly|co|io|me|link)(?:/|\b))", re.I)


@dataclass(frozen=True)
class FieldError:
    name: str


def fields_in(text: str) -> list[str]:
    """Field names used in ``text``, in order of first use."""
    seen: dict[str, None] = {}
    for m in FIELD_RE.finditer(text):
        seen.setdefault(m.group(1), None)
    return list(seen)


def unknown_fields(text: str) -> list[str]:
    return [name for name in fields_in(text) if name not in FIELDS]


def _clean_value(value: str, limit: int, gsm_only: bool) -> str:
    value = " ".join((value or "").split())[:limit]
    if gsm_only:
        # A name with "é" must not turn a whole GSM-7 message into UCS-2 (double the cost).
        value = "".join(ch for ch in replace_suggested(value) if is_gsm7(ch))
    return value


def render(text: str, values: Mapping[str, str]) -> str:
    """``text`` with each known field replaced by the recipient's value (cut, reduced to GSM-7
    when the text itself is GSM-7); unknown fields are left as typed (submission refuses them)."""
    gsm_only = is_gsm7(FIELD_RE.sub("", text))

    def sub(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in FIELDS:
            return m.group(0)
        limit, fallback = FIELDS[name]
        return _clean_value(values.get(name) or "", limit, gsm_only) or fallback

    return FIELD_RE.sub(sub, text)


def longest(text: str) -> str:
    """The longest rendering: each known field at its full length (in a one-septet character)."""
    return FIELD_RE.sub(lambda m: "x" * FIELDS[m.group(1)][0] if m.group(1) in FIELDS else m.group(0), text)


@dataclass
class Composition:
    """What the composer shows for a text."""

    text: str
    encoding: Encoding
    characters: int
    segments: int
    per_segment: int
    remaining: int
    fields: list[str]
    unknown: list[str]
    longest_segments: int
    forcing: list[dict[str, object]]
    suggested_text: str
    replacing_helps: bool
    highlighted: list[tuple[str, bool]]  # (chunk, forces UCS-2)
    warnings: list[str] = field(default_factory=list)
    needs_justification: bool = False


def compose(text: str) -> Composition:
    m = measure(text)
    longest_m = measure(longest(text)) if fields_in(text) else m
    a = analyse(text)
    forcing_chars = {f.char for f in a.forcing}
    chunks: list[tuple[str, bool]] = []
    for ch in text:
        flag = ch in forcing_chars
        if chunks and chunks[-1][1] == flag:
            chunks[-1] = (chunks[-1][0] + ch, flag)
        else:
            chunks.append((ch, flag))
    segments = max(m.segments, longest_m.segments)
    return Composition(
        text=text, encoding=m.encoding, characters=m.characters, segments=m.segments,
        per_segment=m.per_segment, remaining=m.remaining, fields=fields_in(text), unknown=unknown_fields(text),
        longest_segments=longest_m.segments,
        forcing=[{"char": f.char, "codepoint": f.codepoint, "name": f.name, "count": f.count,
                  "replacement": f.replacement} for f in a.forcing],
        suggested_text=a.suggested_text, replacing_helps=a.replacing_helps and a.suggested_text != text,
        highlighted=chunks, needs_justification=segments > JUSTIFY_SEGMENTS,
    )


def replace_char(text: str, char: str) -> str:
    """``text`` with every ``char`` replaced by its GSM-7 suggestion (one-click fix)."""
    from warta.sms import suggest_replacement

    rep = suggest_replacement(char)
    return text if rep is None else text.replace(char, rep)


def has_link(text: str) -> bool:
    return bool(LINK_RE.search(text))


def watch_hits(text: str, words: Iterable[str]) -> list[str]:
    low = text.lower()
    hits = []
    for w in words:
        w = w.strip().lower()
        if w and re.search(r"(?<!\w)" + re.escape(w) + r"(?!\w)", low):
            hits.append(w)
    return hits


def has_opt_out_line(text: str, markers: Iterable[str]) -> bool:
    up = text.upper()
    return any(m.strip().upper() and m.strip().upper() in up for m in markers)
