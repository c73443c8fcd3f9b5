"""What people do to tickets, and the escalation job. Views call these; nothing else writes tickets.

Theory of operation: each function takes the acting user, checks what that user may do to that
ticket (``can_work``/``can_dispatch``: the server decides, never the page), changes the row, adds a
``TicketEvent`` for the ticket's page and an audit event for the trail, in one transaction.
Replies go out through ``outbound.queue_sms`` from the SMS Center's long number.

Ingest (``receive_mo`` / ``receive_mo_batch``) lives in ``ingest.py`` and is re-exported here,
because the gateway's contract names ``warta.inbox.services.receive_mo``.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from warta.accounts import audit
from warta.accounts.models import Role, Unit, User
from warta.accounts.permissions import has_capability, scope_to_unit

from . import conf, notices, outbound, routing, sla
from .ingest import MO, flush_incomplete, from_smpp, receive_mo, receive_mo_batch, render_template
from .models import (
    CLOSED_STATUSES,
    OPEN_STATUSES,
    BlockedNumber,
    Direction,
    Disposition,
    EventKind,
    Message,
    NoticeKind,
    Notification,
    Ticket,
    TicketEvent,
    TicketStatus,
)
from .signals import announce, ticket_routed, ticket_updated

__all__ = [
    "MO", "TRANSITIONS", "TicketError", "add_note", "assign", "block_number", "bulk_action",
    "escalate_overdue", "flush_incomplete", "from_smpp", "receive_mo", "receive_mo_batch", "reply",
    "set_status", "tickets_for", "update_details",
]

S = TicketStatus
# Which status may follow which (the lifecycle in Ticket's docstring).
TRANSITIONS: dict[str, frozenset[str]] = {
    S.MENUNGGU: frozenset({S.KOORDINASI, S.DISPOSISI, S.SELESAI, S.SPAM}),
    S.KOORDINASI: frozenset({S.MENUNGGU, S.DISPOSISI, S.SELESAI, S.SPAM}),
    S.DISPOSISI: frozenset({S.PROSES, S.KOORDINASI, S.SELESAI}),
    S.PROSES: frozenset({S.KOORDINASI, S.SELESAI}),
    S.SELESAI: frozenset(),
    S.SPAM: frozenset(),
}
# What a unit liaison may set on its own unit's tickets ("return" means back to the SMS Center).
LIAISON_TARGETS = frozenset({S.PROSES, S.SELESAI, S.KOORDINASI})
# A second identical reply this soon after the first is a double click, not a new answer.
DOUBLE_SUBMIT_SECONDS = 10


class TicketError(Exception):
    """A request that cannot be done to this ticket; the message is for the user."""


# ----------------------------------------------------------------------------- who may do what


def tickets_for(user: User) -> QuerySet[Ticket]:
    """The tickets ``user`` may see: all for central roles, their unit's subtree for liaisons."""
    qs = Ticket.objects.select_related("conversation", "unit", "assignee")
    return scope_to_unit(qs, user)


def can_work(user: User, ticket: Ticket) -> bool:
    """Reply, add notes, move the status (liaisons: only their unit's forwarded tickets)."""
    if not has_capability(user, "inbox.work"):
        return False
    if user.role == Role.LIAISON:
        return ticket.unit_id is not None and user.unit is not None and ticket.unit_id in user.unit.descendant_ids()
    return True


def can_dispatch(user: User) -> bool:
    return has_capability(user, "inbox.dispatch")


def _check(condition: bool) -> None:
    if not condition:
        raise PermissionDenied(_("Anda tidak berhak mengubah tiket ini."))


def _event(ticket: Ticket, actor: User | None, kind: str, text: str = "", **data: Any) -> TicketEvent:
    return TicketEvent.objects.create(ticket=ticket, at=timezone.now(), actor=actor, kind=kind, text=text, data=data)


