"""The SMSC simulator: an SMPP 3.4 server on asyncio around ``warta.smpp.Session`` (SMSC role).

Theory of operation
-------------------
* **One protocol object per TCP connection** (``_SmscConnection``), each with its own
  ``Session(Role.SMSC)``. ``data_received`` feeds the session and answers every request in the
  same call: no task and no await per PDU, so a burst of submits read in one chunk is answered
  in one ``transport.write``. Only the ``slow`` fault defers answers (``loop.call_later``).
* **Message ids** come from one counter per simulator, printed in hex or decimal; a random
  (seeded) starting point makes ids from two runs differ, as real SMSCs' do.
* **Outcomes** (DELIVRD / UNDELIV / REJECTD) are drawn from ``random.Random(seed)`` in submit
  order, so one seed and one traffic pattern give the same outcomes every run.
* **Receipts** wait in a FIFO (the delay is the same for all, so due times are ordered) that a
  pump task drains every ``pump_interval``; each receipt goes to the connection it was
  submitted on if that one can receive, else to any receiver bound with the same system_id,
  else it waits for one to bind. The deliver_sm window (the session's ``window``) is respected:
  what does not fit waits for deliver_sm_resps.
* **Throttling**: a token bucket per connection (``tps``, burst of one second's worth, like
  an operator counting per second); a submit without a token gets ESME_RTHROTTLED.
* **Faults** change one behaviour each (``Fault``); ``fault_after`` counts submits per
  connection, so a client that reconnects meets the fault again after as many submits.
* **MO** messages (``inject_mo``) are split with ``warta.sms.segments.plan`` (UDH for long
  texts) and queued like receipts, to one bound receiver (round-robin). An MO part stays in
  flight until its deliver_sm_resp comes; when the connection is lost first it is delivered
  again, first in line, on the next receiver to bind — with a new sequence number, as an SMSC's
  store and forward does; so does a receipt (the same text, the same message id). Only an outage
  with ``lose_receipts`` forgets receipts, those in flight included. A receipt or MO
  part answered with an error status (the ESME could not take it) goes again after
  ``redeliver_delay`` (counted as ``redelivered``).
* **Log**: every received PDU becomes a dict in ``PduLog`` (memory and/or JSON lines file).

Nothing here imports Django; ``warta smsc-sim`` and the tests use it the same way.
"""

from __future__ import annotations

import asyncio
import enum
import itertools
import logging
import random
import struct
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from warta.gateway.simulator._log import PduLog, Record, pdu_fields
from warta.gateway.smppclient import TokenBucket
from warta.smpp.constants import CommandId, CommandStatus, EsmClass, MessageState, Npi, Ton
from warta.smpp.errors import SmppError
from warta.smpp.pdu import (
    BindReceiver,
    BindTransceiver,
    BindTransmitter,
    DeliverSm,
    Pdu,
    SubmitSm,
    Unbind,
)
from warta.smpp.receipts import format_receipt, receipt_tlvs
from warta.smpp.session import (
    ConnectionMustClose,
    Event,
    ProtocolErrorEvent,
    RequestReceived,
    ResponseReceived,
    ResponseTimeout,
    Role,
    Session,
    Unbound,
)
from warta.sms.segments import plan

__all__ = ["Fault", "Simulator", "SimulatorConfig"]

log = logging.getLogger("warta.gateway.simulator")

_ENQUIRE_LINK_RESP = CommandId.ENQUIRE_LINK_RESP


class Fault(enum.StrEnum):
    """Misbehaviours a run can switch on (several at once)."""

    BLACKHOLE = "blackhole"  # binds, answers enquire_link, never answers a submit_sm
    SILENT = "silent"  # accepts TCP and reads, answers nothing at all (not even bind)
    LOSE_RESPONSES = "lose-responses"  # takes lose_share of submits (receipt follows), no resp
    LOSE_RECEIPTS = "lose-receipts"  # accepts, answers, never sends lose_share of the receipts
    NO_ENQUIRE_LINK = "no-enquire-link"  # never answers enquire_link
    GENERIC_NACK = "generic-nack"  # answers every submit_sm with generic_nack
    UNBIND = "unbind"  # sends unbind after fault_after submits on a connection
    SLOW = "slow"  # answers submit_sm after slow_ms
    DISCONNECT = "disconnect"  # drops the socket after fault_after submits on a connection
    LOSE_MO_ANSWERS = "lose-mo-answers"  # reads but loses lose_share of MO deliver_sm_resps


