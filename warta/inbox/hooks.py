"""What the inbox tells the contacts app through ``warta.contacts.hooks`` (registered in apps.py).

* ``replied_to_blast(blast_id)``: numbers that texted the SMS Center within
  ``REPLY_WINDOW`` after the blast was created and were among its recipients. A queryset, so a
  segment built on it stays one SQL statement.
* ``subject_records(e164)`` / ``anonymise_number(e164, pseudonym)``: data-subject access and
  erasure for the inbox's rows.
* ``retention_anonymise(cutoff, dry_run)``: retention of citizens' texts.
"""

from __future__ import annotations

from collections.abc import Callable
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


def number_forms(e164: str) -> list[str]:
    """The ways a transport may have written ``e164`` in a raw source address: ``+62…`` (E.164),
    ``62…`` (international TON without the plus, what SMPP SMSCs send) and ``0…`` (national)."""
    digits = e164[1:] if e164.startswith("+") else e164
    forms = [e164, digits, "+" + digits]
    if digits.startswith("62"):
        forms.append("0" + digits[2:])
    return sorted(set(forms))


def anonymise_number(e164: str, pseudonym: str) -> int:
    from warta.gateway.models import InboundMessage

    from .models import BlockedNumber, Conversation, InboundPart, Message, Ticket

    forms = number_forms(e164)
    # The raw parts (and the engine's own MO rows) keep the address as the SMSC wrote it, and the
    # original texts: both go, whether or not a conversation was ever made of them.
    changed = InboundPart.objects.filter(source__in=forms).update(source=pseudonym[:32], payload=None, text="")
    changed += InboundMessage.objects.filter(source__in=forms).update(source=pseudonym[:21], text="")
    BlockedNumber.objects.filter(address__in=forms).update(address=pseudonym[:32])
    conv = Conversation.objects.filter(address__in=forms).first()
    if conv is None:
        return changed
    changed += Message.objects.filter(conversation=conv).update(text="[dihapus]", destination="")
    changed += Ticket.objects.filter(conversation=conv).update(subject="[dihapus]", search_text="")
    conv.address = pseudonym[:32]
    conv.save(update_fields=["address"])
    return changed + 1


ERASED = "[dihapus]"


def retention_anonymise(cutoff: datetime, dry_run: bool) -> int:
    """Citizens' texts older than ``cutoff`` (docs/privacy.md, "Retention"): the inbound messages,
    their raw parts and the engine's MO rows lose their text, and tickets whose last message is
    older lose the summary and search text made from it. Rows, numbers of tickets and their
    timestamps stay, so the monthly figures stay right. Returns how many rows (would) change."""
    from warta.gateway.models import InboundMessage

    from .models import Direction, InboundPart, Message, Ticket

    querysets: list[tuple[Any, dict[str, Any]]] = [
        (Message.objects.filter(direction=Direction.IN, at__lt=cutoff).exclude(text=ERASED),
         {"text": ERASED}),
        (InboundPart.objects.filter(received_at__lt=cutoff).exclude(text="", payload__isnull=True),
         {"text": "", "payload": None}),
        (InboundMessage.objects.filter(received_at__lt=cutoff, processed_at__isnull=False).exclude(text=""),
         {"text": ""}),
        (Ticket.objects.filter(last_message_at__lt=cutoff).exclude(subject=ERASED, search_text=""),
         {"subject": ERASED, "search_text": ""}),
    ]
    if dry_run:
        return sum(qs.count() for qs, _values in querysets)
    return sum(qs.update(**values) for qs, values in querysets)


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


# ----------------------------------------------------------------------------- topics
# Ticket.topic points at insights' Topic table; the inbox's forms and services reach it through
# these two functions, registered by insights, so the inbox imports nothing above it.
_topic_choices: Callable[[], list[tuple[str, Any]]] = list
_topic_by_code: Callable[[str], Any] = lambda code: None  # noqa: E731


def register_topics(choices: Callable[[], list[tuple[str, Any]]], by_code: Callable[[str], Any]) -> None:
    global _topic_choices, _topic_by_code
    _topic_choices, _topic_by_code = choices, by_code


def topic_choices() -> list[tuple[str, Any]]:
    """(code, name) of the topics in use."""
    return _topic_choices()


def topic_by_code(code: str) -> Any:
    """The topic with ``code``, or None."""
    return _topic_by_code(code)
def receive_from_gateway(batch: list[Any]) -> None:
    """``warta.gateway.hooks.mobile_originated``: citizens' messages from the gateway
    (``InboundSms``) into the inbox, in the caller's transaction."""
    from .ingest import MO, from_smpp, receive_mo_batch

    mos = []
    for sms in batch:
        if sms.item is not None:
            mos.append(from_smpp(sms.item, sms.connection, sms.received_at))
        else:
            mos.append(MO(connection=sms.connection, source=sms.source, destination=sms.destination, text=sms.text,
                          data_coding=sms.data_coding, smsc_message_id=sms.smsc_message_id,
                          received_at=sms.received_at, metadata=dict(sms.metadata)))
    receive_mo_batch(mos)
