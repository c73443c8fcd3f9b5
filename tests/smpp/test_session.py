"""An ESME session and an SMSC session paired in memory: no sockets, time passed in."""

from __future__ import annotations

import pytest

from warta.smpp.codec import Decoder
from warta.smpp.constants import CommandStatus as S
from warta.smpp.constants import EsmClass, MessageState
from warta.smpp.errors import LocalProtocolError, WindowFullError
from warta.smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    EnquireLink,
    GenericNack,
    Outbind,
    SubmitSm,
    SubmitSmResp,
    Unbind,
)
from warta.smpp.receipts import format_receipt, parse_receipt, receipt_tlvs
from warta.smpp.session import (
    Bound,
    ConnectionMustClose,
    EnquireLinkSent,
    Event,
    LateResponse,
    ProtocolErrorEvent,
    RequestReceived,
    ResponseReceived,
    ResponseTimeout,
    Role,
    Session,
    State,
    Unbound,
)


def pump(src: Session, dst: Session, now: float | None = None) -> list[Event]:
    return dst.receive_data(src.data_to_send(), now=now)


def bound_pair(
    bind: type[BindTransceiver | BindTransmitter | BindReceiver] = BindTransceiver, **kwargs: float
) -> tuple[Session, Session]:
    esme = Session(Role.ESME, **kwargs)  # type: ignore[arg-type]
    smsc = Session(Role.SMSC, **kwargs)  # type: ignore[arg-type]
    esme.send(bind(system_id="warta", password="secret"))
    [req] = pump(esme, smsc)
    assert isinstance(req, RequestReceived)
    smsc.send(req.pdu.response(system_id="SIM"))  # type: ignore[attr-defined]
    pump(smsc, esme)
    return esme, smsc


def test_bind_submit_response_receipt_unbind_round_trip() -> None:
    esme = Session(Role.ESME, now=0.0)
    smsc = Session(Role.SMSC, now=0.0)

    bind = esme.send(BindTransceiver(system_id="warta", password="secret"))
    assert bind.sequence_number == 1
    [received] = pump(esme, smsc)
    assert isinstance(received, RequestReceived) and received.pdu == bind
    assert smsc.peer_system_id == "warta"
    smsc.send(bind.response(system_id="SIM"))
    assert smsc.state is State.BOUND_TRX
    resp, bound = pump(smsc, esme)
    assert isinstance(resp, ResponseReceived) and resp.ok and resp.request == bind
    assert bound == Bound(State.BOUND_TRX, "SIM")
    assert esme.state is State.BOUND_TRX

    submit = esme.send(
        SubmitSm(
            source_addr="GubDKI",
            destination_addr="628123",
            short_message=b"hi",
            registered_delivery=1,
        )
    )
    assert submit.sequence_number == 2
    assert esme.outstanding == 1
    [req] = pump(esme, smsc)
    assert isinstance(req, RequestReceived) and req.pdu == submit
    smsc.send(submit.response(message_id="M1"))
    [answered] = pump(smsc, esme)
    assert answered == ResponseReceived(submit, SubmitSmResp(sequence_number=2, message_id="M1"))
    assert esme.outstanding == 0

    receipt = smsc.send(
        DeliverSm(
            source_addr="628123",
            destination_addr="GubDKI",
            esm_class=EsmClass.TYPE_DELIVERY_RECEIPT,
            short_message=format_receipt("M1", MessageState.DELIVERED).encode(),
            tlvs=receipt_tlvs("M1", MessageState.DELIVERED),
        )
    )
    [dlr] = pump(smsc, esme)
    assert isinstance(dlr, RequestReceived) and isinstance(dlr.pdu, DeliverSm)
    parsed = parse_receipt(dlr.pdu)
    assert parsed is not None and parsed.message_id == "M1" and parsed.is_final
    esme.send(dlr.pdu.response())
    [ack] = pump(esme, smsc)
    assert isinstance(ack, ResponseReceived) and ack.request == receipt

    unbind = esme.send(Unbind())
    assert esme.state is State.UNBINDING
    assert pump(esme, smsc) == [Unbound(by_peer=True)]
    assert smsc.state is State.UNBOUND
    resp2, unbound = pump(smsc, esme)
    assert isinstance(resp2, ResponseReceived) and resp2.request == unbind
    assert unbound == Unbound(by_peer=False)
    assert esme.state is State.UNBOUND
    assert esme.close() == ()
    assert esme.state is State.CLOSED


