"""asyncio SMPP 3.4 client (ESME) around the sans-IO ``warta.smpp`` codec and session.

Theory of operation
-------------------
``SmppClient`` owns one or two TCP connections ("links"): a transceiver, or a transmitter plus a
receiver. Each link is an ``asyncio.Protocol`` that feeds received bytes to its
``warta.smpp.Session`` and acts on the events that come out; nothing protocol-shaped is decided
here. What this module adds is everything that needs a socket or a clock:

* **Window.** An ``asyncio.Semaphore`` of ``window`` slots spans reconnects: ``submit`` waits for
  a free slot, so a blast can call it for a million messages and only ``window`` are unanswered
  on the wire at any moment.
* **TPS.** A token bucket in reservation style: each caller takes its token at once, possibly
  into debt, and sleeps exactly until its token would have existed. One sleep per message, no
  polling, and callers leave in the order they came.
* **Timers.** One timer task per link calls ``session.tick(now)`` every ``tick_interval``: the
  session says when an enquire_link is due and which requests have waited longer than
  ``response_timeout``. Those requests fail with ``SmppClientError(permanent=False,
  maybe_sent=True)``: the SMSC may have accepted them (the outbox's ``unknown`` state). An
  enquire_link that itself times out means the link is dead: it is closed and reconnected.
* **Reconnect.** A supervisor task per link connects and binds, waits for the link to close,
  and tries again after an exponential back-off with jitter (``Backoff``; clock, sleep and
  random source are injectable). Bind rejections for credentials retry at the longest delay:
  the operator may fix the account without telling us, but we should not hammer it.
* **Results.** ``submit`` returns one ``SubmitResult`` per part and never raises for what the
  SMSC says or for a lost connection; each result says ``permanent`` and ``retry_after``.
  ESME_RTHROTTLED and ESME_RMSGQFUL come back as "retry later" with ``retry_after`` set;
  ``warta.smpp.constants.is_retryable`` decides what else is transient. Input the SMSC could
  never accept (a sender ID longer than 11 characters, an empty text, a bad number) raises
  ``SmppClientError(permanent=True)`` before anything is sent.
* **Inbound.** Each deliver_sm is parsed (receipts with ``warta.smpp.receipts``, MO texts
  decoded, UDH split out) and handed to the caller's ``on_deliver`` callback; its
  deliver_sm_resp is written only after the callback returns (or its awaitable completes), so
  the engine can persist first. If the callback raises, the SMSC gets ESME_RX_T_APPN and will
  deliver again later.
* **Writes** are coalesced: PDUs produced in one turn of the event loop leave in one
  ``transport.write``; at 10,000 submits/s that is the difference between a syscall per PDU
  and a few hundred per second.

Secrets: ``ClientConfig.__repr__`` and every log line show the password as ``***``; the codec's
``Bind`` dataclasses keep it out of their repr too.

This module imports nothing from Django, so tests and benchmarks use it standalone.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import functools
import hashlib
import inspect
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, unquote, urlsplit

from warta.smpp.constants import (
    CommandId,
    CommandStatus,
    EsmClass,
    MessageState,
    Npi,
    Tag,
    Ton,
    describe_status,
    is_retryable,
)
from warta.smpp.errors import InvalidPduError, SmppError
from warta.smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    GenericNack,
    Pdu,
    SubmitSm,
    SubmitSmResp,
    Unbind,
    tlv_bytes,
)
from warta.smpp.receipts import FINAL_STATES, SHORT_STAT, Receipt, normalise_stat, parse_receipt
from warta.smpp.session import (
    ConnectionMustClose,
    Event,
    LateResponse,
    ProtocolErrorEvent,
    RequestReceived,
    ResponseReceived,
    ResponseTimeout,
    Role,
    Session,
    Unbound,
)
from warta.sms.gsm import decode_gsm7, decode_ucs2
from warta.sms.segments import (
    Concat,
    MessageTooLong,
    SegmentPlan,
    UdhError,
    UserDataHeader,
    parse_udh,
    plan,
)

__all__ = [
    "Backoff",
    "BindMode",
    "ClientConfig",
    "DeliveryReceipt",
    "Inbound",
    "LongMessageMode",
    "MobileOriginated",
    "SmppClient",
    "SmppClientError",
    "SubmitResult",
    "TokenBucket",
    "destination_address",
    "source_address",
]

log = logging.getLogger("warta.gateway.smpp")

BindMode = Literal["trx", "tx+rx", "tx", "rx"]
LongMessageMode = Literal["udh", "payload"]

#: Statuses that mean "slow down", answered with ``retry_after`` instead of at once.
_BACK_OFF_STATUSES = frozenset({CommandStatus.ESME_RTHROTTLED, CommandStatus.ESME_RMSGQFUL})
#: Bind rejections that name our credentials; retrying at once will not fix them.
_CREDENTIAL_STATUSES = frozenset(
    {
        CommandStatus.ESME_RINVPASWD,
        CommandStatus.ESME_RINVSYSID,
        CommandStatus.ESME_RBINDFAIL,
        CommandStatus.ESME_RINVSYSTYP,
    }
)
#: Statuses about the bind, not the message: an SMSC that is unbinding answers the submits
#: already on the wire with ESME_RINVBNDSTS; after a reconnect they will go through.
_LINK_STATUSES = frozenset({CommandStatus.ESME_RINVBNDSTS})
_APP_ERROR_TEMPORARY = 0x64  # ESME_RX_T_APPN: "try this deliver_sm again later"


# --------------------------------------------------------------------------------- errors


class SmppClientError(Exception):
    """The one error of the SMPP client boundary.

    ``permanent``: the same request will fail the same way (bad credentials, a sender ID that
    cannot be encoded); otherwise retry, after ``retry_after`` seconds when given.
    ``maybe_sent``: the PDU left this process and its fate is unknown (response timeout,
    connection lost after the write): resending may duplicate the message.
    ``status`` is the SMPP command_status when the SMSC gave one.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool,
        retry_after: float | None = None,
        status: int | None = None,
        maybe_sent: bool = False,
        ref: int | None = None,
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after
        self.status = status
        self.maybe_sent = maybe_sent
        self.ref = ref


@dataclass(frozen=True, slots=True)
class SubmitResult:
    """What became of one submit_sm (one part of a message)."""

    part: int  # 1-based sequence of this part in the message
    parts: int  # total parts of the message
    message_id: str | None  # the SMSC's id when accepted
    command_status: int | None  # None when no response came (timeout, connection lost)
    permanent: bool = False
    retry_after: float | None = None
    maybe_sent: bool = False  # no response: the SMSC may or may not have it
    error: str = ""
    #: A timed-out submit's reference: its response may still come (``on_late_response``).
    ref: int | None = None

    @property
    def ok(self) -> bool:
        return self.command_status == 0 and self.message_id is not None

    @classmethod
    def from_error(cls, part: int, parts: int, exc: SmppClientError) -> SubmitResult:
        return cls(
            part,
            parts,
            None,
            exc.status,
            permanent=exc.permanent,
            retry_after=exc.retry_after,
            maybe_sent=exc.maybe_sent,
            error=str(exc),
            ref=exc.ref,
        )

    @property
    def throttled(self) -> bool:
        """The SMSC said "too fast" (ESME_RTHROTTLED / ESME_RMSGQFUL): not the message's fault."""
        return self.command_status in _BACK_OFF_STATUSES


