"""``create_*`` helpers for the report tests: blasts with outbox rows in chosen states and times,
citizens' tickets and messages — written as the apps' own code would leave them, with every
timestamp chosen by the test (WIB), so each month's figures can be computed both ways."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any
from zoneinfo import ZoneInfo

WIB = ZoneInfo("Asia/Jakarta")
_n = itertools.count(1)

OPERATOR_PREFIX = {"telkomsel": "812", "indosat": "815", "xl": "817", "tri": "896", "smartfren": "881"}


def wib(y: int, m: int, d: int, hh: int = 9, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=WIB)


def number(operator: str = "telkomsel") -> str:
    return f"+62{OPERATOR_PREFIX[operator]}{30000000 + next(_n):08d}"


def create_blast(*, author: Any, unit: Any, sender: str = "GubDKI", text: str = "Waspada banjir malam ini. Info 112.",
                 at: dt.datetime, emergency: bool = False, title: str | None = None) -> Any:
    """A released draft (materi from ``unit``) and its blast, created at ``at``."""
    from tests.blasts.helpers import create_sender
    from warta.blasts.models import Blast
    from warta.blasts.workflow import Draft, Materi

    # With its owner, as the approval rules need for a later draft under the same sender ID.
    sender_row = create_sender(sender)
    materi = Materi.objects.create(unit=unit, submitted_by=author, title=title or "Materi", content=text,
                                   contact_person="Budi", status=Materi.Status.SENT)
    blast = Blast.objects.create(name=title or f"Blast {next(_n)}", sender=sender_row, text=text,
                                 priority=Blast.Priority.EMERGENCY if emergency else Blast.Priority.NORMAL,
                                 created_by=author)
    Blast.objects.filter(pk=blast.pk).update(created_at=at)
    blast.refresh_from_db()
    Draft.objects.create(materi=materi, sender=sender_row, author=author, title=title or blast.name, text=text,
                         state=Draft.State.RELEASED, blast=blast, emergency=emergency,
                         emergency_reason="banjir" if emergency else "", released_at=at)
    return blast


def add_messages(blast: Any, *, n: int, state: str, operator: str = "telkomsel", created: dt.datetime,
                 submitted: dt.datetime | None = None, text: str = "") -> list[Any]:
    """``n`` outbox rows of ``blast`` in ``state``; ``submitted`` for states the SMSC took."""
    from warta.blasts.models import OutboundMessage

    done = state in {"delivered", "undelivered", "expired", "rejected", "failed", "cancelled", "suppressed"}
    rows = [OutboundMessage(blast=blast, to=number(operator), operator=operator, text=text, state=state,
                            next_attempt_at=created, created_at=created, submitted_at=submitted,
                            sent_at=submitted if state == "sending" else None,
                            engine_id="e1" if state == "sending" else None,
                            done_at=(submitted or created) + dt.timedelta(minutes=2) if done else None,
                            error="0x0000000B" if state == "failed" else "")
            for _i in range(n)]
    return OutboundMessage.objects.bulk_create(rows)


def create_ticket(*, at: dt.datetime, text: str, topic: str = "banjir", region: str = "Kampung Melayu",
                  unit: Any = None, address: str | None = None, closed: dt.datetime | None = None,
                  forwarded: dt.datetime | None = None, reply_at: dt.datetime | None = None,
                  sentiment: str = "") -> Any:
    from warta.contacts.models import Region
    from warta.inbox.models import Conversation, Message, Ticket, TicketStatus
    from warta.inbox.sla import add_working_days
    from warta.insights.models import Topic

    address = address or number()
    conv, _c = Conversation.objects.get_or_create(address=address, defaults={
        "kind": "mobile", "created_at": at, "last_message_at": at})
    topic_row = Topic.objects.get(code=topic) if topic else None
    region_row = Region.objects.filter(name=region).order_by("level").first() if region else None
    status = TicketStatus.SELESAI if closed else (TicketStatus.DISPOSISI if forwarded else TicketStatus.MENUNGGU)
    ticket = Ticket.objects.create(
        conversation=conv, status=status, subject=text[:60], unit=unit if (forwarded or closed) else None, topic=topic_row,
        region=region_row, created_at=at, updated_at=at, last_message_at=at, message_count=1,
        verify_due_at=add_working_days(at, 1, frozenset()), forwarded_at=forwarded,
        followup_due_at=add_working_days(forwarded, 3, frozenset()) if forwarded else None, closed_at=closed)
    message = Message.objects.create(conversation=conv, ticket=ticket, direction="in", disposition="ticket",
                                     text=text, at=at)
    if sentiment:
        from warta.insights.models import Classification

        Classification.objects.create(message=message, ticket=ticket, at=at, day=at.astimezone(WIB).date(),
                                      topic=topic_row or Topic.objects.get(code="lainnya"),
                                      predicted_topic=topic_row or Topic.objects.get(code="lainnya"),
                                      sentiment=sentiment, model_version="uji")
    if reply_at:
        Message.objects.create(conversation=conv, ticket=ticket, direction="out", disposition="reply",
                               text="Terima kasih, sudah kami teruskan.", at=reply_at)
    return ticket


def create_inbound(*, at: dt.datetime, text: str = "BERHENTI", disposition: str = "keyword", address: str | None = None) -> Any:
    from warta.inbox.models import Conversation, Message

    address = address or number()
    conv, _c = Conversation.objects.get_or_create(address=address, defaults={
        "kind": "mobile", "created_at": at, "last_message_at": at})
    return Message.objects.create(conversation=conv, direction="in", disposition=disposition, text=text, at=at,
                                  keyword=text.split()[0].upper() if disposition == "keyword" else "")
