"""Administrators' pages for API clients and tokens (session auth, CSRF, capability ``api.manage``).

A new token's value is rendered once, in the response to the POST that made it: it is not put in
the session, a message or a redirect URL, so it cannot be shown again or leak into logs.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from warta.accounts.permissions import capability_required

from . import services
from .forms import ClientForm, TokenForm
from .models import ApiClient, ApiToken


def _page(request: HttpRequest, **extra: object) -> HttpResponse:
    return render(request, "api/clients.html", {
        "rows": services.clients_overview(), "client_form": extra.pop("client_form", ClientForm()),
        "token_form": TokenForm(), **extra,
    })


@capability_required("api.manage")
def clients(request: HttpRequest) -> HttpResponse:
    return _page(request)


@capability_required("api.manage")
@require_POST
def client_new(request: HttpRequest) -> HttpResponse:
    form = ClientForm(request.POST)
    if not form.is_valid():
        return _page(request, client_form=form)
    try:
        client = services.create_client(form.cleaned_data["name"], form.cleaned_data["unit"], request.user)
    except services.ApiError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("Klien %(name)s dibuat. Buat tokennya di bawah.") % {"name": client.name})
    return redirect("api:clients")


@capability_required("api.manage")
@require_POST
def token_new(request: HttpRequest, pk: int) -> HttpResponse:
    client = get_object_or_404(ApiClient, pk=pk)
    form = TokenForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Masa berlaku tidak sah."))
        return redirect("api:clients")
    days = form.cleaned_data["expires_in_days"]
    expires = timezone.now() + timedelta(days=days) if days else None
    token, value = services.issue_token(client, request.user, expires_at=expires)
    response = _page(request, new_token=value, new_token_row=token)
    response.headers["Cache-Control"] = "no-store"  # the only copy of the value; keep it out of caches
    return response


@capability_required("api.manage")
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk)
    services.revoke_token(token.prefix, request.user)
    messages.success(request, _("Token %(prefix)s dicabut.") % {"prefix": token.prefix})
    return redirect("api:clients")