@dataclass(frozen=True)
class SimulatorConfig:
    host: str = "127.0.0.1"
    port: int = 0  # 0: an ephemeral port (see Simulator.port)
    http_port: int | None = None  # MO injection endpoint on 127.0.0.1; None: off, 0: ephemeral
    accounts: dict[str, str] = field(default_factory=lambda: {"warta": "secret"})
    smsc_system_id: str = "WARTASIM"  # what bind_resp says
    message_id_format: str = "hex"  # hex | decimal
    receipt_delay: float = 1.0  # seconds from submit to receipt
    undeliv_share: float = 0.0  # share of messages whose receipt says UNDELIV
    reject_share: float = 0.0  # share of messages whose receipt says REJECTD
    seed: int = 1
    tps: float = 0.0  # per connection; 0: unlimited
    faults: frozenset[Fault] = frozenset()
    fault_after: int = 10  # submits per connection before unbind/disconnect
    slow_ms: int = 0
    lose_share: float = 1.0  # share of responses / receipts the lose-* faults drop
    nack_status: int = CommandStatus.ESME_RSYSERR  # command_status of the generic-nack fault
    window: int = 1000  # unanswered deliver_sm per connection
    response_timeout: float = 30.0  # for our deliver_sm
    redeliver_delay: float = 1.0  # seconds before a deliver_sm answered with an error goes again
    log_path: str | Path | None = None
    log_keep: int = 100_000  # records kept in memory (0: none)
    pump_interval: float = 0.01
    flush_interval: float = 0.2

    def __post_init__(self) -> None:
        if self.message_id_format not in ("hex", "decimal"):
            raise ValueError("message_id_format must be hex or decimal")
        if not 0 <= self.undeliv_share + self.reject_share <= 1:
            raise ValueError("undeliv_share + reject_share must be within 0..1")
        if not 0 <= self.lose_share <= 1:
            raise ValueError("lose_share must be within 0..1")
        object.__setattr__(self, "faults", frozenset(Fault(f) for f in self.faults))

    def __repr__(self) -> str:
        return (
            f"SimulatorConfig(host={self.host!r}, port={self.port}, accounts={sorted(self.accounts)} "
            f"(passwords ***), faults={sorted(self.faults)}, tps={self.tps})"
        )


@dataclass(slots=True)
class _Outgoing:
    """A deliver_sm waiting for a receiver: a receipt or an MO part."""

    due: float
    system_id: str | None  # route to a receiver of this account; None: any
    conn: _SmscConnection | None  # preferred connection (the one the submit came on)
    pdu: DeliverSm | _ReceiptSpec  # a receipt is built when it is sent
    kind: str  # "receipt" | "mo"


_BIND_KIND: dict[type[Pdu], str] = {BindTransmitter: "tx", BindReceiver: "rx", BindTransceiver: "trx"}


