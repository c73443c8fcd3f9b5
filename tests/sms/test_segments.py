"""Segment limits, splitting at the edges, SMPP payloads and concatenation UDH."""

from __future__ import annotations

import pytest

from warta.sms.gsm import decode_gsm7, decode_ucs2
from warta.sms.segments import (
    Concat,
    Encoding,
    InformationElement,
    MessageTooLong,
    UdhError,
    choose_encoding,
    concat_udh,
    measure,
    parse_udh,
    plan,
    split_text,
)

HAN = "中"  # one UCS-2 unit, forces UCS-2
EMOJI = "😀"  # two UCS-2 units (surrogate pair)


def test_plain_indonesian_text_is_gsm7() -> None:
    assert choose_encoding("Pemprov DKI: waspada banjir, hubungi 112.") is Encoding.GSM7
    assert Encoding.GSM7.data_coding == 0
    assert Encoding.UCS2.data_coding == 8


def test_one_curly_quote_forces_ucs2() -> None:
    assert choose_encoding("Jum’at") is Encoding.UCS2


def test_160_septets_fit_one_segment() -> None:
    m = measure("a" * 160)
    assert (m.encoding, m.units, m.segments, m.remaining) == (Encoding.GSM7, 160, 1, 0)


def test_161_septets_need_two_segments_of_153_and_8() -> None:
    encoding, parts = split_text("a" * 161)
    assert encoding is Encoding.GSM7
    assert [len(p) for p in parts] == [153, 8]
    assert measure("a" * 161).segments == 2
    assert measure("a" * 161).remaining == 153 - 8


def test_80_euro_signs_are_160_septets_and_one_more_character_makes_two_segments() -> None:
    assert measure("€" * 80).units == 160
    assert measure("€" * 80).segments == 1
    assert measure("€" * 80 + "a").segments == 2


def test_306_septets_are_two_segments_and_307_are_three() -> None:
    assert measure("a" * 306).segments == 2
    assert measure("a" * 307).segments == 3


def test_split_never_breaks_escape_sequence() -> None:
    # 152 septets, then '€' (2 septets) would straddle the 153 boundary: it moves to part 2.
    text = "a" * 152 + "€" + "b" * 10
    _, parts = split_text(text)
    assert parts == ["a" * 152, "€" + "b" * 10]
    p = plan(text, reference=1)
    assert p.segments[0].units == 152
    assert p.segments[0].payload[6:] == b"a" * 152
    assert p.segments[1].payload[6:8] == b"\x1b\x65"


def test_escape_sequence_that_ends_exactly_at_153_stays_in_the_first_part() -> None:
    text = "a" * 151 + "€" + "b" * 10
    _, parts = split_text(text)
    assert parts == ["a" * 151 + "€", "b" * 10]
    assert plan(text, reference=1).segments[0].units == 153


def test_measure_counts_the_part_lost_to_an_escape_at_the_edge() -> None:
    # 152 + (2+151) = 305 septets < 306, but the escape pushed 1 septet out of part 1,
    # so 2 + 151 + 1 = 154 > 153: a third part is needed.
    text = "a" * 152 + "€" + "b" * 152
    assert measure(text).units == 306
    assert measure(text).segments == 3
    assert len(split_text(text)[1]) == 3


def test_70_ucs2_units_fit_one_segment_and_71_need_two() -> None:
    assert measure(HAN * 70).segments == 1
    assert measure(HAN * 70).units == 70
    _, parts = split_text(HAN * 71)
    assert [len(p) for p in parts] == [67, 4]


def test_emoji_counts_as_two_ucs2_units() -> None:
    m = measure(EMOJI)
    assert (m.encoding, m.characters, m.units) == (Encoding.UCS2, 1, 2)
    assert measure(EMOJI * 35).segments == 1
    assert measure(EMOJI * 35 + "a").segments == 2


def test_split_never_breaks_surrogate_pair() -> None:
    # 66 units, then an emoji (2 units) would straddle the 67 boundary.
    text = HAN * 66 + EMOJI + HAN * 10
    _, parts = split_text(text)
    assert parts == [HAN * 66, EMOJI + HAN * 10]
    p = plan(text, reference=9)
    assert len(p.segments[0].payload) == 6 + 132
    assert p.segments[1].payload[6:10] == bytes.fromhex("D83DDE00")


def test_surrogate_pair_ending_exactly_at_67_units_stays_in_the_first_part() -> None:
    text = HAN * 65 + EMOJI + HAN * 10
    _, parts = split_text(text)
    assert parts == [HAN * 65 + EMOJI, HAN * 10]
    assert len(plan(text, reference=9).segments[0].payload) == 140


