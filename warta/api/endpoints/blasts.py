"""Drafts, blasts and per-recipient results (scopes ``blasts:write`` and ``blasts:read``).

Theory of operation
-------------------
*Drafts never bypass approval.* A draft made through the API is created by the blasts service
(``create_draft``) and, unless ``submit`` is false, handed to ``submit_for_review``: it then climbs
its sender ID's approval chain like any draft an operator writes, and is released only by the
scheduler after the last approval. The sender must be one the blasts service lets a composer use
(registered and active), and release skips operators the sender is not registered with.

Drafts have no unit of their own; they hang off a *materi*, which does. A draft made through the
API therefore names one of the unit's materi, or a materi is handed in for it first (by the
client's liaison account, exactly as ``POST /materi`` does). Every draft and blast the API shows
is one whose materi belongs to the caller's unit or a sub-unit.

The blasts service lets only composers (operators) write drafts, so each client has a second
service account, ``api-<client>-naskah``: an operator of the client's unit that cannot log in and
is only ever used as a draft's author. Its drafts need the same approvals as anyone's — the
"four eyes" rule keeps an approver from approving them on the client's behalf.

*Per-recipient results page by keyset*, not by offset: ``after`` is the last message id seen and
each page is an index range scan on the outbox's primary key bounded by the blast's first and last
id, so page 10,000 of a million-recipient blast costs what page 1 does. With a ``state`` filter
a page scans at most ``SCAN_WINDOW`` ids and may come back short (even empty) with a
``next_after`` to continue from: the outbox deliberately has no (blast, state) index, and a
bounded scan keeps each page's cost constant instead of walking a million rows to find ten
failures.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from django.core.cache import cache
from django.db.models import Max, Min, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext_lazy
from ninja import Field, Query, Router, Schema, Status

from warta.accounts.models import Role, User
from warta.blasts import outbox
from warta.blasts import services as blasts
from warta.blasts.models import Blast, Draft, Materi, OutboundMessage, SenderID
from warta.sms.numbers import mask

from ..api import In, caller, invalid
from ..errors import ApiError
from ..models import BlastIdRange
from ..services import Caller
from . import ERRORS, IDEMPOTENCY, MAX_ID, After, IdPath

router = Router(tags=["blasts"])
DbId = Annotated[int, Field(ge=1, le=MAX_ID)]
PAGE_MAX = 1000
SCAN_WINDOW = 20_000
MAX_NUMBERS = 10_000


class AudienceIn(In):
    regions: list[str] = Field(default_factory=list, max_length=500, description="Kode wilayah Kemendagri, mis. 31.71")
    groups: list[DbId] = Field(default_factory=list, max_length=100, description="Id grup kontak")
    segments: list[DbId] = Field(default_factory=list, max_length=100, description="Id segmen")
    numbers: list[str] = Field(default_factory=list, max_length=MAX_NUMBERS,
                               description=f"Nomor ponsel tambahan (maks. {MAX_NUMBERS})")


class DraftIn(In):
    title: str = Field(..., min_length=1, max_length=200)
    text: str = Field(..., min_length=1, max_length=1600, description="Teks SMS")
    sender: str = Field(..., description="Sender ID terdaftar, mis. HumasDKI (lihat GET /senders)")
    audience: AudienceIn
    materi_id: DbId | None = Field(None, description="Materi unit ini; kosong: materi dibuat dari naskah ini")
    send_at: datetime | None = Field(None, description="Kirim paling cepat (ISO 8601); kosong: segera setelah disetujui")
    window_end: datetime | None = Field(None, description="Batas akhir kirim; yang belum terkirim kedaluwarsa")
    emergency: bool = False
    emergency_reason: str = Field("", max_length=2000)
    justification: str = Field("", max_length=2000, description="Alasan bila lebih dari dua segmen")
    contact_person: str = Field("", max_length=120, description="Narahubung materi yang dibuat (bawaan: nama klien)")
    submit: bool = Field(True, description="Langsung ajukan ke rantai persetujuan")


class DraftStepOut(Schema):
    position: int
    label: str
    role: str
    done: bool


class DraftOut(Schema):
    id: int
    title: str
    text: str
    sender: str
    state: str = Field(..., description="draft | review | approved | released | withdrawn")
    state_label: str
    version: int
    materi_id: int | None
    unit: str
    send_at: datetime | None
    window_end: datetime | None
    emergency: bool
    audience_counts: dict[str, Any]
    chain: list[DraftStepOut]
    blast_id: int | None
    created_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None
    released_at: datetime | None

    @staticmethod
    def resolve_sender(obj: Draft) -> str:
        return obj.sender.name

    @staticmethod
    def resolve_state_label(obj: Draft) -> str:
        return str(obj.get_state_display())

    @staticmethod
    def resolve_unit(obj: Draft) -> str:
        return obj.materi.unit.code if obj.materi else ""

    @staticmethod
    def resolve_audience_counts(obj: Draft) -> dict[str, Any]:
        counts = obj.audience_counts or {}
        return {k: counts[k] for k in ("deliverable", "total", "excluded", "by_operator") if k in counts}

    @staticmethod
    def resolve_chain(obj: Draft) -> list[dict[str, Any]]:
        return [{"position": s.step.position, "label": s.step.label, "role": s.step.role, "done": s.done}
                for s in blasts.chain_status(obj)]


class CountsOut(Schema):
    total: int
    queued: int
    sent: int
    delivered: int
    failed: int
    cancelled: int
    percent: int = Field(..., description="Persen pesan yang sudah mencapai status akhir")
    by_state: dict[str, int]


class BlastOut(Schema):
    id: int
    name: str
    sender: str
    state: str = Field(..., description="active | paused | cancelled | done")
    emergency: bool
    draft_id: int | None
    created_at: datetime
    counts: CountsOut

    @staticmethod
    def resolve_sender(obj: Blast) -> str:
        return obj.sender.name

    @staticmethod
    def resolve_emergency(obj: Blast) -> bool:
        return obj.priority >= Blast.Priority.EMERGENCY

    @staticmethod
    def resolve_draft_id(obj: Blast) -> int | None:
        draft = getattr(obj, "draft", None)
        return draft.pk if draft is not None else None

    @staticmethod
    def resolve_counts(obj: Blast) -> dict[str, Any]:
        s = blasts.summarise(outbox.status_counts(obj.pk))
        return {**{k: s[k] for k in ("total", "queued", "sent", "delivered", "failed", "cancelled", "percent")},
                "by_state": s["counts"]}


class RecipientOut(Schema):
    id: int
    number: str = Field(..., description="Nomor tersamar, mis. +62812****5678")
    operator: str
    state: str
    error: str
    sent_at: datetime | None
    done_at: datetime | None


class RecipientPage(Schema):
    items: list[RecipientOut]
    next_after: int | None = Field(..., description="Kirim sebagai ?after= untuk halaman berikut; null: selesai")


class DraftList(Schema):
    items: list[DraftOut]
    next_after: int | None


class BlastList(Schema):
    items: list[BlastOut]
    next_after: int | None


# -- helpers -------------------------------------------------------------------------------------


def composer(c: Caller) -> User:
    """The client's draft-writing account (see the module docstring), made on first use."""
    username = f"api-{c.client.name}-naskah"[:150]
    user = User.objects.filter(username=username).first()
    if user is None:
        user = User(username=username, role=Role.OPERATOR, unit=c.unit, first_name=f"API {c.client.name} (naskah)"[:150])
        user.set_unusable_password()
        user.save()
    return user


