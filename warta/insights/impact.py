"""Blast impact: what citizens did in the 48 hours after a blast, against the 48 hours before.

Theory of operation: attribution is by number — a reply, an opt-out or a new ticket counts for a
blast when it comes from one of the blast's recipients inside the window (the same rule as the
inbox's ``replied_to_blast``). The windows are anchored on the blast's creation (its release).
The queries join the blast's recipients with the inbox's rows of those numbers, so they touch
only the recipients' conversations; the result is cached for ten minutes (final results, once
the window is over, for a day) so the console and the dashboard do not recount on every view.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.core.cache import cache
from django.utils import timezone


def _window(recipients: Any, start: Any, end: Any) -> dict[str, Any]:
    from warta.contacts.models import OptOut
    from warta.inbox.models import Conversation, Direction, Message, Ticket

    from .models import Classification

    convs = Conversation.objects.filter(address__in=recipients).values("pk")
    replies = Message.objects.filter(conversation__in=convs, direction=Direction.IN, at__gte=start, at__lt=end).count()
    optouts = OptOut.objects.filter(e164__in=recipients, at__gte=start, at__lt=end).count()
    tickets = Ticket.objects.filter(conversation__in=convs, created_at__gte=start, created_at__lt=end)
    topics: Counter[str] = Counter(
        Classification.objects.filter(ticket__in=tickets.values("pk")).values_list("topic__code", flat=True))
    return {"replies": replies, "optouts": optouts, "tickets": tickets.count(), "topics": dict(topics.most_common())}


def blast_impact(blast: Any, *, window: timedelta = timedelta(hours=48)) -> dict[str, Any]:
    from warta.blasts.models import Blast, OutboundMessage

    if not isinstance(blast, Blast):
        blast = Blast.objects.get(pk=int(blast))
    at = blast.created_at
    now = timezone.now()
    key = f"insights-impact:{blast.pk}:{int(window.total_seconds())}"
    hit = cache.get(key)
    if hit is not None:
        return hit  # type: ignore[no-any-return]
    recipients = OutboundMessage.objects.filter(blast=blast).values("to")
    result = {
        "blast": blast.pk, "name": blast.name, "at": at.isoformat(), "window_hours": window.total_seconds() / 3600,
        "complete": now >= at + window,
        "after": _window(recipients, at, at + window),
        "before": _window(recipients, at - window, at),
    }
    cache.set(key, result, 86_400 if result["complete"] else 600)
    return result
