"""SMPP 3.4 PDUs: one frozen, self-validating dataclass per PDU, with ``encode()``.

Theory of operation
-------------------
* Every PDU class has a class-level ``command_id`` and the instance fields ``sequence_number``,
  ``command_status`` (0 for requests) and ``tlvs``; then its mandatory body fields, in wire order.
  All fields are keyword-only and have defaults, so ``SubmitSm(destination_addr="62812...",
  short_message=b"hi")`` is a whole PDU. ``sequence_number=0`` means "not assigned yet": the
  ``Session`` stamps requests with the next number when they are sent.
* The constructor validates (``__post_init__``): C-Octet strings against their SMPP maximum size
  (which *includes* the NUL, so system_id holds at most 15 characters), integers against their
  octet size, ``short_message`` against 254 octets, TLVs against 16-bit tags/lengths. An invalid
  value raises ``InvalidPduError`` whose ``status`` is the command_status an SMSC answers with
  (ESME_RINVDSTADR for destination_addr, ...). Decoding calls the same constructor, so a PDU
  from the wire is exactly as valid as one built in code.
* C-Octet strings are ``str`` (Latin-1 on the wire: it maps every byte, so decoding never fails);
  octet strings (``short_message``, TLV values) are ``bytes``.
* TLVs are a tuple of ``(tag, value)`` pairs in wire order; ``pdu.tlv(tag)`` and properties such
  as ``pdu.message_payload`` read them; ``tlv_u8``/``tlv_u16``/``tlv_cstring``... build them.
* ``_decode`` classmethods sit next to ``encode`` so each layout is written once per direction.
  They receive the whole PDU as ``bytes`` (length already checked by ``codec``) and only read
  inside it. They are written for speed: precompiled ``Struct``s, ``bytes.index`` for NULs, no
  per-field helper calls.
"""

from __future__ import annotations

import dataclasses
import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from struct import Struct
from typing import Any, ClassVar, TypeAlias, TypeVar

from .constants import INTERFACE_VERSION_34, RESPONSE_BIT, CommandId, Tag
from .constants import CommandStatus as S
from .errors import DecodeError, InvalidPduError

Tlv: TypeAlias = tuple[int, bytes]
Tlvs: TypeAlias = tuple[Tlv, ...]

_HEADER = Struct(">IIII")
_B2 = Struct(">BB")
_B3 = Struct(">BBB")
_B4 = Struct(">BBBB")
_B5 = Struct(">BBBBB")
_H2 = Struct(">HH")
_U8 = Struct(">B")
_U16 = Struct(">H")
_U32 = Struct(">I")

_P = TypeVar("_P", bound="Pdu")


# --------------------------------------------------------------------------- TLV helpers


def tlv_bytes(tag: int, value: bytes) -> Tlv:
    return (int(tag), bytes(value))


def tlv_u8(tag: int, value: int) -> Tlv:
    return (int(tag), _U8.pack(value))


def tlv_u16(tag: int, value: int) -> Tlv:
    return (int(tag), _U16.pack(value))


def tlv_u32(tag: int, value: int) -> Tlv:
    return (int(tag), _U32.pack(value))


def tlv_cstring(tag: int, value: str) -> Tlv:
    """A TLV holding a C-Octet string (e.g. receipted_message_id): the text plus a NUL."""
    return (int(tag), value.encode("latin-1") + b"\0")


def _encode_tlvs(tlvs: Tlvs) -> bytes:
    if not tlvs:
        return b""
    pack = _H2.pack
    return b"".join([pack(tag, len(value)) + value for tag, value in tlvs])


def _decode_tlvs(d: bytes, pos: int, end: int) -> Tlvs:
    out = []
    unpack = _H2.unpack_from
    while pos < end:
        if pos + 4 > end:
            raise DecodeError("truncated TLV header", S.ESME_RINVOPTPARSTREAM)
        tag, length = unpack(d, pos)
        pos += 4
        if pos + length > end:
            raise DecodeError(f"TLV 0x{tag:04X} longer than the PDU", S.ESME_RINVPARLEN)
        out.append((tag, d[pos : pos + length]))
        pos += length
    return tuple(out)


# --------------------------------------------------------------------------- validation


def _bad_cstring(
    cls_name: str, name: str, value: object, size: int, status: int
) -> InvalidPduError:
    if not isinstance(value, str):
        return InvalidPduError(
            f"{cls_name}.{name} must be str, not {type(value).__name__}", status, name
        )
    if len(value) >= size:
        return InvalidPduError(
            f"{cls_name}.{name} is {len(value)} characters; at most {size - 1} fit "
            f"(C-Octet string of {size} octets with NUL)",
            status,
            name,
        )
    if "\0" in value:
        return InvalidPduError(f"{cls_name}.{name} contains a NUL", status, name)
    return InvalidPduError(f"{cls_name}.{name} is not Latin-1 text", status, name)