# --------------------------------------------------------------------------------- config


@dataclass(frozen=True, slots=True)
class ClientConfig:
    """One SMPP account at one SMSC, and how to use it."""

    host: str = "127.0.0.1"
    port: int = 2775
    system_id: str = ""
    password: str = field(default="", repr=False)
    system_type: str = ""
    bind_mode: BindMode = "trx"
    window: int = 64  # unanswered requests allowed on the wire
    tps: float = 0.0  # submits per second; 0 = unlimited
    enquire_link_interval: float = 30.0  # seconds of silence before we ping
    response_timeout: float = 10.0  # the floor: the timeout grows with the SMSC's latency
    max_response_timeout: float = 120.0  # the adaptive timeout's ceiling
    long_message_mode: LongMessageMode = "udh"
    reconnect_min: float = 1.0
    reconnect_max: float = 60.0
    registered_delivery: int = 1  # 1: receipt on final success or failure
    connect_timeout: float = 10.0
    throttle_retry_after: float = 1.0  # retry_after for ESME_RTHROTTLED / ESME_RMSGQFUL
    service_type: str = ""
    tick_interval: float = 0.05  # how often the session's timers are checked
    bind_wait: float | None = None  # how long submit waits for a bind; None = response_timeout
    extra_transient: frozenset[int] = frozenset()  # vendor statuses this SMSC means as "retry"
    # How long an MO whose answer may not have reached the SMSC is remembered: its redelivery
    # on a later bind (with a new sequence number) is then answered, not stored again.
    redelivery_memory: float = 600.0

    def __post_init__(self) -> None:
        if self.bind_mode not in ("trx", "tx+rx", "tx", "rx"):
            raise ValueError(f"bind_mode must be trx, tx+rx, tx or rx, not {self.bind_mode!r}")
        if self.long_message_mode not in ("udh", "payload"):
            raise ValueError(
                f"long_message_mode must be udh or payload, not {self.long_message_mode!r}"
            )
        if self.window < 1:
            raise ValueError("window must be at least 1")
        if self.reconnect_min <= 0 or self.reconnect_max < self.reconnect_min:
            raise ValueError("need 0 < reconnect_min <= reconnect_max")

    def __repr__(self) -> str:
        # Spelled out so that a password can never reach a log through repr().
        return (
            f"ClientConfig(host={self.host!r}, port={self.port}, system_id={self.system_id!r}, "
            f"password='***', bind_mode={self.bind_mode!r}, window={self.window}, tps={self.tps}, "
            f"long_message_mode={self.long_message_mode!r})"
        )

    @classmethod
    def from_url(cls, url: str, **overrides: Any) -> ClientConfig:
        """``smpp://SYSTEM_ID:PASSWORD@HOST:PORT?bind=trx&window=64&tps=200`` (DESIGN.md).

        Query keys: bind, window, tps, enquire_link (s), timeout (s), long (udh|payload),
        reconnect_min, reconnect_max, system_type, registered_delivery.
        """
        parts = urlsplit(url)
        if parts.scheme != "smpp":
            raise ValueError(f"not an smpp:// URL: {parts.scheme}://…")
        q = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        kwargs: dict[str, Any] = {
            "host": parts.hostname or "127.0.0.1",
            "port": parts.port or 2775,
            "system_id": unquote(parts.username or ""),
            "password": unquote(parts.password or ""),
        }
        simple: dict[str, tuple[str, Callable[[str], Any]]] = {
            "bind": ("bind_mode", str),
            "window": ("window", int),
            "tps": ("tps", float),
            "enquire_link": ("enquire_link_interval", float),
            "timeout": ("response_timeout", float),
            "long": ("long_message_mode", str),
            "reconnect_min": ("reconnect_min", float),
            "reconnect_max": ("reconnect_max", float),
            "system_type": ("system_type", str),
            "registered_delivery": ("registered_delivery", int),
        }
        for key, value in q.items():
            if key not in simple:
                raise ValueError(f"unknown smpp:// option {key!r}")
            name, convert = simple[key]
            kwargs[name] = convert(value)
        kwargs.update(overrides)
        return cls(**kwargs)


# --------------------------------------------------------------------------------- pacing


