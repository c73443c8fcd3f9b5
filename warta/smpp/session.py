"""The SMPP 3.4 session state machine, sans-IO: bytes in, events out, time passed in.

Rule 1: everything that affects the bind state lives in this file, in the two tables
``REQUEST_RULES`` (who may send which request in which state) and ``TRANSITIONS`` (what moves
the state). The ``Session`` class only looks them up.

::

                       outbind (SMSC sends / ESME receives)
               OPEN ─────────────────────────────────────► OUTBOUND
                │  bind_*_resp OK                              │ bind_*_resp OK
                ▼  (ESME receives / SMSC sends)                ▼
     ┌──────────┬─────────────┬──────────────┐   (same three targets)
     ▼          ▼             ▼              │
  BOUND_TX   BOUND_RX    BOUND_TRX           │
     │  unbind sent ─► UNBINDING ─ unbind_resp ─►┐
     │  unbind received (answered at once) ─────►├─► UNBOUND
     └──────────────────────────────────────────┘
  any state ── close() / ConnectionMustClose ──► CLOSED

A failed bind (bind_*_resp with a non-zero status) leaves the session in OPEN/OUTBOUND.

Theory of operation
-------------------
* Driving it::

      s = Session(Role.ESME, window=64, enquire_link_interval=30, response_timeout=30, now=t)
      bind = s.send(BindTransceiver(system_id="u", password="p"), now=t)  # returns it stamped
      sock.sendall(s.data_to_send())
      for event in s.receive_data(sock.recv(65536), now=t): ...
      for event in s.tick(now=t): ...             # call when s.next_deadline() is reached

  ``send()`` validates, stamps requests with the next sequence number (1..0x7FFFFFFF, then 1
  again), records them as outstanding and appends their bytes to an outgoing buffer; the caller
  drains it with ``data_to_send()`` after every call (send, receive_data, tick all may add
  bytes: automatic enquire_link_resp/unbind_resp/generic_nack, due enquire_links).
* Time is an input. ``now`` is a float in seconds from any monotonic clock; the session
  remembers the last value it was given by ``tick``/``receive_data``/``send``/the constructor,
  and never reads a clock itself.
* ``window`` caps unanswered submit_sm/data_sm/deliver_sm; ``can_send()`` says whether one
  more may go now and ``send()`` raises ``WindowFullError`` when not. bind, unbind and
  enquire_link are tracked (they time out) but not windowed.
* What the session answers by itself: enquire_link (enquire_link_resp), unbind (unbind_resp,
  then UNBOUND), a request not allowed in the current state (its own ``*_resp`` with
  ESME_RINVBNDSTS, or ESME_RALYBND for a second bind; generic_nack for PDUs without a
  response), a request the peer's role never sends (generic_nack ESME_RINVCMDID), and malformed
  PDUs (the request's own ``*_resp`` with the decoder's status, or generic_nack). Everything else
  is the caller's: ``RequestReceived`` for a submit_sm/deliver_sm/bind must be answered with
  ``send(request.response(...))``.
* Errors: ``LocalProtocolError`` when the caller breaks the rules (sending submit_sm before
  bind, answering a request twice); the peer's faults never raise, they become
  ``ProtocolErrorEvent`` (and ``ConnectionMustClose`` when the stream cannot continue).
* A windowed request that timed out is remembered (the last ``LATE_MEMORY`` of them): its
  response arriving after all is a ``LateResponse`` (the SMSC's message id must not be lost:
  the message is "unknown" until then), not a protocol error.
* A ``ConnectionMustClose`` event or ``close()`` moves to CLOSED and hands back the requests
  that will never be answered (the "unknown" outcome of the outbox).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import TypeAlias

from .codec import DEFAULT_MAX_COMMAND_LENGTH, Decoder, MalformedPdu
from .constants import MAX_SEQUENCE_NUMBER, RESPONSE_BIT, CommandId
from .constants import CommandStatus as S
from .errors import LocalProtocolError, RemoteProtocolError, WindowFullError
from .pdu import EnquireLink, GenericNack, Pdu

__all__ = [
    "REQUEST_RULES",
    "TRANSITIONS",
    "Bound",
    "ConnectionMustClose",
    "EnquireLinkSent",
    "Event",
    "LateResponse",
    "ProtocolErrorEvent",
    "RequestReceived",
    "ResponseReceived",
    "ResponseTimeout",
    "Role",
    "Session",
    "State",
    "Trigger",
    "Unbound",
]


class Role(enum.Enum):
    ESME = "esme"  # the client: Warta's gateway
    SMSC = "smsc"  # the server: the operator, or our simulator


class State(enum.Enum):
    OPEN = "open"  # connected, not bound
    OUTBOUND = "outbound"  # outbind sent/received; the ESME should bind now
    BOUND_TX = "bound_tx"
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBINDING = "unbinding"  # we sent unbind and wait for unbind_resp
    UNBOUND = "unbound"  # unbind completed: close the connection
    CLOSED = "closed"


class Trigger(enum.Enum):
    OUTBIND = "outbind"  # outbind sent (SMSC) or received (ESME)
    BOUND_TX = "bound_tx"  # bind_transmitter_resp OK, received (ESME) or sent (SMSC)
    BOUND_RX = "bound_rx"
    BOUND_TRX = "bound_trx"
    UNBIND_SENT = "unbind_sent"
    UNBIND_DONE = "unbind_done"  # unbind_resp received, or sent in answer to the peer's unbind


E, C = Role.ESME, Role.SMSC
ST = State
_BOUND = frozenset({ST.BOUND_TX, ST.BOUND_RX, ST.BOUND_TRX})
_TX = frozenset({ST.BOUND_TX, ST.BOUND_TRX})  # may carry ESME → SMSC messages
_RX = frozenset({ST.BOUND_RX, ST.BOUND_TRX})  # may carry SMSC → ESME messages
_UNBOUND = frozenset({ST.OPEN, ST.OUTBOUND})

#: (sender's role, request command_id) → states in which that sender may send it.
#: A pair that is missing is never valid (e.g. an ESME sending deliver_sm).
REQUEST_RULES: dict[tuple[Role, int], frozenset[State]] = {
    (E, CommandId.BIND_TRANSMITTER): _UNBOUND,
    (E, CommandId.BIND_RECEIVER): _UNBOUND,
    (E, CommandId.BIND_TRANSCEIVER): _UNBOUND,
    (E, CommandId.SUBMIT_SM): _TX,
    (E, CommandId.DATA_SM): _TX,
    (E, CommandId.ENQUIRE_LINK): _BOUND | {ST.OPEN, ST.UNBINDING},
    (E, CommandId.UNBIND): _BOUND,
    (C, CommandId.OUTBIND): frozenset({ST.OPEN}),
    (C, CommandId.DELIVER_SM): _RX,
    (C, CommandId.DATA_SM): _RX,
    (C, CommandId.ALERT_NOTIFICATION): _RX,
    (C, CommandId.ENQUIRE_LINK): _BOUND | {ST.OPEN, ST.UNBINDING},
    (C, CommandId.UNBIND): _BOUND,
}

#: (state, trigger) → next state. A pair that is missing leaves the state as it is.
TRANSITIONS: dict[tuple[State, Trigger], State] = {
    (ST.OPEN, Trigger.OUTBIND): ST.OUTBOUND,
    (ST.OPEN, Trigger.BOUND_TX): ST.BOUND_TX,
    (ST.OPEN, Trigger.BOUND_RX): ST.BOUND_RX,
    (ST.OPEN, Trigger.BOUND_TRX): ST.BOUND_TRX,
    (ST.OUTBOUND, Trigger.BOUND_TX): ST.BOUND_TX,
    (ST.OUTBOUND, Trigger.BOUND_RX): ST.BOUND_RX,
    (ST.OUTBOUND, Trigger.BOUND_TRX): ST.BOUND_TRX,
    (ST.BOUND_TX, Trigger.UNBIND_SENT): ST.UNBINDING,
    (ST.BOUND_RX, Trigger.UNBIND_SENT): ST.UNBINDING,
    (ST.BOUND_TRX, Trigger.UNBIND_SENT): ST.UNBINDING,
    (ST.BOUND_TX, Trigger.UNBIND_DONE): ST.UNBOUND,
    (ST.BOUND_RX, Trigger.UNBIND_DONE): ST.UNBOUND,
    (ST.BOUND_TRX, Trigger.UNBIND_DONE): ST.UNBOUND,
    (ST.UNBINDING, Trigger.UNBIND_DONE): ST.UNBOUND,
}

#: A successful bind response → the trigger it fires.
_BIND_OK: dict[int, Trigger] = {
    CommandId.BIND_TRANSMITTER_RESP: Trigger.BOUND_TX,
    CommandId.BIND_RECEIVER_RESP: Trigger.BOUND_RX,
    CommandId.BIND_TRANSCEIVER_RESP: Trigger.BOUND_TRX,
}
_BINDS = frozenset(
    {CommandId.BIND_TRANSMITTER, CommandId.BIND_RECEIVER, CommandId.BIND_TRANSCEIVER}
)
#: Requests that count against the window.
_WINDOWED = frozenset({CommandId.SUBMIT_SM, CommandId.DATA_SM, CommandId.DELIVER_SM})
#: Timed-out windowed requests remembered for a ``LateResponse`` (sequence numbers do not wrap
#: for two billion requests, so a late answer cannot be mistaken for another's).
LATE_MEMORY = 65536
#: Requests whose unanswered timeout means the link is dead.
_LINK_CONTROL = _BINDS | {CommandId.UNBIND, CommandId.ENQUIRE_LINK}


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class RequestReceived:
    """The peer sent a request (or an outbind/alert_notification, which need no answer)."""

    pdu: Pdu


@dataclass(frozen=True, slots=True)
class ResponseReceived:
    """The peer answered ``request`` (``response`` may be a GenericNack)."""

    request: Pdu
    response: Pdu

    @property
    def ok(self) -> bool:
        return self.response.command_status == 0 and not isinstance(self.response, GenericNack)


@dataclass(frozen=True, slots=True)
class ResponseTimeout:
    """No response to ``request`` within ``response_timeout``; it is no longer outstanding."""

    request: Pdu


@dataclass(frozen=True, slots=True)
class LateResponse:
    """The response to a windowed ``request`` that had already timed out (``ResponseTimeout``)."""

    request: Pdu
    response: Pdu


@dataclass(frozen=True, slots=True)
class EnquireLinkSent:
    """``tick`` sent a keep-alive (its bytes are in ``data_to_send()``)."""

    request: Pdu


@dataclass(frozen=True, slots=True)
class ProtocolErrorEvent:
    """The peer broke the protocol; the session already answered it if it could."""

    error: RemoteProtocolError


@dataclass(frozen=True, slots=True)
class Bound:
    """The ESME's bind succeeded (``state`` is BOUND_TX/RX/TRX)."""

    state: State
    system_id: str


