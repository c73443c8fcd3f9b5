"""The engine's data: what a claimed message, a send's outcome, a bind slot and a route are.

Pure values and small pure classes (``Router``, ``BindSlot``'s AIMD pacing): no database."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from django.db import connection

from warta.blasts.models import Blast, OutboundMessage, OutboxCount

from ..smppclient import TokenBucket
from ..transports.base import Bind

log = logging.getLogger("warta.gateway.engine")

S: Any = OutboundMessage.State  # TextChoices: Any to mypy (Django ships no types)
M = OutboundMessage._meta.db_table
B = Blast._meta.db_table
OC = OutboxCount._meta.db_table

SWEEP_SECONDS = 30.0  # how often orphan receipts are matched and unreported messages expired
MAX_ATTEMPTS = 10  # transient failures before a message without validity is given up
THROTTLE_STATUSES = frozenset({0x58, 0x14})  # ESME_RTHROTTLED, ESME_RMSGQFUL: "slower", not "failed"
THROTTLE_REQUEUE = 0.05  # seconds a throttled message waits; the bind's pace does the rest
PACED_HOLD = 1.0  # seconds of a paced connection's work the buffer holds; the rest goes back
IN_CHUNK = 500  # ids per IN (…) list
T = TypeVar("T")


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
    bind: Bind  # the transport's bind (warta.gateway.transports.base)
    inflight: int = 0
    lost: bool = False
    bucket: Any = None  # TokenBucket when the connection has a TPS limit

    draining: bool = False  # more binds than our fair share: finish the window, then let go
    retiring: bool = False  # its connection was changed or disabled: drain, then close
    ceiling: float = 0.0  # the configured tps (0: none); the adaptive rate never exceeds it
    _accepts: deque[float] = field(default_factory=deque)  # accept times within the last second
    _last_cut: float = 0.0
    _last_raise: float = 0.0
    _since: float | None = None  # when pacing began (the first throttle since unpaced)

    def throttled(self, now: float) -> None:
        """The SMSC said "too fast": cut this bind's rate (the multiplicative half of AIMD).

        While we offer more than the SMSC takes, what it accepted in the last second *is* its
        limit. Once the bind has a second of accepts behind it, pace just under that (98%) and
        just under the rate that was too fast (97%): a throttle then costs a few per cent for a
        second, not the 15% of a fixed cut that the SMSC's own count says is too deep. Younger
        than that (a blast's start), the count covers less than a second and the SMSC's burst
        allowance inflates it: cut to at most 85% of the rate that was too fast, as before. At
        most one cut per 0.2 s: one burst of throttles is one signal. With nothing accepted yet
        to measure, start at one window per second.
        """
        if now - self._last_cut < 0.2:
            return
        self._last_cut = self._last_raise = now
        acc = self._accepts
        while acc and acc[0] < now - 1.0:
            acc.popleft()
        full = self._since is not None and now - self._since >= 2.0  # a whole second of pacing to count
        # Per second of what we saw (a bind younger than a second has less to show).
        measured = len(acc) / min(1.0, max(0.5, now - acc[0])) if acc else 0.0
        if self.bucket is None:
            rate = measured * 0.97 if measured >= 1.0 else float(self.window)
        elif measured < 1.0:
            rate = self.bucket.rate * 0.7
        elif full:
            # bench/engine.py --throttled (four SMSCs counting per wall-clock second): a fixed
            # 0.85 cut left each bind at 88-93% for the 2-3 s after every throttle (96% of the
            # sum of the limits over the first minute).
            rate = min(self.bucket.rate * 0.97, measured * 0.98)
        else:
            rate = min(self.bucket.rate * 0.85, measured * 0.97)
        rate = max(1.0, rate)
        if self.ceiling:
            rate = min(rate, self.ceiling)
        if self.bucket is None:
            self._since = now
            self.bucket = TokenBucket(rate, now=now)
        else:
            self.bucket.slow_down(rate, now)
        log.info("connection %s bind %d throttled by the SMSC: pacing at %.0f/s", self.conn_name, self.slot, rate)

    def accepted(self, now: float) -> None:
        """An accepted submit: every second without a throttle, raise the rate (the additive
        half, which finds the SMSC's limit again when it is raised): +3% +1/s near the last
        cut, +25% after three quiet seconds (an estimate that was too low recovers fast)."""
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
            rate = bucket.rate * (1.03 if now - self._last_cut < 3.0 else 1.25) + 1.0
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
    # Numbers of ``direct`` the claim said are suppressed; None: ask the suppression function.
    flagged: set[str] | None = field(default_factory=set)
    # Marked ``sending`` by this transaction but not to be sent after all: back to the queue.
    unsent: list[Item] = field(default_factory=list)
    # (connection, sent_at) of a claim read after its COMMIT (``claim_marked_later``): the name
    # of the rows it marked, so they can go back to the queue when reading them failed (``unread``).
    mark: tuple[int, datetime] | None = None
    unread: tuple[int, datetime] | None = None


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


    def operators(self, conn_id: int) -> set[str] | None:
        """Operators a connection's routes are limited to; None: any (a route without an
        operator, or by prefix only — the claim cannot filter those, ``_plan`` routes them)."""
        names: set[str] = set()
        for r in self.rows:
            if r.conn_id == conn_id:
                if not r.operator:
                    return None
                names.add(r.operator)
        return names or None

    def left_to_others(self, conn_id: int, up: set[int]) -> set[str]:
        """Operators a catch-all connection should not claim: those routed to another connection
        that is up by a route ranked before this connection's catch-all route (any sender, any
        prefix) — their rows would only wait in the buffer for the better connection."""
        out: set[str] = set()
        for r in self.rows:
            if r.conn_id == conn_id and not r.operator:
                break
            if r.conn_id != conn_id and r.conn_id in up and r.operator and r.sender is None and not r.prefix:
                out.add(r.operator)
        return out


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


def _execute(cur: Any, sql: str, params: Sequence[Any] = ()) -> None:
    """``cur.execute`` with datetimes adapted as the ORM would (SQLite stores naive UTC text; a
    raw aware datetime would compare wrongly as a string)."""
    ops = connection.ops
    cur.execute(sql, [ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in params])
