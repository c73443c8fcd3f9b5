"""The outbox's state machine: every transition of a message, and the counter update it implies.

Rule 1 (as h11's ``_state.py``): whatever changes an ``OutboundMessage``'s ``state`` lives here —
the table of allowed transitions below, and the one function (``Outbox.move``) that runs them as
set-based ``UPDATE … WHERE state=<from> … RETURNING`` statements and records ``OutboxCount``
deltas for exactly the rows that moved. The engine (claims, responses, receipts, leases), the
Kannel callback (through the gateway's receipt service) and the console (cancel) all go through
it; nobody writes ``state`` by hand, nobody writes ``±1`` counter lines.

::

    name            from                     to                       also sets
    --------------  -----------------------  -----------------------  -------------------------------
    (claim)         queued                   queued                   engine_id (no count changes)
    mark            queued                   sending                  sent_at, connection, attempts+1
    unmark          sending                  queued                   next_attempt_at, attempts-1
    submitted       sending                  submitted                submitted_at, connection, cost
    throttled       sending                  queued                   next_attempt_at, attempts-1
    retry           sending                  queued                   next_attempt_at, status, error
    resend_unknown  sending                  queued                   next_attempt_at, unknown_count+1
    no_answer       sending                  unknown                  unknown_count+1, status, error
    fail            sending                  failed | expired         done_at, status, error
    late_accept     unknown | queued         submitted                submitted_at, connection, cost
    receipt         submitted                delivered | undelivered  done_at, error (stat, err)
                                             | expired | rejected
    no_report       submitted | unknown      expired                  done_at, error "tidak ada laporan"
    expire_queued   queued                   expired                  done_at, error
    cancel          queued                   cancelled                done_at
    suppress        queued | sending         suppressed               done_at, error
    reap_resend     sending                  queued                   unknown_count+1 (dead engine)
    reap_unknown    sending                  unknown                  unknown_count+1 (dead engine)

Every ``to`` outside ``queued``/``sending`` clears ``engine_id``. A plain claim (``Outbox.claim``)
and a release change only a queued row's ``engine_id`` — a lease, not a state, so no count moves;
releases are the engine's lease steps. ``FINAL`` (the model's) is the
one definition of final states; ``IN_DOUBT`` (``unknown``) is not final: a late answer or a
receipt settles it, and ``no_report`` ends it after the validity.

Counts: ``Outbox.counts`` holds ``(blast, state) → delta`` (and ``(blast, "no_report")``, a
sub-count of ``expired``, not a state); ``write_counts`` inserts them as ``OutboxCount`` rows in
the caller's transaction, so a count is exactly as durable as the change it counts.

Counted by the statement itself (PostgreSQL, ``later``): the engine's send lane queues its
``submitted`` and ``mark`` statements in psycopg's pipeline and reads their rows only after the
COMMIT, so its whole transaction is one round trip. Python cannot count rows it has not seen yet,
so each such statement inserts its own ``OutboxCount`` deltas from its ``RETURNING`` rows, in a
data-modifying CTE (``_booked``): as exact, and as durable, as the rows it moved.
"""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from warta.lib.fastsql import bound_cursor, prepared

from .models import Blast, MessagePart, OutboundMessage, OutboxCount

S: Any = OutboundMessage.State  # TextChoices: Any to mypy (Django ships no types)
M = OutboundMessage._meta.db_table
B = Blast._meta.db_table
P = MessagePart._meta.db_table
OC = OutboxCount._meta.db_table

#: Final states: defined once, on the model.
_final: Any = OutboundMessage.FINAL
FINAL: frozenset[str] = frozenset(str(s) for s in _final)
#: Not final, not in any engine's hands: a late answer or a receipt may still settle it.
IN_DOUBT: frozenset[str] = frozenset({S.UNKNOWN})
#: What a final receipt may make of a submitted message.
RECEIPT_FINAL: frozenset[str] = frozenset({S.DELIVERED, S.UNDELIVERED, S.EXPIRED, S.REJECTED})
NO_REPORT = "tidak ada laporan"  # the error of a message expired without a receipt
IN_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Transition:
    frm: tuple[str, ...]
    to: frozenset[str]
    sets: str  # SQL assignments after "state=%s", with %s placeholders (set_params)


