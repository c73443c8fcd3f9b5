"""GSM 03.38 (3GPP TS 23.038) 7-bit default alphabet and UCS-2 codecs.

Theory of operation
-------------------
An SMS body is either GSM 7-bit ("GSM-7") or UCS-2. GSM-7 has a 128-entry basic table and an
extension table reached through the escape septet 0x1B: an extension character (``^{}\\[~]|€``
and form feed) costs two septets, ESC + code. Everything else (curly quotes, emoji, Chinese, …)
forces the whole message into UCS-2, which we encode as UTF-16-BE: characters outside the Basic
Multilingual Plane become a surrogate pair and cost two 16-bit units, which is what handsets and
SMSCs count.

A septet can travel two ways:

* **unpacked**, one septet per octet, which is what SMPP ``data_coding=0`` carries in
  ``short_message`` (the SMSC packs it for the air interface);
* **packed**, eight septets in seven octets, least significant bits first, which is what the air
  interface, AT-command modems and Gammu carry. ``fill_bits`` lets a caller start the septets on
  the septet boundary after a User Data Header.

This module does no counting or splitting; :mod:`warta.sms.segments` does that.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "ESC",
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "Gsm7EncodeError",
    "decode_gsm7",
    "decode_gsm7_packed",
    "decode_ucs2",
    "encode_gsm7",
    "encode_gsm7_packed",
    "encode_ucs2",
    "gsm7_septet_cost",
    "is_gsm7",
    "pack_septets",
    "ucs2_unit_cost",
    "unpack_septets",
]

ESC = 0x1B

# The basic table, index = septet value. 0x1B is the escape to the extension table; we keep a
# placeholder there so the string stays 128 long and indexable, and never encode it as text.
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞ\x1bÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
assert len(GSM7_BASIC) == 128

# The extension table (TS 23.038 §6.2.1.1), code after ESC -> character. 0x0D (CR2) and 0x1B
# (a second escape) are reserved and carry no character, so they are not here.
GSM7_EXTENSION: dict[int, str] = {
    0x0A: "\f",
    0x14: "^",
    0x28: "{",
    0x29: "}",
    0x2F: "\\",
    0x3C: "[",
    0x3D: "~",
    0x3E: "]",
    0x40: "|",
    0x65: "€",
}

# Character -> septets. Built once; encode and count run over every blast, so lookups must be a
# single dict access per character.
_ENCODE: dict[str, tuple[int, ...]] = {
    ch: (code,) for code, ch in enumerate(GSM7_BASIC) if code != ESC
}
_ENCODE.update({ch: (ESC, code) for code, ch in GSM7_EXTENSION.items()})

_DECODE_EXT: dict[int, str] = dict(GSM7_EXTENSION)


class Gsm7EncodeError(ValueError):
    """The text holds a character that has no GSM 7-bit encoding."""

    def __init__(self, char: str, position: int) -> None:
        super().__init__(f"character {char!r} (U+{ord(char):04X}) at {position} is not GSM-7")
        self.char = char
        self.position = position


def is_gsm7(text: str) -> bool:
    """True when every character of ``text`` is in the basic or extension table."""
    encode = _ENCODE
    return all(ch in encode for ch in text)


def gsm7_septet_cost(char: str) -> int | None:
    """Septets one character costs (1 basic, 2 extension), or None when it is not GSM-7."""
    septets = _ENCODE.get(char)
    return None if septets is None else len(septets)


def ucs2_unit_cost(char: str) -> int:
    """UTF-16 code units one character costs: 2 outside the BMP (a surrogate pair), else 1."""
    return 2 if ord(char) > 0xFFFF else 1


def encode_gsm7(text: str) -> bytes:
    """Encode to unpacked septets, one per octet (SMPP ``data_coding=0``).

    Raises :class:`Gsm7EncodeError` on the first character that is not GSM-7.
    """
    out = bytearray()
    encode = _ENCODE
    for position, ch in enumerate(text):
        septets = encode.get(ch)
        if septets is None:
            raise Gsm7EncodeError(ch, position)
        out.extend(septets)
    return bytes(out)


def decode_gsm7(data: bytes | Sequence[int]) -> str:
    """Decode unpacked septets (one per octet; the top bit is ignored).

    ESC followed by a code the extension table does not define decodes as the basic-table
    character, as TS 23.038 asks receivers to do. A lone ESC at the very end decodes as a space
    (the standard's display rule for an escape with nothing to escape).
    """
    out: list[str] = []
    basic = GSM7_BASIC
    ext = _DECODE_EXT
    i = 0
    n = len(data)
    while i < n:
        code = data[i] & 0x7F
        if code == ESC:
            if i + 1 >= n:
                out.append(" ")
                break
            nxt = data[i + 1] & 0x7F
            out.append(ext.get(nxt, " " if nxt == ESC else basic[nxt]))
            i += 2
            continue
        out.append(basic[code])
        i += 1
    return "".join(out)


def pack_septets(septets: Iterable[int], fill_bits: int = 0) -> bytes:
    """Pack septets eight-into-seven octets, LSB first, after ``fill_bits`` zero bits.

    ``fill_bits`` (0-6) aligns the first septet after a UDH. When the last octet would hold
    seven spare bits, TS 23.038 §6.1.2.3.1 asks for CR (0x0D) in them, so a receiver that counts
    octets rather than septets does not read a trailing '@' (0x00). A receiver that knows the
    septet count (SMS carries it as the user-data length) never looks at those bits.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be between 0 and 6")
    acc = 0
    nbits = fill_bits
    out = bytearray()
    count = 0
    for septet in septets:
        if not 0 <= septet <= 0x7F:
            raise ValueError(f"septet out of range: {septet}")
        acc |= septet << nbits
        nbits += 7
        count += 1
        while nbits >= 8:
            out.append(acc & 0xFF)
            acc >>= 8
            nbits -= 8
    if count == 0:
        return b""
    if nbits:
        if nbits == 1:
            # Seven spare bits: pad with CR, per the standard, instead of a zero '@'.
            acc |= 0x0D << 1
        out.append(acc & 0xFF)
    return bytes(out)


def unpack_septets(data: bytes, count: int | None = None, fill_bits: int = 0) -> list[int]:
    """Unpack septets from packed octets.

    ``count`` is the number of septets to read (SMS carries it as the user-data length); without
    it, every whole septet is returned, and a trailing CR padding septet is dropped.
    """
    if not 0 <= fill_bits <= 6:
        raise ValueError("fill_bits must be between 0 and 6")
    available = (len(data) * 8 - fill_bits) // 7
    if count is None:
        want = available
    elif count > available:
        raise ValueError(f"{count} septets do not fit in {len(data)} octets")
    else:
        want = count
    value = int.from_bytes(data, "little") >> fill_bits
    septets = [(value >> (7 * i)) & 0x7F for i in range(want)]
    if count is None and septets and septets[-1] == 0x0D and (len(data) * 8 - fill_bits) % 7 == 0:
        # Whole septets ending in CR: the CR is the padding described in pack_septets. A real
        # trailing CR is indistinguishable here; TS 23.038 accepts that ambiguity.
        septets.pop()
    return septets


def encode_gsm7_packed(text: str, fill_bits: int = 0) -> bytes:
    """Encode ``text`` to packed GSM-7 (air interface, AT modems, Gammu)."""
    return pack_septets(encode_gsm7(text), fill_bits)


def decode_gsm7_packed(data: bytes, count: int | None = None, fill_bits: int = 0) -> str:
    """Decode packed GSM-7; ``count`` is the septet count when the caller knows it."""
    return decode_gsm7(unpack_septets(data, count, fill_bits))


def encode_ucs2(text: str) -> bytes:
    """Encode to UCS-2 as SMS uses it: UTF-16-BE, surrogate pairs outside the BMP, no BOM."""
    return text.encode("utf-16-be")


def decode_ucs2(data: bytes, errors: str = "strict") -> str:
    """Decode UTF-16-BE. A trailing odd byte or an unpaired surrogate raises unless ``errors``
    says otherwise (``"replace"`` for displaying what a broken sender sent)."""
    return data.decode("utf-16-be", errors)
