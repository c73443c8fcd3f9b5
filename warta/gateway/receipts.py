"""The receipt service: delivery receipts → final states, one path for every transport.

Theory of operation
-------------------
The engine (SMPP deliver_sm, the in-memory transport) and the Kannel ``dlr-url`` callback both
hand receipts to a ``ReceiptService`` inside their own transaction; it applies them through the
outbox's state machine (``warta.blasts.transitions``), so the same receipt settles a message the
same way whoever received it, with its counters in the same transaction.

* **Matching.** A receipt names the SMSC's message id; ``MessagePart`` maps (connection, id) to a
  message. Single-part messages still ``submitted`` are settled directly (on PostgreSQL in one
  ``UPDATE … FROM parts`` per outcome); a multipart message takes the worst state of its parts
  once every part has its receipt.
* **Not yet matched.** A receipt whose part is not saved yet (the response is still in flight,
  or on another engine's bind) is stored in ``Receipt`` with the handset and sender, and
  ``match_pending`` applies it once the part exists. No waiting in a web request: the Kannel
  callback stores it and answers; the engine matches it within a loop turn or two.
* **Lost responses.** A receipt whose id will never have a part (its submit_sm_resp was lost,
  the link died) is matched by (connection, handset, sender) to the message in doubt
  (``unknown_count > 0``) by ``match_orphans``, which gives that message the part; receipts
  nobody claims within ``ORPHAN_RECEIPT_AFTER`` are given up and counted per connection.
* **What a receipt said** is kept: a failure's ``stat`` and ``err`` go to the message's error
  (``UNDELIV err:001``), shown per recipient.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection
from django.db.models import Case, IntegerField, Q, Value, When
from django.utils import timezone

from warta.blasts.models import MessagePart, OutboundMessage, OutboxCount, Receipt
from warta.blasts.outbox import RECEIPT_STATES, message_cost, tariff_table
from warta.blasts.transitions import RECEIPT_FINAL, Outbox, execute, update_ids
from warta.lib.fastsql import bound_cursor

S: Any = OutboundMessage.State  # TextChoices: Any to mypy (Django ships no types)
M = OutboundMessage._meta.db_table
P = MessagePart._meta.db_table
R = Receipt._meta.db_table

ORPHAN_RECEIPT_AFTER = timedelta(hours=1)  # an unmatched receipt is given up (and counted) after
#: Receipt ``stat`` words that end a message (the keys of the one stat → state map).
FINAL_STATS: frozenset[str] = frozenset(RECEIPT_STATES)

Gauges = dict[tuple[int | None, str, str], float]
PartRow = tuple[int, int, str, int, int, datetime]  # message, connection, smsc id, part, parts, at


@dataclass(slots=True)
class InReceipt:
    conn_id: int
    smsc_id: str
    stat: str
    error: str
    at: datetime
    ack: Any = None  # asyncio.Future[None]: resolved once committed (the transport answers then)
    source: str = ""  # the handset (receipt's source_addr), for matching when the id is unknown
    sender: str = ""  # our sender (receipt's destination_addr)
    # The receipt's ``text:`` (the message's first characters, appendix B), read only when the
    # receipt matches no part and is stored: parsing it costs more than the rest of a receipt.
    text: Callable[[], str] | None = None


def receipt_detail(state: str, rc: InReceipt) -> str:
    """What a final receipt said, kept on the message (shown per recipient): ``stat`` and
    ``err`` of a failure, e.g. ``UNDELIV err:001``; nothing for a delivered message."""
    if state == S.DELIVERED:
        return ""
    return f"{rc.stat.upper()} err:{rc.error}" if rc.error else rc.stat.upper()


def insert_parts(parts: Sequence[PartRow]) -> None:
    """Parts of accepted messages, in one statement.

    ON CONFLICT DO NOTHING: an SMSC that repeats a message id must not abort the whole batch;
    the unique (connection, smsc_message_id) constraint keeps the first.
    """
    if not parts:
        return
    if connection.vendor == "postgresql":
        # One INSERT … SELECT FROM unnest(arrays): one statement executed once, instead of one
        # execution (and one set of index probes planned) per row.
        cols = list(zip(*parts, strict=True))
        with bound_cursor() as cur:
            cur.execute(
                f"INSERT INTO {P} (message_id, connection_id, smsc_message_id, part, parts, state, submitted_at) "
                f"SELECT m, c, s, p, n, %s, a FROM unnest(%b::bigint[], %b::bigint[], %b::text[], "
                f"%b::smallint[], %b::smallint[], %b::timestamptz[]) AS t(m, c, s, p, n, a) "
                f"ON CONFLICT DO NOTHING", [S.SUBMITTED, *(list(c) for c in cols)])
        return
    ops = connection.ops
    rows = [(mid, cid, smsc_id, part, nparts, S.SUBMITTED, ops.adapt_datetimefield_value(at))
            for mid, cid, smsc_id, part, nparts, at in parts]
    with bound_cursor() as cur:
        cur.executemany(
            f"INSERT INTO {P} (message_id, connection_id, smsc_message_id, part, parts, state, submitted_at) "
            f"VALUES (%s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING", rows)


def _aware(value: Any) -> datetime:
    if isinstance(value, str):  # SQLite through a raw cursor
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return timezone.make_aware(value, UTC) if timezone.is_naive(value) else value


def _e164(addr: str) -> str:
    """A receipt's source_addr as the outbox stores numbers (E.164 with '+')."""
    digits = addr.lstrip("+")
    if digits.startswith("0"):
        digits = "62" + digits[1:]
    return "+" + digits


