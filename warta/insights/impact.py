"""Blast impact: what citizens did in the 48 hours after a blast, against the 48 hours before.

Theory of operation: attribution is by number — a reply, an opt-out or a new ticket counts for a
blast when it comes from one of the blast's recipients inside the window (the same rule as the
inbox's ``replied_to_blast``). The windows are anchored on the blast's creation (its release).
The queries join the blast's recipients with the inbox's rows of those numbers, so they touch
only the recipients' conversations; the result is cached for ten minutes (final results, once
the window is over, for good) in ``BlastImpact``: the scheduler refreshes recent blasts
(``refresh_recent``) and the dashboard reads only stored rows (``stored``).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

from django.utils import timezone

STALE = timedelta(minutes=10)


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


def compute(blast: Any, window: timedelta) -> dict[str, Any]:
    from warta.blasts.models import OutboundMessage

    at = blast.created_at
    recipients = OutboundMessage.objects.filter(blast=blast).values("to")
    return {
        "blast": blast.pk, "name": blast.name, "at": at.isoformat(), "window_hours": window.total_seconds() / 3600,
        "complete": timezone.now() >= at + window,
        "after": _window(recipients, at, at + window),
        "before": _window(recipients, at - window, at),
    }


def blast_impact(blast: Any, *, window: timedelta = timedelta(hours=48), refresh: bool = False) -> dict[str, Any]:
    """The stored impact when fresh (or final), else computed now and stored."""
    from warta.blasts.models import Blast

    from .models import BlastImpact

    if not isinstance(blast, Blast):
        blast = Blast.objects.get(pk=int(blast))
    if window != timedelta(hours=48):
        return compute(blast, window)
    row = BlastImpact.objects.filter(blast=blast).first()
    now = timezone.now()
    if row is not None and not refresh and (row.complete or now - row.computed_at < STALE):
        return row.data  # type: ignore[no-any-return]
    data = compute(blast, window)
    BlastImpact.objects.update_or_create(blast=blast, defaults={"computed_at": now, "complete": data["complete"],
                                                                "data": data})
    return data


def refresh_recent(days: int = 7) -> int:
    """Recompute the impact of blasts of the last ``days`` whose figures are not final yet."""
    from warta.blasts.models import Blast

    from .models import BlastImpact

    done = set(BlastImpact.objects.filter(complete=True).values_list("blast_id", flat=True))
    n = 0
    for blast in Blast.objects.filter(created_at__gte=timezone.now() - timedelta(days=days)).exclude(pk__in=done):
        blast_impact(blast, refresh=True)
        n += 1
    return n


def stored(blast_ids: list[int]) -> dict[int, dict[str, Any]]:
    from .models import BlastImpact

    return dict(BlastImpact.objects.filter(blast_id__in=blast_ids).values_list("blast_id", "data"))
