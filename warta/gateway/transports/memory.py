"""In-memory transport: ``memory://NAME?window=16&tps=0&binds=1&timeout=10``.

Theory of operation: an SMSC double living in this process (``MemorySmsc``, one per NAME, found
with ``smsc(NAME)``) and a bind that talks to it by plain calls — the engine's contract
(``warta.gateway.transports.base.Bind``) with no socket and no PDU, as httpx's
``MockTransport`` stands in for the network. It keeps the SMPP semantics the engine relies on:
a window, message ids, receipts after a delay (handed to ``on_receipt`` and acknowledged only
once the engine has committed them; one answered with an error comes again 0.2 s later), MOs,
and the faults of the simulator that matter to the engine — throttling at a rate
(ESME_RTHROTTLED), answers slower than the bind's ``timeout`` (the result is "no answer" with a
``ref``, and the answer comes late through ``on_late_response``), lost answers, lost receipts,
outages (binds down, what is in flight unanswered) and a refused password. Engine tests run on it by default; ``tests/gateway`` keeps a few over real TCP.

Not a transport for production: ``memory://`` URLs are accepted only when the SMSC double was
created first (by a test, or the benchmark).
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.utils.translation import gettext as _

from warta.gateway.smppclient import SubmitResult, TokenBucket
from warta.sms.segments import measure

from . import ConnectionSpec, ConnectionURLError, float_option, int_option, split_options
from .base import OnLate, OnMo, OnReceipt

RECEIPT_RETRY = 0.2  # seconds before a receipt the engine answered with an error comes again

KNOWN = {"window": "pesan tanpa jawaban per bind", "tps": "pesan per detik per bind", "binds": "jumlah bind",
         "timeout": "detik", "password": "sandi yang diharapkan SMSC uji"}

THROTTLED = 0x58
_smscs: dict[str, MemorySmsc] = {}


@dataclass(slots=True)
class MemoryMO:
    """A citizen's message as the in-memory SMSC hands it over (``MobileOriginated``-shaped)."""

    source_addr: str
    destination_addr: str
    text: str
    data_coding: int = 0
    concat: Any = None


@dataclass
class MemorySmsc:
    """The SMSC double. Tests set its fields between phases; ``submits`` logs every submit."""

    name: str
    password: str = ""  # "" accepts any
    receipt_delay: float = 0.02
    tps: float = 0.0  # 0: no throttling; else ESME_RTHROTTLED beyond it (per bind)
    answer_delay: float = 0.0  # seconds before a submit is answered
    lose_responses: float = 0.0  # share of accepted submits never answered
    lose_receipts: float = 0.0  # share of receipts never sent
    undeliv_share: float = 0.0
    down: bool = False
    seed: int = 1
    submits: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("binds", "bind_failures", "submit_sm", "accepted", "throttled", "responses_lost", "receipts_lost",
         "receipts_sent", "receipts_redelivered", "outages", "mo_sent"), 0))

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._ids = itertools.count(self._rng.randrange(1 << 20, 1 << 24))
        self.binds: list[MemoryBind] = []
        self._pending_receipts: list[asyncio.TimerHandle] = []

    # -- what tests call ----------------------------------------------------------------

    @property
    def bound_receivers(self) -> list[MemoryBind]:
        return [b for b in self.binds if b.bound]

    def go_down(self, *, lose_receipts: bool = True) -> None:
        """An outage: every bind drops, what is in flight stays unanswered; with
        ``lose_receipts``, receipts not yet sent are forgotten."""
        self.down = True
        self.counters["outages"] += 1
        for b in self.binds:
            b._link_lost()
        if lose_receipts:
            for handle in self._pending_receipts:
                if not handle.cancelled():
                    handle.cancel()
                    self.counters["receipts_lost"] += 1
            self._pending_receipts.clear()

    def come_back(self) -> None:
        self.down = False

    def inject_mo(self, source: str, destination: str, text: str) -> int:
        receivers = self.bound_receivers
        if not receivers:
            return 0
        receivers[0]._deliver_mo(MemoryMO(source.lstrip("+"), destination, text))
        self.counters["mo_sent"] += 1
        return 1

    def accepted_by(self) -> list[str]:
        """Recipients ('+' E.164) of every submit the SMSC took, answered or not."""
        return ["+" + r["destination_addr"] for r in self.submits if r.get("message_id")]

    # -- what binds call ----------------------------------------------------------------

    def _submit(self, bind: MemoryBind, sender: str, to: str) -> tuple[str | None, int, bool]:
        """(message id or None, status, answered)."""
        self.counters["submit_sm"] += 1
        rec: dict[str, Any] = {"t": time.time(), "destination_addr": to.lstrip("+"), "source_addr": sender}
        self.submits.append(rec)
        now = time.monotonic()
        if self.tps and (bind._bucket is None or bind._bucket.rate != self.tps):
            bind._bucket = TokenBucket(self.tps, burst=self.tps, now=now)
        if self.tps and bind._bucket is not None and not bind._bucket.try_take(now):
            self.counters["throttled"] += 1
            rec["response_status"] = THROTTLED
            return None, THROTTLED, True
        message_id = f"{next(self._ids):x}"
        self.counters["accepted"] += 1
        rec["message_id"] = message_id
        rec["response_status"] = 0
        self._schedule_receipt(bind, message_id, to, sender)
        if self.lose_responses and self._rng.random() < self.lose_responses:
            self.counters["responses_lost"] += 1
            return message_id, 0, False
        return message_id, 0, True

    def _schedule_receipt(self, bind: MemoryBind, message_id: str, to: str, sender: str) -> None:
        if self.lose_receipts and self._rng.random() < self.lose_receipts:
            self.counters["receipts_lost"] += 1
            return
        undeliv = bool(self.undeliv_share) and self._rng.random() < self.undeliv_share
        stat, err = ("UNDELIV", "001") if undeliv else ("DELIVRD", "000")
        loop = asyncio.get_running_loop()
        handle = loop.call_later(self.receipt_delay, self._send_receipt, bind, message_id, stat, err, to, sender)
        self._pending_receipts.append(handle)
        if len(self._pending_receipts) > 10000:
            self._pending_receipts = [h for h in self._pending_receipts if not h.cancelled()][-5000:]

    def _send_receipt(self, bind: MemoryBind, message_id: str, stat: str, err: str, to: str, sender: str) -> None:
        target = bind if bind.bound else next(iter(self.bound_receivers), None)
        if target is None:  # no receiver: try again later, as an SMSC keeps it
            handle = asyncio.get_running_loop().call_later(0.05, self._send_receipt, bind, message_id, stat, err,
                                                           to, sender)
            self._pending_receipts.append(handle)
            return
        self.counters["receipts_sent"] += 1
        target._deliver_receipt(message_id, stat, err, to, sender)