def _addr(value: str) -> str:
    return value.lstrip("+").lower()


class ReceiptService:
    """Applies receipts in the caller's transaction; counters go to ``outbox`` and ``gauges``.

    ``engine_id``: the engine whose buffered (queued, claimed) rows a receipt may settle too.
    ``parts_needed(text)``: segments of a text (orphan matching only takes single-part messages).
    """

    def __init__(self, outbox: Outbox | None = None, gauges: Gauges | None = None, *,
                 stats: dict[str, int] | None = None, clock: Callable[[], datetime] = timezone.now,
                 engine_id: str | None = None, parts_needed: Callable[[str], int] | None = None) -> None:
        self.outbox = outbox if outbox is not None else Outbox()
        self.gauges: Gauges = gauges if gauges is not None else defaultdict(float)
        self.stats: dict[str, int] = stats if stats is not None else defaultdict(int)
        self.now = clock
        self.engine_id = engine_id or ""
        self.parts_needed = parts_needed or _parts_needed
        self.is_postgres = connection.vendor == "postgresql"
        #: Set when receipts wait in ``Receipt``; cleared by ``match_pending`` finding none.
        self.pending_hint = True

    # -- applying ---------------------------------------------------------------------------

    def apply(self, receipts: Sequence[InReceipt], *, store_unmatched: bool = True) -> list[InReceipt]:
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
        for conn_id, rcs in by_conn.items():
            if self.is_postgres:
                rcs = self._settle_single_part(conn_id, rcs, now)
                if not rcs:
                    continue
            found: dict[str, tuple[int, int, int, datetime]] = {}
            keys = list(rcs)
            # PostgreSQL: one array parameter instead of chunked IN lists.
            chunks = [keys] if self.is_postgres else [keys[i:i + 500] for i in range(0, len(keys), 500)]
            for chunk in chunks:
                with bound_cursor() as cur:
                    execute(cur, f"SELECT smsc_message_id, id, message_id, parts, submitted_at FROM {P} "
                                 f"WHERE connection_id=%s AND smsc_message_id "
                                 + ("= ANY(%b::text[])" if self.is_postgres else f"IN ({','.join(['%s'] * len(chunk))})"),
                            [conn_id, list(chunk)] if self.is_postgres else [conn_id, *chunk])
                    for smsc_id, pid, mid, nparts, sub_at in cur.fetchall():
                        found[smsc_id] = (pid, mid, nparts, sub_at)
            for smsc_id, rc in rcs.items():
                hit = found.get(smsc_id)
                if hit is None:
                    unmatched.append(rc)
                    continue
                state = RECEIPT_STATES.get(rc.stat.upper())
                self.gauges[(conn_id, "receipts", rc.stat.upper()[:40])] += 1
                if state is None:
                    continue  # ENROUTE / ACCEPTD: not final; wait for the next one
                pid, mid, nparts, sub_at = hit
                self._latency(conn_id, rc.at, _aware(sub_at))
                if nparts == 1:
                    single[(state, receipt_detail(state, rc))].append(mid)
                else:
                    multi.append((pid, mid, state, rc.at))
        for (state, detail), mids in single.items():
            rows = self.outbox.move("receipt", mids, to=state, set_params=[now, detail])
            self.stats["final"] += len(rows)
        if multi:
            self._apply_multipart(multi, now)
        if unmatched and store_unmatched:
            Receipt.objects.bulk_create([Receipt(connection_id=rc.conn_id, smsc_message_id=rc.smsc_id[:65],
                                                 stat=rc.stat[:12], error=(rc.error or "")[:16], received_at=rc.at,
                                                 source=rc.source[:21], destination=rc.sender[:21],
                                                 text=_snippet(rc))
                                         for rc in unmatched])
            self.pending_hint = True
            self.stats["receipts_pending"] += len(unmatched)
        return unmatched

    def _latency(self, conn_id: int, at: datetime, submitted_at: datetime | float) -> None:
        sent = submitted_at if isinstance(submitted_at, float) else submitted_at.timestamp()
        lag = max(0.0, at.timestamp() - sent)
        self.gauges[(conn_id, "receipt_latency_seconds_sum", "")] += lag
        self.gauges[(conn_id, "receipt_latency_count", "")] += 1

    def _settle_single_part(self, conn_id: int, rcs: dict[str, InReceipt], now: datetime) -> dict[str, InReceipt]:
        """PostgreSQL: final receipts of single-part messages still ``submitted``, looked up and
        applied in one ``UPDATE … FROM parts`` per outcome — the part lookup was a round trip
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
        for (state, detail), smsc_ids in by_state.items():
            rows = self.outbox.receipt_by_part(conn_id, smsc_ids, state, detail, now)
            for smsc_id, _blast_id, sub_at in rows:
                rc = rest.pop(smsc_id)
                self.gauges[(conn_id, "receipts", rc.stat.upper()[:40])] += 1
                self._latency(conn_id, rc.at, sub_at)
            self.stats["final"] += len(rows)
        return rest

    def _apply_multipart(self, multi: list[tuple[int, int, str, datetime]], now: datetime) -> None:
        by_state: dict[str, list[int]] = defaultdict(list)
        for pid, _mid, state, _at in multi:
            by_state[state].append(pid)
        for state, pids in by_state.items():
            update_ids(f"UPDATE {P} SET state=%s, receipt_at=%s WHERE id IN ({{ids}}) RETURNING id",
                       [state, now], pids, [], postgres=self.is_postgres)
        mids = sorted({m for _p, m, _s, _a in multi})
        parts_of: dict[int, list[str]] = defaultdict(list)
        for i in range(0, len(mids), 500):
            chunk = mids[i:i + 500]
            with bound_cursor() as cur:
                execute(cur, f"SELECT message_id, state, receipt_at FROM {P} "
                             f"WHERE message_id IN ({','.join(['%s'] * len(chunk))})", chunk)
                for mid, state, receipt_at in cur.fetchall():
                    parts_of[mid].append(state if receipt_at is not None else S.SUBMITTED)
        final: dict[str, list[int]] = defaultdict(list)
        sev: dict[str, int] = dict(OutboundMessage.SEVERITY)
        for mid, states in parts_of.items():
            if S.SUBMITTED in states:
                continue  # a part still waits for its receipt
            final[max(states, key=lambda s: sev.get(s, 0))].append(mid)
        for state, ids in final.items():
            self.outbox.move("receipt", ids, to=state, set_params=[now, "" if state == S.DELIVERED else state.upper()])

    # -- matching later -------------------------------------------------------------------

    def match_pending(self, limit: int = 5000) -> int:
        """Apply stored receipts whose part has since been saved; mark them matched."""
        with bound_cursor() as cur:
            execute(cur,
                    f"SELECT r.id, r.connection_id, r.smsc_message_id, r.stat, r.error, r.received_at FROM {R} r "
                    f"JOIN {P} p ON p.connection_id=r.connection_id AND p.smsc_message_id=r.smsc_message_id "
                    f"WHERE r.matched_at IS NULL LIMIT %s", [limit])
            rows = cur.fetchall()
            if not rows:
                execute(cur, f"SELECT 1 FROM {R} WHERE matched_at IS NULL LIMIT 1")
                self.pending_hint = cur.fetchone() is not None
                return 0
        receipts = [InReceipt(conn_id, smsc_id, stat, error, _aware(at))
                    for _rid, conn_id, smsc_id, stat, error, at in rows]
        self.apply(receipts, store_unmatched=False)
        update_ids(f"UPDATE {R} SET matched_at=%s WHERE id IN ({{ids}}) RETURNING id",
                   [self.now()], [r[0] for r in rows], [], postgres=self.is_postgres)
        self.stats["receipts_matched_late"] += len(rows)
        return len(rows)

    def settle_late(self, conn_id: int, message_ids: Sequence[int], now: datetime, *,
                    charge_resent: bool = False) -> set[int]:
        """Messages in doubt that an answer (late response, or receipt by number) showed the
        SMSC took: ``submitted`` (a resend not yet made is then not made), with the cost a
        submit records (segments × tariff) — the operator bills an accepted submit however
        late its answer came, and the month's cost figures add these rows. Returns the ids
        settled.

        ``charge_resent`` (the evidence carries an SMSC message id no part had: a late
        submit_sm_resp, or a receipt matched by number): a message no longer in doubt was sent
        again before this submit's answer came — both submits were accepted and billed, so the
        row and its blast get one more submit's cost (``Outbox.add_cost``)."""
        costs = self._costs(message_ids)
        by_cost: dict[Any, list[int]] = defaultdict(list)
        for mid, cost in costs.items():
            by_cost[cost].append(mid)
        moved: set[int] = set()
        for cost, ids in by_cost.items():
            rows = self.outbox.move("late_accept", ids, set_params=[now, conn_id, cost],
                                    where="(engine_id IS NULL OR engine_id=%s)", where_params=[self.engine_id])
            for id_, blast_id in rows:
                self.outbox.note(blast_id, OutboxCount.COST, cost)
                moved.add(id_)
        self.stats["settled_late"] += len(moved)
        if charge_resent:
            extra = [(mid, cost) for mid, cost in costs.items() if mid not in moved]
            self.stats["charged_resent"] += len(self.outbox.add_cost(extra))
        return moved

    def _costs(self, message_ids: Sequence[int]) -> dict[int, Any]:
        """Each message's cost as ``Engine._cost_of`` computes it at submit. Late answers are
        rare: one read of the rows and the tariffs per call."""
        table = tariff_table()
        rows = OutboundMessage.objects.filter(pk__in=list(message_ids)).values_list(
            "id", "operator", "text", "blast__text", "blast__sender__name")
        return {mid: message_cost(table, sender, operator, self.parts_needed(text or blast_text))
                for mid, operator, text, blast_text, sender in rows}

    def match_orphans(self, limit: int = 1000) -> int:
        """Receipts whose id matches no part because the submit_sm_resp never came (lost, or
        the link died): matched by (connection, handset, sender) to the message in doubt —
        ``unknown_count > 0``, still not final, else one that another submit of it settled (sent
        again before this one's answer came; the receipt is then a second accepted submit and
        is charged) — which then gets the part (and is settled by ``match_pending``). Receipts nobody claims within ``ORPHAN_RECEIPT_AFTER`` are given up
        (``matched_at`` set) and counted as ``receipts_orphaned`` per connection."""
        now = self.now()
        settle_after = now - timedelta(seconds=2)  # the normal path had its chance
        rows = list(Receipt.objects.filter(matched_at__isnull=True, received_at__lt=settle_after)
                    .exclude(source="").order_by("id")
                    .values_list("id", "connection_id", "smsc_message_id", "source", "destination", "text")[:limit])
        parts: list[PartRow] = []
        if rows:
            # By (id, connection), the parts' unique index: only these receipts' own parts.
            known = set(MessagePart.objects.filter(connection_id__in={r[1] for r in rows},
                                                   smsc_message_id__in=[r[2] for r in rows])
                        .values_list("connection_id", "smsc_message_id"))
            settle: dict[int, list[int]] = defaultdict(list)
            taken: set[int] = set()
            for _rid, conn_id, smsc_id, source, destination, snippet in rows:
                if (conn_id, smsc_id) in known:
                    continue  # its part exists: match_pending applies it
                # used by: outbox_in_doubt (partial index on "to" where unknown_count > 0).
                # In doubt first; then one already settled by another submit (sent again before
                # this one's answer came): this receipt is a second accepted submit, to be billed.
                cands = (OutboundMessage.objects
                         .filter(Q(state__in=[S.UNKNOWN, S.QUEUED, S.SENDING, S.SUBMITTED])
                                 | Q(state__in=RECEIPT_FINAL, sent_at__gte=now - ORPHAN_RECEIPT_AFTER),
                                 to=_e164(source), unknown_count__gt=0, connection_id=conn_id)
                         .annotate(settled=Case(When(state__in=RECEIPT_FINAL, then=Value(1)), default=Value(0),
                                                output_field=IntegerField()))
                         .order_by("settled", "-sent_at").values_list("id", "blast__sender__name", "text", "blast__text"))
                # Of several in doubt, the one whose text the receipt quotes (``text:``, the
                # first characters) first; without a quote, or quoting none, the most recent.
                cands = sorted(cands, key=lambda c: not _quotes(snippet, c[2] or c[3]))
                for mid, sender, text, blast_text in cands:
                    if mid in taken or _addr(sender) != _addr(destination):
                        continue
                    if self.parts_needed(text or blast_text) != 1:
                        continue
                    taken.add(mid)
                    parts.append((mid, conn_id, smsc_id, 1, 1, now))
                    settle[conn_id].append(mid)
                    break
            if parts:
                insert_parts(parts)
                for conn_id, mids in settle.items():
                    # Each receipt here has a message id no part had: a submit of its own, billed.
                    self.settle_late(conn_id, mids, now, charge_resent=True)
                self.gauges[(None, "receipts_matched_by_number", "")] += len(parts)
                self.stats["receipts_matched_by_number"] += len(parts)
                self.match_pending()
        # Given up: nobody will ever claim them (a message long final, an id of another system).
        old = list(Receipt.objects.filter(matched_at__isnull=True, received_at__lt=now - ORPHAN_RECEIPT_AFTER)
                   .values_list("id", "connection_id")[:limit])
        if old:
            Receipt.objects.filter(id__in=[r[0] for r in old]).update(matched_at=now)
            for _rid, conn_id in old:
                self.gauges[(conn_id, "receipts_orphaned", "")] += 1
        return len(parts)


