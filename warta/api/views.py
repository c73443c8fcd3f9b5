"""Administrators' pages for API clients, tokens and webhooks (session auth, CSRF, ``api.manage``).

A new token's value (and a webhook's secret) is rendered once, in the response to the POST that made it: it is not put in
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

from . import services, webhooks
from .forms import ClientForm, TokenForm, WebhookForm
from .models import ApiClient, ApiToken, Webhook


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
    try:
        token, value = services.issue_token(client, request.user, expires_at=expires,
                                            scopes=form.cleaned_data["scopes"], name=form.cleaned_data["name"])
    except services.ApiError as exc:
        messages.error(request, exc.message)
        return redirect("api:clients")
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


# -- webhooks ------------------------------------------------------------------------------------


def _hooks_page(request: HttpRequest, **extra: object) -> HttpResponse:
    from .models import Webhook

    hooks = Webhook.objects.select_related("unit").order_by("unit__code", "id")
    rows = [{"hook": h, "recent": list(h.deliveries.order_by("-id")[:5])} for h in hooks]
    response = render(request, "api/webhooks.html", {"rows": rows, "form": extra.pop("form", WebhookForm()), **extra})
    if "new_secret" in extra:
        response.headers["Cache-Control"] = "no-store"
    return response


@capability_required("api.manage")
def webhooks_page(request: HttpRequest) -> HttpResponse:
    return _hooks_page(request)


@capability_required("api.manage")
@require_POST
def webhook_new(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST)
    if not form.is_valid():
        return _hooks_page(request, form=form)
    hook, secret = webhooks.create(form.cleaned_data["unit"], form.cleaned_data["url"], form.cleaned_data["events"],
                                   request.user)
    return _hooks_page(request, new_secret=secret, secret_hook=hook)


def _hook(pk: int) -> Webhook:
    return get_object_or_404(Webhook.objects.select_related("unit"), pk=pk)


@capability_required("api.manage")
@require_POST
def webhook_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    hook = _hook(pk)
    secret = webhooks.rotate(hook, request.user)
    return _hooks_page(request, new_secret=secret, secret_hook=hook, rotated=True)


@capability_required("api.manage")
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    hook = _hook(pk)
    webhooks.send_test(hook, request.user)
    messages.success(request, _("Peristiwa uji dikirim ke %(url)s; lihat log pengiriman.") % {"url": hook.url})
    return redirect("api:webhook_log", pk=hook.pk)


@capability_required("api.manage")
@require_POST
def webhook_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    hook = _hook(pk)
    webhooks.set_active(hook, not hook.is_active, request.user)
    return redirect("api:webhooks")


@capability_required("api.manage")
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    webhooks.delete(_hook(pk), request.user)
    messages.success(request, _("Webhook dihapus."))
    return redirect("api:webhooks")


@capability_required("api.manage")
def webhook_log(request: HttpRequest, pk: int) -> HttpResponse:
    hook = _hook(pk)
    deliveries = list(hook.deliveries.prefetch_related("tries").order_by("-id")[:100])
    return render(request, "api/webhook_log.html", {"hook": hook, "deliveries": deliveries})
