"""The delivery engine: claims messages from the outbox, sends them, and accounts for every one.

Theory of operation
-------------------
The outbox table is the queue (DESIGN.md). An engine is one asyncio process with one database
thread; every database step is a plain method (``claim_batch``, ``mark_sending``,
``apply_responses``, ``apply_receipts``, ``match_pending_receipts``, ``reap_expired_leases``, …)
that a test can call alone, and ``flush`` runs the steps of one loop turn in ONE transaction.

* **Leases.** The engine holds an ``EngineLease`` row renewed every ``heartbeat`` seconds. Rows it
  claimed carry its ``engine_id``. Another engine that finds the lease expired reaps it: claimed
  rows go back to the queue; rows in ``sending`` (their PDU may have left) become ``unknown`` — or
  are queued again when the blast's ``resend_unknown`` says so. Binds are leased too
  (``BindLease``, one row per slot), so N engines never open more binds than a connection allows.
* **Claim.** Active blasts, emergency first, then oldest; per blast one statement: PostgreSQL
  ``UPDATE … WHERE id IN (SELECT … FOR UPDATE SKIP LOCKED)``, SQLite the same conditional UPDATE
  without the lock clause (one engine; SQLite serialises writers). ``RETURNING`` gives the rows;
  numbers opted out meanwhile are ``suppressed`` on the spot.
* **At most one window in doubt.** A claimed row stays ``queued`` (with our engine_id) in an
  in-memory buffer. Only when a bind has a free window slot is it marked ``sending`` — in a
  conditional UPDATE that also re-checks the blast is still active and the message still valid,
  which is how pause, cancel and validity reach every engine within one loop — and only after that
  commit does its PDU leave. So a ``kill -9`` leaves at most ``window`` rows per bind in ``sending``.
  When the buffer is empty, one connection is up and it has no TPS limit (the common case), the
  claim *is* the mark: one UPDATE claims as many rows as window slots are free straight into
  ``sending`` (same re-checks), saving one of a message's four row updates; a row that then
  finds no slot or route after all is ``unmark``-ed back to the queue before anything is sent.
* **Batched writes.** Responses, receipts, citizens' messages, the next ``sending`` marks and the
  next claim of one loop turn are one transaction of a few set-based statements (``UPDATE … WHERE
  id IN (…)`` grouped by outcome, ``bulk_create`` for parts), never a round-trip per message.
  Receipts and MOs are acknowledged to the SMSC only after that commit.
* **Receipts before responses.** Responses are applied before receipts in the same flush; a
  receipt whose part is not saved yet (another engine's bind, or its response still in flight) is
  stored in ``Receipt`` and matched by ``match_pending_receipts``.
* **Errors.** Each part's outcome carries ``permanent`` (``SubmitResult``): permanent → ``failed``
  with the SMPP status (its meaning in Indonesian and English comes from
  ``warta.smpp.constants.describe_status``); transient (throttled, queue full, no bind) → queued
  again with back-off; no response (time-out, link lost after the write) → like ``unknown``: resent
  when the blast allows, else ``unknown``.
* **Counts** are written as deltas (``OutboxCount``, ``GatewayCount``) in the same transaction as
  the change they count.

Signals: SIGTERM/SIGINT stop claiming, let the window drain (``drain_timeout``), release claimed
rows and leases, unbind.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import signal
import socket
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from django.db import connection, transaction
from django.utils import timezone

from warta.blasts.models import Blast, MessagePart, OutboundMessage, OutboxCount, Receipt, SenderID
from warta.blasts.outbox import RECEIPT_STATES, suppressed_numbers

from .models import BindLease, Connection, EngineLease, GatewayCount, InboundMessage, Route
from .smppclient import TokenBucket
from .transports import ConnectionURLError, TransportError, parse_url, transport_for

log = logging.getLogger("warta.gateway.engine")

S = OutboundMessage.State
M = OutboundMessage._meta.db_table
B = Blast._meta.db_table
P = MessagePart._meta.db_table
R = Receipt._meta.db_table

SWEEP_SECONDS = 30.0  # how often orphan receipts are matched and unreported messages expired
MAX_ATTEMPTS = 10  # transient failures before a message without validity is given up
THROTTLE_STATUSES = frozenset({0x58, 0x14})  # ESME_RTHROTTLED, ESME_RMSGQFUL: "slower", not "failed"
THROTTLE_REQUEUE = 0.05  # seconds a throttled message waits; the bind's pace does the rest
ORPHAN_RECEIPT_AFTER = timedelta(hours=1)  # an unmatched receipt is given up (and counted) after
NO_REPORT = "tidak ada laporan"  # the error of a message expired without a receipt
IN_CHUNK = 500  # ids per IN (…) list
T = TypeVar("T")


# ------------------------------------------------------------------------------------ data


@dataclass(slots=True)
class Item:
    """A claimed message, in memory until it is sent."""

    id: int
    blast_id: int
    to: str
    operator: str
    text: str
    sender: str
    attempts: int
    resend_unknown: bool
    parts: int = 1
    claimed_at: float = 0.0
    valid_until: datetime | None = None


@dataclass(slots=True)
class Outcome:
    """What the transport said about one message (one result per part)."""

    item: Item
    conn_id: int
    results: Sequence[Any]  # SubmitResult-like: ok, message_id, command_status, permanent, …


@dataclass(slots=True)
class InReceipt:
    conn_id: int
    smsc_id: str
    stat: str
    error: str
    at: datetime
    ack: asyncio.Future[None] | None = None
    source: str = ""  # the handset (receipt's source_addr), for matching when the id is unknown
    sender: str = ""  # our sender (receipt's destination_addr)


@dataclass(slots=True)
class LateAnswer:
    """A submit_sm_resp that came after its submit timed out (the message went ``unknown``)."""

    conn_id: int
    ref: int
    result: Any  # SubmitResult


@dataclass(slots=True)
class InMo:
    conn_id: int
    item: Any  # MobileOriginated
    at: datetime
    ack: asyncio.Future[None] | None = None


@dataclass(slots=True)
class BindSlot:
    """One bind this engine holds (a leased slot of a connection)."""

    conn_id: int
    conn_name: str
    slot: int
    window: int
    bind: Any  # the transport's bind object
    inflight: int = 0
    lost: bool = False
    bucket: Any = None  # TokenBucket when the connection has a TPS limit

    draining: bool = False  # more binds than our fair share: finish the window, then let go
    retiring: bool = False  # its connection was changed or disabled: drain, then close
    ceiling: float = 0.0  # the configured tps (0: none); the adaptive rate never exceeds it
    _accepts: deque[float] = field(default_factory=deque)  # accept times within the last second
    _last_cut: float = 0.0
    _last_raise: float = 0.0

    def throttled(self, now: float) -> None:
        """The SMSC said "too fast": cut this bind's rate (the multiplicative half of AIMD).

        The first throttle starts pacing at what the SMSC accepted in the last second; later
        ones (at most one cut per 0.2 s, so one burst of throttles is one signal) take 30% off.
        """
        if now - self._last_cut < 0.2:
            return
        self._last_cut = self._last_raise = now
        acc = self._accepts
        while acc and acc[0] < now - 1.0:
            acc.popleft()
        # What the SMSC took in the last second. Not scaled up when the bind is younger: an
        # SMSC's burst allowance at the start would read as a rate it does not keep.
        measured = float(len(acc))
        if self.bucket is None:
            rate = max(1.0, measured * 0.9)
        else:
            rate = max(1.0, min(self.bucket.rate * 0.7, measured * 0.9) if measured else self.bucket.rate * 0.7)
        if self.ceiling:
            rate = min(rate, self.ceiling)
        self.bucket = TokenBucket(rate, now=now)
        log.info("connection %s bind %d throttled by the SMSC: pacing at %.0f/s", self.conn_name, self.slot, rate)

    def accepted(self, now: float) -> None:
        """An accepted submit: every second without a throttle, raise the rate by 10% (+1/s):
        the additive half, which finds the SMSC's limit again when it is raised."""
        acc = self._accepts
        acc.append(now)
        if len(acc) > 20000:
            acc.popleft()
        bucket = self.bucket
        if bucket is not None and not self.ceiling and now - self._last_cut > 60.0:
            self.bucket = None  # a minute without a throttle: unpaced again (AIMD starts over if needed)
            return
        if bucket is not None and now - self._last_raise >= 1.0:
            self._last_raise = now
            rate = bucket.rate * 1.1 + 1.0
            bucket.rate = min(rate, self.ceiling) if self.ceiling else rate
            bucket.burst = max(1.0, bucket.rate / 10)

    @property
    def free(self) -> int:
        return (self.window - self.inflight
                if self.bind.bound and not self.lost and not self.draining and not self.retiring else 0)

    def take(self, parts: int, now: float) -> bool:
        """A window slot and (with a TPS limit) a token for each part, now or not at all.

        Pacing here, before the ``sending`` mark, keeps messages from waiting in the client's
        TPS queue while marked ``sending`` — where their validity could run out.
        """
        if self.free < parts:
            return False
        if self.bucket is not None:
            for _ in range(parts):
                if not self.bucket.try_take(now):
                    return False
        self.inflight += parts
        return True