@pytest.mark.parametrize(
    ("bind", "state"),
    [
        (BindTransmitter, State.BOUND_TX),
        (BindReceiver, State.BOUND_RX),
        (BindTransceiver, State.BOUND_TRX),
    ],
)
def test_each_bind_kind_reaches_its_state(bind: type[BindTransceiver], state: State) -> None:
    esme, smsc = bound_pair(bind)
    assert esme.state is state and smsc.state is state


def test_it_rejects_submit_before_bind() -> None:
    with pytest.raises(LocalProtocolError):
        Session(Role.ESME).send(SubmitSm(destination_addr="628"))


def test_it_rejects_submit_on_a_receiver_bind_and_deliver_from_an_esme() -> None:
    esme, smsc = bound_pair(BindReceiver)
    with pytest.raises(LocalProtocolError):
        esme.send(SubmitSm(destination_addr="628"))
    with pytest.raises(LocalProtocolError):
        esme.send(DeliverSm())
    with pytest.raises(LocalProtocolError):
        smsc.send(SubmitSm())


def test_the_smsc_answers_a_submit_before_bind_with_invalid_bind_status() -> None:
    smsc = Session(Role.SMSC)
    [err] = smsc.receive_data(SubmitSm(sequence_number=5, destination_addr="628").encode())
    assert isinstance(err, ProtocolErrorEvent)
    assert err.error.status == S.ESME_RINVBNDSTS
    [answer] = Decoder().feed(smsc.data_to_send())
    assert answer == SubmitSmResp(sequence_number=5, command_status=S.ESME_RINVBNDSTS)


def test_the_smsc_answers_a_second_bind_with_already_bound() -> None:
    esme, smsc = bound_pair()
    [err] = smsc.receive_data(BindTransceiver(sequence_number=50, system_id="x").encode())
    assert isinstance(err, ProtocolErrorEvent) and err.error.status == S.ESME_RALYBND
    [answer] = Decoder().feed(smsc.data_to_send())
    assert answer.command_status == S.ESME_RALYBND and answer.sequence_number == 50


def test_a_request_the_peer_role_never_sends_is_nacked_with_invalid_command_id() -> None:
    esme, smsc = bound_pair()
    [err] = smsc.receive_data(DeliverSm(sequence_number=9).encode())
    assert isinstance(err, ProtocolErrorEvent)
    [answer] = Decoder().feed(smsc.data_to_send())
    assert answer == GenericNack(sequence_number=9, command_status=S.ESME_RINVCMDID)


def test_a_failed_bind_leaves_the_session_open() -> None:
    esme, smsc = Session(Role.ESME), Session(Role.SMSC)
    bind = esme.send(BindTransmitter(system_id="warta", password="wrong"))
    pump(esme, smsc)
    smsc.send(bind.response(command_status=S.ESME_RINVPASWD))
    assert smsc.state is State.OPEN
    [resp] = pump(smsc, esme)
    assert isinstance(resp, ResponseReceived) and not resp.ok
    assert esme.state is State.OPEN


def test_it_answers_enquire_link_by_itself() -> None:
    esme, smsc = bound_pair()
    link = smsc.send(EnquireLink())
    assert pump(smsc, esme) == []
    [resp] = pump(esme, smsc)
    assert isinstance(resp, ResponseReceived) and resp.request == link