TABLE: dict[str, Transition] = {
    "mark": Transition((S.QUEUED,), frozenset({S.SENDING}), "sent_at=%s, connection_id=%s, attempts=attempts+1"),
    "unmark": Transition((S.SENDING,), frozenset({S.QUEUED}),
                         "engine_id=NULL, next_attempt_at=%s, attempts=attempts-1"),
    # cost adds: a row sent again may already carry its first submit's cost (``add_cost``).
    "submitted": Transition((S.SENDING,), frozenset({S.SUBMITTED}),
                            "submitted_at=%s, engine_id=NULL, connection_id=%s, cost=COALESCE(cost, 0) + %s"),
    "throttled": Transition((S.SENDING,), frozenset({S.QUEUED}),
                            "engine_id=NULL, next_attempt_at=%s, status=%s, error=%s, attempts=attempts-1"),
    "retry": Transition((S.SENDING,), frozenset({S.QUEUED}),
                        "engine_id=NULL, next_attempt_at=%s, status=%s, error=%s"),
    "resend_unknown": Transition((S.SENDING,), frozenset({S.QUEUED}),
                                 "engine_id=NULL, next_attempt_at=%s, status=%s, error=%s, "
                                 "unknown_count=unknown_count+1"),
    "no_answer": Transition((S.SENDING,), frozenset({S.UNKNOWN}),
                            "engine_id=NULL, unknown_count=unknown_count+1, status=%s, error=%s"),
    "fail": Transition((S.SENDING,), frozenset({S.FAILED, S.EXPIRED}),
                       "engine_id=NULL, done_at=%s, status=%s, error=%s"),
    "late_accept": Transition((S.UNKNOWN, S.QUEUED), frozenset({S.SUBMITTED}),
                              "submitted_at=%s, connection_id=%s, cost=COALESCE(cost, 0) + %s, engine_id=NULL, "
                              "error='', status=NULL"),
    "receipt": Transition((S.SUBMITTED,), RECEIPT_FINAL, "done_at=%s, error=%s"),
    "no_report": Transition((S.SUBMITTED, S.UNKNOWN), frozenset({S.EXPIRED}), "done_at=%s, engine_id=NULL, error=%s"),
    "expire_queued": Transition((S.QUEUED,), frozenset({S.EXPIRED}), "done_at=%s, engine_id=NULL, error=%s"),
    "cancel": Transition((S.QUEUED,), frozenset({S.CANCELLED}), "done_at=%s, engine_id=NULL"),
    "suppress": Transition((S.QUEUED, S.SENDING), frozenset({S.SUPPRESSED}), "done_at=%s, engine_id=NULL, error=%s"),
    "reap_resend": Transition((S.SENDING,), frozenset({S.QUEUED}),
                              "engine_id=NULL, next_attempt_at=%s, unknown_count=unknown_count+1"),
    "reap_unknown": Transition((S.SENDING,), frozenset({S.UNKNOWN}),
                               "engine_id=NULL, unknown_count=unknown_count+1, error=%s"),
}


class TransitionError(Exception):
    """A transition the table does not allow (a bug in the caller, never the data)."""

    permanent = True


