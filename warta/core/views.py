from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from warta.accounts.permissions import AREAS, area_required, can_open

from . import metrics


@login_required
def home(request: HttpRequest) -> HttpResponse:
    from .dashboard import work_items

    areas = [(key, label, url) for key, label, url in AREAS if can_open(request.user, key)]
    countdown = None
    if can_open(request.user, "reports"):
        from warta.reports.services import countdown as report_countdown

        countdown = report_countdown()
    return render(request, "core/home.html", {"areas": areas, "work": work_items(request.user),
                                              "report_countdown": countdown})


@area_required("settings")
def settings_index(request: HttpRequest) -> HttpResponse:
    return render(request, "core/settings.html")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    """200 when the database answers, 503 when it does not (for load balancers and systemd)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any database failure means "not healthy", whatever its class
        return JsonResponse({"status": "error", "database": type(exc).__name__}, status=503)
    return JsonResponse({"status": "ok", "database": "ok"})


@never_cache
@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")


def area_placeholder(area: str, template: str):  # type: ignore[no-untyped-def]
    """An area's landing page until its issue fills it: says what will be here, checks the role."""

    @area_required(area)
    def view(request: HttpRequest) -> HttpResponse:
        return render(request, template, {"area": area})

    view.__name__ = f"{area}_index"
    return view


def error_403(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "403.html", {"reason": str(exception or "")}, status=403)


def error_404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "404.html", status=404)
