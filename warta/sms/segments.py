"""Encoding choice, segment counting and splitting, concatenation UDH.

Theory of operation
-------------------
A text goes out in GSM-7 when every character is in the GSM 03.38 tables, else in UCS-2. One
SMS carries 140 octets of user data: 160 septets or 70 UTF-16 units. A longer text is sent as a
concatenated ("multipart") message; each part starts with a 6-octet User Data Header (UDHL 05,
IEI 00, length 03, reference, total, sequence), which leaves 153 septets (140 octets minus 6 of
UDH is 134 octets = 1072 bits; the UDH plus one fill bit occupies 7 septets, 160 - 7 = 153) or
67 units (134 octets / 2).

Splitting is greedy, character by character: a character goes into the current part if its whole
cost fits, else it opens the next part. So an escape pair (ESC + '€', 2 septets) and a surrogate
pair (an emoji, 2 units) are never cut, and a part may end one septet or unit short of its limit.
Counting (:func:`measure`) walks the same costs without building the parts; the tests check that
the two agree.

The reference number of a multipart message is the caller's: this module has no clock and no
randomness, so the same input always gives the same bytes. An 8-bit reference (0-255) is what we
send; :func:`parse_udh` also reads 16-bit references (IEI 08) from inbound messages.

An empty text has zero segments: refusing to send it is the caller's decision, and a composer
shows "0" for it.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from warta.sms.gsm import encode_gsm7, encode_ucs2, gsm7_septet_cost

__all__ = [
    "GSM7_MULTI_LIMIT",
    "GSM7_SINGLE_LIMIT",
    "MAX_SEGMENTS",
    "UCS2_MULTI_LIMIT",
    "UCS2_SINGLE_LIMIT",
    "Concat",
    "Encoding",
    "InformationElement",
    "Measure",
    "MessageTooLong",
    "Segment",
    "SegmentPlan",
    "UdhError",
    "UserDataHeader",
    "choose_encoding",
    "concat_udh",
    "measure",
    "parse_udh",
    "plan",
    "split_text",
]

GSM7_SINGLE_LIMIT = 160
GSM7_MULTI_LIMIT = 153
UCS2_SINGLE_LIMIT = 70
UCS2_MULTI_LIMIT = 67
# The 8-bit concatenation IE counts parts in one octet.
MAX_SEGMENTS = 255

IEI_CONCAT_8 = 0x00
IEI_CONCAT_16 = 0x08


class Encoding(enum.StrEnum):
    """How the text goes on the air; the value is what JSON and the database store."""

    GSM7 = "gsm7"  # GSM 03.38 default alphabet, SMPP data_coding 0, unpacked septets
    UCS2 = "ucs2"  # UTF-16-BE, SMPP data_coding 8

    @property
    def data_coding(self) -> int:
        """SMPP ``data_coding`` for this encoding (0: SMSC default alphabet, 8: UCS-2)."""
        return 0 if self is Encoding.GSM7 else 8

    @property
    def single_limit(self) -> int:
        return GSM7_SINGLE_LIMIT if self is Encoding.GSM7 else UCS2_SINGLE_LIMIT

    @property
    def multi_limit(self) -> int:
        return GSM7_MULTI_LIMIT if self is Encoding.GSM7 else UCS2_MULTI_LIMIT


class MessageTooLong(ValueError):
    """The text needs more than 255 parts, the most an 8-bit concatenation header can number."""


class UdhError(ValueError):
    """A User Data Header is truncated or its lengths disagree."""


def choose_encoding(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM 03.38 tables, else UCS-2."""
    for ch in text:
        if gsm7_septet_cost(ch) is None:
            return Encoding.UCS2
    return Encoding.GSM7


