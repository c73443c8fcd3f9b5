"""``/api/v1/``: the ninja API (token auth, JSON) and the administrators' token pages (session auth).

Every API view is wrapped by ``api_request``: it picks the language from Accept-Language (the API
has no language cookie: Indonesian unless ``en`` is asked for) and refuses oversized bodies with
413 before reading them.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, path
from django.utils import translation
from django.utils.translation import gettext as _

from warta.blasts.forms import MAX_ATTACHMENT_BYTES, MAX_ATTACHMENTS

from . import docs, views
from .api import api

app_name = "api"

# Every attachment at its limit, base64-encoded (4/3), plus room for the text fields.
MAX_BODY = MAX_ATTACHMENTS * MAX_ATTACHMENT_BYTES * 4 // 3 + 1024 * 1024


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
            if length > MAX_BODY:
                return JsonResponse({"detail": _("Badan permintaan terlalu besar (maks. %(mb)d MB).")
                                     % {"mb": MAX_BODY // (1024 * 1024)}, "code": "too_large"}, status=413)
            if request.method in ("POST", "PUT", "PATCH"):
                # Read the body here, under our own cap: Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
                # fits forms, not JSON carrying base64 attachments the web form allows (5 × 5 MB).
                body = request.read(MAX_BODY + 1)
                if len(body) > MAX_BODY:
                    return JsonResponse({"detail": _("Badan permintaan terlalu besar (maks. %(mb)d MB).")
                                         % {"mb": MAX_BODY // (1024 * 1024)}, "code": "too_large"}, status=413)
                request._body = body  # what request.body returns from now on
            response = view(request, *args, **kwargs)
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
    *_wrap(api._get_urls()),
]
