"""The one door through which the inbox sends SMS: acknowledgements, keyword answers, replies.

Theory of operation: the delivery engine owns the outbox (``warta.blasts``). This module is the
thin adapter to it, so the inbox never writes the outbox's tables. While the engine's
single-message API is not installed, messages wait in the inbox's own ``OutgoingSms`` table (and
``pending()`` lists them); when it is, ``queue_sms_batch`` hands them to it. Every SMS the inbox
sends leaves from the SMS Center's long number (``WARTA["SMS_CENTER_NUMBER"]``): citizens answer
the number that wrote to them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.utils import timezone


@dataclass(frozen=True, slots=True)
class Outgoing:
    to_e164: str
    text: str
    sender: str
    purpose: str  # "ack", "keyword", "reply"
    ticket_id: int | None = None


def _engine_api() -> Any:
    """The outbox's single-message function when the engine offers one, else None."""
    try:
        from warta.blasts import outbox
    except ImportError:
        return None
    return getattr(outbox, "enqueue_single_batch", None)


def queue_sms_batch(items: list[Outgoing], now: datetime | None = None) -> list[int | None]:
    """Queue ``items`` in one go; returns the id of each queued row (outbox or fallback)."""
    if not items:
        return []
    engine = _engine_api()
    if engine is not None:
        return list(engine(items))
    from .models import OutgoingSms

    now = now or timezone.now()
    rows = OutgoingSms.objects.bulk_create([
        OutgoingSms(to=i.to_e164, text=i.text, sender=i.sender, purpose=i.purpose, ticket_id=i.ticket_id,
                    created_at=now)
        for i in items
    ])
    return [row.pk for row in rows]


def queue_sms(to_e164: str, text: str, *, sender: str, purpose: str, ticket: Any = None) -> int | None:
    return queue_sms_batch([Outgoing(to_e164, text, sender, purpose, ticket.pk if ticket is not None else None)])[0]
