"""``/api/v1/``: the ninja API (token auth, JSON) and the administrators' pages (session auth).

Every API view is wrapped by ``api_request``: it picks the language from Accept-Language (the API
has no language cookie: Indonesian unless ``en`` is asked for), refuses oversized bodies with 413
before reading them, and applies ``Idempotency-Key`` to POSTs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path
from django.utils import translation
from django.utils.translation import gettext_lazy

from . import conf, docs, errors, idempotency, views
from .api import api

app_name = "api"
logger = logging.getLogger("django.request")


def max_body() -> int:
    return int(float(conf.get("API_MAX_BODY_MB")) * 1024 * 1024)


def _too_large() -> JsonResponse:
    mb = float(conf.get("API_MAX_BODY_MB"))
    return JsonResponse(errors.body("too_large", gettext_lazy("Badan permintaan terlalu besar (maks. %(mb)s MB). "
                                                       "Kirim dalam beberapa permintaan."),
                                    {"mb": f"{mb:g}"}), status=413)


def _error(exc: errors.ApiError) -> JsonResponse:
    response = JsonResponse(errors.body(exc.code, exc.msg, exc.params, exc.field, exc.errors), status=exc.status)
    for k, v in exc.headers.items():
        response[k] = v
    return response


def _language(request: HttpRequest) -> str:
    for part in request.headers.get("Accept-Language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("en"):
            return "en"
        if tag.startswith("id"):
            return "id"
    return "id"


def api_request(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        language = _language(request)
        with translation.override(language):
            try:
                length = int(request.META.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            limit = max_body()
            if length > limit:
                response: HttpResponse = _too_large()
                response.headers["Content-Language"] = language
                return response
            if request.method in ("POST", "PUT", "PATCH", "DELETE"):
                # Read the body here, under our own cap: Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
                # fits forms, not JSON carrying base64 attachments or 1,000 contacts.
                body = request.read(limit + 1)  # a lying or absent Content-Length is cut here
                if len(body) > limit:
                    response = _too_large()
                    response.headers["Content-Language"] = language
                    return response
                request._body = body  # what request.body returns from now on
            try:
                response = idempotency.handle(request, lambda: view(request, *args, **kwargs))
            except errors.ApiError as exc:
                response = _error(exc)
            except Exception:
                # Outside ninja's handlers (the idempotency store, say): still JSON, still logged.
                logger.exception("Internal Server Error: %s", request.path,
                                 extra={"status_code": 500, "request": request})
                response = JsonResponse(errors.body("server_error", errors.SERVER_ERROR), status=500)
            if response.status_code == 405 and not response.get("Content-Type", "").startswith("application/json"):
                allow = response.get("Allow", "")
                response = JsonResponse(errors.body("method_not_allowed", gettext_lazy(
                    "Metode %(m)s tidak berlaku di alamat ini. Lihat /api/v1/docs."), {"m": request.method}),
                    status=405)
                if allow:
                    response["Allow"] = allow
            response.headers["Content-Language"] = language
            return response

    return wrapped


def _wrap(patterns: list[URLPattern | URLResolver]) -> list[URLPattern | URLResolver]:
    for p in patterns:
        if isinstance(p, URLPattern):
            p.callback = api_request(p.callback)
    return patterns


urlpatterns = [
    path("docs/assets/<str:name>", docs.asset, name="docs_asset"),
    path("pengaturan/", views.clients, name="clients"),
    path("pengaturan/klien-baru", views.client_new, name="client_new"),
    path("pengaturan/klien/<int:pk>/token-baru", views.token_new, name="token_new"),
    path("pengaturan/token/<int:pk>/cabut", views.token_revoke, name="token_revoke"),
    path("pengaturan/webhook/", views.webhooks_page, name="webhooks"),
    path("pengaturan/webhook/baru", views.webhook_new, name="webhook_new"),
    path("pengaturan/webhook/<int:pk>/rahasia-baru", views.webhook_rotate, name="webhook_rotate"),
    path("pengaturan/webhook/<int:pk>/uji", views.webhook_test, name="webhook_test"),
    path("pengaturan/webhook/<int:pk>/aktif", views.webhook_toggle, name="webhook_toggle"),
    path("pengaturan/webhook/<int:pk>/hapus", views.webhook_delete, name="webhook_delete"),
    path("pengaturan/webhook/<int:pk>/log", views.webhook_log, name="webhook_log"),
    *_wrap(api._get_urls()),
    path("<path:rest>", api_request(lambda request, rest: JsonResponse(
        errors.body("not_found", gettext_lazy("Alamat API tidak dikenal. Lihat /api/v1/docs.")), status=404))),
]
