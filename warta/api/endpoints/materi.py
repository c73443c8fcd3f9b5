"""Materi: what a unit hands in to be broadcast (scope ``materi:write``).

The schema checks *types*; the rules (required fields, lengths, window order, attachment
count/size/type) are the web form's, ``MateriForm``, run on the same data, so the API and the
web can never disagree on what a valid materi is.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpRequest
from django.shortcuts import get_object_or_404
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext_lazy
from ninja import Field, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from warta.blasts import services as blasts
from warta.blasts.forms import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MateriForm
from warta.blasts.models import Materi

from ..api import In, caller, invalid
from . import ERRORS, IDEMPOTENCY, IdPath

router = Router(tags=["materi"])


class BoundedPageNumberPagination(PageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=1_000_000)
        page_size: int | None = Field(None, ge=1, le=100)
SCOPE = "materi:write"


class AttachmentIn(In):
    name: str = Field(..., min_length=1, max_length=200, description="Nama berkas dengan ekstensinya, mis. surat.pdf")
    content_base64: str = Field(..., description="Isi berkas, base64 standar (RFC 4648)")
    content_type: str = Field("", description="Jenis MIME, opsional")


class MateriIn(In):
    """What a unit hands in; the same fields as the web form."""

    title: str = Field(..., description="Judul (maks. 200 karakter)")
    content: str = Field(..., description="Isi informasi yang ingin disiarkan")
    background: str = Field("", description="Latar belakang")
    window_start: datetime | None = Field(None, description="Kirim paling cepat (ISO 8601)")
    window_end: datetime | None = Field(None, description="Kirim paling lambat (ISO 8601)")
    audience_note: str = Field("", description="Sasaran penerima")
    contact_person: str = Field(..., description="Narahubung (maks. 120 karakter)")
    contact_phone: str = Field("", description="Telepon narahubung")
    attachments: list[AttachmentIn] = Field(
        default_factory=list,
        description=f"Maks. {MAX_ATTACHMENTS} berkas @ {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB: PDF, JPG/PNG, "
                    "Word/Excel/ODT, teks")


class FigureOut(Schema):
    blast_id: int
    sender: str
    total: int
    queued: int
    sent: int
    delivered: int
    failed: int
    cancelled: int
    percent: int


class MateriOut(Schema):
    id: int
    title: str
    status: str = Field(..., description="received | processing | scheduled | sent | rejected")
    status_label: str = Field(..., description="Diterima | Diproses | Terjadwal | Terkirim | Ditolak")
    reject_reason: str
    unit: str
    created_at: datetime
    updated_at: datetime
    window_start: datetime | None
    window_end: datetime | None
    url: str

    @staticmethod
    def resolve_status_label(obj: Materi) -> str:
        return str(obj.get_status_display())

    @staticmethod
    def resolve_unit(obj: Materi) -> str:
        return obj.unit.code

    @staticmethod
    def resolve_url(obj: Materi, context: dict[str, Any]) -> str:
        return context["request"].build_absolute_uri(f"/api/v1/materi/{obj.pk}")


class MateriDetailOut(MateriOut):
    content: str
    background: str
    audience_note: str
    contact_person: str
    contact_phone: str
    attachments: list[str]
    figures: list[FigureOut] = Field(..., description="Angka pengiriman tiap blast dari materi ini")

    @staticmethod
    def resolve_attachments(obj: Materi) -> list[str]:
        return [a.name for a in obj.attachments.all()]

    @staticmethod
    def resolve_figures(obj: Materi) -> list[dict[str, Any]]:
        return [{"blast_id": f["blast"].pk, "sender": f["draft"].sender.name, "total": f["total"],
                 "queued": f["queued"], "sent": f["sent"], "delivered": f["delivered"], "failed": f["failed"],
                 "cancelled": f["cancelled"], "percent": f["percent"]}
                for f in blasts.materi_figures(obj)]


def _decode(attachments: list[AttachmentIn]) -> list[SimpleUploadedFile]:
    files = []
    for i, a in enumerate(attachments):
        try:
            raw = base64.b64decode(a.content_base64, validate=True)
        except (binascii.Error, ValueError):
            raise invalid({f"attachments.{i}.content_base64": [gettext_lazy("Bukan base64 yang sah.")]}) from None
        try:
            files.append(SimpleUploadedFile(a.name, raw, a.content_type or "application/octet-stream"))
        except SuspiciousFileOperation:  # "..", "/", or nothing left of the name
            raise invalid({f"attachments.{i}.name": [gettext_lazy("Nama berkas tidak sah; mis. surat.pdf.")]}) from None
    return files


@router.post("/materi", response={201: MateriDetailOut, **ERRORS}, summary="Serahkan materi", openapi_extra=IDEMPOTENCY)
def create_materi(request: HttpRequest, payload: MateriIn) -> Status:
    """Menyerahkan materi untuk disiarkan atas nama unit klien (sama dengan formulir web)."""
    c = caller(request, SCOPE)
    data = payload.model_dump(exclude={"attachments"})
    files = _decode(payload.attachments)
    form = MateriForm(data={k: v for k, v in data.items() if v is not None},
                      files=MultiValueDict({"attachments": files}))
    if not form.is_valid():
        raise invalid({k: [str(m) for m in v] for k, v in form.errors.items()})
    fields = {k: v for k, v in form.cleaned_data.items() if k != "attachments"}
    m = blasts.submit_materi(c.user, files=form.cleaned_data["attachments"], **fields)
    # The service records the submission by the client's user; this says it came through the API.
    c.audit("api.materi_submitted", m)
    return Status(201, m)


@router.get("/materi", response={200: list[MateriOut], **ERRORS}, summary="Daftar materi unit")
@paginate(BoundedPageNumberPagination, page_size=20)
def list_materi(request: HttpRequest, status: str = "") -> Any:
    """Materi unit klien (dan sub-unitnya), terbaru dahulu, 20 per halaman (`?page=2`)."""
    c = caller(request, SCOPE)
    qs = blasts.visible_materi(c.user)
    if status:
        qs = qs.filter(status=status)
    return qs


@router.get("/materi/{materi_id}", response={200: MateriDetailOut, **ERRORS}, summary="Status satu materi")
def get_materi(request: HttpRequest, materi_id: IdPath) -> Materi:
    """Status (Diterima/Diproses/Terjadwal/Terkirim/Ditolak + alasan) dan angka pengiriman."""
    c = caller(request, SCOPE)
    # Another unit's materi is "not found", never "forbidden": a 403 would confirm it exists.
    return get_object_or_404(blasts.visible_materi(c.user).prefetch_related("attachments"), pk=materi_id)