def test_sequence_numbers_wrap_after_0x7fffffff_and_skip_outstanding_ones() -> None:
    esme, _ = bound_pair(window=5)
    esme._next_seq = 0x7FFFFFFF
    assert esme.send(SubmitSm()).sequence_number == 0x7FFFFFFF
    assert esme.send(SubmitSm()).sequence_number == 1
    # 2 was the bind's and was answered; a still-outstanding number is skipped
    esme._next_seq = 1
    assert esme.send(SubmitSm()).sequence_number == 2


def test_a_full_window_refuses_more_requests_until_a_response_arrives() -> None:
    esme, smsc = bound_pair(window=2)
    first = esme.send(SubmitSm(destination_addr="1"))
    esme.send(SubmitSm(destination_addr="2"))
    assert esme.outstanding == 2
    assert not esme.can_send()
    with pytest.raises(WindowFullError):
        esme.send(SubmitSm(destination_addr="3"))
    esme.send(EnquireLink())  # control PDUs are not windowed
    pump(esme, smsc)
    smsc.send(first.response(message_id="a"))
    pump(smsc, esme)
    assert esme.can_send() and esme.outstanding == 1


def test_can_send_is_false_before_bind() -> None:
    assert not Session(Role.ESME).can_send()
    assert not Session(Role.SMSC).can_send()


def test_a_generic_nack_answers_the_request_it_names() -> None:
    esme, smsc = bound_pair()
    submit = esme.send(SubmitSm())
    pump(esme, smsc)
    smsc.send(submit.nack(S.ESME_RSYSERR))
    [resp] = pump(smsc, esme)
    assert isinstance(resp, ResponseReceived) and resp.request == submit and not resp.ok
    assert esme.outstanding == 0


def test_an_unexpected_response_is_a_protocol_error_and_is_not_answered() -> None:
    esme, _ = bound_pair()
    [err] = esme.receive_data(SubmitSmResp(sequence_number=999, message_id="x").encode())
    assert isinstance(err, ProtocolErrorEvent)
    assert esme.data_to_send() == b""


def test_it_refuses_to_answer_a_request_twice_or_one_that_never_came() -> None:
    esme, smsc = bound_pair()
    submit = esme.send(SubmitSm())
    pump(esme, smsc)
    smsc.send(submit.response(message_id="a"))
    with pytest.raises(LocalProtocolError):
        smsc.send(submit.response(message_id="a"))
    with pytest.raises(LocalProtocolError):
        smsc.send(SubmitSmResp(sequence_number=12345))


def test_tick_sends_enquire_link_after_the_idle_interval() -> None:
    esme, smsc = bound_pair(enquire_link_interval=30.0, response_timeout=10.0)
    assert esme.tick(29.0) == []
    assert esme.next_deadline() == 30.0
    [sent] = esme.tick(30.0)
    assert isinstance(sent, EnquireLinkSent)
    assert esme.tick(31.0) == []  # one at a time
    pump(esme, smsc, now=31.0)
    [resp] = pump(smsc, esme, now=32.0)
    assert isinstance(resp, ResponseReceived)
    assert esme.tick(61.0) == []
    assert isinstance(esme.tick(62.0)[0], EnquireLinkSent)


def test_tick_times_out_unanswered_requests_and_frees_the_window() -> None:
    esme, _ = bound_pair(response_timeout=10.0, enquire_link_interval=1000.0, window=1)
    submit = esme.send(SubmitSm(), now=5.0)
    assert esme.tick(14.9) == []
    assert esme.tick(15.0) == [ResponseTimeout(submit)]
    assert esme.outstanding == 0 and esme.can_send()
    assert esme.state is State.BOUND_TRX


def test_a_response_after_the_timeout_is_a_late_response_with_its_message_id() -> None:
    esme, smsc = bound_pair(response_timeout=10.0, enquire_link_interval=1000.0, window=1)
    submit = esme.send(SubmitSm(), now=5.0)
    [received] = pump(esme, smsc)
    assert isinstance(received, RequestReceived)
    assert esme.tick(15.0) == [ResponseTimeout(submit)]
    smsc.send(received.pdu.response(message_id="abc123"))
    [late] = pump(smsc, esme, now=16.0)
    assert late == LateResponse(submit, late.response)  # type: ignore[union-attr]
    assert late.response.message_id == "abc123"  # type: ignore[union-attr]
    # A second answer to the same request is the peer's mistake, not a late response.
    smsc_resp = received.pdu.response(message_id="abc123")
    esme.receive_data(smsc_resp.encode(), now=17.0)
    assert esme.outstanding == 0