def smsc(name: str, **settings: Any) -> MemorySmsc:
    """The in-memory SMSC called ``name``, created (or re-configured) with ``settings``."""
    found = _smscs.get(name)
    if found is None:
        found = _smscs[name] = MemorySmsc(name, **settings)
    else:
        for key, value in settings.items():
            setattr(found, key, value)
    return found


def forget(name: str) -> None:
    _smscs.pop(name, None)


def parse(url: str) -> ConnectionSpec:
    parts = urlsplit(url)
    name = parts.hostname or ""
    if not name:
        raise ConnectionURLError(_("URL memory:// perlu nama SMSC uji, misalnya memory://uji?window=16."))
    if name not in _smscs:
        # What the docstring promises: a test double, never a connection an administrator can add.
        raise ConnectionURLError(_("memory:// hanya untuk pengujian (SMSC uji %(name)r tidak ada di proses ini). "
                                   "Gunakan smpp://, kannel:// atau gammu+sqlite:///.") % {"name": name})
    options = split_options(parts.query, KNOWN, "memory")
    window = int_option(options, "window", 16, 1, 10000)
    return ConnectionSpec(kind="memory", url=url, host=name, window=window,
                          tps=float_option(options, "tps", 0.0, 0.0, 100000.0),
                          binds=int_option(options, "binds", 1, 1, 64), options=options)