def _check_time(cls_name: str, name: str, value: str, status: int) -> None:
    # SMPP absolute/relative time: "YYMMDDhhmmsstnnp" (16 chars, p in + - R) or empty.
    if value and (len(value) != 16 or value[15] not in "+-R" or not value[:15].isdigit()):
        raise InvalidPduError(
            f"{cls_name}.{name} must be empty or YYMMDDhhmmsstnn[+-R], got {value!r}", status, name
        )


# --------------------------------------------------------------------------- base class


@dataclass(frozen=True, slots=True, kw_only=True)
class Pdu:
    """Base of all PDUs. Subclasses set ``command_id`` and list their fields for validation."""

    command_id: ClassVar[int]
    #: The class of the response to this request (None for responses and for outbind,
    #: alert_notification and generic_nack, which are never answered).
    response_class: ClassVar[type[Pdu] | None] = None
    #: (field, size including NUL, status when invalid) for each C-Octet string field.
    _cstrings: ClassVar[tuple[tuple[str, int, int], ...]] = ()
    #: (field, status when invalid) for each 1-octet integer field.
    _octets: ClassVar[tuple[tuple[str, int], ...]] = ()
    #: False for PDUs that are a bare header (enquire_link, unbind, generic_nack, ...).
    _has_body: ClassVar[bool] = True
    #: Builds an instance from all fields, positionally, *without* validation; for the decoder's
    #: hot path once it has checked what validation would (set by ``_install_fast_new``).
    _fast_new: ClassVar[Callable[..., Any]]
    #: All field values as a tuple, in ``_fast_new``'s order (an ``operator.attrgetter``: one C
    #: call instead of a ``dataclasses.fields`` walk per copy).
    _values: ClassVar[Callable[[Any], tuple[Any, ...]]]

    sequence_number: int = 0
    command_status: int = 0
    tlvs: Tlvs = ()

    def __post_init__(self) -> None:
        cls_name = type(self).__name__
        seq = self.sequence_number
        if not isinstance(seq, int) or not 0 <= seq <= 0xFFFFFFFF:
            raise InvalidPduError(
                f"{cls_name}.sequence_number out of range: {seq!r}",
                S.ESME_RSYSERR,
                "sequence_number",
            )
        st = self.command_status
        if not isinstance(st, int) or not 0 <= st <= 0xFFFFFFFF:
            raise InvalidPduError(
                f"{cls_name}.command_status out of range: {st!r}", S.ESME_RSYSERR, "command_status"
            )
        for name, size, status in self._cstrings:
            v = getattr(self, name)
            if type(v) is not str or len(v) >= size or "\0" in v or not v.isascii():
                if isinstance(v, str) and len(v) < size and "\0" not in v:
                    try:
                        v.encode("latin-1")
                        continue
                    except UnicodeEncodeError:
                        pass
                raise _bad_cstring(cls_name, name, v, size, status)
        for name, status in self._octets:
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 <= v <= 0xFF:
                raise InvalidPduError(
                    f"{cls_name}.{name} must be an int 0..255, got {v!r}", status, name
                )
        tlvs = self.tlvs
        if tlvs:
            if not self._has_body:
                raise InvalidPduError(f"{cls_name} carries no TLVs", S.ESME_ROPTPARNOTALLWD, "tlvs")
            if type(tlvs) is not tuple:
                try:
                    tlvs = tuple((t, v) for t, v in tlvs)
                except (TypeError, ValueError):
                    raise InvalidPduError(
                        f"{cls_name}.tlvs must be (tag, bytes) pairs",
                        S.ESME_RINVOPTPARSTREAM,
                        "tlvs",
                    ) from None
                object.__setattr__(self, "tlvs", tlvs)
            for item in tlvs:
                if (
                    type(item) is not tuple
                    or len(item) != 2
                    or not isinstance(item[0], int)
                    or not 0 <= item[0] <= 0xFFFF
                    or not isinstance(item[1], bytes)
                    or len(item[1]) > 0xFFFF
                ):
                    raise InvalidPduError(
                        f"{cls_name}.tlvs: {item!r} is not a (tag 0..65535, bytes of at most 65535) pair",
                        S.ESME_RINVOPTPARSTREAM,
                        "tlvs",
                    )
        self._validate()

    def _validate(self) -> None:
        """Class-specific checks beyond sizes (hook for subclasses)."""

    # -- wire ------------------------------------------------------------------------------

    def _body(self) -> bytes:
        return b""

    def encode(self) -> bytes:
        """The whole PDU, header included."""
        body = self._body()
        if self.tlvs:
            body += _encode_tlvs(self.tlvs)
        return (
            _HEADER.pack(16 + len(body), self.command_id, self.command_status, self.sequence_number)
            + body
        )

    @classmethod
    def _decode(cls, d: bytes, status: int, seq: int) -> Pdu:
        if len(d) != 16:
            raise DecodeError(
                f"{cls.__name__} has no body but {len(d) - 16} octets follow the header",
                S.ESME_RINVCMDLEN,
            )
        return cls(sequence_number=seq, command_status=status)

    # -- properties ------------------------------------------------------------------------

    @property
    def is_response(self) -> bool:
        return bool(self.command_id & RESPONSE_BIT)

    @property
    def command_name(self) -> str:
        return CommandId(self.command_id).name.lower()

    def with_sequence_number(self: _P, sequence_number: int) -> _P:
        """A copy with another sequence_number (cheap: the other fields are already valid)."""
        if not isinstance(sequence_number, int) or not 0 <= sequence_number <= 0xFFFFFFFF:
            raise InvalidPduError(
                f"sequence_number out of range: {sequence_number!r}",
                S.ESME_RSYSERR,
                "sequence_number",
            )
        values = type(self)._values(self)
        new: _P = type(self)._fast_new(sequence_number, *values[1:])
        return new

    # -- responses -------------------------------------------------------------------------

    def error_response(self, status: int) -> Pdu:
        """The response to this request carrying ``status`` (generic_nack if it has none)."""
        rc = self.response_class
        if rc is None:
            return GenericNack(sequence_number=self.sequence_number, command_status=status)
        return rc(sequence_number=self.sequence_number, command_status=status)

    def nack(self, status: int = S.ESME_RSYSERR) -> GenericNack:
        """A generic_nack with this PDU's sequence number."""
        return GenericNack(sequence_number=self.sequence_number, command_status=status)

    # -- TLV accessors ---------------------------------------------------------------------

    def tlv(self, tag: int) -> bytes | None:
        """Value of the first TLV with ``tag``, or None."""
        for t, v in self.tlvs:
            if t == tag:
                return v
        return None

    def tlv_int(self, tag: int) -> int | None:
        v = self.tlv(tag)
        return None if v is None or not v else int.from_bytes(v, "big")

    def tlv_str(self, tag: int) -> str | None:
        v = self.tlv(tag)
        return None if v is None else v.split(b"\0", 1)[0].decode("latin-1")

    @property
    def message_payload(self) -> bytes | None:
        return self.tlv(Tag.MESSAGE_PAYLOAD)

    @property
    def receipted_message_id(self) -> str | None:
        return self.tlv_str(Tag.RECEIPTED_MESSAGE_ID)

    @property
    def message_state(self) -> int | None:
        return self.tlv_int(Tag.MESSAGE_STATE)

    @property
    def network_error_code(self) -> tuple[int, int] | None:
        """(network type, error code) from the 3-octet network_error_code TLV."""
        v = self.tlv(Tag.NETWORK_ERROR_CODE)
        if v is None or len(v) != 3:
            return None
        return v[0], int.from_bytes(v[1:], "big")

    @property
    def user_message_reference(self) -> int | None:
        return self.tlv_int(Tag.USER_MESSAGE_REFERENCE)

    @property
    def sar_msg_ref_num(self) -> int | None:
        return self.tlv_int(Tag.SAR_MSG_REF_NUM)

    @property
    def sar_total_segments(self) -> int | None:
        return self.tlv_int(Tag.SAR_TOTAL_SEGMENTS)

    @property
    def sar_segment_seqnum(self) -> int | None:
        return self.tlv_int(Tag.SAR_SEGMENT_SEQNUM)

    @property
    def source_port(self) -> int | None:
        return self.tlv_int(Tag.SOURCE_PORT)

    @property
    def destination_port(self) -> int | None:
        return self.tlv_int(Tag.DESTINATION_PORT)

    @property
    def sc_interface_version(self) -> int | None:
        return self.tlv_int(Tag.SC_INTERFACE_VERSION)


