"""What the inbox tells the contacts app through ``warta.contacts.hooks`` (registered in apps.py).

* ``replied_to_blast(blast_id)``: numbers that texted the SMS Center within
  ``REPLY_WINDOW`` after the blast was created and were among its recipients. A queryset, so a
  segment built on it stays one SQL statement.
* ``subject_records(e164)`` / ``anonymise_number(e164, pseudonym)``: data-subject access and
  erasure for the inbox's rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

REPLY_WINDOW = timedelta(days=3)


def replied_to_blast(blast_id: int) -> Any:
    from warta.blasts.models import Blast, OutboundMessage

    from .models import Conversation, Direction

    blast = Blast.objects.filter(pk=blast_id).only("created_at").first()
    if blast is None:
        return Conversation.objects.none().values_list("address", flat=True)
    recipients = OutboundMessage.objects.filter(blast_id=blast_id).values("to")
    return (Conversation.objects.filter(
        address__in=recipients,
        messages__direction=Direction.IN,
        messages__at__gte=blast.created_at, messages__at__lt=blast.created_at + REPLY_WINDOW,
    ).values_list("address", flat=True).distinct())


def subject_records(e164: str) -> dict[str, list[dict[str, Any]]]:
    from .models import Message

    rows = Message.objects.filter(conversation__address=e164).order_by("at")
    return {"inbox_messages": [
        {"at": m.at.isoformat(), "direction": m.direction, "text": m.text, "ticket": m.ticket_id,
         "disposition": m.disposition}
        for m in rows[:10_000]
    ]}


def anonymise_number(e164: str, pseudonym: str) -> int:
    from .models import BlockedNumber, Conversation, InboundPart, Message, Ticket

    conv = Conversation.objects.filter(address=e164).first()
    if conv is None:
        return 0
    changed = Message.objects.filter(conversation=conv).update(text="[dihapus]", destination="")
    changed += Ticket.objects.filter(conversation=conv).update(subject="[dihapus]", search_text="")
    changed += InboundPart.objects.filter(source=e164).update(source=pseudonym[:32], payload=None, text="")
    BlockedNumber.objects.filter(address=e164).update(address=pseudonym[:32])
    conv.address = pseudonym[:32]
    conv.save(update_fields=["address"])
    return changed + 1


# ----------------------------------------------------------------------------- ingest analysis seam
# The insights app (issue 14) registers an analyser in its AppConfig.ready(): ingest asks it, once
# per batch, for each message's topic, place, urgency and whether it answers an open poll, and
# hands the stored rows back so it can record classifications and counters in the same
# transaction. Without an analyser, ingest works as before.


@dataclass(slots=True)
class Analysis:
    topic_id: int | None = None
    topic_code: str = ""
    region_id: int | None = None
    region_name: str = ""
    urgent: bool = False
    poll: tuple[int, str] | None = None  # (poll id, option key): counted, not ticketed
    lainnya_id: int | None = None  # the fallback topic's id: an open ticket with it takes a better one
    extra: Any = None  # the analyser's own data, handed back to ``record``


class Analyser(Protocol):
    def analyse(self, items: list[tuple[str, str, datetime, bool]], now: datetime) -> list[Analysis | None]:
        """(address, text, received_at, is_binary) per message → an Analysis (or None) each."""

    def record(self, rows: list[tuple[int, int | None, int | None, Analysis, datetime, bool]], now: datetime) -> None:
        """(message id, ticket id, ticket's unit id, analysis, received_at, ticket routed at
        creation) of the stored messages that were ticketed or counted for a poll."""


_analyser: Analyser | None = None


def register_analyser(analyser: Analyser | None) -> None:
    global _analyser
    _analyser = analyser


def analyser() -> Analyser | None:
    return _analyser