class Later:
    """Statements queued in psycopg's pipeline whose rows are read after the transaction's
    COMMIT, which syncs the pipeline once: a statement read at once costs a round trip of its
    own (a sync, the server's answer, and the GIL back for this thread), ~2 ms each in the
    engine's send lane at window 64 — more than the statements' own work. Each statement gets
    its own cursor (a closed cursor cannot take its results); ``run`` hands each one's rows to
    its callback, in order, once committed; ``close`` drops them when the transaction failed.
    Outside pipeline mode the statements simply run at once and ``run`` reads their rows the
    same way. PostgreSQL only."""

    def __init__(self) -> None:
        self._waiting: list[tuple[Any, Callable[[list[tuple[Any, ...]]], None]]] = []

    def cursor(self, then: Callable[[list[tuple[Any, ...]]], None]) -> Any:
        import psycopg

        connection.ensure_connection()
        cur = psycopg.Cursor(connection.connection)
        self._waiting.append((cur, then))
        return cur

    def run(self) -> None:
        waiting, self._waiting = self._waiting, []
        try:
            for cur, then in waiting:
                then(list(cur.fetchall()))
        finally:
            for cur, _then in waiting:
                cur.close()

    def close(self) -> None:
        waiting, self._waiting = self._waiting, []
        for cur, _then in waiting:
            with contextlib.suppress(Exception):
                cur.close()


# The claim's generic plan (``Outbox.claim``): on for one statement, then the session's mode back.
_GENERIC_ON = ("SELECT set_config('warta.plan_cache_mode', current_setting('plan_cache_mode'), true), "
               "set_config('plan_cache_mode', 'force_generic_plan', true)")
# (Outside a transaction the first had no lasting effect: the mode is left as it is.)
_GENERIC_OFF = ("SELECT set_config('plan_cache_mode', COALESCE(NULLIF(current_setting('warta.plan_cache_mode', true), "
                "''), current_setting('plan_cache_mode')), true)")


def _ignore(_rows: list[tuple[Any, ...]]) -> None:
    """A ``Later`` callback for a statement whose rows say nothing."""


def _booked(moved: str, frm: str, to: str, cost: str = "0", cost_params: Sequence[Any] = ()) -> tuple[str, list[Any]]:
    """A CTE ``k`` that inserts the ``OutboxCount`` deltas of the rows of CTE ``moved`` (which
    returns ``blast_id``): ``frm −n``, ``to +n`` per blast, the Rupiah of ``cost`` (an SQL
    expression per row) on the ``to`` row, as ``OutboxCount.add`` writes them. Returns (SQL,
    its parameters)."""
    return (f"k AS (INSERT INTO {OC} (blast_id, state, count, cost) "
            f"SELECT x.blast_id, v.state, v.sign * x.n, CASE WHEN v.sign > 0 THEN x.c ELSE 0 END "
            f"FROM (SELECT blast_id, count(*) AS n, COALESCE(SUM({cost}), 0) AS c FROM {moved} GROUP BY blast_id) x "
            f"CROSS JOIN (VALUES (%s::text, -1), (%s::text, 1)) AS v(state, sign))", [*cost_params, frm, to])