@dataclass
class FlushResult:
    marked: set[int] = field(default_factory=set)
    claimed: list[Item] = field(default_factory=list)
    dropped: set[int] = field(default_factory=set)
    direct: list[Item] = field(default_factory=list)  # claimed straight into ``sending``


@dataclass(frozen=True, slots=True)
class RouteRow:
    conn_id: int
    sender: str | None
    operator: str
    prefix: str


class Router:
    """Which connections may carry a message, best first. Pure: built from route rows."""

    def __init__(self, rows: Iterable[RouteRow]) -> None:
        self.rows = list(rows)  # already ordered by (connection priority, route priority)
        self._cache: dict[tuple[str, str, str], list[int]] = {}
        self._uses_prefix = any(r.prefix for r in self.rows)

    def candidates(self, sender: str, to: str, operator: str) -> list[int]:
        key = (sender, operator, to if self._uses_prefix else "")
        hit = self._cache.get(key)
        if hit is not None:
            return hit
        out: list[int] = []
        for r in self.rows:
            if r.sender is not None and r.sender != sender:
                continue
            if r.operator and r.operator != operator:
                continue
            if r.prefix and not to.startswith(r.prefix):
                continue
            if r.conn_id not in out:
                out.append(r.conn_id)
        if len(self._cache) < 10000:
            self._cache[key] = out
        return out

    def senders(self, conn_ids: set[int]) -> set[str] | None:
        """Sender IDs the given connections may carry; None means any."""
        names: set[str] = set()
        for r in self.rows:
            if r.conn_id in conn_ids:
                if r.sender is None:
                    return None
                names.add(r.sender)
        return names


def backoff_delay(attempts: int, retry_after: float | None) -> float:
    if retry_after:
        return retry_after
    return min(60.0, 0.5 * 2 ** max(0, attempts - 1))


def _chunks(seq: Sequence[T], n: int = IN_CHUNK) -> Iterable[Sequence[T]]:
    for i in range(0, len(seq), n):
        yield seq[i : i + n]


def _in(n: int) -> str:
    return ",".join(["%s"] * n)


class LeaseLost(Exception):
    """Our engine lease was reaped by another engine (we stalled longer than the lease): stop."""

    permanent = True


# ------------------------------------------------------------------------------------ engine


