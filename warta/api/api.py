"""The REST API, ``/api/v1/``: authentication, the error shape, and the endpoints' routers.

Theory of operation: django-ninja parses the request with a pydantic schema and writes the OpenAPI
document from the same schemas. Views stay thin: the schema checks *types* (and refuses unknown
fields), the owning app's service decides and records — with the client's user, so rights, unit
scoping and the audit trail are the web's too; an API-only audit event names the client and key.

Every endpoint is scoped twice: by the token's *scopes* (``Caller.require``) and by the client's
*unit* (its subtree): another unit's object is "not found", never "forbidden", so that a 403
cannot confirm it exists. Every error is ``errors.body``: ``{code, message, message_en, field}``.
Only bearer tokens authenticate: there is no session auth on the API, hence no CSRF to check.
"""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer
from pydantic import BaseModel, ConfigDict

from warta.accounts.audit import client_ip
from warta.blasts import services as blasts

from . import errors, services
from .docs import LocalSwagger
from .errors import ApiError
from .services import Caller

VERSION = "1.1"

logger = logging.getLogger("django.request")


class BearerToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> Caller:
        caller = services.authenticate(token, ip=client_ip(request))
        request.api_caller = caller  # type: ignore[attr-defined]
        return caller


api = NinjaAPI(
    title="Warta API",
    version=VERSION,
    description="REST API Warta, SMS Center Pemprov DKI Jakarta. Autentikasi: `Authorization: Bearer <token>`. "
                "Setiap galat: `{code, message, message_en, field}`. Lihat docs/api.md.",
    auth=BearerToken(),
    docs=LocalSwagger(),
    docs_url="/docs",
    openapi_url="/openapi.json",
    urls_namespace="api",
)


class In(BaseModel):
    """Base of every request body: an unknown field is an error, not silently dropped.

    A plain pydantic model, not ninja's ``Schema``: ``Schema`` adds a validator that can read ORM
    objects, which input never is, and which costs ~60 µs per object — a third of the time of a
    1,000-contact upsert."""

    model_config = ConfigDict(extra="forbid")


class ErrorItem(Schema):
    field: str | None
    message: str
    message_en: str


class ErrorOut(Schema):
    """The one error shape (docs/api.md, "Galat")."""

    code: str
    message: str
    message_en: str
    field: str | None
    errors: list[ErrorItem] | None = None


def caller(request: HttpRequest, scope: str) -> Caller:
    c: Caller = request.auth  # type: ignore[attr-defined]
    c.require(scope)
    return c


# -- errors --------------------------------------------------------------------------------------


def error(request: HttpRequest, status: int, code: str, message: Any, params: dict[str, Any] | None = None,
          field: str | None = None, errs: list[dict[str, Any]] | None = None,
          headers: dict[str, str] | None = None) -> HttpResponse:
    response = api.create_response(request, errors.body(code, message, params, field, errs), status=status)
    for k, v in (headers or {}).items():
        response[k] = v
    return response


@api.exception_handler(ApiError)
def _api_error(request: HttpRequest, exc: ApiError) -> HttpResponse:
    return error(request, exc.status, exc.code, exc.msg, exc.params, exc.field, exc.errors, exc.headers)


@api.exception_handler(AuthenticationError)
def _no_token(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    # Reached when the header is missing or not "Bearer …"; a wrong token is an ApiError.
    return error(request, 401, "token_missing",
                 gettext_lazy("Token tidak ada. Kirim header Authorization: Bearer <token>."))


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400:  # ninja raises this when the body is not JSON
        return error(request, 400, "bad_json", gettext_lazy("Badan permintaan bukan JSON yang sah."))
    return error(request, exc.status_code, "error", str(exc))


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "not_found", gettext_lazy("Tidak ditemukan."))


