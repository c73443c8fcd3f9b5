"""Inbox fixtures: ``mo(...)`` builds an MO the way a transport would; ``acks()`` reads the outbox."""

from __future__ import annotations

from typing import Any

import pytest

CITIZEN = "+6281234567890"
CENTER = "02132881818"


def mo(text: str | bytes = "Jalan rusak di Jl. Kenanga", source: str = CITIZEN, **kw: Any) -> Any:
    from warta.inbox.services import MO

    if isinstance(text, str):
        kw.setdefault("short_message", text.encode("utf-16-be") if kw.get("data_coding") == 8 else _gsm(text))
    else:
        kw.setdefault("short_message", text)
    return MO(connection=kw.pop("connection", "sim"), source=source, destination=kw.pop("destination", CENTER), **kw)


def _gsm(text: str) -> bytes:
    from warta.sms.gsm import encode_gsm7

    return encode_gsm7(text)


def outbox(to: str | None = None) -> list[Any]:
    from warta.blasts.models import OutboundMessage

    qs = OutboundMessage.objects.select_related("blast__sender").order_by("id")
    if to:
        qs = qs.filter(to=to)
    return list(qs)


def text_of(row: Any) -> str:
    return row.text or row.blast.text


def create_ticket(text: str = "Sampah menumpuk di Kemayoran", source: str = CITIZEN) -> Any:
    from warta.inbox.models import Ticket
    from warta.inbox.services import receive_mo

    receive_mo(mo(text, source=source))
    return Ticket.objects.filter(conversation__address=source).latest("id")


@pytest.fixture
def ticket(db: Any) -> Any:
    return create_ticket()
