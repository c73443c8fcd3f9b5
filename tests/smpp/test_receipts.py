"""Delivery receipts from many SMSC dialects, from TLVs, and built for the simulator."""

from __future__ import annotations

from datetime import datetime

import pytest

from warta.smpp.constants import EsmClass, MessageState, Tag
from warta.smpp.pdu import DataSm, DeliverSm, tlv_bytes, tlv_cstring, tlv_u8
from warta.smpp.receipts import (
    format_receipt,
    message_ids_match,
    normalise_stat,
    parse_receipt,
    parse_receipt_text,
    receipt_tlvs,
)

SPEC = "id:0123456789 sub:001 dlvrd:001 submit date:2501311200 done date:2501311201 stat:DELIVRD err:000 text:Warga Jakarta yth"


def test_it_parses_the_appendix_b_example() -> None:
    r = parse_receipt_text(SPEC)
    assert r is not None
    assert r.message_id == "0123456789"
    assert r.stat is MessageState.DELIVERED and r.is_final and r.delivered
    assert (r.sub, r.dlvrd, r.err, r.err_code) == ("001", "001", "000", 0)
    assert r.submit_date == datetime(2025, 1, 31, 12, 0)
    assert r.done_date == datetime(2025, 1, 31, 12, 1)
    assert r.text == "Warga Jakarta yth"


@pytest.mark.parametrize(
    ("text", "message_id", "stat"),
    [
        (
            "ID:ABC123 SUB:001 DLVRD:001 SUBMIT DATE:2501311200 DONE DATE:2501311201 STAT:DELIVRD ERR:000 TEXT:",
            "ABC123",
            MessageState.DELIVERED,
        ),
        (
            "id:7f3a submit_date:2501311200 done_date:2501311201 stat:UNDELIV err:0B1",
            "7f3a",
            MessageState.UNDELIVERABLE,
        ),
        (
            "id:42  sub:1   dlvrd:0  submit date:250131120001 done date:250131120502  stat:EXPIRED  err:000",
            "42",
            MessageState.EXPIRED,
        ),
        ("id:42 stat:DELIVERED", "42", MessageState.DELIVERED),
        ("id: 42 stat: delivrd", "42", MessageState.DELIVERED),
        ("id:42 stat:ENROUTE", "42", MessageState.ENROUTE),
        ("id:42 stat:DELETED", "42", MessageState.DELETED),
        ("id:42 stat:ACCEPTD", "42", MessageState.ACCEPTED),
        ("id:42 stat:UNKNOWN", "42", MessageState.UNKNOWN),
        ("id:42 stat:REJECTD err:011", "42", MessageState.REJECTED),
        ("id:42 stat:FAILED", "42", MessageState.UNDELIVERABLE),
        ("id:42 stat:2", "42", MessageState.DELIVERED),
        ("stat:DELIVRD id:42 sub:001", "42", MessageState.DELIVERED),
        ("id:42 stat:WHATEVER", "42", MessageState.UNKNOWN),
        ("id:42", "42", MessageState.UNKNOWN),
        (
            "id:42 sub:001 dlvrd:001 stat:DELIVRD err:000 text:id:99 stat:UNDELIV",
            "42",
            MessageState.DELIVERED,
        ),
    ],
)
def test_it_tolerates_vendor_variants(text: str, message_id: str, stat: MessageState) -> None:
    r = parse_receipt_text(text)
    assert r is not None
    assert r.message_id == message_id
    assert r.stat is stat


def test_dates_with_seconds_or_four_digit_years_parse_and_nonsense_is_none() -> None:
    r = parse_receipt_text("id:1 submit date:20250131120001 done date:2513311299 stat:DELIVRD")
    assert r is not None
    assert r.submit_date == datetime(2025, 1, 31, 12, 0, 1)
    assert r.done_date is None


def test_text_without_id_or_stat_is_not_a_receipt() -> None:
    assert parse_receipt_text("Halo, apa kabar?") is None
    assert parse_receipt_text(b"") is None