def _tell_citizen(ticket: Ticket, kind: str, **values: Any) -> Message | None:
    """Queue the ``kind`` notice (``notices``) to the ticket's citizen; None when the number
    cannot receive SMS (a fixed line, an alphanumeric sender) or is blocked."""
    conv = ticket.conversation
    if not conv.can_receive_sms or BlockedNumber.objects.filter(address=conv.address).exists():
        return None
    text = render_template(notices.texts()[kind], ticket=ticket.number, **values).strip()
    outbox_id = outbound.queue_sms(conv.address, text, sender=conf.center_number(), purpose="notice", ticket=ticket)
    return Message.objects.create(conversation=conv, ticket=ticket, direction=Direction.OUT,
                                  disposition=Disposition.NOTICE, text=text, at=timezone.now(),
                                  destination=conv.address, outbox_id=outbox_id)


def _locked(ticket: Ticket) -> Ticket:
    return Ticket.objects.select_for_update(of=("self",)).select_related("conversation", "unit").get(pk=ticket.pk)


# ----------------------------------------------------------------------------- status and routing


def _apply_status(ticket: Ticket, new: str, now: datetime) -> None:
    ticket.status = new
    if new == S.DISPOSISI and ticket.forwarded_at is None:
        ticket.forwarded_at = now
        ticket.followup_due_at = sla.add_working_days(now, int(conf.get("INBOX_SLA_FOLLOWUP_DAYS")))
    if new in CLOSED_STATUSES:
        ticket.closed_at = now
    ticket.updated_at = now


def set_status(ticket: Ticket, new: str, *, actor: User, note: str = "") -> Ticket:
    with transaction.atomic():
        ticket = _locked(ticket)
        _check(can_work(actor, ticket))
        if new not in TRANSITIONS:
            raise TicketError(_("Status tidak dikenal."))
        if actor.role == Role.LIAISON and new not in LIAISON_TARGETS:
            raise PermissionDenied(_("Penghubung unit hanya dapat memproses, menyelesaikan, atau mengembalikan tiket."))
        if new == ticket.status:
            return ticket
        if new not in TRANSITIONS[ticket.status]:
            raise TicketError(_("Tiket berstatus %(old)s tidak dapat diubah menjadi %(new)s.")
                              % {"old": ticket.get_status_display(), "new": S(new).label})
        if new == S.DISPOSISI and ticket.unit_id is None:
            raise TicketError(_("Pilih unit tujuan sebelum disposisi."))
        old = ticket.status
        old_unit = ticket.unit_id
        now = timezone.now()
        if new == S.KOORDINASI and actor.role == Role.LIAISON:
            # Returned by the unit: the SMS Center re-routes it; the unit's clock stops.
            ticket.unit = None
            ticket.forwarded_at = None
            ticket.followup_due_at = None
        _apply_status(ticket, new, now)
        ticket.save()
        _event(ticket, actor, EventKind.STATUS, note, old=old, new=new)
        audit.record("inbox.ticket.status", ticket, changes={"status": [old, new], "note": note[:200]})
        if new == S.SELESAI:
            _tell_citizen(ticket, NoticeKind.CLOSED, answer=note.strip(), unit=str(ticket.unit or ""))
        if old_unit is not None:
            announce(ticket_updated, ticket_id=ticket.pk, unit_id=old_unit, change="status", status=new)
        return ticket