class Engine:
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
        clock: Callable[[], datetime] = timezone.now,
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
        self._next_sweep = 0.0
        self._deltas: dict[tuple[int, str], int] = defaultdict(int)
        self._gdeltas: dict[tuple[int | None, str, str], float] = defaultdict(float)
        self._blasts: dict[int, Blast] = {}
        self._parts_cache: dict[str, int] = {}
        self._shares: dict[int, int] = {}  # connection id → binds this engine may hold
        self._stopping = False
        self._wake: asyncio.Event | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._next_housekeeping = 0.0
        self._next_claim = 0.0
        self._next_pending_match = 0.0
        self._next_squash = 0.0
        # True at start: receipts stored by an earlier run, or by another process (Kannel's dlr-url
        # callbacks), are waiting for their parts; housekeeping sets it again periodically.
        self._pending_hint = True
        self.stats: dict[str, int] = defaultdict(int)

    def __repr__(self) -> str:
        return f"<Engine {self.engine_id} binds={len(self.binds)} buffered={len(self.buffer)}>"

    # ---------------------------------------------------------------- leases (DB steps)

    def register(self) -> None:
        """Take our lease. An earlier run of this engine — the same ``engine_id``, or a process
        on this host that no longer exists — is reaped at once: waiting for its lease to expire
        would only delay a restart after a crash."""
        now = self.now()
        self.reap_own_dead()
        EngineLease.objects.update_or_create(
            engine_id=self.engine_id,
            defaults={"hostname": self.hostname[:100], "pid": os.getpid(), "started_at": now,
                      "heartbeat_at": now, "expires_at": now + timedelta(seconds=self.lease_seconds)},
        )

    def reap_own_dead(self) -> int:
        """Reap earlier runs on this host: our own ``engine_id`` (a restart with a fixed
        identity), or a lease whose process is gone and which missed a heartbeat (a pid of
        another container with the same hostname still heartbeats, so it is left alone)."""
        now = self.now()
        quiet = now - timedelta(seconds=self.heartbeat_seconds)
        dead = [lease.engine_id for lease in EngineLease.objects.filter(hostname=self.hostname[:100])
                if (lease.engine_id == self.engine_id and lease.pid != os.getpid())
                or (lease.engine_id != self.engine_id and lease.heartbeat_at < quiet and not _pid_alive(lease.pid))]
        if dead:
            self.reap_expired_leases(only=dead)
        return len(dead)

    def heartbeat(self) -> set[tuple[int, int]]:
        """Renew our engine and bind leases; returns the bind slots we no longer hold."""
        now = self.now()
        expires = now + timedelta(seconds=self.lease_seconds)
        with transaction.atomic():
            if not EngineLease.objects.filter(engine_id=self.engine_id).update(heartbeat_at=now, expires_at=expires):
                raise LeaseLost(f"engine lease {self.engine_id} was reaped")
            held = set(BindLease.objects.filter(engine_id=self.engine_id).values_list("connection_id", "slot"))
            for (conn_id, slot), bs in self.binds.items():
                if (conn_id, slot) in held:
                    state = BindLease.State.BOUND if bs.bind.bound else BindLease.State.DOWN
                    BindLease.objects.filter(connection_id=conn_id, slot=slot, engine_id=self.engine_id).update(
                        expires_at=expires, state=state, inflight=bs.inflight,
                        last_error="" if bs.bind.bound else str(getattr(bs.bind, "last_error", ""))[:300])
        return set(self.binds) - held

    def reap_expired_leases(self, only: Sequence[str] | None = None) -> dict[str, int]:
        """Take over engines whose lease expired (or the dead runs named in ``only``): their
        claimed rows are queued again, their ``sending`` rows become ``unknown`` (or queued when
        the blast resends unknowns), counted in ``unknown_count`` either way."""
        now = self.now()
        totals = {"engines": 0, "released": 0, "unknown": 0, "requeued_unknown": 0}
        with transaction.atomic():
            if only is not None:
                dead = EngineLease.objects.filter(engine_id__in=list(only))
            else:
                dead = EngineLease.objects.filter(expires_at__lt=now).exclude(engine_id=self.engine_id)
            if self.is_postgres:
                dead = dead.select_for_update(skip_locked=True)
            for lease in list(dead):
                totals["engines"] += 1
                with connection.cursor() as cur:
                    _execute(cur,
                        f"UPDATE {M} SET state=%s, engine_id=NULL, next_attempt_at=%s, unknown_count=unknown_count+1 "
                        f"WHERE engine_id=%s AND state=%s AND blast_id IN (SELECT id FROM {B} WHERE resend_unknown) "
                        f"RETURNING blast_id", [S.QUEUED, now, lease.engine_id, S.SENDING])
                    for (blast_id,) in cur.fetchall():
                        self._deltas[(blast_id, S.SENDING)] -= 1
                        self._deltas[(blast_id, S.QUEUED)] += 1
                        totals["requeued_unknown"] += 1
                    _execute(cur,
                        f"UPDATE {M} SET state=%s, engine_id=NULL, unknown_count=unknown_count+1, "
                        f"error=%s WHERE engine_id=%s AND state=%s RETURNING blast_id",
                        [S.UNKNOWN, "mesin mati setelah PDU dikirim, sebelum jawaban tersimpan", lease.engine_id, S.SENDING])
                    for (blast_id,) in cur.fetchall():
                        self._deltas[(blast_id, S.SENDING)] -= 1
                        self._deltas[(blast_id, S.UNKNOWN)] += 1
                        totals["unknown"] += 1
                    _execute(cur, f"UPDATE {M} SET engine_id=NULL WHERE engine_id=%s AND state=%s",
                                [lease.engine_id, S.QUEUED])
                    totals["released"] += cur.rowcount
                BindLease.objects.filter(engine_id=lease.engine_id).update(
                    engine_id=None, expires_at=None, state=BindLease.State.FREE, inflight=0)
                dead_id = lease.engine_id  # delete() sets the primary key to None
                lease.delete()
                log.warning("reaped dead engine %s: %s", dead_id, totals)
            self._write_deltas()
        return totals

    def load_connections(self) -> list[Connection]:
        qs = Connection.objects.filter(is_active=True)
        if self.connection_names:
            qs = qs.filter(name__in=self.connection_names)
        return list(qs)

    def load_routes(self) -> None:
        rows = Route.objects.filter(connection__is_active=True).select_related("sender", "connection").order_by(
            "connection__priority", "priority", "id")
        self.router = Router(RouteRow(r.connection_id, r.sender.name if r.sender else None, r.operator, r.prefix)
                             for r in rows)

    def acquire_binds(self, skip: set[int] | frozenset[int] = frozenset()) -> list[tuple[Connection, int]]:
        """Lease free (or expired) bind slots up to this engine's fair share of each connection
        (not of those in ``skip``: their old binds are still closing)."""
        now = self.now()
        got: list[tuple[Connection, int]] = []
        live = max(1, EngineLease.objects.filter(expires_at__gte=now).count())
        for conn in self.load_connections():
            if conn.pk in skip:
                continue
            try:
                spec = parse_url(conn.url)
            except ConnectionURLError as exc:
                log.error("connection %s has an invalid URL: %s", conn.name, exc)
                continue
            for slot in range(spec.binds):
                BindLease.objects.get_or_create(connection=conn, slot=slot)
            share = math.ceil(spec.binds / live)
            self._shares[conn.pk] = share
            held = sum(1 for (c, _s) in self.binds if c == conn.pk)
            for slot in range(spec.binds):
                if held >= share:
                    break
                if (conn.pk, slot) in self.binds:
                    continue
                taken = BindLease.objects.filter(connection=conn, slot=slot).filter(
                    models_q_free(now)).update(engine_id=self.engine_id, state=BindLease.State.CONNECTING,
                                               expires_at=now + timedelta(seconds=self.lease_seconds), last_error="")
                if taken:
                    held += 1
                    got.append((conn, slot))
        return got

    def release_all(self) -> None:
        """On shutdown: give back claimed rows and bind leases, drop our engine lease."""
        with transaction.atomic():
            with connection.cursor() as cur:
                _execute(cur, f"UPDATE {M} SET engine_id=NULL WHERE engine_id=%s AND state=%s", [self.engine_id, S.QUEUED])
            BindLease.objects.filter(engine_id=self.engine_id).update(
                engine_id=None, expires_at=None, state=BindLease.State.FREE, inflight=0)
            # Rows still in ``sending`` (the drain timed out) stay ours; the lease expiring makes
            # another engine (or our successor) mark them unknown. Keep the lease row for that.
            if not OutboundMessage.objects.filter(engine_id=self.engine_id, state=S.SENDING).exists():
                EngineLease.objects.filter(engine_id=self.engine_id).delete()
            else:
                EngineLease.objects.filter(engine_id=self.engine_id).update(expires_at=self.now())

    # ---------------------------------------------------------------- queue (DB steps)

    def active_blasts(self) -> list[Blast]:
        blasts = list(Blast.objects.filter(state=Blast.State.ACTIVE).select_related("sender").order_by("-priority", "id"))
        self._blasts.update({b.pk: b for b in blasts})
        return blasts

    def claim_batch(self, limit: int, senders: set[str] | None = None, *, mark_conn: int | None = None) -> list[Item]:
        """Claim up to ``limit`` due messages, emergency blasts first. Opted-out numbers among
        them are ``suppressed`` at once and not returned.

        With ``mark_conn`` the claim is also the ``sending`` mark (for that connection), in the
        same UPDATE: ``limit`` is then free window slots (parts), and the caller must send or
        ``unmark`` every returned item right after the commit. That saves a whole row update (and
        its index writes) per message against claim-then-mark; ``step`` uses it when the buffer
        is empty, so the rows marked never exceed the free window slots.
        """
        if limit <= 0:
            return []
        now = self.now()
        items: list[Item] = []
        taken = 0  # rows, or window slots (parts) when marking
        if mark_conn is None:
            sets, head, tail, ret = "engine_id=%s", [self.engine_id], "", "attempts"
        else:
            # The blast state is re-checked in the UPDATE, as mark_sending does: pause and cancel
            # reach every engine within one loop turn. RETURNING attempts-1: the count before
            # this send, as a plain claim returns it.
            sets = "engine_id=%s, state=%s, sent_at=%s, connection_id=%s, attempts=attempts+1"
            head = [self.engine_id, S.SENDING, now, mark_conn]
            tail, ret = f" AND blast_id IN (SELECT id FROM {B} WHERE state=%s)", "attempts-1"
        for blast in self.active_blasts():
            if taken >= limit:
                break
            if senders is not None and blast.sender.name not in senders:
                continue
            blast_parts = self._parts_needed(blast.text)
            want = limit - taken if mark_conn is None else (limit - taken) // blast_parts
            if want <= 0:
                continue
            pick = (f'SELECT id FROM {M} WHERE blast_id=%s AND state=%s AND engine_id IS NULL '
                    f'AND next_attempt_at <= %s AND (valid_until IS NULL OR valid_until > %s) '
                    f'ORDER BY next_attempt_at, id LIMIT %s')
            params = [blast.pk, S.QUEUED, now, now, want]
            tail_params = [Blast.State.ACTIVE] if mark_conn is not None else []
            with connection.cursor() as cur:
                if self.is_postgres:
                    # A MATERIALIZED CTE: PostgreSQL may otherwise run a LIMIT … FOR UPDATE
                    # subquery of an UPDATE more than once and claim more rows than asked.
                    _execute(cur, f'WITH c AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED) '
                                  f'UPDATE {M} m SET {sets} FROM c WHERE m.id=c.id{tail} '
                                  f'RETURNING m.id, m."to", m.operator, m.text, m.{ret}',
                             [*params, *head, *tail_params])
                else:
                    # SQLite: one writer at a time, so the conditional UPDATE is the whole claim.
                    _execute(cur, f'UPDATE {M} SET {sets} WHERE id IN ({pick}) AND state=%s '
                                  f'AND engine_id IS NULL{tail} RETURNING id, "to", operator, text, {ret}',
                             [*head, *params, S.QUEUED, *tail_params])
                rows = cur.fetchall()
            mono = time.monotonic()
            for id_, to, operator, text, attempts in rows:
                item = Item(id_, blast.pk, to, operator, text or blast.text, blast.sender.name, attempts,
                            blast.resend_unknown, self._parts_needed(text) if text else blast_parts,
                            claimed_at=mono, valid_until=blast.valid_until)
                items.append(item)
                taken += 1 if mark_conn is None else item.parts
                if mark_conn is not None:
                    self._deltas[(blast.pk, S.QUEUED)] -= 1
                    self._deltas[(blast.pk, S.SENDING)] += 1
        if items:
            items = self._suppress(items, S.QUEUED if mark_conn is None else S.SENDING)
        items.sort(key=lambda i: (-self._blasts[i.blast_id].priority, i.id))
        return items

    def _parts_needed(self, text: str) -> int:
        """Window slots a text takes (its segment count), cached: a blast has one text."""
        n = self._parts_cache.get(text)
        if n is None:
            from warta.gateway.transports.smpp import SmppBind

            n = SmppBind.parts_needed(text)
            if len(self._parts_cache) > 1000:
                self._parts_cache.clear()
            self._parts_cache[text] = n
        return n

    def _suppress(self, items: list[Item], state: str = S.QUEUED) -> list[Item]:
        blocked = self.suppression([i.to for i in items])
        if not blocked:
            return items
        now = self.now()
        hit = [i for i in items if i.to in blocked]
        done = self._update_returning(
            f"UPDATE {M} SET state=%s, done_at=%s, engine_id=NULL, error=%s WHERE id IN ({{ids}}) "
            f"AND state=%s AND engine_id=%s RETURNING id, blast_id",
            [S.SUPPRESSED, now, "nomor menolak pesan (BERHENTI)"], [i.id for i in hit], [state, self.engine_id])
        for _id, blast_id in done:
            self._deltas[(blast_id, state)] -= 1
            self._deltas[(blast_id, S.SUPPRESSED)] += 1
        self.stats["suppressed"] += len(done)
        return [i for i in items if i.to not in blocked]

    def mark_sending(self, plan: dict[int, list[Item]]) -> tuple[set[int], set[int]]:
        """Mark planned messages ``sending`` (per connection), if still queued, ours, valid and of
        an active blast. Returns (marked ids, dropped ids); dropped rows were cancelled, paused
        (released) or expired here."""
        now = self.now()
        marked: set[int] = set()
        planned: dict[int, Item] = {}
        for conn_id, items in plan.items():
            for i in items:
                planned[i.id] = i
            rows = self._update_returning(
                f"UPDATE {M} SET state=%s, sent_at=%s, connection_id=%s, attempts=attempts+1 "
                f"WHERE id IN ({{ids}}) AND state=%s AND engine_id=%s AND (valid_until IS NULL OR valid_until > %s) "
                f"AND blast_id IN (SELECT id FROM {B} WHERE state=%s) RETURNING id, blast_id",
                [S.SENDING, now, conn_id], [i.id for i in items], [S.QUEUED, self.engine_id, now, Blast.State.ACTIVE])
            for id_, blast_id in rows:
                marked.add(id_)
                self._deltas[(blast_id, S.QUEUED)] -= 1
                self._deltas[(blast_id, S.SENDING)] += 1
        rest = [i for i in planned if i not in marked]
        if rest:
            self._expire_or_release(rest, now)
        return marked, set(rest)

    def _expire_or_release(self, ids: list[int], now: datetime) -> None:
        rows = self._update_returning(
            f"UPDATE {M} SET state=%s, done_at=%s, engine_id=NULL, error=%s WHERE id IN ({{ids}}) "
            f"AND state=%s AND engine_id=%s AND valid_until <= %s RETURNING id, blast_id",
            [S.EXPIRED, now, "masa berlaku habis sebelum terkirim"], ids, [S.QUEUED, self.engine_id, now])
        for _id, blast_id in rows:
            self._deltas[(blast_id, S.QUEUED)] -= 1
            self._deltas[(blast_id, S.EXPIRED)] += 1
        self.stats["expired"] += len(rows)
        # What is left and still ours belongs to a paused blast (or one we cannot route): give it back.
        self._update_returning(f"UPDATE {M} SET engine_id=NULL WHERE id IN ({{ids}}) AND state=%s AND engine_id=%s "
                               f"RETURNING id", [], ids, [S.QUEUED, self.engine_id])

    def unmark(self, items: Sequence[Item], delay: float = 0.0) -> None:
        """Put messages claimed straight into ``sending`` whose PDU did not leave back in the
        queue (no free slot or no route for them after all); the attempt is not counted."""
        if not items:
            return
        when = self.now() + timedelta(seconds=delay)
        with transaction.atomic():
            rows = self._update_returning(
                f"UPDATE {M} SET state=%s, engine_id=NULL, next_attempt_at=%s, attempts=attempts-1 "
                f"WHERE id IN ({{ids}}) AND state=%s AND engine_id=%s RETURNING id, blast_id",
                [S.QUEUED, when], [i.id for i in items], [S.SENDING, self.engine_id])
            for _id, blast_id in rows:
                self._deltas[(blast_id, S.SENDING)] -= 1
                self._deltas[(blast_id, S.QUEUED)] += 1
            self._write_deltas()

    def release(self, items: Sequence[Item], delay: float = 0.0) -> None:
        """Give claimed messages back to the queue (unroutable here, or shutting down)."""
        if not items:
            return
        when = self.now() + timedelta(seconds=delay)
        self._update_returning(
            f"UPDATE {M} SET engine_id=NULL, next_attempt_at=%s WHERE id IN ({{ids}}) AND state=%s AND engine_id=%s "
            f"RETURNING id", [when], [i.id for i in items], [S.QUEUED, self.engine_id])

    def expire_overdue(self) -> int:
        """Queued messages whose validity ended, claimed by nobody (or us): ``expired``."""
        now = self.now()
        with connection.cursor() as cur:
            _execute(cur,
                f"UPDATE {M} SET state=%s, done_at=%s, engine_id=NULL, error=%s WHERE state=%s "
                f"AND valid_until IS NOT NULL AND valid_until <= %s AND (engine_id IS NULL OR engine_id=%s) "
                f"RETURNING blast_id",
                [S.EXPIRED, now, "masa berlaku habis sebelum terkirim", S.QUEUED, now, self.engine_id])
            rows = cur.fetchall()
        for (blast_id,) in rows:
            self._deltas[(blast_id, S.QUEUED)] -= 1
            self._deltas[(blast_id, S.EXPIRED)] += 1
        return len(rows)

    # ---------------------------------------------------------------- results (DB steps)

    def apply_responses(self, outcomes: Sequence[Outcome]) -> None:
        """Submit results → submitted (+ parts), failed, queued again, or unknown.

        * accepted (every part) → ``submitted``;
        * throttled (ESME_RTHROTTLED / ESME_RMSGQFUL, nothing permanent) → queued again at once,
          the attempt not counted: the bind slows down instead (``BindSlot.throttled``);
        * no answer (time-out, link lost after the write: ``maybe_sent``) → ``unknown_count+1``
          and ``unknown``, or queued again when the blast resends unknowns — after the answer
          had its chance to come late (``retry_after``); a late answer settles it either way
          (``apply_late``), and unknowns never count towards ``MAX_ATTEMPTS``;
        * permanent, or a part accepted and another refused → ``failed``;
        * other transient errors → queued with back-off, ``failed`` after ``MAX_ATTEMPTS``.
        """
        if not outcomes:
            return
        now = self.now()
        ok: dict[int, list[Outcome]] = defaultdict(list)
        groups: dict[tuple[str, int | None, str, float, int], list[Outcome]] = defaultdict(list)
        for oc in outcomes:
            results = list(oc.results)
            accepted = [r for r in results if r.ok]
            failed = [r for r in results if not r.ok]
            if not failed:
                ok[oc.conn_id].append(oc)
                continue
            first = next((r for r in failed if r.permanent), failed[0])
            if getattr(first, "expired", False):
                groups[(S.EXPIRED, None, first.error, 0.0, 0)].append(oc)
                continue
            status = first.command_status
            error = (first.error or "kesalahan transport")[:300]
            if not accepted and not first.permanent and all(r.command_status in THROTTLE_STATUSES for r in failed):
                self._gdeltas[(oc.conn_id, "throttled", "")] += 1
                groups[(S.QUEUED, status, error, THROTTLE_REQUEUE, -1)].append(oc)
                continue
            self._gdeltas[(oc.conn_id, "errors", _status_label(status))] += 1
            if accepted or first.permanent:
                groups[(S.FAILED, status, error, 0.0, 0)].append(oc)
            elif first.maybe_sent:
                for r in results:
                    ref = getattr(r, "ref", None)
                    if ref is not None:
                        self._remember_late(oc.conn_id, ref, oc.item.id, r.part, r.parts)
                if oc.item.resend_unknown:
                    delay = max(backoff_delay(oc.item.attempts + 1, None), first.retry_after or 0.0)
                    groups[(S.QUEUED, status, error, delay, 1)].append(oc)
                else:
                    groups[(S.UNKNOWN, status, error, 0.0, 1)].append(oc)
            elif oc.item.attempts + 1 >= MAX_ATTEMPTS:
                groups[(S.FAILED, status, f"gagal setelah {MAX_ATTEMPTS} percobaan: {error}"[:300], 0.0, 0)].append(oc)
            else:
                delay = backoff_delay(oc.item.attempts + 1, first.retry_after)
                groups[(S.QUEUED, status, error, delay, 0)].append(oc)
        parts: list[tuple[int, int, str, int, int, datetime]] = []
        for conn_id, ocs in ok.items():
            by_id = {oc.item.id: oc for oc in ocs}
            rows = self._update_returning(
                f"UPDATE {M} SET state=%s, submitted_at=%s, engine_id=NULL, connection_id=%s WHERE id IN ({{ids}}) "
                f"AND state=%s AND engine_id=%s RETURNING id, blast_id",
                [S.SUBMITTED, now, conn_id], list(by_id), [S.SENDING, self.engine_id])
            for id_, blast_id in rows:
                self._deltas[(blast_id, S.SENDING)] -= 1
                self._deltas[(blast_id, S.SUBMITTED)] += 1
                for r in by_id[id_].results:
                    parts.append((id_, conn_id, r.message_id, r.part, r.parts, now))
            self._gdeltas[(conn_id, "submits", "")] += len(rows)
            self.stats["submitted"] += len(rows)
        for (state, status, error, delay, kind), ocs in groups.items():
            ids = [oc.item.id for oc in ocs]
            if state == S.QUEUED:
                # kind -1: throttled (the attempt is not counted); 1: no answer (counted as unknown).
                extra = {-1: ", attempts=attempts-1", 1: ", unknown_count=unknown_count+1", 0: ""}[kind]
                rows = self._update_returning(
                    f"UPDATE {M} SET state=%s, engine_id=NULL, next_attempt_at=%s, status=%s, error=%s{extra} "
                    f"WHERE id IN ({{ids}}) AND state=%s AND engine_id=%s RETURNING id, blast_id",
                    [S.QUEUED, now + timedelta(seconds=delay), status, error], ids, [S.SENDING, self.engine_id])
                self.stats["throttled" if kind == -1 else "retried"] += len(rows)
                if kind == 1:
                    self.stats["unknown"] += len(rows)
            elif state == S.UNKNOWN:
                rows = self._update_returning(
                    f"UPDATE {M} SET state=%s, engine_id=NULL, unknown_count=unknown_count+1, status=%s, error=%s "
                    f"WHERE id IN ({{ids}}) AND state=%s AND engine_id=%s RETURNING id, blast_id",
                    [S.UNKNOWN, status, error], ids, [S.SENDING, self.engine_id])
                self.stats["unknown"] += len(rows)
            else:
                rows = self._update_returning(
                    f"UPDATE {M} SET state=%s, engine_id=NULL, done_at=%s, status=%s, error=%s "
                    f"WHERE id IN ({{ids}}) AND state=%s AND engine_id=%s RETURNING id, blast_id",
                    [state, now, status, error], ids, [S.SENDING, self.engine_id])
                self.stats["failed"] += len(rows)
                # Parts the SMSC did accept of a message that failed as a whole still get receipts.
                done = {r[0] for r in rows}
                for oc in ocs:
                    if oc.item.id in done:
                        parts.extend((oc.item.id, oc.conn_id, r.message_id, r.part, r.parts, now)
                                     for r in oc.results if r.ok)
            for _id, blast_id in rows:
                self._deltas[(blast_id, S.SENDING)] -= 1
                self._deltas[(blast_id, state)] += 1
        if parts:
            self._insert_parts(parts)
            if self._pending_hint:
                self.match_pending_receipts()

    def _remember_late(self, conn_id: int, ref: int, message_id: int, part: int, parts: int) -> None:
        refs = self._late_refs
        refs[(conn_id, ref)] = (message_id, part, parts)
        if len(refs) > 100_000:
            del refs[next(iter(refs))]

    def apply_late(self, late: Sequence[LateAnswer]) -> None:
        """Answers that came after their submit timed out. An accepted one gives the message its
        part (so its receipt matches) and settles it as ``submitted`` when it is still in doubt
        (``unknown``, or queued for a resend that has not left yet): the resend is then never
        made. A message already sent again keeps both parts; either receipt settles it."""
        if not late:
            return
        now = self.now()
        parts: list[tuple[int, int, str, int, int, datetime]] = []
        by_conn: dict[int, list[int]] = defaultdict(list)
        for la in late:
            hit = self._late_refs.pop((la.conn_id, la.ref), None)
            self._gdeltas[(la.conn_id, "late_responses", "")] += 1
            if hit is None or not la.result.ok:
                continue
            mid, part, nparts = hit
            parts.append((mid, la.conn_id, la.result.message_id, part, nparts, now))
            if nparts == 1:
                by_conn[la.conn_id].append(mid)
        if not parts:
            return
        self._insert_parts(parts)
        for conn_id, mids in by_conn.items():
            for from_state, cond, tail in ((S.UNKNOWN, "", []),
                                           (S.QUEUED, " AND (engine_id IS NULL OR engine_id=%s)", [self.engine_id])):
                # A queued row we hold in the buffer is dropped by mark_sending (state changed).
                rows = self._update_returning(
                    f"UPDATE {M} SET state=%s, submitted_at=%s, connection_id=%s, engine_id=NULL, error='', "
                    f"status=NULL WHERE id IN ({{ids}}) AND state=%s{cond} RETURNING id, blast_id",
                    [S.SUBMITTED, now, conn_id], mids, [from_state, *tail])
                for _id, blast_id in rows:
                    self._deltas[(blast_id, from_state)] -= 1
                    self._deltas[(blast_id, S.SUBMITTED)] += 1
                self.stats["settled_late"] += len(rows)
        self._pending_hint = True
        self.match_pending_receipts()

    def _insert_parts(self, parts: list[tuple[int, int, str, int, int, datetime]]) -> None:
        """Parts by ``executemany`` (the ORM's bulk_create costs more CPU than the database does).

        ON CONFLICT DO NOTHING: an SMSC that repeats a message id must not abort the whole batch;
        the unique (connection, smsc_message_id) constraint keeps the first, the repeat is counted.
        """
        if self.is_postgres:
            # One INSERT … SELECT FROM unnest(arrays): one statement executed once, instead of
            # one execution (and one set of index probes planned) per row.
            cols = list(zip(*parts, strict=True))
            with connection.cursor() as cur:
                cur.execute(
                    f"INSERT INTO {P} (message_id, connection_id, smsc_message_id, part, parts, state, submitted_at) "
                    f"SELECT m, c, s, p, n, %s, a FROM unnest(%s::bigint[], %s::bigint[], %s::text[], "
                    f"%s::smallint[], %s::smallint[], %s::timestamptz[]) AS t(m, c, s, p, n, a) "
                    f"ON CONFLICT DO NOTHING", [S.SUBMITTED, *(list(c) for c in cols)])
            return
        ops = connection.ops
        rows = [(mid, cid, smsc_id, part, nparts, S.SUBMITTED, ops.adapt_datetimefield_value(at))
                for mid, cid, smsc_id, part, nparts, at in parts]
        with connection.cursor() as cur:
            cur.executemany(
                f"INSERT INTO {P} (message_id, connection_id, smsc_message_id, part, parts, state, submitted_at) "
                f"VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", rows)

    def apply_receipts(self, receipts: Sequence[InReceipt], *, store_unmatched: bool = True) -> list[InReceipt]:
        """Receipts → final states (single-part messages directly, multipart by their worst part).
        Returns the receipts that matched no part (stored in ``Receipt`` when ``store_unmatched``)."""
        if not receipts:
            return []
        now = self.now()
        by_conn: dict[int, dict[str, InReceipt]] = defaultdict(dict)
        for rc in receipts:
            by_conn[rc.conn_id][rc.smsc_id] = rc
        unmatched: list[InReceipt] = []
        single: dict[tuple[str, str], list[int]] = defaultdict(list)
        multi: list[tuple[int, int, str, datetime]] = []  # part id, message id, state, at
        latency = 0.0
        for conn_id, rcs in by_conn.items():
            if self.is_postgres:
                rcs = self._settle_single_part(conn_id, rcs, now)
                if not rcs:
                    continue
            found: dict[str, tuple[int, int, int, datetime]] = {}
            keys = list(rcs)
            # PostgreSQL: one array parameter instead of chunked IN lists (see _update_returning).
            for chunk in [keys] if self.is_postgres else _chunks(keys):
                with connection.cursor() as cur:
                    _execute(cur, f"SELECT smsc_message_id, id, message_id, parts, submitted_at FROM {P} "
                                f"WHERE connection_id=%s AND smsc_message_id "
                                + ("= ANY(%s)" if self.is_postgres else f"IN ({_in(len(chunk))})"),
                                [conn_id, list(chunk)] if self.is_postgres else [conn_id, *chunk])
                    for smsc_id, pid, mid, nparts, sub_at in cur.fetchall():
                        found[smsc_id] = (pid, mid, nparts, sub_at)
            for smsc_id, rc in rcs.items():
                hit = found.get(smsc_id)
                if hit is None:
                    unmatched.append(rc)
                    continue
                state = RECEIPT_STATES.get(rc.stat.upper())
                self._gdeltas[(conn_id, "receipts", rc.stat.upper()[:40])] += 1
                if state is None:
                    continue  # ENROUTE / ACCEPTD: not final; wait for the next one
                pid, mid, nparts, sub_at = hit
                if isinstance(sub_at, str):  # SQLite through a raw cursor
                    sub_at = datetime.fromisoformat(sub_at)
                if timezone.is_naive(sub_at):
                    sub_at = timezone.make_aware(sub_at, UTC)
                lag = max(0.0, (rc.at - sub_at).total_seconds())
                latency += lag
                self._gdeltas[(conn_id, "receipt_latency_seconds_sum", "")] += lag
                self._gdeltas[(conn_id, "receipt_latency_count", "")] += 1
                if nparts == 1:
                    single[(state, receipt_detail(state, rc))].append(mid)
                else:
                    multi.append((pid, mid, state, rc.at))
        for (state, detail), mids in single.items():
            rows = self._update_returning(
                f"UPDATE {M} SET state=%s, done_at=%s, error=%s WHERE id IN ({{ids}}) AND state=%s "
                f"RETURNING id, blast_id",
                [state, now, detail], mids, [S.SUBMITTED])
            for _id, blast_id in rows:
                self._deltas[(blast_id, S.SUBMITTED)] -= 1
                self._deltas[(blast_id, state)] += 1
            self.stats["final"] += len(rows)
        if multi:
            self._apply_multipart(multi, now)
        if unmatched and store_unmatched:
            Receipt.objects.bulk_create([Receipt(connection_id=rc.conn_id, smsc_message_id=rc.smsc_id[:65],
                                                 stat=rc.stat[:12], error=(rc.error or "")[:16], received_at=rc.at,
                                                 source=rc.source[:21], destination=rc.sender[:21])
                                         for rc in unmatched])
            self._pending_hint = True
            self.stats["receipts_pending"] += len(unmatched)
        return unmatched

    def _settle_single_part(self, conn_id: int, rcs: dict[str, InReceipt], now: datetime) -> dict[str, InReceipt]:
        """PostgreSQL: final receipts of single-part messages still ``submitted``, looked up and
        applied in one ``UPDATE … FROM parts`` per final state — the part lookup was a round trip
        and an index pass of its own every loop turn. Returns the receipts it did not settle
        (multipart, not final, unknown id, message already final), for the general path."""
        by_state: dict[tuple[str, str], list[str]] = defaultdict(list)
        for smsc_id, rc in rcs.items():
            state = RECEIPT_STATES.get(rc.stat.upper())
            if state is not None:
                by_state[(state, receipt_detail(state, rc))].append(smsc_id)
        if not by_state:
            return rcs
        rest = dict(rcs)
        with connection.cursor() as cur:
            for (state, detail), smsc_ids in by_state.items():
                _execute(cur,
                    f"UPDATE {M} m SET state=%s, done_at=%s, error=%s FROM {P} p WHERE p.connection_id=%s "
                    f"AND p.smsc_message_id = ANY(%s) AND p.parts=1 AND m.id=p.message_id AND m.state=%s "
                    f"RETURNING p.smsc_message_id, m.blast_id, p.submitted_at",
                    [state, now, detail, conn_id, smsc_ids, S.SUBMITTED])
                rows = cur.fetchall()
                for smsc_id, blast_id, sub_at in rows:
                    rc = rest.pop(smsc_id)
                    self._gdeltas[(conn_id, "receipts", rc.stat.upper()[:40])] += 1
                    lag = max(0.0, (rc.at - sub_at).total_seconds())
                    self._gdeltas[(conn_id, "receipt_latency_seconds_sum", "")] += lag
                    self._gdeltas[(conn_id, "receipt_latency_count", "")] += 1
                    self._deltas[(blast_id, S.SUBMITTED)] -= 1
                    self._deltas[(blast_id, state)] += 1
                self.stats["final"] += len(rows)
        return rest

    def _apply_multipart(self, multi: list[tuple[int, int, str, datetime]], now: datetime) -> None:
        by_state: dict[str, list[int]] = defaultdict(list)
        for pid, _mid, state, _at in multi:
            by_state[state].append(pid)
        for state, pids in by_state.items():
            self._update_returning(f"UPDATE {P} SET state=%s, receipt_at=%s WHERE id IN ({{ids}}) RETURNING id",
                                   [state, now], pids, [])
        mids = sorted({m for _p, m, _s, _a in multi})
        parts_of: dict[int, list[str]] = defaultdict(list)
        for chunk in _chunks(mids):
            with connection.cursor() as cur:
                _execute(cur, f"SELECT message_id, state, receipt_at FROM {P} WHERE message_id IN ({_in(len(chunk))})",
                            list(chunk))
                for mid, state, receipt_at in cur.fetchall():
                    parts_of[mid].append(state if receipt_at is not None else S.SUBMITTED)
        final: dict[str, list[int]] = defaultdict(list)
        sev = OutboundMessage.SEVERITY
        for mid, states in parts_of.items():
            if S.SUBMITTED in states:
                continue  # a part still waits for its receipt
            final[max(states, key=lambda s: sev.get(s, 0))].append(mid)
        for state, ids in final.items():
            rows = self._update_returning(
                f"UPDATE {M} SET state=%s, done_at=%s WHERE id IN ({{ids}}) AND state=%s RETURNING id, blast_id",
                [state, now], ids, [S.SUBMITTED])
            for _id, blast_id in rows:
                self._deltas[(blast_id, S.SUBMITTED)] -= 1
                self._deltas[(blast_id, state)] += 1

    def match_pending_receipts(self, limit: int = 5000) -> int:
        """Apply stored receipts whose part has since been saved; mark them matched."""
        with connection.cursor() as cur:
            _execute(cur,
                f"SELECT r.id, r.connection_id, r.smsc_message_id, r.stat, r.error, r.received_at FROM {R} r "
                f"JOIN {P} p ON p.connection_id=r.connection_id AND p.smsc_message_id=r.smsc_message_id "
                f"WHERE r.matched_at IS NULL LIMIT %s", [limit])
            rows = cur.fetchall()
            if not rows:
                _execute(cur, f"SELECT 1 FROM {R} WHERE matched_at IS NULL LIMIT 1")
                self._pending_hint = cur.fetchone() is not None
                return 0
        receipts = []
        for _rid, conn_id, smsc_id, stat, error, at in rows:
            if isinstance(at, str):
                at = datetime.fromisoformat(at)
            if timezone.is_naive(at):
                at = timezone.make_aware(at, UTC)
            receipts.append(InReceipt(conn_id, smsc_id, stat, error, at))
        self.apply_receipts(receipts, store_unmatched=False)
        self._update_returning(f"UPDATE {R} SET matched_at=%s WHERE id IN ({{ids}}) RETURNING id",
                               [self.now()], [r[0] for r in rows], [])
        self.stats["receipts_matched_late"] += len(rows)
        return len(rows)

    def match_orphan_receipts(self, limit: int = 1000) -> int:
        """Receipts whose id matches no part because the submit_sm_resp never came (lost, or
        the link died): matched by (connection, handset, sender) to the message in doubt —
        ``unknown_count > 0``, still not final — which then gets the part (and is settled by
        ``match_pending_receipts``). Receipts nobody claims within ``ORPHAN_RECEIPT_AFTER``
        are given up (``matched_at`` set) and counted as ``receipts_orphaned`` per connection."""
        now = self.now()
        settle_after = now - timedelta(seconds=2)  # the normal path had its chance
        rows = list(Receipt.objects.filter(matched_at__isnull=True, received_at__lt=settle_after)
                    .exclude(source="").order_by("id")
                    .values_list("id", "connection_id", "smsc_message_id", "source", "destination")[:limit])
        if not rows:
            return 0
        known = set(MessagePart.objects.filter(smsc_message_id__in=[r[2] for r in rows])
                    .values_list("connection_id", "smsc_message_id"))
        parts: list[tuple[int, int, str, int, int, datetime]] = []
        settle: dict[int, list[int]] = defaultdict(list)
        taken: set[int] = set()
        for _rid, conn_id, smsc_id, source, destination in rows:
            if (conn_id, smsc_id) in known:
                continue  # its part exists: match_pending_receipts applies it
            to = _e164(source)
            cands = (OutboundMessage.objects.filter(to=to, unknown_count__gt=0, connection_id=conn_id,
                                                    state__in=[S.UNKNOWN, S.QUEUED, S.SENDING, S.SUBMITTED])
                     .order_by("-sent_at").values_list("id", "blast__sender__name", "text", "blast__text"))
            for mid, sender, text, blast_text in cands:
                if mid in taken or _addr(sender) != _addr(destination):
                    continue
                if self._parts_needed(text or blast_text) != 1:
                    continue
                taken.add(mid)
                parts.append((mid, conn_id, smsc_id, 1, 1, now))
                settle[conn_id].append(mid)
                break
        if parts:
            self._insert_parts(parts)
            for mids in settle.values():
                for from_state, cond, tail in ((S.UNKNOWN, "", []),
                                               (S.QUEUED, " AND (engine_id IS NULL OR engine_id=%s)", [self.engine_id])):
                    done = self._update_returning(
                        f"UPDATE {M} SET state=%s, submitted_at=%s, engine_id=NULL, error='', status=NULL "
                        f"WHERE id IN ({{ids}}) AND state=%s{cond} RETURNING id, blast_id",
                        [S.SUBMITTED, now], mids, [from_state, *tail])
                    for _id, blast_id in done:
                        self._deltas[(blast_id, from_state)] -= 1
                        self._deltas[(blast_id, S.SUBMITTED)] += 1
            self._gdeltas[(None, "receipts_matched_by_number", "")] += len(parts)
            self.stats["receipts_matched_by_number"] += len(parts)
            self.match_pending_receipts()
        # Given up: nobody will ever claim them (a message long final, an id of another system).
        old = list(Receipt.objects.filter(matched_at__isnull=True, received_at__lt=now - ORPHAN_RECEIPT_AFTER)
                   .values_list("id", "connection_id")[:limit])
        if old:
            Receipt.objects.filter(id__in=[r[0] for r in old]).update(matched_at=now)
            per_conn: dict[int, int] = defaultdict(int)
            for _rid, conn_id in old:
                per_conn[conn_id] += 1
            for conn_id, n in per_conn.items():
                self._gdeltas[(conn_id, "receipts_orphaned", "")] += n
        return len(parts)

    def expire_unreported(self) -> int:
        """Messages accepted by the SMSC (or in doubt) whose receipt never came: ``expired``
        with "tidak ada laporan" once their validity is over — the blast's ``valid_until`` when
        it has one (plus a grace for the last receipts), else the sender ID's
        ``receipt_wait_hours`` after sending. Counted apart as ``no_report`` per blast."""
        now = self.now()
        total = 0
        grace = now - timedelta(minutes=10)
        sweeps: list[tuple[str, list[Any]]] = [
            ("sent_at < %s AND valid_until IS NOT NULL AND valid_until < %s", [grace, grace])]
        for sender_id, hours in SenderID.objects.values_list("id", "receipt_wait_hours"):
            sweeps.append((f"sent_at < %s AND blast_id IN (SELECT id FROM {B} WHERE sender_id=%s)",
                           [now - timedelta(hours=hours), sender_id]))
        with connection.cursor() as cur:
            for cond, params in sweeps:
                for from_state in (S.SUBMITTED, S.UNKNOWN):
                    _execute(cur, f"UPDATE {M} SET state=%s, done_at=%s, engine_id=NULL, error=%s "
                                  f"WHERE state=%s AND {cond} RETURNING blast_id, connection_id",
                             [S.EXPIRED, now, NO_REPORT, from_state, *params])
                    for blast_id, conn_id in cur.fetchall():
                        self._deltas[(blast_id, from_state)] -= 1
                        self._deltas[(blast_id, S.EXPIRED)] += 1
                        self._deltas[(blast_id, "no_report")] += 1
                        self._gdeltas[(conn_id, "expired_no_receipt", "")] += 1
                        total += 1
        self.stats["expired_no_report"] += total
        return total

    def store_mos(self, mos: Sequence[InMo]) -> None:
        """Citizens' messages → the inbox (``warta.inbox.services.receive_mo_batch``: stored,
        reassembled, ticketed, idempotent per deliver_sm), in this flush's transaction, so the
        deliver_sm is answered only once they are committed. Without an inbox app they go to the
        gateway's ``InboundMessage`` table."""
        if not mos:
            return
        try:
            from warta.inbox.services import from_smpp, receive_mo_batch
        except ImportError:  # no inbox app yet: keep them in the gateway's own table
            self._store_mos_locally(mos)
            return
        names = {bs.conn_id: bs.conn_name for bs in self.binds.values()}
        receive_mo_batch([from_smpp(mo.item, names.get(mo.conn_id, str(mo.conn_id)), mo.at) for mo in mos])
        self._gdeltas[(None, "mo", "")] += len(mos)

    def _store_mos_locally(self, mos: Sequence[InMo]) -> None:
        rows = []
        for mo in mos:
            item = mo.item
            concat = getattr(item, "concat", None)
            rows.append(InboundMessage(
                connection_id=mo.conn_id, source=item.source_addr[:21], destination=item.destination_addr[:21],
                text=item.text, received_at=mo.at,
                concat_ref=getattr(concat, "reference", None), concat_total=getattr(concat, "total", None),
                concat_seq=getattr(concat, "sequence", None)))
        InboundMessage.objects.bulk_create(rows)
        self._gdeltas[(None, "mo", "")] += len(rows)

    def flush(self, outcomes: Sequence[Outcome], receipts: Sequence[InReceipt], mos: Sequence[InMo],
              plan: dict[int, list[Item]], claim: int, senders: set[str] | None,
              direct: tuple[int, int] | None = None, late: Sequence[LateAnswer] = ()) -> FlushResult:
        """One loop turn's writes in one transaction: results first (so a receipt in the same turn
        finds its part), then the ``sending`` marks, then the next claim."""
        result = FlushResult()
        try:
            with transaction.atomic():
                self.apply_responses(outcomes)
                self.apply_late(late)
                self.apply_receipts(receipts)
                self.store_mos(mos)
                if plan:
                    result.marked, result.dropped = self.mark_sending(plan)
                if claim:
                    result.claimed = self.claim_batch(claim, senders)
                if direct:
                    result.direct = self.claim_batch(direct[1], senders, mark_conn=direct[0])
                self._write_deltas()
        except BaseException:
            # Rolled back: the counted deltas did not happen either.
            self._deltas.clear()
            self._gdeltas.clear()
            raise
        return result

    def _write_deltas(self) -> None:
        if self._deltas:
            OutboxCount.add(dict(self._deltas))
            self._deltas.clear()
        if self._gdeltas:
            GatewayCount.add(dict(self._gdeltas))
            self._gdeltas.clear()

    def _update_returning(self, sql: str, head: list[Any], ids: Sequence[int], tail: list[Any]) -> list[tuple[Any, ...]]:
        """Run ``sql`` (with ``{ids}`` for the IN list) over ``ids`` in chunks; all rows returned."""
        out: list[tuple[Any, ...]] = []
        with connection.cursor() as cur:
            if self.is_postgres and " IN ({ids})" in sql:
                # One statement with an array instead of chunked IN lists: fewer round trips and
                # one short statement to parse instead of one per 500 ids.
                _execute(cur, sql.replace(" IN ({ids})", " = ANY(%s)"), [*head, list(ids), *tail])
                return cur.fetchall()
            for chunk in _chunks(list(ids)):
                _execute(cur, sql.format(ids=_in(len(chunk))), [*head, *chunk, *tail])
                out.extend(cur.fetchall())
        return out

    def housekeeping(self) -> tuple[set[tuple[int, int]], list[tuple[Connection, int]], set[int]]:
        """Heartbeat, reap dead engines, expire overdue messages, notice changed connections,
        take bind slots, reload routes; every ``SWEEP_SECONDS`` also the receipt sweeps.
        Returns (bind slots lost, bind slots taken, connections whose binds must be reopened)."""
        lost = self.heartbeat()
        self.reap_expired_leases()
        self.reap_own_dead()
        with transaction.atomic():
            self.expire_overdue()
            self._write_deltas()
        mono = time.monotonic()
        if mono >= self._next_sweep:
            self._next_sweep = mono + self.sweep_seconds
            with transaction.atomic():
                self.match_orphan_receipts()
                self.expire_unreported()
                self._write_deltas()
        changed = self.changed_connections()
        got = self.acquire_binds(skip=changed)
        self.load_routes()
        return lost, got, changed

    def changed_connections(self) -> set[int]:
        """Connections we hold binds of that were deleted, disabled or given a new URL (a fixed
        password, a new host): their binds drain and close, and are opened again as they are now."""
        held = {k[0] for k in self.binds}
        if not held:
            return set()
        live = dict(Connection.objects.filter(pk__in=held, is_active=True).values_list("pk", "url"))
        return {c for c in held if live.get(c) != self._conn_versions.get(c)}

    # ---------------------------------------------------------------- async loop

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        assert self._executor is not None
        return await asyncio.get_running_loop().run_in_executor(self._executor, _with_connection, fn, *args)

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
        def on_receipt(smsc_id: str, stat: str, error: str, source: str = "", sender: str = "") -> asyncio.Future[None]:
            fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._receipts.append(InReceipt(conn_id, smsc_id, stat, error, self.now(), fut, source, sender))
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
        for key, bs in list(self.binds.items()):
            if (bs.draining or bs.retiring) and bs.inflight == 0:
                self.binds.pop(key)
                await bs.bind.close()
                await self.db(_release_bind, key[0], key[1], self.engine_id, "")
                log.info("connection %s bind %d handed back (%s)", bs.conn_name, bs.slot,
                         "connection changed" if bs.retiring else "fair share")
        if any(bs.retiring for bs in self.binds.values()) or not self.binds:
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
        assignments, unroutable items)."""
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
                keep.append(item)
                continue
            free_total -= item.parts
            plan[best.conn_id].append(item)
            assigned.append((item, best))
        self.buffer = keep
        return plan, assigned, unroutable

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
            task = loop.create_task(self._send(item, best))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)
        return unroutable, no_slot

    async def step(self) -> bool:
        """One loop turn. Returns True when it did something (so the loop does not sleep)."""
        mono = time.monotonic()
        if mono >= self._next_housekeeping:
            self._next_housekeeping = mono + self.heartbeat_seconds
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
        if self._pending_hint and mono >= self._next_pending_match:
            self._next_pending_match = mono + 0.5
            await self.db(_atomic_then_deltas, self, self.match_pending_receipts)

        plan, assigned, unroutable = self._plan() if not self._stopping else ({}, [], [])
        free = sum(bs.free for bs in self.binds.values())
        claim = 0
        direct: tuple[int, int] | None = None
        senders: set[str] | None = None
        if not self._stopping and free > 0 and mono >= self._next_claim:
            up = [bs for bs in self.binds.values() if bs.bind.bound and not bs.lost]
            conns = {bs.conn_id for bs in up}
            senders = self.router.senders(conns)
            if not self.buffer and len(conns) == 1 and all(bs.bucket is None for bs in up):
                # Nothing buffered, one connection up, no TPS pacing: claim straight into
                # ``sending``, as many as the window slots free right now (claim_batch's
                # mark_conn) — one row update per message less than claim, then mark.
                direct = (next(iter(conns)), free)
            else:
                want = max(2 * sum(bs.window for bs in up), 100)
                claim = max(0, want - len(self.buffer) - sum(len(v) for v in plan.values()))
        outcomes, self._outcomes = self._outcomes, []
        receipts, self._receipts = self._receipts, []
        mos, self._mos = self._mos, []
        late, self._late = self._late, []
        if not (plan or claim or direct or outcomes or receipts or mos or unroutable or late):
            return False
        if unroutable:
            await self.db(self.release, unroutable, 2.0)
        try:
            t_flush = time.perf_counter()
            res = await self.db(self.flush, outcomes, receipts, mos, plan, claim, senders, direct, late)
            self.stats["flushes"] += 1
            self.stats["flush_ms"] += int((time.perf_counter() - t_flush) * 1000)
        except Exception:
            # The transaction rolled back: nothing was marked, so nothing may be sent; receipts and
            # MOs are answered "temporary error" by the client and come again. Give the claimed
            # slots back and keep going after a pause (the database may be restarting).
            for item, bs in assigned:
                bs.inflight -= item.parts
                self.buffer.append(item)
            self._outcomes[:0] = outcomes
            self._late[:0] = late
            for rc in receipts:
                if rc.ack is not None and not rc.ack.done():
                    rc.ack.set_exception(TransportError("database write failed", permanent=False))
            for mo in mos:
                if mo.ack is not None and not mo.ack.done():
                    mo.ack.set_exception(TransportError("database write failed", permanent=False))
            log.exception("engine flush failed; retrying in 1 s")
            await self.db(_close_db)
            await asyncio.sleep(1.0)
            return True
        for rc in receipts:
            if rc.ack is not None and not rc.ack.done():
                rc.ack.set_result(None)
        for mo in mos:
            if mo.ack is not None and not mo.ack.done():
                mo.ack.set_result(None)
        loop = asyncio.get_running_loop()
        for item, bs in assigned:
            if item.id in res.marked:
                task = loop.create_task(self._send(item, bs))
                self._tasks.add(task)
                task.add_done_callback(self._tasks.discard)
            else:
                bs.inflight -= item.parts
        if direct is not None:
            if res.direct:
                self.stats["claimed"] += len(res.direct)
                unroutable, no_slot = self._dispatch_direct(direct[0], res.direct)
                # Marked but not sent (rare: a route by operator or prefix, a multipart text
                # needing more slots than left): back to the queue at once.
                if unroutable:
                    await self.db(self.unmark, unroutable, 2.0)
                if no_slot:
                    await self.db(self.unmark, no_slot, 0.0)
            else:
                self._next_claim = mono + self.idle_poll  # queue empty: poll, do not spin
        if claim:
            if res.claimed:
                self.buffer.extend(res.claimed)
                if self._blasts[res.claimed[0].blast_id].priority:
                    # An emergency blast overtakes what is already buffered, not only the queue.
                    self.buffer.sort(key=lambda i: -self._blasts[i.blast_id].priority)
                self.stats["claimed"] += len(res.claimed)
            else:
                self._next_claim = mono + self.idle_poll  # queue empty: poll, do not spin
        return True

    async def run(self, *, install_signals: bool = True) -> None:
        self._wake = asyncio.Event()
        self._executor = ThreadPoolExecutor(1, thread_name_prefix="warta-db")
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
                    try:
                        await asyncio.wait_for(self._wake.wait(), timeout=self.idle_poll)
                    except TimeoutError:
                        pass
        except LeaseLost:
            log.error("engine %s lost its lease (stalled too long); stopping so nothing is sent twice",
                      self.engine_id)
            self._stopping = True
        finally:
            await self._shutdown()

    async def _shutdown(self) -> None:
        deadline = time.monotonic() + self.drain_timeout
        while self._tasks and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        # Final flush of what the drain produced (responses, receipts), then give everything back.
        try:
            outcomes, self._outcomes = self._outcomes, []
            receipts, self._receipts = self._receipts, []
            mos, self._mos = self._mos, []
            late, self._late = self._late, []
            await self.db(self.flush, outcomes, receipts, mos, {}, 0, None, None, late)
            for rc in receipts:
                if rc.ack is not None and not rc.ack.done():
                    rc.ack.set_result(None)
            for mo in mos:
                if mo.ack is not None and not mo.ack.done():
                    mo.ack.set_result(None)
            self.buffer.clear()
            await self.db(self.release_all)
        finally:
            for bs in list(self.binds.values()):
                await bs.bind.close()
            self.binds.clear()
            if self._executor is not None:
                self._executor.submit(_close_db).result()
                self._executor.shutdown(wait=True)
            log.info("engine %s stopped: %s", self.engine_id, dict(self.stats))


@dataclass(frozen=True, slots=True)
class _ErrorResult:
    """A SubmitResult-shaped failure for a transport that raised."""

    error: str
    permanent: bool
    command_status: int | None = None
    ok: bool = False
    message_id: str | None = None
    retry_after: float | None = None
    maybe_sent: bool = False
    part: int = 1
    parts: int = 1
    expired: bool = False


def receipt_detail(state: str, rc: InReceipt) -> str:
    """What a final receipt said, kept on the message (shown per recipient): ``stat`` and
    ``err`` of a failure, e.g. ``UNDELIV err:001``; nothing for a delivered message."""
    if state == S.DELIVERED:
        return ""
    return f"{rc.stat.upper()} err:{rc.error}" if rc.error else rc.stat.upper()


def _e164(addr: str) -> str:
    """A receipt's source_addr as the outbox stores numbers (E.164 with '+')."""
    digits = addr.lstrip("+")
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return "+" + digits