class Outbox:
    """Transitions of one transaction, with the counter deltas they imply.

    ``move`` and ``move_where`` run the statements; ``record`` books rows moved by a statement
    whose shape only its caller can write (the engine's claim, PostgreSQL's receipt join), still
    checked against the table. ``write_counts`` inserts the deltas (call it inside the same
    ``transaction.atomic()``); ``discard`` forgets them when that transaction rolled back.
    """

    def __init__(self) -> None:
        self.counts: dict[tuple[int, str], Any] = defaultdict(int)  # int; Decimal for cost
        self.is_postgres = connection.vendor == "postgresql"

    # -- running transitions --------------------------------------------------------------

    def move(self, name: str, ids: Sequence[int], *, to: str | None = None, set_params: Sequence[Any] = (),
             where: str = "", where_params: Sequence[Any] = (), returning: str = "") -> list[tuple[Any, ...]]:
        """Move the rows ``ids`` that are in one of the transition's ``from`` states (and match
        ``where``) to ``to``; returns ``(id, blast_id, *returning)`` of each row moved."""
        tr, target = self._check(name, to)
        if not ids:
            return []
        out: list[tuple[Any, ...]] = []
        extra = f", {returning}" if returning else ""
        cond = f" AND {where}" if where else ""
        for frm in tr.frm:
            rows = self._update_ids(
                f"UPDATE {M} SET state=%s, {tr.sets} WHERE id IN ({{ids}}) AND state=%s{cond} "
                f"RETURNING id, blast_id{extra}",
                [target, *set_params], ids, [frm, *where_params])
            for row in rows:
                self.counts[(row[1], frm)] -= 1
                self.counts[(row[1], target)] += 1
            out.extend(rows)
        return out

    def move_where(self, name: str, where: str, where_params: Sequence[Any] = (), *, to: str | None = None,
                   set_params: Sequence[Any] = (), returning: str = "") -> list[tuple[Any, ...]]:
        """Move every row in a ``from`` state that matches ``where`` (a sweep); returns
        ``(blast_id, from_state, *returning)`` per row."""
        tr, target = self._check(name, to)
        out: list[tuple[Any, ...]] = []
        extra = f", {returning}" if returning else ""
        with bound_cursor() as cur:
            for frm in tr.frm:
                execute(cur, f"UPDATE {M} SET state=%s, {tr.sets} WHERE state=%s AND {where} RETURNING blast_id{extra}",
                        [target, *set_params, frm, *where_params])
                for row in cur.fetchall():
                    self.counts[(row[0], frm)] -= 1
                    self.counts[(row[0], target)] += 1
                    out.append((row[0], frm, *row[1:]))
        return out

    def move_blast(self, name: str, blast_id: int, where: str = "", where_params: Sequence[Any] = (), *,
                   to: str | None = None, set_params: Sequence[Any] = ()) -> int:
        """``move_where`` within one blast, counted by ``rowcount`` (cancelling a million
        queued rows must not return a million ids)."""
        tr, target = self._check(name, to)
        cond = f" AND {where}" if where else ""
        total = 0
        with bound_cursor() as cur:
            for frm in tr.frm:
                execute(cur, f"UPDATE {M} SET state=%s, {tr.sets} WHERE blast_id=%s AND state=%s{cond}",
                        [target, *set_params, blast_id, frm, *where_params])
                n = cur.rowcount
                self.counts[(blast_id, frm)] -= n
                self.counts[(blast_id, target)] += n
                total += n
        return total

    def claim(self, blast_id: int, limit: int, now: datetime, *, engine_id: str,
              mark_conn: int | None = None, operators: Iterable[str] | None = None,
              not_operators: Iterable[str] = (), flag: str = "",
              later: tuple[Later, Callable[[list[tuple[Any, ...]]], None]] | None = None) -> list[tuple[Any, ...]]:
        """Claim up to ``limit`` due, unclaimed messages of a blast for ``engine_id``, oldest
        first; with ``mark_conn`` the claim is also the ``mark`` transition (straight into
        ``sending`` on that connection). Returns ``(id, to, operator, text, attempts before this
        send)``. The blast's state is re-checked in the statement: pause, cancel and quiet hours
        reach every claim at once. PostgreSQL: ``FOR UPDATE SKIP LOCKED`` (several engines);
        SQLite: the conditional UPDATE is the whole claim (one writer). With ``operators`` only
        messages to those operators are claimed (the engine's claim per connection: a connection
        routed by operator is filled with rows it can carry, not a share of everyone's); with
        ``not_operators`` none to those (a catch-all connection leaves them to better routes).
        ``flag`` (PostgreSQL): an SQL condition on the row (``m``), returned as a sixth column —
        the engine's suppression check, answered by the claim itself. ``later`` (PostgreSQL,
        with ``mark_conn``): as ``submit``'s — queued, rows to the callback after the COMMIT, the
        ``mark`` counted by the statement itself."""
        head: list[Any]
        if mark_conn is None:
            sets, head, ret = "engine_id=%s", [engine_id], "attempts"
        else:
            tr, target = self._check("mark", None)
            sets = "engine_id=%s, state=%s, sent_at=%s, connection_id=%s, attempts=attempts+1"
            head = [engine_id, target, now, mark_conn]
            ret = "attempts-1"  # the count before this send, as a plain claim returns it
        tail = f" AND blast_id IN (SELECT id FROM {B} WHERE state=%s)"
        # PostgreSQL: the blast's state as a condition on the blast alone (every claimed row is
        # of ``blast_id``), checked once per statement. As a join to the rows, a generic plan
        # — not knowing which blast — drove it from the blasts: every row of every active blast
        # read to claim 64 (18,064 in the test of statistics from a history of small blasts).
        one = f" AND EXISTS (SELECT 1 FROM {B} WHERE id=%s AND state=%s)"
        ops = sorted(operators) if operators is not None else []
        only = f" AND operator IN ({','.join(['%s'] * len(ops))})" if ops else ""
        nots = sorted(not_operators)
        if nots:
            only += f" AND operator NOT IN ({','.join(['%s'] * len(nots))})"
            ops = [*ops, *nots]
        # The state is written into the statement, not a parameter: the statement is prepared
        # (PostgreSQL), and only a literal lets a generic plan — made without the parameters'
        # values — prove the partial claim index's condition (``state = 'queued' AND engine_id
        # IS NULL``) and read the blast's queue in order; with ``state = $2`` the only plans left
        # read the whole blast through the plain blast index and sort it.
        pick = (f"SELECT id FROM {M} WHERE blast_id=%s AND state='{S.QUEUED}' AND engine_id IS NULL "
                f"AND next_attempt_at <= %s AND (valid_until IS NULL OR valid_until > %s){only} "
                f"ORDER BY next_attempt_at, id LIMIT %s")
        params = [blast_id, now, now, *ops, limit]
        with bound_cursor() as cur:
            if self.is_postgres:
                # A MATERIALIZED CTE: PostgreSQL may otherwise run a LIMIT … FOR UPDATE subquery
                # of an UPDATE more than once and claim more rows than asked.
                extra = f", {flag}" if flag else ""
                if later is not None:
                    if mark_conn is None:
                        raise TransitionError("claim: only a claim that marks can be read later")
                    book, book_params = _booked("u", S.QUEUED, target)
                    # Its generic plan, always: with ``LIMIT $n`` unknown PostgreSQL costs the
                    # generic plan for a tenth of the blast's rows, dearer than any plan for 64,
                    # so it planned the claim afresh every turn (pg_stat_statements: plans =
                    # calls, 0.47 ms each, a twentieth of a window-64 send transaction). The
                    # generic plan is the right one whatever the statistics: the partial claim
                    # index by blast, in order, stopped by the LIMIT (its condition is written
                    # as literals for that). Forced for this statement only, within the
                    # transaction (``set_config(…, true)``), the session's own mode put back
                    # after it; both travel in the pipeline, no round trip of their own.
                    execute(later[0].cursor(_ignore), _GENERIC_ON)
                    execute(later[0].cursor(later[1]),
                            f'WITH c AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED), '
                            f'u AS (UPDATE {M} m SET {sets} WHERE m.id = ANY(ARRAY(SELECT id FROM c)){one} '
                            f'RETURNING m.id, m."to", m.operator, m.text, m.{ret} AS attempts, m.blast_id'
                            f'{extra + " AS flag" if flag else ""}), {book} '
                            f'SELECT id, "to", operator, text, attempts{", flag" if flag else ""} FROM u',
                            [*params, *head, blast_id, Blast.State.ACTIVE, *book_params], prepare=True)
                    execute(later[0].cursor(_ignore), _GENERIC_OFF)
                    return []
                # The same generic plan (the engine's other claims: from the buffer, per
                # connection). In the send lane's pipeline the two set_config travel with the
                # claim; alone they are a round trip each.
                execute(cur, _GENERIC_ON)
                execute(cur, f'WITH c AS MATERIALIZED ({pick} FOR UPDATE SKIP LOCKED) '
                             f'UPDATE {M} m SET {sets} WHERE m.id = ANY(ARRAY(SELECT id FROM c)){one} '
                             f'RETURNING m.id, m."to", m.operator, m.text, m.{ret}{extra}',
                        [*params, *head, blast_id, Blast.State.ACTIVE], prepare=True)
                rows = list(cur.fetchall())
                execute(cur, _GENERIC_OFF)
                if mark_conn is not None:
                    self.record("mark", S.QUEUED, (blast_id for _ in rows))
                return rows
            else:
                execute(cur, f'UPDATE {M} SET {sets} WHERE id IN ({pick}) AND state=%s '
                             f'AND engine_id IS NULL{tail} RETURNING id, "to", operator, text, {ret}',
                        [*head, *params, S.QUEUED, Blast.State.ACTIVE])
            rows = list(cur.fetchall())
        if mark_conn is not None:
            self.record("mark", S.QUEUED, (blast_id for _ in rows))
        return rows

    def submit(self, costs: Sequence[tuple[int, Any]], conn_id: int, now: datetime, *,
               engine_id: str, parts: Sequence[tuple[Any, ...]] = (),
               later: tuple[Later, Callable[[list[tuple[Any, ...]]], None]] | None = None) -> list[tuple[Any, ...]]:
        """The ``submitted`` transition with each message's cost written on it (DESIGN: the cost
        of a message is written when it is submitted, here), one statement per distinct cost
        (a handful). Returns ``(id, blast_id)`` of the rows moved; the blasts' cost totals are
        the caller's.

        PostgreSQL: ``parts`` (``(message_id, connection_id, smsc_message_id, part, parts,
        submitted_at)``) are inserted in the same statement, as a data-modifying CTE joined to
        the rows moved (the parts INSERT was a round trip of its own every loop turn); only the
        parts of rows that did move are written, as the caller did before. Elsewhere the caller
        inserts them (``parts`` must then be empty).

        ``later`` (PostgreSQL): ``(Later, callback)`` — the statements are queued, their rows go
        to the callback after the COMMIT, and each statement books its own counts and costs
        (``_booked``); returns nothing now."""
        if not costs:
            return []
        tr, target = self._check("submitted", None)
        rows: list[tuple[Any, ...]] = []
        by_cost: dict[Any, list[int]] = defaultdict(list)
        for id_, cost in costs:
            by_cost[cost].append(id_)
        if self.is_postgres:
            # One statement per distinct cost (a handful: tariffs by sender, operator and
            # segments), each row picked by ``id = ANY(…)``. Joined to an unnest of (id, cost)
            # pairs instead, the planner — counting the engine's held rows as one — chose a
            # nested loop that compared every held row with every pair: 52 ms at window 512.
            # Prepared (its planning cost more than its work), so its plan may be generic: the
            # engine is checked with IS NOT DISTINCT FROM, which no index serves — with
            # ``engine_id = $n`` the generic plan read every row the engine holds through
            # ``outbox_engine_held`` and filtered them by id (auto_explain), instead of the ids
            # by primary key. ``state = $n`` cannot use the partial indexes either.
            part_cols = list(zip(*parts, strict=True)) if parts else []
            for cost, ids in by_cost.items():
                update = (f"UPDATE {M} m SET state=%s, submitted_at=%s, engine_id=NULL, connection_id=%s, "
                          f"cost=COALESCE(m.cost, 0) + %s WHERE m.id = ANY(%b::bigint[]) "
                          f"AND m.state=%s AND m.engine_id IS NOT DISTINCT FROM %s RETURNING m.id, m.blast_id")
                params: list[Any] = [target, now, conn_id, cost, ids, tr.frm[0], engine_id]
                ctes: list[str] = []
                if parts:
                    mine = set(ids) if len(by_cost) > 1 else None
                    cols = part_cols if mine is None else list(zip(*(p for p in parts if p[0] in mine), strict=True))
                    if cols:
                        ctes.append(f"p AS (INSERT INTO {P} (message_id, connection_id, "
                                    f"smsc_message_id, part, parts, state, submitted_at) "
                                    f"SELECT t.m, t.c, t.s, t.p, t.n, %s, t.a "
                                    f"FROM unnest(%b::bigint[], %b::bigint[], %b::text[], %b::smallint[], "
                                    f"%b::smallint[], %b::timestamptz[]) AS t(m, c, s, p, n, a) "
                                    f"JOIN s ON s.id=t.m ON CONFLICT DO NOTHING)")
                        params += [target, *(list(c) for c in cols)]
                if later is not None:
                    sql, book = _booked("s", tr.frm[0], target, "%s::numeric", [cost])
                    ctes.append(sql)
                    params += book
                if ctes:
                    update = f"WITH s AS ({update}), {', '.join(ctes)} SELECT id, blast_id FROM s"
                if later is not None:
                    execute(later[0].cursor(later[1]), update, params, prepare=True)
                    continue
                with bound_cursor() as cur:
                    execute(cur, update, params, prepare=True)
                    rows.extend(cur.fetchall())
            if later is not None:
                return []
        else:
            for cost, ids in by_cost.items():
                rows.extend(self._update_ids(
                    f"UPDATE {M} SET state=%s, submitted_at=%s, engine_id=NULL, connection_id=%s, "
                    f"cost=COALESCE(cost, 0) + %s "
                    f"WHERE id IN ({{ids}}) AND state=%s AND engine_id=%s RETURNING id, blast_id",
                    [target, now, conn_id, str(cost)], ids, [tr.frm[0], engine_id]))
        self.record("submitted", tr.frm[0], (r[1] for r in rows))
        return rows

    def receipt_by_part(self, conn_id: int, smsc_ids: Sequence[str], state: str, detail: str,
                        now: datetime) -> list[tuple[Any, ...]]:
        """PostgreSQL: the ``receipt`` transition for single-part messages found by their SMSC
        ids, in one ``UPDATE … FROM parts`` (the part lookup was a round trip of its own every
        loop turn). Returns ``(smsc_message_id, blast_id, submitted_at)`` of the rows moved,
        ``submitted_at`` as seconds since the epoch (a float: decoding a timestamp with its time
        zone in Python per receipt was a sixth of the results lane's thread, for a gauge)."""
        tr, target = self._check("receipt", state)
        # The parts first, by (SMSC id, connection) — the unique index, one probe per receipt — then
        # their messages by primary key. Left to join freely, the planner drove the UPDATE from
        # the outbox's "awaiting receipt" index (every message still waiting, 100,000s during a
        # blast) or from the connection's parts, whatever the statistics of the day said.
        # Prepared: its generic plan is the same (the parts by their unique index, then their
        # messages by primary key; ``state = $n`` serves no partial index).
        with bound_cursor() as cur:
            execute(cur,
                    f"WITH p AS MATERIALIZED (SELECT message_id, smsc_message_id, submitted_at FROM {P} "
                    f"WHERE connection_id=%s AND smsc_message_id = ANY(%b::text[]) AND parts=1) "
                    f"UPDATE {M} m SET state=%s, done_at=%s, error=%s FROM p WHERE m.id=p.message_id AND m.state=%s "
                    f"RETURNING p.smsc_message_id, m.blast_id, date_part('epoch', p.submitted_at)",
                    [conn_id, list(smsc_ids), target, now, detail, tr.frm[0]], prepare=True)
            rows = list(cur.fetchall())
        self.record("receipt", tr.frm[0], (r[1] for r in rows), to=target)
        return rows

    def record(self, name: str, frm: str, blast_ids: Iterable[int], *, to: str | None = None) -> None:
        """Book rows a caller's own statement moved from ``frm`` (checked against the table)."""
        tr, target = self._check(name, to)
        if frm not in tr.frm:
            raise TransitionError(f"{name}: {frm} is not a source state")
        for blast_id in blast_ids:
            self.counts[(blast_id, frm)] -= 1
            self.counts[(blast_id, target)] += 1

    def add_cost(self, costs: Sequence[tuple[int, Any]]) -> list[tuple[Any, ...]]:
        """One more accepted submit's cost on each row, whatever its state, and on its blast's
        total: a message sent again whose first submit turned out accepted (a late answer) was
        billed twice by the operator. Not a transition (the state stays); returns
        ``(id, blast_id)`` of the rows charged."""
        by_cost: dict[Any, list[int]] = defaultdict(list)
        for id_, cost in costs:
            by_cost[cost].append(id_)
        rows: list[tuple[Any, ...]] = []
        for cost, ids in by_cost.items():
            moved = self._update_ids(f"UPDATE {M} SET cost=COALESCE(cost, 0) + %s WHERE id IN ({{ids}}) "
                                     f"RETURNING id, blast_id", [cost], ids, [])
            for _id, blast_id in moved:
                self.note(blast_id, OutboxCount.COST, cost)
            rows.extend(moved)
        return rows

    def note(self, blast_id: int, key: str, n: Any = 1) -> None:
        """A sub-count that is not a state (``no_report``; the blast's cost, a Decimal)."""
        self.counts[(blast_id, key)] += n

    # -- counters ---------------------------------------------------------------------------

    def write_counts(self) -> None:
        if self.counts:
            OutboxCount.add(dict(self.counts))
            self.counts.clear()

    def discard(self) -> None:
        self.counts.clear()

    # -- helpers ----------------------------------------------------------------------------

    @staticmethod
    def _check(name: str, to: str | None) -> tuple[Transition, str]:
        tr = TABLE.get(name)
        if tr is None:
            raise TransitionError(f"unknown outbox transition {name!r}")
        if to is None:
            if len(tr.to) != 1:
                raise TransitionError(f"{name}: say which of {sorted(tr.to)}")
            to = next(iter(tr.to))
        if to not in tr.to:
            raise TransitionError(f"{name}: cannot move to {to!r}")
        return tr, to

    def _update_ids(self, sql: str, head: list[Any], ids: Sequence[int], tail: list[Any]) -> list[tuple[Any, ...]]:
        return update_ids(sql, head, ids, tail, postgres=self.is_postgres)