def assign(ticket: Ticket, *, actor: User, unit: Unit | None = None, assignee: User | None = None,
           forward: bool = True) -> Ticket:
    """Give the ticket to a unit (forwarding it: Disposisi, the unit's clock starts) and/or an operator."""
    _check(can_dispatch(actor))
    with transaction.atomic():
        ticket = _locked(ticket)
        if ticket.status in CLOSED_STATUSES:
            raise TicketError(_("Tiket sudah ditutup."))
        before = audit.snapshot(ticket, ["unit", "assignee", "status"])
        old_unit = ticket.unit_id
        now = timezone.now()
        if assignee is not None:
            if not assignee.is_active or not has_capability(assignee, "inbox.work"):
                raise TicketError(_("Petugas ini tidak dapat menangani kotak masuk."))
            ticket.assignee = assignee
        forwarded = False
        if unit is not None and unit.pk != ticket.unit_id:
            ticket.unit = unit
            if ticket.status in (S.DISPOSISI, S.PROSES):
                # Re-forwarded to another unit: its clock starts afresh.
                ticket.status = S.DISPOSISI
                ticket.forwarded_at = None
            if forward:
                _apply_status(ticket, S.DISPOSISI, now)
            forwarded = ticket.status == S.DISPOSISI
        ticket.updated_at = now
        ticket.save()
        after = audit.snapshot(ticket, ["unit", "assignee", "status"])
        changes = audit.diff(before, after)
        _event(ticket, actor, EventKind.ASSIGNED, "", unit=ticket.unit_id, assignee=ticket.assignee_id)
        audit.record("inbox.ticket.assign", ticket, changes=changes)
        if unit is not None:
            _notify_unit(ticket, unit, _("Tiket #%(n)s diteruskan ke %(unit)s.") % {"n": ticket.number, "unit": unit})
        if forwarded:
            _tell_citizen(ticket, NoticeKind.FORWARDED, unit=str(unit))
            if ticket.unit_id != old_unit:
                announce(ticket_routed, ticket_id=ticket.pk, unit_id=unit.pk, by="user")
        return ticket


def _topic(code: str) -> Any:
    from . import hooks

    if not code:
        return None
    topic = hooks.topic_by_code(code)
    if topic is None:
        raise TicketError(_("Topik tidak dikenal; pilih dari daftar."))
    return topic


def _region(text: str) -> Any:
    from warta.contacts.models import Region
    from warta.contacts.regions import RegionMatcher

    text = text.strip()
    if not text:
        return None
    pk = RegionMatcher().match(text)
    if pk is None:
        raise TicketError(_("Wilayah tidak dikenal; tulis nama kelurahan/kecamatan atau kode Kemendagri."))
    return Region.objects.get(pk=pk)


def update_details(ticket: Ticket, *, actor: User, topic: str | None = None, region: str | None = None) -> Ticket:
    """Set topic/region; an unrouted ticket is then offered to the routing rules."""
    with transaction.atomic():
        ticket = _locked(ticket)
        _check(can_work(actor, ticket))
        before = audit.snapshot(ticket, ["topic", "region", "unit", "status"])
        if topic is not None:
            ticket.topic = _topic(topic)
        if region is not None:
            ticket.region = _region(region)
        now = timezone.now()
        ticket.updated_at = now
        routed = None
        if ticket.unit_id is None and ticket.status in (S.MENUNGGU, S.KOORDINASI):
            routed = routing.route(routing.compile_rules(), topic=ticket.topic.code if ticket.topic else "",
                                   region=ticket.region.name if ticket.region else "")
            if routed is not None:
                ticket.unit_id = routed.unit_id
                _apply_status(ticket, S.DISPOSISI, now)
        ticket.save()
        _event(ticket, actor, EventKind.EDITED, "", topic=ticket.topic.code if ticket.topic else "",
               region=ticket.region.code if ticket.region else "")
        if routed is not None:
            _event(ticket, None, EventKind.ROUTED, "", rule=routed.rule_id, unit=routed.unit_id)
            _tell_citizen(ticket, NoticeKind.FORWARDED, unit=str(Unit.objects.get(pk=routed.unit_id)))
            announce(ticket_routed, ticket_id=ticket.pk, unit_id=routed.unit_id, by="rule")
        audit.record("inbox.ticket.edit", ticket, changes=audit.diff(before, audit.snapshot(
            ticket, ["topic", "region", "unit", "status"])))
        return ticket