def unit_drafts(c: Caller) -> QuerySet[Draft]:
    return Draft.objects.filter(materi__unit_id__in=c.unit_ids()).select_related("sender", "materi__unit")


def unit_blasts(c: Caller) -> QuerySet[Blast]:
    return Blast.objects.filter(draft__materi__unit_id__in=c.unit_ids()).select_related("sender", "draft")


def _page_bounds(limit: int) -> int:
    return max(1, min(limit, PAGE_MAX))


# -- drafts --------------------------------------------------------------------------------------


@router.post("/drafts", response={201: DraftOut, **ERRORS}, summary="Buat naskah blast", openapi_extra=IDEMPOTENCY)
def create_draft(request: HttpRequest, payload: DraftIn) -> Status:
    """Membuat naskah dan (bawaan) mengajukannya ke rantai persetujuan sender ID-nya. API tidak
    pernah melewati persetujuan: blast dikirim setelah semua langkah menyetujui."""
    c = caller(request, "blasts:write")
    sender = SenderID.objects.filter(name=payload.sender, is_active=True).first()
    author = composer(c)
    if sender is None or not blasts.usable_senders(author).filter(pk=sender.pk).exists():
        raise invalid({"sender": [gettext_lazy("Sender ID tidak terdaftar atau tidak aktif. Lihat GET /senders.")]})
    if payload.emergency and not payload.emergency_reason.strip():
        raise invalid({"emergency_reason": [gettext_lazy("Blast darurat wajib diberi alasan.")]})
    audience = {k: v for k, v in payload.audience.model_dump().items() if v}
    if not audience:
        raise invalid({"audience": [gettext_lazy("Pilih penerima: wilayah, grup, segmen atau nomor.")]})
    if payload.materi_id is not None:
        materi = Materi.objects.filter(pk=payload.materi_id, unit_id__in=c.unit_ids()).first()
        if materi is None:
            raise invalid({"materi_id": [gettext_lazy("Materi tidak ditemukan di unit Anda.")]})
    else:
        materi = blasts.submit_materi(c.user, title=payload.title, content=payload.text,
                                      contact_person=payload.contact_person or c.client.name,
                                      window_start=payload.send_at, window_end=payload.window_end)
    draft = blasts.create_draft(author, title=payload.title, text=payload.text, sender=sender, audience=audience,
                                materi=materi, send_at=payload.send_at, window_end=payload.window_end,
                                emergency=payload.emergency, emergency_reason=payload.emergency_reason,
                                justification=payload.justification)
    c.audit("api.draft_created", draft, sender=sender.name, materi=materi.pk, submit=payload.submit)
    if payload.submit:
        try:
            draft = blasts.submit_for_review(draft, author)
        except blasts.WorkflowError as exc:
            # The draft stays (state draft) so that an operator can see and fix it; the client is told why.
            raise ApiError(422, "draft_not_submitted", gettext_lazy("Naskah #%(id)s dibuat tetapi belum dapat diajukan: "
                                                             "%(why)s"), {"id": draft.pk, "why": str(exc)}) from exc
    return Status(201, unit_drafts(c).get(pk=draft.pk))


