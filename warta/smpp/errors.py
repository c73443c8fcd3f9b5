"""Exceptions of ``warta.smpp``.

::

    SmppError                       base of everything raised here; .status = command_status hint
    ├── InvalidPduError (ValueError)   a PDU field breaks SMPP 3.4 (raised by the constructors)
    ├── LocalProtocolError             *we* misused the codec or session: fix the calling code
    │   └── WindowFullError            send() of a windowed request while ``window`` are unanswered
    └── RemoteProtocolError            *the peer* broke the protocol: answer it / close the socket
        └── DecodeError                bytes that are not a valid PDU (.sequence_number, .command_id,
                                       .must_close)

``status`` is the command_status to answer with (e.g. ESME_RINVDSTADR for a bad
destination_addr), so the session can answer a peer's bad request with the right error.
A ``DecodeError`` with ``must_close`` set means the byte stream cannot be resynchronised (the
command_length itself is unusable): the connection must be closed.

Errors from the peer normally do not surface as exceptions: the ``Decoder`` and ``Session`` turn
them into events (``MalformedPdu``, ``ProtocolErrorEvent``). Only ``decode_pdu`` raises
``DecodeError`` directly.
"""

from __future__ import annotations

from .constants import CommandStatus


class SmppError(Exception):
    """Base of all SMPP errors; ``status`` is the command_status that best describes it."""

    def __init__(self, message: str, status: int = CommandStatus.ESME_RSYSERR) -> None:
        super().__init__(message)
        self.status = int(status)


class InvalidPduError(SmppError, ValueError):
    """A PDU field value is not allowed by SMPP 3.4 (too long, out of range, NUL in a string)."""

    def __init__(
        self, message: str, status: int = CommandStatus.ESME_RSYSERR, field: str = ""
    ) -> None:
        super().__init__(message, status)
        self.field = field


class LocalProtocolError(SmppError):
    """We tried something the protocol does not allow (e.g. submit_sm before bind)."""


class WindowFullError(LocalProtocolError):
    """Sending one more request would exceed the session's window of unanswered requests."""


class RemoteProtocolError(SmppError):
    """The peer sent something the protocol does not allow."""

    def __init__(
        self,
        message: str,
        status: int = CommandStatus.ESME_RSYSERR,
        *,
        sequence_number: int | None = None,
        command_id: int | None = None,
        must_close: bool = False,
    ) -> None:
        super().__init__(message, status)
        self.sequence_number = sequence_number
        self.command_id = command_id
        self.must_close = must_close


class DecodeError(RemoteProtocolError):
    """Bytes that do not decode to a valid PDU."""