def add_note(ticket: Ticket, text: str, *, actor: User) -> TicketEvent:
    text = text.strip()
    if not text:
        raise TicketError(_("Catatan kosong."))
    with transaction.atomic():
        ticket = _locked(ticket)
        _check(can_work(actor, ticket) or (has_capability(actor, "inbox.dispatch")))
        event = _event(ticket, actor, EventKind.NOTE, text[:5000])
        ticket.search_text = (ticket.search_text + "\n" + text)[:20_000]
        ticket.updated_at = timezone.now()
        ticket.save(update_fields=["search_text", "updated_at"])
        audit.record("inbox.ticket.note", ticket, changes={"note": text[:200]})
        if ticket.unit_id is not None:
            announce(ticket_updated, ticket_id=ticket.pk, unit_id=ticket.unit_id, change="note", status=ticket.status)
        return event


def reply(ticket: Ticket, text: str, *, actor: User, close: bool = False) -> Message:
    """Send ``text`` to the citizen by SMS from the SMS Center number; optionally close the ticket."""
    text = text.strip()
    if not text:
        raise TicketError(_("Balasan kosong."))
    if len(text) > 1000:
        raise TicketError(_("Balasan terlalu panjang (maksimal 1.000 karakter)."))
    with transaction.atomic():
        ticket = _locked(ticket)
        _check(can_work(actor, ticket))
        conv = ticket.conversation
        if not conv.can_receive_sms:
            raise TicketError(_("Nomor ini tidak dapat menerima SMS (%(kind)s).") % {"kind": conv.get_kind_display()})
        if BlockedNumber.objects.filter(address=conv.address).exists():
            raise TicketError(_("Nomor ini diblokir."))
        now = timezone.now()
        closing = close and ticket.status not in CLOSED_STATUSES
        answer = text
        if closing:
            # The answer that closes the ticket goes out once, in the "closed" notice's words.
            text = render_template(notices.texts()[NoticeKind.CLOSED], ticket=ticket.number, answer=answer,
                                   unit=str(ticket.unit or "")).strip()
        # A double click must not text the citizen twice: under the ticket's row lock, the same
        # person's identical reply of the last few seconds is the answer to the second click.
        recent = Message.objects.filter(
            ticket=ticket, direction=Direction.OUT, disposition=Disposition.REPLY, author=actor, text=text,
            at__gte=now - timedelta(seconds=DOUBLE_SUBMIT_SECONDS),
        ).order_by("-at").first()
        if recent is not None:
            return recent
        outbox_id = outbound.queue_sms(conv.address, text, sender=conf.center_number(), purpose="reply", ticket=ticket)
        message = Message.objects.create(conversation=conv, ticket=ticket, direction=Direction.OUT,
                                         disposition=Disposition.REPLY, text=text, at=now, author=actor,
                                         destination=conv.address, outbox_id=outbox_id)
        ticket.search_text = (ticket.search_text + "\n" + answer)[:20_000]
        ticket.updated_at = now
        ticket.message_count += 1
        old = ticket.status
        if ticket.status == S.DISPOSISI and actor.role == Role.LIAISON:
            ticket.status = S.PROSES  # the unit answered: it has taken the ticket up
        if closing:
            _apply_status(ticket, S.SELESAI, now)
        ticket.save()
        _event(ticket, actor, EventKind.REPLY, text, message=message.pk)
        audit.record("inbox.ticket.reply", ticket, changes={"text": text[:200], "outbox_id": outbox_id})
        if ticket.status != old:
            _event(ticket, actor, EventKind.STATUS, "", old=old, new=ticket.status)
            audit.record("inbox.ticket.status", ticket, changes={"status": [old, ticket.status]})
        if ticket.unit_id is not None:
            announce(ticket_updated, ticket_id=ticket.pk, unit_id=ticket.unit_id, change="reply", status=ticket.status)
        return message


def bulk_action(ids: Iterable[int], action: str, *, actor: User, unit: Unit | None = None,
                status: str | None = None) -> tuple[int, list[str]]:
    """Apply one action to many tickets the actor can see; returns (done, errors)."""
    _check(can_dispatch(actor))
    done, errors = 0, []
    for ticket in tickets_for(actor).filter(pk__in=list(ids)[:500]):
        try:
            if action == "status" and status:
                set_status(ticket, status, actor=actor)
            elif action == "spam":
                set_status(ticket, S.SPAM, actor=actor)
            elif action == "assign" and unit is not None:
                assign(ticket, actor=actor, unit=unit)
            elif action == "assign_me":
                assign(ticket, actor=actor, assignee=actor, forward=False)
            else:
                raise TicketError(_("Tindakan tidak dikenal."))
            done += 1
        except (TicketError, PermissionDenied) as exc:
            errors.append(f"#{ticket.number}: {exc}")
    return done, errors