# --------------------------------------------------------------------------- header-only PDUs


@dataclass(frozen=True, slots=True, kw_only=True)
class GenericNack(Pdu):
    """Negative acknowledgement for a PDU that could not be handled (e.g. undecodable)."""

    command_id: ClassVar[int] = CommandId.GENERIC_NACK
    _has_body: ClassVar[bool] = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLinkResp(Pdu):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK_RESP
    _has_body: ClassVar[bool] = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EnquireLink(Pdu):
    command_id: ClassVar[int] = CommandId.ENQUIRE_LINK
    response_class: ClassVar[type[Pdu] | None] = EnquireLinkResp
    _has_body: ClassVar[bool] = False

    def response(self, *, command_status: int = 0) -> EnquireLinkResp:
        return EnquireLinkResp(sequence_number=self.sequence_number, command_status=command_status)


@dataclass(frozen=True, slots=True, kw_only=True)
class UnbindResp(Pdu):
    command_id: ClassVar[int] = CommandId.UNBIND_RESP
    _has_body: ClassVar[bool] = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Unbind(Pdu):
    command_id: ClassVar[int] = CommandId.UNBIND
    response_class: ClassVar[type[Pdu] | None] = UnbindResp
    _has_body: ClassVar[bool] = False

    def response(self, *, command_status: int = 0) -> UnbindResp:
        return UnbindResp(sequence_number=self.sequence_number, command_status=command_status)


