"""The REST API, ``/api/v1/``: schemas, authentication, endpoints.

Theory of operation: django-ninja parses the request with a pydantic schema and writes the OpenAPI
document from the same schemas. Views stay thin: the schema checks *types*; the rules (required
fields, lengths, window order, attachment count/size/type) are the web form's, ``MateriForm``,
run on the same data, so the API and the web can never disagree on what a valid materi is; then
the blasts service (``submit_materi``, ``visible_materi``, ``materi_figures``) does the work
with the client's user, so rights, unit scoping and the audit trail are the web's too.

Every error is ``{"detail": <message>, "code": <code>}`` (validation errors add ``errors``:
``{field: [messages]}``), in Indonesian, or English with ``Accept-Language: en``.
Only bearer tokens authenticate: there is no session auth on the API, hence no CSRF to check.
"""

from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from ninja import Field, NinjaAPI, Path, Schema, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.pagination import PageNumberPagination, paginate
from ninja.security import HttpBearer

from warta.accounts import audit
from warta.blasts import services as blasts
from warta.blasts.forms import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS, MateriForm
from warta.blasts.models import Materi

from . import services
from .docs import LocalSwagger
from .services import ApiError, Caller

VERSION = "1.0"


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        caller = services.authenticate(token)
        request.api_caller = caller  # type: ignore[attr-defined]
        return caller


api = NinjaAPI(
    title="Warta API",
    version=VERSION,
    description="REST API Warta, SMS Center Pemprov DKI Jakarta. Autentikasi: `Authorization: Bearer <token>`.",
    auth=BearerToken(),
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
)


# -- errors --------------------------------------------------------------------------------------


def error(request: HttpRequest, status: int, code: str, detail: str, **extra: Any) -> HttpResponse:
    return api.create_response(request, {"detail": detail, "code": code, **extra}, status=status)


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    extra = {"errors": exc.errors} if exc.errors else {}
    return error(request, exc.status, exc.code, exc.message, **extra)


@api.exception_handler(AuthenticationError)
def _no_token(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    # Reached when the header is missing or not "Bearer …"; a wrong token is an ApiError.
    return error(request, 401, "token_missing",
                 _("Token tidak ada. Kirim header Authorization: Bearer <token>."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # ninja raises this when the body is not JSON
        return error(request, 400, "bad_json", _("Badan permintaan bukan JSON yang sah."))
    return error(request, exc.status_code, "error", str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "not_found", _("Tidak ditemukan."))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error(request, 403, "forbidden", str(exc) or _("Peran Anda tidak memiliki hak untuk tindakan ini."))


@api.exception_handler(blasts.WorkflowError)
def _refused(request: HttpRequest, exc: blasts.WorkflowError) -> HttpResponse:
    return error(request, 422, "refused", str(exc))


# pydantic error types → what a person reads; everything else falls back to the generic message.
def _type_message(kind: str) -> str:
    return {
        "missing": _("Wajib diisi."),
        "string_type": _("Harus berupa teks."),
        "datetime_type": _("Waktu tidak sah; gunakan ISO 8601, mis. 2026-05-01T08:00:00+07:00."),
        "datetime_parsing": _("Waktu tidak sah; gunakan ISO 8601, mis. 2026-05-01T08:00:00+07:00."),
        "datetime_from_date_parsing": _("Waktu tidak sah; gunakan ISO 8601, mis. 2026-05-01T08:00:00+07:00."),
        "list_type": _("Harus berupa daftar."),
        "model_type": _("Harus berupa objek JSON."),
        "model_attributes_type": _("Harus berupa objek JSON."),
        "dict_type": _("Harus berupa objek JSON."),
        "extra_forbidden": _("Kolom ini tidak dikenal."),
    }.get(kind, _("Nilai tidak sah."))


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors: dict[str, list[str]] = {}
    for e in exc.errors:
        # loc is ("body", "payload", field, …) for the body, ("query", field) for query strings.
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        errors.setdefault(".".join(loc) or "body", []).append(_type_message(e.get("type", "")))
    return error(request, 422, "validation_error", _("Data tidak sah; periksa kolom yang disebut."), errors=errors)


# -- schemas -------------------------------------------------------------------------------------


class AttachmentIn(Schema):
    name: str = Field(..., description="Nama berkas dengan ekstensinya, mis. surat.pdf")
    content_base64: str = Field(..., description="Isi berkas, base64 standar (RFC 4648)")
    content_type: str = Field("", description="Jenis MIME, opsional")


class MateriIn(Schema):
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
            raise ApiError(422, "validation_error", _("Data tidak sah; periksa kolom yang disebut."),
                           errors={f"attachments.{i}.content_base64": [_("Bukan base64 yang sah.")]}) from None
        files.append(SimpleUploadedFile(a.name, raw, a.content_type or "application/octet-stream"))
    return files


# -- endpoints -----------------------------------------------------------------------------------

# Database ids are 64-bit: a larger number in a path or a page is "not valid" (422), never a 500.
MAX_ID = 2**63 - 1
MAX_PAGE = 1_000_000


class BoundedPageNumberPagination(PageNumberPagination):
    class Input(Schema):
        page: int = Field(1, ge=1, le=MAX_PAGE)
        page_size: int | None = Field(None, ge=1)


def _error_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": {
        "type": "object", "required": ["detail", "code"],
        "properties": {"detail": {"type": "string"}, "code": {"type": "string"},
                       "errors": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}}},
    }}}}