def masked_address(address: str) -> str:
    """An address as the audit trail may hold it: the audit trail never holds a full number
    (docs/privacy.md), so personal numbers are masked; short codes and alphanumeric senders stay."""
    from warta.sms.numbers import mask, parse_number

    address = (address or "").strip()
    info = parse_number(address)
    if info.e164 is not None:
        return mask(info.e164)
    if sum(ch.isdigit() for ch in address) <= 6:
        return address
    return address[:2] + "****" + address[-2:]


def block_number(address: str, *, actor: User, reason: str = "") -> BlockedNumber:
    _check(has_capability(actor, "inbox.block"))
    blocked, created = BlockedNumber.objects.get_or_create(address=address.strip(),
                                                           defaults={"reason": reason[:200], "created_by": actor})
    if created:
        masked = masked_address(blocked.address)
        audit.record("inbox.block", blocked, object_repr=masked, changes={"address": masked, "reason": reason[:200]})
    return blocked


def unblock_number(blocked: BlockedNumber, *, actor: User) -> None:
    _check(has_capability(actor, "inbox.block"))
    masked = masked_address(blocked.address)
    audit.record("inbox.unblock", blocked, object_repr=masked, changes={"address": masked})
    blocked.delete()


# ----------------------------------------------------------------------------- escalation


def unit_heads(unit: Unit) -> list[User]:
    """Who hears of a unit's overdue tickets: its heads (verifier/approver roles in the unit),
    else its liaisons. Unit has no "head" field; the roles are the SOP's Kepala Seksi/Bidang/Dinas."""
    members = list(User.objects.filter(unit=unit, is_active=True))
    heads = [u for u in members if u.role in (Role.VERIFIER, Role.APPROVER)]
    return heads or [u for u in members if u.role == Role.LIAISON]


def _center_heads() -> list[User]:
    """The SMS Center's own heads for tickets not yet forwarded: verifiers, else administrators."""
    users = list(User.objects.filter(is_active=True, role=Role.VERIFIER))
    return users or list(User.objects.filter(is_active=True, role=Role.ADMIN))


def _notify(users: Iterable[User], ticket: Ticket | None, text: str) -> None:
    now = timezone.now()
    Notification.objects.bulk_create([Notification(user=u, ticket=ticket, text=text[:300], created_at=now)
                                      for u in {u.pk: u for u in users}.values()])


def _notify_unit(ticket: Ticket, unit: Unit, text: str) -> None:
    _notify(User.objects.filter(unit=unit, is_active=True, role=Role.LIAISON), ticket, text)


def escalate_overdue(now: datetime | None = None) -> int:
    """Escalate every ticket whose SLA clock ran out, once per clock; returns how many."""
    now = now or timezone.now()
    count = 0
    verify = Ticket.objects.filter(forwarded_at__isnull=True, closed_at__isnull=True,
                                   escalated_verify_at__isnull=True, verify_due_at__lt=now)
    followup = Ticket.objects.filter(closed_at__isnull=True, escalated_followup_at__isnull=True,
                                     followup_due_at__isnull=False, followup_due_at__lt=now)
    for clock, qs in (("verify", verify), ("followup", followup)):
        for ticket in qs.select_related("unit")[:1000]:
            with transaction.atomic():
                field = "escalated_verify_at" if clock == "verify" else "escalated_followup_at"
                # Claimed by a conditional UPDATE: two schedulers never escalate one ticket twice.
                if not Ticket.objects.filter(pk=ticket.pk, **{f"{field}__isnull": True}).update(**{field: now}):
                    continue
                if clock == "verify":
                    heads = _center_heads()
                    text = _("Tiket #%(n)s melewati batas verifikasi %(d)s hari kerja.") % {
                        "n": ticket.number, "d": conf.get("INBOX_SLA_VERIFY_DAYS")}
                else:
                    assert ticket.unit is not None
                    heads = unit_heads(ticket.unit)
                    text = _("Tiket #%(n)s di %(unit)s melewati batas tindak lanjut %(d)s hari kerja.") % {
                        "n": ticket.number, "unit": ticket.unit, "d": conf.get("INBOX_SLA_FOLLOWUP_DAYS")}
                _notify(heads, ticket, text)
                _event(ticket, None, EventKind.ESCALATED, text, clock=clock, to=[u.username for u in heads])
                audit.record("inbox.ticket.escalate", ticket, changes={"clock": clock,
                                                                        "to": [u.username for u in heads]})
                count += 1
    return count