class MemoryBind:
    """One bind to a ``MemorySmsc``."""

    def __init__(self, spec: ConnectionSpec, *, on_receipt: OnReceipt, on_mo: OnMo) -> None:
        self.spec = spec
        self.window: int = spec.window
        self.timeout = float_option(spec.options, "timeout", 10.0, 0.01, 600.0)
        self.password = spec.options.get("password", "")
        self.on_late_response: OnLate | None = None
        self._on_receipt = on_receipt
        self._on_mo = on_mo
        self._smsc = smsc(spec.host)
        self._bound = False
        self._closing = False
        self._refs = itertools.count(1)
        self._inflight: set[asyncio.Future[tuple[str | None, int]]] = set()
        self._bucket: TokenBucket | None = None
        self._task: asyncio.Task[None] | None = None
        self.last_error = ""

    @property
    def bound(self) -> bool:
        return self._bound and not self._smsc.down

    async def start(self) -> None:
        self._smsc.binds.append(self)
        self._task = asyncio.get_running_loop().create_task(self._supervise())

    async def _supervise(self) -> None:
        while not self._closing:
            if not self.bound:
                if self._smsc.down:
                    self.last_error = "SMSC uji tidak dapat dihubungi"
                elif self._smsc.password and self.password != self._smsc.password:
                    self._smsc.counters["bind_failures"] += 1
                    self.last_error = "bind ditolak: ESME_RINVPASWD (Invalid password)"
                else:
                    self._bound = True
                    self._smsc.counters["binds"] += 1
                    self.last_error = ""
            await asyncio.sleep(0.02)

    async def close(self) -> None:
        self._closing = True
        self._bound = False
        if self._task is not None:
            self._task.cancel()
        if self in self._smsc.binds:
            self._smsc.binds.remove(self)

    def _link_lost(self) -> None:
        self._bound = False
        for fut in list(self._inflight):
            if not fut.done():
                fut.set_exception(ConnectionError("link lost"))

    async def submit(self, sender: str, to: str, text: str, *,
                     valid_until: datetime | None = None) -> Sequence[SubmitResult]:
        n = measure(text).segments
        if n > 255:
            return [SubmitResult(1, 1, None, None, permanent=True, error="teks terlalu panjang")]
        return list(await asyncio.gather(*(self._submit_part(sender, to, i, max(1, n)) for i in range(1, max(1, n) + 1))))

    async def _submit_part(self, sender: str, to: str, part: int, parts: int) -> SubmitResult:
        if not self.bound:
            return SubmitResult(part, parts, None, None, error="tidak terikat ke SMSC uji")
        message_id, status, answered = self._smsc._submit(self, sender, to)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[tuple[str | None, int]] = loop.create_future()
        self._inflight.add(fut)
        if answered:
            delay = self._smsc.answer_delay
            if delay:
                loop.call_later(delay, _resolve, fut, (message_id, status))
            else:
                fut.set_result((message_id, status))
        try:
            message_id, status = await asyncio.wait_for(asyncio.shield(fut), self.timeout)
        except TimeoutError:
            ref = next(self._refs)
            fut.add_done_callback(lambda f: self._late(ref, part, parts, f))
            return SubmitResult(part, parts, None, None, maybe_sent=True, retry_after=self.timeout, ref=ref,
                                error=f"no response to submit_sm within {self.timeout:g}s")
        except ConnectionError:
            return SubmitResult(part, parts, None, None, maybe_sent=True, error="connection lost")
        finally:
            if fut.done():
                self._inflight.discard(fut)
        if status == THROTTLED:
            return SubmitResult(part, parts, None, status, retry_after=1.0,
                                error="submit_sm_resp ESME_RTHROTTLED: Throttling error")
        return SubmitResult(part, parts, message_id, status)

    def _late(self, ref: int, part: int, parts: int, fut: asyncio.Future[tuple[str | None, int]]) -> None:
        self._inflight.discard(fut)
        if fut.cancelled() or fut.exception() is not None or self.on_late_response is None:
            return
        message_id, status = fut.result()
        self.on_late_response(ref, SubmitResult(part, parts, message_id, status, ref=ref))

    def _deliver_receipt(self, message_id: str, stat: str, err: str, to: str, sender: str) -> None:
        ack = asyncio.ensure_future(self._on_receipt(message_id, stat, "" if stat == "DELIVRD" else err,
                                                     to.lstrip("+"), sender))

        def answered(fut: asyncio.Future[Any]) -> None:
            # Answered with an error (the engine could not commit it): an SMSC keeps the receipt
            # and delivers it again later, as over SMPP a deliver_sm_resp with an error status.
            if not fut.cancelled() and fut.exception() is not None:
                self._smsc.counters["receipts_redelivered"] += 1
                handle = asyncio.get_running_loop().call_later(
                    RECEIPT_RETRY, self._smsc._send_receipt, self, message_id, stat, err, to, sender)
                self._smsc._pending_receipts.append(handle)
        ack.add_done_callback(answered)

    def _deliver_mo(self, item: MemoryMO) -> None:
        asyncio.ensure_future(self._on_mo(item)).add_done_callback(_consume)


def _consume(fut: asyncio.Future[Any]) -> None:
    # An MO the engine could not commit is not retried here (the TCP simulator covers its
    # redelivery); reading the exception keeps asyncio from logging it as unhandled.
    if not fut.cancelled():
        fut.exception()


def _resolve(fut: asyncio.Future[tuple[str | None, int]], value: tuple[str | None, int]) -> None:
    if not fut.done():
        fut.set_result(value)


def open_bind(spec: ConnectionSpec, *, on_receipt: OnReceipt, on_mo: OnMo) -> MemoryBind:
    return MemoryBind(spec, on_receipt=on_receipt, on_mo=on_mo)


async def test(spec: ConnectionSpec, timeout: float = 10.0) -> dict[str, Any]:
    found = _smscs.get(spec.host)
    if found is None or found.down:
        raise ConnectionURLError(_("SMSC uji %(n)s tidak ada.") % {"n": spec.host})
    return {"bound_seconds": 0.0}