@dataclass(frozen=True, slots=True)
class Unbound:
    """Unbind completed (``by_peer``: the peer asked). Close the connection, then ``close()``."""

    by_peer: bool


@dataclass(frozen=True, slots=True)
class ConnectionMustClose:
    """Close the socket now (after sending ``data_to_send()``); the session is CLOSED.

    ``unanswered``: requests sent that will never get a response.
    """

    reason: str
    unanswered: tuple[Pdu, ...] = ()


Event: TypeAlias = (
    RequestReceived
    | ResponseReceived
    | ResponseTimeout
    | LateResponse
    | EnquireLinkSent
    | ProtocolErrorEvent
    | Bound
    | Unbound
    | ConnectionMustClose
)


@dataclass(slots=True)
class _Outstanding:
    request: Pdu
    deadline: float


# --------------------------------------------------------------------------- the session


class Session:
    """One SMPP connection, from either end. See the module docstring for how to drive it."""

    def __init__(
        self,
        role: Role,
        *,
        window: int = 10,
        enquire_link_interval: float | None = 30.0,
        response_timeout: float = 30.0,
        max_command_length: int = DEFAULT_MAX_COMMAND_LENGTH,
        now: float = 0.0,
    ) -> None:
        if window < 1:
            raise ValueError("window must be at least 1")
        if response_timeout <= 0:
            raise ValueError("response_timeout must be positive")
        if enquire_link_interval is not None and enquire_link_interval <= 0:
            raise ValueError("enquire_link_interval must be positive or None")
        self.role = role
        self.peer_role = Role.SMSC if role is Role.ESME else Role.ESME
        self.window = window
        self.enquire_link_interval = enquire_link_interval
        self.response_timeout = response_timeout
        self.state = State.OPEN
        #: system_id of the peer from its bind (SMSC side) or bind_resp (ESME side).
        self.peer_system_id: str | None = None
        self._decoder = Decoder(max_command_length)
        self._out = bytearray()
        self._now = now
        self._last_rx = now
        self._next_seq = 1
        self._outstanding: dict[int, _Outstanding] = {}  # our requests awaiting a response
        self._windowed = 0
        self._peer_pending: dict[int, int] = {}  # peer's requests we must answer: seq → cmd id
        self._timed_out: dict[int, Pdu] = {}  # windowed requests that timed out, oldest first

    # -- introspection -----------------------------------------------------------------------

    @property
    def outstanding(self) -> int:
        """Our windowed requests (submit_sm, data_sm, deliver_sm) still awaiting a response."""
        return self._windowed

    @property
    def outstanding_requests(self) -> tuple[Pdu, ...]:
        """All our requests awaiting a response, oldest first."""
        return tuple(o.request for o in self._outstanding.values())

    @property
    def awaiting_our_response(self) -> int:
        """Peer requests delivered as ``RequestReceived`` that we have not answered yet."""
        return len(self._peer_pending)

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    @property
    def is_bound(self) -> bool:
        return self.state in _BOUND

    def can_send(self, command_id: int | None = None) -> bool:
        """Whether ``command_id`` (default: submit_sm for an ESME, deliver_sm for an SMSC) may be
        sent now: the state allows it and, if it is windowed, the window has room."""
        if command_id is None:
            command_id = CommandId.SUBMIT_SM if self.role is Role.ESME else CommandId.DELIVER_SM
        allowed = REQUEST_RULES.get((self.role, command_id))
        if allowed is None or self.state not in allowed:
            return False
        return command_id not in _WINDOWED or self._windowed < self.window

    def next_deadline(self) -> float | None:
        """The earliest ``now`` at which ``tick`` has something to do (None: nothing pending)."""
        deadlines = [o.deadline for o in self._outstanding.values()]
        if self.enquire_link_interval is not None and self.state in _BOUND:
            deadlines.append(self._last_rx + self.enquire_link_interval)
        return min(deadlines) if deadlines else None

    # -- output ------------------------------------------------------------------------------

    def data_to_send(self) -> bytes:
        """All bytes produced since the last call (empty if none). Write them to the socket."""
        data = bytes(self._out)
        self._out.clear()
        return data

    def send(self, pdu: Pdu, *, now: float | None = None) -> Pdu:
        """Queue ``pdu`` for sending; return it as sent (requests get a sequence number).

        Raises ``LocalProtocolError`` if the PDU may not be sent now, ``WindowFullError`` if
        the window is full.
        """
        if now is not None:
            self._now = now
        if self.state is State.CLOSED:
            raise LocalProtocolError("the session is closed")
        cid = pdu.command_id
        if cid & RESPONSE_BIT:
            self._send_response(pdu)
        else:
            pdu = self._send_request(pdu)
        self._out += pdu.encode()
        return pdu

    def _send_request(self, pdu: Pdu) -> Pdu:
        cid = pdu.command_id
        allowed = REQUEST_RULES.get((self.role, cid))
        if allowed is None:
            raise LocalProtocolError(f"an {self.role.name} never sends {pdu.command_name}")
        if self.state not in allowed:
            raise LocalProtocolError(
                f"cannot send {pdu.command_name} in state {self.state.name}", S.ESME_RINVBNDSTS
            )
        windowed = cid in _WINDOWED
        if windowed and self._windowed >= self.window:
            raise WindowFullError(
                f"window full: {self._windowed} requests unanswered (window={self.window})",
                S.ESME_RTHROTTLED,
            )
        seq = pdu.sequence_number
        if seq == 0:
            pdu = pdu.with_sequence_number(self._take_sequence_number())
        elif seq in self._outstanding:
            raise LocalProtocolError(f"sequence_number {seq} is already awaiting a response")
        if pdu.response_class is not None:
            self._outstanding[pdu.sequence_number] = _Outstanding(
                pdu, self._now + self.response_timeout
            )
            if windowed:
                self._windowed += 1
        if cid == CommandId.UNBIND:
            self._fire(Trigger.UNBIND_SENT)
        elif cid == CommandId.OUTBIND:
            self._fire(Trigger.OUTBIND)
        return pdu

    def _send_response(self, pdu: Pdu) -> None:
        seq = pdu.sequence_number
        request_cid = self._peer_pending.get(seq)
        if request_cid is None:
            raise LocalProtocolError(
                f"{pdu.command_name}: no request with sequence_number {seq} awaits a response"
            )
        if not isinstance(pdu, GenericNack) and pdu.command_id != request_cid | RESPONSE_BIT:
            raise LocalProtocolError(
                f"{pdu.command_name} does not answer {CommandId(request_cid).name.lower()}"
            )
        del self._peer_pending[seq]
        if pdu.command_status == 0 and pdu.command_id in _BIND_OK:
            self._fire(_BIND_OK[pdu.command_id])

    def _take_sequence_number(self) -> int:
        while True:
            seq = self._next_seq
            self._next_seq = 1 if seq >= MAX_SEQUENCE_NUMBER else seq + 1
            if seq not in self._outstanding:
                return seq

    def _answer(self, pdu: Pdu) -> None:
        """Send a response the session produced by itself."""
        self._out += pdu.encode()

    # -- input -------------------------------------------------------------------------------

    def receive_data(self, data: bytes, *, now: float | None = None) -> list[Event]:
        """Feed bytes read from the socket; return the events they complete.

        ``b""`` (end of file) is not special here: when the socket closes, call ``close()``.
        """
        if now is not None:
            self._now = now
        if self.state is State.CLOSED:
            return []
        self._last_rx = self._now
        events: list[Event] = []
        for item in self._decoder.feed(data):
            if isinstance(item, MalformedPdu):
                self._on_malformed(item, events)
            elif item.command_id & RESPONSE_BIT:
                self._on_response(item, events)
            else:
                self._on_request(item, events)
            if self.closed:  # a MalformedPdu may have ended the session
                break
        return events

    def _on_malformed(self, bad: MalformedPdu, events: list[Event]) -> None:
        events.append(ProtocolErrorEvent(bad.to_error()))
        cid, seq = bad.command_id, bad.sequence_number
        if seq is not None and (bad.must_close or cid is None or not cid & RESPONSE_BIT):
            # Answer a request with its own *_resp when we know it, else with generic_nack;
            # a broken length gets a generic_nack whatever the header claims, then we close.
            from .pdu import PDU_CLASSES  # local: only on the error path

            cls = PDU_CLASSES.get(cid) if cid is not None else None
            rc = cls.response_class if cls is not None else None
            if rc is None or bad.must_close:
                self._answer(GenericNack(sequence_number=seq, command_status=bad.status))
            else:
                self._answer(rc(sequence_number=seq, command_status=bad.status))
        if bad.must_close:
            events.append(self._must_close(bad.reason))

    def _on_response(self, pdu: Pdu, events: list[Event]) -> None:
        seq = pdu.sequence_number
        pending = self._outstanding.get(seq)
        if pending is None:
            late = self._timed_out.get(seq)
            if late is not None and (
                isinstance(pdu, GenericNack) or pdu.command_id == late.command_id | RESPONSE_BIT
            ):
                del self._timed_out[seq]
                events.append(LateResponse(late, pdu))
                return
            events.append(
                ProtocolErrorEvent(
                    RemoteProtocolError(
                        f"{pdu.command_name} with sequence_number {seq} answers no request of ours",
                        S.ESME_RINVCMDID,
                        sequence_number=seq,
                        command_id=pdu.command_id,
                    )
                )
            )
            return
        request = pending.request
        if not isinstance(pdu, GenericNack) and pdu.command_id != request.command_id | RESPONSE_BIT:
            events.append(
                ProtocolErrorEvent(
                    RemoteProtocolError(
                        f"{pdu.command_name} does not answer {request.command_name} "
                        f"(sequence_number {seq})",
                        S.ESME_RINVCMDID,
                        sequence_number=seq,
                        command_id=pdu.command_id,
                    )
                )
            )
            return
        del self._outstanding[seq]
        if request.command_id in _WINDOWED:
            self._windowed -= 1
        events.append(ResponseReceived(request, pdu))
        cid = pdu.command_id
        if cid in _BIND_OK and pdu.command_status == 0:
            self._fire(_BIND_OK[cid])
            system_id: str = getattr(pdu, "system_id", "")
            self.peer_system_id = system_id
            events.append(Bound(self.state, system_id))
        elif cid == CommandId.UNBIND_RESP:
            self._fire(Trigger.UNBIND_DONE)
            events.append(Unbound(by_peer=False))

    def _on_request(self, pdu: Pdu, events: list[Event]) -> None:
        cid = pdu.command_id
        allowed = REQUEST_RULES.get((self.peer_role, cid))
        if allowed is None:
            self._reject(
                pdu,
                S.ESME_RINVCMDID,
                f"an {self.peer_role.name} never sends {pdu.command_name}",
                events,
                nack=True,
            )
            return
        if self.state not in allowed:
            status = S.ESME_RALYBND if cid in _BINDS and self.state in _BOUND else S.ESME_RINVBNDSTS
            self._reject(
                pdu, status, f"{pdu.command_name} not allowed in state {self.state.name}", events
            )
            return
        if cid == CommandId.ENQUIRE_LINK:
            self._answer(EnquireLink(sequence_number=pdu.sequence_number).response())
            return
        if cid == CommandId.UNBIND:
            self._answer(pdu.error_response(S.ESME_ROK))
            self._fire(Trigger.UNBIND_DONE)
            events.append(Unbound(by_peer=True))
            return
        if cid == CommandId.OUTBIND:
            self._fire(Trigger.OUTBIND)
        elif cid in _BINDS:
            self.peer_system_id = getattr(pdu, "system_id", None)
        if pdu.response_class is not None:
            self._peer_pending[pdu.sequence_number] = cid
        events.append(RequestReceived(pdu))

    def _reject(
        self, pdu: Pdu, status: int, reason: str, events: list[Event], *, nack: bool = False
    ) -> None:
        self._answer(pdu.nack(status) if nack else pdu.error_response(status))
        events.append(
            ProtocolErrorEvent(
                RemoteProtocolError(
                    reason, status, sequence_number=pdu.sequence_number, command_id=pdu.command_id
                )
            )
        )

    # -- time --------------------------------------------------------------------------------

    def tick(self, now: float) -> list[Event]:
        """Advance time to ``now``: expire unanswered requests, send a due enquire_link."""
        self._now = now
        if self.state is State.CLOSED:
            return []
        events: list[Event] = []
        dead_link = False
        # Deadlines grow in insertion order (one timeout for all), so stop at the first live one.
        for seq, pending in list(self._outstanding.items()):
            if pending.deadline > now:
                break
            del self._outstanding[seq]
            cid = pending.request.command_id
            if cid in _WINDOWED:
                self._windowed -= 1
                self._timed_out[seq] = pending.request
                if len(self._timed_out) > LATE_MEMORY:
                    del self._timed_out[next(iter(self._timed_out))]
            elif cid in _LINK_CONTROL:
                dead_link = True
            events.append(ResponseTimeout(pending.request))
        if dead_link:
            events.append(self._must_close("no response to bind/unbind/enquire_link: link is dead"))
            return events
        interval = self.enquire_link_interval
        if (
            interval is not None
            and self.state in _BOUND
            and now - self._last_rx >= interval
            and not any(
                o.request.command_id == CommandId.ENQUIRE_LINK for o in self._outstanding.values()
            )
        ):
            events.append(EnquireLinkSent(self.send(EnquireLink())))
        return events

    # -- closing -----------------------------------------------------------------------------

    def close(self) -> tuple[Pdu, ...]:
        """The connection is gone (or we close it): move to CLOSED and return our requests
        that will never be answered. Idempotent."""
        unanswered = tuple(o.request for o in self._outstanding.values())
        self._outstanding.clear()
        self._timed_out.clear()
        self._windowed = 0
        self._peer_pending.clear()
        self.state = State.CLOSED
        return unanswered

    def _must_close(self, reason: str) -> ConnectionMustClose:
        return ConnectionMustClose(reason, self.close())

    def _fire(self, trigger: Trigger) -> None:
        self.state = TRANSITIONS.get((self.state, trigger), self.state)