def _addr(value: str) -> str:
    return value.lstrip("+").lower()


def _status_label(status: int | None) -> str:
    if status is None:
        return "no_response"
    from warta.smpp.constants import describe_status

    return describe_status(status).name[:40]


def models_q_free(now: datetime) -> Any:
    from django.db.models import Q

    return Q(engine_id__isnull=True) | Q(expires_at__lt=now)


def _release_bind(conn_id: int, slot: int, engine_id: str, error: str) -> None:
    BindLease.objects.filter(connection_id=conn_id, slot=slot, engine_id=engine_id).update(
        engine_id=None, expires_at=None, state=BindLease.State.FREE, last_error=error[:300])


def _squash() -> None:
    OutboxCount.squash()
    GatewayCount.squash()


def _atomic_then_deltas(engine: Engine, fn: Callable[[], T]) -> T:
    with transaction.atomic():
        out = fn()
        engine._write_deltas()
    return out


def _close_db() -> None:
    connection.close()


def _with_connection(fn: Callable[..., T], *args: Any) -> T:
    return fn(*args)


def _execute(cur: Any, sql: str, params: Sequence[Any] = ()) -> None:
    """``cur.execute`` with datetimes adapted as the ORM would (SQLite stores naive UTC text; a
    raw aware datetime would compare wrongly as a string)."""
    ops = connection.ops
    cur.execute(sql, [ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in params])


def _pid_alive(pid: int) -> bool:
    """Whether a process with ``pid`` exists on this host (a lease of ours with a dead pid is a
    crashed earlier run)."""
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, another user's
        return True
    return True