def test_an_unanswered_enquire_link_means_the_connection_must_close() -> None:
    esme, _ = bound_pair(response_timeout=10.0, enquire_link_interval=30.0)
    submit = esme.send(SubmitSm(), now=25.0)
    [sent] = esme.tick(30.0)
    assert isinstance(sent, EnquireLinkSent)
    events = esme.tick(40.0)
    assert events[:2] == [ResponseTimeout(submit), ResponseTimeout(sent.request)]
    assert isinstance(events[2], ConnectionMustClose)
    assert esme.state is State.CLOSED


def test_a_bad_command_length_answers_generic_nack_and_closes() -> None:
    esme, _ = bound_pair()
    submit = esme.send(SubmitSm())
    esme.data_to_send()
    events = esme.receive_data(b"\x00\x00\x00\x08\x80\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x03")
    assert isinstance(events[0], ProtocolErrorEvent)
    assert events[1] == ConnectionMustClose(events[1].reason, (submit,))  # type: ignore[union-attr]
    assert esme.state is State.CLOSED
    assert Decoder().feed(esme.data_to_send()) == [
        GenericNack(sequence_number=3, command_status=S.ESME_RINVCMDLEN)
    ]
    assert esme.receive_data(b"anything") == []
    with pytest.raises(LocalProtocolError):
        esme.send(SubmitSm())


def test_a_malformed_request_is_answered_with_its_own_response_and_the_status() -> None:
    _, smsc = bound_pair()
    bad = SubmitSm(sequence_number=4, destination_addr="1").encode()
    bad = bad.replace(b"1\x00", b"1" * 25 + b"\x00")  # destination_addr over 21 octets
    bad = (len(bad)).to_bytes(4, "big") + bad[4:]
    [err] = smsc.receive_data(bad)
    assert isinstance(err, ProtocolErrorEvent)
    [answer] = Decoder().feed(smsc.data_to_send())
    assert answer == SubmitSmResp(sequence_number=4, command_status=S.ESME_RINVDSTADR)
    assert smsc.state is State.BOUND_TRX


def test_outbind_lets_the_esme_bind_from_outbound() -> None:
    esme, smsc = Session(Role.ESME), Session(Role.SMSC)
    smsc.send(Outbind(system_id="SIM", password="pw"))
    assert smsc.state is State.OUTBOUND
    [ev] = pump(smsc, esme)
    assert isinstance(ev, RequestReceived) and isinstance(ev.pdu, Outbind)
    assert esme.state is State.OUTBOUND
    bind = esme.send(BindReceiver(system_id="warta", password="pw"))
    pump(esme, smsc)
    smsc.send(bind.response(system_id="SIM"))
    pump(smsc, esme)
    assert esme.state is State.BOUND_RX and smsc.state is State.BOUND_RX


def test_close_returns_the_requests_that_will_never_be_answered() -> None:
    esme, _ = bound_pair()
    a = esme.send(SubmitSm(destination_addr="1"))
    b = esme.send(SubmitSm(destination_addr="2"))
    assert esme.close() == (a, b)
    assert esme.close() == ()


def test_session_input_byte_by_byte_gives_the_same_events() -> None:
    esme, smsc = Session(Role.ESME), Session(Role.SMSC)
    esme.send(BindTransceiver(system_id="warta", password="secret"))
    data = esme.data_to_send()
    events: list[Event] = []
    for i in range(len(data)):
        events += smsc.receive_data(data[i : i + 1])
    assert len(events) == 1 and isinstance(events[0], RequestReceived)