# --------------------------------------------------------------------------- bind


def _decode_one_string_resp(cls: type[Pdu], d: bytes, status: int, seq: int, field: str, size: int) -> Pdu:
    """Decode a response whose body is one C-Octet string (bind_*_resp: system_id;
    submit/deliver/data_sm_resp: message_id) and optional TLVs."""
    end = len(d)
    if end == 16:
        return cls(sequence_number=seq, command_status=status)
    i = d.index(0, 16, end)
    if i == end - 1 and i < 16 + size:
        # Hot path (every submit_sm_resp): Latin-1 octets without NUL that fit the field, no
        # TLVs — all that validation would check, so skip it.
        fast: Pdu = cls._fast_new(seq, status, (), d[16:i].decode("latin-1"))
        return fast
    return cls(
        sequence_number=seq,
        command_status=status,
        tlvs=_decode_tlvs(d, i + 1, end) if i + 1 < end else (),
        **{field: d[16:i].decode("latin-1")},
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class _BindResp(Pdu):
    _cstrings: ClassVar[tuple[tuple[str, int, int], ...]] = (("system_id", 16, S.ESME_RINVSYSID),)

    system_id: str = ""

    def _body(self) -> bytes:
        # SMPP 3.4 4.1.2: "the body ... is not returned if the command_status field contains a
        # non-zero value". We omit it when there is nothing to say.
        if self.command_status and not self.system_id and not self.tlvs:
            return b""
        return self.system_id.encode("latin-1") + b"\0"

    @classmethod
    def _decode(cls, d: bytes, status: int, seq: int) -> Pdu:
        return _decode_one_string_resp(cls, d, status, seq, "system_id", 16)


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitterResp(_BindResp):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiverResp(_BindResp):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiverResp(_BindResp):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class _Bind(Pdu):
    _cstrings: ClassVar[tuple[tuple[str, int, int], ...]] = (
        ("system_id", 16, S.ESME_RINVSYSID),
        ("password", 9, S.ESME_RINVPASWD),
        ("system_type", 13, S.ESME_RINVSYSTYP),
        ("address_range", 41, S.ESME_RBINDFAIL),
    )
    _octets: ClassVar[tuple[tuple[str, int], ...]] = (
        ("interface_version", S.ESME_RBINDFAIL),
        ("addr_ton", S.ESME_RBINDFAIL),
        ("addr_npi", S.ESME_RBINDFAIL),
    )

    system_id: str = ""
    password: str = field(default="", repr=False)  # never in logs
    system_type: str = ""
    interface_version: int = INTERFACE_VERSION_34
    addr_ton: int = 0
    addr_npi: int = 0
    address_range: str = ""

    def _body(self) -> bytes:
        return b"".join(
            (
                self.system_id.encode("latin-1"),
                b"\0",
                self.password.encode("latin-1"),
                b"\0",
                self.system_type.encode("latin-1"),
                b"\0",
                _B3.pack(self.interface_version, self.addr_ton, self.addr_npi),
                self.address_range.encode("latin-1"),
                b"\0",
            )
        )

    @classmethod
    def _decode(cls, d: bytes, status: int, seq: int) -> Pdu:
        end = len(d)
        i = d.index(0, 16, end)
        system_id = d[16:i].decode("latin-1")
        j = d.index(0, i + 1, end)
        password = d[i + 1 : j].decode("latin-1")
        k = d.index(0, j + 1, end)
        system_type = d[j + 1 : k].decode("latin-1")
        version, ton, npi = _B3.unpack_from(d, k + 1)
        p = k + 4
        q = d.index(0, p, end)
        return cls(
            sequence_number=seq,
            command_status=status,
            system_id=system_id,
            password=password,
            system_type=system_type,
            interface_version=version,
            addr_ton=ton,
            addr_npi=npi,
            address_range=d[p:q].decode("latin-1"),
            tlvs=_decode_tlvs(d, q + 1, end) if q + 1 < end else (),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransmitter(_Bind):
    command_id: ClassVar[int] = CommandId.BIND_TRANSMITTER
    response_class: ClassVar[type[Pdu] | None] = BindTransmitterResp

    def response(
        self, *, system_id: str = "", command_status: int = 0, tlvs: Tlvs = ()
    ) -> BindTransmitterResp:
        return BindTransmitterResp(
            sequence_number=self.sequence_number,
            command_status=command_status,
            system_id=system_id,
            tlvs=tlvs,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BindReceiver(_Bind):
    command_id: ClassVar[int] = CommandId.BIND_RECEIVER
    response_class: ClassVar[type[Pdu] | None] = BindReceiverResp

    def response(
        self, *, system_id: str = "", command_status: int = 0, tlvs: Tlvs = ()
    ) -> BindReceiverResp:
        return BindReceiverResp(
            sequence_number=self.sequence_number,
            command_status=command_status,
            system_id=system_id,
            tlvs=tlvs,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class BindTransceiver(_Bind):
    command_id: ClassVar[int] = CommandId.BIND_TRANSCEIVER
    response_class: ClassVar[type[Pdu] | None] = BindTransceiverResp

    def response(
        self, *, system_id: str = "", command_status: int = 0, tlvs: Tlvs = ()
    ) -> BindTransceiverResp:
        return BindTransceiverResp(
            sequence_number=self.sequence_number,
            command_status=command_status,
            system_id=system_id,
            tlvs=tlvs,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Outbind(Pdu):
    """SMSC → ESME: "please bind to me" (the SMSC opened the connection). Not answered."""

    command_id: ClassVar[int] = CommandId.OUTBIND
    _cstrings: ClassVar[tuple[tuple[str, int, int], ...]] = (
        ("system_id", 16, S.ESME_RINVSYSID),
        ("password", 9, S.ESME_RINVPASWD),
    )

    system_id: str = ""
    password: str = field(default="", repr=False)

    def _body(self) -> bytes:
        return self.system_id.encode("latin-1") + b"\0" + self.password.encode("latin-1") + b"\0"

    @classmethod
    def _decode(cls, d: bytes, status: int, seq: int) -> Pdu:
        end = len(d)
        i = d.index(0, 16, end)
        j = d.index(0, i + 1, end)
        return cls(
            sequence_number=seq,
            command_status=status,
            system_id=d[16:i].decode("latin-1"),
            password=d[i + 1 : j].decode("latin-1"),
            tlvs=_decode_tlvs(d, j + 1, end) if j + 1 < end else (),
        )


# --------------------------------------------------------------------------- message ids


@dataclass(frozen=True, slots=True, kw_only=True)
class _MessageIdResp(Pdu):
    _cstrings: ClassVar[tuple[tuple[str, int, int], ...]] = (("message_id", 65, S.ESME_RINVMSGID),)
    #: SMPP 3.4 omits the body of submit_sm_resp on error; deliver_sm_resp always has its NUL.
    _omit_body_on_error: ClassVar[bool] = True

    message_id: str = ""

    def _body(self) -> bytes:
        if (
            self._omit_body_on_error
            and self.command_status
            and not self.message_id
            and not self.tlvs
        ):
            return b""
        return self.message_id.encode("latin-1") + b"\0"

    @classmethod
    def _decode(cls, d: bytes, status: int, seq: int) -> Pdu:
        return _decode_one_string_resp(cls, d, status, seq, "message_id", 65)


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSmResp(_MessageIdResp):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM_RESP


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSmResp(_MessageIdResp):
    """message_id is unused (NUL) in SMPP 3.4."""

    command_id: ClassVar[int] = CommandId.DELIVER_SM_RESP
    _omit_body_on_error: ClassVar[bool] = False


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSmResp(_MessageIdResp):
    command_id: ClassVar[int] = CommandId.DATA_SM_RESP


# --------------------------------------------------------------------------- submit_sm / deliver_sm

_SM_CSTRINGS: tuple[tuple[str, int, int], ...] = (
    ("service_type", 6, S.ESME_RINVSERTYP),
    ("source_addr", 21, S.ESME_RINVSRCADR),
    ("destination_addr", 21, S.ESME_RINVDSTADR),
    ("schedule_delivery_time", 17, S.ESME_RINVSCHED),
    ("validity_period", 17, S.ESME_RINVEXPIRY),
)
_SM_OCTETS: tuple[tuple[str, int], ...] = (
    ("source_addr_ton", S.ESME_RINVSRCTON),
    ("source_addr_npi", S.ESME_RINVSRCNPI),
    ("dest_addr_ton", S.ESME_RINVDSTTON),
    ("dest_addr_npi", S.ESME_RINVDSTNPI),
    ("esm_class", S.ESME_RINVESMCLASS),
    ("protocol_id", S.ESME_RSYSERR),
    ("priority_flag", S.ESME_RINVPRTFLG),
    ("registered_delivery", S.ESME_RINVREGDLVFLG),
    ("replace_if_present_flag", S.ESME_RINVREPFLAG),
    ("data_coding", S.ESME_RSYSERR),
    ("sm_default_msg_id", S.ESME_RINVDFTMSGID),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class _ShortMessage(Pdu):
    """Layout shared by submit_sm and deliver_sm (SMPP 3.4 4.4.1 and 4.6.1)."""

    _cstrings: ClassVar[tuple[tuple[str, int, int], ...]] = _SM_CSTRINGS
    _octets: ClassVar[tuple[tuple[str, int], ...]] = _SM_OCTETS

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    protocol_id: int = 0
    priority_flag: int = 0
    schedule_delivery_time: str = ""
    validity_period: str = ""
    registered_delivery: int = 0
    replace_if_present_flag: int = 0
    data_coding: int = 0
    sm_default_msg_id: int = 0
    short_message: bytes = b""

    def _validate(self) -> None:
        sm = self.short_message
        if type(sm) is not bytes:
            if not isinstance(sm, bytes | bytearray | memoryview):
                raise InvalidPduError(
                    f"{type(self).__name__}.short_message must be bytes",
                    S.ESME_RINVMSGLEN,
                    "short_message",
                )
            sm = bytes(sm)
            object.__setattr__(self, "short_message", sm)
        if len(sm) > 254:
            raise InvalidPduError(
                f"{type(self).__name__}.short_message is {len(sm)} octets; at most 254 fit "
                "(use the message_payload TLV or segments)",
                S.ESME_RINVMSGLEN,
                "short_message",
            )
        if self.schedule_delivery_time:
            _check_time(
                type(self).__name__,
                "schedule_delivery_time",
                self.schedule_delivery_time,
                S.ESME_RINVSCHED,
            )
        if self.validity_period:
            _check_time(
                type(self).__name__, "validity_period", self.validity_period, S.ESME_RINVEXPIRY
            )

    def _body(self) -> bytes:
        sm = self.short_message
        return b"".join(
            (
                self.service_type.encode("latin-1"),
                b"\0",
                _B2.pack(self.source_addr_ton, self.source_addr_npi),
                self.source_addr.encode("latin-1"),
                b"\0",
                _B2.pack(self.dest_addr_ton, self.dest_addr_npi),
                self.destination_addr.encode("latin-1"),
                b"\0",
                _B3.pack(self.esm_class, self.protocol_id, self.priority_flag),
                self.schedule_delivery_time.encode("latin-1"),
                b"\0",
                self.validity_period.encode("latin-1"),
                b"\0",
                _B5.pack(
                    self.registered_delivery,
                    self.replace_if_present_flag,
                    self.data_coding,
                    self.sm_default_msg_id,
                    len(sm),
                ),
                sm,
            )
        )

    @classmethod
    def _decode(cls, d: bytes, status: int, seq: int) -> Pdu:
        end = len(d)
        index = d.index
        i = index(0, 16, end)
        service_type = d[16:i].decode("latin-1")
        source_addr_ton, source_addr_npi = _B2.unpack_from(d, i + 1)
        p = i + 3
        i = index(0, p, end)
        source_addr = d[p:i].decode("latin-1")
        dest_addr_ton, dest_addr_npi = _B2.unpack_from(d, i + 1)
        p = i + 3
        i = index(0, p, end)
        destination_addr = d[p:i].decode("latin-1")
        esm_class, protocol_id, priority_flag = _B3.unpack_from(d, i + 1)
        p = i + 4
        i = index(0, p, end)
        schedule_delivery_time = d[p:i].decode("latin-1")
        p = i + 1
        i = index(0, p, end)
        validity_period = d[p:i].decode("latin-1")
        registered_delivery, replace_if_present_flag, data_coding, sm_default_msg_id, sm_length = (
            _B5.unpack_from(d, i + 1)
        )
        p = i + 6
        q = p + sm_length
        if q > end:
            raise DecodeError(
                f"sm_length {sm_length} runs past the end of the PDU", S.ESME_RINVMSGLEN
            )
        tlvs = _decode_tlvs(d, q, end) if q < end else ()
        if (
            len(source_addr) < 21
            and len(destination_addr) < 21
            and len(service_type) < 6
            and sm_length < 255
            and not schedule_delivery_time
            and not validity_period
        ):
            # Hot path: everything __post_init__ would check holds by construction (octets
            # from Struct, Latin-1 strings without NUL, sizes checked above), so skip it.
            fast: Pdu = cls._fast_new(
                seq,
                status,
                tlvs,
                service_type,
                source_addr_ton,
                source_addr_npi,
                source_addr,
                dest_addr_ton,
                dest_addr_npi,
                destination_addr,
                esm_class,
                protocol_id,
                priority_flag,
                schedule_delivery_time,
                validity_period,
                registered_delivery,
                replace_if_present_flag,
                data_coding,
                sm_default_msg_id,
                d[p:q],
            )
            return fast
        return cls(
            sequence_number=seq,
            command_status=status,
            service_type=service_type,
            source_addr_ton=source_addr_ton,
            source_addr_npi=source_addr_npi,
            source_addr=source_addr,
            dest_addr_ton=dest_addr_ton,
            dest_addr_npi=dest_addr_npi,
            destination_addr=destination_addr,
            esm_class=esm_class,
            protocol_id=protocol_id,
            priority_flag=priority_flag,
            schedule_delivery_time=schedule_delivery_time,
            validity_period=validity_period,
            registered_delivery=registered_delivery,
            replace_if_present_flag=replace_if_present_flag,
            data_coding=data_coding,
            sm_default_msg_id=sm_default_msg_id,
            short_message=d[p:q],
            tlvs=tlvs,
        )

    @property
    def payload(self) -> bytes:
        """The message octets: message_payload if present, else short_message."""
        mp = self.message_payload
        return self.short_message if mp is None else mp


@dataclass(frozen=True, slots=True, kw_only=True)
class SubmitSm(_ShortMessage):
    command_id: ClassVar[int] = CommandId.SUBMIT_SM
    response_class: ClassVar[type[Pdu] | None] = SubmitSmResp

    def response(
        self, *, message_id: str = "", command_status: int = 0, tlvs: Tlvs = ()
    ) -> SubmitSmResp:
        return SubmitSmResp(
            sequence_number=self.sequence_number,
            command_status=command_status,
            message_id=message_id,
            tlvs=tlvs,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class DeliverSm(_ShortMessage):
    """SMSC → ESME: a mobile-originated message, or a delivery receipt (esm_class 0x04)."""

    command_id: ClassVar[int] = CommandId.DELIVER_SM
    response_class: ClassVar[type[Pdu] | None] = DeliverSmResp

    def response(self, *, command_status: int = 0, tlvs: Tlvs = ()) -> DeliverSmResp:
        if not command_status and not tlvs:
            # Hot path (every receipt is answered): our own sequence number and constants, all
            # valid, so skip validation.
            fast: DeliverSmResp = DeliverSmResp._fast_new(self.sequence_number, 0, (), "")
            return fast
        return DeliverSmResp(
            sequence_number=self.sequence_number, command_status=command_status, tlvs=tlvs
        )

    @property
    def is_receipt(self) -> bool:
        return bool(self.esm_class & 0x3C)  # delivery receipt, SME ack or intermediate notification


# --------------------------------------------------------------------------- data_sm


@dataclass(frozen=True, slots=True, kw_only=True)
class DataSm(Pdu):
    """Either direction; the message travels in the message_payload TLV."""

    command_id: ClassVar[int] = CommandId.DATA_SM
    response_class: ClassVar[type[Pdu] | None] = DataSmResp
    _cstrings: ClassVar[tuple[tuple[str, int, int], ...]] = (
        ("service_type", 6, S.ESME_RINVSERTYP),
        ("source_addr", 65, S.ESME_RINVSRCADR),
        ("destination_addr", 65, S.ESME_RINVDSTADR),
    )
    _octets: ClassVar[tuple[tuple[str, int], ...]] = (
        ("source_addr_ton", S.ESME_RINVSRCTON),
        ("source_addr_npi", S.ESME_RINVSRCNPI),
        ("dest_addr_ton", S.ESME_RINVDSTTON),
        ("dest_addr_npi", S.ESME_RINVDSTNPI),
        ("esm_class", S.ESME_RINVESMCLASS),
        ("registered_delivery", S.ESME_RINVREGDLVFLG),
        ("data_coding", S.ESME_RSYSERR),
    )

    service_type: str = ""
    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    dest_addr_ton: int = 0
    dest_addr_npi: int = 0
    destination_addr: str = ""
    esm_class: int = 0
    registered_delivery: int = 0
    data_coding: int = 0

    def _body(self) -> bytes:
        return b"".join(
            (
                self.service_type.encode("latin-1"),
                b"\0",
                _B2.pack(self.source_addr_ton, self.source_addr_npi),
                self.source_addr.encode("latin-1"),
                b"\0",
                _B2.pack(self.dest_addr_ton, self.dest_addr_npi),
                self.destination_addr.encode("latin-1"),
                b"\0",
                _B3.pack(self.esm_class, self.registered_delivery, self.data_coding),
            )
        )

    @classmethod
    def _decode(cls, d: bytes, status: int, seq: int) -> Pdu:
        end = len(d)
        i = d.index(0, 16, end)
        service_type = d[16:i].decode("latin-1")
        sa_ton, sa_npi = _B2.unpack_from(d, i + 1)
        p = i + 3
        i = d.index(0, p, end)
        source_addr = d[p:i].decode("latin-1")
        da_ton, da_npi = _B2.unpack_from(d, i + 1)
        p = i + 3
        i = d.index(0, p, end)
        destination_addr = d[p:i].decode("latin-1")
        esm_class, registered_delivery, data_coding = _B3.unpack_from(d, i + 1)
        p = i + 4
        return cls(
            sequence_number=seq,
            command_status=status,
            service_type=service_type,
            source_addr_ton=sa_ton,
            source_addr_npi=sa_npi,
            source_addr=source_addr,
            dest_addr_ton=da_ton,
            dest_addr_npi=da_npi,
            destination_addr=destination_addr,
            esm_class=esm_class,
            registered_delivery=registered_delivery,
            data_coding=data_coding,
            tlvs=_decode_tlvs(d, p, end) if p < end else (),
        )

    def response(
        self, *, message_id: str = "", command_status: int = 0, tlvs: Tlvs = ()
    ) -> DataSmResp:
        return DataSmResp(
            sequence_number=self.sequence_number,
            command_status=command_status,
            message_id=message_id,
            tlvs=tlvs,
        )


# --------------------------------------------------------------------------- alert_notification


@dataclass(frozen=True, slots=True, kw_only=True)
class AlertNotification(Pdu):
    """SMSC → ESME: a handset became available (ms_availability_status TLV). Not answered."""

    command_id: ClassVar[int] = CommandId.ALERT_NOTIFICATION
    _cstrings: ClassVar[tuple[tuple[str, int, int], ...]] = (
        ("source_addr", 65, S.ESME_RINVSRCADR),
        ("esme_addr", 65, S.ESME_RINVDSTADR),
    )
    _octets: ClassVar[tuple[tuple[str, int], ...]] = (
        ("source_addr_ton", S.ESME_RINVSRCTON),
        ("source_addr_npi", S.ESME_RINVSRCNPI),
        ("esme_addr_ton", S.ESME_RINVDSTTON),
        ("esme_addr_npi", S.ESME_RINVDSTNPI),
    )

    source_addr_ton: int = 0
    source_addr_npi: int = 0
    source_addr: str = ""
    esme_addr_ton: int = 0
    esme_addr_npi: int = 0
    esme_addr: str = ""

    def _body(self) -> bytes:
        return b"".join(
            (
                _B2.pack(self.source_addr_ton, self.source_addr_npi),
                self.source_addr.encode("latin-1"),
                b"\0",
                _B2.pack(self.esme_addr_ton, self.esme_addr_npi),
                self.esme_addr.encode("latin-1"),
                b"\0",
            )
        )

    @classmethod
    def _decode(cls, d: bytes, status: int, seq: int) -> Pdu:
        end = len(d)
        s_ton, s_npi = _B2.unpack_from(d, 16)
        i = d.index(0, 18, end)
        e_ton, e_npi = _B2.unpack_from(d, i + 1)
        j = d.index(0, i + 3, end)
        return cls(
            sequence_number=seq,
            command_status=status,
            source_addr_ton=s_ton,
            source_addr_npi=s_npi,
            source_addr=d[18:i].decode("latin-1"),
            esme_addr_ton=e_ton,
            esme_addr_npi=e_npi,
            esme_addr=d[i + 3 : j].decode("latin-1"),
            tlvs=_decode_tlvs(d, j + 1, end) if j + 1 < end else (),
        )


#: Every PDU class by command_id; ``codec`` dispatches on it.
PDU_CLASSES: dict[int, type[Pdu]] = {
    cls.command_id: cls
    for cls in (
        GenericNack,
        BindTransmitter,
        BindTransmitterResp,
        BindReceiver,
        BindReceiverResp,
        BindTransceiver,
        BindTransceiverResp,
        Outbind,
        Unbind,
        UnbindResp,
        SubmitSm,
        SubmitSmResp,
        DeliverSm,
        DeliverSmResp,
        DataSm,
        DataSmResp,
        EnquireLink,
        EnquireLinkResp,
        AlertNotification,
    )
}


def _install_fast_new(cls: type[Pdu]) -> None:
    # Like the __init__ dataclasses generates, minus __post_init__; generated the same way.
    names = [f.name for f in dataclasses.fields(cls)]
    assert names[:3] == ["sequence_number", "command_status", "tlvs"]
    args = ", ".join(names)
    sets = "".join(f"    setattr_(o, {n!r}, {n})\n" for n in names)
    src = f"def _fast_new({args}):\n    o = new_(cls)\n{sets}    return o\n"
    namespace: dict[str, Any] = {"new_": object.__new__, "setattr_": object.__setattr__, "cls": cls}
    exec(src, namespace)  # noqa: S102 - source built from our own field names only
    cls._fast_new = staticmethod(namespace["_fast_new"])
    cls._values = staticmethod(operator.attrgetter(*names))


for _cls in PDU_CLASSES.values():
    _install_fast_new(_cls)


#: The three bind requests.
BIND_CLASSES: tuple[type[Pdu], ...] = (BindTransmitter, BindReceiver, BindTransceiver)
