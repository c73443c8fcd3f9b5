"""PDU construction: validation with typed errors, response helpers, TLV accessors."""

from __future__ import annotations

import pytest

from warta.smpp.constants import CommandStatus as S
from warta.smpp.constants import Tag
from warta.smpp.errors import InvalidPduError
from warta.smpp.pdu import (
    BindTransceiver,
    BindTransceiverResp,
    DataSm,
    DeliverSm,
    EnquireLink,
    GenericNack,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    tlv_bytes,
    tlv_cstring,
    tlv_u8,
    tlv_u16,
)


@pytest.mark.parametrize(
    ("kwargs", "status", "field"),
    [
        ({"destination_addr": "6" * 21}, S.ESME_RINVDSTADR, "destination_addr"),
        ({"source_addr": "x" * 21}, S.ESME_RINVSRCADR, "source_addr"),
        ({"service_type": "CMTXXX"}, S.ESME_RINVSERTYP, "service_type"),
        ({"short_message": b"x" * 255}, S.ESME_RINVMSGLEN, "short_message"),
        ({"esm_class": 256}, S.ESME_RINVESMCLASS, "esm_class"),
        ({"dest_addr_ton": -1}, S.ESME_RINVDSTTON, "dest_addr_ton"),
        ({"validity_period": "tomorrow"}, S.ESME_RINVEXPIRY, "validity_period"),
        ({"schedule_delivery_time": "2501011200000+"}, S.ESME_RINVSCHED, "schedule_delivery_time"),
        ({"destination_addr": "62\x00812"}, S.ESME_RINVDSTADR, "destination_addr"),
        ({"destination_addr": "ĉ"}, S.ESME_RINVDSTADR, "destination_addr"),
        ({"tlvs": ((0x10000, b""),)}, S.ESME_RINVOPTPARSTREAM, "tlvs"),
        ({"tlvs": ((0x0204, "text"),)}, S.ESME_RINVOPTPARSTREAM, "tlvs"),
        ({"sequence_number": 2**32}, S.ESME_RSYSERR, "sequence_number"),
    ],
)
def test_it_rejects_invalid_submit_sm_fields_with_the_status_an_smsc_would_answer(
    kwargs: dict[str, object], status: int, field: str
) -> None:
    with pytest.raises(InvalidPduError) as info:
        SubmitSm(**kwargs)  # type: ignore[arg-type]
    assert info.value.status == status
    assert info.value.field == field


def test_c_octet_sizes_include_the_nul() -> None:
    SubmitSm(destination_addr="6" * 20)
    BindTransceiver(system_id="s" * 15, password="p" * 8)
    with pytest.raises(InvalidPduError) as info:
        BindTransceiver(system_id="s" * 16)
    assert info.value.status == S.ESME_RINVSYSID
    with pytest.raises(InvalidPduError) as info:
        BindTransceiver(password="p" * 9)
    assert info.value.status == S.ESME_RINVPASWD
    with pytest.raises(InvalidPduError):
        SubmitSmResp(message_id="m" * 65)
    DataSm(destination_addr="6" * 64)  # data_sm addresses are 65 octets


def test_it_accepts_latin1_text_and_valid_times() -> None:
    pdu = SubmitSm(
        source_addr="Café",
        validity_period="250101120000000+",
        schedule_delivery_time="000001000000000R",
    )
    assert pdu.encode()


def test_header_only_pdus_refuse_tlvs() -> None:
    with pytest.raises(InvalidPduError):
        EnquireLink(tlvs=(tlv_u8(Tag.MESSAGE_STATE, 1),))


def test_pdus_are_frozen_and_hashable() -> None:
    pdu = SubmitSm(destination_addr="62812")
    with pytest.raises(AttributeError):
        pdu.destination_addr = "1"  # type: ignore[misc]
    assert hash(pdu) == hash(SubmitSm(destination_addr="62812"))


def test_tlvs_given_as_a_list_become_a_tuple() -> None:
    pdu = SubmitSm(tlvs=[(0x0204, b"\x00\x01")])  # type: ignore[arg-type]
    assert pdu.tlvs == ((0x0204, b"\x00\x01"),)


def test_password_never_appears_in_repr() -> None:
    assert "hunter2" not in repr(BindTransceiver(system_id="u", password="hunter2"))


def test_response_helpers_copy_the_sequence_number() -> None:
    submit = SubmitSm(sequence_number=9, destination_addr="62812")
    assert submit.response(message_id="m1") == SubmitSmResp(sequence_number=9, message_id="m1")
    assert submit.nack(S.ESME_RSYSERR) == GenericNack(
        sequence_number=9, command_status=S.ESME_RSYSERR
    )
    assert submit.error_response(S.ESME_RTHROTTLED) == SubmitSmResp(
        sequence_number=9, command_status=S.ESME_RTHROTTLED
    )
    bind = BindTransceiver(sequence_number=1, system_id="u")
    assert bind.response(system_id="SMSC") == BindTransceiverResp(
        sequence_number=1, system_id="SMSC"
    )
    assert Unbind(sequence_number=4).response().sequence_number == 4
    assert DeliverSm(sequence_number=3).response().encode().endswith(b"\x00")


def test_submit_sm_resp_with_an_error_has_no_body_and_deliver_sm_resp_keeps_its_nul() -> None:
    assert len(SubmitSmResp(sequence_number=1, command_status=S.ESME_RTHROTTLED).encode()) == 16
    assert len(DeliverSm(sequence_number=1).error_response(S.ESME_RX_T_APPN).encode()) == 17


def test_tlv_accessors() -> None:
    pdu = DeliverSm(
        tlvs=(
            tlv_cstring(Tag.RECEIPTED_MESSAGE_ID, "ABC"),
            tlv_u8(Tag.MESSAGE_STATE, 5),
            tlv_bytes(Tag.NETWORK_ERROR_CODE, b"\x03\x00\x0b"),
            tlv_u16(Tag.SAR_MSG_REF_NUM, 77),
            tlv_u8(Tag.SAR_TOTAL_SEGMENTS, 3),
            tlv_u8(Tag.SAR_SEGMENT_SEQNUM, 2),
            tlv_u16(Tag.USER_MESSAGE_REFERENCE, 513),
            tlv_u16(Tag.SOURCE_PORT, 5000),
            tlv_u16(Tag.DESTINATION_PORT, 2948),
            tlv_bytes(Tag.MESSAGE_PAYLOAD, b"long text"),
        )
    )
    assert pdu.receipted_message_id == "ABC"
    assert pdu.message_state == 5
    assert pdu.network_error_code == (3, 11)
    assert (pdu.sar_msg_ref_num, pdu.sar_total_segments, pdu.sar_segment_seqnum) == (77, 3, 2)
    assert pdu.user_message_reference == 513
    assert (pdu.source_port, pdu.destination_port) == (5000, 2948)
    assert pdu.message_payload == b"long text"
    assert pdu.payload == b"long text"
    assert pdu.tlv(0x1234) is None
    assert SubmitSm(short_message=b"hi").payload == b"hi"


def test_with_sequence_number_copies_without_changing_anything_else() -> None:
    pdu = SubmitSm(destination_addr="62812", short_message=b"x")
    stamped = pdu.with_sequence_number(42)
    assert stamped.sequence_number == 42
    assert stamped.destination_addr == "62812"
    assert type(stamped) is SubmitSm
    with pytest.raises(InvalidPduError):
        pdu.with_sequence_number(-1)
