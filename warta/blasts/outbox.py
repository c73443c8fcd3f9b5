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
app's ``is_suppressed`` — so the engine does not import contacts directly.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.lib import fastsql
from warta.sms.numbers import NumberKind, parse_number

from .models import Blast, OutboundMessage, OutboxCount, SenderID
from .transitions import Outbox

State = OutboundMessage.State

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


class OutboxError(Exception):
    """A request on the outbox that cannot be done; the message says why, in Indonesian."""

    permanent = True


def suppressed_numbers(e164s: Iterable[str]) -> set[str]:
    """Numbers that must not be messaged now (opted out, restricted). The adapter to
    ``warta.contacts.services.is_suppressed``; until contacts provides it, nothing is suppressed."""
    try:
        from warta.contacts.services import is_suppressed
    except ImportError:
        return set()
    return is_suppressed(e164s)


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
        summary = {"queued": queued, "invalid": invalid, "duplicates": duplicates}
        audit.record(audit_action, blast, actor=actor,
                     changes={"sender": sender.name, "queued": queued, "invalid": len(invalid),
                              "priority": int(priority)})
    return blast, summary


def _control(blast: Blast, new_state: str, allowed_from: set[str], action: str, actor: Any) -> Blast:
    with transaction.atomic():
        updated = Blast.objects.filter(pk=blast.pk, state__in=allowed_from).update(
            state=new_state, control_changed_at=timezone.now())
        if not updated:
            blast.refresh_from_db()
            raise OutboxError(_("Blast ini sedang %(state)s; tindakan tidak dapat dilakukan.")
                              % {"state": blast.get_state_display()})
        changes: dict[str, Any] = {"state": [blast.state, new_state]}
        if new_state == Blast.State.CANCELLED:
            changes["cancelled_messages"] = cancel_queued(blast.pk)
        blast.state = new_state
        audit.record(action, blast, actor=actor, changes=changes)
    return blast


def pause(blast: Blast, actor: Any = None) -> Blast:
    return _control(blast, Blast.State.PAUSED, {Blast.State.ACTIVE}, "blasts.blast_paused", actor)


def resume(blast: Blast, actor: Any = None) -> Blast:
    return _control(blast, Blast.State.ACTIVE, {Blast.State.PAUSED}, "blasts.blast_resumed", actor)


def cancel(blast: Blast, actor: Any = None) -> Blast:
    return _control(blast, Blast.State.CANCELLED, {Blast.State.ACTIVE, Blast.State.PAUSED},
                    "blasts.blast_cancelled", actor)


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
