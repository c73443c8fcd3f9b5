"""The outbox: queueing blasts, controlling them, and reading their counts.

Theory of operation: the outbox table *is* the send queue (DESIGN.md, "The database is the
queue"). ``create_blast`` writes one ``OutboundMessage`` per recipient in ``queued`` in the same
transaction as the blast, so what is committed will be sent; engines (``warta.gateway.engine``)
claim, send and account for the rows. Control (pause, resume, cancel) is a change to the blast
row plus, for cancel, one conditional UPDATE of its queued rows; engines re-check the blast's
state in the very statement that marks a message ``sending``, so control reaches every engine on
its next loop, with no message to engines needed.

Counts come from ``OutboxCount`` deltas written in the same transactions as the state changes,
never from ``COUNT(*)`` over the outbox.

Suppression at send time goes through ``suppressed_numbers`` — the one adapter to the contacts
app's ``is_suppressed`` — so the engine does not import contacts directly. It applies to blasts
only: a blast of priority ``REPLY`` carries service messages the citizen started (the BERHENTI
confirmation, acknowledgements, STATUS answers, staff replies to the citizen's tickets), which an
opt-out never stops (``is_opt_out_exempt``).

``sweep`` is the blasts' own clock, run by every engine about once a second (and by the
scheduler): it finishes blasts whose messages are all final (``done``, ``finished_at``, the
``blast_finished`` signal after commit) and holds normal blasts in ``quiet`` during quiet hours.
Both read the counter rows of the unfinished blasts only, so their cost does not grow with
history.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.lib import fastsql
from warta.sms.numbers import NumberKind, parse_number

from .models import Blast, OutboundMessage, OutboxCount, SenderID
from .signals import blast_finished
from .transitions import Outbox

State = OutboundMessage.State

#: States that are not final (a blast with a message in any of them is not finished): waiting,
#: in flight, awaiting the receipt, or in doubt (``unknown``: resent, settled by a late answer or
#: receipt, or expired after its validity).
OPEN_STATES = (State.QUEUED, State.SENDING, State.SUBMITTED, State.UNKNOWN)

#: Receipt ``stat`` words (SMPP 3.4 appendix B) → final message state. Words not here (ENROUTE,
#: ACCEPTD, UNKNOWN) are not final: the message stays ``submitted`` and waits for the next receipt.
RECEIPT_STATES: dict[str, str] = {
    "DELIVRD": State.DELIVERED,
    "UNDELIV": State.UNDELIVERED,
    "EXPIRED": State.EXPIRED,
    "REJECTD": State.REJECTED,
    "DELETED": State.UNDELIVERED,
}

INSERT_CHUNK = 5000
# A blast this large gets fresh planner statistics once its rows are committed (PostgreSQL). Taken
# before it, they do not know the blast: the engine's claim then read the whole blast through the
# plain blast index and sorted it for every batch of 128 (42 ms per claim for 100,000 rows, growing
# with the blast) instead of walking the claim index. On an outbox holding a year of blasts
# autovacuum does not analyse again for one blast (10 % of the table must change first).
ANALYZE_AFTER = 10_000


class OutboxError(Exception):
    """A request on the outbox that cannot be done; the message says why, in Indonesian."""

    permanent = True


def suppressed_numbers(e164s: Iterable[str]) -> set[str]:
    """Numbers that must not be messaged now (opted out, restricted): the contacts app's answer
    (``warta.contacts.services.is_suppressed``), the one place the engine asks."""
    from warta.contacts.services import is_suppressed

    return is_suppressed(e164s)


def suppressed_sql(column: str) -> str:
    """``suppressed_numbers`` as an SQL condition on ``column`` (the contacts app's), for the
    engine's claim statement."""
    from warta.contacts.services import suppressed_sql as contacts_sql

    return contacts_sql(column)


def is_opt_out_exempt(priority: int) -> bool:
    """Messages of a blast with this priority are sent to opted-out numbers too: only citizens'
    service messages (priority ``REPLY``, queued by the inbox), never blasts or polls."""
    return int(priority) == Blast.Priority.REPLY


def tariff_table() -> dict[str, Decimal]:
    """Price per segment by operator (Rupiah), from the blasts settings. Engines cache it."""
    from .services import tariffs

    return tariffs()


def message_cost(table: dict[str, Decimal], sender: str, operator: str, segments: int) -> Decimal:
    """Segments × the tariff of the message's operator (``unknown``'s when it has none).

    ``sender`` is accepted so a price per sender ID can be added to the table (key
    ``"SENDER:operator"``) without touching the engine; the settings hold prices per operator."""
    price = table.get(f"{sender}:{operator}")
    if price is None:
        price = table.get(operator, table.get("unknown", Decimal(0)))
    return price * max(1, segments)


def create_blast(
    *,
    sender: SenderID | str,
    text: str,
    recipients: Iterable[str | tuple[str, str]],
    name: str = "",
    priority: int = Blast.Priority.NORMAL,
    valid_until: datetime | None = None,
    resend_unknown: bool = True,
    actor: Any = None,
    audit_action: str = "blasts.blast_created",
    prepared: bool = False,
) -> tuple[Blast, dict[str, Any]]:
    """Queue ``text`` to each valid mobile number of ``recipients`` (duplicates once).

    Returns the blast and a summary ``{"queued": n, "invalid": [raw…], "duplicates": n}``.
    A recipient may be ``(number, text)`` to give that recipient its own (personalised) text.
    ``prepared=True``: recipients are ``(e164, operator, text)`` already checked by the contacts
    app (an audience), so numbers are not parsed again — freezing a million-recipient audience
    is then bound by the insert, not by ``phonenumbers``.
    """
    if isinstance(sender, str):
        try:
            sender = SenderID.objects.get(name=sender)
        except SenderID.DoesNotExist:
            raise OutboxError(_("Sender ID %(s)r tidak ada. Daftarkan dulu di Pengaturan → Sender ID.") % {"s": sender}) from None
    if not sender.is_active:
        raise OutboxError(_("Sender ID %(s)s tidak aktif.") % {"s": sender.name})
    if not text.strip():
        raise OutboxError(_("Teks pesan kosong."))
    now = timezone.now()
    invalid: list[str] = []
    seen: set[str] = set()
    duplicates = 0

    def rows() -> Iterable[tuple[Any, ...]]:
        nonlocal duplicates
        for item in recipients:
            if prepared:
                e164, operator, own_text = item  # type: ignore[misc]
            else:
                raw, own_text = (item, "") if isinstance(item, str) else item
                info = parse_number(raw)
                if info.kind is not NumberKind.MOBILE or info.e164 is None:
                    invalid.append(raw)
                    continue
                e164, operator = info.e164, str(info.operator)
            if e164 in seen:
                duplicates += 1
                continue
            seen.add(e164)
            yield (e164, operator, own_text if own_text != text else "")

    with transaction.atomic():
        blast = Blast.objects.create(name=name or _("Blast %(when)s") % {"when": now.strftime("%Y-%m-%d %H:%M")},
                                     sender=sender, text=text, priority=priority, valid_until=valid_until,
                                     resend_unknown=resend_unknown, created_by=actor)
        it = iter(rows())
        queued = 0
        # Every NOT NULL column is named: Django model defaults are not database defaults.
        fields = ("blast", "to", "operator", "text", "state", "attempts", "unknown_count", "error",
                  "next_attempt_at", "created_at", "valid_until")
        while chunk := list(itertools.islice(it, INSERT_CHUNK)):
            # Plain SQL (one statement per chunk): bulk_create's per-value preparation was most
            # of the time of freezing a large audience.
            fastsql.insert_rows(OutboundMessage, fields, [
                (blast.pk, to, operator, own, State.QUEUED, 0, 0, "", now, now, valid_until)
                for to, operator, own in chunk])
            queued += len(chunk)
        OutboxCount.add({(blast.pk, State.QUEUED): queued})
        if queued >= ANALYZE_AFTER and connection.vendor == "postgresql":
            transaction.on_commit(_analyze_outbox)
        summary = {"queued": queued, "invalid": invalid, "duplicates": duplicates}
        audit.record(audit_action, blast, actor=actor,
                     changes={"sender": sender.name, "queued": queued, "invalid": len(invalid),
                              "priority": int(priority)})
    return blast, summary


def _analyze_outbox() -> None:
    """Fresh statistics for the outbox (see ``ANALYZE_AFTER``): a sample of ~30,000 rows,
    a fraction of a second to a few seconds on a large table, once per large blast."""
    with connection.cursor() as cur:
        cur.execute(f"ANALYZE {OutboundMessage._meta.db_table}")


def _control(blast: Blast, new_state: str, allowed_from: set[str], action: str, actor: Any) -> Blast:
    with transaction.atomic():
        updated = Blast.objects.filter(pk=blast.pk, state__in=allowed_from).update(
            state=new_state, control_changed_at=timezone.now())
        if not updated:
            blast.refresh_from_db()
            if blast.state == Blast.State.DONE:
                raise OutboxError(_("Blast ini sudah selesai: semua pesannya sudah berstatus akhir, tidak ada "
                                    "yang dapat dijeda, dilanjutkan atau dibatalkan."))
            if blast.state == Blast.State.CANCELLED:
                raise OutboxError(_("Blast ini sudah dibatalkan; buat blast baru bila pesan perlu dikirim lagi."))
            raise OutboxError(_("Blast ini sedang %(state)s; tindakan tidak dapat dilakukan.")
                              % {"state": blast.get_state_display()})
        changes: dict[str, Any] = {"state": [blast.state, new_state]}
        if new_state == Blast.State.CANCELLED:
            changes["cancelled_messages"] = cancel_queued(blast.pk)
        blast.state = new_state
        audit.record(action, blast, actor=actor, changes=changes)
    return blast


def pause(blast: Blast, actor: Any = None) -> Blast:
    # A blast held by quiet hours can be paused too: it then stays paused after they end.
    return _control(blast, Blast.State.PAUSED, {Blast.State.ACTIVE, Blast.State.QUIET}, "blasts.blast_paused", actor)


def resume(blast: Blast, actor: Any = None) -> Blast:
    # Resumed during quiet hours, a normal blast waits for their end instead of sending at night.
    target = Blast.State.QUIET if _held_by_quiet_hours(blast.priority, timezone.now()) else Blast.State.ACTIVE
    return _control(blast, target, {Blast.State.PAUSED}, "blasts.blast_resumed", actor)


def cancel(blast: Blast, actor: Any = None) -> Blast:
    return _control(blast, Blast.State.CANCELLED, {Blast.State.ACTIVE, Blast.State.PAUSED, Blast.State.QUIET},
                    "blasts.blast_cancelled", actor)


# -- the blasts' clock: quiet hours and finishing --------------------------------------------------


def _held_by_quiet_hours(priority: int, now: datetime) -> bool:
    from .services import in_quiet_hours

    return int(priority) == Blast.Priority.NORMAL and in_quiet_hours(now)


def apply_quiet_hours(now: datetime | None = None) -> dict[str, int]:
    """At the start of quiet hours, normal blasts still sending go ``quiet``; at their end, back
    to ``active``. Emergencies and citizens' replies are never held. Audited as the system's act."""
    now = now or timezone.now()
    moved = {"held": 0, "resumed": 0}
    if _held_by_quiet_hours(Blast.Priority.NORMAL, now):
        src, dst, action, key = Blast.State.ACTIVE, Blast.State.QUIET, "blasts.blast_quiet_hours_held", "held"
        candidates = Blast.objects.filter(state=src, priority=Blast.Priority.NORMAL)
    else:
        src, dst, action, key = Blast.State.QUIET, Blast.State.ACTIVE, "blasts.blast_quiet_hours_resumed", "resumed"
        candidates = Blast.objects.filter(state=src, finished_at__isnull=True)
    for blast in candidates.only("pk", "name", "sender_id"):
        with transaction.atomic():
            if Blast.objects.filter(pk=blast.pk, state=src).update(state=dst, control_changed_at=now):
                audit.record(action, blast, changes={"state": [src, dst]})
                moved[key] += 1
    return moved


def finish_blasts(now: datetime | None = None) -> list[int]:
    """Blasts none of whose messages can change any more: ``done`` with ``finished_at`` (a
    cancelled blast keeps its state and gets ``finished_at``), and ``blast_finished`` is sent
    after commit. One query over the counter rows of the unfinished blasts, one UPDATE per blast
    that finished. Returns the ids finished."""
    now = now or timezone.now()
    unfinished = list(Blast.objects.filter(finished_at__isnull=True).values_list("pk", flat=True))
    if not unfinished:
        return []
    open_n: dict[int, int] = dict.fromkeys(unfinished, 0)
    for blast_id, n in (OutboxCount.objects.filter(blast_id__in=unfinished, state__in=OPEN_STATES)
                        .values_list("blast_id").annotate(n=Sum("count")).values_list("blast_id", "n")):
        open_n[blast_id] += int(n or 0)
    finished: list[int] = []
    for blast_id, n in open_n.items():
        if n:
            continue
        with transaction.atomic():
            ok = Blast.objects.filter(pk=blast_id, finished_at__isnull=True).exclude(
                state=Blast.State.CANCELLED).update(state=Blast.State.DONE, finished_at=now)
            if not ok:
                ok = Blast.objects.filter(pk=blast_id, finished_at__isnull=True,
                                          state=Blast.State.CANCELLED).update(finished_at=now)
            if ok:
                blast = Blast.objects.get(pk=blast_id)
                audit.record("blasts.blast_finished", blast,
                             changes={"state": blast.state, "counts": OutboxCount.totals(blast_id)})
                transaction.on_commit(lambda b=blast: blast_finished.send(sender=Blast, blast=b))
                finished.append(blast_id)
    return finished


def sweep(now: datetime | None = None) -> dict[str, Any]:
    """One tick of the blasts' clock: quiet hours, then finishing."""
    now = now or timezone.now()
    moved = apply_quiet_hours(now)
    return {**moved, "finished": finish_blasts(now)}


def cancel_queued(blast_id: int) -> int:
    """Cancel every queued message of the blast, claimed or not: an engine holding one finds it
    gone when it tries to mark it ``sending`` (conditional UPDATE) and drops it."""
    outbox = Outbox()
    n = outbox.move_blast("cancel", blast_id, set_params=[timezone.now()])
    outbox.write_counts()
    return n


def status_counts(blast_id: int | None = None) -> dict[str, int]:
    """Messages per state (all states listed, zeros included), from the counter table."""
    totals = OutboxCount.totals(blast_id)
    return {s.value: totals.get(s.value, 0) for s in State}
