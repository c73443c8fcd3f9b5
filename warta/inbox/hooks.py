"""What the inbox tells the contacts app through ``warta.contacts.hooks`` (registered in apps.py).

* ``replied_to_blast(blast_id)``: numbers that texted the SMS Center within
  ``REPLY_WINDOW`` after the blast was created and were among its recipients. A queryset, so a
  segment built on it stays one SQL statement.
* ``subject_records(e164)`` / ``anonymise_number(e164, pseudonym)``: data-subject access and
  erasure for the inbox's rows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

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
