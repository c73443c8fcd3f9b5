"""The one door through which the inbox sends SMS: acknowledgements, keyword answers, replies.

Theory of operation: the delivery engine owns the outbox (``warta.blasts.outbox``); the inbox
never writes its tables. Every SMS the inbox sends leaves under the SMS Center's long number
(``WARTA["SMS_CENTER_NUMBER"]``, as the sender ID ``02132881818``) so citizens answer the number
that wrote to them; the gateway's routes decide which connection carries that sender.

The outbox's ``create_blast`` takes ``(number, text)`` recipients, so one ingest batch's
acknowledgements are one blast with a text per recipient. A number that appears twice in one
batch (two messages, two acknowledgements) would be deduplicated by ``create_blast``; ingest's
per-number daily cap and the batch's grouping make that rare, and the second acknowledgement is
then simply not sent (its ``outbox_id`` is the first one's).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from . import conf


@dataclass(frozen=True, slots=True)
class Outgoing:
    to_e164: str
    text: str
    sender: str
    purpose: str  # "ack", "keyword", "reply"
    ticket_id: int | None = None


def _sender_name(sender: str) -> str:
    """The sender ID row for a long number: national form (02132881818 fits in 11 characters)."""
    return "0" + sender[3:] if sender.startswith("+62") else sender[:11]


def _sender(name: str) -> Any:
    from warta.blasts.models import SenderID

    # The long number is a sender like any mask, registered once; created here on first use so
    # a fresh installation acknowledges messages without a manual step.
    sender, _created = SenderID.objects.get_or_create(
        name=name, defaults={"description": "SMS Center (nomor panjang) — balasan kotak masuk"})
    return sender


def queue_sms_batch(items: list[Outgoing], now: datetime | None = None) -> list[int | None]:
    """Queue ``items``; returns the outbox id of each (None when the outbox refused the number).

    One blast per (sender, purpose) in the batch, with each recipient's own text: 2,000
    acknowledgements are one blast row, one audit event and 2,000 outbox rows.
    """
    if not items:
        return []
    from warta.blasts import outbox
    from warta.blasts.models import Blast, OutboundMessage

    groups: dict[tuple[str, str], list[int]] = {}
    for index, item in enumerate(items):
        groups.setdefault((_sender_name(item.sender), item.purpose), []).append(index)
    ids: list[int | None] = [None] * len(items)
    for (name, purpose), indexes in groups.items():
        tickets = sorted({items[i].ticket_id for i in indexes if items[i].ticket_id})
        label = ",".join(map(str, tickets[:5])) + ("…" if len(tickets) > 5 else "")
        blast, _summary = outbox.create_blast(
            sender=_sender(name), text=items[indexes[0]].text,
            recipients=[(items[i].to_e164, items[i].text) for i in indexes],
            name=f"inbox:{purpose}:{label or '-'}"[:200], audit_action=f"inbox.sms_{purpose}",
            # Citizens' answers overtake normal blasts in the engines' claim (not emergencies).
            priority=Blast.Priority.REPLY)
        # The outbox keeps one row per number (duplicates once): map numbers back to their rows.
        by_to = dict(OutboundMessage.objects.filter(blast=blast).values_list("to", "pk"))
        for i in indexes:
            ids[i] = by_to.get(items[i].to_e164)
    return ids


def queue_sms(to_e164: str, text: str, *, sender: str | None = None, purpose: str, ticket: Any = None) -> int | None:
    return queue_sms_batch([Outgoing(to_e164, text, sender or conf.center_number(), purpose,
                                     ticket.pk if ticket is not None else None)])[0]


def delivery_states(outbox_ids: list[int]) -> dict[int, tuple[str, str]]:
    """``{outbox id: (state, label)}`` for the ticket page: what became of each SMS we sent.

    Read-only, one query: the outbox is the delivery engine's, whose model is the one place
    that names its states.
    """
    from warta.blasts.models import OutboundMessage

    ids = [i for i in outbox_ids if i is not None]
    if not ids:
        return {}
    rows = OutboundMessage.objects.filter(pk__in=ids).values_list("pk", "state")
    return {pk: (state, str(OutboundMessage.State(state).label)) for pk, state in rows}
