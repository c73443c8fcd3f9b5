"""Contacts: batch upsert, lookup, opt-out (scopes ``contacts:write`` and ``contacts:read``).

Theory of operation: the recipients' register is the province's, not a unit's, so the API scopes
by a *unit tag*: every contact a unit upserts gets the tag ``unit-<code>`` (besides its own tags),
and a lookup finds only contacts carrying the caller's tag or a sub-unit's. A unit can therefore
address "its" contacts in a blast audience by segment (tag) without seeing anyone else's. The
work is the contacts app's (``upsert_batch``, ``opt_out``), the same code path as a file import:
opted-out numbers are refused rather than re-created, tags are added and never removed.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from django.db.models import Q
from django.http import HttpRequest
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema, Status

from warta.contacts import services as contacts
from warta.contacts.models import Channel, Contact, OptOut
from warta.sms.numbers import mask

from ..api import In, caller, invalid
from ..services import Caller
from . import ERRORS, IDEMPOTENCY

router = Router(tags=["contacts"])
BATCH_MAX = 1000


def unit_tag(code: str) -> str:
    return f"unit-{code}"


class ContactIn(In):
    phone: str = Field(..., max_length=32, description="Nomor ponsel, mis. 0812-3456-7890 atau +6281234567890")
    name: str = Field("", max_length=200)
    region: str = Field("", max_length=20, description="Kode wilayah Kemendagri, mis. 31.71.01.1001")
    tags: list[str] = Field(default_factory=list, max_length=20)
    language: str = Field("", max_length=2, description="id | en")


class UpsertIn(In):
    contacts: list[ContactIn] = Field(..., min_length=1, max_length=BATCH_MAX,
                                      description=f"Maks. {BATCH_MAX} kontak per permintaan")


class RejectOut(Schema):
    index: int
    phone: str
    reason: str = Field(..., description="invalid | duplicate | unknown_region | opted_out")
    message: str


class UpsertOut(Schema):
    created: int
    updated: int
    unchanged: int
    rejected: list[RejectOut]


class ContactOut(Schema):
    phone: str
    name: str
    region: str | None
    tags: list[str]
    language: str
    operator: str
    opted_out: bool
    opted_out_at: datetime | None
    created_at: datetime


class LookupOut(Schema):
    items: list[ContactOut]
    not_found: list[str]


class OptOutIn(In):
    phone: str = Field(..., max_length=32)
    reason: str = Field("", max_length=200)


class OptOutOut(Schema):
    phone: str = Field(..., description="Nomor tersamar")
    opted_out_at: datetime
    channel: str


def _visible(c: Caller) -> Q:
    q = Q()
    for code in c.unit.__class__.objects.filter(pk__in=c.unit_ids()).values_list("code", flat=True):
        q |= Q(tags__contains=f",{unit_tag(code)},")
    return q


@router.post("/contacts", response={200: UpsertOut, **ERRORS}, summary="Tambah/perbarui kontak (batch)",
             openapi_extra=IDEMPOTENCY)
def upsert(request: HttpRequest, payload: UpsertIn) -> dict[str, Any]:
    """Sampai 1.000 kontak per permintaan. Baris yang ditolak disebut di `rejected` (indeks dan
    alasan); baris lain tetap disimpan. Kontak mendapat label `unit-<kode unit>`."""
    c = caller(request, "contacts:write")
    result = contacts.upsert_batch([r.model_dump() for r in payload.contacts], source=f"api:{c.client.name}"[:60],
                                   tag=unit_tag(c.unit.code), by=c.user)
    c.audit("api.contacts_upserted", None, created=result["created"], updated=result["updated"],
            unchanged=result["unchanged"], rejected=len(result["rejected"]))
    return result


@router.get("/contacts", response={200: LookupOut, **ERRORS}, summary="Cari kontak unit")
def lookup(request: HttpRequest, phone: Annotated[list[str], Query(max_length=100)]) -> dict[str, Any]:
    """Kontak unit ini menurut nomor (`?phone=…&phone=…`, maks. 100)."""
    c = caller(request, "contacts:read")
    numbers: dict[str, str] = {}
    for raw in phone:
        try:
            numbers[contacts.normalise(raw)] = raw
        except contacts.ContactError:
            numbers.setdefault(f"?{raw}", raw)
    found = list(Contact.objects.filter(_visible(c), e164__in=[n for n in numbers if not n.startswith("?")])
                 .select_related("region"))
    items = [{"phone": x.e164, "name": x.name, "region": x.region.code if x.region else None,
              "tags": x.tag_list, "language": x.language, "operator": x.operator,
              "opted_out": x.opted_out_at is not None, "opted_out_at": x.opted_out_at, "created_at": x.created_at}
             for x in found]
    seen = {x.e164 for x in found}
    return {"items": items, "not_found": [raw for e164, raw in numbers.items() if e164 not in seen]}


@router.post("/contacts/opt-outs", response={201: OptOutOut, **ERRORS}, summary="Catat berhenti berlangganan",
             openapi_extra=IDEMPOTENCY)
def opt_out(request: HttpRequest, payload: OptOutIn) -> Status:
    """Nomor ini tidak akan lagi menerima blast (dari unit mana pun). Idempoten: waktu pertama dipertahankan."""
    c = caller(request, "contacts:write")
    try:
        e164 = contacts.normalise(payload.phone)
    except contacts.ContactError as exc:
        raise invalid({"phone": [str(exc)]}) from None
    already = OptOut.objects.filter(e164=e164).exists()
    entry = contacts.opt_out(e164, Channel.API, reason=payload.reason or str(gettext_lazy("melalui API")), by=c.user)
    if not already:
        c.audit("api.contact_opted_out", None, phone=mask(e164))
    return Status(201, {"phone": mask(entry.e164), "opted_out_at": entry.at, "channel": entry.channel})
