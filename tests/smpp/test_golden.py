"""Golden vectors written out by hand from the SMPP 3.4 specification's PDU layouts."""

from __future__ import annotations

import pytest

from warta.smpp.codec import Decoder, decode_pdu
from warta.smpp.constants import CommandStatus, EsmClass, MessageState, Tag
from warta.smpp.pdu import (
    BindTransmitter,
    BindTransmitterResp,
    DeliverSm,
    EnquireLink,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    tlv_cstring,
    tlv_u8,
    tlv_u16,
)


def h(text: str) -> bytes:
    return bytes.fromhex("".join(text.split()))


GOLDEN: list[tuple[str, Pdu, bytes]] = [
    (
        "bind_transmitter",
        BindTransmitter(
            sequence_number=1,
            system_id="SMPP3TEST",
            password="secret08",
            system_type="SUBMIT1",
            interface_version=0x34,
            addr_ton=1,
            addr_npi=1,
            address_range="",
        ),
        h(
            """
            0000002F 00000002 00000000 00000001
            534D5050335445535400
            736563726574303800
            5355424D49543100
            340101
            00
            """
        ),
    ),
    (
        "bind_transmitter_resp_error_without_body",
        BindTransmitterResp(sequence_number=1, command_status=CommandStatus.ESME_RINVPASWD),
        h("00000010 80000002 0000000E 00000001"),
    ),
    (
        "submit_sm_with_tlvs",
        SubmitSm(
            sequence_number=2,
            source_addr_ton=5,
            source_addr_npi=0,
            source_addr="GubDKI",
            dest_addr_ton=1,
            dest_addr_npi=1,
            destination_addr="6281234567",
            registered_delivery=1,
            short_message=b"Halo",
            tlvs=(tlv_u16(Tag.USER_MESSAGE_REFERENCE, 1), tlv_u16(Tag.SAR_MSG_REF_NUM, 42)),
        ),
        h(
            """
            00000041 00000004 00000000 00000002
            00
            05 00 477562444B4900
            01 01 3632383132333435363700
            00 00 00
            00
            00
            01 00 00 00
            04 48616C6F
            0204 0002 0001
            020C 0002 002A
            """
        ),
    ),
    (
        "submit_sm_resp",
        SubmitSmResp(sequence_number=2, message_id="abc123"),
        h("00000017 80000004 00000000 00000002 61626331323300"),
    ),
    (
        "deliver_sm_receipt",
        DeliverSm(
            sequence_number=7,
            source_addr_ton=1,
            source_addr_npi=1,
            source_addr="6281234567",
            dest_addr_ton=5,
            dest_addr_npi=0,
            destination_addr="GubDKI",
            esm_class=EsmClass.TYPE_DELIVERY_RECEIPT,
            short_message=b"id:abc123 stat:DELIVRD",
            tlvs=(
                tlv_cstring(Tag.RECEIPTED_MESSAGE_ID, "abc123"),
                tlv_u8(Tag.MESSAGE_STATE, MessageState.DELIVERED),
            ),
        ),
        h(
            """
            00000057 00000005 00000000 00000007
            00
            01 01 3632383132333435363700
            05 00 477562444B4900
            04 00 00
            00
            00
            00 00 00 00
            16 69643A616263313233207374 61743A44454C49565244
            001E 0007 61626331323300
            0427 0001 02
            """
        ),
    ),
    ("enquire_link", EnquireLink(sequence_number=1), h("00000010 00000015 00000000 00000001")),
    (
        "generic_nack",
        GenericNack(sequence_number=5, command_status=CommandStatus.ESME_RINVCMDID),
        h("00000010 80000000 00000003 00000005"),
    ),
]
IDS = [name for name, _, _ in GOLDEN]


@pytest.mark.parametrize(("name", "pdu", "wire"), GOLDEN, ids=IDS)
def test_it_encodes_to_the_golden_bytes(name: str, pdu: Pdu, wire: bytes) -> None:
    assert pdu.encode() == wire


@pytest.mark.parametrize(("name", "pdu", "wire"), GOLDEN, ids=IDS)
def test_it_decodes_the_golden_bytes(name: str, pdu: Pdu, wire: bytes) -> None:
    assert decode_pdu(wire) == pdu


@pytest.mark.parametrize(("name", "pdu", "wire"), GOLDEN, ids=IDS)
def test_the_decoder_takes_a_pdu_whole(name: str, pdu: Pdu, wire: bytes) -> None:
    decoder = Decoder()
    assert decoder.feed(wire) == [pdu]
    assert decoder.buffered == 0


@pytest.mark.parametrize(("name", "pdu", "wire"), GOLDEN, ids=IDS)
def test_the_decoder_takes_a_pdu_byte_by_byte(name: str, pdu: Pdu, wire: bytes) -> None:
    decoder = Decoder()
    out = []
    for i in range(len(wire)):
        got = decoder.feed(wire[i : i + 1])
        if i < len(wire) - 1:
            assert got == []
        out += got
    assert out == [pdu]


@pytest.mark.parametrize(("name", "pdu", "wire"), GOLDEN, ids=IDS)
def test_the_decoder_keeps_trailing_bytes_for_the_next_pdu(
    name: str, pdu: Pdu, wire: bytes
) -> None:
    decoder = Decoder()
    assert decoder.feed(wire + wire[:7]) == [pdu]
    assert decoder.buffered == 7
    assert decoder.feed(wire[7:]) == [pdu]
    assert decoder.buffered == 0


def test_the_decoder_returns_every_pdu_of_one_chunk_in_order() -> None:
    wires = b"".join(w for _, _, w in GOLDEN)
    assert Decoder().feed(wires) == [p for _, p, _ in GOLDEN]


def test_the_decoder_handles_chunks_that_split_pdus_anywhere() -> None:
    wires = b"".join(w for _, _, w in GOLDEN)
    for size in (2, 3, 5, 17, 50):
        decoder = Decoder()
        out = []
        for i in range(0, len(wires), size):
            out += decoder.feed(wires[i : i + size])
        assert out == [p for _, p, _ in GOLDEN]