def overdue_q(now: datetime) -> Q:
    """Tickets whose SLA clock has run out (for the "terlambat" filter and highlighting)."""
    return Q(closed_at__isnull=True) & (
        Q(forwarded_at__isnull=True, verify_due_at__lt=now) | Q(followup_due_at__isnull=False, followup_due_at__lt=now)
    )


def open_statuses() -> tuple[str, ...]:
    return tuple(s.value for s in OPEN_STATUSES)


# ----------------------------------------------------------------------------- finding tickets


def _normalise_number_query(raw: str) -> str:
    """"0812 3456" → "+628123456" so a partial national number finds E.164 addresses."""
    digits = "".join(ch for ch in raw if ch.isdigit() or ch == "+")
    if digits.startswith("0"):
        return "+62" + digits[1:]
    if digits.startswith("62"):
        return "+" + digits
    return digits


def search_tickets(user: User, data: dict[str, Any], now: datetime | None = None) -> QuerySet[Ticket]:
    """The inbox list: the user's visible tickets, filtered. ``data`` is a FilterForm's cleaned_data.

    Full text: PostgreSQL's text search over messages and notes (``simple`` configuration: the
    citizens' Indonesian is informal, a stemmer for formal Indonesian helps little); on SQLite a
    case-insensitive match of every word.
    """
    from django.db import connection

    now = now or timezone.now()
    qs = tickets_for(user)
    status = data.get("status") or ""
    if status == "":
        qs = qs.filter(status__in=open_statuses())
    elif status != "all":
        qs = qs.filter(status=status)
    if data.get("unit"):
        qs = qs.filter(unit__in=data["unit"].descendant_ids())
    if data.get("topic"):
        qs = qs.filter(topic__code=data["topic"])
    if data.get("number") and has_capability(user, "numbers.view_full"):
        # Only for those who see numbers: otherwise the filter would reveal a masked number.
        qs = qs.filter(conversation__address__contains=_normalise_number_query(data["number"]))
    if data.get("date_from"):
        qs = qs.filter(created_at__gte=datetime.combine(data["date_from"], datetime.min.time(), tzinfo=sla.WIB))
    if data.get("date_to"):
        qs = qs.filter(created_at__lt=datetime.combine(data["date_to"], datetime.max.time(), tzinfo=sla.WIB))
    if data.get("overdue"):
        qs = qs.filter(overdue_q(now))
    if data.get("mine"):
        qs = qs.filter(assignee=user)
    q = (data.get("q") or "").strip()
    if q:
        if q.lstrip("#").isdigit():
            qs = qs.filter(Q(pk=int(q.lstrip("#"))) | Q(search_text__icontains=q))
        elif connection.vendor == "postgresql":
            from django.contrib.postgres.search import SearchQuery, SearchVector

            qs = qs.annotate(_doc=SearchVector("search_text", config="simple")).filter(
                _doc=SearchQuery(q, config="simple", search_type="websearch"))
        else:
            for word in q.split()[:8]:
                qs = qs.filter(search_text__icontains=word)
    return qs
