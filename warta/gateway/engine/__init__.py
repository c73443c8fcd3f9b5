"""The delivery engine: claims messages from the outbox, sends them, and accounts for every one.

A package, one module per concern: ``leases`` (engine and bind leases, dead engines, changed
connections), ``queue`` (claims, marks, results, late answers, expiry, MOs), ``loop`` (binds,
dispatch, the send and results lanes), ``_types`` (the data). Receipts are
``warta.gateway.receipts`` (shared with the Kannel callback); every state change is a transition
of ``warta.blasts.transitions``; transports are typed by ``warta.gateway.transports.base``.
(``loop``: binds, dispatch, the two lanes of database work.)

Theory of operation
-------------------
The outbox table is the queue (DESIGN.md). An engine is one asyncio process with two database
threads on PostgreSQL, each with its own connection — the **send lane** (``flush_send``: the
submit results that freed window slots, the ``sending`` marks for those slots and the claims,
then the PDUs leave — written at once with a callback on each answer where the transport can,
``SubmitsWithoutTask``, else one task per message) and the **results lane** (``flush_results``: receipts, late answers, MOs, in
the background) — so a window slot freed by a response is refilled after one short transaction,
not after the receipts' writes; SQLite (one writer) runs both lanes on one thread. Every database step is a plain method
(``claim_batch``, ``mark_sending``, ``apply_responses``, ``apply_receipts``,
``match_pending_receipts``, ``reap_expired_leases``, …) that a test can call alone; ``flush`` runs
both lanes' steps in one transaction (shutdown, tests).

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
* **Batched writes.** Each lane's transaction is a few set-based statements (``UPDATE … WHERE
  id = ANY(…)`` grouped by outcome, parts inside the ``submitted`` UPDATE), never a round trip per
  message; on PostgreSQL the send lane's transaction is one round trip: its ``submitted`` UPDATE
  and its claim are read after the COMMIT (``transitions.Later``) and count their own rows, and
  the hot statements are prepared (``fastsql.prepared``). What arrives while the results lane
  commits goes into its next transaction, so its batches grow with the load. Receipts and MOs are acknowledged to the SMSC only after their
  commit. The lanes touch different rows (queued and ``sending`` ones; ``submitted`` and in-doubt ones), and a row's transitions stay
  in order: its PDU leaves only after its mark is committed, its result is written only after it
  left. ``send_lanes`` (``WARTA_ENGINE_SEND_LANES``, default 1) lets several send transactions
  run at once; the window slots a claim will fill are reserved while it runs, so the bound on
  messages in doubt is unchanged.
* **Receipts before responses.** Responses are applied before receipts in the same transaction; a
  receipt whose part is not saved yet (another engine's bind, or its response still in flight) is
  stored in ``Receipt`` and matched by ``match_pending_receipts``.
* **Errors.** Each part's outcome carries ``permanent`` (``SubmitResult``): permanent → ``failed``
  with the SMPP status (its meaning in Indonesian and English comes from
  ``warta.smpp.constants.describe_status``); throttled → queued at once, the attempt not counted,
  and the bind slows down (AIMD on its token bucket, ``BindSlot.throttled``); other transient
  errors → queued with back-off; no answer (time-out, link lost after the write) → counted in
  ``unknown_count``, then ``unknown`` or resent as the blast says; a late answer (``apply_late``)
  or the receipt, matched by handset and sender, settles it. Rows waiting for a receipt past
  their validity become ``expired`` ("tidak ada laporan", ``expire_unreported``).
* **Counts** are written as deltas (``OutboxCount``, ``GatewayCount``) in the same transaction as
  the change they count, by the transitions themselves.
* **Database faults.** A lane's transaction that fails is tried again a second later (results
  wait, receipts and MOs are answered with a temporary error for the SMSC to deliver again); so is
  a failed housekeeping turn. A send transaction that may have committed unseen (the answer to
  its COMMIT lost, or its rows unreadable after it) sends nothing: each mark carries a name —
  connection and a ``sent_at`` unique to this engine (``_mark_time``) — by which its rows go back
  to the queue (``unmark_claim``), retried every send turn until the database takes it.

Signals: SIGTERM/SIGINT stop claiming, let the window drain (``drain_timeout``), release claimed
rows and leases, unbind.
"""

from __future__ import annotations

from warta.blasts.transitions import NO_REPORT

from ..receipts import InReceipt
from ._types import (
    MAX_ATTEMPTS,
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
    RouteRow,
    backoff_delay,
)
from .loop import Engine

__all__ = [
    "MAX_ATTEMPTS",
    "NO_REPORT",
    "SWEEP_SECONDS",
    "THROTTLE_STATUSES",
    "BindSlot",
    "Engine",
    "FlushResult",
    "InMo",
    "InReceipt",
    "Item",
    "LateAnswer",
    "LeaseLost",
    "Outcome",
    "RouteRow",
    "Router",
    "backoff_delay",
]