def test_134_units_are_two_segments_and_135_are_three() -> None:
    assert measure(HAN * 134).segments == 2
    assert measure(HAN * 135).segments == 3


def test_single_segment_has_no_udh_and_no_reference() -> None:
    p = plan("Halo")
    assert p.reference is None
    assert p.segment_count == 1
    seg = p.segments[0]
    assert (seg.udh, seg.payload, seg.has_udh) == (b"", b"Halo", False)


def test_multipart_payload_starts_with_8_bit_concat_udh() -> None:
    p = plan("a" * 161, reference=0x42)
    assert p.reference == 0x42
    assert [s.payload[:6] for s in p.segments] == [
        bytes.fromhex("050003420201"),
        bytes.fromhex("050003420202"),
    ]
    assert [len(s.payload) for s in p.segments] == [6 + 153, 6 + 8]
    assert all(s.has_udh for s in p.segments)


def test_ucs2_multipart_payload_is_exactly_140_octets() -> None:
    p = plan(HAN * 71, reference=7)
    assert p.data_coding == 8
    assert len(p.segments[0].payload) == 140
    assert decode_ucs2(p.segments[0].payload[6:]) == HAN * 67


def test_payloads_decode_back_to_the_text() -> None:
    text = "Info [PENTING] {banjir} ~ €5 " * 8
    p = plan(text, reference=200)
    assert "".join(decode_gsm7(s.payload[6:]) for s in p.segments) == text


def test_multipart_without_reference_is_refused() -> None:
    with pytest.raises(ValueError, match="reference"):
        plan("a" * 161)


def test_reference_must_fit_one_octet() -> None:
    with pytest.raises(ValueError):
        plan("a" * 161, reference=256)


def test_more_than_255_parts_is_too_long() -> None:
    plan("a" * 153 * 255, reference=1)
    with pytest.raises(MessageTooLong):
        plan("a" * (153 * 255 + 1), reference=1)


def test_empty_text_has_no_segments() -> None:
    assert measure("").segments == 0
    assert plan("").segments == ()


def test_concat_udh_bytes_8_and_16_bit() -> None:
    assert concat_udh(0xCC, 3, 1) == bytes.fromhex("050003CC0301")
    assert concat_udh(0x1234, 3, 2, ref16=True) == bytes.fromhex("06080412340302")


@pytest.mark.parametrize(("total", "sequence"), [(0, 0), (2, 0), (2, 3), (256, 1)])
def test_concat_udh_rejects_impossible_numbering(total: int, sequence: int) -> None:
    with pytest.raises(ValueError):
        concat_udh(1, total, sequence)


def test_parse_udh_with_8_bit_reference() -> None:
    udh, body = parse_udh(bytes.fromhex("050003CC0301") + b"hi")
    assert udh.concat == Concat(0xCC, 3, 1, 8)
    assert udh.length == 6
    assert body == b"hi"


def test_parse_udh_with_16_bit_reference() -> None:
    udh, body = parse_udh(bytes.fromhex("06080412340302") + b"x")
    assert udh.concat == Concat(0x1234, 3, 2, 16)
    assert body == b"x"


def test_parse_udh_keeps_other_elements_and_finds_concat_after_them() -> None:
    # Application port addressing (IEI 05) first, then 8-bit concatenation.
    data = bytes.fromhex("0B05040B8423F00003010201") + b"body"
    udh, body = parse_udh(data)
    assert udh.elements[0] == InformationElement(0x05, bytes.fromhex("0B8423F0"))
    assert udh.concat == Concat(1, 2, 1, 8)
    assert body == b"body"


def test_parse_udh_ignores_concat_with_sequence_zero() -> None:
    udh, _ = parse_udh(bytes.fromhex("050003010200"))
    assert udh.concat is None
    assert udh.elements == (InformationElement(0, bytes.fromhex("010200")),)


@pytest.mark.parametrize(
    "data",
    [b"", bytes.fromhex("05000301"), bytes.fromhex("0300050102"), bytes.fromhex("0100")],
)
def test_parse_udh_rejects_truncated_headers(data: bytes) -> None:
    with pytest.raises(UdhError):
        parse_udh(data)


def test_plan_udh_parses_back() -> None:
    for seg in plan("x" * 400, reference=77).segments:
        udh, body = parse_udh(seg.payload)
        assert udh.concat == Concat(77, 3, seg.sequence, 8)
        assert body == seg.payload[6:]