class _Window(asyncio.Semaphore):
    """The SMSC's window: a semaphore that can also be taken without waiting
    (``SmppClient.submit_nowait``)."""

    def try_acquire(self) -> bool:
        if self.locked():
            return False
        self._value -= 1  # what ``acquire`` does when it need not wait
        return True


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up.

    ``reserve`` (the client's way): take a token now, going into debt if needed, and return
    how long to wait before using it. ``try_take`` (the simulator's way): take a token only if
    one is there.
    """

    __slots__ = ("rate", "burst", "_tokens", "_last")

    def __init__(self, rate: float, burst: float | None = None, *, now: float = 0.0) -> None:
        if rate <= 0:
            raise ValueError("rate must be positive")
        self.rate = float(rate)
        # A tenth of a second's worth by default: an SMSC counting per second then sees at most
        # 1.1 x rate in any one-second window, never a full second's burst on top of the rate.
        self.burst = float(burst) if burst is not None else max(1.0, self.rate / 10)
        self._tokens = self.burst
        self._last = now

    def _refill(self, now: float) -> None:
        elapsed = now - self._last
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._last = now

    def slow_down(self, rate: float, now: float) -> None:
        """A new, lower ``rate`` with nothing saved up: the peer said "too fast" just now, so a
        fresh bucket's burst (a new one per cut, up to five a second) would be offered again
        at once and refused again."""
        self._refill(now)
        self.rate = float(rate)
        self.burst = max(1.0, self.rate / 10)
        self._tokens = min(self._tokens, 0.0)

    def reserve(self, now: float) -> float:
        self._refill(now)
        self._tokens -= 1.0
        return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def try_take(self, now: float) -> bool:
        self._refill(now)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class Backoff:
    """Exponential back-off with "equal jitter": half the delay fixed, half random.

    Delays grow ``minimum``, 2x, 4x … up to ``maximum``; jitter keeps a fleet of engines that
    lost the same SMSC from reconnecting in lock-step.
    """

    def __init__(
        self, minimum: float, maximum: float, *, rng: Callable[[], float] = random.random
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self._rng = rng
        self.attempt = 0

    def next_delay(self) -> float:
        ceiling: float = min(self.maximum, self.minimum * 2.0**self.attempt)
        self.attempt += 1
        return ceiling / 2 + self._rng() * ceiling / 2

    def longest(self) -> float:
        self.attempt += 1
        return self.maximum / 2 + self._rng() * self.maximum / 2

    def reset(self) -> None:
        self.attempt = 0


# --------------------------------------------------------------------------------- addressing


def source_address(sender: str) -> tuple[int, int, str]:
    """(TON, NPI, address) for a sender string, chosen the way SMSCs expect.

    * letters anywhere: alphanumeric sender ID (TON 5, NPI 0), at most 11 characters;
    * ``+`` then digits, or a national ``0…``/``62…`` number of 9+ digits: international
      (TON 1, NPI 1), without the ``+`` and with ``0`` replaced by ``62``;
    * up to 8 digits: a short code (TON 0 "unknown", NPI 1).
    """
    s = sender.strip()
    if not s:
        raise SmppClientError("empty sender", permanent=True)
    digits = s[1:] if s.startswith("+") else s
    digits = digits.replace(" ", "").replace("-", "")
    if digits.isascii() and digits.isdigit():
        if s.startswith("+"):
            return Ton.INTERNATIONAL, Npi.ISDN, digits
        if len(digits) <= 8:
            return Ton.UNKNOWN, Npi.ISDN, digits
        if digits.startswith("0"):
            return Ton.INTERNATIONAL, Npi.ISDN, "62" + digits[1:]
        return Ton.INTERNATIONAL, Npi.ISDN, digits
    if len(s) > 11:
        raise SmppClientError(
            f"alphanumeric sender {s!r} is longer than 11 characters", permanent=True
        )
    if not s.isascii() or not s.isprintable():
        raise SmppClientError(f"alphanumeric sender {s!r} must be printable ASCII", permanent=True)
    return Ton.ALPHANUMERIC, Npi.UNKNOWN, s


def destination_address(destination: str) -> tuple[int, int, str]:
    """(TON 1, NPI 1, digits) for an E.164 number with or without ``+`` (``0…`` read as +62)."""
    d = destination.strip()
    digits = d[1:] if d.startswith("+") else d
    if not (digits.isascii() and digits.isdigit()) or not 5 <= len(digits) <= 20:
        raise SmppClientError(f"destination {destination!r} is not an E.164 number", permanent=True)
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return Ton.INTERNATIONAL, Npi.ISDN, digits


# --------------------------------------------------------------------------------- inbound


@dataclass(frozen=True, slots=True)
class DeliveryReceipt:
    """A delivery receipt from the SMSC.

    ``message_id`` and ``state`` come from the receipted_message_id / message_state TLVs when
    the SMSC sent both (they are typed, and ``warta.smpp.receipts`` lets them win anyway);
    only then is the appendix-B text left unparsed until someone asks (``receipt``, ``error``):
    parsing it costs more than the rest of the deliver_sm. Without the TLVs the text is parsed
    at once.
    """

    message_id: str
    state: MessageState
    source_addr: str  # the handset the message went to
    destination_addr: str  # our sender
    pdu: DeliverSm

    @property
    def receipt(self) -> Receipt:
        """Everything ``warta.smpp.receipts`` reads from the PDU (text and TLVs)."""
        parsed = parse_receipt(self.pdu)
        return (
            parsed if parsed is not None else Receipt(message_id=self.message_id, stat=self.state)
        )

    @property
    def stat(self) -> str:
        """The appendix-B word for ``state``: DELIVRD, UNDELIV, REJECTD, …"""
        return SHORT_STAT.get(self.state, "UNKNOWN")

    @property
    def is_final(self) -> bool:
        return self.state in FINAL_STATES

    @property
    def error(self) -> str | None:
        """The ``err:`` field of the text (network/SMSC error code), if any."""
        return self.receipt.err


@dataclass(frozen=True, slots=True)
class MobileOriginated:
    """A citizen's message (one part of it, when concatenated; ``concat`` says which)."""

    source_addr: str
    source_addr_ton: int
    destination_addr: str
    text: str
    data_coding: int
    udh: UserDataHeader | None
    body: bytes  # the message octets after the UDH
    pdu: DeliverSm

    @property
    def concat(self) -> Concat | None:
        return self.udh.concat if self.udh is not None else None


Inbound = DeliveryReceipt | MobileOriginated
_RECEIPT_TYPES = EsmClass.TYPE_DELIVERY_RECEIPT | EsmClass.TYPE_INTERMEDIATE_NOTIFICATION
OnDeliver = Callable[[Inbound], Awaitable[None] | None]


def _decode_text(data: bytes, data_coding: int) -> str:
    coding = data_coding & 0x0F if data_coding & 0xF0 == 0xF0 else data_coding
    if coding == 8:
        return decode_ucs2(data, errors="replace")
    if coding == 0:
        return decode_gsm7(data)
    if coding == 1:
        return data.decode("ascii", errors="replace")
    # 3 = Latin-1, and Latin-1 maps every octet for the codings we cannot render.
    return data.decode("latin-1")


def _mo_identity(pdu: DeliverSm) -> bytes:
    """What an SMSC's redelivery of an MO repeats: addresses, coding, UDH flag, octets (UDH
    included, so each part of a long message is its own). Not the sequence number: a
    redelivery on another bind has a new one."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(f"{pdu.source_addr}\x00{pdu.destination_addr}\x00{pdu.data_coding}\x00"
             f"{pdu.esm_class & EsmClass.UDHI}\x00".encode())
    h.update(pdu.payload)
    return h.digest()


def parse_deliver_sm(pdu: DeliverSm) -> Inbound:
    """A deliver_sm as the caller wants it: a receipt, or an MO message with its UDH."""
    if pdu.esm_class & _RECEIPT_TYPES and pdu.tlvs:
        tlv_id = pdu.receipted_message_id
        tlv_state = pdu.message_state
        if tlv_id and tlv_state is not None:
            return DeliveryReceipt(
                tlv_id, normalise_stat(tlv_state), pdu.source_addr, pdu.destination_addr, pdu
            )
    receipt = parse_receipt(pdu)
    if receipt is not None:
        return DeliveryReceipt(
            message_id=receipt.message_id or "",
            state=receipt.stat,
            source_addr=pdu.source_addr,
            destination_addr=pdu.destination_addr,
            pdu=pdu,
        )
    payload = pdu.payload
    udh: UserDataHeader | None = None
    body = payload
    if pdu.esm_class & EsmClass.UDHI:
        with contextlib.suppress(UdhError):
            udh, body = parse_udh(payload)
    return MobileOriginated(
        source_addr=pdu.source_addr,
        source_addr_ton=pdu.source_addr_ton,
        destination_addr=pdu.destination_addr,
        text=_decode_text(body, pdu.data_coding),
        data_coding=pdu.data_coding,
        udh=udh,
        body=body,
        pdu=pdu,
    )


# --------------------------------------------------------------------------------- link


class LinkState(enum.Enum):
    CONNECTING = "connecting"
    BINDING = "binding"
    BOUND = "bound"
    CLOSING = "closing"
    CLOSED = "closed"


_BIND_CLASSES: dict[str, type[BindTransmitter] | type[BindReceiver] | type[BindTransceiver]] = {
    "trx": BindTransceiver,
    "tx": BindTransmitter,
    "rx": BindReceiver,
}


def _quickack_socket(transport: asyncio.BaseTransport) -> Any:
    """The link's socket if the system can be told to acknowledge at once (Linux), else None.

    Many SMSCs write each response with Nagle's algorithm on (Net::SMPP, for one): after the
    first small write, the next ones wait in the SMSC's kernel until we acknowledge it. Our
    kernel, seeing an exchange of requests and answers, delays that ACK to ride on our next
    packet — and the engine sends nothing between two send transactions, so a window's
    ``submit_sm_resp`` waited for our next burst or for a receipt's answer (7.5 ms median, 17 ms
    p90 on the wire against 1 ms for the SMSC's own work; tcpdump, docs/benchmarks.md).
    TCP_QUICKACK is not sticky, so it is set again after every read (one syscall per read,
    which carries many PDUs)."""
    sock = transport.get_extra_info("socket")
    if sock is None or not hasattr(socket, "TCP_QUICKACK") or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return None
    return sock


def _ack_now(sock: Any) -> None:
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_QUICKACK, 1)
    except OSError:
        pass  # the link is closing; its own read path reports that


class _Link(asyncio.Protocol):
    """One TCP connection, one bind, one ``Session``."""

    def __init__(self, client: SmppClient, kind: str) -> None:
        self.client = client
        self.kind = kind  # "trx", "tx" or "rx"
        cfg = client.config
        self.loop = asyncio.get_running_loop()
        self.clock = client.clock
        self.session = Session(
            Role.ESME,
            window=cfg.window,
            enquire_link_interval=cfg.enquire_link_interval or None,
            response_timeout=client.timeout,
            now=self.clock(),
        )
        self.state = LinkState.CONNECTING
        self.sent_at: dict[int, float] = {}  # submit_sm sequence → when it left (latency)
        self.late: dict[int, int] = {}  # timed-out submit_sm sequence → its ref
        self.last_answer = self.clock()  # last submit_sm_resp: an SMSC answering nothing is down
        self.transport: asyncio.Transport | None = None
        self._quickack: Any = None  # the socket, where the system acknowledges on request
        self.pending: dict[int, asyncio.Future[Pdu]] = {}
        # MOs answered on this link, oldest first: (when, identity). If the link dies, those
        # answered shortly before may never have reached the SMSC (``connection_lost``).
        self.answered_mo: collections.deque[tuple[float, bytes]] = collections.deque()
        self.closed: asyncio.Future[None] = self.loop.create_future()
        self.close_reason = ""
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._timer: asyncio.Task[None] | None = None
        self._inbound_tasks: set[asyncio.Task[None]] = set()
        self._inbound_futures: dict[asyncio.Future[None], DeliverSm] = {}  # awaited ack → its deliver_sm
        self.mo_identities: dict[int, bytes] = {}  # MO deliver_sm sequence → _mo_identity, until answered
        self._refused_unbinding = 0  # deliver_sm the SMSC sent after our unbind (answered, counted)

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._quickack = _quickack_socket(transport)
        self._timer = self.loop.create_task(self._tick_loop())

    def data_received(self, data: bytes) -> None:
        if self._quickack is not None:
            _ack_now(self._quickack)
        for event in self.session.receive_data(data, now=self.clock()):
            self._handle(event)
        self._drain_session()

    def connection_lost(self, exc: Exception | None) -> None:
        self.state = LinkState.CLOSED
        reason = self.close_reason or (
            f"connection lost: {exc}" if exc else "connection closed by the SMSC"
        )
        self.close_reason = reason
        if self._timer is not None:
            self._timer.cancel()
        self.session.close()
        self._fail_pending(reason)
        # Answers written within the last ``_unnoticed`` seconds may be lost with the link.
        since = self.clock() - self._unnoticed()
        for at, key in self.answered_mo:
            if at >= since:
                self.client._remember_unanswered(key)
        self.answered_mo.clear()
        if not self.closed.done():
            self.closed.set_result(None)
        self.client._link_closed(self)

    # -- writing ----------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        self._out.append(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self.loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self._out))
        self._out.clear()

    def _drain_session(self) -> None:
        # Whatever the session wrote: our PDUs and its own answers (enquire_link_resp, …).
        data = self.session.data_to_send()
        if data:
            self._write(data)

    def send_request(self, pdu: Pdu) -> asyncio.Future[Pdu]:
        """Stamp, encode and queue ``pdu``; the future gets its response PDU.

        Raises ``SmppError`` (LocalProtocolError) if the session may not send it now.
        """
        now = self.clock()
        stamped = self.session.send(pdu, now=now)
        if type(pdu) is SubmitSm:
            self.sent_at[stamped.sequence_number] = now
        fut: asyncio.Future[Pdu] = self.loop.create_future()
        self.pending[stamped.sequence_number] = fut
        self._drain_session()
        return fut

    def send_response(self, pdu: Pdu) -> bool:
        try:
            self.session.send(pdu)
        except SmppError as exc:
            # The link closed while the caller persisted: the SMSC will redeliver.
            log.info("smpp %s: cannot answer %s: %s", self.kind, pdu.command_name, exc)
            return False
        self._drain_session()
        return True

    def _unnoticed(self) -> float:
        """How long a dead link can go unnoticed: an enquire_link interval plus a response
        timeout. An MO answered that long before the link was lost may have lost its answer."""
        return self.client.config.enquire_link_interval + self.client.timeout

    def _answer_persisted(self, pdu: DeliverSm) -> None:
        """Answer a deliver_sm the caller has stored. An MO's identity is remembered where the
        SMSC may not get the answer (the link is gone now, or dies soon after): it will come
        again on another bind with a new sequence number, which the inbox cannot tell from a
        citizen's second SMS, so ``_deliver`` recognises it here."""
        ok = self.send_response(pdu.response())
        key = self.mo_identities.pop(pdu.sequence_number, None)
        if key is None:
            return
        if not ok or self.state is LinkState.CLOSED or self.transport is None or self.transport.is_closing():
            self.client._remember_unanswered(key)
            return
        now = self.clock()
        answered = self.answered_mo
        answered.append((now, key))
        horizon = now - self._unnoticed()
        while answered and answered[0][0] < horizon:
            answered.popleft()

    # -- events -----------------------------------------------------------------------

    def _handle(self, event: Event) -> None:
        if type(event) is ResponseReceived:
            seq = event.request.sequence_number
            fut = self.pending.pop(seq, None)
            sent = self.sent_at.pop(seq, None)
            if sent is not None:
                now = self.clock()
                self.last_answer = now
                self.client._observe_latency(now - sent)
            if fut is not None and not fut.done():
                fut.set_result(event.response)
        elif type(event) is LateResponse:
            seq = event.request.sequence_number
            ref = self.late.pop(seq, None)
            sent = self.sent_at.pop(seq, None)
            now = self.clock()
            self.last_answer = now
            if sent is not None:
                self.client._observe_latency(now - sent)
            if ref is not None:
                self.client._late_response(ref, event.response)
        elif type(event) is RequestReceived:
            pdu = event.pdu
            if isinstance(pdu, DeliverSm):
                self._deliver(pdu)
            elif pdu.response_class is not None:
                # data_sm from the SMSC and the like: we do not take them.
                self.send_response(pdu.error_response(CommandStatus.ESME_RINVCMDID))
        elif type(event) is Unbound:
            if event.by_peer:
                # The SMSC is leaving (the session already answered): what is in flight may
                # or may not have been taken. Close; the supervisor reconnects.
                self._close("the SMSC unbound", abort=False)
            elif self.transport is not None:
                self.transport.close()
        elif type(event) is ConnectionMustClose:
            self._close(f"session closed: {event.reason}", abort=True)
        elif type(event) is ProtocolErrorEvent:
            err = event.error
            if err.command_id == CommandId.DELIVER_SM and self.state is LinkState.CLOSING:
                # The SMSC sent it before it read our unbind (every stop with receipts flowing):
                # the session answered ESME_RINVBNDSTS, so the SMSC delivers it again on the next
                # bind. Expected, not the SMSC's fault: one line per link, the rest counted.
                self.client.stats["refused_unbinding"] += 1
                if not self._refused_unbinding:
                    log.info("smpp %s: deliver_sm after our unbind answered ESME_RINVBNDSTS "
                             "(the SMSC redelivers it on the next bind)", self.kind)
                self._refused_unbinding += 1
            else:
                log.warning("smpp %s: protocol error from the SMSC: %s", self.kind, err)

    def _deliver(self, pdu: DeliverSm) -> None:
        try:
            item = parse_deliver_sm(pdu)
        except (ValueError, SmppError) as exc:
            log.warning(
                "smpp %s: unparseable deliver_sm seq %d: %s", self.kind, pdu.sequence_number, exc
            )
            self.send_response(pdu.response(command_status=CommandStatus.ESME_RSYSERR))
            return
        is_mo = type(item) is not DeliveryReceipt
        self.client.stats["mo" if is_mo else "receipts"] += 1
        key = _mo_identity(pdu) if is_mo else None
        if key is not None and self.client._is_redelivery(key):
            # Stored already; its answer was lost with an earlier link. Answer, keep once.
            self.client.stats["mo_redelivered"] += 1
            log.info("smpp %s: deliver_sm seq %d is a redelivery of an MO already stored; answered",
                     self.kind, pdu.sequence_number)
            self.mo_identities[pdu.sequence_number] = key
            self._answer_persisted(pdu)  # remembered again should this answer be lost too
            return
        callback = self.client.on_deliver
        if callback is None:
            self.send_response(pdu.response())
            return
        try:
            result = callback(item)
        except Exception:  # the caller's bug must not kill the link; the SMSC will redeliver
            log.exception("smpp %s: on_deliver failed; answering ESME_RX_T_APPN", self.kind)
            self.send_response(pdu.response(command_status=_APP_ERROR_TEMPORARY))
            return
        if key is not None:
            self.mo_identities[pdu.sequence_number] = key  # until answered (_answer_persisted)
        if result is None or not inspect.isawaitable(result):
            self._answer_persisted(pdu)
            return
        if isinstance(result, asyncio.Future):
            # The engine hands back a plain future: answer from its done callback rather than
            # from a task awaiting it (a task per receipt was a good part of the loop's work).
            self._inbound_futures[result] = pdu
            result.add_done_callback(self._future_delivered)
            return
        task = self.loop.create_task(self._finish_deliver(pdu, result))
        self._inbound_tasks.add(task)
        task.add_done_callback(self._inbound_tasks.discard)

    def _future_delivered(self, result: asyncio.Future[None]) -> None:
        pdu = self._inbound_futures.pop(result, None)
        if pdu is None or result.cancelled():
            return  # cancelled (the link is closing): no answer, the SMSC redelivers
        if result.exception() is not None:  # same as below: answer "temporary", keep the link
            log.error("smpp %s: on_deliver failed; answering ESME_RX_T_APPN: %s", self.kind, result.exception())
            self.mo_identities.pop(pdu.sequence_number, None)  # not stored: its redelivery must be
            self.send_response(pdu.response(command_status=_APP_ERROR_TEMPORARY))
            return
        self._answer_persisted(pdu)

    async def _finish_deliver(self, pdu: DeliverSm, result: Awaitable[None]) -> None:
        try:
            await result
        except asyncio.CancelledError:
            raise
        except Exception:  # same as above: answer "temporary", keep the link
            log.exception("smpp %s: on_deliver failed; answering ESME_RX_T_APPN", self.kind)
            self.mo_identities.pop(pdu.sequence_number, None)
            self.send_response(pdu.response(command_status=_APP_ERROR_TEMPORARY))
            return
        self._answer_persisted(pdu)

    # -- timers -----------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        interval = self.client.config.tick_interval
        while self.state is not LinkState.CLOSED:
            await asyncio.sleep(interval)
            self.tick(self.clock())

    def tick(self, now: float) -> None:
        """Let the session expire requests and send a due enquire_link."""
        timed_out_submit = False
        for event in self.session.tick(now):
            if type(event) is ResponseTimeout:
                request = event.request
                seq = request.sequence_number
                fut = self.pending.pop(seq, None)
                ref = None
                if type(request) is SubmitSm:
                    # Its answer may still come: remember it under a ref the caller keeps.
                    timed_out_submit = True
                    ref = self.client._new_ref()
                    self.late[seq] = ref
                    if len(self.late) > 65536:
                        old = next(iter(self.late))
                        del self.late[old]
                        self.sent_at.pop(old, None)
                if fut is not None and not fut.done():
                    fut.set_exception(
                        SmppClientError(
                            f"no response to {request.command_name} within "
                            f"{self.session.response_timeout:g}s",
                            permanent=False,
                            maybe_sent=True,
                            ref=ref,
                            # Give a late answer the time to come before anything is resent.
                            retry_after=self.session.response_timeout,
                        )
                    )
            elif type(event) is ConnectionMustClose:
                self._close(f"session closed: {event.reason}", abort=True)
                return
        silence = now - self.last_answer
        if timed_out_submit and silence >= self.session.response_timeout:
            # Not one submit_sm answered for a whole timeout. Slow, or down? Slow first: the
            # timeout doubles (late answers then teach it the real latency). Silent for four
            # base timeouts: down (or a black hole) — reconnect rather than time out every
            # message of every window. The grown timeout stays for the next link.
            cfg = self.client.config
            if silence >= 4 * cfg.response_timeout or self.client.timeout >= cfg.max_response_timeout:
                self.client.stats["silent_smsc"] += 1
                self._close(
                    f"the SMSC answered no submit_sm for {silence:.1f}s; reconnecting", abort=True
                )
                return
            self.client._grow_timeout()
        self._drain_session()

    # -- closing ----------------------------------------------------------------------

    def _fail_pending(self, reason: str) -> None:
        pending, self.pending = self.pending, {}
        for fut in pending.values():
            if not fut.done():
                fut.set_exception(SmppClientError(reason, permanent=False, maybe_sent=True))

    def _close(self, reason: str, *, abort: bool) -> None:
        if self.state is LinkState.CLOSED:
            return
        log.warning("smpp %s: closing link: %s", self.kind, reason)
        self.close_reason = reason
        self.state = LinkState.CLOSING
        self._fail_pending(reason)
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self._flush()  # the unbind_resp the session wrote
                self.transport.close()

    async def unbind(self, timeout: float) -> None:
        """Unbind politely, then close; give up on the SMSC's answer after ``timeout``."""
        if self.state is LinkState.BOUND and self.session.is_bound:
            self.state = LinkState.CLOSING
            try:
                await asyncio.wait_for(self.send_request(Unbind()), timeout)
            except (SmppClientError, SmppError, TimeoutError) as exc:
                log.info("smpp %s: unbind not answered: %s", self.kind, exc)
        if self.transport is not None and not self.transport.is_closing():
            self._flush()
            self.transport.close()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self.closed), timeout)
        if self.transport is not None and not self.closed.done():
            self.transport.abort()
        for task in list(self._inbound_tasks):
            task.cancel()
        for fut in list(self._inbound_futures):
            fut.cancel()  # as cancelling a task awaiting it would: no answer after unbind


