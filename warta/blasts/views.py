from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from warta.accounts.permissions import area_required

from .models import SenderID


@area_required("blasts")
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "blasts/index.html", {"sender_ids": SenderID.objects.select_related("owner")})


@area_required("materi")
def materi(request: HttpRequest) -> HttpResponse:
    return render(request, "blasts/materi.html")


@area_required("settings")
def sender_ids(request: HttpRequest) -> HttpResponse:
    return render(request, "blasts/sender_ids.html", {"sender_ids": SenderID.objects.select_related("owner")})
