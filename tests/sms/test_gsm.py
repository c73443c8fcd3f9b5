"""GSM 03.38 / UCS-2 codecs against byte-exact vectors from 3GPP TS 23.038."""

from __future__ import annotations

import pytest

from warta.sms.gsm import (
    GSM7_BASIC,
    Gsm7EncodeError,
    decode_gsm7,
    decode_gsm7_packed,
    decode_ucs2,
    encode_gsm7,
    encode_gsm7_packed,
    encode_ucs2,
    gsm7_septet_cost,
    is_gsm7,
    pack_septets,
    unpack_septets,
)

# (character, septet value) from the basic table of TS 23.038 §6.2.1, chosen where GSM differs
# from ASCII/Latin-1 so that a table built from ASCII would fail.
BASIC_VECTORS = [
    ("@", 0x00),
    ("£", 0x01),
    ("$", 0x02),
    ("¥", 0x03),
    ("è", 0x04),
    ("Ç", 0x09),
    ("\n", 0x0A),
    ("\r", 0x0D),
    ("Δ", 0x10),
    ("_", 0x11),
    ("Ξ", 0x1A),
    ("É", 0x1F),
    (" ", 0x20),
    ("¤", 0x24),
    ("¡", 0x40),
    ("A", 0x41),
    ("Ä", 0x5B),
    ("§", 0x5F),
    ("¿", 0x60),
    ("a", 0x61),
    ("ü", 0x7E),
    ("à", 0x7F),
]

EXTENSION_VECTORS = [
    ("\f", 0x0A),
    ("^", 0x14),
    ("{", 0x28),
    ("}", 0x29),
    ("\\", 0x2F),
    ("[", 0x3C),
    ("~", 0x3D),
    ("]", 0x3E),
    ("|", 0x40),
    ("€", 0x65),
]


@pytest.mark.parametrize(("char", "septet"), BASIC_VECTORS)
def test_basic_table_characters_encode_to_their_septet(char: str, septet: int) -> None:
    assert encode_gsm7(char) == bytes([septet])
    assert decode_gsm7(bytes([septet])) == char


@pytest.mark.parametrize(("char", "code"), EXTENSION_VECTORS)
def test_extension_characters_encode_as_escape_and_code(char: str, code: int) -> None:
    assert encode_gsm7(char) == bytes([0x1B, code])
    assert decode_gsm7(bytes([0x1B, code])) == char
    assert gsm7_septet_cost(char) == 2


def test_euro_sign_counts_as_two_septets() -> None:
    assert gsm7_septet_cost("€") == 2
    assert len(encode_gsm7("Rp 5.000 €")) == 11


def test_basic_table_round_trips_every_septet_except_escape() -> None:
    septets = bytes(i for i in range(128) if i != 0x1B)
    assert encode_gsm7(decode_gsm7(septets)) == septets


def test_backtick_and_curly_quote_are_not_gsm() -> None:
    # 0x60 is '¿' in GSM, so the ASCII backtick is not encodable.
    assert not is_gsm7("`")
    assert not is_gsm7("’")
    assert is_gsm7("Halo warga, info banjir: 021-3288 1818 ")


def test_encoding_a_non_gsm_character_names_it_and_its_position() -> None:
    with pytest.raises(Gsm7EncodeError) as err:
        encode_gsm7("ok ’")
    assert err.value.char == "’"
    assert err.value.position == 3


def test_escape_before_undefined_code_decodes_as_basic_character() -> None:
    # TS 23.038: an unknown extension code is shown as the basic-table character.
    assert decode_gsm7(bytes([0x1B, 0x41])) == "A"


def test_trailing_lone_escape_decodes_as_space() -> None:
    assert decode_gsm7(bytes([0x61, 0x1B])) == "a "


def test_packed_hellohello_matches_the_classic_vector() -> None:
    assert encode_gsm7_packed("hellohello") == bytes.fromhex("E8329BFD4697D9EC37")
    assert decode_gsm7_packed(bytes.fromhex("E8329BFD4697D9EC37"), 10) == "hellohello"


def test_packing_seven_septets_pads_the_spare_bits_with_carriage_return() -> None:
    # 7 septets = 49 bits in 7 octets; the 7 spare bits hold CR (0x0D), not '@' (0x00).
    packed = encode_gsm7_packed("1234567")
    assert packed == bytes.fromhex("31D98C56B3DD1A")
    assert packed[-1] >> 1 == 0x0D
    assert decode_gsm7_packed(packed) == "1234567"
    assert decode_gsm7_packed(packed, 7) == "1234567"


def test_packing_with_one_fill_bit_aligns_after_a_six_octet_udh() -> None:
    assert pack_septets([0x61], fill_bits=1) == bytes([0x61 << 1])
    packed = encode_gsm7_packed("hello", fill_bits=1)
    assert unpack_septets(packed, 5, fill_bits=1) == list(encode_gsm7("hello"))


def test_unpacking_more_septets_than_present_is_refused() -> None:
    with pytest.raises(ValueError):
        unpack_septets(b"\x00", 2)


def test_ucs2_is_utf16_big_endian_without_bom() -> None:
    assert encode_ucs2("Halo") == bytes.fromhex("00480061006C006F")
    assert encode_ucs2("€") == bytes.fromhex("20AC")
    assert encode_ucs2("中") == bytes.fromhex("4E2D")


def test_emoji_encodes_as_a_surrogate_pair() -> None:
    assert encode_ucs2("😀") == bytes.fromhex("D83DDE00")
    assert decode_ucs2(bytes.fromhex("D83DDE00")) == "😀"


def test_ucs2_decode_rejects_a_lone_surrogate_unless_asked_to_replace() -> None:
    with pytest.raises(UnicodeDecodeError):
        decode_ucs2(bytes.fromhex("D83D"))
    assert decode_ucs2(bytes.fromhex("D83D0041"), errors="replace").endswith("A")


def test_basic_table_has_128_entries_with_escape_at_1b() -> None:
    assert len(GSM7_BASIC) == 128
    assert GSM7_BASIC[0x1B] == "\x1b"
    assert not is_gsm7("\x1b")