# --------------------------------------------------------------------------------- client


class SmppClient:
    """An SMPP account at one SMSC: bind, submit, receive.

    ::

        async with SmppClient(ClientConfig(host=…, system_id=…, password=…), on_deliver=cb) as c:
            results = await c.submit("GubDKI", "+6281234567890", "Halo Jakarta")

    ``on_deliver(item)`` gets ``DeliveryReceipt`` and ``MobileOriginated`` items; it may be a
    plain function or return an awaitable. ``clock``, ``sleep`` and ``rng`` are the seams for
    tests (monotonic seconds, ``asyncio.sleep``, ``random.random``).
    """

    def __init__(
        self,
        config: ClientConfig,
        *,
        on_deliver: OnDeliver | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.config = config
        self.on_deliver = on_deliver
        self.clock = clock
        self._sleep = sleep
        self._rng = rng
        self._window = _Window(config.window)
        self._bucket = TokenBucket(config.tps, now=clock()) if config.tps > 0 else None
        kinds = {"trx": ["trx"], "tx+rx": ["tx", "rx"], "tx": ["tx"], "rx": ["rx"]}[
            config.bind_mode
        ]
        self._kinds = kinds
        self._links: dict[str, _Link | None] = dict.fromkeys(kinds)
        self._bound: dict[str, asyncio.Event] = {k: asyncio.Event() for k in kinds}
        self._supervisors: list[asyncio.Task[None]] = []
        self._closing = False
        self._concat_ref = int(rng() * 256) & 0xFF
        self.last_error: SmppClientError | None = None
        #: Counters for /metrics and the benchmark.
        self.stats: dict[str, int] = {
            "binds": 0,
            "bind_failures": 0,
            "reconnects": 0,
            "submitted": 0,
            "accepted": 0,
            "rejected": 0,
            "retry_later": 0,
            "timeouts": 0,
            "late_responses": 0,
            "silent_smsc": 0,
            "receipts": 0,
            "mo": 0,
            "mo_redelivered": 0,
            "refused_unbinding": 0,
        }
        # MO identity → monotonic time it is forgotten: stored MOs whose answer may not have
        # reached the SMSC (see _Link._answer_persisted). Per client: a redelivery may come on
        # any of its binds.
        self._unanswered: dict[bytes, float] = {}
        #: Delays the supervisor slept before reconnecting, for tests and logs.
        self.reconnect_delays: list[float] = []
        #: The response timeout now: ``config.response_timeout`` at least, ~3× the SMSC's slow
        #: latency (late answers included), at most ``config.max_response_timeout``.
        self.timeout = config.response_timeout
        self._latency = 0.0
        self._refs = 0
        #: Called with (ref, SubmitResult) when a submit that timed out is answered after all.
        self.on_late_response: Callable[[int, SubmitResult], None] | None = None

    def __repr__(self) -> str:
        return f"<SmppClient {self.config!r} bound={self.bound}>"

    # -- MO redeliveries ----------------------------------------------------------------

    def _remember_unanswered(self, key: bytes) -> None:
        now = self.clock()
        memo = self._unanswered
        if len(memo) >= 10_000:
            for k in [k for k, until in memo.items() if until <= now] or list(memo)[:1000]:
                del memo[k]
        memo[key] = now + self.config.redelivery_memory

    def _is_redelivery(self, key: bytes) -> bool:
        """Whether an MO is one stored earlier whose answer may have been lost. A citizen who
        sends the same words again gets through: only MOs answered just before a link died (or
        after) are remembered, each for ``redelivery_memory`` seconds, and only one copy is
        recognised per answer lost."""
        until = self._unanswered.pop(key, None)
        return until is not None and until > self.clock()

    # -- latency and late answers -----------------------------------------------------

    def _observe_latency(self, seconds: float) -> None:
        # Up at once, down slowly: one slow answer is evidence that answers can be that slow.
        lat = self._latency
        self._latency = seconds if seconds > lat else lat * 0.995 + seconds * 0.005
        cfg = self.config
        timeout = min(cfg.max_response_timeout, max(cfg.response_timeout, 3.0 * self._latency))
        if abs(timeout - self.timeout) > 0.05 * self.timeout:
            if timeout > self.timeout:
                log.warning("smpp: the SMSC answers in %.1fs; response timeout now %.1fs", seconds, timeout)
            self.timeout = timeout
            for link in self._links.values():
                if link is not None:
                    link.session.response_timeout = timeout

    def _grow_timeout(self) -> None:
        timeout = min(self.config.max_response_timeout, self.timeout * 2)
        log.warning("smpp: no submit_sm answered within %.1fs; response timeout now %.1fs", self.timeout, timeout)
        self.timeout = timeout
        for link in self._links.values():
            if link is not None:
                link.session.response_timeout = timeout

    def _new_ref(self) -> int:
        self._refs += 1
        return self._refs

    def _late_response(self, ref: int, resp: Pdu) -> None:
        self.stats["late_responses"] += 1
        callback = self.on_late_response
        if callback is None:
            return
        status = resp.command_status
        if status == 0 and isinstance(resp, SubmitSmResp):
            result = SubmitResult(1, 1, resp.message_id, 0, ref=ref)
        else:
            info = describe_status(status or CommandStatus.ESME_RSYSERR)
            result = SubmitResult(1, 1, None, status or CommandStatus.ESME_RSYSERR,
                                  permanent=False, error=f"late {info.name}: {info.en}", ref=ref)
        try:
            callback(ref, result)
        except Exception:  # the caller's bug must not kill the link
            log.exception("smpp: on_late_response failed")

    # -- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> SmppClient:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self, *, wait_bound: bool = True) -> None:
        """Start connecting. With ``wait_bound`` (default), return once every link is bound,
        or raise the first attempt's ``SmppClientError`` (and stop) if it fails."""
        if wait_bound:
            try:
                for kind in self._kinds:
                    await self._connect_and_bind(kind)
            except SmppClientError:
                # tx+rx: do not leave the transmitter bound when the receiver was refused.
                await self.close()
                raise
        for kind in self._kinds:
            self._supervisors.append(asyncio.get_running_loop().create_task(self._supervise(kind)))

    async def close(self, timeout: float = 2.0) -> None:
        """Unbind every link cleanly and stop reconnecting."""
        self._closing = True
        for task in self._supervisors:
            task.cancel()
        for task in self._supervisors:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._supervisors.clear()
        for link in list(self._links.values()):
            if link is not None:
                await link.unbind(timeout)

    @property
    def bound(self) -> bool:
        return all(event.is_set() for event in self._bound.values())

    async def wait_bound(self, timeout: float | None = None) -> None:
        async with asyncio.timeout(timeout):
            for event in self._bound.values():
                await event.wait()

    async def _connect_and_bind(self, kind: str) -> _Link:
        cfg = self.config
        loop = asyncio.get_running_loop()
        try:
            async with asyncio.timeout(cfg.connect_timeout):
                _, link = await loop.create_connection(
                    lambda: _Link(self, kind), cfg.host, cfg.port
                )
        except (TimeoutError, OSError) as exc:
            err = SmppClientError(
                f"cannot connect to {cfg.host}:{cfg.port}: {exc or 'timeout'}", permanent=False
            )
            self.last_error = err
            raise err from None
        link.state = LinkState.BINDING
        bind_class = _BIND_CLASSES[kind]
        bind = bind_class(
            system_id=cfg.system_id, password=cfg.password, system_type=cfg.system_type
        )
        try:
            fut = link.send_request(bind)
            resp = await fut
        except SmppClientError as exc:
            link._close("bind not answered", abort=True)
            self.last_error = exc
            raise
        if resp.command_status != 0:
            info = describe_status(resp.command_status)
            err = SmppClientError(
                f"bind {kind} as {cfg.system_id!r} rejected: {info.name} ({info.en})",
                permanent=resp.command_status in _CREDENTIAL_STATUSES,
                status=resp.command_status,
            )
            self.stats["bind_failures"] += 1
            self.last_error = err
            link._close(str(err), abort=True)
            raise err
        link.state = LinkState.BOUND
        self._links[kind] = link
        self._bound[kind].set()
        self.stats["binds"] += 1
        log.info("smpp %s bound to %s:%d as %r", kind, cfg.host, cfg.port, cfg.system_id)
        return link

    def _link_closed(self, link: _Link) -> None:
        if self._links.get(link.kind) is link:
            self._links[link.kind] = None
            self._bound[link.kind].clear()

    async def _supervise(self, kind: str) -> None:
        backoff = Backoff(self.config.reconnect_min, self.config.reconnect_max, rng=self._rng)
        while not self._closing:
            link = self._links.get(kind)
            if link is not None:
                await asyncio.shield(link.closed)
                if self._closing:
                    return
                log.warning("smpp %s link closed: %s", kind, link.close_reason)
                backoff.reset()
            else:
                try:
                    await self._connect_and_bind(kind)
                    self.stats["reconnects"] += 1
                    continue
                except SmppClientError as exc:
                    log.warning("smpp %s: %s", kind, exc)
                    delay = backoff.longest() if exc.permanent else backoff.next_delay()
                    self.reconnect_delays.append(delay)
                    await self._sleep(delay)
                    continue
            # A link that just died: wait before the first reconnect too, so a flapping SMSC
            # is not hammered.
            delay = backoff.next_delay()
            self.reconnect_delays.append(delay)
            await self._sleep(delay)

    # -- sending ----------------------------------------------------------------------

    def _tx_link(self) -> _Link | None:
        for kind in ("trx", "tx"):
            link = self._links.get(kind)
            if link is not None and link.state is LinkState.BOUND:
                return link
        return None

    async def _wait_tx(self) -> _Link:
        tx_kind = "trx" if "trx" in self._bound else "tx"
        if tx_kind not in self._bound:
            raise SmppClientError("this connection is bound as receiver only", permanent=True)
        wait = (
            self.config.bind_wait
            if self.config.bind_wait is not None
            else self.config.response_timeout
        )
        try:
            async with asyncio.timeout(wait):
                while True:
                    await self._bound[tx_kind].wait()
                    link = self._tx_link()
                    if link is not None:
                        return link
                    await asyncio.sleep(0.01)  # bound flag set but the link is closing
        except TimeoutError:
            reason = self.last_error or "no bound link"
            raise SmppClientError(
                f"not bound to the SMSC after {wait:g}s: {reason}", permanent=False
            ) from None

    async def request(self, pdu: Pdu) -> Pdu:
        """Send any request within the window and TPS limit; return its response PDU.

        Raises ``SmppClientError`` when no response comes (timeout, connection lost).
        """
        async with self._window:
            if self._bucket is not None:
                delay = self._bucket.reserve(self.clock())
                if delay > 0:
                    await self._sleep(delay)
            link = self._tx_link() or await self._wait_tx()
            try:
                fut = link.send_request(pdu)
            except SmppError as exc:
                raise SmppClientError(
                    f"cannot send {pdu.command_name}: {exc}", permanent=False
                ) from exc
            return await fut

    async def submit_pdu(self, pdu: SubmitSm, *, part: int = 1, parts: int = 1) -> SubmitResult:
        """Send one submit_sm; report the outcome as a ``SubmitResult`` (never raises)."""
        self.stats["submitted"] += 1
        try:
            resp = await self.request(pdu)
        except SmppClientError as exc:
            return self._submit_result(exc, part, parts)
        return self._submit_result(resp, part, parts)

    def submit_nowait(self, pdu: SubmitSm, done: Callable[[SubmitResult], None]) -> bool:
        """``submit_pdu`` without a task: written now if a window slot and a bound link are free
        (and no TPS pacing is configured), ``done`` called with the result when the answer (or the
        time-out, or the link's loss) comes. False, with nothing sent: use ``submit_pdu``.

        Why: the engine sends a window's worth after each commit, and a task per submit (four
        coroutine frames through this client, each resumed again by the answer) was a large part
        of the event loop's work per message — the time a window slot waits for its answer."""
        if self._bucket is not None:
            return False
        link = self._tx_link()
        if link is None or not self._window.try_acquire():
            return False
        try:
            fut = link.send_request(pdu)
        except SmppError:
            self._window.release()
            return False
        self.stats["submitted"] += 1
        release = self._window.release

        def answered(f: asyncio.Future[Pdu]) -> None:
            release()
            if f.cancelled():
                result = self._submit_result(
                    SmppClientError("the client closed", permanent=False, maybe_sent=True), 1, 1)
            else:
                exc = f.exception()
                if exc is not None and not isinstance(exc, SmppClientError):
                    exc = SmppClientError(str(exc), permanent=False, maybe_sent=True)
                result = self._submit_result(exc if exc is not None else f.result(), 1, 1)
            done(result)

        fut.add_done_callback(answered)
        return True

    def _submit_result(self, resp: Pdu | SmppClientError, part: int, parts: int) -> SubmitResult:
        """What a submit_sm's answer (or its absence) means for the message."""
        stats = self.stats
        if isinstance(resp, SmppClientError):
            stats["timeouts" if resp.maybe_sent else "retry_later"] += 1
            return SubmitResult.from_error(part, parts, resp)
        status = resp.command_status
        if status == 0 and isinstance(resp, SubmitSmResp):
            stats["accepted"] += 1
            return SubmitResult(part, parts, resp.message_id, 0)
        info = describe_status(status)
        what = "generic_nack" if isinstance(resp, GenericNack) else "submit_sm_resp"
        if isinstance(resp, GenericNack) and status == 0:
            status = CommandStatus.ESME_RSYSERR  # a nack that claims "no error" is still a failure
        if status in _BACK_OFF_STATUSES:
            stats["retry_later"] += 1
            return SubmitResult(
                part, parts, None, status, permanent=False,
                retry_after=self.config.throttle_retry_after, error=f"{what} {info.name}: {info.en}",
            )  # fmt: skip
        # A generic_nack means the SMSC could not read a PDU our codec produced; that is the
        # SMSC's trouble (or a proxy's), not the message's, so it is worth another try.
        transient = (
            isinstance(resp, GenericNack)
            or status in _LINK_STATUSES
            or is_retryable(status, self.config.extra_transient)
        )
        stats["retry_later" if transient else "rejected"] += 1
        return SubmitResult(
            part,
            parts,
            None,
            status,
            permanent=not transient,
            error=f"{what} {info.name}: {info.en}",
        )

    def build_submits(
        self,
        sender: str,
        destination: str,
        text: str,
        *,
        reference: int | None = None,
        registered_delivery: int | None = None,
        long_message_mode: LongMessageMode | None = None,
        validity_period: str = "",
    ) -> list[SubmitSm]:
        """The submit_sm PDUs for one message (several with UDH, one with message_payload)."""
        if not text:
            raise SmppClientError("refusing to send an empty text", permanent=True)
        s_ton, s_npi, source = source_address(sender)
        d_ton, d_npi, dest = destination_address(destination)
        rd = self.config.registered_delivery if registered_delivery is None else registered_delivery
        mode = long_message_mode or self.config.long_message_mode
        if reference is None:
            self._concat_ref = (self._concat_ref + 1) & 0xFF
            reference = self._concat_ref
        try:
            segments = _plan_single(text) or _plan_multi(text, reference)
        except MessageTooLong as exc:
            raise SmppClientError(str(exc), permanent=True) from None
        common: dict[str, Any] = {
            "service_type": self.config.service_type,
            "source_addr_ton": s_ton,
            "source_addr_npi": s_npi,
            "source_addr": source,
            "dest_addr_ton": d_ton,
            "dest_addr_npi": d_npi,
            "destination_addr": dest,
            "registered_delivery": rd,
            "data_coding": segments.data_coding,
            "validity_period": validity_period,
        }
        try:
            if segments.segment_count > 1 and mode == "payload":
                whole = _whole_payload(segments)
                return [SubmitSm(**common, tlvs=(tlv_bytes(Tag.MESSAGE_PAYLOAD, whole),))]
            return [
                SubmitSm(
                    **common, esm_class=EsmClass.UDHI if seg.udh else 0, short_message=seg.payload
                )
                for seg in segments.segments
            ]
        except InvalidPduError as exc:
            raise SmppClientError(
                f"cannot build submit_sm: {exc}", permanent=True, status=exc.status
            ) from None

    async def submit(
        self,
        sender: str,
        destination: str,
        text: str,
        *,
        reference: int | None = None,
        registered_delivery: int | None = None,
        long_message_mode: LongMessageMode | None = None,
        validity_period: str = "",
    ) -> list[SubmitResult]:
        """Send ``text`` from ``sender`` to ``destination``; one ``SubmitResult`` per part.

        ``reference`` is the concatenation reference (0-255) for a multipart message; by
        default a per-client counter. Raises ``SmppClientError(permanent=True)`` only for
        input that can never be sent.
        """
        pdus = self.build_submits(
            sender,
            destination,
            text,
            reference=reference,
            registered_delivery=registered_delivery,
            long_message_mode=long_message_mode,
            validity_period=validity_period,
        )
        n = len(pdus)
        if n == 1:
            return [await self.submit_pdu(pdus[0])]
        return list(
            await asyncio.gather(
                *(self.submit_pdu(p, part=i, parts=n) for i, p in enumerate(pdus, start=1))
            )
        )


# A blast sends one text to many numbers: plan it once. Single-part plans do not depend on the
# concatenation reference; multipart ones are cached per (text, reference), 256 at most.
@functools.lru_cache(maxsize=256)
def _plan_single(text: str) -> SegmentPlan | None:
    try:
        return plan(text)
    except ValueError:  # multipart (needs a reference) or too long: _plan_multi decides
        return None


@functools.lru_cache(maxsize=1024)
def _plan_multi(text: str, reference: int) -> SegmentPlan:
    return plan(text, reference)


def _whole_payload(segments: SegmentPlan) -> bytes:
    """The whole text, encoded once, without UDH: what message_payload carries."""
    return b"".join(seg.payload[len(seg.udh) :] for seg in segments.segments)
