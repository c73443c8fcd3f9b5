"""Citizens' tickets routed to the unit (scopes ``inbox:read`` and ``inbox:reply``).

The inbox service does everything: ``tickets_for`` narrows to the unit's subtree (the client
acts as a liaison of its unit), ``reply`` texts the citizen from the SMS Center's number and
``set_status`` allows a liaison's moves only (Proses, Selesai, or Koordinasi to hand the ticket
back). Numbers are masked: a unit's liaison never sees a citizen's full number in the web either.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema, Status

from warta.inbox import services as inbox
from warta.inbox.models import Direction, Ticket

from ..api import In, caller
from ..errors import ApiError
from . import ERRORS, IDEMPOTENCY, After, IdPath

router = Router(tags=["inbox"])


class TicketOut(Schema):
    id: int
    number: str = Field(..., description="Nomor tiket yang dilihat warga")
    status: str = Field(..., description="menunggu | koordinasi | disposisi | proses | selesai | spam")
    status_label: str
    subject: str
    topic: str | None = Field(..., description="Kode topik (GET /topics)")
    region: str | None = Field(..., description="Kode wilayah Kemendagri")
    region_name: str | None
    urgent: bool
    unit: str | None
    citizen: str = Field(..., description="Nomor warga, tersamar")
    message_count: int
    created_at: datetime
    updated_at: datetime
    last_message_at: datetime
    forwarded_at: datetime | None
    followup_due_at: datetime | None
    closed_at: datetime | None

    @staticmethod
    def resolve_status_label(obj: Ticket) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_unit(obj: Ticket) -> str | None:
        return obj.unit.code if obj.unit_id else None

    @staticmethod
    def resolve_topic(obj: Ticket) -> str | None:
        return obj.topic.code if obj.topic_id else None

    @staticmethod
    def resolve_region(obj: Ticket) -> str | None:
        return obj.region.code if obj.region_id else None

    @staticmethod
    def resolve_region_name(obj: Ticket) -> str | None:
        return obj.region.name if obj.region_id else None

    @staticmethod
    def resolve_citizen(obj: Ticket) -> str:
        return inbox.masked_address(obj.conversation.address)


class MessageOut(Schema):
    id: int
    direction: str = Field(..., description="in (dari warga) | out (balasan)")
    text: str
    at: datetime


class TicketDetailOut(TicketOut):
    messages: list[MessageOut]

    @staticmethod
    def resolve_messages(obj: Ticket) -> list[dict[str, Any]]:
        return [{"id": m.pk, "direction": "in" if m.direction == Direction.IN else "out", "text": m.text, "at": m.at}
                for m in obj.messages.order_by("at", "id")]


class TicketList(Schema):
    items: list[TicketOut]
    next_after: int | None


class ReplyIn(In):
    text: str = Field(..., min_length=1, max_length=1000, description="Balasan SMS ke warga")
    close: bool = Field(False, description="Tutup tiket (Selesai) setelah membalas")


class StatusIn(In):
    status: Literal["proses", "selesai", "koordinasi"] = Field(
        ..., description="proses: ditindaklanjuti; selesai: tuntas; koordinasi: kembalikan ke SMS Center")
    note: str = Field("", max_length=2000)


def _ticket(request: HttpRequest, ticket_id: int, scope: str) -> tuple[Any, Ticket]:
    c = caller(request, scope)
    return c, get_object_or_404(inbox.tickets_for(c.user).select_related("topic", "region"), pk=ticket_id)


@router.get("/tickets", response={200: TicketList, **ERRORS}, summary="Tiket warga untuk unit")
def list_tickets(request: HttpRequest,
                 status: Literal["menunggu", "koordinasi", "disposisi", "proses", "selesai", "spam"] | None = None,
                 after: After = 0, limit: int = Query(50, ge=1, le=200)) -> dict[str, Any]:
    """Tiket yang diteruskan ke unit ini (dan sub-unitnya), terbaru dahulu; `?after=<next_after>`."""
    c = caller(request, "inbox:read")
    qs = inbox.tickets_for(c.user).select_related("topic", "region").order_by("-id")
    if status:
        qs = qs.filter(status=status)
    if after:
        qs = qs.filter(id__lt=after)
    items = list(qs[: limit + 1])
    return {"items": items[:limit], "next_after": items[limit - 1].pk if len(items) > limit else None}


@router.get("/tickets/{ticket_id}", response={200: TicketDetailOut, **ERRORS}, summary="Satu tiket dan pesannya")
def get_ticket(request: HttpRequest, ticket_id: IdPath) -> Ticket:
    return _ticket(request, ticket_id, "inbox:read")[1]


@router.post("/tickets/{ticket_id}/replies", response={201: TicketDetailOut, **ERRORS}, summary="Balas warga",
             openapi_extra=IDEMPOTENCY)
def reply(request: HttpRequest, ticket_id: IdPath, payload: ReplyIn) -> Status:
    """Mengirim SMS balasan dari nomor SMS Center; tiket Disposisi menjadi Proses."""
    c, ticket = _ticket(request, ticket_id, "inbox:reply")
    try:
        message = inbox.reply(ticket, payload.text, actor=c.user, close=payload.close)
    except inbox.TicketError as exc:
        raise ApiError(422, "refused", str(exc), field="text") from None
    c.audit("api.ticket_replied", ticket, message=message.pk, close=payload.close)
    return Status(201, inbox.tickets_for(c.user).select_related("topic", "region").get(pk=ticket.pk))


@router.post("/tickets/{ticket_id}/status", response={200: TicketDetailOut, **ERRORS}, summary="Ubah status tiket")
def set_status(request: HttpRequest, ticket_id: IdPath, payload: StatusIn) -> Ticket:
    c, ticket = _ticket(request, ticket_id, "inbox:reply")
    old = ticket.status
    try:
        inbox.set_status(ticket, payload.status, actor=c.user, note=payload.note)
    except inbox.TicketError as exc:
        raise ApiError(422, "refused", str(exc), field="status") from None
    c.audit("api.ticket_status", ticket, status=[old, payload.status])
    # A ticket handed back to the SMS Center is no longer the unit's: show what it became, unscoped.
    return Ticket.objects.select_related("conversation", "unit", "topic", "region").get(pk=ticket.pk)
