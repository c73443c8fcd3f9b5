"""Bytes to PDUs: ``decode_pdu`` for one whole PDU, ``Decoder`` for a byte stream.

Theory of operation
-------------------
An SMPP stream is framed by the 4-octet ``command_length`` at the start of each PDU. As soon as
those 4 octets are in, the ``Decoder`` knows how much to wait for; it never buffers more than
one PDU's ``command_length`` (capped by ``max_command_length``, 64 KiB by default) beyond what
the caller handed it, and a PDU is decoded only from its own ``command_length`` octets.

What can go wrong, and what happens:

=============================================  ===================  ==========================
problem                                        status               stream
=============================================  ===================  ==========================
command_length < 16 or > max_command_length    ESME_RINVCMDLEN      must close: cannot resync
unknown / unsupported command_id               ESME_RINVCMDID       continues (length is known)
body shorter than its fields, missing NUL      ESME_RINVCMDLEN      continues
sm_length past the end                         ESME_RINVMSGLEN      continues
broken TLV header / TLV length past the end    ESME_RINVOPTPARSTREAM / ESME_RINVPARLEN
field too long (e.g. destination_addr)         the field's status   continues
                                               (ESME_RINVDSTADR...)
=============================================  ===================  ==========================

The ``Decoder`` returns these as ``MalformedPdu`` events (with the sequence number and command
id when the header was readable) so the session can answer with a generic_nack or the
request's own ``*_resp``; after a ``must_close`` one it accepts nothing more.
``decode_pdu`` raises them as ``DecodeError``. Nothing else escapes, whatever the bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from struct import Struct
from struct import error as StructError

from .constants import CommandId
from .constants import CommandStatus as S
from .errors import DecodeError, InvalidPduError
from .pdu import PDU_CLASSES, Pdu

__all__ = ["DEFAULT_MAX_COMMAND_LENGTH", "Decoder", "MalformedPdu", "decode_pdu", "encode_pdu"]

#: Largest PDU accepted by default. submit_sm tops out near 300 octets without TLVs; the
#: biggest legitimate PDU is a data_sm/submit_sm with a 64 KiB message_payload, which no SMSC
#: we talk to sends.
DEFAULT_MAX_COMMAND_LENGTH = 64 * 1024

_HEADER = Struct(">IIII")
_U32 = Struct(">I")
_DECODERS = {cid: cls._decode for cid, cls in PDU_CLASSES.items()}
_KNOWN_IDS = frozenset(int(c) for c in CommandId)


def encode_pdu(pdu: Pdu) -> bytes:
    """Same as ``pdu.encode()``."""
    return pdu.encode()


def decode_pdu(data: bytes, *, max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH) -> Pdu:
    """Decode exactly one whole PDU; raise ``DecodeError`` if ``data`` is not one."""
    n = len(data)
    if n < 16:
        raise DecodeError(
            f"{n} octets cannot hold a PDU header", S.ESME_RINVCMDLEN, must_close=True
        )
    if type(data) is not bytes:
        data = bytes(data)
    length, cid, status, seq = _HEADER.unpack_from(data)
    if length != n or length > max_command_length:
        raise DecodeError(
            f"command_length {length} does not match {n} octets (max {max_command_length})",
            S.ESME_RINVCMDLEN,
            sequence_number=seq,
            command_id=cid,
            must_close=True,
        )
    decode = _DECODERS.get(cid)
    if decode is None:
        what = "unsupported" if cid in _KNOWN_IDS else "unknown"
        raise DecodeError(
            f"{what} command_id 0x{cid:08X}", S.ESME_RINVCMDID, sequence_number=seq, command_id=cid
        )
    try:
        return decode(data, status, seq)
    except DecodeError as e:
        e.sequence_number = seq
        e.command_id = cid
        raise
    except InvalidPduError as e:
        raise DecodeError(str(e), e.status, sequence_number=seq, command_id=cid) from None
    except (ValueError, IndexError, StructError):
        # bytes.index found no NUL, or a fixed field ran past command_length.
        raise DecodeError(
            f"{PDU_CLASSES[cid].__name__} body is truncated (missing field or NUL)",
            S.ESME_RINVCMDLEN,
            sequence_number=seq,
            command_id=cid,
        ) from None


@dataclass(frozen=True, slots=True)
class MalformedPdu:
    """Event: octets that are not a valid PDU.

    ``status`` is what to answer with; ``sequence_number``/``command_id`` are None when the header
    was unreadable; ``must_close`` means the stream cannot continue.
    """

    reason: str
    status: int
    sequence_number: int | None = None
    command_id: int | None = None
    must_close: bool = False

    @classmethod
    def from_error(cls, error: DecodeError) -> MalformedPdu:
        return cls(
            str(error), int(error.status), error.sequence_number, error.command_id, error.must_close
        )

    def to_error(self) -> DecodeError:
        return DecodeError(
            self.reason,
            self.status,
            sequence_number=self.sequence_number,
            command_id=self.command_id,
            must_close=self.must_close,
        )


class Decoder:
    """Incremental decoder: ``feed(data)`` returns the PDUs (and ``MalformedPdu``s) completed.

    Partial input is kept until its PDU is complete; several PDUs in one chunk come out in
    order. After a ``MalformedPdu`` with ``must_close`` the decoder is ``failed`` and ``feed``
    returns ``[]``.
    """

    __slots__ = ("_buf", "_need", "failed", "max_command_length")

    def __init__(self, max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH) -> None:
        if max_command_length < 16:
            raise ValueError("max_command_length must be at least 16")
        self.max_command_length = max_command_length
        self.failed = False
        self._buf = bytearray()
        self._need = 4  # octets the buffer must hold before there is anything to do

    @property
    def buffered(self) -> int:
        """Octets held, waiting for the rest of their PDU."""
        return len(self._buf)

    def feed(self, data: bytes | bytearray | memoryview) -> list[Pdu | MalformedPdu]:
        if self.failed or not data:
            return []
        buf = self._buf
        if buf:
            buf += data
            if len(buf) < self._need:
                return []
            chunk = bytes(buf)
            buf.clear()
        else:
            chunk = data if type(data) is bytes else bytes(data)
        return self._scan(chunk)

    def _scan(self, data: bytes) -> list[Pdu | MalformedPdu]:
        out: list[Pdu | MalformedPdu] = []
        n = len(data)
        pos = 0
        cap = self.max_command_length
        unpack_len = _U32.unpack_from
        decoders = _DECODERS
        while n - pos >= 4:
            length = unpack_len(data, pos)[0]
            if length < 16 or length > cap:
                seq = cid = None
                if n - pos >= 16:
                    _, cid, _, seq = _HEADER.unpack_from(data, pos)
                out.append(
                    MalformedPdu(
                        f"command_length {length} outside 16..{cap}; the stream cannot be resynchronised",
                        S.ESME_RINVCMDLEN,
                        seq,
                        cid,
                        True,
                    )
                )
                self.failed = True
                return out
            if n - pos < length:
                self._need = length
                break
            pdu_bytes = data if (pos == 0 and length == n) else data[pos : pos + length]
            pos += length
            # Fast path inline; errors go through decode_pdu for uniform reporting.
            _, cid, status, seq = _HEADER.unpack_from(pdu_bytes)
            decode = decoders.get(cid)
            if decode is not None:
                try:
                    out.append(decode(pdu_bytes, status, seq))
                    continue
                except Exception:  # noqa: BLE001 - re-decoded below to classify the error
                    pass
            try:
                out.append(decode_pdu(pdu_bytes, max_command_length=cap))
            except DecodeError as e:
                out.append(MalformedPdu.from_error(e))
        else:
            self._need = 4
        if pos < n:
            self._buf += memoryview(data)[pos:]
            if n - pos < 4:
                self._need = 4
        return out