def update_ids(sql: str, head: list[Any], ids: Sequence[int], tail: list[Any], *, postgres: bool) -> list[tuple[Any, ...]]:
    """Run ``sql`` (with ``{ids}`` for the IN list) over ``ids``; PostgreSQL gets one array
    parameter (one statement, one plan), SQLite chunked IN lists. Returns every row returned."""
    out: list[tuple[Any, ...]] = []
    with bound_cursor() as cur:
        if postgres and " IN ({ids})" in sql:
            execute(cur, sql.replace(" IN ({ids})", " = ANY(%b::bigint[])"), [*head, list(ids), *tail])
            return list(cur.fetchall())
        ids = list(ids)
        for i in range(0, len(ids), IN_CHUNK):
            chunk = ids[i:i + IN_CHUNK]
            execute(cur, sql.format(ids=",".join(["%s"] * len(chunk))), [*head, *chunk, *tail])
            out.extend(cur.fetchall())
    return out


def execute(cur: Any, sql: str, params: Sequence[Any] = (), *, prepare: bool = False) -> None:
    """``cur.execute`` with datetimes adapted as the ORM would (SQLite stores naive UTC text; a
    raw aware datetime would compare wrongly as a string). ``prepare``: a prepared statement on
    PostgreSQL (``fastsql.prepared``: its generic plan must be good whatever the statistics)."""
    ops = connection.ops
    values = [ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v for v in params]
    if prepare and connection.vendor == "postgresql":
        prepared(cur, sql, values)
    else:
        cur.execute(sql, values)
