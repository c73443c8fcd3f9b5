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
from datetime import datetime, timedelta
from typing import Any, TypeVar

from django.db import connection, transaction
from django.utils import timezone

from warta.blasts import outbox
from warta.blasts.models import Blast, OutboundMessage, OutboxCount, SenderID
from warta.blasts.outbox import suppressed_numbers
from warta.blasts.transitions import NO_REPORT, Outbox

from . import hooks
from .models import BindLease, Connection, EngineLease, GatewayCount, Route
from .receipts import InReceipt, PartRow, ReceiptService, insert_parts
from .smppclient import TokenBucket
from .transports import ConnectionURLError, TransportError, parse_url, transport_for

log = logging.getLogger("warta.gateway.engine")

S: Any = OutboundMessage.State  # TextChoices: Any to mypy (Django ships no types)
M = OutboundMessage._meta.db_table
B = Blast._meta.db_table
OC = OutboxCount._meta.db_table

SWEEP_SECONDS = 30.0  # how often orphan receipts are matched and unreported messages expired
MAX_ATTEMPTS = 10  # transient failures before a message without validity is given up
THROTTLE_STATUSES = frozenset({0x58, 0x14})  # ESME_RTHROTTLED, ESME_RMSGQFUL: "slower", not "failed"
THROTTLE_REQUEUE = 0.05  # seconds a throttled message waits; the bind's pace does the rest
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
        return float(retry_after)
    return min(60.0, 0.5 * float(2 ** max(0, attempts - 1)))


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
        self._next_receipt_sweep = 0.0
        self.outbox = Outbox()  # every state change goes through it (warta.blasts.transitions)
        self._deltas = self.outbox.counts
        self._gdeltas: dict[tuple[int | None, str, str], float] = defaultdict(float)
        self._blasts: dict[int, Blast] = {}
        self._active: list[Blast] = []  # active blasts with queued messages, from the counters
        self._active_until = 0.0  # monotonic time the list above is good until
        self._next_sweep = 0.0
        self._started: set[int] = set()  # blasts whose started_at this engine knows is set
        self._tariffs: dict[str, Any] = {}
        self._tariffs_until = 0.0
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
        self.stats: dict[str, int] = defaultdict(int)
        self.receipts = ReceiptService(self.outbox, self._gdeltas, stats=self.stats, clock=self.now,
                                       engine_id=self.engine_id, parts_needed=self._parts_needed)

    def __repr__(self) -> str:
        return f"<Engine {self.engine_id} binds={len(self.binds)} buffered={len(self.buffer)}>"

    @property
    def _pending_hint(self) -> bool:
        return self.receipts.pending_hint

    @_pending_hint.setter
    def _pending_hint(self, value: bool) -> None:
        self.receipts.pending_hint = value

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
                totals["requeued_unknown"] += len(self.outbox.move_where(
                    "reap_resend", f"engine_id=%s AND blast_id IN (SELECT id FROM {B} WHERE resend_unknown)",
                    [lease.engine_id], set_params=[now]))
                totals["unknown"] += len(self.outbox.move_where(
                    "reap_unknown", "engine_id=%s", [lease.engine_id],
                    set_params=["mesin mati setelah PDU dikirim, sebelum jawaban tersimpan"]))
                with connection.cursor() as cur:
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
        """Active blasts with queued messages, emergency first: ONE query over the counter rows of
        active blasts (plus one for blasts not seen before), however many blasts history holds
        and however many are active but empty. Kept for half a second while claims find work;
        an empty claim asks again next time. About once a second this also runs the blasts'
        clock (``outbox.sweep``: finished blasts become ``done``, quiet hours hold and resume)."""
        mono = time.monotonic()
        if mono >= self._next_sweep:
            self._next_sweep = mono + 1.0
            outbox.sweep(self.now())
            self._active_until = 0.0
        if mono < self._active_until:
            return self._active
        with connection.cursor() as cur:
            _execute(cur, f"SELECT c.blast_id FROM {OC} c JOIN {B} b ON b.id=c.blast_id "
                          f"WHERE b.state=%s AND c.state=%s GROUP BY c.blast_id HAVING SUM(c.count) > 0",
                     [Blast.State.ACTIVE, S.QUEUED])
            ids = [r[0] for r in cur.fetchall()]
        if len(self._blasts) > 5000:
            # The inbox makes a blast per batch of replies: forget finished ones, keep what the
            # buffer still refers to.
            keep = set(ids) | {i.blast_id for i in list(self.buffer)}
            self._blasts = {k: v for k, v in self._blasts.items() if k in keep}
            if len(self._started) > 100_000:
                self._started.clear()
        missing = [i for i in ids if i not in self._blasts]
        if missing:
            self._blasts.update({b.pk: b for b in Blast.objects.filter(pk__in=missing).select_related("sender")})
        self._active = sorted((self._blasts[i] for i in ids if i in self._blasts), key=lambda b: (-b.priority, b.pk))
        self._active_until = mono + 0.5 if self._active else 0.0
        return self._active

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
        got_any = False
        for blast in self.active_blasts():
            if taken >= limit:
                break
            if senders is not None and blast.sender.name not in senders:
                continue
            blast_parts = self._parts_needed(blast.text)
            want = limit - taken if mark_conn is None else (limit - taken) // blast_parts
            if want <= 0:
                continue
            rows = self.outbox.claim(blast.pk, want, now, engine_id=self.engine_id, mark_conn=mark_conn)
            got_any = got_any or bool(rows)
            mono = time.monotonic()
            for id_, to, operator, text, attempts in rows:
                item = Item(id_, blast.pk, to, operator, text or blast.text, blast.sender.name, attempts,
                            blast.resend_unknown, self._parts_needed(text) if text else blast_parts,
                            claimed_at=mono, valid_until=blast.valid_until)
                items.append(item)
                taken += 1 if mark_conn is None else item.parts
        if not got_any:
            self._active_until = 0.0  # nothing due in the blasts listed: list them again next time
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
        """Opted-out numbers' messages become ``suppressed`` — blasts only: service messages the
        citizen started (priority ``REPLY``: the BERHENTI confirmation, acknowledgements, STATUS
        answers, staff replies) are sent whatever the opt-out (``outbox.is_opt_out_exempt``)."""
        subject = [i for i in items if not outbox.is_opt_out_exempt(self._blasts[i.blast_id].priority)]
        blocked = self.suppression([i.to for i in subject]) if subject else set()
        if not blocked:
            return items
        now = self.now()
        hit = [i for i in subject if i.to in blocked]
        done = self.outbox.move("suppress", [i.id for i in hit], set_params=[now, "nomor menolak pesan (BERHENTI)"],
                                where="engine_id=%s", where_params=[self.engine_id])
        self.stats["suppressed"] += len(done)
        hit_ids = {i.id for i in hit}
        return [i for i in items if i.id not in hit_ids]

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
            rows = self.outbox.move(
                "mark", [i.id for i in items], set_params=[now, conn_id],
                where=f"engine_id=%s AND (valid_until IS NULL OR valid_until > %s) "
                      f"AND blast_id IN (SELECT id FROM {B} WHERE state=%s)",
                where_params=[self.engine_id, now, Blast.State.ACTIVE])
            marked.update(r[0] for r in rows)
        rest = [i for i in planned if i not in marked]
        if rest:
            self._expire_or_release(rest, now)
        return marked, set(rest)

    def _expire_or_release(self, ids: list[int], now: datetime) -> None:
        rows = self.outbox.move("expire_queued", ids, set_params=[now, "masa berlaku habis sebelum terkirim"],
                                where="engine_id=%s AND valid_until <= %s", where_params=[self.engine_id, now])
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
            self.outbox.move("unmark", [i.id for i in items], set_params=[when], where="engine_id=%s",
                             where_params=[self.engine_id])
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
        return len(self.outbox.move_where(
            "expire_queued", "valid_until IS NOT NULL AND valid_until <= %s AND (engine_id IS NULL OR engine_id=%s)",
            [now, self.engine_id], set_params=[now, "masa berlaku habis sebelum terkirim"]))

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
        parts: list[PartRow] = []
        for conn_id, ocs in ok.items():
            by_id = {oc.item.id: oc for oc in ocs}
            rows = self._mark_submitted(conn_id, ocs, now)
            for id_, blast_id in rows:
                self.outbox.note(blast_id, OutboxCount.COST, self._cost_of(by_id[id_]))
                for r in by_id[id_].results:
                    parts.append((id_, conn_id, r.message_id, r.part, r.parts, now))
            self._gdeltas[(conn_id, "submits", "")] += len(rows)
            self.stats["submitted"] += len(rows)
            self._note_started({blast_id for _id, blast_id in rows}, now)
        mine, ours = "engine_id=%s", [self.engine_id]
        for (state, status, error, delay, kind), ocs in groups.items():
            ids = [oc.item.id for oc in ocs]
            if state == S.QUEUED:
                # kind -1: throttled (the attempt is not counted); 1: no answer (counted as unknown).
                name = {-1: "throttled", 1: "resend_unknown", 0: "retry"}[kind]
                rows = self.outbox.move(name, ids, set_params=[now + timedelta(seconds=delay), status, error],
                                        where=mine, where_params=ours)
                self.stats["throttled" if kind == -1 else "retried"] += len(rows)
                if kind == 1:
                    self.stats["unknown"] += len(rows)
            elif state == S.UNKNOWN:
                rows = self.outbox.move("no_answer", ids, set_params=[status, error], where=mine, where_params=ours)
                self.stats["unknown"] += len(rows)
            else:
                rows = self.outbox.move("fail", ids, to=state, set_params=[now, status, error], where=mine,
                                        where_params=ours)
                self.stats["failed"] += len(rows)
                # Parts the SMSC did accept of a message that failed as a whole still get receipts.
                done = {r[0] for r in rows}
                for oc in ocs:
                    if oc.item.id in done:
                        parts.extend((oc.item.id, oc.conn_id, r.message_id, r.part, r.parts, now)
                                     for r in oc.results if r.ok)
        if parts:
            insert_parts(parts)
            if self._pending_hint:
                self.match_pending_receipts()

    def _remember_late(self, conn_id: int, ref: int, message_id: int, part: int, parts: int) -> None:
        refs = self._late_refs
        refs[(conn_id, ref)] = (message_id, part, parts)
        if len(refs) > 100_000:
            del refs[next(iter(refs))]

    def _cost_of(self, oc: Outcome) -> Any:
        """Rupiah for one accepted message: segments × its operator's tariff (cached 60 s, so
        no query per message; a tariff changed in the settings applies within a minute)."""
        mono = time.monotonic()
        if mono >= self._tariffs_until:
            self._tariffs = outbox.tariff_table()
            self._tariffs_until = mono + 60.0
        return outbox.message_cost(self._tariffs, oc.item.sender, oc.item.operator,
                                   max(oc.item.parts, len(oc.results)))

    def _mark_submitted(self, conn_id: int, ocs: list[Outcome], now: datetime) -> list[tuple[Any, ...]]:
        """``sending`` → ``submitted`` with each message's cost (``Outbox.submit``)."""
        return self.outbox.submit([(oc.item.id, self._cost_of(oc)) for oc in ocs], conn_id, now,
                                  engine_id=self.engine_id)

    def _note_started(self, blast_ids: set[int], now: datetime) -> None:
        """The start of each blast's sending window (its first accepted message): one UPDATE
        per blast and engine, the first time this engine sees the blast accepted."""
        new = sorted(blast_ids - self._started)
        if not new:
            return
        self._update_returning(f"UPDATE {B} SET started_at=%s WHERE id IN ({{ids}}) AND started_at IS NULL "
                               f"RETURNING id", [now], new, [])
        self._started.update(new)

    def apply_late(self, late: Sequence[LateAnswer]) -> None:
        """Answers that came after their submit timed out. An accepted one gives the message its
        part (so its receipt matches) and settles it as ``submitted`` when it is still in doubt
        (``unknown``, or queued for a resend that has not left yet): the resend is then never
        made. A message already sent again keeps both parts; either receipt settles it."""
        if not late:
            return
        now = self.now()
        parts: list[PartRow] = []
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
        insert_parts(parts)
        for conn_id, mids in by_conn.items():
            # A queued row we hold in the buffer is dropped by mark_sending (its state changed).
            self.receipts.settle_late(conn_id, mids, now)
        self._pending_hint = True
        self.match_pending_receipts()



    def apply_receipts(self, receipts: Sequence[InReceipt], *, store_unmatched: bool = True) -> list[InReceipt]:
        """Receipts → final states (``ReceiptService.apply``); returns those matching no part."""
        return self.receipts.apply(receipts, store_unmatched=store_unmatched)





    def match_pending_receipts(self, limit: int = 5000) -> int:
        """Stored receipts whose part has since been saved (``ReceiptService.match_pending``)."""
        return self.receipts.match_pending(limit)

    def match_orphan_receipts(self, limit: int = 1000) -> int:
        """Receipts of lost responses, by handset and sender (``ReceiptService.match_orphans``)."""
        return self.receipts.match_orphans(limit)

    def expire_unreported(self) -> int:
        """Messages accepted by the SMSC (or in doubt) whose receipt never came: ``expired``
        with "tidak ada laporan" once their validity is over — the blast's ``valid_until`` when
        it has one (plus a grace for the last receipts), else the sender ID's
        ``receipt_wait_hours`` after sending. Counted apart as ``no_report`` per blast."""
        now = self.now()
        grace = now - timedelta(minutes=10)
        # used by: outbox_awaiting_receipt (partial index on sent_at, submitted or unknown)
        sweeps: list[tuple[str, list[Any]]] = [
            ("sent_at < %s AND valid_until IS NOT NULL AND valid_until < %s", [grace, grace])]
        for sender_id, hours in SenderID.objects.values_list("id", "receipt_wait_hours"):
            sweeps.append((f"sent_at < %s AND blast_id IN (SELECT id FROM {B} WHERE sender_id=%s)",
                           [now - timedelta(hours=hours), sender_id]))
        total = 0
        for cond, params in sweeps:
            for blast_id, _frm, conn_id in self.outbox.move_where("no_report", cond, params, set_params=[now, NO_REPORT],
                                                                   returning="connection_id"):
                self.outbox.note(blast_id, "no_report")
                self._gdeltas[(conn_id, "expired_no_receipt", "")] += 1
                total += 1
        self.stats["expired_no_report"] += total
        return total

    def store_mos(self, mos: Sequence[InMo]) -> None:
        """Citizens' messages → ``hooks.mobile_originated`` (the inbox provides it: stored,
        reassembled, ticketed, idempotent per deliver_sm), in this flush's transaction, so the
        deliver_sm is answered only once they are committed. Without a provider they go to the
        gateway's ``InboundMessage`` table."""
        if not mos:
            return
        names = {bs.conn_id: bs.conn_name for bs in self.binds.values()}
        hooks.mobile_originated([
            hooks.InboundSms(connection=names.get(mo.conn_id, str(mo.conn_id)), connection_id=mo.conn_id,
                             source=mo.item.source_addr, destination=mo.item.destination_addr, text=mo.item.text,
                             received_at=mo.at, item=mo.item, data_coding=getattr(mo.item, "data_coding", 0))
            for mo in mos])
        self._gdeltas[(None, "mo", "")] += len(mos)

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
        self.outbox.write_counts()
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
                return list(cur.fetchall())
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
        if mono >= self._next_receipt_sweep:
            self._next_receipt_sweep = mono + self.sweep_seconds
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