@router.get("/drafts", response={200: DraftList, **ERRORS}, summary="Daftar naskah unit")
def list_drafts(request: HttpRequest, state: str = "", after: After = 0, limit: int = Query(50, ge=1, le=PAGE_MAX)) -> dict[str, Any]:
    """Naskah unit, terbaru dahulu; halaman berikut dengan `?after=<next_after>`."""
    c = caller(request, "blasts:read")
    qs = unit_drafts(c).order_by("-id")
    if state:
        qs = qs.filter(state=state)
    if after:
        qs = qs.filter(id__lt=after)
    items = list(qs[: limit + 1])
    return {"items": items[:limit], "next_after": items[limit - 1].pk if len(items) > limit else None}


@router.get("/drafts/{draft_id}", response={200: DraftOut, **ERRORS}, summary="Status satu naskah")
def get_draft(request: HttpRequest, draft_id: IdPath) -> Draft:
    c = caller(request, "blasts:read")
    return get_object_or_404(unit_drafts(c), pk=draft_id)


# -- blasts --------------------------------------------------------------------------------------


@router.get("/blasts", response={200: BlastList, **ERRORS}, summary="Daftar blast unit")
def list_blasts(request: HttpRequest, after: After = 0, limit: int = Query(50, ge=1, le=200)) -> dict[str, Any]:
    c = caller(request, "blasts:read")
    qs = unit_blasts(c).order_by("-id")
    if after:
        qs = qs.filter(id__lt=after)
    items = list(qs[: limit + 1])
    return {"items": items[:limit], "next_after": items[limit - 1].pk if len(items) > limit else None}