def _costs(text: str, encoding: Encoding) -> list[int]:
    if encoding is Encoding.GSM7:
        # choose_encoding already proved every character encodes, so cost is never None here.
        return [gsm7_septet_cost(ch) or 0 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


@dataclass(frozen=True, slots=True)
class Measure:
    """What a composer shows: the encoding and what the text costs."""

    encoding: Encoding
    characters: int  # Python characters (code points) the user typed
    units: int  # septets for GSM-7, UTF-16 units for UCS-2
    segments: int
    per_segment: int  # the limit of one part for this text (160/153 or 70/67)
    remaining: int  # units still free in the last part before another part is needed


def measure(text: str) -> Measure:
    """Count what ``text`` costs without building the parts."""
    encoding = choose_encoding(text)
    costs = _costs(text, encoding)
    total = sum(costs)
    if total == 0:
        return Measure(encoding, 0, 0, 0, encoding.single_limit, encoding.single_limit)
    if total <= encoding.single_limit:
        return Measure(
            encoding, len(text), total, 1, encoding.single_limit, encoding.single_limit - total
        )
    limit = encoding.multi_limit
    segments = 1
    used = 0
    for cost in costs:
        if used + cost > limit:
            segments += 1
            used = 0
        used += cost
    return Measure(encoding, len(text), total, segments, limit, limit - used)


def split_text(text: str) -> tuple[Encoding, list[str]]:
    """Split ``text`` into the texts of its parts, never cutting an escape or surrogate pair."""
    encoding = choose_encoding(text)
    costs = _costs(text, encoding)
    total = sum(costs)
    if total == 0:
        return encoding, []
    if total <= encoding.single_limit:
        return encoding, [text]
    limit = encoding.multi_limit
    parts: list[str] = []
    start = 0
    used = 0
    for index, cost in enumerate(costs):
        if used + cost > limit:
            parts.append(text[start:index])
            start = index
            used = 0
        used += cost
    parts.append(text[start:])
    return encoding, parts


def concat_udh(reference: int, total: int, sequence: int, *, ref16: bool = False) -> bytes:
    """Build the concatenation UDH, UDHL included.

    8-bit reference: ``05 00 03 RR TT SS`` (6 octets). 16-bit: ``06 08 04 RRRR TT SS``.
    """
    if not 1 <= total <= 255:
        raise ValueError(f"total parts must be 1..255, not {total}")
    if not 1 <= sequence <= total:
        raise ValueError(f"sequence must be 1..{total}, not {sequence}")
    if ref16:
        if not 0 <= reference <= 0xFFFF:
            raise ValueError(f"16-bit reference out of range: {reference}")
        return bytes((6, IEI_CONCAT_16, 4, reference >> 8, reference & 0xFF, total, sequence))
    if not 0 <= reference <= 0xFF:
        raise ValueError(f"8-bit reference out of range: {reference}")
    return bytes((5, IEI_CONCAT_8, 3, reference, total, sequence))


@dataclass(frozen=True, slots=True)
class InformationElement:
    """One UDH information element, kept as raw bytes when we do not interpret it."""

    iei: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Concat:
    """Concatenation info from a UDH: which part of which message this is."""

    reference: int
    total: int
    sequence: int
    ref_bits: int  # 8 (IEI 00) or 16 (IEI 08)


@dataclass(frozen=True, slots=True)
class UserDataHeader:
    """A parsed UDH: every element in order, and the concatenation info if there is valid one."""

    elements: tuple[InformationElement, ...]
    concat: Concat | None
    length: int  # octets the header occupies, the UDHL octet included


def parse_udh(short_message: bytes) -> tuple[UserDataHeader, bytes]:
    """Split a message with UDHI set into its header and the body after it.

    Elements other than concatenation are kept, uninterpreted. A concatenation element whose
    total is 0 or whose sequence is 0 or beyond the total is ignored, as TS 23.040 §9.2.3.24.1
    tells receivers to; it stays in ``elements`` for logging. The first valid concatenation
    element wins.
    """
    if not short_message:
        raise UdhError("UDHI set but the message is empty")
    udhl = short_message[0]
    end = 1 + udhl
    if end > len(short_message):
        raise UdhError(f"UDH length {udhl} exceeds the {len(short_message) - 1} octets present")
    elements: list[InformationElement] = []
    concat: Concat | None = None
    i = 1
    while i < end:
        if i + 2 > end:
            raise UdhError("truncated information element header")
        iei = short_message[i]
        iel = short_message[i + 1]
        data_start = i + 2
        data_end = data_start + iel
        if data_end > end:
            raise UdhError(f"information element {iei:#04x} overruns the UDH")
        data = bytes(short_message[data_start:data_end])
        elements.append(InformationElement(iei, data))
        if concat is None:
            if iei == IEI_CONCAT_8 and iel == 3:
                candidate = Concat(data[0], data[1], data[2], 8)
            elif iei == IEI_CONCAT_16 and iel == 4:
                candidate = Concat((data[0] << 8) | data[1], data[2], data[3], 16)
            else:
                candidate = None
            if candidate and 1 <= candidate.sequence <= candidate.total:
                concat = candidate
        i = data_end
    return UserDataHeader(tuple(elements), concat, end), bytes(short_message[end:])


@dataclass(frozen=True, slots=True)
class Segment:
    """One SMS to submit."""

    sequence: int  # 1-based
    text: str
    units: int  # septets (GSM-7) or UTF-16 units (UCS-2) of the text, UDH excluded
    udh: bytes  # empty for a single-part message
    payload: bytes  # SMPP short_message: UDH + unpacked septets or UTF-16-BE

    @property
    def has_udh(self) -> bool:
        """Whether the submit must set esm_class UDHI (0x40)."""
        return bool(self.udh)


@dataclass(frozen=True, slots=True)
class SegmentPlan:
    """Everything the gateway needs to send ``text``: encoding, parts, counts."""

    text: str
    encoding: Encoding
    characters: int
    units: int  # septets or UTF-16 units of the whole text
    reference: int | None  # concatenation reference, None for a single part
    segments: tuple[Segment, ...]

    @property
    def segment_count(self) -> int:
        return len(self.segments)

    @property
    def data_coding(self) -> int:
        return self.encoding.data_coding


def plan(text: str, reference: int | None = None) -> SegmentPlan:
    """Plan the parts of ``text`` with SMPP-ready payloads.

    ``reference`` (0-255) is required when the text needs more than one part; the caller picks it
    (e.g. a per-destination counter) so that this function stays deterministic.
    Raises :class:`MessageTooLong` past 255 parts and ``ValueError`` for a missing or
    out-of-range reference.
    """
    encoding, parts = split_text(text)
    if len(parts) > MAX_SEGMENTS:
        raise MessageTooLong(f"text needs {len(parts)} parts; at most {MAX_SEGMENTS} are possible")
    encode = encode_gsm7 if encoding is Encoding.GSM7 else encode_ucs2
    multipart = len(parts) > 1
    if multipart:
        if reference is None:
            raise ValueError("a multipart message needs a concatenation reference (0-255)")
        if not 0 <= reference <= 0xFF:
            raise ValueError(f"8-bit reference out of range: {reference}")
    segments: list[Segment] = []
    total_units = 0
    for sequence, part in enumerate(parts, start=1):
        body = encode(part)
        units = len(body) if encoding is Encoding.GSM7 else len(body) // 2
        total_units += units
        udh = concat_udh(reference or 0, len(parts), sequence) if multipart else b""
        segments.append(Segment(sequence, part, units, udh, udh + body))
    return SegmentPlan(
        text=text,
        encoding=encoding,
        characters=len(text),
        units=total_units,
        reference=reference if multipart else None,
        segments=tuple(segments),
    )