class _SmscConnection(asyncio.Protocol):
    def __init__(self, sim: Simulator, conn_id: int) -> None:
        self.sim = sim
        self.conn_id = conn_id
        cfg = sim.config
        self.session = Session(
            Role.SMSC,
            window=cfg.window,
            enquire_link_interval=None,  # the ESME keeps the link alive, not us
            response_timeout=cfg.response_timeout,
            now=time.monotonic(),
        )
        self.transport: asyncio.Transport | None = None
        self.system_id: str | None = None
        self.kind = ""  # tx | rx | trx once bound
        self.submits = 0
        self.bucket = (
            TokenBucket(cfg.tps, burst=cfg.tps, now=time.monotonic()) if cfg.tps > 0 else None
        )
        self.closed = False
        self._out: list[bytes] = []
        self._flush_scheduled = False
        self._unbinding = False
        self.mo_in_flight: dict[int, _Outgoing] = {}  # MO deliver_sm sequence → item, until answered
        self.receipts_in_flight: dict[int, _Outgoing] = {}  # the same for receipts

    @property
    def label(self) -> str:
        return f"{self.kind}:{self.system_id}" if self.kind else "unbound"

    @property
    def can_receive(self) -> bool:
        return not self.closed and self.kind in ("rx", "trx") and not self._unbinding

    # -- asyncio.Protocol -----------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.sim.counters["connections"] += 1
        self.sim._conns.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.session.close()
        self.sim._connection_lost(self)
        # Store and forward: MO parts and receipts whose answer never came go again, first (in
        # the order they were sent), on another bind.
        unanswered = sorted([*self.mo_in_flight.items(), *self.receipts_in_flight.items()], reverse=True)
        for _seq, item in unanswered:
            item.conn = None
            self.sim._waiting.appendleft(item)
            self.sim.counters["mo_redelivered" if item.kind == "mo" else "receipts_redelivered"] += 1
        self.mo_in_flight.clear()
        self.receipts_in_flight.clear()
        if unanswered:
            self.sim._wake_pump()

    def data_received(self, data: bytes) -> None:
        if Fault.SILENT in self.sim.config.faults:
            self.sim.counters["ignored_bytes"] += len(data)
            return
        now = time.monotonic()
        events = self.session.receive_data(data, now=now)
        # The session answers enquire_link by itself; find those answers to log (and, for the
        # no-enquire-link fault, drop) them before anything of ours joins the buffer.
        auto = self.session.data_to_send()
        if auto:
            self._auto_answers(auto)
        if events:
            sim = self.sim
            wall = time.time()
            logging_on = sim.log.enabled
            for event in events:
                etype = type(event)
                if etype is RequestReceived:
                    self._on_request(event.pdu, wall, logging_on)  # type: ignore[union-attr]
                elif etype is ResponseReceived:
                    self._on_response(event, wall, logging_on)  # type: ignore[arg-type]
                else:
                    self._on_other(event, wall, logging_on)
                if self.closed:
                    return
        self._drain()

    # -- output -----------------------------------------------------------------------

    def _auto_answers(self, data: bytes) -> None:
        sim = self.sim
        keep = Fault.NO_ENQUIRE_LINK not in sim.config.faults
        kept: list[bytes] = []
        wall = time.time()
        for cid, seq, pdu in _split_pdus(data):
            if cid == _ENQUIRE_LINK_RESP:
                sim.counters["enquire_link"] += 1
                if sim.log.enabled:
                    sim.log.append(
                        {
                            "t": round(wall, 6),
                            "conn": self.conn_id,
                            "bind": self.label,
                            "command": "enquire_link",
                            "seq": seq,
                            "status": 0,
                            "answered": keep,
                        }  # fmt: skip
                    )
                if not keep:
                    continue
            kept.append(pdu)
        self._queue_bytes(b"".join(kept))

    def _drain(self) -> None:
        data = self.session.data_to_send()
        if data:
            self._queue_bytes(data)

    def _queue_bytes(self, data: bytes) -> None:
        if data:
            self._out.append(data)
            if not self._flush_scheduled:
                self._flush_scheduled = True
                asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        if self._out and self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self._out))
        self._out.clear()

    def _answer(self, pdu: Pdu) -> None:
        if self.closed:
            return
        try:
            self.session.send(pdu)
        except SmppError as exc:  # e.g. the client unbound meanwhile
            log.debug("conn %d: cannot answer: %s", self.conn_id, exc)
            return
        self._drain()

    def send_deliver(self, pdu: DeliverSm) -> int | None:
        """Send a deliver_sm if the window has room: its sequence number; None if it must wait."""
        if not self.can_receive or not self.session.can_send(CommandId.DELIVER_SM):
            return None
        stamped = self.session.send(pdu, now=time.monotonic())
        self._drain()
        return stamped.sequence_number

    # -- requests ---------------------------------------------------------------------

    def _record(self, pdu: Pdu, wall: float, extra: Record | None = None) -> Record:
        rec: Record = {
            "t": round(wall, 6),
            "conn": self.conn_id,
            "bind": self.label,
            "command": pdu.command_name,
            "seq": pdu.sequence_number,
            "status": pdu.command_status,
        }
        rec.update(pdu_fields(pdu))
        if extra:
            rec.update(extra)
        self.sim.log.append(rec)
        return rec

    def _on_request(self, pdu: Pdu, wall: float, logging_on: bool) -> None:
        sim = self.sim
        if type(pdu) is SubmitSm:
            rec = self._record(pdu, wall) if logging_on else None
            self._on_submit(pdu, rec)
            return
        if logging_on:
            self._record(pdu, wall)
        kind = _BIND_KIND.get(type(pdu))
        if kind is not None:
            self._on_bind(pdu, kind)
        elif pdu.response_class is not None:
            # data_sm and the like: not offered by this simulator.
            self._answer(pdu.error_response(CommandStatus.ESME_RINVCMDID))
            sim.counters["unsupported"] += 1

    def _on_bind(self, pdu: Any, kind: str) -> None:
        sim = self.sim
        expected = sim.config.accounts.get(pdu.system_id)
        if expected is None:
            status = CommandStatus.ESME_RBINDFAIL
        elif expected != pdu.password or time.monotonic() < sim.reject_binds_until:
            status = CommandStatus.ESME_RINVPASWD
        else:
            status = CommandStatus.ESME_ROK
        if status:
            sim.counters["bind_failures"] += 1
            self._answer(pdu.response(command_status=status))
            return
        self._answer(pdu.response(system_id=sim.config.smsc_system_id))
        self.system_id = pdu.system_id
        self.kind = kind
        sim.counters["binds"] += 1
        sim._bound(self)

    def _on_submit(self, pdu: SubmitSm, rec: Record | None) -> None:
        sim = self.sim
        cfg = sim.config
        counters = sim.counters
        counters["submit_sm"] += 1
        self.submits += 1
        faults = cfg.faults
        if faults:
            if Fault.BLACKHOLE in faults:
                return
            if Fault.GENERIC_NACK in faults:
                counters["nacks"] += 1
                self._answer(pdu.nack(cfg.nack_status))
                if rec is not None:
                    rec["response_status"] = cfg.nack_status
                return
        if self.bucket is not None and not self.bucket.try_take(time.monotonic()):
            counters["throttled"] += 1
            self._respond_submit(pdu, pdu.response(command_status=CommandStatus.ESME_RTHROTTLED))
            if rec is not None:
                rec["response_status"] = int(CommandStatus.ESME_RTHROTTLED)
            return
        message_id = sim._next_message_id()
        counters["accepted"] += 1
        if rec is not None:
            rec["message_id"] = message_id
            rec["response_status"] = 0
        if Fault.LOSE_RESPONSES in faults and sim._lose():
            counters["responses_lost"] += 1  # taken (the receipt follows), never answered
            if rec is not None:
                rec["response_lost"] = True
        else:
            self._respond_submit(pdu, pdu.response(message_id=message_id))
        if pdu.registered_delivery & 0x03:
            sim._schedule_receipt(self, pdu, message_id)
        if faults and self.submits >= cfg.fault_after:
            if Fault.DISCONNECT in faults:
                self._flush()
                counters["fault_disconnects"] += 1
                self.closed = True
                if self.transport is not None:
                    self.transport.abort()
            elif Fault.UNBIND in faults and not self._unbinding:
                self._unbinding = True
                counters["fault_unbinds"] += 1
                self.session.send(Unbind())
                self._drain()

    def _respond_submit(self, pdu: SubmitSm, response: Pdu) -> None:
        slow = self.sim.config.slow_ms if Fault.SLOW in self.sim.config.faults else 0
        if slow:
            asyncio.get_running_loop().call_later(slow / 1000, self._answer, response)
        else:
            self._answer(response)

    # -- responses and the rest -------------------------------------------------------

    def _on_response(self, event: ResponseReceived, wall: float, logging_on: bool) -> None:
        if logging_on:
            self._record(event.response, wall)
        if type(event.request) is DeliverSm:
            seq = event.request.sequence_number
            item = self.receipts_in_flight.pop(seq, None)
            if seq in self.mo_in_flight:
                if Fault.LOSE_MO_ANSWERS in self.sim.config.faults and self.sim._lose():
                    self.sim.counters["mo_answers_lost"] += 1  # as if lost on the way: still in flight
                    return
                item = self.mo_in_flight.pop(seq)
            self.sim.counters["deliver_sm_resp"] += 1
            if item is not None and event.response.command_status != CommandStatus.ESME_ROK:
                # The ESME could not take it (its database down, say): an SMSC keeps it and
                # delivers it again later, as its store and forward retry schedule does.
                self.sim._redeliver(item)
            self.sim._wake_pump()

    def _on_other(self, event: Event, wall: float, logging_on: bool) -> None:
        if type(event) is Unbound:
            if logging_on:
                self.sim.log.append(
                    {
                        "t": round(wall, 6),
                        "conn": self.conn_id,
                        "bind": self.label,
                        "command": "unbind" if event.by_peer else "unbind_resp",
                    }  # fmt: skip
                )
            self._flush_now_and_close()
        elif type(event) is ConnectionMustClose:
            self._flush_now_and_close(abort=True)
        elif type(event) is ProtocolErrorEvent:
            self.sim.counters["protocol_errors"] += 1
            if logging_on:
                self.sim.log.append(
                    {
                        "t": round(wall, 6),
                        "conn": self.conn_id,
                        "bind": self.label,
                        "command": "protocol_error",
                        "error": str(event.error),
                    }  # fmt: skip
                )

    def _flush_now_and_close(self, *, abort: bool = False) -> None:
        self._drain()
        self._flush()
        self.closed = True
        if self.transport is not None:
            if abort:
                self.transport.abort()
            else:
                self.transport.close()

    def tick(self, now: float) -> None:
        for event in self.session.tick(now):
            if type(event) is ResponseTimeout:
                self.sim.counters["deliver_timeouts"] += 1
                # A receipt the ESME never answered is delivered again later (store and forward),
                # as one answered with an error is; it was dropped before. An MO part stays in
                # flight until the link goes (then it goes again on the next bind).
                item = self.receipts_in_flight.pop(event.request.sequence_number, None)
                if item is not None:
                    self.sim._redeliver(item)
            elif type(event) is ConnectionMustClose:
                self._flush_now_and_close(abort=True)
                return
        self._drain()

    def close(self) -> None:
        if self.transport is not None and not self.closed:
            self._flush()
            self.transport.close()


