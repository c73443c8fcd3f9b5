"""The loop: binds, dispatch within window and pace, and one transaction per turn (``flush``)."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from typing import Any

from django.db import connection, transaction

from warta.blasts.models import Blast, OutboxCount
from warta.blasts.outbox import suppressed_numbers
from warta.blasts.transitions import Later, Outbox

from ..models import Connection, GatewayCount
from ..receipts import InReceipt, ReceiptService
from ..smppclient import TokenBucket
from ..transports import ConnectionURLError, TransportError, parse_url, transport_for
from ._types import (
    PACED_HOLD,
    SWEEP_SECONDS,
    THROTTLE_STATUSES,
    BindSlot,
    FlushResult,
    InMo,
    Item,
    LateAnswer,
    LeaseLost,
    Outcome,
    Router,
    T,
    _ErrorResult,
)
from .leases import LeaseSteps, _release_bind
from .queue import QueueSteps

log = logging.getLogger("warta.gateway.engine")

SWITCH_INTERVAL = float(os.environ.get("WARTA_ENGINE_SWITCH_INTERVAL", "0.0005"))
# The results lane starts a transaction at most this often: receipts and MOs wait a little to
# share one (fewer, larger transactions compete less with the send lane for the two cores).
RESULTS_INTERVAL = float(os.environ.get("WARTA_ENGINE_RESULTS_INTERVAL", "0.02"))


def _utc_now() -> datetime:
    """The engine's clock. Not django.utils.timezone.now, which reads settings.USE_TZ (always
    True here) through a LazyObject on every call: one call per receipt, 6 % of the event loop
    at window 512 (py-spy)."""
    return datetime.now(UTC)


class Engine(LeaseSteps, QueueSteps):
    """One delivery engine. ``await engine.run()`` until ``engine.stop()`` (or SIGTERM)."""

    def __init__(
        self,
        *,
        connections: Sequence[str] | None = None,
        engine_id: str | None = None,
        lease_seconds: float = 15.0,
        heartbeat_seconds: float = 2.0,
        idle_poll: float = 0.1,
        drain_timeout: float = 10.0,
        sweep_seconds: float = SWEEP_SECONDS,
        suppression: Callable[[Iterable[str]], set[str]] = suppressed_numbers,
        clock: Callable[[], datetime] = _utc_now,
        send_lanes: int | None = None,
    ) -> None:
        host = socket.gethostname()
        self.engine_id = engine_id or f"{host}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.hostname = host
        self.connection_names = list(connections or [])
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.idle_poll = idle_poll
        self.drain_timeout = drain_timeout
        self.sweep_seconds = sweep_seconds
        self.suppression = suppression
        self.now = clock
        self.is_postgres = connection.vendor == "postgresql"
        self.router = Router([])
        self.binds: dict[tuple[int, int], BindSlot] = {}
        self.buffer: list[Item] = []
        self._outcomes: list[Outcome] = []
        self._receipts: list[InReceipt] = []
        self._mos: list[InMo] = []
        self._late: list[LateAnswer] = []
        # (connection, ref) of a timed-out submit → (message id, part, parts): a late answer
        # finds its message by it. Bounded: an answer later than this many timeouts is a receipt's job.
        self._late_refs: dict[tuple[int, int], tuple[int, int, int]] = {}
        self._conn_versions: dict[int, str] = {}  # connection id → the URL its binds were opened with
        self._next_receipt_sweep = 0.0
        # Every state change goes through an Outbox (warta.blasts.transitions): the results lane's
        # here, the send lane's its own (see EngineBase.outbox).
        self._main_outbox = Outbox()
        self._lane = threading.local()
        # Send transactions in flight at once (PostgreSQL; SQLite has one writer): while one
        # commits its marks, the next claims for the slots freed meanwhile.
        if send_lanes is None:
            send_lanes = int(os.environ.get("WARTA_ENGINE_SEND_LANES", "1"))
        self.send_lanes = max(1, send_lanes) if self.is_postgres else 1
        self._send_busy = 0  # send transactions running
        self._claim_busy = False  # a buffer-filling claim is running (one at a time: no over-claim)
        self._send_flushes: set[asyncio.Task[None]] = set()
        self._blasts_lock = threading.Lock()
        self._mark_lock = threading.Lock()
        self._last_mark = datetime.min.replace(tzinfo=UTC)  # sent_at of the last mark (_mark_time)
        self._results_gdeltas: dict[tuple[int | None, str, str], float] = defaultdict(float)
        self._sent_gauges: dict[tuple[int | None, str, str], float] = defaultdict(float)
        self._gauge_lock = threading.Lock()
        self._blasts: dict[int, Blast] = {}
        self._active: list[Blast] = []  # active blasts with queued messages, from the counters
        self._active_until = 0.0  # monotonic time the list above is good until
        self._next_blast_clock = 0.0  # next outbox.sweep (blasts finishing, quiet hours)
        self._started: set[int] = set()  # blasts whose started_at this engine knows is set
        self._tariffs: dict[str, Any] = {}
        self._tariffs_until = 0.0
        self._parts_cache: dict[str, int] = {}
        self._shares: dict[int, int] = {}  # connection id → binds this engine may hold
        self._overflow: list[tuple[list[Item], float]] = []  # paced items to release (and when)
        # Marked ``sending``, never sent, whose return to the queue failed (the database gone
        # after the mark's COMMIT): each send turn tries again, so none stays ``sending`` for good.
        self._unsent: list[Item] = []
        # The same for marks whose rows the engine does not know, by name (connection, sent_at): a
        # claim whose rows could not be read after its COMMIT, a send transaction whose COMMIT
        # may have happened unseen.
        self._unread: list[tuple[int, datetime]] = []
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._executor: ThreadPoolExecutor | None = None  # the results lane's database thread
        self._send_executor: ThreadPoolExecutor | None = None  # the send lane's (PostgreSQL)
        self._results_task: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._in_air = 0  # submits sent without a task (``submit_nowait``), not yet answered
        self._next_housekeeping = 0.0
        self._next_claim = 0.0
        self._next_pending_match = 0.0
        self._next_results = 0.0  # the results lane's next transaction starts no earlier
        self._next_squash = 0.0
        # True at start: receipts stored by an earlier run, or by another process (Kannel's dlr-url
        # callbacks), are waiting for their parts; housekeeping sets it again periodically.
        self.stats: dict[str, int] = defaultdict(int)
        self.receipts = ReceiptService(self._main_outbox, self._results_gdeltas, stats=self.stats, clock=self.now,
                                       engine_id=self.engine_id, parts_needed=self._parts_needed)

    def __repr__(self) -> str:
        return f"<Engine {self.engine_id} binds={len(self.binds)} buffered={len(self.buffer)}>"

    def flush(self, outcomes: Sequence[Outcome], receipts: Sequence[InReceipt], mos: Sequence[InMo],
              plan: dict[int, list[Item]], claim: int, senders: set[str] | None,
              direct: tuple[int, int] | None = None, late: Sequence[LateAnswer] = (),
              wants: Sequence[tuple[int, set[str] | None, set[str] | None, set[str]]] = ()) -> FlushResult:
        """Both lanes' writes in one transaction (the final flush at shutdown; tests): results
        first (so a receipt in the same turn finds its part), then the ``sending`` marks, then
        the next claim."""
        def both() -> FlushResult:
            self._results(outcomes, receipts, mos, late)
            return self._sends(plan, claim, senders, direct, wants)
        return self._in_transaction(both)

    def flush_results(self, receipts: Sequence[InReceipt], mos: Sequence[InMo], late: Sequence[LateAnswer] = (),
                      match_pending: bool = False) -> None:
        """The results lane's transaction: late answers, receipts, MOs (and the stored receipts
        whose part has since been saved)."""
        def results() -> None:
            self._results((), receipts, mos, late)
            if match_pending:
                self.match_pending_receipts()
        self._in_transaction(results)

    def flush_send(self, outcomes: Sequence[Outcome], plan: dict[int, list[Item]], claim: int,
                   senders: set[str] | None, direct: tuple[int, int] | None = None,
                   wants: Sequence[tuple[int, set[str] | None, set[str] | None, set[str]]] = (),
                   marks: list[tuple[int, datetime]] | None = None) -> FlushResult:
        """The send lane's transaction: the submit results that freed window slots, the
        ``sending`` marks of the plan, then the next claim. A slot is refilled in the same
        transaction that writes the result of the message it held, so at every commit no more
        rows are ``sending`` than the window holds — the bound on messages in doubt after a crash.
        ``marks`` gets the name of every mark the transaction made (``unmark_claim``): when it
        raises, the caller cannot tell whether it committed (the answer to COMMIT lost)."""
        # PostgreSQL: the submit results and the claim that refills the slots are read after
        # the COMMIT (``Later``), so the whole transaction is one round trip: each statement
        # read at once cost a round trip of its own, ~2 ms apiece at window 64.
        later = Later() if self.is_postgres else None

        def sends() -> FlushResult:
            self.apply_responses(outcomes, later)
            return self._sends(plan, claim, senders, direct, wants, later, marks)
        try:
            result = self._in_transaction(sends, prepare=self._before_pipeline)
        except BaseException:
            if later is not None:
                later.close()
            raise
        try:
            if later is not None:
                self._read_later(later, result)
        finally:
            self._hand_over_gauges()  # committed: its gateway counts are the results lane's to write
        return result

    def _read_later(self, later: Later, result: FlushResult) -> None:
        """After a send transaction's COMMIT: its statements' rows (``Later``), then the claim's
        opted-out numbers suppressed."""
        try:
            later.run()
        except Exception:
            # Committed, but its rows could not be read (the connection broke at that
            # instant, or a bug): the results are written (their bookkeeping in memory is
            # lost: statistics only); the claim's rows are ``sending``, ours, and unknown
            # here — none may be sent, all go back by the claim's name (``unmark_claim``).
            log.exception("engine: reading a send transaction's rows after its COMMIT failed")
            result.unread, result.direct, result.flagged = result.mark, [], set()
            return
        try:
            self.suppress_claimed(result)
        except Exception:
            # The database failed between the claim's COMMIT and this short transaction.
            # Send none of the numbers the claim said are opted out (none at all when it
            # could not say): they go back to the queue (``unsent``), and the next claim
            # that takes them says so again.
            log.exception("engine: suppressing opted-out numbers after a claim failed; not sending them")
            flagged = result.flagged
            result.unsent = [i for i in result.direct if flagged is None or i.to in flagged]
            result.direct = [i for i in result.direct if flagged is not None and i.to not in flagged]

    def _before_pipeline(self) -> None:
        """The ORM reads the send lane may need, done before its pipeline starts (the active
        blasts and the blasts' clock, the tariffs): within it every statement is the engine's
        own SQL."""
        self.active_blasts()
        self._tariff_table()

    def _results(self, outcomes: Sequence[Outcome], receipts: Sequence[InReceipt], mos: Sequence[InMo],
                 late: Sequence[LateAnswer]) -> None:
        self.apply_responses(outcomes)
        self.apply_late(late)
        self.apply_receipts(receipts)
        self.store_mos(mos)

    def _sends(self, plan: dict[int, list[Item]], claim: int, senders: set[str] | None,
               direct: tuple[int, int] | None,
               wants: Sequence[tuple[int, set[str] | None, set[str] | None, set[str]]],
               later: Later | None = None, marks: list[tuple[int, datetime]] | None = None) -> FlushResult:
        result = FlushResult()
        if plan:
            result.marked, result.dropped = self.mark_sending(plan, marks)
        if claim:
            result.claimed = self.claim_batch(claim, senders)
        if direct and later is not None:
            self.claim_marked_later(direct[1], senders, direct[0], later, result, marks)
        elif direct:
            result.direct = self.claim_batch(direct[1], senders, mark_conn=direct[0], marks=marks)
        if wants:
            result.claimed = self.claim_per_conn(wants)
        return result

    def _in_transaction(self, fn: Callable[[], T], prepare: Callable[[], None] | None = None) -> T:
        """``fn`` and the counters of what it moved, in one transaction on this thread's
        connection; the COMMIT travels with the counter rows (``_pipelined``). With ``prepare``
        (the send lane) the whole of ``fn`` runs in the pipeline after it: BEGIN then travels
        with the first statement, and statements whose rows are not read (the counters) with
        the next one — a round trip less each on the path from a freed slot to the next submit.
        Outside the send lane the send lane's committed gateway counts are written too."""
        sent: dict[tuple[int | None, str, str], float] = {}
        try:
            with contextlib.ExitStack() as tail, transaction.atomic():
                if prepare is not None and self.is_postgres:
                    prepare()
                    tail.enter_context(_pipelined())
                out = fn()
                if prepare is None or not self.is_postgres:
                    tail.enter_context(_pipelined())  # exits after the COMMIT: see _pipelined
                if not self._in_send_lane:
                    sent = self._take_sent_gauges()
                self._write_deltas()
        except BaseException:
            self._discard_deltas()
            self._return_sent_gauges(sent)
            raise
        return out

    def housekeeping(self) -> tuple[set[tuple[int, int]], list[tuple[Connection, int]], set[int]]:
        """Heartbeat, reap dead engines, expire overdue messages, notice changed connections,
        take bind slots, reload routes; every ``SWEEP_SECONDS`` also the receipt sweeps.
        Returns (bind slots lost, bind slots taken, connections whose binds must be reopened)."""
        lost = self.heartbeat()
        self.reap_expired_leases()
        self.reap_own_dead()
        with self._counted():
            self.expire_overdue()
        mono = time.monotonic()
        if mono >= self._next_receipt_sweep:
            self._next_receipt_sweep = mono + self.sweep_seconds
            with self._counted():
                self.match_orphan_receipts()
                self.expire_unreported()
        changed = self.changed_connections()
        got = self.acquire_binds(skip=changed)
        self.load_routes()
        return lost, got, changed

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the results lane's database thread."""
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, _with_connection, fn, *args)

    async def send_db(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` on the send lane's database thread (the results lane's on SQLite)."""
        assert self._send_executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._send_executor, _with_connection, fn, *args)

    def _enter_send_lane(self) -> None:
        self._lane.outbox = Outbox()  # each send thread books its own transaction's counts
        self._lane.gdeltas = defaultdict(float)  # and its gateway counts (_hand_over_gauges)
        self._lane.send = True

    def stop(self) -> None:
        self._stopping = True
        if self._wake is not None:
            self._wake.set()

    def _on_late_for(self, conn_id: int) -> Callable[[int, Any], None]:
        def on_late(ref: int, result: Any) -> None:
            self._late.append(LateAnswer(conn_id, ref, result))
            if self._wake is not None:
                self._wake.set()
        return on_late

    def _on_receipt_for(self, conn_id: int) -> Callable[..., asyncio.Future[None]]:
        def on_receipt(smsc_id: str, stat: str, error: str, source: str = "", sender: str = "",
                       text: Callable[[], str] | None = None) -> asyncio.Future[None]:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._receipts.append(InReceipt(conn_id, smsc_id, stat, error, self.now(), fut, source, sender, text))
            if self._wake is not None:
                self._wake.set()
            return fut
        return on_receipt

    def _on_mo_for(self, conn_id: int) -> Callable[[Any], asyncio.Future[None]]:
        def on_mo(item: Any) -> asyncio.Future[None]:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._mos.append(InMo(conn_id, item, self.now(), fut))
            if self._wake is not None:
                self._wake.set()
            return fut
        return on_mo

    async def _open_binds(self, got: list[tuple[Connection, int]]) -> None:
        for conn, slot in got:
            try:
                spec = parse_url(conn.url)
                module = transport_for(spec.kind)
                bind = module.open_bind(spec, on_receipt=self._on_receipt_for(conn.pk), on_mo=self._on_mo_for(conn.pk))
                await bind.start()
            except (TransportError, ConnectionURLError, OSError) as exc:
                log.error("connection %s bind %d cannot start: %s", conn.name, slot, exc)
                await self.db(_release_bind, conn.pk, slot, self.engine_id, str(exc))
                continue
            bucket = TokenBucket(spec.tps, now=time.monotonic()) if spec.tps > 0 else None
            self.binds[(conn.pk, slot)] = BindSlot(conn.pk, conn.name, slot, spec.window, bind, bucket=bucket,
                                                   ceiling=spec.tps)
            self._conn_versions[conn.pk] = conn.url
            if hasattr(bind, "on_late_response"):
                bind.on_late_response = self._on_late_for(conn.pk)
            log.info("connection %s bind %d started (%s)", conn.name, slot, conn.safe_url)

    async def _rebalance(self) -> None:
        """When more engines run than when we took our binds, hand the extra ones back: stop
        dispatching to them, and once their window is empty, unbind and free the lease."""
        for conn_id, share in self._shares.items():
            mine = sorted(k for k in self.binds if k[0] == conn_id)
            for key in mine[share:]:
                self.binds[key].draining = True
        reopen = False
        for key, bs in list(self.binds.items()):
            if (bs.draining or bs.retiring) and bs.inflight == 0:
                self.binds.pop(key)
                await bs.bind.close()
                await self.db(_release_bind, key[0], key[1], self.engine_id, "")
                log.info("connection %s bind %d handed back (%s)", bs.conn_name, bs.slot,
                         "connection changed" if bs.retiring else "fair share")
                reopen = reopen or bs.retiring
        if reopen or any(bs.retiring for bs in self.binds.values()):
            # A changed connection: open it again as it is now without waiting a whole heartbeat.
            self._next_housekeeping = min(self._next_housekeeping, time.monotonic() + 0.5)

    async def _close_binds(self, keys: Iterable[tuple[int, int]]) -> None:
        for key in list(keys):
            bs = self.binds.pop(key, None)
            if bs is not None:
                bs.lost = True
                log.warning("connection %s bind %d: lease lost, closing", bs.conn_name, bs.slot)
                await bs.bind.close()

    def _plan(self) -> tuple[dict[int, list[Item]], list[tuple[Item, BindSlot]], list[Item]]:
        """Assign buffered items to binds with free window slots. Returns (plan by connection,
        assignments, unroutable items). Items a paced connection cannot take for more than
        ``PACED_HOLD`` seconds go to ``self._overflow`` (released by ``step``): a connection the
        SMSC slowed down must not fill the buffer and starve the others (head-of-line blocking)."""
        by_conn: dict[int, list[BindSlot]] = defaultdict(list)
        for bs in self.binds.values():
            if bs.bind.bound and not bs.lost:
                by_conn[bs.conn_id].append(bs)
        plan: dict[int, list[Item]] = defaultdict(list)
        assigned: list[tuple[Item, BindSlot]] = []
        unroutable: list[Item] = []
        keep: list[Item] = []
        mono = time.monotonic()
        free_total = sum(bs.free for slots in by_conn.values() for bs in slots)
        paced: dict[int, list[Item]] = defaultdict(list)  # waiting for a token, by connection
        for item in self.buffer:
            if free_total <= 0:
                keep.append(item)
                continue
            cands = [c for c in self.router.candidates(item.sender, item.to, item.operator) if c in by_conn]
            if not cands:
                unroutable.append(item)
                continue
            slots = by_conn[cands[0]]  # the best connection that is up; busy ≠ down, so wait for it
            best = max(slots, key=lambda b: b.free)
            if not best.take(item.parts, mono):
                if best.bucket is not None and best.free >= item.parts:
                    paced[best.conn_id].append(item)
                else:
                    keep.append(item)
                continue
            free_total -= item.parts
            plan[best.conn_id].append(item)
            assigned.append((item, best))
        for conn_id, items in paced.items():
            slots = by_conn[conn_id]
            rate = sum(bs.bucket.rate for bs in slots if bs.bucket is not None) or 1.0
            hold = int(rate * PACED_HOLD) + sum(bs.window for bs in slots)
            keep.extend(items[:hold])
            if len(items) > hold:
                self._overflow.append((items[hold:], (len(items) - hold) / rate))
        if paced:
            keep.sort(key=lambda i: (-self._blasts[i.blast_id].priority if i.blast_id in self._blasts else 0, i.id))
        self.buffer = keep
        return plan, assigned, unroutable

    def _wants(self, up: list[BindSlot], conns: set[int],
               plan: dict[int, list[Item]]) -> list[tuple[int, set[str] | None, set[str] | None, set[str]]]:
        """The claim per connection: each connection's demand (two windows of its binds, less
        what the buffer and this turn's plan already hold for it — the rows whose best route
        it is), with the senders and operators its routes allow. A fast connection is then fed
        at its own pace instead of getting its operator's share of a claim in id order, and an
        audience queued operator after operator does not starve the connections whose rows
        come last."""
        windows: dict[int, int] = defaultdict(int)
        for bs in up:
            windows[bs.conn_id] += bs.window
        held: dict[int, int] = defaultdict(int)
        for item in self.buffer:
            cands = [c for c in self.router.candidates(item.sender, item.to, item.operator) if c in conns]
            if cands:
                held[cands[0]] += 1
        for conn_id, items in plan.items():
            held[conn_id] += len(items)
        wants: list[tuple[int, set[str] | None, set[str] | None, set[str]]] = []
        for conn_id in sorted(conns):
            need = max(2 * windows[conn_id], 50) - held[conn_id]
            if need > 0:
                ops = self.router.operators(conn_id)
                nots = self.router.left_to_others(conn_id, conns) if ops is None else set()
                wants.append((need, self.router.senders({conn_id}), ops, nots))
        return wants

    def _start_send(self, item: Item, bs: BindSlot, loop: asyncio.AbstractEventLoop) -> None:
        """Put a marked message on the wire: at once through the bind when it can
        (``SubmitsWithoutTask``: a text it has sent before, a free window slot), else in a task
        (``_send``, which also turns a validity that ran out into ``expired``)."""
        nowait = getattr(bs.bind, "submit_nowait", None)  # SubmitsWithoutTask (transports.base)
        if nowait is not None and (item.valid_until is None or self.now() < item.valid_until):
            if nowait(item.sender, item.to, item.text, functools.partial(self._sent, item, bs),
                      valid_until=item.valid_until):
                self._in_air += 1
                self.stats["sent_without_task"] += 1
                return
        task = loop.create_task(self._send(item, bs))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _sent(self, item: Item, bs: BindSlot, results: Sequence[Any]) -> None:
        self._in_air -= 1
        bs.inflight -= item.parts
        self._settle(item, bs, results)

    async def _send(self, item: Item, bs: BindSlot) -> None:
        try:
            if item.valid_until is not None and self.now() >= item.valid_until:
                results: Sequence[Any] = [_ErrorResult("masa berlaku habis sebelum terkirim", True, expired=True)]
            else:
                results = await bs.bind.submit(item.sender, item.to, item.text, valid_until=item.valid_until)
        except TransportError as exc:
            results = [_ErrorResult(str(exc), exc.permanent, exc.status)]
        finally:
            bs.inflight -= item.parts
        self._settle(item, bs, results)

    def _settle(self, item: Item, bs: BindSlot, results: Sequence[Any]) -> None:
        """A sent message's results: the bind's pace learns from them, the send lane writes them."""
        mono = time.monotonic()
        for r in results:
            if r.ok:
                bs.accepted(mono)
            elif r.command_status in THROTTLE_STATUSES:
                bs.throttled(mono)
        self._outcomes.append(Outcome(item, bs.conn_id, results))
        if self._wake is not None:
            self._wake.set()

    def _dispatch_direct(self, conn_id: int, items: list[Item]) -> tuple[list[Item], list[Item]]:
        """Send messages claimed straight into ``sending`` on ``conn_id``'s binds; returns those
        that cannot go (no route there, no free slot) for ``unmark``."""
        # Usable binds, checked once: ``BindSlot.free`` asks the client whether it is bound on
        # every call, which showed in profiles at one call per message. No TPS bucket here
        # (step() claims this way only without one), so a slot is just window - inflight.
        slots = [bs for bs in self.binds.values()
                 if bs.conn_id == conn_id and bs.bind.bound and not bs.lost and not bs.draining
                 and not bs.retiring]
        unroutable: list[Item] = []
        no_slot: list[Item] = []
        loop = asyncio.get_running_loop()
        for item in items:
            if conn_id not in self.router.candidates(item.sender, item.to, item.operator):
                unroutable.append(item)
                continue
            best = max(slots, key=lambda b: b.window - b.inflight) if slots else None
            if best is None or best.window - best.inflight < item.parts:
                no_slot.append(item)
                continue
            best.inflight += item.parts
            self._start_send(item, best, loop)
        return unroutable, no_slot

    async def step(self) -> bool:
        """One loop turn. Returns True when it did something (so the loop does not sleep).

        Two lanes, each with its own database connection and thread (PostgreSQL), so a window
        slot freed by a response is refilled without waiting behind the receipts' writes::

            send lane (a task; ``send_lanes`` at once, default one):
                submit results, sending marks of the plan, claims  →  COMMIT  →  submit_sm
            results lane (a task, one at a time):
                receipts, late answers, MOs, pending receipts  →  COMMIT  →  deliver_sm_resp

        A message is sent only after its ``sending`` mark is committed, and its result is
        written only after it was sent, so each row's transitions stay in order; a receipt that
        comes before its part is committed is stored and matched later. On SQLite (one writer)
        both lanes share one connection and thread."""
        mono = time.monotonic()
        if mono >= self._next_housekeeping:
            self._next_housekeeping = mono + self.heartbeat_seconds
            try:
                await self._housekeeping(mono)
            except LeaseLost:
                raise
            except Exception:
                # The database went away (a restart, a failover, a session ended by the server):
                # the engine goes on and tries again in a second. Nothing is sent meanwhile that
                # a committed mark does not cover; a lease that expired in between is noticed by
                # the next heartbeat that gets through (LeaseLost: the engine stops).
                log.exception("engine housekeeping failed; retrying in 1 s")
                self._next_housekeeping = mono + 1.0
                with contextlib.suppress(Exception):
                    await self.db(_close_db)
        did = self._start_results(mono)
        return await self._send_turn(mono) or did

    async def _housekeeping(self, mono: float) -> None:
        """Heartbeat and leases, binds lost, taken and changed, counter squashing."""
        lost, got, changed = await self.db(self.housekeeping)
        await self._close_binds(lost)
        for bs in self.binds.values():
            if bs.conn_id in changed and not bs.retiring:
                bs.retiring = True
                log.info("connection %s changed, disabled or deleted: bind %d closes after its window",
                         bs.conn_name, bs.slot)
        await self._open_binds(got)
        await self._rebalance()
        # Other processes store pending receipts too; look again every housekeeping turn.
        self._pending_hint = True
        if mono >= self._next_squash:
            self._next_squash = mono + 30
            await self.db(_squash)

    def _start_results(self, mono: float) -> bool:
        """Hand what the binds answered to the results lane, unless its previous transaction is
        still running (then it goes in the next one: batches grow with the load)."""
        if self._results_task is not None or (mono < self._next_results and not self._stopping):
            return False
        match = self._pending_hint and mono >= self._next_pending_match
        if match:
            self._next_pending_match = mono + 0.5
        if not (self._receipts or self._mos or self._late or match):
            return False
        receipts, self._receipts = self._receipts, []
        mos, self._mos = self._mos, []
        late, self._late = self._late, []
        self._next_results = mono + RESULTS_INTERVAL
        task = asyncio.get_running_loop().create_task(self._flush_results(receipts, mos, late, match))
        self._results_task = task
        return True

    async def _flush_results(self, receipts: list[InReceipt], mos: list[InMo], late: list[LateAnswer],
                             match: bool) -> None:
        try:
            t_flush = time.perf_counter()
            await self.db(self.flush_results, receipts, mos, late, match)
            self.stats["flushes"] += 1
            self.stats["flush_ms"] += int((time.perf_counter() - t_flush) * 1000)
        except Exception:
            # Rolled back: keep the late answers for the next try; receipts and MOs are answered
            # "temporary error" by the client and come again. Pause (the database may be restarting).
            self._late[:0] = late
            _settle_acks(receipts, mos, TransportError("database write failed", permanent=False))
            log.exception("engine results flush failed; retrying in 1 s")
            await self.db(_close_db)
            await asyncio.sleep(1.0)
        else:
            _settle_acks(receipts, mos, None)
        finally:
            self._results_task = None
            if self._wake is not None:
                self._wake.set()

    async def _send_turn(self, mono: float) -> bool:
        """The send lane: plan the buffer onto free window slots, then (in a task, up to
        ``send_lanes`` at once) write the submit results, mark and claim, commit, send."""
        if self._send_busy >= self.send_lanes:
            return False  # every send connection is busy: the slots wait for the next one
        if self._unsent or self._unread:
            items, self._unsent = self._unsent, []
            unread, self._unread = self._unread, []
            await self._give_back(items, 0.0, unread)
            return True
        plan, assigned, unroutable = self._plan() if not self._stopping else ({}, [], [])
        free = sum(bs.free for bs in self.binds.values())
        claim = 0
        direct: tuple[int, int] | None = None
        reserved: list[tuple[BindSlot, int]] = []
        senders: set[str] | None = None
        wants: list[tuple[int, set[str] | None, set[str] | None, set[str]]] = []
        if not self._stopping and free > 0 and mono >= self._next_claim:
            up = [bs for bs in self.binds.values() if bs.bind.bound and not bs.lost]
            conns = {bs.conn_id for bs in up}
            senders = self.router.senders(conns)
            if len(conns) > 1 and any(self.router.operators(c) is not None for c in conns):
                if not self._claim_busy:
                    wants = self._wants(up, conns, plan)
            elif not self.buffer and len(conns) == 1 and all(bs.bucket is None for bs in up):
                # Nothing buffered, one connection up, no TPS pacing: claim straight into
                # ``sending``, as many as the window slots free right now (claim_batch's
                # mark_conn) — one row update per message less than claim, then mark. The
                # slots are reserved until the claim returns, so a concurrent claim does not
                # count them again.
                direct = (next(iter(conns)), free)
                for bs in up:
                    if bs.free > 0:
                        reserved.append((bs, bs.free))
                        bs.inflight += bs.free
            elif not self._claim_busy:
                want = max(2 * sum(bs.window for bs in up), 100)
                claim = max(0, want - len(self.buffer) - sum(len(v) for v in plan.values()))
        if not (plan or claim or direct or wants or unroutable or self._overflow or self._outcomes):
            return False  # (``direct`` is set whenever slots were reserved)
        if unroutable:
            await self.send_db(self.release, unroutable, 2.0)
        while self._overflow:
            items, delay = self._overflow.pop()
            # Back to the queue, due when the paced connection could reach them: others' work
            # is claimed meanwhile. Not an attempt; nothing was sent.
            await self.send_db(self.release, items, delay)
            self.stats["released_paced"] += len(items)
        outcomes, self._outcomes = self._outcomes, []
        if not (plan or claim or direct or wants or outcomes):
            return True
        self._send_busy += 1
        claiming = bool(claim or wants)
        self._claim_busy = self._claim_busy or claiming
        task = asyncio.get_running_loop().create_task(
            self._flush_send(outcomes, plan, assigned, claim, senders, direct, wants, reserved, claiming, mono))
        self._send_flushes.add(task)
        task.add_done_callback(self._send_flushes.discard)
        return True

    async def _flush_send(self, outcomes: list[Outcome], plan: dict[int, list[Item]],
                          assigned: list[tuple[Item, BindSlot]], claim: int, senders: set[str] | None,
                          direct: tuple[int, int] | None,
                          wants: list[tuple[int, set[str] | None, set[str] | None, set[str]]],
                          reserved: list[tuple[BindSlot, int]], claiming: bool, mono: float) -> None:
        try:
            await self._flush_send_and_dispatch(outcomes, plan, assigned, claim, senders, direct, wants, reserved,
                                                mono)
        finally:
            self._send_busy -= 1
            if claiming:
                self._claim_busy = False
            if self._wake is not None:
                self._wake.set()

    async def _flush_send_and_dispatch(self, outcomes: list[Outcome], plan: dict[int, list[Item]],
                                       assigned: list[tuple[Item, BindSlot]], claim: int, senders: set[str] | None,
                                       direct: tuple[int, int] | None,
                                       wants: list[tuple[int, set[str] | None, set[str] | None, set[str]]],
                                       reserved: list[tuple[BindSlot, int]], mono: float) -> None:
        marks: list[tuple[int, datetime]] = []
        try:
            t_flush = time.perf_counter()
            res = await self.send_db(self.flush_send, outcomes, plan, claim, senders, direct, wants, marks)
            self.stats["send_flushes"] += 1
            self.stats["send_flush_ms"] += int((time.perf_counter() - t_flush) * 1000)
        except Exception:
            # The transaction rolled back — or committed and its answer was lost (the connection
            # broke at the COMMIT): either way nothing may be sent. The results wait for the
            # next try (writing them again changes nothing); the rows the marks may have written
            # go back to the queue by their name (``unmark_claim``, nothing when it rolled back),
            # first thing next send turn. Give the claimed slots back and keep going after a
            # pause (the database may be restarting).
            self._outcomes[:0] = outcomes
            self._unread.extend(marks)
            for bs, n in reserved:
                bs.inflight -= n
            for item, bs in assigned:
                bs.inflight -= item.parts
                self.buffer.append(item)
            log.exception("engine send flush failed; retrying in 1 s")
            await self.send_db(_close_db)
            await asyncio.sleep(1.0)
            return
        for bs, n in reserved:
            bs.inflight -= n
        loop = asyncio.get_running_loop()
        for item, bs in assigned:
            if item.id in res.marked:
                self._start_send(item, bs, loop)
            else:
                bs.inflight -= item.parts
        if direct is not None:
            unroutable: list[Item] = []
            no_slot: list[Item] = []
            if res.direct:
                self.stats["claimed"] += len(res.direct)
                unroutable, no_slot = self._dispatch_direct(direct[0], res.direct)
            elif not (res.unsent or res.unread):
                self._next_claim = mono + self.idle_poll  # queue empty: poll, do not spin
            # Marked but not sent (rare: a route by operator or prefix, a multipart text needing
            # more slots than left, opted-out numbers not suppressed): back to the queue at once.
            if unroutable:
                await self._give_back(unroutable, 2.0)
            if no_slot or res.unsent or res.unread:
                await self._give_back(no_slot + res.unsent, 0.0, [res.unread] if res.unread else [])
        if claim or wants:
            if res.claimed:
                self.buffer.extend(res.claimed)
                if self._blasts[res.claimed[0].blast_id].priority:
                    # An emergency blast overtakes what is already buffered, not only the queue.
                    self.buffer.sort(key=lambda i: -self._blasts[i.blast_id].priority)
                self.stats["claimed"] += len(res.claimed)
            else:
                self._next_claim = mono + self.idle_poll  # queue empty: poll, do not spin

    async def _give_back(self, items: list[Item], delay: float, unread: Sequence[tuple[int, datetime]] = ()) -> None:
        """``unmark`` messages marked ``sending`` that did not leave, and the rows of claims
        never read (``unread``: ``unmark_claim``); when the database fails, keep them for the
        next send turn (``_unsent``, ``_unread``) after a pause."""
        try:
            await self.send_db(self.unmark, items, delay)
        except Exception:
            log.exception("engine: giving %d unsent messages back to the queue failed; retrying in 1 s", len(items))
            self._unsent.extend(items)
            self._unread.extend(unread)
            await asyncio.sleep(1.0)
            return
        for n, mark in enumerate(unread):
            try:
                self.stats["unread_given_back"] += await self.send_db(self.unmark_claim, mark, delay)
            except Exception:
                log.exception("engine: giving a claim's unread rows back to the queue failed; retrying in 1 s")
                self._unread.extend(unread[n:])
                await asyncio.sleep(1.0)
                return

    async def run(self, *, install_signals: bool = True) -> None:
        self._wake = asyncio.Event()
        # The database threads spend their time waiting for PostgreSQL; when an answer arrives
        # the thread needs the GIL back from the event loop, which keeps it up to the switch
        # interval (5 ms by default) while it decodes PDUs — per statement. 0.5 ms cuts that wait.
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL))
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="warta-db")
        if self.is_postgres:
            self._send_executor = ThreadPoolExecutor(self.send_lanes, thread_name_prefix="warta-db-send",
                                                     initializer=self._enter_send_lane)
        else:
            self._send_executor = self._executor  # SQLite has one writer: one connection
        loop = asyncio.get_running_loop()
        if install_signals:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(sig, self.stop)
        await self.db(self.register)
        log.info("engine %s started (%s)", self.engine_id, connection.vendor)
        try:
            while not self._stopping:
                if not await self.step():
                    self._wake.clear()
                    timeout = self.idle_poll
                    if (self._receipts or self._mos or self._late) and self._results_task is None:
                        # Held back by RESULTS_INTERVAL: wake when it is over, not at the next poll.
                        timeout = min(timeout, max(0.001, self._next_results - time.monotonic()))
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=timeout)
                    except TimeoutError:
                        pass
        except LeaseLost:
            log.error("engine %s lost its lease (stalled too long); stopping so nothing is sent twice",
                      self.engine_id)
            self._stopping = True
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        if self._send_flushes:
            await asyncio.wait(list(self._send_flushes))  # they start sends: wait for them first
        deadline = time.monotonic() + self.drain_timeout
        while (self._tasks or self._in_air) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        if self._results_task is not None:
            await asyncio.wait([self._results_task])
        # Final flush of what the drain produced (responses, receipts), then give everything back.
        try:
            outcomes, self._outcomes = self._outcomes, []
            receipts, self._receipts = self._receipts, []
            mos, self._mos = self._mos, []
            late, self._late = self._late, []
            await self.db(self.flush, outcomes, receipts, mos, {}, 0, None, None, late)
            _settle_acks(receipts, mos, None)
            if self._unsent:
                await self.db(self.unmark, self._unsent, 0.0)
                self._unsent.clear()
            while self._unread:
                await self.db(self.unmark_claim, self._unread[0], 0.0)
                self._unread.pop(0)
            self.buffer.clear()
            await self.db(self.release_all)
        finally:
            for bs in list(self.binds.values()):
                await bs.bind.close()
            self.binds.clear()
            if self._send_executor is not None and self._send_executor is not self._executor:
                _close_each(self._send_executor, self.send_lanes)
            if self._executor is not None:
                _close_each(self._executor, 1)
            log.info("engine %s stopped: %s", self.engine_id, dict(self.stats))


def _settle_acks(receipts: Sequence[InReceipt], mos: Sequence[InMo], error: BaseException | None) -> None:
    """Answer the SMSC's deliver_sm of receipts and MOs: once committed, or with a temporary
    error (the SMSC delivers them again) when the transaction rolled back."""
    for ack in [rc.ack for rc in receipts] + [mo.ack for mo in mos]:
        if ack is not None and not ack.done():
            if error is None:
                ack.set_result(None)
            else:
                ack.set_exception(error)


def _squash() -> None:
    OutboxCount.squash()
    GatewayCount.squash()


@contextlib.contextmanager
def _pipelined() -> Iterator[None]:
    """PostgreSQL: the end of a flush (the counter rows, then the COMMIT) in psycopg's pipeline
    mode. Those INSERTs return nothing, so they are only queued and travel with the COMMIT, which
    syncs the pipeline once: one round trip instead of three. Entered inside the flush's
    transaction and left after its COMMIT (an ExitStack entered before the atomic block). Only
    the tail: in pipeline mode a cursor has no ``description`` until its result is fetched, which
    the ORM's raw queries (the inbox's MO hook) rely on. An error surfaces at the sync, before the
    COMMIT takes effect, and the transaction rolls back whole as before."""
    if connection.vendor != "postgresql" or connection.connection is None:
        yield
        return
    with connection.connection.pipeline():
        yield


def _close_db() -> None:
    connection.close()


def _close_each(executor: ThreadPoolExecutor, threads: int) -> None:
    """Close the database connection of each of an executor's threads, then shut it down. A
    barrier makes each thread take exactly one of the closing jobs (a thread that never started
    has no connection and runs one anyway)."""
    barrier = threading.Barrier(threads)

    def close() -> None:
        connection.close()
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=5)

    for f in [executor.submit(close) for _ in range(threads)]:
        f.result()
    executor.shutdown(wait=True)


def _with_connection(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)