@router.get("/blasts/{blast_id}", response={200: BlastOut, **ERRORS}, summary="Status dan angka satu blast")
def get_blast(request: HttpRequest, blast_id: IdPath) -> Blast:
    """Status blast dan jumlah pesan per status (dari tabel penghitung, murah pada sejuta penerima)."""
    c = caller(request, "blasts:read")
    return get_object_or_404(unit_blasts(c), pk=blast_id)


def id_range(blast: Blast) -> tuple[int, int] | None:
    """First and last outbox id of a blast. A blast's rows are all written in the one transaction
    that creates it (``outbox.create_blast``) and never added to afterwards, so the range is kept
    for good once known: in this process's cache, and in ``BlastIdRange`` for the other workers."""
    # created_at in the key: a blast id reused by a restored or test database is another blast.
    key = f"api:blast-ids:{blast.pk}:{blast.created_at.timestamp()}"
    found = cache.get(key)
    if found is None:
        row = BlastIdRange.objects.filter(blast_id=blast.pk).values_list("lo", "hi").first()
        if row is None:
            agg = OutboundMessage.objects.filter(blast_id=blast.pk).aggregate(lo=Min("id"), hi=Max("id"))
            if agg["lo"] is None:
                return None
            row = (agg["lo"], agg["hi"])
            BlastIdRange.objects.get_or_create(blast_id=blast.pk, defaults={"lo": row[0], "hi": row[1]})
        found = tuple(row)
        cache.set(key, found, None)
    return tuple(found)  # type: ignore[return-value]


@router.get("/blasts/{blast_id}/recipients", response={200: RecipientPage, **ERRORS},
            summary="Hasil per penerima (kursor)")
def recipients(request: HttpRequest, blast_id: IdPath,
               state: Literal["queued", "sending", "submitted", "delivered", "undelivered", "expired", "rejected",
                              "failed", "cancelled", "suppressed", "unknown"] | None = None,
               after: After = 0,
               limit: int = Query(100, ge=1, le=PAGE_MAX)) -> Any:
    """Satu baris per penerima, urut id. Halaman berikut: `?after=<next_after>`. Dengan `state`,
    sebuah halaman bisa lebih pendek (bahkan kosong) namun tetap memberi `next_after`."""
    c = caller(request, "blasts:read")
    blast = get_object_or_404(unit_blasts(c).select_related(None).only("id", "created_at"), pk=blast_id)
    bounds = id_range(blast)
    if bounds is None:
        return {"items": [], "next_after": None}
    lo, hi = bounds
    start = max(after, lo - 1)
    end = hi if state is None else min(hi, start + SCAN_WINDOW)
    qs = OutboundMessage.objects.filter(blast_id=blast.pk, id__gt=start, id__lte=end)
    if state is not None:
        qs = qs.filter(state=state)
    rows = list(qs.order_by("id").values_list("id", "to", "operator", "state", "error", "sent_at", "done_at")[: limit + 1])
    if len(rows) > limit:
        nxt: int | None = rows[limit - 1][0]
    else:
        nxt = end if end < hi else None
    # Written directly in the documented shape (RecipientPage): validating 1,000 rows through the
    # response schema would cost more than the query. The contract test checks the shape.
    iso = _iso
    items = [{"id": r[0], "number": mask(r[1]), "operator": r[2], "state": r[3], "error": r[4],
              "sent_at": iso(r[5]), "done_at": iso(r[6])} for r in rows[:limit]]
    return HttpResponse(json.dumps({"items": items, "next_after": nxt}, separators=(",", ":")),
                        content_type="application/json")


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None