# The error answers every authenticated endpoint can give, for the OpenAPI document.
ERRORS = {"responses": {
    "401": _error_response("Token tidak ada, salah, dicabut atau kedaluwarsa (code: token_missing, token_invalid, …)"),
    "422": _error_response("Data atau parameter tidak sah (code: validation_error, refused)"),
}}
ERRORS_404 = {"responses": {**ERRORS["responses"], "404": _error_response(
    "Tidak ditemukan, atau milik unit lain (code: not_found)")}}


@api.get("/", auth=None, include_in_schema=False)
def index(request: HttpRequest) -> dict[str, Any]:
    base = request.build_absolute_uri("/api/v1/")
    return {"name": "Warta API", "version": VERSION,
            "links": {"openapi": base + "openapi.json", "docs": base + "docs", "materi": base + "materi"}}


@api.post("/materi", response={201: MateriDetailOut}, summary="Serahkan materi", openapi_extra=ERRORS)
def create_materi(request: HttpRequest, payload: MateriIn) -> Status:
    """Menyerahkan materi untuk disiarkan atas nama unit klien (sama dengan formulir web)."""
    caller: Caller = request.auth  # type: ignore[attr-defined]
    data = payload.dict(exclude={"attachments"})
    files = _decode(payload.attachments)
    form = MateriForm(data={k: v for k, v in data.items() if v is not None},
                      files=MultiValueDict({"attachments": files}))
    if not form.is_valid():
        raise ApiError(422, "validation_error", _("Data tidak sah; periksa kolom yang disebut."),
                       errors={k: [str(m) for m in v] for k, v in form.errors.items()})
    fields = {k: v for k, v in form.cleaned_data.items() if k != "attachments"}
    m = blasts.submit_materi(caller.user, files=form.cleaned_data["attachments"], **fields)
    # The service records the submission by the client's user; this says it came through the API.
    audit.record("api.materi_submitted", m, actor=caller.user, unit=m.unit,
                 changes={"client": caller.client.name, "token_prefix": caller.token.prefix})
    return Status(201, m)


@api.get("/materi", response=list[MateriOut], summary="Daftar materi unit", openapi_extra=ERRORS)
@paginate(BoundedPageNumberPagination, page_size=20)
def list_materi(request: HttpRequest, status: str = "") -> Any:
    """Materi unit klien (dan sub-unitnya), terbaru dahulu, 20 per halaman (`?page=2`)."""
    caller: Caller = request.auth  # type: ignore[attr-defined]
    qs = blasts.visible_materi(caller.user)
    if status:
        qs = qs.filter(status=status)
    return qs


@api.get("/materi/{materi_id}", response=MateriDetailOut, summary="Status satu materi", openapi_extra=ERRORS_404)
def get_materi(request: HttpRequest, materi_id: int = Path(..., ge=1, le=MAX_ID)) -> Materi:
    """Status (Diterima/Diproses/Terjadwal/Terkirim/Ditolak + alasan) dan angka pengiriman."""
    caller: Caller = request.auth  # type: ignore[attr-defined]
    # Another unit's materi is "not found", never "forbidden": a 403 would confirm it exists.
    return get_object_or_404(blasts.visible_materi(caller.user).prefetch_related("attachments"), pk=materi_id)