def test_enroute_and_unknown_are_not_final() -> None:
    assert not parse_receipt_text("id:1 stat:ENROUTE").is_final  # type: ignore[union-attr]
    assert not parse_receipt_text("id:1 stat:UNKNOWN").is_final  # type: ignore[union-attr]
    assert parse_receipt_text("id:1 stat:REJECTD").is_final  # type: ignore[union-attr]


def test_tlvs_win_over_the_text_and_both_pieces_are_kept() -> None:
    pdu = DeliverSm(
        esm_class=EsmClass.TYPE_DELIVERY_RECEIPT,
        short_message=b"id:111 stat:DELIVRD err:000",
        tlvs=(
            tlv_cstring(Tag.RECEIPTED_MESSAGE_ID, "6F"),
            tlv_u8(Tag.MESSAGE_STATE, MessageState.UNDELIVERABLE),
            tlv_bytes(Tag.NETWORK_ERROR_CODE, b"\x03\x00\x01"),
        ),
    )
    r = parse_receipt(pdu)
    assert r is not None
    assert (r.message_id, r.stat) == ("6F", MessageState.UNDELIVERABLE)
    assert (r.text_message_id, r.text_stat) == ("111", "DELIVRD")
    assert (r.tlv_message_id, r.tlv_message_state) == ("6F", MessageState.UNDELIVERABLE)
    assert r.network_error == (3, 1)


def test_a_receipt_with_only_tlvs_parses() -> None:
    pdu = DataSm(tlvs=receipt_tlvs("abc", MessageState.EXPIRED))
    r = parse_receipt(pdu)
    assert r is not None and (r.message_id, r.stat) == ("abc", MessageState.EXPIRED)


def test_a_mobile_originated_message_is_not_a_receipt() -> None:
    assert parse_receipt(DeliverSm(short_message=b"id:1 stat:DELIVRD")) is None


def test_a_ucs2_receipt_text_is_decoded() -> None:
    pdu = DeliverSm(
        esm_class=4, data_coding=8, short_message="id:9 stat:DELIVRD".encode("utf-16-be")
    )
    r = parse_receipt(pdu)
    assert r is not None and r.message_id == "9" and r.delivered


def test_format_receipt_builds_text_the_parser_reads_back() -> None:
    text = format_receipt(
        "A1B2",
        MessageState.UNDELIVERABLE,
        submit_date=datetime(2025, 2, 1, 8, 30),
        done_date=datetime(2025, 2, 1, 8, 31, 5),
        err=11,
        text="Pemberitahuan banjir di Kampung Melayu",
        seconds=True,
    )
    assert text == (
        "id:A1B2 sub:001 dlvrd:000 submit date:250201083000 done date:250201083105 "
        "stat:UNDELIV err:011 text:Pemberitahuan banjir"
    )
    r = parse_receipt_text(text)
    assert r is not None
    assert r.stat is MessageState.UNDELIVERABLE and r.done_date == datetime(2025, 2, 1, 8, 31, 5)


def test_format_receipt_marks_delivered_as_one_delivered() -> None:
    assert "dlvrd:001" in format_receipt("1", "DELIVRD")


@pytest.mark.parametrize(
    ("resp_id", "receipt_id", "same"),
    [
        ("abc", "ABC", True),
        ("00042", "42", True),
        ("1a", "26", True),
        ("26", "1a", True),
        ("1b", "26", False),
        ("x-1", "x-2", False),
    ],
)
def test_message_ids_match_across_hex_and_decimal(
    resp_id: str, receipt_id: str, same: bool
) -> None:
    assert message_ids_match(resp_id, receipt_id) is same


def test_normalise_stat_handles_none_numbers_and_words() -> None:
    assert normalise_stat(None) is MessageState.UNKNOWN
    assert normalise_stat(99) is MessageState.UNKNOWN
    assert normalise_stat(" undeliv ") is MessageState.UNDELIVERABLE
