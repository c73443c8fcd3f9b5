"""Malformed input: each error kind, the length cap, and no reading past command_length."""

from __future__ import annotations

import struct

import pytest

from warta.smpp.codec import Decoder, MalformedPdu, decode_pdu
from warta.smpp.constants import CommandId
from warta.smpp.constants import CommandStatus as S
from warta.smpp.errors import DecodeError, RemoteProtocolError
from warta.smpp.pdu import EnquireLink, SubmitSm


def header(length: int, command_id: int, seq: int = 7, status: int = 0) -> bytes:
    return struct.pack(">IIII", length, command_id, status, seq)


def pdu(command_id: int, body: bytes, seq: int = 7) -> bytes:
    return header(16 + len(body), command_id, seq) + body


def truncated(data: bytes) -> bytes:
    """The PDU minus its last octet, with command_length adjusted: a field is cut short."""
    return struct.pack(">I", len(data) - 1) + data[4:-1]


def only_error(data: bytes, **kwargs: int) -> MalformedPdu:
    [event] = Decoder(**kwargs).feed(data)
    assert isinstance(event, MalformedPdu)
    return event


def test_it_rejects_a_command_length_below_16_and_asks_to_close() -> None:
    event = only_error(header(15, CommandId.ENQUIRE_LINK) + b"\0" * 20)
    assert event.status == S.ESME_RINVCMDLEN
    assert event.must_close
    assert event.sequence_number == 7


def test_it_rejects_a_command_length_over_the_cap_as_soon_as_it_is_readable() -> None:
    decoder = Decoder(max_command_length=1024)
    [event] = decoder.feed(b"\x00\x00\x04\x01")
    assert isinstance(event, MalformedPdu)
    assert event.must_close and event.status == S.ESME_RINVCMDLEN
    assert event.sequence_number is None
    assert decoder.failed
    assert decoder.feed(EnquireLink(sequence_number=1).encode()) == []


def test_the_default_cap_is_64_kib() -> None:
    assert Decoder().feed(header(65537, CommandId.SUBMIT_SM))[0].must_close  # type: ignore[union-attr]
    assert Decoder().feed(header(65536, CommandId.SUBMIT_SM)) == []


def test_it_skips_an_unknown_command_id_and_carries_on() -> None:
    data = pdu(0x00000099, b"junk") + EnquireLink(sequence_number=8).encode()
    bad, good = Decoder().feed(data)
    assert isinstance(bad, MalformedPdu)
    assert (bad.status, bad.sequence_number, bad.command_id, bad.must_close) == (
        S.ESME_RINVCMDID,
        7,
        0x99,
        False,
    )
    assert good == EnquireLink(sequence_number=8)


def test_it_reports_unsupported_known_commands_as_invalid_command_id() -> None:
    assert only_error(pdu(CommandId.QUERY_SM, b"1\0\0\0\0")).status == S.ESME_RINVCMDID


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (pdu(CommandId.SUBMIT_SM, b"\0\x05\x00GubDKI"), S.ESME_RINVCMDLEN),  # missing NUL
        (pdu(CommandId.SUBMIT_SM, b""), S.ESME_RINVCMDLEN),  # no body at all
        (pdu(CommandId.BIND_TRANSMITTER, b"sys\0pw\0"), S.ESME_RINVCMDLEN),  # truncated
        (pdu(CommandId.ENQUIRE_LINK, b"x"), S.ESME_RINVCMDLEN),  # header-only PDU with a body
        (pdu(CommandId.SUBMIT_SM, b"\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x05ab"), S.ESME_RINVMSGLEN),
        (pdu(CommandId.SUBMIT_SM_RESP, b"id\0\x02\x04"), S.ESME_RINVOPTPARSTREAM),
        (pdu(CommandId.SUBMIT_SM_RESP, b"id\0\x02\x04\x00\x09ab"), S.ESME_RINVPARLEN),
        (
            pdu(CommandId.SUBMIT_SM, b"\0\x01\x01" + b"6" * 30 + b"\0" + b"\0" * 13),
            S.ESME_RINVSRCADR,
        ),
        (pdu(CommandId.BIND_TRANSCEIVER, b"s" * 20 + b"\0pw\0\0\x34\0\0\0"), S.ESME_RINVSYSID),
        (truncated(SubmitSm(sequence_number=7, destination_addr="1").encode()), S.ESME_RINVCMDLEN),
    ],
    ids=[
        "missing-nul",
        "empty-body",
        "truncated-bind",
        "body-on-enquire-link",
        "sm-length-past-end",
        "truncated-tlv-header",
        "tlv-length-past-end",
        "source-addr-too-long",
        "system-id-too-long",
        "truncated-submit",
    ],
)
def test_a_malformed_body_yields_an_error_with_the_right_status_and_the_stream_goes_on(
    data: bytes, status: int
) -> None:
    decoder = Decoder()
    bad, good = decoder.feed(data + EnquireLink(sequence_number=9).encode())
    assert isinstance(bad, MalformedPdu)
    assert bad.status == status
    assert bad.sequence_number == 7
    assert not bad.must_close
    assert good == EnquireLink(sequence_number=9)


def test_decode_pdu_raises_a_decode_error_that_is_a_remote_protocol_error() -> None:
    with pytest.raises(DecodeError) as info:
        decode_pdu(pdu(CommandId.SUBMIT_SM, b"\0"))
    assert isinstance(info.value, RemoteProtocolError)
    assert info.value.sequence_number == 7
    assert info.value.command_id == CommandId.SUBMIT_SM


def test_decode_pdu_rejects_a_length_that_does_not_match_the_data() -> None:
    data = EnquireLink(sequence_number=1).encode()
    with pytest.raises(DecodeError) as info:
        decode_pdu(data + b"x")
    assert info.value.must_close
    with pytest.raises(DecodeError):
        decode_pdu(data[:10])


def test_a_c_string_never_borrows_a_nul_from_the_next_pdu() -> None:
    # The unbind_resp body misses its NUL; the next PDU starts with NULs. It must not be used.
    broken = pdu(CommandId.SUBMIT_SM_RESP, b"abc")
    following = EnquireLink(sequence_number=2).encode()
    bad, good = Decoder().feed(broken + following)
    assert isinstance(bad, MalformedPdu) and bad.status == S.ESME_RINVCMDLEN
    assert good == EnquireLink(sequence_number=2)


def test_responses_with_an_error_status_may_omit_their_body() -> None:
    assert (
        decode_pdu(header(16, CommandId.SUBMIT_SM_RESP, status=S.ESME_RTHROTTLED)).command_status
        == 0x58
    )
    assert (
        decode_pdu(
            header(16, CommandId.BIND_TRANSCEIVER_RESP, status=S.ESME_RBINDFAIL)
        ).command_status
        == 0x0D
    )


def test_a_bind_resp_with_a_system_id_over_15_characters_is_refused() -> None:
    # The fast decoding path must check each field's own size (system_id 16 with its NUL,
    # message_id 65), not the larger message_id limit for every one-string response.
    body = b"x" * 20 + b"\0"
    pdu = struct.pack(">IIII", 16 + len(body), CommandId.BIND_TRANSCEIVER_RESP, 0, 7) + body
    with pytest.raises(DecodeError):
        decode_pdu(pdu)
    ok = b"SMSC-DKI\0"
    decoded = decode_pdu(struct.pack(">IIII", 16 + len(ok), CommandId.BIND_TRANSCEIVER_RESP, 0, 7) + ok)
    assert decoded.system_id == "SMSC-DKI"  # type: ignore[attr-defined]