_HEADER = struct.Struct(">III")


def _split_pdus(data: bytes) -> list[tuple[int, int, bytes]]:
    """(command_id, sequence_number, bytes) of each PDU in ``data`` (whole PDUs back to back)."""
    out = []
    pos = 0
    n = len(data)
    unpack = _HEADER.unpack_from
    while pos + 16 <= n:
        length, cid, _status = unpack(data, pos)
        seq = int.from_bytes(data[pos + 12 : pos + 16], "big")
        out.append((cid, seq, data[pos : pos + length]))
        pos += length
    return out


class Simulator:
    """An SMSC on 127.0.0.1 for tests, demos and benchmarks.

    ::

        async with Simulator(SimulatorConfig(receipt_delay=0.1)) as sim:
            client = SmppClient(ClientConfig(port=sim.port, system_id="warta", password="secret"))
            ...
            sim.log.find(command="submit_sm"); sim.counters["accepted"]
    """

    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        cfg = self.config
        self.counters: dict[str, int] = dict.fromkeys(
            (
                "connections",
                "binds",
                "bind_failures",
                "enquire_link",
                "submit_sm",
                "accepted",
                "throttled",
                "nacks",
                "receipts_sent",
                "mo_sent",
                "deliver_sm_resp",
                "deliver_timeouts",
                "fault_unbinds",
                "fault_disconnects",
                "protocol_errors",
                "unsupported",
                "ignored_bytes",
                "responses_lost",
                "receipts_lost",
                "outages",
                "mo_redelivered",
                "receipts_redelivered",
                "mo_answers_lost",
                "redelivered",
            ),  # fmt: skip
            0,
        )
        self.log = PduLog(cfg.log_path, keep=cfg.log_keep)
        self._rng = random.Random(cfg.seed)
        self._ids = itertools.count(self._rng.randrange(1 << 24, 1 << 28))
        self._hex_ids = cfg.message_id_format == "hex"
        self._conns: set[_SmscConnection] = set()
        self._conn_ids = itertools.count(1)
        self._queue: deque[_Outgoing] = deque()  # due-ordered: receipts share one delay
        self._waiting: deque[_Outgoing] = deque()  # due, but no receiver could take them yet
        self._rr = 0
        self._mo_ref = self._rng.randrange(256)
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._pump_event: asyncio.Event | None = None
        self._http: Any = None
        self._lose_rng = random.Random(cfg.seed + 1)
        #: Binds are refused with ESME_RINVPASWD until this monotonic time (wrong password, then fixed).
        self.reject_binds_until = 0.0
        self.down = False
        self.port = 0
        self.http_port: int | None = None

    # -- lifecycle --------------------------------------------------------------------

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        cfg = self.config
        self._server = await loop.create_server(
            lambda: _SmscConnection(self, next(self._conn_ids)),
            cfg.host,
            cfg.port,
            reuse_address=True,
        )
        self.port = self._server.sockets[0].getsockname()[1]
        self._pump_event = asyncio.Event()
        self._tasks = [loop.create_task(self._pump()), loop.create_task(self._housekeeping())]
        if cfg.http_port is not None:
            from warta.gateway.simulator._http import start_http

            self._http, self.http_port = await start_http(self, cfg.http_port)
        log.info("SMSC simulator listening on %s:%d", cfg.host, self.port)

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.cleanup()
            self._http = None
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            conn.close()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._tasks.clear()
        if self._server is not None:
            await self._server.wait_closed()
            self._server = None
        self.log.close()

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    # -- state and accessors ----------------------------------------------------------

    @property
    def connections(self) -> list[_SmscConnection]:
        return sorted(self._conns, key=lambda c: c.conn_id)

    @property
    def bound_receivers(self) -> list[_SmscConnection]:
        return [c for c in self.connections if c.can_receive]

    @property
    def pending_deliveries(self) -> int:
        return len(self._queue) + len(self._waiting)

    def set_faults(
        self,
        *faults: Fault | str,
        fault_after: int | None = None,
        slow_ms: int | None = None,
        lose_share: float | None = None,
        tps: float | None = None,
    ) -> None:
        """Change the fault modes of a running simulator (tests use this between phases).
        A new ``tps`` applies to connections made from now on."""
        changes: dict[str, Any] = {"faults": frozenset(Fault(f) for f in faults)}
        if lose_share is not None:
            changes["lose_share"] = lose_share
        if tps is not None:
            changes["tps"] = tps
        if fault_after is not None:
            changes["fault_after"] = fault_after
        if slow_ms is not None:
            changes["slow_ms"] = slow_ms
        self.config = _replace(self.config, **changes)

    def set_accounts(self, accounts: dict[str, str]) -> None:
        """Change the accounts of a running simulator (the operator fixed, or changed, a password)."""
        self.config = _replace(self.config, accounts=dict(accounts))

    def reject_binds_for(self, seconds: float) -> None:
        """Refuse every bind with ESME_RINVPASWD for ``seconds`` (wrong password, then fixed)."""
        self.reject_binds_until = time.monotonic() + seconds

    async def go_down(self, *, lose_receipts: bool = True) -> None:
        """An outage: stop listening, drop every connection (what is in flight gets no answer)
        and, with ``lose_receipts``, forget every receipt not yet delivered, as a restarted SMSC
        without persistent storage does. ``come_back`` ends it."""
        if self.down:
            return
        self.down = True
        self.counters["outages"] += 1
        if self._server is not None:
            self._server.close()
            self._server = None
        for conn in list(self._conns):
            conn.closed = True
            if lose_receipts:  # those in flight too: the restarted SMSC has no record of them
                self.counters["receipts_lost"] += len(conn.receipts_in_flight)
                conn.receipts_in_flight.clear()
            if conn.transport is not None:
                conn.transport.abort()
        if lose_receipts:
            kept = [i for i in (*self._queue, *self._waiting) if i.kind != "receipt"]
            self.counters["receipts_lost"] += len(self._queue) + len(self._waiting) - len(kept)
            self._queue.clear()
            self._waiting = deque(kept)

    async def come_back(self) -> None:
        """End an outage: listen again on the same port."""
        if not self.down:
            return
        self._server = await asyncio.get_running_loop().create_server(
            lambda: _SmscConnection(self, next(self._conn_ids)), self.config.host, self.port,
            reuse_address=True,
        )
        self.down = False

    def _lose(self) -> bool:
        return self._lose_rng.random() < self.config.lose_share

    def _connection_lost(self, conn: _SmscConnection) -> None:
        self._conns.discard(conn)

    def _bound(self, conn: _SmscConnection) -> None:
        if conn.can_receive and self._waiting:
            self._wake_pump()

    def _next_message_id(self) -> str:
        n = next(self._ids)
        return f"{n:x}" if self._hex_ids else str(n)

    def _draw_state(self) -> MessageState:
        cfg = self.config
        if not (cfg.reject_share or cfg.undeliv_share):
            return MessageState.DELIVERED
        r = self._rng.random()
        if r < cfg.reject_share:
            return MessageState.REJECTED
        if r < cfg.reject_share + cfg.undeliv_share:
            return MessageState.UNDELIVERABLE
        return MessageState.DELIVERED

    # -- receipts and MO --------------------------------------------------------------

    def _schedule_receipt(self, conn: _SmscConnection, pdu: SubmitSm, message_id: str) -> None:
        state = self._draw_state()
        if pdu.registered_delivery & 0x03 == 2 and state is MessageState.DELIVERED:
            return  # receipt on failure only
        if Fault.LOSE_RECEIPTS in self.config.faults and self._lose():
            self.counters["receipts_lost"] += 1
            return
        due = time.monotonic() + self.config.receipt_delay
        self._queue.append(
            _Outgoing(due, conn.system_id, conn, _ReceiptSpec(pdu, message_id, state), "receipt")
        )

    def inject_mo(
        self, source: str, destination: str, text: str, *, system_id: str | None = None
    ) -> int:
        """Queue a mobile-originated message for a bound receiver; return the number of parts.

        A text longer than one SMS goes as concatenated parts (UDH, esm_class 0x40).
        """
        self._mo_ref = (self._mo_ref + 1) & 0xFF
        segments = plan(text, self._mo_ref)
        s_ton = (
            Ton.INTERNATIONAL
            if source.lstrip("+").isdigit() and len(source.lstrip("+")) > 8
            else Ton.UNKNOWN
        )
        src = source.lstrip("+")
        if src.startswith("0") and src.isdigit() and len(src) > 8:
            src = "62" + src[1:]
        now = time.monotonic()
        for seg in segments.segments:
            pdu = DeliverSm(
                source_addr_ton=s_ton,
                source_addr_npi=Npi.ISDN,
                source_addr=src,
                dest_addr_ton=Ton.UNKNOWN,
                dest_addr_npi=Npi.ISDN,
                destination_addr=destination.lstrip("+"),
                esm_class=EsmClass.UDHI if seg.udh else 0,
                data_coding=segments.data_coding,
                short_message=seg.payload,
            )
            self._waiting.append(_Outgoing(now, system_id, None, pdu, "mo"))
        self._wake_pump()
        return segments.segment_count

    def _build_receipt(self, spec: _ReceiptSpec) -> DeliverSm:
        submit = spec.submit
        now = datetime.now()
        text = format_receipt(
            spec.message_id,
            spec.state,
            submit_date=spec.submitted,
            done_date=now,
            err=0
            if spec.state is MessageState.DELIVERED
            else (1 if spec.state is MessageState.UNDELIVERABLE else 2),
            text=_receipt_text(submit),
        )
        return DeliverSm(
            source_addr_ton=submit.dest_addr_ton,
            source_addr_npi=submit.dest_addr_npi,
            source_addr=submit.destination_addr,
            dest_addr_ton=submit.source_addr_ton,
            dest_addr_npi=submit.source_addr_npi,
            destination_addr=submit.source_addr,
            esm_class=EsmClass.TYPE_DELIVERY_RECEIPT,
            short_message=text.encode("latin-1", errors="replace"),
            tlvs=receipt_tlvs(spec.message_id, spec.state),
        )

    def _wake_pump(self) -> None:
        if self._pump_event is not None:
            self._pump_event.set()

    def _route(self, item: _Outgoing) -> _SmscConnection | None:
        conn = item.conn
        if conn is not None and conn.can_receive:
            return conn
        receivers = [
            c
            for c in self._conns
            if c.can_receive and (item.system_id is None or c.system_id == item.system_id)
        ]
        if not receivers:
            return None
        self._rr += 1
        return receivers[self._rr % len(receivers)]

    def _deliver(self, item: _Outgoing) -> bool:
        conn = self._route(item)
        if conn is None:
            return False
        pdu = item.pdu
        if type(pdu) is _ReceiptSpec:
            pdu = item.pdu = self._build_receipt(pdu)
        assert type(pdu) is DeliverSm
        seq = conn.send_deliver(pdu)
        if seq is None:
            return False
        if item.kind == "mo":
            conn.mo_in_flight[seq] = item
        else:
            conn.receipts_in_flight[seq] = item
        self.counters["receipts_sent" if item.kind == "receipt" else "mo_sent"] += 1
        return True

    def _redeliver(self, item: _Outgoing) -> None:
        self.counters["redelivered"] += 1

        def again() -> None:
            self._waiting.append(item)
            self._wake_pump()

        asyncio.get_running_loop().call_later(self.config.redeliver_delay, again)

    def _pump_once(self, now: float) -> None:
        # First what already waited (MO and receipts with no receiver), in order, then what
        # became due. A receiver with a full window stops the walk: order is kept.
        waiting = self._waiting
        for _ in range(len(waiting)):
            item = waiting[0]
            if not self._deliver(item):
                break
            waiting.popleft()
        queue = self._queue
        while queue and queue[0].due <= now:
            item = queue[0]
            if waiting or not self._deliver(item):
                waiting.append(queue.popleft())
                continue
            queue.popleft()

    async def _pump(self) -> None:
        assert self._pump_event is not None
        event = self._pump_event
        interval = self.config.pump_interval
        while True:
            try:
                async with asyncio.timeout(interval):
                    await event.wait()
            except TimeoutError:
                pass
            event.clear()
            self._pump_once(time.monotonic())

    async def _housekeeping(self) -> None:
        while True:
            await asyncio.sleep(self.config.flush_interval)
            self.log.flush()
            now = time.monotonic()
            for conn in list(self._conns):
                conn.tick(now)


@dataclass(slots=True)
class _ReceiptSpec:
    """A receipt not built yet: built when it is sent, so the done date is the real one."""

    submit: SubmitSm
    message_id: str
    state: MessageState
    submitted: datetime = field(default_factory=datetime.now)


def _receipt_text(submit: SubmitSm) -> str:
    # Appendix B carries the first 20 characters of the message; GSM-7 octets are ASCII for
    # the letters that matter in a log, and UCS-2 is left out rather than garbled.
    if submit.data_coding == 0 and not submit.esm_class & EsmClass.UDHI:
        return submit.short_message[:20].decode("latin-1")
    return ""


def _replace(config: SimulatorConfig, **changes: Any) -> SimulatorConfig:
    import dataclasses

    return dataclasses.replace(config, **changes)


def parse_faults(values: Iterable[str]) -> frozenset[Fault]:
    out: set[Fault] = set()
    for value in values:
        for name in value.split(","):
            if name.strip():
                out.add(Fault(name.strip()))
    return frozenset(out)
