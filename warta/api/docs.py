"""The interactive API docs (Swagger UI), served entirely by Warta.

Why not ninja's own page: ninja renders its local-asset template only when ``ninja`` is in
INSTALLED_APPS, and otherwise a template that loads Swagger UI from a public CDN. Government
installs may have no Internet access and must not call third parties from staff browsers, so this
page always uses the Swagger UI files that ship inside the ninja package, served by ``asset``
below from a fixed allow-list (no path from the request reaches the filesystem).
"""

from __future__ import annotations

import json
import mimetypes
from pathlib import Path
from typing import TYPE_CHECKING, Any

import ninja
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import cache_control
from ninja.openapi.docs import DocsBase

if TYPE_CHECKING:
    from ninja import NinjaAPI

ASSET_DIR = Path(ninja.__file__).parent / "static" / "ninja"
ASSETS = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-init.js", "favicon.png"}


class LocalSwagger(DocsBase):
    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        settings = {"url": self.get_openapi_url(api, kwargs), "layout": "BaseLayout", "deepLinking": True}
        return render(request, "api/docs.html", {"api": api, "swagger_settings": json.dumps(settings)})


@cache_control(public=True, max_age=86400)
def asset(request: HttpRequest, name: str) -> FileResponse:
    if name not in ASSETS:
        raise Http404
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse((ASSET_DIR / name).open("rb"), content_type=content_type)