@api.exception_handler(PermissionDenied)
def _forbidden(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return error(request, 403, "forbidden", str(exc) or gettext_lazy("Peran Anda tidak memiliki hak untuk tindakan ini."))


@api.exception_handler(blasts.WorkflowError)
def _refused(request: HttpRequest, exc: blasts.WorkflowError) -> HttpResponse:
    return error(request, 422, "refused", str(exc))


@api.exception_handler(DjangoValidationError)
def _django_invalid(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
    return error(request, 422, "validation_error", "; ".join(exc.messages))


# pydantic error types → what a person reads; everything else falls back to the generic message.
_TYPE_MESSAGES: dict[str, Any] = {
    "missing": gettext_lazy("Wajib diisi."),
    "string_type": gettext_lazy("Harus berupa teks."),
    "string_too_long": gettext_lazy("Terlalu panjang."),
    "string_too_short": gettext_lazy("Terlalu pendek."),
    "int_type": gettext_lazy("Harus berupa bilangan bulat."),
    "int_parsing": gettext_lazy("Harus berupa bilangan bulat."),
    "bool_type": gettext_lazy("Harus true atau false."),
    "bool_parsing": gettext_lazy("Harus true atau false."),
    "greater_than_equal": gettext_lazy("Nilai terlalu kecil."),
    "less_than_equal": gettext_lazy("Nilai terlalu besar."),
    "literal_error": gettext_lazy("Nilai tidak termasuk pilihan yang sah."),
    "enum": gettext_lazy("Nilai tidak termasuk pilihan yang sah."),
    "datetime_type": gettext_lazy("Waktu tidak sah; gunakan ISO 8601, mis. 2026-05-01T08:00:00+07:00."),
    "datetime_parsing": gettext_lazy("Waktu tidak sah; gunakan ISO 8601, mis. 2026-05-01T08:00:00+07:00."),
    "datetime_from_date_parsing": gettext_lazy("Waktu tidak sah; gunakan ISO 8601, mis. 2026-05-01T08:00:00+07:00."),
    "date_from_datetime_parsing": gettext_lazy("Tanggal tidak sah; gunakan ISO 8601, mis. 2026-05-01."),
    "date_parsing": gettext_lazy("Tanggal tidak sah; gunakan ISO 8601, mis. 2026-05-01."),
    "list_type": gettext_lazy("Harus berupa daftar."),
    "too_long": gettext_lazy("Daftar terlalu panjang."),
    "too_short": gettext_lazy("Daftar terlalu pendek."),
    "model_type": gettext_lazy("Harus berupa objek JSON."),
    "model_attributes_type": gettext_lazy("Harus berupa objek JSON."),
    "dict_type": gettext_lazy("Harus berupa objek JSON."),
    "extra_forbidden": gettext_lazy("Kolom ini tidak dikenal."),
}


@api.exception_handler(ValidationError)
def _invalid(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    items = []
    for e in exc.errors:
        # loc is ("body", "payload", field, …) for the body, ("query", field) for query strings.
        loc = [str(p) for p in e.get("loc", ()) if p not in ("body", "payload", "query", "path")]
        items.append(errors.field_error(".".join(loc) or "body",
                                        _TYPE_MESSAGES.get(e.get("type", ""), gettext_lazy("Nilai tidak sah."))))
    return error(request, 422, "validation_error", gettext_lazy("Data tidak sah; periksa kolom yang disebut."),
                 field=items[0]["field"] if items else None, errs=items)


@api.exception_handler(Exception)
def _server_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # A client reads JSON: a fault of ours is a 500 in the error shape, never Django's HTML page.
    # It is still logged with its traceback (django.request is where the 500s of the web go).
    logger.error("Internal Server Error: %s", request.path, exc_info=exc, extra={"status_code": 500, "request": request})
    return error(request, 500, "server_error", errors.SERVER_ERROR)


def invalid(field_messages: dict[str, list[Any]]) -> ApiError:
    """A 422 naming each field, for rules a service or form checks after the schema."""
    items = [errors.field_error(f, m) for f, ms in field_messages.items() for m in ms]
    return ApiError(422, "validation_error", gettext_lazy("Data tidak sah; periksa kolom yang disebut."),
                    field=items[0]["field"] if items else None, errors=items)


# -- endpoints -----------------------------------------------------------------------------------


@api.get("/", auth=None, include_in_schema=False)
def index(request: HttpRequest) -> dict[str, Any]:
    base = request.build_absolute_uri("/api/v1/")
    return {"name": "Warta API", "version": VERSION,
            "links": {"openapi": base + "openapi.json", "docs": base + "docs", "materi": base + "materi"}}


from .endpoints import register  # noqa: E402  (the routers import the names above)

register(api)
