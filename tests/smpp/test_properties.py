"""Hypothesis: every PDU type round-trips; arbitrary bytes never break the Decoder."""

from __future__ import annotations

import dataclasses
import struct
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from warta.smpp.codec import Decoder, MalformedPdu, decode_pdu
from warta.smpp.pdu import PDU_CLASSES, Pdu
from warta.smpp.session import Role, Session

TIME_FIELDS = {"schedule_delivery_time", "validity_period"}

times = st.one_of(
    st.just(""),
    st.builds(
        lambda digits, p: digits + p,
        st.text("0123456789", min_size=15, max_size=15),
        st.sampled_from("+-R"),
    ),
)
tlvs = st.lists(st.tuples(st.integers(0, 0xFFFF), st.binary(max_size=40)), max_size=4).map(tuple)


def field_strategy(cls: type[Pdu], name: str) -> st.SearchStrategy[Any]:
    if name == "sequence_number":
        return st.integers(0, 0xFFFFFFFF)
    if name == "command_status":
        return st.integers(0, 0xFFFFFFFF) if cls.command_id & 0x80000000 else st.just(0)
    if name == "tlvs":
        return tlvs if cls._has_body else st.just(())
    if name in TIME_FIELDS:
        return times
    if name == "short_message":
        return st.binary(max_size=254)
    sizes = {n: s for n, s, _ in cls._cstrings}
    if name in sizes:
        return st.text(st.characters(min_codepoint=1, max_codepoint=255), max_size=sizes[name] - 1)
    return st.integers(0, 255)


def pdu_strategy(cls: type[Pdu]) -> st.SearchStrategy[Pdu]:
    kwargs = {f.name: field_strategy(cls, f.name) for f in dataclasses.fields(cls)}
    return st.builds(cls, **kwargs)


any_pdu = st.one_of([pdu_strategy(cls) for cls in PDU_CLASSES.values()])


@settings(max_examples=500)
@given(any_pdu)
def test_every_pdu_type_round_trips(pdu: Pdu) -> None:
    wire = pdu.encode()
    assert struct.unpack(">I", wire[:4])[0] == len(wire)
    assert decode_pdu(wire) == pdu
    assert Decoder().feed(wire) == [pdu]


@settings(max_examples=100)
@given(st.lists(any_pdu, min_size=1, max_size=5), st.integers(1, 30))
def test_a_stream_of_pdus_decodes_the_same_in_any_chunking(pdus: list[Pdu], size: int) -> None:
    wire = b"".join(p.encode() for p in pdus)
    decoder = Decoder()
    out: list[Pdu | MalformedPdu] = []
    for i in range(0, len(wire), size):
        out += decoder.feed(wire[i : i + size])
    assert out == pdus


@settings(max_examples=1000)
@given(st.binary(max_size=600), st.integers(16, 2048))
def test_arbitrary_bytes_only_ever_yield_pdus_or_malformed_events(data: bytes, cap: int) -> None:
    decoder = Decoder(max_command_length=cap)
    out = decoder.feed(data)
    for item in out:
        assert isinstance(item, Pdu | MalformedPdu)
    assert decoder.buffered <= max(cap, len(data))


@settings(max_examples=500)
@given(st.lists(st.integers(1, 64), min_size=1, max_size=8), st.binary(min_size=20, max_size=300))
def test_a_pdu_never_reads_beyond_its_command_length(lengths: list[int], tail: bytes) -> None:
    # A well-formed header whose body is garbage, followed by a valid PDU: the garbage must
    # be contained (error or PDU), and the following PDU decoded intact.
    from warta.smpp.pdu import EnquireLink

    for cid in PDU_CLASSES:
        body = tail[: lengths[0]]
        bad = struct.pack(">IIII", 16 + len(body), cid, 0, 3) + body
        after = EnquireLink(sequence_number=4).encode()
        out = Decoder().feed(bad + after)
        assert out[-1] == EnquireLink(sequence_number=4)
        assert len(out) == 2


@settings(max_examples=300)
@given(st.binary(max_size=400), st.sampled_from([Role.ESME, Role.SMSC]))
def test_a_session_never_raises_on_arbitrary_bytes(data: bytes, role: Role) -> None:
    session = Session(role)
    session.receive_data(data, now=1.0)
    session.tick(100.0)
    session.data_to_send()