def _snippet(rc: InReceipt) -> str:
    """The stored quote of a receipt matching no part (``Receipt.text``); never fails the batch."""
    if rc.text is None:
        return ""
    try:
        return " ".join(rc.text().split())[:40]
    except Exception:  # a receipt text no parser reads: the quote only helps, it is not needed
        return ""


def _quotes(snippet: str, text: str) -> bool:
    """Does a receipt's ``text:`` quote the start of ``text``? Spacing and case aside; an SMSC
    may cut it anywhere up to 20 characters or more, so either may be the longer."""
    quote = " ".join(snippet.split()).casefold()
    if not quote:
        return False
    start = " ".join(text.split()).casefold()[:len(quote)]
    if len(start) < len(quote):  # the whole message is shorter than the quote
        return bool(start) and quote.startswith(start)
    return start == quote


def _parts_needed(text: str) -> int:
    from warta.sms.segments import measure

    return max(1, measure(text).segments)


def write_gauges(gauges: Gauges) -> None:
    from .models import GatewayCount

    if gauges:
        GatewayCount.add(dict(gauges))
        gauges.clear()


def apply_one(conn_id: int, smsc_id: str, stat: str, error: str = "") -> bool:
    """One receipt from outside the engine (Kannel's dlr-url), in the caller's transaction:
    applied at once when its part exists, else stored for the engine to match (no waiting).
    Returns True when it was applied now."""
    service = ReceiptService()
    final = stat.upper() in FINAL_STATS
    unmatched = service.apply([InReceipt(conn_id, smsc_id, stat, error, timezone.now())],
                              store_unmatched=final)
    service.outbox.write_counts()
    write_gauges(service.gauges)
    return not unmatched
