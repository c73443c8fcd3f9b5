"""The queue: claims, ``sending`` marks, submit results, late answers, receipts, expiry, MOs.

Every state change here is a transition of ``warta.blasts.transitions`` (the one table); these
methods decide *which* transition, from what the transport said. Database steps, each callable
alone from a test."""

from __future__ import annotations

import logging
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

from warta.blasts import outbox
from warta.blasts.models import Blast, MessagePart, OutboxCount, SenderID
from warta.blasts.transitions import NO_REPORT, Later
from warta.lib.fastsql import bound_cursor

from .. import hooks
from ..receipts import InReceipt, PartRow, insert_parts
from ._base import EngineBase
from ._types import (
    MAX_ATTEMPTS,
    OC,
    THROTTLE_REQUEUE,
    THROTTLE_STATUSES,
    B,
    FlushResult,
    InMo,
    Item,
    LateAnswer,
    M,
    Outcome,
    S,
    _chunks,
    _execute,
    _in,
    _status_label,
    backoff_delay,
)

log = logging.getLogger("warta.gateway.engine")


class QueueSteps(EngineBase):
    """Claiming, marking and accounting for messages."""

    def active_blasts(self) -> list[Blast]:
        """Active blasts with queued messages, emergency first: ONE query over the counter rows of
        active blasts (plus one for blasts not seen before), however many blasts history holds
        and however many are active but empty. Kept for half a second while claims find work;
        an empty claim asks again next time. About once a second this also runs the blasts'
        clock (``outbox.sweep``: finished blasts become ``done``, quiet hours hold and resume).
        Under a lock: the send lane runs claims on several threads."""
        with self._blasts_lock:
            return self._active_blasts()

    def _active_blasts(self) -> list[Blast]:
        mono = time.monotonic()
        if mono >= self._next_blast_clock:
            self._next_blast_clock = mono + 1.0
            outbox.sweep(self.now())
            self._active_until = 0.0
        if mono < self._active_until:
            return self._active
        with bound_cursor() as cur:
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

    def claim_batch(self, limit: int, senders: set[str] | None = None, *, mark_conn: int | None = None,
                    operators: set[str] | None = None, not_operators: set[str] | frozenset[str] = frozenset(),
                    marks: list[tuple[int, datetime]] | None = None) -> list[Item]:
        """Claim up to ``limit`` due messages, emergency blasts first. Opted-out numbers among
        them are ``suppressed`` at once and not returned.

        With ``mark_conn`` the claim is also the ``sending`` mark (for that connection), in the
        same UPDATE: ``limit`` is then free window slots (parts), and the caller must send or
        ``unmark`` every returned item right after the commit. That saves a whole row update (and
        its index writes) per message against claim-then-mark; ``step`` uses it when the buffer
        is empty, so the rows marked never exceed the free window slots.

        With ``operators`` only messages to those operators are claimed (``claim_per_conn``).
        ``marks`` gets the name of the rows marked (``unmark_claim``).
        """
        if limit <= 0:
            return []
        now = self.now() if mark_conn is None else self._mark_time(mark_conn, marks)
        items: list[Item] = []
        # PostgreSQL with the contacts app's suppression: the claim itself says which numbers
        # are suppressed (no query of its own on the path to the next submit).
        in_sql = self.is_postgres and self.suppression is outbox.suppressed_numbers
        flagged: set[str] = set()
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
            rows = self.outbox.claim(blast.pk, want, now, engine_id=self.engine_id, mark_conn=mark_conn,
                                     operators=operators, not_operators=not_operators,
                                     flag=outbox.suppressed_sql('m."to"') if in_sql else "")
            got_any = got_any or bool(rows)
            got = self._items(blast, blast_parts, rows, flagged)
            items.extend(got)
            taken += len(got) if mark_conn is None else sum(i.parts for i in got)
        if not got_any:
            self._active_until = 0.0  # nothing due in the blasts listed: list them again next time
        if items:
            items = self._suppress(items, S.QUEUED if mark_conn is None else S.SENDING,
                                   blocked=flagged if in_sql else None)
        items.sort(key=lambda i: (-self._blasts[i.blast_id].priority, i.id))
        return items

    def _items(self, blast: Blast, blast_parts: int, rows: Sequence[tuple[Any, ...]], flagged: set[str]) -> list[Item]:
        """Claimed rows ``(id, to, operator, text, attempts[, suppressed])`` → items; the
        numbers the claim said are suppressed go to ``flagged``."""
        mono = time.monotonic()
        items: list[Item] = []
        for id_, to, operator, text, attempts, *flag in rows:
            items.append(Item(id_, blast.pk, to, operator, text or blast.text, blast.sender.name, attempts,
                              blast.resend_unknown, self._parts_needed(text) if text else blast_parts,
                              claimed_at=mono, valid_until=blast.valid_until))
            if flag and flag[0]:
                flagged.add(to)
        return items

    def claim_marked_later(self, limit: int, senders: set[str] | None, conn_id: int, later: Later,
                           result: FlushResult, marks: list[tuple[int, datetime]] | None = None) -> None:
        """``claim_batch(limit, senders, mark_conn=conn_id)`` for the send lane's pipeline: the
        claim is queued and its rows read after the COMMIT (``Later``), which fills
        ``result.direct`` and ``result.flagged``. One blast per turn — the first the sender allows
        with room for its text — since how many rows it gave is known only after the COMMIT; the
        next turn claims from the next blast when this one ran dry. Opted-out numbers are
        suppressed after the COMMIT (``suppress_claimed``), not in this transaction. The claim's
        (connection, ``sent_at``) goes in ``result.mark``: should its rows not be read after the
        COMMIT, they are found again by it (``unmark_claim``); ``marks`` gets it too."""
        now = self._mark_time(conn_id, marks)
        in_sql = self.suppression is outbox.suppressed_numbers
        for blast in self.active_blasts():
            if senders is not None and blast.sender.name not in senders:
                continue
            blast_parts = self._parts_needed(blast.text)
            want = limit // blast_parts
            if want <= 0:
                continue

            def then(rows: list[tuple[Any, ...]], blast: Blast = blast, blast_parts: int = blast_parts) -> None:
                if not rows:
                    self._active_until = 0.0  # this blast ran dry: list the blasts again next time
                flagged: set[str] = set()
                result.direct.extend(self._items(blast, blast_parts, rows, flagged))
                result.flagged = flagged if in_sql else None  # None: ask the suppression function

            self.outbox.claim(blast.pk, want, now, engine_id=self.engine_id, mark_conn=conn_id,
                              flag=outbox.suppressed_sql('m."to"') if in_sql else "", later=(later, then))
            result.mark = (conn_id, now)
            return
        self._active_until = 0.0

    def suppress_claimed(self, result: FlushResult) -> None:
        """After a ``claim_marked_later`` commit: its opted-out numbers' messages (marked
        ``sending``, not sent) become ``suppressed``, in a transaction of their own, and leave
        ``result.direct``. A crash before it leaves them ``sending``, within the window bound
        like any marked message, and they become ``unknown`` without having been sent."""
        if result.direct and result.flagged != set():
            with self._counted():
                result.direct = self._suppress(result.direct, S.SENDING, blocked=result.flagged)
        result.direct.sort(key=lambda i: (-self._blasts[i.blast_id].priority, i.id))

    def claim_per_conn(self, wants: Sequence[tuple[int, set[str] | None, set[str] | None, set[str]]]) -> list[Item]:
        """Claim for each connection up to its own demand, only rows it can carry: ``wants`` is
        ``(rows, senders, operators, operators not)`` per connection. One claim per connection and active blast
        (a few queries per turn); a connection that finds nothing does not make the others'
        blast list stale — only a turn where every claim came back empty does."""
        if not self.active_blasts():
            return []  # idle: one query, not one per connection
        items: list[Item] = []
        for limit, senders, operators, not_operators in wants:
            until = self._active_until
            got = self.claim_batch(limit, senders, operators=operators, not_operators=not_operators)
            if not got:
                self._active_until = until
            items.extend(got)
        if not items:
            self._active_until = 0.0  # nothing due for anyone: list the blasts again next time
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

    def _suppress(self, items: list[Item], state: str = S.QUEUED, blocked: set[str] | None = None) -> list[Item]:
        """Opted-out numbers' messages become ``suppressed`` — blasts only: service messages the
        citizen started (priority ``REPLY``: the BERHENTI confirmation, acknowledgements, STATUS
        answers, staff replies) are sent whatever the opt-out (``outbox.is_opt_out_exempt``).
        ``blocked``: the suppressed numbers among ``items`` when the claim already said."""
        subject = [i for i in items if not outbox.is_opt_out_exempt(self._blasts[i.blast_id].priority)]
        if blocked is None:
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

    def mark_sending(self, plan: dict[int, list[Item]],
                     marks: list[tuple[int, datetime]] | None = None) -> tuple[set[int], set[int]]:
        """Mark planned messages ``sending`` (per connection), if still queued, ours, valid and of
        an active blast. Returns (marked ids, dropped ids); dropped rows were cancelled, paused
        (released) or expired here. ``marks`` gets the name of each connection's rows marked
        (``unmark_claim``)."""
        now = self._mark_time()
        marked: set[int] = set()
        planned: dict[int, Item] = {}
        for conn_id, items in plan.items():
            if marks is not None:
                marks.append((conn_id, now))
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
        with self._counted():
            self.outbox.move("unmark", [i.id for i in items], set_params=[when], where="engine_id=%s",
                             where_params=[self.engine_id])

    def unmark_claim(self, mark: tuple[int, datetime], delay: float = 0.0) -> int:
        """``unmark`` the rows one mark or claim marked ``sending`` whose ids the engine does not
        know — a claim whose rows could not be read after its COMMIT (``FlushResult.unread``), a
        send transaction whose COMMIT's answer was lost — found by what the mark wrote: this
        engine, the connection and its ``sent_at``, which no other mark of this engine shares
        (``_mark_time``). None of them was sent: the engine sends only rows it has read from a
        transaction it saw commit. Returns how many went back (none when the transaction had in
        fact rolled back)."""
        conn_id, at = mark
        when = self.now() + timedelta(seconds=delay)
        with self._counted():
            rows = self.outbox.move_where("unmark", "engine_id=%s AND connection_id=%s AND sent_at=%s",
                                          [self.engine_id, conn_id, at], set_params=[when])
        return len(rows)

    def _mark_time(self, conn_id: int | None = None, marks: list[tuple[int, datetime]] | None = None) -> datetime:
        """``now`` for a ``sending`` mark, always later than this engine's previous mark (by a
        microsecond if need be, under a frozen clock or two send lanes): with the connection it
        is then the name of the rows the mark wrote (``unmark_claim``), added to ``marks``. A
        clock stepped back keeps the marks a microsecond apart at the last time until it has
        caught up (``sent_at`` a little late: the no-receipt sweep waits that much longer)."""
        now = self.now()
        with self._mark_lock:
            if now <= self._last_mark:
                now = self._last_mark + timedelta(microseconds=1)
            self._last_mark = now
        if marks is not None and conn_id is not None:
            marks.append((conn_id, now))
        return now

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

    def apply_responses(self, outcomes: Sequence[Outcome], later: Later | None = None) -> None:
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

        ``later`` (the send lane, PostgreSQL): the ``submitted`` statements are read after the
        COMMIT (``Later``); a blast this engine has not seen accepted yet is read at once, as its
        ``started_at`` is written from the rows."""
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
        parts_written = False
        for conn_id, ocs in ok.items():
            by_id = {oc.item.id: oc for oc in ocs}
            # The SMSC accepted these: counted per answer, not per row moved, like the errors
            # and throttled answers. A transaction whose COMMIT answer was lost is applied
            # again and then moves no row (it did commit); counted by rows, its submits were
            # lost with it. Its counts are dropped with the failed transaction either way, so
            # each accepted answer is written once.
            self._gdeltas[(conn_id, "submits", "")] += len(ocs)
            if self.is_postgres:
                # Written by the submitted UPDATE itself (one statement, see Outbox.submit).
                conn_parts = [(oc.item.id, conn_id, r.message_id, r.part, r.parts, now) for oc in ocs for r in oc.results]
                if later is not None and not {oc.item.blast_id for oc in ocs} - self._started:
                    self._mark_submitted(conn_id, ocs, now, parts=conn_parts,
                                         later=(later, self._submitted_later))
                    parts_written = True
                    continue
                rows = self._mark_submitted(conn_id, ocs, now, parts=conn_parts)
                parts_written = parts_written or bool(rows)
            else:
                rows = self._mark_submitted(conn_id, ocs, now)
            for id_, blast_id in rows:
                self.outbox.note(blast_id, OutboxCount.COST, self._cost_of(by_id[id_]))
                if not self.is_postgres:
                    for r in by_id[id_].results:
                        parts.append((id_, conn_id, r.message_id, r.part, r.parts, now))
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
        if (parts or parts_written) and self._pending_hint and not self._in_send_lane:
            # In the send lane this waits for the results lane's periodic match instead: it is
            # the path between a freed window slot and the next submit.
            self.match_pending_receipts()

    def _submitted_later(self, rows: list[tuple[Any, ...]]) -> None:
        """The rows a ``later`` submit moved (its counts and costs booked by the statement)."""
        self.stats["submitted"] += len(rows)

    def _remember_late(self, conn_id: int, ref: int, message_id: int, part: int, parts: int) -> None:
        refs = self._late_refs
        refs[(conn_id, ref)] = (message_id, part, parts)
        if len(refs) > 100_000:
            del refs[next(iter(refs))]

    def _cost_of(self, oc: Outcome) -> Any:
        """Rupiah for one accepted message: segments × its operator's tariff (cached 60 s, so
        no query per message; a tariff changed in the settings applies within a minute)."""
        return outbox.message_cost(self._tariff_table(), oc.item.sender, oc.item.operator,
                                   max(oc.item.parts, len(oc.results)))

    def _tariff_table(self) -> dict[str, Any]:
        mono = time.monotonic()
        if mono >= self._tariffs_until:
            self._tariffs = outbox.tariff_table()
            self._tariffs_until = mono + 60.0
        return self._tariffs

    def _mark_submitted(self, conn_id: int, ocs: list[Outcome], now: datetime, parts: Sequence[PartRow] = (),
                        later: tuple[Later, Callable[[list[tuple[Any, ...]]], None]] | None = None
                        ) -> list[tuple[Any, ...]]:
        """``sending`` → ``submitted`` with each message's cost (``Outbox.submit``), and on
        PostgreSQL their parts in the same statement (read after the COMMIT with ``later``)."""
        return self.outbox.submit([(oc.item.id, self._cost_of(oc)) for oc in ocs], conn_id, now,
                                  engine_id=self.engine_id, parts=parts, later=later)

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
        made. A message already sent again keeps both parts; either receipt settles it, and it
        is charged for both submits (the operator bills both)."""
        if not late:
            return
        now = self.now()
        parts: list[PartRow] = []
        for la in late:
            hit = self._late_refs.pop((la.conn_id, la.ref), None)
            self._gdeltas[(la.conn_id, "late_responses", "")] += 1
            if hit is None or not la.result.ok:
                continue
            mid, part, nparts = hit
            parts.append((mid, la.conn_id, la.result.message_id, part, nparts, now))
        if not parts:
            return
        # A message id already stored is the same submit, settled another way (its receipt
        # matched by number): it must not be charged again.
        known = set(MessagePart.objects.filter(
            connection_id__in={p[1] for p in parts}, smsc_message_id__in=[p[2] for p in parts]
        ).values_list("connection_id", "smsc_message_id"))
        insert_parts(parts)
        by_conn: dict[int, tuple[list[int], list[int]]] = defaultdict(lambda: ([], []))
        for mid, conn_id, smsc_id, _part, nparts, _at in parts:
            if nparts == 1:
                seen, new = by_conn[conn_id]
                (seen if (conn_id, smsc_id) in known else new).append(mid)
        for conn_id, (seen, new) in by_conn.items():
            # A queued row we hold in the buffer is dropped by mark_sending (its state changed).
            if seen:
                self.receipts.settle_late(conn_id, seen, now)
            if new:
                self.receipts.settle_late(conn_id, new, now, charge_resent=True)
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

    def _update_returning(self, sql: str, head: list[Any], ids: Sequence[int], tail: list[Any]) -> list[tuple[Any, ...]]:
        """Run ``sql`` (with ``{ids}`` for the IN list) over ``ids`` in chunks; all rows returned."""
        out: list[tuple[Any, ...]] = []
        with bound_cursor() as cur:
            if self.is_postgres and " IN ({ids})" in sql:
                # One statement with an array instead of chunked IN lists: fewer round trips and
                # one short statement to parse instead of one per 500 ids.
                _execute(cur, sql.replace(" IN ({ids})", " = ANY(%b::bigint[])"), [*head, list(ids), *tail])
                return list(cur.fetchall())
            for chunk in _chunks(list(ids)):
                _execute(cur, sql.format(ids=_in(len(chunk))), [*head, *chunk, *tail])
                out.extend(cur.fetchall())
        return out
